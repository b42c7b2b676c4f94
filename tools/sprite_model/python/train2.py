"""Trains the v2 sprite model (`model2.py`, 32×32) on the rasterized icon sets (output of `sprite-data`).

    OMP_NUM_THREADS=1 nice -n 19 python train2.py --data ~/.cache/sprout/sprite-data/out \
        --text ../../../models/sprite/v2 --out /work/sprite-train-v2 --threads 1

Resumable: `<out>/ckpt-<step>.pt` holds model, EMA, optimizer, step and every RNG state (the newest
`--keep` are kept); a run restarted with the same `--out` continues from the newest. Without one,
`--init FILE` starts from a small checkpoint (`small.safetensors`: model + EMA in f16, the step in
its metadata; fresh optimizer, short warm-up). Checkpoints are written every `--every` steps or
`--every-min` minutes, whichever comes first, and then also `<out>/small.safetensors` and
`<out>/ema-<step>.safetensors` (EMA, f32: what `export2.py` ships). `<out>/loss.log`: one line per
50 steps (step, mean loss, learning rate, wall seconds). SIGINT/SIGTERM saves and exits.
"""
import argparse
import glob
import json
import math
import os
import random
import signal
import time

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from model2 import SpriteUNet2, caption_tensors, save_config
from text import Tokenizer
from train import Focus


def load_data(data_dir, size=32):
    recs = [json.loads(line) for line in open(os.path.join(data_dir, "index.jsonl"))]
    px = np.fromfile(os.path.join(data_dir, f"sprites{size}.rgba"), dtype=np.uint8)
    return recs, px.reshape(len(recs), size, size, 4)


def to_tensor(px):
    """uint8 straight RGBA (N,H,W,4) -> premultiplied float in [-1, 1] (N,4,H,W)."""
    x = torch.from_numpy(px).float() / 255.0
    a = x[..., 3:]
    x = torch.cat([x[..., :3] * a, a], dim=-1)
    return x.permute(0, 3, 1, 2).contiguous() * 2.0 - 1.0


def caption(rec, rng):
    """Training-time caption: the name's words (each kept with p=0.85, at least one, in order), up
    to four keywords (p=0.3 each), category words (p=0.2), colour words (p=0.3), the style word
    (p=0.5); the groups in random order."""
    names = rec["name_words"]
    kept = [w for w in names if rng.random() < 0.85] or names[:1]
    parts = [" ".join(kept)]
    parts += [w for w in rec["keywords"] if rng.random() < 0.3][:4]
    if rec["categories"] and rng.random() < 0.2:
        parts.append(" ".join(rec["categories"]))
    parts += [w for w in rec["colours"] if rng.random() < 0.3]
    if rng.random() < 0.5:
        parts.append(rec["style"])
    rng.shuffle(parts)
    return " ".join(parts)


def export_small(model, ema, step, path):
    t = {f"model.{k}": v.detach().half().contiguous() for k, v in model.state_dict().items()}
    t.update({f"ema.{k}": v.detach().half().contiguous() for k, v in ema.state_dict().items()})
    save_file(t, path + ".tmp", metadata={"step": str(step)})
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--text", required=True, help="folder with tokens.txt, merges.txt, text.safetensors")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--minutes", type=float, default=0, help="stop after this many minutes (0: no limit)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--decay-to", type=int, default=0,
                    help="cosine-decay the learning rate from --lr after warm-up to --lr-floor × --lr at this "
                         "step (0: constant); a short run ends better annealed than at full rate")
    ap.add_argument("--lr-floor", type=float, default=0.1)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--every", type=int, default=1000)
    ap.add_argument("--every-min", type=float, default=10)
    ap.add_argument("--keep", type=int, default=2)
    ap.add_argument("--channels", default="48,96,160")
    ap.add_argument("--cond-drop", type=float, default=0.1)
    ap.add_argument("--focus", help="a file of words, one per line (farm words): a record whose name words "
                    "or keywords include one is drawn with --focus-share of each batch (as train.py)")
    ap.add_argument("--focus-share", type=float, default=0.5)
    ap.add_argument("--focus-by-word", action="store_true", help="draw the focus share word first, then "
                    "one of its sprites (as train.py)")
    ap.add_argument("--init", nargs="+", help="small checkpoint file(s) to start from when --out has no "
                    "checkpoint: small.safetensors, or small-model + small-ema.safetensors")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)

    tok = Tokenizer.load(args.text)
    table = load_file(os.path.join(args.text, "text.safetensors"))["embed"].float()
    recs, px = load_data(args.data)
    train = [i for i, r in enumerate(recs) if not r["held_out"]]
    focus = Focus(recs, train, args.focus, args.focus_by_word) if args.focus else None
    x_all = to_tensor(px).to(dev)
    print(f"{len(train)} training images, {len(recs) - len(train)} held out", flush=True)

    channels = tuple(int(c) for c in args.channels.split(","))
    model = SpriteUNet2(embed_dim=table.shape[1], channels=channels).to(dev)
    ema = SpriteUNet2(embed_dim=table.shape[1], channels=channels).to(dev)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    save_config(model, os.path.join(args.out, "config.json"))
    nparams = sum(p.numel() for p in model.parameters())
    print(f"{nparams} parameters", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)

    def ckpts():
        return sorted(glob.glob(os.path.join(args.out, "ckpt-*.pt")))

    step, warm_from = 0, 0
    if ckpts():
        state = torch.load(ckpts()[-1], weights_only=False, map_location=dev)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        step, warm_from = state["step"], state.get("warm_from", 0)
        rng.setstate(state["rng"])
        np.random.set_state(state["np_rng"])
        torch.set_rng_state(state["torch_rng"])
        if dev.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"].cpu())
        print(f"resumed {ckpts()[-1]} at step {step}", flush=True)
    elif args.init:
        from safetensors import safe_open

        w = {}
        for path in args.init:
            w.update(load_file(path))
            with safe_open(path, "pt") as f:
                step = int(f.metadata()["step"])
        model.load_state_dict({k[6:]: v.float() for k, v in w.items() if k.startswith("model.")})
        ema.load_state_dict({k[4:]: v.float() for k, v in w.items() if k.startswith("ema.")})
        warm_from = step
        args.warmup = min(args.warmup, 200)
        print(f"started from {args.init} at step {step} (fresh optimizer)", flush=True)

    def decay(at):
        # Cosine from 1 at the end of warm-up to lr_floor at --decay-to, then flat.
        begin = warm_from + args.warmup
        if args.decay_to <= begin or at <= begin:
            return 1.0
        frac = min(1.0, (at - begin) / (args.decay_to - begin))
        return args.lr_floor + (1 - args.lr_floor) * 0.5 * (1 + math.cos(math.pi * frac))

    stop = {"now": False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))

    def save():
        path = os.path.join(args.out, f"ckpt-{step:07d}.pt")
        torch.save(
            dict(model=model.state_dict(), ema=ema.state_dict(), opt=opt.state_dict(), step=step,
                 warm_from=warm_from, rng=rng.getstate(), np_rng=np.random.get_state(),
                 torch_rng=torch.get_rng_state(),
                 cuda_rng=torch.cuda.get_rng_state() if dev.type == "cuda" else None),
            path + ".tmp",
        )
        os.replace(path + ".tmp", path)
        for old in ckpts()[: -args.keep]:
            os.remove(old)
        export_small(model, ema, step, os.path.join(args.out, "small.safetensors"))
        ema_path = os.path.join(args.out, f"ema-{step:07d}.safetensors")
        save_file({k: v.detach().float().cpu().contiguous() for k, v in ema.state_dict().items()}, ema_path)
        for old in sorted(glob.glob(os.path.join(args.out, "ema-*.safetensors")))[: -args.keep]:
            os.remove(old)
        print(f"step {step}: saved {path}", flush=True)

    log = open(os.path.join(args.out, "loss.log"), "a")
    start = time.time()
    last_save, window, saved_at = start, [], step
    amp = dev.type == "cuda"
    while step < args.steps and not stop["now"]:
        if args.minutes and time.time() - start > args.minutes * 60:
            break
        idx = [focus.draw(rng) if focus and rng.random() < args.focus_share else rng.choice(train)
               for _ in range(args.batch)]
        x0 = x_all[idx]
        flip = (torch.rand(args.batch) < 0.5).to(dev)
        x0 = torch.where(flip[:, None, None, None], x0.flip(-1), x0)
        caps = ["" if rng.random() < args.cond_drop else caption(recs[i], rng) for i in idx]
        emb, mask = caption_tensors(table, [tok.encode(c) for c in caps], model.max_tokens)
        emb, mask = emb.to(dev), mask.to(dev)
        # Logit-normal times (more weight mid-trajectory), as in SD3's rectified flow.
        t = torch.sigmoid(torch.randn(args.batch)).to(dev)
        noise = torch.randn(x0.shape).to(dev)
        xt = (1 - t)[:, None, None, None] * x0 + t[:, None, None, None] * noise
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            v = model(xt, t, emb, mask)
        loss = torch.mean((v.float() - (noise - x0)) ** 2)
        lr = args.lr * min(1.0, (step - warm_from + 1) / args.warmup) * decay(step)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            d = min(args.ema, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(d).add_(pm, alpha=1 - d)
        step += 1
        window.append(loss.detach())
        if step % 50 == 0:
            mean = torch.stack(window).mean().item()
            msg = f"step {step} loss {mean:.4f} lr {lr:.2e} elapsed {time.time() - start:.0f}s"
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
            window = []
        if step % args.every == 0 or time.time() - last_save > args.every_min * 60:
            save()
            last_save, saved_at = time.time(), step
    if step != saved_at:
        save()


if __name__ == "__main__":
    main()
