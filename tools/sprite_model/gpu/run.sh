#!/usr/bin/env bash
# One GPU training session of the v2 sprite model (an H200: 8.5 minutes of training by default, batch 256, bf16 autocast),
# run from the repository root with tools/sprite_model/gpu/bundle carried (see make-bundle.sh).
# Every minute the newest small checkpoint (model and EMA, f16, one file each: under the 16 MiB a
# returned file may have) and the loss log are copied to $OUT; continue on the CPU with
#   train2.py --init $OUT/small-model.safetensors $OUT/small-ema.safetensors
#   tools/sprite_model/gpu/run.sh [MINUTES] [EXTRA train2.py ARGS...]
# Tested on the CPU with: OUT=/tmp/gpu-out tools/sprite_model/gpu/run.sh 0.3 --device cpu --batch 8
set -euo pipefail
minutes="${1:-8.5}"
shift || true
root="$(pwd)"
bundle="$root/tools/sprite_model/gpu/bundle"
out="${OUT:?set OUT}"
work="$(mktemp -d)"
mkdir -p "$work/data" "$work/run"
tar xzf "$bundle/data.tar.gz" -C "$work/data"
init=()
shopt -s nullglob
smalls=("$bundle"/small*.safetensors)
# Else the committed checkpoint (not copied into the bundle: the tree that travels is capped at 64 MiB).
[ ${#smalls[@]} -gt 0 ] || smalls=("$root"/tools/sprite_model/checkpoints/small-*.safetensors)
if [ ${#smalls[@]} -gt 0 ]; then init=(--init "${smalls[@]}"); fi
device=cuda
python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null || device=cpu
# Copy the newest checkpoint to $OUT each time the trainer writes one (it does every --every-min).
(
  last=""
  while sleep 5; do
    f="$work/run/small.safetensors"
    [ -f "$f" ] || continue
    m="$(stat -c %Y "$f")"
    [ "$m" = "$last" ] && continue
    last="$m"
    python3 "$root/tools/sprite_model/python/split_small.py" "$f" "$out" || true
    cp "$work/run/loss.log" "$out/loss.log" 2>/dev/null || true
  done
) &
watcher=$!
cd "$root/tools/sprite_model/python"
set +e
PYTHONUNBUFFERED=1 python3 train2.py --data "$work/data" --text "$root/models/sprite/v2" --out "$work/run" \
  --device "$device" --threads 8 --batch 256 --lr 8e-4 --every 1000000 --every-min 1 --keep 1 \
  --minutes "$minutes" "${init[@]}" "$@" 2>&1 | tee "$out/train.out"
rc=${PIPESTATUS[0]}
set -e
kill "$watcher" 2>/dev/null || true
python3 split_small.py "$work/run/small.safetensors" "$out"
cp "$work/run/loss.log" "$work/run/config.json" "$out/"
ls -la "$out"
exit "$rc"
