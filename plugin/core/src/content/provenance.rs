//! Provenance sidecars: how a generated file was made, so it can be audited and remade.
//!
//! The sidecar of `dialogue/mira_daily.dialogue.ron` is `dialogue/mira_daily.dialogue.ron.prov.ron`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// File-name suffix of provenance sidecars.
pub const SIDECAR_SUFFIX: &str = ".prov.ron";

/// Where and how a generated file came to be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// What made it, e.g. `sprout placeholder` or `sprout gen dialogue`.
    pub generator: String,
    /// Version of the generator.
    pub generator_version: String,
    /// The model used, if any.
    #[serde(default)]
    pub model: Option<ModelRef>,
    /// The prompt template used, if any.
    #[serde(default)]
    pub template: Option<TemplateRef>,
    /// SHA-256 (hex) of every input that shaped the output (request, context).
    pub inputs_sha256: String,
    /// SHA-256 (hex) of the generated file as written.
    pub output_sha256: String,
    /// Random seed.
    pub seed: u64,
    /// Sampling and generation parameters.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// When it was made, RFC 3339 UTC.
    pub created: String,
}

/// A model by id and content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelRef {
    /// Registry id of the model.
    pub id: String,
    /// SHA-256 (hex) of the weights file.
    pub sha256: String,
}

/// A prompt template by path and content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRef {
    /// Path of the template, relative to the project.
    pub path: String,
    /// SHA-256 (hex) of the template text.
    pub sha256: String,
}

/// The sidecar path for `file`.
pub fn sidecar_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(SIDECAR_SUFFIX);
    file.with_file_name(name)
}

/// The file a sidecar describes, if `sidecar` is named like one.
pub fn sidecar_target(sidecar: &Path) -> Option<PathBuf> {
    let name = sidecar.file_name()?.to_str()?;
    let target = name.strip_suffix(SIDECAR_SUFFIX)?;
    (!target.is_empty()).then(|| sidecar.with_file_name(target))
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        use core::fmt::Write;
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The current time as RFC 3339 UTC, to the second.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_names_round_trip() {
        let f = Path::new("assets/dialogue/mira_daily.dialogue.ron");
        let s = sidecar_path(f);
        assert_eq!(
            s,
            Path::new("assets/dialogue/mira_daily.dialogue.ron.prov.ron")
        );
        assert_eq!(sidecar_target(&s).unwrap(), f);
        assert_eq!(sidecar_target(Path::new("x.ron")), None);
    }

    #[test]
    fn sha256_matches_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
