#!/usr/bin/env bash
# Copies the newest small checkpoint of a v2 run (model + EMA, f16, split in two files under 16 MiB)
# with its config and loss log into tools/sprite_model/checkpoints/, for the next machine to resume:
#   tools/sprite_model/checkpoints/save.sh [RUN_DIR]     (default /work/sprite-train-v2)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
run="${1:-/work/sprite-train-v2}"
py="${PYTHON:-/work/venv-sprite/bin/python}"
"$py" "$here/../python/split_small.py" "$run/small.safetensors" "$here"
cp "$run/config.json" "$here/"
# The loss curve is kept whole: a resumed run's log starts where the committed one ends.
last=$(tail -n 1 "$here/loss.log" 2>/dev/null | awk '{print $2}')
awk -v last="${last:-0}" '$2 > last' "$run/loss.log" >> "$here/loss.log"
"$py" -c "from safetensors import safe_open; print('step', safe_open('$here/small-ema.safetensors','pt').metadata()['step'])"
