//! Icon sets in Iconify's JSON format, emojilib keywords, captions, filtering and the split.

use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One icon set as fetched by `fetch-data.sh`.
#[derive(Debug, Clone, Copy)]
pub struct SetSpec {
    /// The style word added to captions ("fluent", "noto", "twemoji").
    pub style: &'static str,
    /// The npm package.
    pub package: &'static str,
    /// The pinned version.
    pub version: &'static str,
    /// SPDX licence of the artwork.
    pub licence: &'static str,
    /// Who made it.
    pub author: &'static str,
}

/// The icon sets of the training data, in priority order: when two renditions are near-identical
/// (see [`dedupe`]) the one of the earlier set is kept. Left out: `emojione-v1` and `openmoji`
/// (CC-BY-SA-4.0: share-alike would bind the weights) and `streamline-pixel` (one colour,
/// `currentColor`).
pub const SETS: &[SetSpec] = &[
    SetSpec {
        style: "fluent",
        package: "@iconify-json/fluent-emoji-flat",
        version: "1.2.6",
        licence: "MIT",
        author: "Microsoft Corporation (Fluent Emoji)",
    },
    SetSpec {
        style: "noto",
        package: "@iconify-json/noto",
        version: "1.2.9",
        licence: "Apache-2.0",
        author: "Google Inc. (Noto Emoji)",
    },
    SetSpec {
        style: "twemoji",
        package: "@iconify-json/twemoji",
        version: "1.2.5",
        licence: "CC-BY-4.0",
        author: "Twitter, Inc. and other contributors (Twemoji)",
    },
    SetSpec {
        style: "emojione",
        package: "@iconify-json/emojione",
        version: "1.2.3",
        licence: "CC-BY-4.0",
        author: "Emoji One (emojione 2.2, as continued by Emojitwo)",
    },
    SetSpec {
        style: "blob",
        package: "@iconify-json/noto-v1",
        version: "1.2.5",
        licence: "Apache-2.0",
        author: "Google Inc. (Noto Emoji, first edition)",
    },
    SetSpec {
        style: "fxemoji",
        package: "@iconify-json/fxemoji",
        version: "1.2.2",
        licence: "Apache-2.0",
        author: "Mozilla (FxEmojis)",
    },
    SetSpec {
        style: "streamline",
        package: "@iconify-json/streamline-emojis",
        version: "1.2.4",
        licence: "CC-BY-4.0",
        author: "Streamline (webalys), Streamline Emojis",
    },
    SetSpec {
        style: "icons8",
        package: "@iconify-json/flat-color-icons",
        version: "1.2.3",
        licence: "MIT",
        author: "Icons8 (Flat Color Icons)",
    },
    SetSpec {
        style: "fluentui",
        package: "@iconify-json/fluent-color",
        version: "1.2.21",
        licence: "MIT",
        author: "Microsoft Corporation (Fluent UI System Icons, colour)",
    },
];

/// Caption keywords: emojilib, MIT, by Mu-An Chiou.
pub const EMOJILIB: (&str, &str) = ("emojilib", "4.0.3");

/// The directory `npm pack` + unpack leaves a package in, under the data directory.
pub fn package_dir(data: &Path, package: &str, version: &str) -> std::path::PathBuf {
    let flat = package.trim_start_matches('@').replace('/', "-");
    data.join(format!("{flat}-{version}")).join("package")
}

/// Splits text into caption words: lowercase ASCII alphanumeric runs. The model's inference tokenizer
/// (`sprout_core::diffusion::sprite`) and the trainer use the same rule.
pub fn words(text: &str) -> Vec<String> {
    text.to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One icon of one set, ready to rasterize.
#[derive(Debug, Clone, Serialize)]
pub struct Icon {
    /// Style word of its set.
    pub style: String,
    /// Icon name, e.g. `ear-of-corn`: the concept shared across sets (`fxemoji`'s run-together
    /// names are mapped to the other sets' hyphenated ones where they match).
    pub name: String,
    /// Words of the name.
    pub name_words: Vec<String>,
    /// emojilib keywords (looked up by codepoint, or by name for sets without codepoints) that are
    /// not already name words, then the name words of near-identical renditions dropped by [`dedupe`].
    pub keywords: Vec<String>,
    /// Words of the set's category for the icon (`food`, `drink`, `animals`, `nature`, ...).
    pub categories: Vec<String>,
    /// Dominant colour words of the rendered icon (see [`colour_words`]), most covering first.
    pub colours: Vec<String>,
    /// `true` when this rendition is held out of training.
    pub held_out: bool,
    /// A complete SVG document.
    #[serde(skip)]
    pub svg: String,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    categories: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
struct IconSet {
    icons: BTreeMap<String, IconBody>,
    #[serde(default)]
    width: Option<f32>,
    #[serde(default)]
    height: Option<f32>,
}

#[derive(Deserialize)]
struct IconBody {
    body: String,
    #[serde(default)]
    width: Option<f32>,
    #[serde(default)]
    height: Option<f32>,
    #[serde(default)]
    left: Option<f32>,
    #[serde(default)]
    top: Option<f32>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.display().to_string(),
        source,
    })
}

const TONES: &[&str] = &["light", "medium-light", "medium", "medium-dark", "dark"];

/// `true` for skin-tone variants (`artist-dark`, `artist-dark-skin-tone`, `kiss-light-dark`) and
/// country/region flags; `names` is every icon name of the set.
pub fn is_variant(name: &str, names: &std::collections::BTreeSet<&str>) -> bool {
    if name.contains("skin-tone") {
        return true;
    }
    if name.starts_with("flag-") && name != "flag-in-hole" {
        return true;
    }
    // Strip trailing tone words; a variant if what is left is another icon of the set.
    let mut base = name;
    let mut stripped = false;
    'strip: loop {
        for tone in TONES {
            if let Some(rest) = base.strip_suffix(tone).and_then(|r| r.strip_suffix('-')) {
                base = rest;
                stripped = true;
                continue 'strip;
            }
        }
        break;
    }
    stripped && base != name && names.contains(base)
}

/// FNV-1a, 64 bit: a stable hash for the deterministic split.
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// emojilib keywords keyed by codepoints in lowercase hex joined with `-`, without `fe0f`.
fn emojilib_keywords(data: &Path) -> Result<HashMap<String, Vec<String>>> {
    let dir = package_dir(data, EMOJILIB.0, EMOJILIB.1);
    let map: BTreeMap<String, Vec<String>> = read_json(&dir.join("dist/emoji-en-US.json"))?;
    Ok(map
        .into_iter()
        .map(|(emoji, kws)| {
            let key = emoji
                .chars()
                .filter(|&c| c != '\u{fe0f}')
                .map(|c| format!("{:x}", c as u32))
                .collect::<Vec<_>>()
                .join("-");
            (key, kws)
        })
        .collect())
}

/// Sizes `fluent-color` publishes each icon at, as a name suffix.
const SIZE_SUFFIXES: &[&str] = &["-48", "-32", "-28", "-24", "-20", "-16"];

/// Strips a `-NN` size suffix; `None` when the name has none.
fn strip_size(name: &str) -> Option<&str> {
    SIZE_SUFFIXES.iter().find_map(|s| name.strip_suffix(s))
}

/// Loads every set in [`SETS`] from `data`, filters variants and captions (not yet deduplicated,
/// coloured or split: see [`dedupe`], [`colour_words`], [`split`]).
pub fn load(data: &Path) -> Result<Vec<Icon>> {
    load_sets(data, SETS)
}

/// [`load`] over the given sets.
pub fn load_sets(data: &Path, sets: &[SetSpec]) -> Result<Vec<Icon>> {
    let keywords = emojilib_keywords(data)?;
    let mut parsed = Vec::new();
    // Keywords by icon name, from the sets that map names to codepoints; then usable for every set.
    let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
    for spec in sets {
        let dir = package_dir(data, spec.package, spec.version);
        let set: IconSet = read_json(&dir.join("icons.json"))?;
        let chars: BTreeMap<String, String> = match dir.join("chars.json").exists() {
            true => read_json(&dir.join("chars.json"))?,
            false => BTreeMap::new(),
        };
        let meta: Metadata = match dir.join("metadata.json").exists() {
            true => read_json(&dir.join("metadata.json"))?,
            false => Metadata {
                categories: BTreeMap::new(),
            },
        };
        for (hex, name) in &chars {
            let key = hex
                .split('-')
                .filter(|p| *p != "fe0f")
                .collect::<Vec<_>>()
                .join("-");
            if let Some(kws) = keywords.get(&key) {
                by_name.entry(name.clone()).or_insert_with(|| kws.clone());
            }
        }
        parsed.push((spec, set, meta));
    }
    // Run-together names (`fxemoji`'s `admissiontickets`) to hyphenated ones (`admission-tickets`).
    let mut joined: HashMap<String, String> = HashMap::new();
    for (_, set, _) in &parsed {
        for name in set.icons.keys().filter(|n| n.contains('-')) {
            joined
                .entry(name.replace('-', ""))
                .or_insert_with(|| name.clone());
        }
    }
    let mut icons = Vec::new();
    for (spec, set, meta) in &parsed {
        let mut category: HashMap<&str, Vec<String>> = HashMap::new();
        for (cat, names) in &meta.categories {
            for n in names {
                category.entry(n.as_str()).or_insert_with(|| words(cat));
            }
        }
        let names: std::collections::BTreeSet<&str> =
            set.icons.keys().map(String::as_str).collect();
        let (dw, dh) = (set.width.unwrap_or(16.0), set.height.unwrap_or(16.0));
        for (raw_name, icon) in &set.icons {
            if is_variant(raw_name, &names) {
                continue;
            }
            // Several sizes of one icon: keep the largest only.
            let mut name = raw_name.as_str();
            if let Some(base) = strip_size(name) {
                let larger = SIZE_SUFFIXES
                    .iter()
                    .take_while(|s| !name.ends_with(*s))
                    .any(|s| names.contains(format!("{base}{s}").as_str()));
                if larger {
                    continue;
                }
                name = base;
            }
            let name = match joined.get(name) {
                Some(full) if !name.contains('-') => full.clone(),
                _ => name.to_owned(),
            };
            let (w, h) = (icon.width.unwrap_or(dw), icon.height.unwrap_or(dh));
            let (l, t) = (icon.left.unwrap_or(0.0), icon.top.unwrap_or(0.0));
            let svg = format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="{l} {t} {w} {h}" width="{w}" height="{h}">{}</svg>"#,
                icon.body
            );
            let name_words = words(&name);
            let mut kws: Vec<String> = Vec::new();
            for kw in by_name.get(&name).into_iter().flat_map(|v| v.iter()) {
                for w in words(kw) {
                    if !name_words.contains(&w) && !kws.contains(&w) {
                        kws.push(w);
                    }
                }
            }
            icons.push(Icon {
                style: spec.style.to_owned(),
                name_words,
                keywords: kws,
                categories: category.get(raw_name.as_str()).cloned().unwrap_or_default(),
                colours: Vec::new(),
                held_out: false,
                svg,
                name,
            });
        }
    }
    Ok(icons)
}

/// Dominant colour words of a straight-alpha RGBA image: each pixel with alpha ≥ 128 is named
/// (`black`, `white`, `gray`, `brown`, `red`, `orange`, `yellow`, `green`, `blue`, `purple`,
/// `pink`); the names covering at least a fifth of those pixels, most covering first, at most two.
pub fn colour_words(rgba: &[u8]) -> Vec<String> {
    const NAMES: [&str; 11] = [
        "black", "white", "gray", "brown", "red", "orange", "yellow", "green", "blue", "purple",
        "pink",
    ];
    let mut counts = [0usize; 11];
    let mut total = 0usize;
    for p in rgba.chunks_exact(4) {
        if p[3] < 128 {
            continue;
        }
        total += 1;
        counts[colour_index(p[0], p[1], p[2])] += 1;
    }
    let mut order: Vec<usize> = (0..NAMES.len())
        .filter(|&i| counts[i] * 5 >= total)
        .collect();
    order.sort_by_key(|&i| core::cmp::Reverse(counts[i]));
    order
        .into_iter()
        .filter(|_| total > 0)
        .take(2)
        .map(|i| NAMES[i].to_owned())
        .collect()
}

fn colour_index(r: u8, g: u8, b: u8) -> usize {
    let (r, g, b) = (
        f32::from(r) / 255.0,
        f32::from(g) / 255.0,
        f32::from(b) / 255.0,
    );
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let v = max;
    let s = if max > 0.0 { (max - min) / max } else { 0.0 };
    if v < 0.2 {
        return 0;
    }
    if s < 0.18 {
        return if v > 0.85 { 1 } else { 2 };
    }
    let d = max - min;
    let h = if max == r {
        60.0 * ((g - b) / d).rem_euclid(6.0)
    } else if max == g {
        60.0 * ((b - r) / d + 2.0)
    } else {
        60.0 * ((r - g) / d + 4.0)
    };
    if (10.0..45.0).contains(&h) && v < 0.6 && s > 0.3 {
        return 3;
    }
    match h {
        h if !(15.0..345.0).contains(&h) => 4,
        h if h < 42.0 => 5,
        h if h < 70.0 => 6,
        h if h < 170.0 => 7,
        h if h < 260.0 => 8,
        h if h < 290.0 => 9,
        _ => 10,
    }
}

/// A 64-bit perceptual hash of a 16×16 straight-alpha RGBA image: 8×8 means of premultiplied
/// luminance, one bit each for above/below their median.
pub fn perceptual_hash(rgba16: &[u8]) -> u64 {
    let mut cells = [0f32; 64];
    for y in 0..16 {
        for x in 0..16 {
            let p = &rgba16[(y * 16 + x) * 4..][..4];
            let a = f32::from(p[3]) / 255.0;
            let l = (0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
                / 255.0;
            // Coverage counts too, so a white shape and a transparent square differ.
            cells[(y / 2) * 8 + x / 2] += a * (0.5 + 0.5 * l);
        }
    }
    let mut sorted = cells;
    sorted.sort_by(f32::total_cmp);
    let median = (sorted[31] + sorted[32]) / 2.0;
    cells
        .iter()
        .enumerate()
        .fold(0u64, |h, (i, &c)| if c > median { h | (1 << i) } else { h })
}

/// RMS distance of two same-size straight-alpha RGBA images, in premultiplied space, in [0, 1].
pub fn rms(a: &[u8], b: &[u8]) -> f32 {
    let mut acc = 0f64;
    for (p, q) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        let (pa, qa) = (f32::from(p[3]) / 255.0, f32::from(q[3]) / 255.0);
        for c in 0..3 {
            let d = f32::from(p[c]) / 255.0 * pa - f32::from(q[c]) / 255.0 * qa;
            acc += f64::from(d * d);
        }
        acc += f64::from((pa - qa) * (pa - qa));
    }
    (acc / (a.len() as f64)).sqrt() as f32
}

/// Near-identical renditions: images `j` whose 16×16 perceptual hash is within 6 bits of an earlier
/// kept image `i`'s and whose 16×16 RMS distance to it is below `threshold`. Returns, for each image,
/// `None` (kept) or `Some(i)` (a duplicate of kept image `i`).
pub fn dedupe(images16: &[&[u8]], threshold: f32) -> Vec<Option<usize>> {
    let hashes: Vec<u64> = images16.iter().map(|im| perceptual_hash(im)).collect();
    let mut kept: Vec<usize> = Vec::new();
    let mut out = vec![None; images16.len()];
    for j in 0..images16.len() {
        let dup = kept.iter().copied().find(|&i| {
            (hashes[i] ^ hashes[j]).count_ones() <= 6 && rms(images16[i], images16[j]) < threshold
        });
        match dup {
            Some(i) => out[j] = Some(i),
            None => kept.push(j),
        }
    }
    out
}

/// Holds out one rendition (chosen by hash) of every fourth concept (by hash) that has two or more.
pub fn split(icons: &mut [Icon]) {
    let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, icon) in icons.iter().enumerate() {
        by_name.entry(icon.name.clone()).or_default().push(i);
    }
    for (name, idx) in by_name {
        let h = fnv1a(&name);
        if idx.len() >= 2 && h.is_multiple_of(4) {
            let pick = idx[((h / 4) % idx.len() as u64) as usize];
            icons[pick].held_out = true;
        }
    }
}
