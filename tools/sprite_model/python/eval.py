"""Evaluates a sprite model: a classifier trained on real sprites scores generated ones, nearest-neighbour
distances to the training set show whether it copies, and a contact sheet shows the farm prompts.

    python eval.py --data ~/.cache/sprout/sprite-data/out --model ../../../models/sprite --out /tmp/sprite-eval

1. Classifier: a small CNN over the concepts (icon names, e.g. `carrot`), trained on the training split's
   real sprites (all three styles, flips), checked on the held-out real sprites (renditions it never saw):
   that top-1/top-5 is the ceiling a perfect generator could reach.
2. Generated: for the 8 farm prompts (4 seeds each) and for 200 training concepts picked by a fixed seed
   (prompt = the name's words, 2 seeds each), sprites from the model's sampler (the PyTorch mirror of the
   candle code, parity-tested), classified: top-1/top-5 against the prompt's concept(s).
3. Nearest neighbour: RMS distance (premultiplied RGBA in [0, 1]) from each generated sprite to its nearest
   training sprite (flips included), against the same for held-out real sprites; a copying model would sit
   near 0.
Writes metrics.json, contact_raw.png (8 prompts x 4 seeds, raw samples, x8) and prints a summary.
"""
import argparse
import json
import os
import random
import struct
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from model import encode, sample
from reference import load_model
from train import load_data, to_tensor

FARM = {
    "carrot": ["carrot"],
    "wheat": ["sheaf-of-rice"],
    "tomato": ["tomato"],
    "pumpkin": ["jack-o-lantern"],
    "apple": ["red-apple", "green-apple"],
    "corn": ["ear-of-corn"],
    "strawberry": ["strawberry"],
    "potato": ["potato"],
}
SEEDS = 4


class Classifier(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(4, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(),
            nn.Conv2d(128, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(128, 256, 3, padding=1), nn.BatchNorm2d(256), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(256, classes),
        )

    def forward(self, x):
        return self.net(x)


def train_classifier(x, y, classes, epochs, seed):
    torch.manual_seed(seed)
    clf = Classifier(classes)
    opt = torch.optim.AdamW(clf.parameters(), lr=2e-3, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=epochs * ((len(x) + 127) // 128))
    for epoch in range(epochs):
        perm = torch.randperm(len(x))
        clf.train()
        for i in range(0, len(x), 128):
            b = perm[i:i + 128]
            xb = x[b]
            flip = torch.rand(len(b)) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
            # Small shifts and colour jitter so it learns shapes, not exact pixels.
            xb = torch.roll(xb, shifts=(random.randint(-1, 1), random.randint(-1, 1)), dims=(2, 3))
            xb = xb + 0.05 * torch.randn_like(xb)
            loss = F.cross_entropy(clf(xb), y[b], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    clf.eval()
    return clf


def topk(clf, x, targets, k=5):
    """targets: list of sets of acceptable class ids. Returns (top1, top5) hit lists."""
    with torch.no_grad():
        logits = torch.cat([clf(x[i:i + 256]) for i in range(0, len(x), 256)])
    pred = logits.topk(k, dim=1).indices.tolist()
    top1 = [p[0] in t for p, t in zip(pred, targets)]
    top5 = [bool(set(p) & t) for p, t in zip(pred, targets)]
    return top1, top5, pred


def nn_dist(x, bank):
    """RMS distance in [0, 1] premultiplied space from each row of x to its nearest row of bank."""
    a = ((x + 1) / 2).reshape(len(x), -1)
    b = ((bank + 1) / 2).reshape(len(bank), -1)
    d = torch.cdist(a, b)  # L2
    return (d.min(dim=1).values / a.shape[1] ** 0.5).numpy(), d.min(dim=1).indices.numpy()


def save_png(rgb, path):
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def sheet(x, rows, cols, scale=8, pad=2):
    """x: (rows*cols, 4, 16, 16) premultiplied in [-1, 1] -> RGB uint8 grid over a checkerboard."""
    x = ((x.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()
    s = x.shape[1] * scale
    out = np.full((rows * (s + pad) + pad, cols * (s + pad) + pad, 3), 40, np.uint8)
    yy, xx = np.mgrid[0:s, 0:s]
    checker = np.where(((yy // scale) + (xx // scale)) % 2 == 0, 170, 140)[..., None].astype(np.float32) / 255
    for k in range(rows * cols):
        r, c = divmod(k, cols)
        img = x[k].repeat(scale, 0).repeat(scale, 1)
        rgb = img[..., :3] + checker * (1 - img[..., 3:])  # premultiplied over
        out[pad + r * (s + pad):pad + r * (s + pad) + s, pad + c * (s + pad):pad + c * (s + pad) + s] = \
            (rgb.clip(0, 1) * 255).astype(np.uint8)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--concepts", type=int, default=200)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--classifier", help="cache file for the classifier (trained once, reused)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    random.seed(0)
    os.makedirs(args.out, exist_ok=True)

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
        clf = train_classifier(x_all[train], y_train, len(names), args.epochs, seed=0)
        if args.classifier:
            torch.save(clf.state_dict(), args.classifier)
    h1, h5, _ = topk(clf, x_all[held], [{cls[recs[i]["name"]]} for i in held])
    metrics = {"classifier": {"classes": len(names), "train_images": len(train), "held_out_images": len(held),
                              "held_out_top1": float(np.mean(h1)), "held_out_top5": float(np.mean(h5))}}

    model, vocab, cfg = load_model(args.model)
    index = {w: i for i, w in enumerate(vocab)}
    metrics["model"] = {"dir": args.model, "step": cfg.get("step"), "steps": args.steps, "guidance": args.guidance}

    # Farm prompts, 4 seeds each.
    prompts = [p for p in FARM for _ in range(SEEDS)]
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(len(prompts), 4, 16, 16, generator=g)
    ids = torch.tensor([encode(index, p, cfg["max_tokens"]) for p in prompts])
    farm = sample(model, noise, ids, args.steps, args.guidance).clamp(-1, 1)
    save_png(sheet(farm, len(FARM), SEEDS), os.path.join(args.out, "contact_raw.png"))
    f1, f5, fpred = topk(clf, farm, [{cls[n] for n in FARM[p]} for p in prompts])
    metrics["farm"] = {p: {"top1": int(sum(f1[k * SEEDS:(k + 1) * SEEDS])), "top5": int(sum(f5[k * SEEDS:(k + 1) * SEEDS])),
                           "of": SEEDS, "predicted": [names[fpred[k * SEEDS + s][0]] for s in range(SEEDS)]}
                       for k, p in enumerate(FARM)}
    metrics["farm_top1"] = float(np.mean(f1))
    metrics["farm_top5"] = float(np.mean(f5))

    # Random training concepts, prompt = the name's words.
    rng = random.Random(1)
    concepts = rng.sample(names, args.concepts)
    cprompts = [" ".join(n.split("-")) for n in concepts for _ in range(2)]
    noise = torch.randn(len(cprompts), 4, 16, 16, generator=g)
    ids = torch.tensor([encode(index, p, cfg["max_tokens"]) for p in cprompts])
    gen = sample(model, noise, ids, args.steps, args.guidance).clamp(-1, 1)
    c1, c5, _ = topk(clf, gen, [{cls[n]} for n in concepts for _ in range(2)])
    metrics["concepts"] = {"prompts": args.concepts, "seeds": 2, "top1": float(np.mean(c1)), "top5": float(np.mean(c5)),
                           "chance_top1": 1 / len(names)}
    # Unconditional-only control: same noise, no caption: how often the classifier "agrees" by chance.
    unc = sample(model, noise, torch.zeros_like(ids), args.steps, 1.0).clamp(-1, 1)
    u1, u5, _ = topk(clf, unc, [{cls[n]} for n in concepts for _ in range(2)])
    metrics["concepts"]["unconditional_control_top1"] = float(np.mean(u1))
    metrics["concepts"]["unconditional_control_top5"] = float(np.mean(u5))

    bank = torch.cat([x_all[train], x_all[train].flip(-1)])
    dg, _ = nn_dist(torch.cat([farm, gen]), bank)
    dh, _ = nn_dist(x_all[held], bank)
    metrics["nearest_neighbour_rms"] = {
        "generated_median": float(np.median(dg)), "generated_min": float(dg.min()),
        "generated_p10": float(np.percentile(dg, 10)),
        "held_out_real_median": float(np.median(dh)), "held_out_real_min": float(dh.min()),
        "generated_below_0.02": int((dg < 0.02).sum()), "generated_count": len(dg)}
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
