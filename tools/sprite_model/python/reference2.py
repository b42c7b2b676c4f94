"""Writes the v2 parity fixture the candle implementation (`sprout_core::diffusion::sprite::v2`)
is tested against.

    python reference2.py --model ../../../models/sprite/v2 --out ../../../tests/fixtures/sprite

`parity2.safetensors`: `noise` (B,4,32,32) and `expected` (the sampler's output, premultiplied RGBA
in [-1, 1], unclamped); `parity2.json`: prompts, their token ids, steps, guidance.
"""
import argparse
import json
import os

import torch
from safetensors.torch import load_file, save_file

from model2 import SpriteUNet2, caption_tensors, sample
from text import Tokenizer

PROMPTS = ["carrot", "red apple fluent", "zzz unknownish villager 1st"]
STEPS = 4
GUIDANCE = 3.0


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    model = SpriteUNet2(embed_dim=cfg["embed_dim"], channels=tuple(cfg["channels"]), emb=cfg["emb"],
                        ctx=cfg["ctx"], text_layers=cfg["text_layers"], max_tokens=cfg["max_tokens"],
                        time_dim=cfg["time_dim"])
    model.load_state_dict({k: v.float() for k, v in load_file(os.path.join(model_dir, "sprite.safetensors")).items()})
    model.eval()
    table = load_file(os.path.join(model_dir, "text.safetensors"))["embed"].float()
    return model, Tokenizer.load(model_dir), table, cfg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, tok, table, cfg = load_model(args.model)
    g = torch.Generator().manual_seed(1234)
    s = cfg["size"]
    noise = torch.randn(len(PROMPTS), 4, s, s, generator=g)
    tokens = [tok.encode(p)[: cfg["max_tokens"]] for p in PROMPTS]
    emb, mask = caption_tensors(table, tokens, cfg["max_tokens"])
    expected = sample(model, noise, emb, mask, STEPS, GUIDANCE)
    os.makedirs(args.out, exist_ok=True)
    save_file({"noise": noise.contiguous(), "expected": expected.contiguous()},
              os.path.join(args.out, "parity2.safetensors"))
    with open(os.path.join(args.out, "parity2.json"), "w") as f:
        json.dump(dict(prompts=PROMPTS, tokens=tokens, steps=STEPS, guidance=GUIDANCE, step=cfg.get("step")), f, indent=2)
        f.write("\n")
    print("wrote", args.out, "expected range", float(expected.min()), float(expected.max()))


if __name__ == "__main__":
    main()
