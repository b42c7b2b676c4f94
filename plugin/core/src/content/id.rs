//! Identifiers: the only names content may use to point at other content.
//!
//! An [`Id`] is 1 to 64 characters of `[a-z0-9_]`. Anything else — upper case, spaces, dots, slashes
//! such as `../../x` — is refused when the file is parsed, so an `Id` can be joined to a folder
//! without ever escaping it.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Longest id accepted, in bytes (ids are ASCII).
pub const ID_MAX_LEN: usize = 64;

/// Start of every message produced by a rejected id; the validator uses it to classify parse errors.
pub(crate) const INVALID_ID_PREFIX: &str = "invalid id";

/// A content identifier: `[a-z0-9_]{1,64}`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Id(String);

/// Why a string is not a valid [`Id`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The string is empty.
    #[error("{INVALID_ID_PREFIX} ``: ids may not be empty")]
    Empty,
    /// The string is longer than [`ID_MAX_LEN`].
    #[error("{INVALID_ID_PREFIX} `{}`: longer than {ID_MAX_LEN} characters", shown(.0))]
    TooLong(String),
    /// The string holds a character outside `[a-z0-9_]`.
    #[error(
        "{INVALID_ID_PREFIX} `{}`: {ch:?} is not allowed, ids use only a-z, 0-9 and _",
        shown(id)
    )]
    BadChar {
        /// The rejected string.
        id: String,
        /// The first offending character.
        ch: char,
    },
}

/// The rejected string as it goes into a message: escaped, and cut short when long.
fn shown(s: &str) -> String {
    let escaped: String = s.escape_debug().collect();
    match escaped.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &escaped[..i]),
        None => escaped,
    }
}

impl Id {
    /// Checks `s` and wraps it.
    pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if let Some(ch) = s
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
        {
            return Err(IdError::BadChar { id: s, ch });
        }
        if s.len() > ID_MAX_LEN {
            return Err(IdError::TooLong(s));
        }
        Ok(Self(s))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl core::borrow::Borrow<str> for Id {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl core::str::FromStr for Id {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Id {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Id".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[a-z0-9_]{1,64}$",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_snake_case() {
        assert_eq!(Id::new("mira_2").unwrap().as_str(), "mira_2");
    }

    #[test]
    fn rejects_hostile_and_odd_ids() {
        assert!(matches!(
            Id::new("../../x"),
            Err(IdError::BadChar { ch: '.', .. })
        ));
        assert!(matches!(
            Id::new("Mira"),
            Err(IdError::BadChar { ch: 'M', .. })
        ));
        assert!(matches!(
            Id::new("a b"),
            Err(IdError::BadChar { ch: ' ', .. })
        ));
        assert!(matches!(Id::new("é"), Err(IdError::BadChar { .. })));
        assert_eq!(Id::new(""), Err(IdError::Empty));
        assert!(matches!(Id::new("a".repeat(65)), Err(IdError::TooLong(_))));
        assert!(Id::new("a".repeat(64)).is_ok());
    }

    #[test]
    fn deserializing_checks_the_id() {
        let err = ron::from_str::<Id>("\"../../x\"").unwrap_err();
        assert!(err.code.to_string().starts_with(INVALID_ID_PREFIX), "{err}");
        assert_eq!(ron::from_str::<Id>("\"ok\"").unwrap().as_str(), "ok");
    }
}
