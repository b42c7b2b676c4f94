"""Writes the parity fixture the candle implementation is tested against.

    python reference.py --model ../../../models/sprite --out ../../../tests/fixtures/sprite

`parity.safetensors`: `noise` (B,4,16,16) and `expected` (the sampler's output, premultiplied RGBA in
[-1, 1], unclamped) from the PyTorch code; `parity.json`: prompts, their token ids, steps, guidance.
"""
import argparse
import json
import os

import torch
from safetensors.torch import load_file, save_file

from model import SpriteUNet, encode, load_vocab, sample

PROMPTS = ["carrot", "red apple fluent", "zzz-unknown-word wheat"]
STEPS = 4
GUIDANCE = 3.0


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    model = SpriteUNet(cfg["vocab_size"], channels=tuple(cfg["channels"]), emb=cfg["emb"], time_dim=cfg["time_dim"])
    model.load_state_dict(load_file(os.path.join(model_dir, "sprite.safetensors")))
    model.eval()
    vocab = load_vocab(os.path.join(model_dir, "vocab.txt"))
    return model, vocab, cfg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, vocab, cfg = load_model(args.model)
    index = {w: i for i, w in enumerate(vocab)}
    g = torch.Generator().manual_seed(1234)
    s = cfg["size"]
    noise = torch.randn(len(PROMPTS), 4, s, s, generator=g)
    ids = torch.tensor([encode(index, p, cfg["max_tokens"]) for p in PROMPTS])
    expected = sample(model, noise, ids, STEPS, GUIDANCE)
    os.makedirs(args.out, exist_ok=True)
    save_file({"noise": noise.contiguous(), "expected": expected.contiguous()}, os.path.join(args.out, "parity.safetensors"))
    tokens = [[int(i) for i in row if i > 0] for row in ids]
    with open(os.path.join(args.out, "parity.json"), "w") as f:
        json.dump(dict(prompts=PROMPTS, tokens=tokens, steps=STEPS, guidance=GUIDANCE), f, indent=2)
        f.write("\n")
    print("wrote", args.out, "expected range", float(expected.min()), float(expected.max()))


if __name__ == "__main__":
    main()
