#!/usr/bin/env bash
# Packs what gpu/run.sh needs and git does not hold into tools/sprite_model/gpu/bundle/ (ignored by
# .gitignore; name it in the device run's `carry`): the rendered data (index.jsonl + sprites32.rgba,
# gzipped, well under 64 MiB) and, when given, a small checkpoint to continue from.
#   tools/sprite_model/gpu/make-bundle.sh [DATA_OUT_DIR] [SMALL_CHECKPOINT]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${1:-$HOME/.cache/sprout/sprite-data/out}"
mkdir -p "$here/bundle"
tar czf "$here/bundle/data.tar.gz" -C "$data" index.jsonl sprites32.rgba
rm -f "$here/bundle/small.safetensors"
if [ -n "${2:-}" ]; then cp "$2" "$here/bundle/small.safetensors"; fi
du -sh "$here/bundle"/*
