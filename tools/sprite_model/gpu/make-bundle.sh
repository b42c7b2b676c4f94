#!/usr/bin/env bash
# Packs what gpu/run.sh needs and git does not hold into tools/sprite_model/gpu/bundle/ (ignored by
# .gitignore; name it in the device run's `carry`): the rendered data (index.jsonl + sprites32.rgba,
# gzipped, well under 64 MiB) and, when given, a small checkpoint to continue from (small.safetensors,
# or the pair small-model + small-ema.safetensors, e.g. tools/sprite_model/checkpoints/small-*.safetensors).
#   tools/sprite_model/gpu/make-bundle.sh [DATA_OUT_DIR] [SMALL_CHECKPOINT_FILE...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${1:-$HOME/.cache/sprout/sprite-data/out}"
mkdir -p "$here/bundle"
tar czf "$here/bundle/data.tar.gz" -C "$data" index.jsonl sprites32.rgba
rm -f "$here/bundle/"small*.safetensors
shift || true
for f in "$@"; do cp "$f" "$here/bundle/"; done
du -sh "$here/bundle"/*
