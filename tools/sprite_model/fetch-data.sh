#!/usr/bin/env bash
# Fetches the sprite model's training data (npm packages at pinned versions) into a cache outside the
# repo, unpacks them and rasterizes them with `sprite-data`. Nothing here is committed.
#   tools/sprite_model/fetch-data.sh [DATA_DIR]     (default ~/.cache/sprout/sprite-data)
set -euo pipefail
cd "$(dirname "$0")/../.."
data="${1:-$HOME/.cache/sprout/sprite-data}"
mkdir -p "$data"
packages=(
  "@iconify-json/fluent-emoji-flat@1.2.6"  # MIT, Microsoft
  "@iconify-json/noto@1.2.9"               # Apache-2.0, Google
  "@iconify-json/twemoji@1.2.5"            # CC-BY-4.0, Twitter
  "@iconify-json/emojione@1.2.3"           # CC-BY-4.0, Emoji One
  "@iconify-json/noto-v1@1.2.5"            # Apache-2.0, Google (first edition, "blob")
  "@iconify-json/fxemoji@1.2.2"            # Apache-2.0, Mozilla
  "@iconify-json/streamline-emojis@1.2.4"  # CC-BY-4.0, Streamline
  "@iconify-json/flat-color-icons@1.2.3"   # MIT, Icons8
  "@iconify-json/fluent-color@1.2.21"      # MIT, Microsoft
  "emojilib@4.0.3"                         # MIT, caption keywords
)
(cd "$data" && npm pack --silent "${packages[@]}" >/dev/null)
for tgz in "$data"/*.tgz; do
  dir="${tgz%.tgz}"
  mkdir -p "$dir" && tar xzf "$tgz" -C "$dir"
done
cargo run --release -q -p sprout_sprite_model --bin sprite-data -- --data "$data" --out "$data/out"
