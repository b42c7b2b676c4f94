//! Writing finished assets: PNGs that carry their generation parameters in `tEXt` chunks, any
//! asset with a provenance sidecar (`<file>.prov.ron`), both written atomically.

use std::collections::BTreeMap;
use std::path::Path;

use image::RgbaImage;

use crate::content::Provenance;
use crate::content::provenance::ModelRef;
use crate::content::provenance::{now_rfc3339, sha256_hex, write_with_sidecar};
use crate::format::to_ron;

/// Encodes `image` as an 8-bit RGBA PNG with one `tEXt` chunk per `(keyword, text)` pair
/// (keywords: 1–79 Latin-1 characters; text is Latin-1 too, other characters become `?`).
pub fn encode_png_with_text(
    image: &RgbaImage,
    text: &[(String, String)],
) -> crate::Result<Vec<u8>> {
    let encoding = |e: png::EncodingError| crate::Error::Io {
        path: "<png>".into(),
        source: std::io::Error::other(e),
    };
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, image.width(), image.height());
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    for (key, value) in text {
        let latin1: String = value
            .chars()
            .map(|c| if (c as u32) < 256 { c } else { '?' })
            .collect();
        enc.add_text_chunk(key.clone(), latin1).map_err(encoding)?;
    }
    let mut writer = enc.write_header().map_err(encoding)?;
    writer.write_image_data(image.as_raw()).map_err(encoding)?;
    writer.finish().map_err(encoding)?;
    Ok(out)
}

/// The `tEXt` chunks of a PNG, in file order.
pub fn read_png_text(png_bytes: &[u8]) -> crate::Result<Vec<(String, String)>> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let reader = decoder.read_info().map_err(|e| crate::Error::Io {
        path: "<png>".into(),
        source: std::io::Error::other(e),
    })?;
    Ok(reader
        .info()
        .uncompressed_latin1_text
        .iter()
        .map(|t| (t.keyword.clone(), t.text.clone()))
        .collect())
}

/// What made an asset, for its PNG text and its sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The generator, e.g. `sprout gen sprite`.
    pub generator: String,
    /// The seed.
    pub seed: u64,
    /// The model that drew it, where one did (id and weights hash).
    pub model: Option<ModelRef>,
    /// Every parameter that shaped the output (prompt, backend, size, palette...).
    pub parameters: BTreeMap<String, String>,
    /// Input files that shaped it (an init image, a source sprite), hashed into the provenance.
    pub input_bytes: Vec<Vec<u8>>,
}

impl Generated {
    /// The provenance of `output` made this way (created now).
    pub fn provenance(&self, output: &[u8]) -> Provenance {
        let mut inputs = Vec::new();
        for (k, v) in &self.parameters {
            inputs.extend_from_slice(format!("{k}={v}\n").as_bytes());
        }
        inputs.extend_from_slice(format!("seed={}\n", self.seed).as_bytes());
        for bytes in &self.input_bytes {
            inputs.extend_from_slice(sha256_hex(bytes).as_bytes());
        }
        Provenance {
            generator: self.generator.clone(),
            generator_version: env!("CARGO_PKG_VERSION").into(),
            model: self.model.clone(),
            template: None,
            inputs_sha256: sha256_hex(&inputs),
            output_sha256: sha256_hex(output),
            seed: self.seed,
            parameters: self.parameters.clone(),
            created: now_rfc3339(),
        }
    }

    /// Writes `image` to `path` as a PNG whose `tEXt` chunks hold the generator, the seed and
    /// every parameter, then its provenance sidecar; both atomically.
    pub fn write_png(&self, path: &Path, image: &RgbaImage) -> crate::Result<()> {
        self.write_bytes(path, &self.png(image)?)
    }

    /// `image` as a PNG whose `tEXt` chunks hold the generator, the seed and every parameter.
    pub fn png(&self, image: &RgbaImage) -> crate::Result<Vec<u8>> {
        let mut text = vec![
            (
                "Software".to_owned(),
                format!("{} {}", self.generator, env!("CARGO_PKG_VERSION")),
            ),
            ("seed".to_owned(), self.seed.to_string()),
        ];
        text.extend(self.parameters.iter().map(|(k, v)| (k.clone(), v.clone())));
        encode_png_with_text(image, &text)
    }

    /// Writes `bytes` (a `.glb`, a layout...) to `path` and its provenance sidecar, atomically.
    pub fn write_bytes(&self, path: &Path, bytes: &[u8]) -> crate::Result<()> {
        write_with_sidecar(path, bytes, &to_ron(&self.provenance(bytes))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::provenance::sidecar_path;
    use crate::format::parse;
    use image::Rgba;

    #[test]
    fn pngs_carry_their_parameters_and_a_matching_sidecar() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sprites/turnip.png");
        let img = RgbaImage::from_pixel(4, 4, Rgba([10, 200, 30, 255]));
        let generated = Generated {
            generator: "sprout gen sprite".into(),
            seed: 7,
            model: None,
            parameters: BTreeMap::from([("prompt".to_owned(), "a turnip — ripe".to_owned())]),
            input_bytes: vec![],
        };
        generated.write_png(&path, &img).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let text = read_png_text(&bytes).unwrap();
        assert!(
            text.contains(&("seed".to_owned(), "7".to_owned())),
            "{text:?}"
        );
        assert!(
            text.contains(&("prompt".to_owned(), "a turnip ? ripe".to_owned())),
            "{text:?}"
        );
        assert_eq!(image::load_from_memory(&bytes).unwrap().to_rgba8(), img);
        let prov: Provenance =
            parse(&std::fs::read_to_string(sidecar_path(&path)).unwrap()).unwrap();
        assert_eq!(prov.output_sha256, sha256_hex(&bytes));
        assert_eq!(prov.seed, 7);
        assert_eq!(prov.parameters["prompt"], "a turnip — ripe");
    }
}
