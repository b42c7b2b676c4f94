"""Splits a small checkpoint (`small.safetensors`: `model.*` and `ema.*`, f16) into
`small-model.safetensors` and `small-ema.safetensors` in a folder (each under 16 MiB), keeping the
step in the metadata. `train2.py --init` takes either form."""
import os
import sys

from safetensors import safe_open
from safetensors.torch import save_file

src, out = sys.argv[1], sys.argv[2]
with safe_open(src, "pt") as f:
    meta = f.metadata()
    tensors = {k: f.get_tensor(k) for k in f.keys()}
for part in ("model", "ema"):
    path = os.path.join(out, f"small-{part}.safetensors")
    save_file({k: v for k, v in tensors.items() if k.startswith(part + ".")}, path + ".tmp", metadata=meta)
    os.replace(path + ".tmp", path)
