"""Copies one exported checkpoint of a training run into the shipped model folder.

    python export.py --run /work/sprite-train --step 4000 --out ../../../models/sprite

Writes sprite.safetensors (EMA weights, f32), vocab.txt, config.json (with the step added) atomically.
"""
import argparse
import json
import os
import shutil


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--step", type=int, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    src = os.path.join(args.run, f"sprite-{args.step:06d}.safetensors")
    shutil.copyfile(src, os.path.join(args.out, "sprite.safetensors.tmp"))
    os.replace(os.path.join(args.out, "sprite.safetensors.tmp"), os.path.join(args.out, "sprite.safetensors"))
    shutil.copyfile(os.path.join(args.run, "vocab.txt"), os.path.join(args.out, "vocab.txt"))
    with open(os.path.join(args.run, "config.json")) as f:
        cfg = json.load(f)
    cfg["step"] = args.step
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    print(f"exported step {args.step} to {args.out}")


if __name__ == "__main__":
    main()
