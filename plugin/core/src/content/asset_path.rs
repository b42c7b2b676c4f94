//! Paths to binary assets (sprites, portraits, meshes) relative to the asset root.
//!
//! An [`AssetPath`] is any safe relative path; where content names a file of a known kind (every
//! sprite, portrait and icon is an image) the field is read with [`image`], which also requires
//! that kind's extension, so `icon: "npcs/ghost.npc.ron"` is rejected where it is parsed and no
//! tool ever writes a PNG over a content file.

use core::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use super::Id;

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

/// What kind of file an asset path names; each kind has one extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssetKind {
    /// A PNG image: sprites, portraits, icons, textures.
    Image,
    /// A binary glTF mesh: props.
    Mesh,
}

impl AssetKind {
    /// The extension files of this kind have, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            AssetKind::Image => "png",
            AssetKind::Mesh => "glb",
        }
    }

    fn wrong_extension(self) -> &'static str {
        match self {
            AssetKind::Image => "an image must be a `.png` file",
            AssetKind::Mesh => "a mesh must be a `.glb` file",
        }
    }
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

    /// Checks `s`, including that it has the extension of `kind`, and wraps it.
    pub fn of_kind(s: impl Into<String>, kind: AssetKind) -> Result<Self, AssetPathError> {
        let path = Self::new(s)?;
        path.check_kind(kind)?;
        Ok(path)
    }

    /// Whether the path has the extension of `kind` (`.png` for an image).
    pub fn is(&self, kind: AssetKind) -> bool {
        Path::new(&self.0).extension().and_then(|e| e.to_str()) == Some(kind.extension())
    }

    /// `Ok` when the path has the extension of `kind`, else the error to report.
    pub fn check_kind(&self, kind: AssetKind) -> Result<(), AssetPathError> {
        if self.is(kind) {
            Ok(())
        } else {
            Err(AssetPathError {
                path: self.0.clone(),
                reason: kind.wrong_extension(),
            })
        }
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

/// Where the art of a piece of content goes by default: the story generator pins these paths in
/// the content it writes and draws placeholders there, and image generators fill them. Valid by
/// construction (an [`Id`] is `[a-z0-9_]`, at most 64 characters).
impl AssetPath {
    /// `portraits/<id>.png`: a character's portrait.
    pub fn portrait_of(id: &Id) -> Self {
        Self(format!("portraits/{id}.png"))
    }

    /// `sprites/npcs/<id>.png`: a character's sprite.
    pub fn npc_sprite_of(id: &Id) -> Self {
        Self(format!("sprites/npcs/{id}.png"))
    }

    /// `sprites/items/<id>.png`: an item's icon.
    pub fn item_icon_of(id: &Id) -> Self {
        Self(format!("sprites/items/{id}.png"))
    }

    /// The variant of this picture for a line tag, beside it: `portraits/sefa.png` with `happy`
    /// is `portraits/sefa.happy.png` (the dialogue box shows it when a line carries the tag and
    /// the file exists).
    pub fn variant(&self, tag: &Id) -> Self {
        // Every asset path ends in a file name with an extension.
        match self.0.rsplit_once('.') {
            Some((stem, ext)) => Self(format!("{stem}.{tag}.{ext}")),
            None => Self(format!("{}.{tag}", self.0)),
        }
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

/// Reads an [`AssetPath`] that must name an image (`.png`): `#[serde(deserialize_with = ...)]`
/// on every sprite, portrait and icon field.
pub(crate) fn image<'de, D: Deserializer<'de>>(deserializer: D) -> Result<AssetPath, D::Error> {
    let s = String::deserialize(deserializer)?;
    AssetPath::of_kind(s, AssetKind::Image).map_err(serde::de::Error::custom)
}

/// [`image`] for an optional field.
pub(crate) fn optional_image<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<AssetPath>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|s| AssetPath::of_kind(s, AssetKind::Image))
        .transpose()
        .map_err(serde::de::Error::custom)
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
    fn default_art_paths_are_valid_images() {
        let id = Id::new("wren").unwrap();
        for (p, want) in [
            (AssetPath::portrait_of(&id), "portraits/wren.png"),
            (AssetPath::npc_sprite_of(&id), "sprites/npcs/wren.png"),
            (AssetPath::item_icon_of(&id), "sprites/items/wren.png"),
        ] {
            assert_eq!(p, AssetPath::of_kind(want, AssetKind::Image).unwrap());
        }
    }

    #[test]
    fn a_variant_sits_beside_its_picture_and_stays_a_valid_image() {
        let happy = Id::new("happy").unwrap();
        let v = AssetPath::portrait_of(&Id::new("sefa").unwrap()).variant(&happy);
        assert_eq!(v.as_str(), "portraits/sefa.happy.png");
        assert_eq!(v, AssetPath::of_kind(v.as_str(), AssetKind::Image).unwrap());
        let dotted = AssetPath::new("v1.2/sefa.png").unwrap().variant(&happy);
        assert_eq!(dotted.as_str(), "v1.2/sefa.happy.png");
    }

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

    #[test]
    fn a_kind_requires_its_extension() {
        assert!(AssetPath::of_kind("sprites/items/a.png", AssetKind::Image).is_ok());
        assert!(AssetPath::of_kind("props/a.glb", AssetKind::Mesh).is_ok());
        for (bad, kind) in [
            ("npcs/ghost.npc.ron", AssetKind::Image),
            ("sprites/items/a.png.ron", AssetKind::Image),
            ("sprites/items/a.glb", AssetKind::Image),
            ("props/a.png", AssetKind::Mesh),
        ] {
            let err = AssetPath::of_kind(bad, kind).unwrap_err();
            assert!(
                err.to_string().starts_with(INVALID_PATH_PREFIX) && err.to_string().contains(bad),
                "{err}"
            );
        }
        // Still a valid path of no particular kind.
        assert!(
            !AssetPath::new("npcs/ghost.npc.ron")
                .unwrap()
                .is(AssetKind::Image)
        );
    }

    #[test]
    fn image_fields_reject_other_kinds_where_they_are_parsed() {
        use crate::format::{ParseErrorKind, parse};
        let item = "Item(\n    id: \"ghost\",\n    name: \"Ghost\",\n    description: \"Boo.\",\n    category: Material,\n    price: 1,\n    icon: \"npcs/ghost.npc.ron\",\n)";
        let err = parse::<crate::content::Item>(item).unwrap_err();
        assert_eq!(err.kind, ParseErrorKind::InvalidPath, "{err}");
        assert_eq!(err.field.unwrap().to_string(), "icon");
        assert_eq!((err.position.line, err.position.col), (7, 11));
        assert!(err.message.contains("npcs/ghost.npc.ron") && err.message.contains(".png"));
        assert!(
            parse::<crate::content::Item>(
                &item.replace("npcs/ghost.npc.ron", "sprites/items/ghost.png")
            )
            .is_ok()
        );

        #[derive(Debug, serde::Deserialize)]
        struct Optional {
            #[serde(default, deserialize_with = "optional_image")]
            sprite: Option<AssetPath>,
        }
        let read = |src: &str| parse::<Optional>(src).map(|o| o.sprite.map(|p| p.to_string()));
        assert_eq!(
            read("(sprite: \"a/b.png\")").unwrap().as_deref(),
            Some("a/b.png")
        );
        assert_eq!(
            read("(sprite: Some(\"a/b.png\"))").unwrap().as_deref(),
            Some("a/b.png")
        );
        assert_eq!(read("()").unwrap(), None);
        assert_eq!(
            read("(sprite: \"props/a.glb\")").unwrap_err().kind,
            ParseErrorKind::InvalidPath
        );
    }
}
