//! Palettes: a fixed list of colours every pixel is snapped to.
//!
//! Palette files live in `assets/palettes/` as `NAME.hex`: one `rrggbb` colour per line (the
//! format pixel artists trade palettes in), with optional leading `#`, blank lines and `;`
//! comments. An adaptive palette of N colours can also be chosen from an image (median cut).

use std::path::{Path, PathBuf};

use image::RgbaImage;

use super::{Error, Result, distance2, rgb};

/// File extension of palette files.
pub const EXTENSION: &str = "hex";

/// An ordered list of RGB colours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palette {
    /// Its name (the file stem, or `adaptive-N`).
    pub name: String,
    /// The colours.
    pub colors: Vec<[u8; 3]>,
}

impl Palette {
    /// Parses the text of a `.hex` palette file; `path` is only used in errors.
    pub fn parse_hex(name: &str, text: &str, path: &Path) -> Result<Self> {
        let mut colors = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split(';').next().unwrap_or("").trim();
            let line = line.strip_prefix('#').unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let bad = |message: String| Error::Palette {
                path: path.to_owned(),
                line: i + 1,
                message,
            };
            if line.len() != 6 || !line.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(format!("`{line}` is not an rrggbb colour")));
            }
            let channel = |k: usize| u8::from_str_radix(&line[k..k + 2], 16);
            match (channel(0), channel(2), channel(4)) {
                (Ok(r), Ok(g), Ok(b)) => colors.push([r, g, b]),
                _ => return Err(bad(format!("`{line}` is not an rrggbb colour"))),
            }
        }
        if colors.is_empty() {
            return Err(Error::Palette {
                path: path.to_owned(),
                line: 1,
                message: "no colours".into(),
            });
        }
        Ok(Self {
            name: name.to_owned(),
            colors,
        })
    }

    /// Reads a `.hex` palette file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::parse_hex(&name, &text, path)
    }

    /// Reads the palette called `name` from `dir` (`dir/NAME.hex`).
    pub fn named(dir: &Path, name: &str) -> Result<Self> {
        let path = dir.join(format!("{name}.{EXTENSION}"));
        if path.is_file() {
            return Self::load(&path);
        }
        Err(Error::UnknownPalette {
            name: name.to_owned(),
            dir: dir.to_owned(),
            known: Self::names(dir).join(", "),
        })
    }

    /// The names of the palettes in `dir`, sorted.
    pub fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == EXTENSION))
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect();
        names.sort();
        names
    }

    /// The palette folder of a project rooted at `root`: `root/assets/palettes`.
    pub fn dir(root: &Path) -> PathBuf {
        root.join("assets").join("palettes")
    }

    /// At most `n` colours that represent the opaque pixels of `image` (median cut: split the
    /// box with the widest channel range at its median until there are `n` boxes, then average
    /// each). Deterministic.
    pub fn median_cut(image: &RgbaImage, n: usize) -> Self {
        let pixels: Vec<[u8; 3]> = image
            .pixels()
            .filter(|p| p[3] >= 128)
            .map(|p| rgb(*p))
            .collect();
        let mut boxes: Vec<Vec<[u8; 3]>> = vec![pixels];
        while boxes.len() < n.max(1) {
            // The box with the widest range in any channel (ties: the first).
            let (index, channel, range) = boxes
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let (c, r) = widest_channel(b);
                    (i, c, r)
                })
                .max_by_key(|&(i, _, r)| (r, core::cmp::Reverse(i)))
                .unwrap_or((0, 0, 0));
            if range == 0 {
                break;
            }
            let mut b = boxes.swap_remove(index);
            b.sort_unstable_by_key(|c| (c[channel], c[0], c[1], c[2]));
            let upper = b.split_off(b.len() / 2);
            boxes.push(b);
            boxes.push(upper);
        }
        let mut colors: Vec<[u8; 3]> = boxes
            .iter()
            .filter(|b| !b.is_empty())
            .map(|b| {
                let mut sum = [0u64; 3];
                for c in b {
                    for k in 0..3 {
                        sum[k] += u64::from(c[k]);
                    }
                }
                let len = b.len() as u64;
                sum.map(|s| ((s + len / 2) / len) as u8)
            })
            .collect();
        colors.sort_unstable();
        colors.dedup();
        if colors.is_empty() {
            colors.push([0, 0, 0]);
        }
        Self {
            name: format!("adaptive-{n}"),
            colors,
        }
    }

    /// The index of the colour nearest to `c`.
    pub fn nearest(&self, c: [u8; 3]) -> usize {
        let mut best = (u32::MAX, 0);
        for (i, p) in self.colors.iter().enumerate() {
            let d = distance2(c, *p);
            if d < best.0 {
                best = (d, i);
            }
        }
        best.1
    }

    /// The `.hex` text of this palette.
    pub fn to_hex(&self) -> String {
        self.colors
            .iter()
            .map(|c| format!("{:02x}{:02x}{:02x}\n", c[0], c[1], c[2]))
            .collect()
    }
}

/// Parses one colour written `#rrggbb` or `#rrggbbaa` (the `#` optional; without alpha it is
/// opaque), as the command line takes outline and shadow colours.
pub fn parse_rgba(text: &str) -> Result<[u8; 4]> {
    let hex = text.trim();
    let hex = hex.strip_prefix('#').unwrap_or(hex);
    let bad = || Error::Invalid(format!("`{text}` is not a #rrggbb or #rrggbbaa colour"));
    if !(hex.len() == 6 || hex.len() == 8) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let channel = |k: usize| u8::from_str_radix(&hex[2 * k..2 * k + 2], 16).map_err(|_| bad());
    let alpha = if hex.len() == 8 { channel(3)? } else { 255 };
    Ok([channel(0)?, channel(1)?, channel(2)?, alpha])
}

fn widest_channel(colors: &[[u8; 3]]) -> (usize, u8) {
    let mut best = (0, 0);
    for k in 0..3 {
        let lo = colors.iter().map(|c| c[k]).min().unwrap_or(0);
        let hi = colors.iter().map(|c| c[k]).max().unwrap_or(0);
        if hi - lo > best.1 {
            best = (k, hi - lo);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_files_parse_with_comments_and_report_bad_lines() {
        let p = Palette::parse_hex(
            "t",
            "; a test\n#ff0000\n00ff00\n\n0000FF ; blue\n",
            Path::new("t.hex"),
        )
        .unwrap();
        assert_eq!(p.colors, [[255, 0, 0], [0, 255, 0], [0, 0, 255]]);
        assert_eq!(p.nearest([250, 10, 10]), 0);
        assert_eq!(p.nearest([10, 10, 200]), 2);
        let err = Palette::parse_hex("t", "ff0000\nxyz\n", Path::new("t.hex")).unwrap_err();
        assert!(matches!(err, Error::Palette { line: 2, .. }), "{err}");
        let round = Palette::parse_hex("t", &p.to_hex(), Path::new("t.hex")).unwrap();
        assert_eq!(round, p);
    }

    #[test]
    fn colours_parse_with_or_without_alpha() {
        assert_eq!(parse_rgba("#1b1b1b").unwrap(), [0x1b, 0x1b, 0x1b, 255]);
        assert_eq!(parse_rgba("00000066").unwrap(), [0, 0, 0, 0x66]);
        assert_eq!(parse_rgba(" #FFa000 ").unwrap(), [255, 0xa0, 0, 255]);
        for bad in ["", "#12345", "#1234567", "#gg0000", "#1b1b1b1b1b", "é12345"] {
            assert!(parse_rgba(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_shipped_farm_palette_has_32_distinct_colours() {
        let dir = Palette::dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
        let farm = Palette::named(&dir, "farm32").unwrap();
        assert_eq!(farm.colors.len(), 32);
        let mut sorted = farm.colors.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 32);
        assert!(Palette::names(&dir).contains(&"farm32".to_owned()));
        let err = Palette::named(&dir, "nope").unwrap_err();
        assert!(err.to_string().contains("farm32"), "{err}");
    }

    #[test]
    fn median_cut_finds_the_colours_of_a_four_colour_image() {
        let quad = [[200, 30, 30], [30, 200, 30], [30, 30, 200], [230, 230, 40]];
        let img = RgbaImage::from_fn(8, 8, |x, y| {
            let c = quad[((x / 4) + 2 * (y / 4)) as usize];
            image::Rgba([c[0], c[1], c[2], 255])
        });
        let p = Palette::median_cut(&img, 4);
        let mut want = quad.to_vec();
        want.sort_unstable();
        assert_eq!(p.colors, want);
        assert!(Palette::median_cut(&img, 2).colors.len() <= 2);
    }
}
