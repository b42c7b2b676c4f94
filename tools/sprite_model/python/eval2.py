"""Evaluates a v2 sprite model (32×32) as `eval.py` does v1: the same classifier approach and the
held-out split of the data, nearest-neighbour distances (no copying), and contact sheets.

    python eval2.py --data ~/.cache/sprout/sprite-data/out --model ../../../models/sprite/v2 \
        --out /tmp/sprite-eval2 --classifier /tmp/sprite-eval2/classifier.pt

- Classifier (`eval.Classifier`, seed 0): trained on the training split's real sprites, by default at
  16×16 (each 32×32 image box-filtered down, generated ones too; `--classify-size 32` classifies at
  full size, about 4× the CPU time), checked on the held-out renditions (the ceiling).
- Generated: farm prompts, people, buildings and ground materials (4 seeds each), and `--concepts`
  training concepts (prompt = the name's words, 2 seeds each) with an unconditional control.
- Nearest-neighbour RMS distance to the training set (flips included), against held-out real sprites.
Writes metrics.json and contact_{farm,people,buildings,ground}.png (rows: prompts, columns: seeds;
raw samples ×4 over a checkerboard).
"""
import argparse
import json
import os
import random

import numpy as np
import torch
import torch.nn.functional as F

from eval import Classifier, nn_dist, save_png, sheet, topk, train_classifier
from model2 import caption_tensors, sample
from reference2 import load_model
from train2 import load_data, to_tensor

GROUPS = {
    "farm": {
        "carrot": ["carrot"], "wheat": ["sheaf-of-rice"], "tomato": ["tomato"],
        "pumpkin": ["jack-o-lantern"], "apple": ["red-apple", "green-apple"], "corn": ["ear-of-corn"],
        "strawberry": ["strawberry"], "potato": ["potato"],
    },
    "people": {
        "farmer": ["farmer", "man-farmer", "woman-farmer"], "old man": ["old-man"],
        "old woman": ["old-woman"], "woman": ["woman"], "man": ["man"], "cook": ["cook"],
    },
    "buildings": {
        "house": ["house", "house-with-garden"], "hut": ["hut"], "castle": ["castle"],
        "church": ["church"], "derelict house": ["derelict-house"], "office building": ["office-building"],
    },
    "ground": {
        "herb": ["herb"], "rock": ["rock"], "wood": ["wood"], "water wave": ["water-wave"],
        "brick": ["brick"], "seedling": ["seedling"],
    },
}
SEEDS = 4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--concepts", type=int, default=200)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--classify-size", type=int, default=16, choices=[16, 32])
    ap.add_argument("--classifier", help="cache file for the classifier (trained once, reused)")
    ap.add_argument("--sheets-only", action="store_true", help="only the contact sheets (no classifier)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    random.seed(0)
    os.makedirs(args.out, exist_ok=True)

    def cx(x):
        return F.avg_pool2d(x, 2) if args.classify_size == 16 else x

    if args.sheets_only:
        model, tok, table, cfg = load_model(args.model)
        g = torch.Generator().manual_seed(0)
        for group, concepts in GROUPS.items():
            prompts = [p for p in concepts for _ in range(SEEDS)]
            noise = torch.randn(len(prompts), 4, 32, 32, generator=g)
            emb, mask = caption_tensors(table, [tok.encode(p) for p in prompts], cfg["max_tokens"])
            x = sample(model, noise, emb, mask, args.steps, args.guidance).clamp(-1, 1)
            save_png(sheet(x, len(concepts), SEEDS, scale=4), os.path.join(args.out, f"contact_{group}.png"))
        return

    recs, px = load_data(args.data)
    x_all = to_tensor(px)
    names = sorted({r["name"] for r in recs if not r["held_out"]})
    cls = {n: i for i, n in enumerate(names)}
    train = [i for i, r in enumerate(recs) if not r["held_out"]]
    held = [i for i, r in enumerate(recs) if r["held_out"] and r["name"] in cls]
    y_train = torch.tensor([cls[recs[i]["name"]] for i in train])
    if args.classifier and os.path.exists(args.classifier):
        clf = Classifier(len(names))
        clf.load_state_dict(torch.load(args.classifier))
        clf.eval()
    else:
        clf = train_classifier(cx(x_all[train]), y_train, len(names), args.epochs, seed=0)
        if args.classifier:
            torch.save(clf.state_dict(), args.classifier)
    h1, h5, _ = topk(clf, cx(x_all[held]), [{cls[recs[i]["name"]]} for i in held])
    metrics = {"classifier": {"classes": len(names), "size": args.classify_size, "train_images": len(train),
                              "held_out_images": len(held), "held_out_top1": float(np.mean(h1)),
                              "held_out_top5": float(np.mean(h5))}}

    model, tok, table, cfg = load_model(args.model)
    metrics["model"] = {"dir": args.model, "step": cfg.get("step"), "steps": args.steps, "guidance": args.guidance}
    g = torch.Generator().manual_seed(0)

    def gen(prompts, guidance=None):
        noise = torch.randn(len(prompts), 4, 32, 32, generator=g)
        emb, mask = caption_tensors(table, [tok.encode(p) for p in prompts], cfg["max_tokens"])
        return sample(model, noise, emb, mask, args.steps, guidance or args.guidance).clamp(-1, 1)

    generated = []
    for group, concepts in GROUPS.items():
        prompts = [p for p in concepts for _ in range(SEEDS)]
        x = gen(prompts)
        generated.append(x)
        save_png(sheet(x, len(concepts), SEEDS, scale=4), os.path.join(args.out, f"contact_{group}.png"))
        targets = [{cls[n] for n in concepts[p] if n in cls} for p in prompts]
        t1, t5, pred = topk(clf, cx(x), targets)
        metrics[group] = {p: {"top1": int(sum(t1[k * SEEDS:(k + 1) * SEEDS])),
                              "top5": int(sum(t5[k * SEEDS:(k + 1) * SEEDS])), "of": SEEDS,
                              "predicted": [names[pred[k * SEEDS + s][0]] for s in range(SEEDS)]}
                          for k, p in enumerate(concepts)}
        metrics[f"{group}_top1"] = float(np.mean(t1))
        metrics[f"{group}_top5"] = float(np.mean(t5))

    rng = random.Random(1)
    concepts = rng.sample(names, min(args.concepts, len(names)))
    cprompts = [" ".join(n.split("-")) for n in concepts for _ in range(2)]
    noise = torch.randn(len(cprompts), 4, 32, 32, generator=g)
    emb, mask = caption_tensors(table, [tok.encode(p) for p in cprompts], cfg["max_tokens"])
    x = sample(model, noise, emb, mask, args.steps, args.guidance).clamp(-1, 1)
    generated.append(x)
    c1, c5, _ = topk(clf, cx(x), [{cls[n]} for n in concepts for _ in range(2)])
    metrics["concepts"] = {"prompts": len(concepts), "seeds": 2, "top1": float(np.mean(c1)),
                           "top5": float(np.mean(c5)), "chance_top1": 1 / len(names)}
    unc = sample(model, noise, torch.zeros_like(emb), torch.zeros_like(mask), args.steps, 1.0).clamp(-1, 1)
    u1, u5, _ = topk(clf, cx(unc), [{cls[n]} for n in concepts for _ in range(2)])
    metrics["concepts"]["unconditional_control_top1"] = float(np.mean(u1))
    metrics["concepts"]["unconditional_control_top5"] = float(np.mean(u5))

    # Nearest neighbour at 16×16 (as v1's figures; the copy threshold 0.02 is on that scale).
    bank = F.avg_pool2d(torch.cat([x_all[train], x_all[train].flip(-1)]), 2)
    dg, _ = nn_dist(F.avg_pool2d(torch.cat(generated), 2), bank)
    dh, _ = nn_dist(F.avg_pool2d(x_all[held], 2), bank)
    metrics["nearest_neighbour_rms"] = {
        "generated_median": float(np.median(dg)), "generated_min": float(dg.min()),
        "generated_p10": float(np.percentile(dg, 10)),
        "held_out_real_median": float(np.median(dh)), "held_out_real_min": float(dh.min()),
        "generated_below_0.02": int((dg < 0.02).sum()), "generated_count": len(dg)}
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    print(json.dumps({k: v for k, v in metrics.items() if not isinstance(v, dict) or k in
                      ("classifier", "concepts", "nearest_neighbour_rms")}, indent=2))


if __name__ == "__main__":
    main()
