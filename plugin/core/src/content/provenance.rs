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

/// The marker that a write of `file` and its sidecar is under way: `.{name}.pending` beside it
/// (a dot file, so watchers and the validator never see it).
pub fn pending_path(file: &Path) -> PathBuf {
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    file.with_file_name(format!(".{name}.pending"))
}

/// Writes a generated file and its provenance sidecar as one unit. They are two files, so two
/// renames; a crash between them must not leave a new sidecar beside an old file (which would read
/// as "edited by hand since it was generated", and be kept forever) nor a new file with no sidecar
/// ("hand-written"). So: a `pending` marker first, then the sidecar, then the file, each atomic,
/// then the marker removed. A marker found later ([`write_interrupted`]) says the pair is torn and
/// may be remade.
pub fn write_with_sidecar(file: &Path, bytes: &[u8], sidecar: &str) -> crate::Result<()> {
    let marker = pending_path(file);
    crate::fs::write_atomic(&marker, sha256_hex(bytes).as_bytes())?;
    crate::fs::write_atomic(&sidecar_path(file), sidecar.as_bytes())?;
    crate::fs::write_atomic(file, bytes)?;
    std::fs::remove_file(&marker).map_err(|source| crate::Error::Io {
        path: marker.clone(),
        source,
    })
}

/// Whether a [`write_with_sidecar`] of `file` was cut short (its marker is still there): the file
/// and its sidecar may not match, and neither is a person's work.
pub fn write_interrupted(file: &Path) -> bool {
    pending_path(file).is_file()
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
    fn a_pair_write_leaves_no_marker_and_a_torn_one_is_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("items/a.item.ron");
        write_with_sidecar(&f, b"(id: \"a\")", "(generator: \"x\")").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"(id: \"a\")");
        assert!(sidecar_path(&f).is_file());
        assert!(!write_interrupted(&f));
        // A crash after the sidecar and before the file: the marker stays.
        crate::fs::write_atomic(&pending_path(&f), b"sha").unwrap();
        assert!(write_interrupted(&f));
        write_with_sidecar(&f, b"(id: \"b\")", "(generator: \"y\")").unwrap();
        assert!(!write_interrupted(&f));
    }

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
