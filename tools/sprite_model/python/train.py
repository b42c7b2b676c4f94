"""Trains the sprite model on the rasterized icon sets (output of `sprite-data`).

    nice -n 19 python train.py --data ~/.cache/sprout/sprite-data/out --out /work/sprite-train \
        --seed 6 --threads 2 --steps 100000

Checkpoints every --every steps: `<out>/ckpt.pt` (resumable) and `<out>/sprite-<step>.safetensors` with the
EMA weights, plus `<out>/vocab.txt`, `<out>/config.json` and `<out>/loss.log`. Ctrl-C (SIGINT/SIGTERM)
saves a last checkpoint and exits.
"""
import argparse
import collections
import json
import os
import random
import signal
import time

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from model import SpriteUNet, save_config

STOP = {"of", "the", "a", "an", "with", "and", "in", "on", "for", "to", "at", "or", "by"}
STYLES = ["fluent", "noto", "twemoji"]
MAX_TOKENS = 16


def load_data(data_dir, size=16):
    recs = [json.loads(line) for line in open(os.path.join(data_dir, "index.jsonl"))]
    px = np.fromfile(os.path.join(data_dir, f"sprites{size}.rgba"), dtype=np.uint8)
    px = px.reshape(len(recs), size, size, 4)
    return recs, px


def build_vocab(recs):
    """<null> first, then styles, name words (any count) and keywords seen twice or more, sorted."""
    name_words, kw = set(), collections.Counter()
    for r in recs:
        if r["held_out"]:
            continue
        name_words.update(w for w in r["name_words"] if w not in STOP)
        kw.update(w for w in r["keywords"] if w not in STOP)
    words = (name_words | {w for w, c in kw.items() if c >= 2}) - set(STYLES)
    return ["<null>"] + STYLES + sorted(words)


def to_tensor(px):
    """uint8 straight RGBA (N,H,W,4) -> premultiplied float in [-1, 1] (N,4,H,W)."""
    x = torch.from_numpy(px).float() / 255.0
    a = x[..., 3:]
    x = torch.cat([x[..., :3] * a, a], dim=-1)
    return x.permute(0, 3, 1, 2).contiguous() * 2.0 - 1.0


def caption_ids(rec, vocab_index, rng):
    """Training-time caption: name words (each kept with p=0.8, at least one), keywords (p=0.3), style (p=0.5)."""
    names = [w for w in rec["name_words"] if w in vocab_index]
    kept = [w for w in names if rng.random() < 0.8] or names[:1]
    kws = [w for w in rec["keywords"] if w in vocab_index and rng.random() < 0.3]
    toks = kept + kws
    if rng.random() < 0.5 and rec["style"] in vocab_index:
        toks.append(rec["style"])
    rng.shuffle(toks)
    ids = [vocab_index[w] for w in toks][:MAX_TOKENS]
    return ids + [0] * (MAX_TOKENS - len(ids))


class Focus:
    """The training records a focused fine-tune draws `--focus-share` of each batch from: those
    whose name words or keywords include a word of `path` (one per line, `#` comments). With
    `by_word`, a draw picks a word first (uniformly among the words that have a record), then one
    of its records, so `carrot` with five sprites is drawn as often as `plant` with 278."""

    def __init__(self, recs, train, path, by_word=False):
        with open(path) as f:
            words = [w.strip() for w in f if w.strip() and not w.startswith("#")]
        tags = {i: set(recs[i]["name_words"]) | set(recs[i]["keywords"]) for i in train}
        self.records = [i for i in train if tags[i] & set(words)]
        groups = [[i for i in self.records if w in tags[i]] for w in dict.fromkeys(words)]
        self.groups = [g for g in groups if g] if by_word else []
        how = f", drawn word first over {len(self.groups)} words" if by_word else ""
        print(f"focus: {len(self.records)} training images name or tag one of {len(words)} words{how}",
              flush=True)

    def __len__(self):
        # No record: falsy, so the trainers draw every sprite from the whole training set.
        return len(self.records)

    def draw(self, rng):
        if self.groups:
            return rng.choice(rng.choice(self.groups))
        return rng.choice(self.records)


def export(ema, out, step):
    tensors = {k: v.detach().clone().contiguous() for k, v in ema.state_dict().items()}
    path = os.path.join(out, f"sprite-{step:06d}.safetensors")
    save_file(tensors, path + ".tmp")
    os.replace(path + ".tmp", path)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--every", type=int, default=500)
    ap.add_argument("--channels", default="32,64,128")
    ap.add_argument("--emb", type=int, default=128)
    ap.add_argument("--cond-drop", type=float, default=0.1)
    ap.add_argument("--init", help="a shipped model folder (models/sprite) to continue from when the run has "
                    "no checkpoint: its EMA weights start both the model and the EMA, at its step, with a "
                    "fresh optimizer and a new 500-step warm-up")
    ap.add_argument("--vocab-from", help="a shipped model folder whose vocab.txt to keep (with --init on data "
                    "that has grown since: words outside it are left out of captions)")
    ap.add_argument("--focus", help="a file of words, one per line (farm words): a record whose name words "
                    "or keywords include one is drawn with --focus-share of each batch")
    ap.add_argument("--focus-share", type=float, default=0.5)
    ap.add_argument("--focus-by-word", action="store_true", help="draw the focus share word first, then "
                    "one of its sprites (each focus word equally often, however few sprites it has)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)

    recs, px = load_data(args.data)
    if args.vocab_from:
        with open(os.path.join(args.vocab_from, "vocab.txt")) as f:
            vocab = f.read().split("\n")[:-1]
    else:
        vocab = build_vocab(recs)
    vocab_index = {w: i for i, w in enumerate(vocab)}
    with open(os.path.join(args.out, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    train = [i for i, r in enumerate(recs) if not r["held_out"]]
    focus = Focus(recs, train, args.focus, args.focus_by_word) if args.focus else None
    x_all = to_tensor(px)
    print(f"{len(train)} training images, {len(recs) - len(train)} held out, vocab {len(vocab)}", flush=True)

    channels = tuple(int(c) for c in args.channels.split(","))
    model = SpriteUNet(len(vocab), channels=channels, emb=args.emb)
    ema = SpriteUNet(len(vocab), channels=channels, emb=args.emb)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    save_config(model, os.path.join(args.out, "config.json"), MAX_TOKENS)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"{nparams} parameters", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)

    step = 0
    warm_from = 0  # the step the learning-rate warm-up starts at
    ckpt = os.path.join(args.out, "ckpt.pt")
    if os.path.exists(ckpt):
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        rng.setstate(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed at step {step}", flush=True)
    elif args.init:
        with open(os.path.join(args.init, "vocab.txt")) as f:
            shipped = f.read().split("\n")[:-1]
        if shipped != vocab:
            raise SystemExit(f"{args.init}/vocab.txt differs from this data's vocabulary: cannot continue from it")
        weights = load_file(os.path.join(args.init, "sprite.safetensors"))
        model.load_state_dict(weights)
        ema.load_state_dict(weights)
        with open(os.path.join(args.init, "config.json")) as f:
            step = json.load(f)["step"]
        warm_from = step
        print(f"continuing from {args.init} at step {step}", flush=True)

    stop = {"now": False}

    def on_signal(*_):
        stop["now"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    def save():
        torch.save(
            dict(model=model.state_dict(), ema=ema.state_dict(), opt=opt.state_dict(), step=step,
                 rng=rng.getstate(), torch_rng=torch.get_rng_state()),
            ckpt + ".tmp",
        )
        os.replace(ckpt + ".tmp", ckpt)
        path = export(ema, args.out, step)
        print(f"step {step}: saved {path}", flush=True)

    log = open(os.path.join(args.out, "loss.log"), "a")
    start, window = time.time(), []
    while step < args.steps and not stop["now"]:
        idx = [focus.draw(rng) if focus and rng.random() < args.focus_share else rng.choice(train)
               for _ in range(args.batch)]
        x0 = x_all[idx]
        flip = torch.rand(args.batch) < 0.5
        x0 = torch.where(flip[:, None, None, None], x0.flip(-1), x0)
        ids = torch.tensor([caption_ids(recs[i], vocab_index, rng) for i in idx])
        drop = torch.rand(args.batch) < args.cond_drop
        ids[drop] = 0
        # Logit-normal times (more weight mid-trajectory), as in SD3's rectified flow.
        t = torch.sigmoid(torch.randn(args.batch))
        noise = torch.randn_like(x0)
        xt = (1 - t)[:, None, None, None] * x0 + t[:, None, None, None] * noise
        v = model(xt, t, ids)
        loss = torch.mean((v - (noise - x0)) ** 2)
        lr = args.lr * min(1.0, (step - warm_from + 1) / 500)
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
            for be, bm in zip(ema.buffers(), model.buffers()):
                be.copy_(bm)
        step += 1
        window.append(loss.item())
        if step % 50 == 0:
            msg = f"step {step} loss {sum(window) / len(window):.4f} lr {lr:.2e} elapsed {time.time() - start:.0f}s"
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
            window = []
        if step % args.every == 0:
            save()
    save()


if __name__ == "__main__":
    main()
