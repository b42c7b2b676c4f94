"""Ships v2 EMA weights: `models/sprite/v2/sprite.safetensors` (f16) and `config.json` (with the step).

    python export2.py --small /work/sprite-train-v2/small.safetensors --out ../../../models/sprite/v2
    python export2.py --small small-ema.safetensors --config /work/sprite-train-v2/config.json --out ...

`--small` takes a small checkpoint (`ema.*` keys, f16; `small.safetensors` or `small-ema.safetensors`).
"""
import argparse
import json
import os

from safetensors import safe_open
from safetensors.torch import save_file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", required=True)
    ap.add_argument("--config", help="the run's config.json (default: beside --small)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with safe_open(a.small, "pt") as f:
        step = int(f.metadata()["step"])
        ema = {k[4:]: f.get_tensor(k).half().contiguous() for k in f.keys() if k.startswith("ema.")}
    cfg_path = a.config or os.path.join(os.path.dirname(a.small), "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg["step"] = step
    os.makedirs(a.out, exist_ok=True)
    save_file(ema, os.path.join(a.out, "sprite.safetensors"), metadata={"step": str(step)})
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    print(f"step {step}: {len(ema)} tensors to {a.out}")


if __name__ == "__main__":
    main()
