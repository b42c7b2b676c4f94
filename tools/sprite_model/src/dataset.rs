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

/// The icon sets the shipped model was trained on, in caption-style order.
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
    /// Icon name in its set, e.g. `ear-of-corn`: the concept shared across sets.
    pub name: String,
    /// Words of the name.
    pub name_words: Vec<String>,
    /// emojilib keywords that are not already name words.
    pub keywords: Vec<String>,
    /// `true` when this rendition is held out of training.
    pub held_out: bool,
    /// A complete SVG document.
    #[serde(skip)]
    pub svg: String,
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

/// Loads every set in [`SETS`] from `data`, filters variants, captions and splits.
pub fn load(data: &Path) -> Result<Vec<Icon>> {
    let keywords = emojilib_keywords(data)?;
    let mut icons = Vec::new();
    for spec in SETS {
        let dir = package_dir(data, spec.package, spec.version);
        let set: IconSet = read_json(&dir.join("icons.json"))?;
        let chars: BTreeMap<String, String> = read_json(&dir.join("chars.json"))?;
        let mut name_keywords: HashMap<&str, &Vec<String>> = HashMap::new();
        for (hex, name) in &chars {
            let key = hex
                .split('-')
                .filter(|p| *p != "fe0f")
                .collect::<Vec<_>>()
                .join("-");
            if let Some(kws) = keywords.get(&key) {
                name_keywords.entry(name.as_str()).or_insert(kws);
            }
        }
        let names: std::collections::BTreeSet<&str> =
            set.icons.keys().map(String::as_str).collect();
        let (dw, dh) = (set.width.unwrap_or(16.0), set.height.unwrap_or(16.0));
        for (name, icon) in &set.icons {
            if is_variant(name, &names) {
                continue;
            }
            let (w, h) = (icon.width.unwrap_or(dw), icon.height.unwrap_or(dh));
            let (l, t) = (icon.left.unwrap_or(0.0), icon.top.unwrap_or(0.0));
            let svg = format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="{l} {t} {w} {h}" width="{w}" height="{h}">{}</svg>"#,
                icon.body
            );
            let name_words = words(name);
            let mut kws: Vec<String> = Vec::new();
            for kw in name_keywords
                .get(name.as_str())
                .into_iter()
                .flat_map(|v| v.iter())
            {
                for w in words(kw) {
                    if !name_words.contains(&w) && !kws.contains(&w) {
                        kws.push(w);
                    }
                }
            }
            icons.push(Icon {
                style: spec.style.to_owned(),
                name: name.clone(),
                name_words,
                keywords: kws,
                held_out: false,
                svg,
            });
        }
    }
    split(&mut icons);
    Ok(icons)
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
