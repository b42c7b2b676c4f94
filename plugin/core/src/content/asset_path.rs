//! Paths to binary assets (sprites, portraits, meshes) relative to the asset root.

use core::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

/// Start of every message produced by a rejected asset path.
pub(crate) const INVALID_PATH_PREFIX: &str = "invalid asset path";

/// A forward-slash path below the asset root, e.g. `sprites/crops/parsnip_0.png`.
///
/// Segments use `[a-z0-9_.-]`, none is empty, `.` or `..`, and the path is relative, so joining
/// it to the asset root never leaves that root.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AssetPath(String);

/// Why a string is not a valid [`AssetPath`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{INVALID_PATH_PREFIX} `{path}`: {reason}")]
pub struct AssetPathError {
    /// The rejected string.
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl AssetPath {
    /// Checks `s` and wraps it.
    pub fn new(s: impl Into<String>) -> Result<Self, AssetPathError> {
        let path = s.into();
        let fail = |reason| {
            Err(AssetPathError {
                path: path.clone(),
                reason,
            })
        };
        if path.is_empty() {
            return fail("it is empty");
        }
        if path.len() > 200 {
            return fail("longer than 200 characters");
        }
        if path.starts_with('/') {
            return fail("it must be relative to the asset root");
        }
        for segment in path.split('/') {
            if segment.is_empty() {
                return fail("it has an empty segment");
            }
            if segment == "." || segment == ".." {
                return fail("`.` and `..` segments are not allowed");
            }
            if !segment
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))
            {
                return fail("segments may only use a-z, 0-9, `_`, `-` and `.`");
            }
        }
        if Path::new(&path).extension().is_none() {
            return fail("it has no file extension");
        }
        Ok(Self(path))
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file this path names below `root`.
    pub fn under(&self, root: &Path) -> PathBuf {
        root.join(&self.0)
    }
}

impl fmt::Display for AssetPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AssetPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl<'de> Deserialize<'de> for AssetPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for AssetPath {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AssetPath".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[a-z0-9_.-]+(/[a-z0-9_.-]+)*$",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_nested_relative_paths() {
        let p = AssetPath::new("sprites/crops/parsnip_0.png").unwrap();
        assert_eq!(
            p.under(Path::new("/a")),
            Path::new("/a/sprites/crops/parsnip_0.png")
        );
    }

    #[test]
    fn rejects_escapes_and_oddities() {
        for bad in [
            "../x.png",
            "a/../../x.png",
            "/etc/passwd.png",
            "a//b.png",
            "a\\b.png",
            "A.png",
            "noext",
            "./a.png",
            "",
        ] {
            assert!(AssetPath::new(bad).is_err(), "{bad} accepted");
        }
    }
}
