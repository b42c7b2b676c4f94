//! Field paths such as `nodes[3].next.Choices[1].condition`: where inside a file a value lives.

use core::fmt;

/// One step into a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A struct field (or a map key written like one).
    Field(String),
    /// An element of a list or tuple.
    Index(usize),
    /// An enum variant (`Choices`, `Goto`, ...).
    Variant(String),
}

/// A path from the top of a file to one value in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The empty path: the whole file.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path followed by a field.
    #[must_use]
    pub fn field(&self, name: &str) -> Self {
        self.with(Segment::Field(name.to_owned()))
    }

    /// This path followed by a list index.
    #[must_use]
    pub fn index(&self, i: usize) -> Self {
        self.with(Segment::Index(i))
    }

    /// This path followed by an enum variant.
    #[must_use]
    pub fn variant(&self, name: &str) -> Self {
        self.with(Segment::Variant(name.to_owned()))
    }

    fn with(&self, s: Segment) -> Self {
        let mut v = self.0.clone();
        v.push(s);
        Self(v)
    }

    /// The steps of the path.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether this is the root path.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Converts a path reported by `serde_path_to_error`.
    pub fn from_serde(path: &serde_path_to_error::Path) -> Self {
        use serde_path_to_error::Segment as S;
        Self(
            path.iter()
                .filter_map(|s| match s {
                    S::Seq { index } => Some(Segment::Index(*index)),
                    S::Map { key } => Some(Segment::Field(key.clone())),
                    S::Enum { variant } => Some(Segment::Variant(variant.clone())),
                    S::Unknown => None,
                })
                .collect(),
        )
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Segment::Field(name) | Segment::Variant(name) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(name)?;
                }
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_a_rust_place_expression() {
        let p = FieldPath::root()
            .field("nodes")
            .index(3)
            .field("next")
            .variant("Choices")
            .index(1)
            .field("condition");
        assert_eq!(p.to_string(), "nodes[3].next.Choices[1].condition");
        assert_eq!(FieldPath::root().to_string(), "");
    }
}
