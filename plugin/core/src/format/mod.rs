//! Reading and writing content as RON, with errors that say where.

mod locate;
mod path;

use core::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use locate::{Position, locate};
pub use path::{FieldPath, Segment};

use crate::content::asset_path::INVALID_PATH_PREFIX;
use crate::content::id::INVALID_ID_PREFIX;

/// The RON options every Sprout file is read and written with: `Some(..)` may be left out.
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}

/// What went wrong while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParseErrorKind {
    /// Not RON, or not the shape of the content type.
    Syntax,
    /// An id outside `[a-z0-9_]{1,64}`.
    InvalidId,
    /// An asset path that is absolute, escapes the root or uses odd characters.
    InvalidPath,
}

/// A parse failure with its place in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// What kind of failure.
    pub kind: ParseErrorKind,
    /// Where it was noticed.
    pub position: Position,
    /// The field being read, where serde knows it.
    pub field: Option<FieldPath>,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.position.line, self.position.col)?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Parses one content value from RON text.
pub fn parse<T: DeserializeOwned>(src: &str) -> Result<T, ParseError> {
    let options = ron_options();
    let mut de = ron::Deserializer::from_str_with_options(src, &options)
        .map_err(|e| from_spanned(src, e, None))?;
    let result = serde_path_to_error::deserialize::<_, T>(&mut de);
    let value = match result {
        Ok(v) => v,
        Err(e) => {
            let field = FieldPath::from_serde(e.path());
            let spanned = de.span_error(e.into_inner());
            return Err(from_spanned(src, spanned, Some(field)));
        }
    };
    de.end()
        .map_err(|e| from_spanned(src, de.span_error(e), None))?;
    Ok(value)
}

fn from_spanned(src: &str, e: ron::error::SpannedError, field: Option<FieldPath>) -> ParseError {
    let message = e.code.to_string();
    let kind = if message.starts_with(INVALID_ID_PREFIX) {
        ParseErrorKind::InvalidId
    } else if message.starts_with(INVALID_PATH_PREFIX) {
        ParseErrorKind::InvalidPath
    } else {
        ParseErrorKind::Syntax
    };
    let field = field.filter(|f| !f.is_root());
    // Value errors (a bad id, a wrong variant) are found after the value was read: point at the
    // value itself rather than at whatever follows it.
    let position = match (&field, kind) {
        (Some(f), ParseErrorKind::InvalidId | ParseErrorKind::InvalidPath) => locate(src, f),
        _ => Position {
            line: e.span.start.line,
            col: e.span.start.col,
        },
    };
    ParseError {
        kind,
        position,
        field,
        message,
    }
}

/// Serializes a content value as pretty RON, the way Sprout writes every file.
pub fn to_ron<T: Serialize>(value: &T) -> Result<String, ron::Error> {
    let pretty = ron::ser::PrettyConfig::new()
        .indentor("    ")
        .struct_names(true)
        .new_line("\n");
    let mut out = ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .to_string_pretty(value, pretty)?;
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{Id, Item};

    #[test]
    fn hostile_id_is_an_invalid_id_error_at_the_value() {
        let src = "Item(\n    id: \"../../x\",\n    name: \"X\",\n)";
        let err = parse::<Item>(src).unwrap_err();
        assert_eq!(err.kind, ParseErrorKind::InvalidId);
        assert_eq!(err.field.unwrap().to_string(), "id");
        assert_eq!((err.position.line, err.position.col), (2, 9));
    }

    #[test]
    fn unknown_field_names_the_field() {
        let src = "Item(id: \"a\", nmae: \"A\")";
        let err = parse::<Item>(src).unwrap_err();
        assert_eq!(err.kind, ParseErrorKind::Syntax);
        assert!(err.message.contains("nmae"), "{err}");
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        let err = parse::<Id>("\"a\" \"b\"").unwrap_err();
        assert_eq!(err.kind, ParseErrorKind::Syntax);
    }
}
