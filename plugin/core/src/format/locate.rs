//! Finds where a [`FieldPath`] lives in RON source text, so errors found after parsing (a dangling
//! jump, an unknown item) can still name a line and column.
//!
//! This is a small, forgiving RON reader that keeps byte offsets: it only runs on text that has
//! already parsed, and on anything unexpected it returns the deepest position it reached.

use super::path::{FieldPath, Segment};

/// A line and column, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub col: usize,
}

impl Position {
    /// The position of byte `offset` in `src`.
    pub fn of_offset(src: &str, offset: usize) -> Self {
        let offset = floor_char_boundary(src, offset.min(src.len()));
        let before = &src[..offset];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = src[line_start..offset].chars().count() + 1;
        Self { line, col }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The position of the value at `path` in `src`, or of the deepest enclosing value found.
pub fn locate(src: &str, path: &FieldPath) -> Position {
    let mut reader = Reader {
        src: src.as_bytes(),
        pos: 0,
    };
    let root = reader.value(0);
    Position::of_offset(src, resolve(&root, path.segments()))
}

#[derive(Debug)]
struct Node {
    start: usize,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Scalar,
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
    Struct {
        name: Option<String>,
        fields: Vec<(String, Node)>,
    },
    Tuple {
        name: Option<String>,
        items: Vec<Node>,
    },
}

fn resolve(node: &Node, segs: &[Segment]) -> usize {
    let Some((seg, rest)) = segs.split_first() else {
        return node.start;
    };
    let child = match (seg, &node.kind) {
        (Segment::Field(f), Kind::Struct { fields, .. })
        | (Segment::Field(f), Kind::Map(fields)) => {
            fields.iter().find(|(k, _)| k == f).map(|(_, v)| (v, rest))
        }
        (Segment::Index(i), Kind::Seq(items)) => items.get(*i).map(|v| (v, rest)),
        (Segment::Index(i), Kind::Tuple { items, .. }) if items.len() != 1 => {
            items.get(*i).map(|v| (v, rest))
        }
        (
            Segment::Variant(v),
            Kind::Struct { name: Some(n), .. } | Kind::Tuple { name: Some(n), .. },
        ) if n == v => {
            return resolve_inside_variant(node, rest);
        }
        // A one-item tuple (`Some(x)`, `Goto(x)`, `Choices([..])`) is see-through.
        (_, Kind::Tuple { items, .. }) if items.len() == 1 => Some((&items[0], segs)),
        _ => None,
    };
    match child {
        Some((n, rest)) => resolve(n, rest),
        None => node.start,
    }
}

fn resolve_inside_variant(node: &Node, rest: &[Segment]) -> usize {
    if rest.is_empty() {
        return node.start;
    }
    match &node.kind {
        Kind::Tuple { items, .. } if items.len() == 1 => resolve(&items[0], rest),
        _ => resolve(node, rest),
    }
}

struct Reader<'a> {
    src: &'a [u8],
    pos: usize,
}

const MAX_DEPTH: usize = 128;

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        loop {
            match self.peek() {
                Some(b) if b.is_ascii_whitespace() => self.pos += 1,
                Some(b'/') if self.src.get(self.pos + 1) == Some(&b'/') => {
                    while self.peek().is_some_and(|b| b != b'\n') {
                        self.pos += 1;
                    }
                }
                Some(b'/') if self.src.get(self.pos + 1) == Some(&b'*') => {
                    self.pos += 2;
                    let mut depth = 1;
                    while depth > 0 && self.pos < self.src.len() {
                        if self.src[self.pos..].starts_with(b"/*") {
                            depth += 1;
                            self.pos += 2;
                        } else if self.src[self.pos..].starts_with(b"*/") {
                            depth -= 1;
                            self.pos += 2;
                        } else {
                            self.pos += 1;
                        }
                    }
                }
                Some(b'#') if self.src.get(self.pos + 1) == Some(&b'!') => {
                    while self.peek().is_some_and(|b| b != b']') {
                        self.pos += 1;
                    }
                    self.pos += 1;
                }
                _ => return,
            }
        }
    }

    fn value(&mut self, depth: usize) -> Node {
        self.skip_ws();
        let start = self.pos;
        if depth > MAX_DEPTH {
            self.pos = self.src.len();
            return Node {
                start,
                kind: Kind::Scalar,
            };
        }
        let kind = match self.peek() {
            Some(b'[') => {
                self.pos += 1;
                Kind::Seq(self.items(b']', depth))
            }
            Some(b'{') => {
                self.pos += 1;
                Kind::Map(self.map_entries(depth))
            }
            Some(b'(') => self.paren(None, depth),
            Some(b'"') => {
                self.string();
                Kind::Scalar
            }
            Some(b'r') if matches!(self.src.get(self.pos + 1), Some(b'"' | b'#')) => {
                self.raw_string();
                Kind::Scalar
            }
            Some(b'\'') => {
                self.pos += 1;
                if self.peek() == Some(b'\\') {
                    self.pos += 1;
                }
                while self.peek().is_some_and(|b| b != b'\'') {
                    self.pos += 1;
                }
                self.pos += 1;
                Kind::Scalar
            }
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => {
                let name = self.ident();
                self.skip_ws();
                if self.peek() == Some(b'(') {
                    self.paren(Some(name), depth)
                } else {
                    Kind::Scalar
                }
            }
            Some(_) => {
                while self
                    .peek()
                    .is_some_and(|b| !b.is_ascii_whitespace() && !b",)]}".contains(&b))
                {
                    self.pos += 1;
                }
                if self.pos == start {
                    self.pos += 1;
                }
                Kind::Scalar
            }
            None => Kind::Scalar,
        };
        Node { start, kind }
    }

    fn ident(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.src[start..self.pos]).into_owned()
    }

    fn string(&mut self) -> String {
        self.pos += 1;
        let start = self.pos;
        while let Some(b) = self.peek() {
            match b {
                b'\\' => self.pos += 2,
                b'"' => break,
                _ => self.pos += 1,
            }
        }
        let end = self.pos.min(self.src.len());
        // Past the closing quote, or at the end of an unterminated string (never beyond it:
        // callers slice up to `pos`).
        self.pos = (end + 1).min(self.src.len());
        String::from_utf8_lossy(&self.src[start..end]).into_owned()
    }

    fn raw_string(&mut self) {
        self.pos += 1;
        let mut hashes = 0;
        while self.peek() == Some(b'#') {
            hashes += 1;
            self.pos += 1;
        }
        self.pos += 1;
        let mut closing = vec![b'"'];
        closing.extend(std::iter::repeat_n(b'#', hashes));
        while self.pos < self.src.len() && !self.src[self.pos..].starts_with(&closing) {
            self.pos += 1;
        }
        self.pos = (self.pos + closing.len()).min(self.src.len());
    }

    /// After `(`: a struct body if it starts with `ident:`, else a tuple body.
    fn paren(&mut self, name: Option<String>, depth: usize) -> Kind {
        self.pos += 1;
        self.skip_ws();
        let save = self.pos;
        let is_struct = if self
            .peek()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        {
            self.ident();
            self.skip_ws();
            self.peek() == Some(b':') && self.src.get(self.pos + 1) != Some(&b':')
        } else {
            false
        };
        self.pos = save;
        if is_struct {
            let mut fields = Vec::new();
            loop {
                self.skip_ws();
                match self.peek() {
                    None => break,
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => {}
                }
                let before = self.pos;
                let key = self.ident();
                self.skip_ws();
                if self.peek() == Some(b':') {
                    self.pos += 1;
                }
                let v = self.value(depth + 1);
                fields.push((key, v));
                self.skip_ws();
                if self.peek() == Some(b',') {
                    self.pos += 1;
                }
                if self.pos == before {
                    self.pos += 1;
                }
            }
            Kind::Struct { name, fields }
        } else {
            Kind::Tuple {
                name,
                items: self.items(b')', depth),
            }
        }
    }

    fn items(&mut self, close: u8, depth: usize) -> Vec<Node> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => break,
                Some(b) if b == close => {
                    self.pos += 1;
                    break;
                }
                _ => {}
            }
            let before = self.pos;
            items.push(self.value(depth + 1));
            self.skip_ws();
            if self.peek() == Some(b',') {
                self.pos += 1;
            }
            if self.pos == before {
                self.pos += 1;
            }
        }
        items
    }

    fn map_entries(&mut self, depth: usize) -> Vec<(String, Node)> {
        let mut entries = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => break,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => {}
            }
            let before = self.pos;
            let key = if self.peek() == Some(b'"') {
                self.string()
            } else {
                let k = self.value(depth + 1);
                String::from_utf8_lossy(&self.src[k.start..self.pos])
                    .trim()
                    .to_owned()
            };
            self.skip_ws();
            if self.peek() == Some(b':') {
                self.pos += 1;
            }
            entries.push((key, self.value(depth + 1)));
            self.skip_ws();
            if self.peek() == Some(b',') {
                self.pos += 1;
            }
            if self.pos == before {
                self.pos += 1;
            }
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"// a comment
DialogueTree(
    id: "t",
    nodes: [
        (id: "a", next: Goto("b")),
        (
            id: "b", /* inline */
            next: Choices([
                (line: "line_c1", text: "x", next: End),
                (line: "line_c2", text: "y", condition: Some(Flag("f")), next: Goto("a")),
            ]),
        ),
    ],
    params: { "k": "v" },
)
"#;

    fn at(path: FieldPath) -> (usize, usize) {
        let p = locate(SRC, &path);
        (p.line, p.col)
    }

    #[test]
    fn finds_fields_indices_and_variants() {
        let r = FieldPath::root();
        assert_eq!(at(r.field("id")), (3, 9));
        assert_eq!(at(r.field("nodes").index(0).field("next")), (5, 25));
        let choices = r.field("nodes").index(1).field("next").variant("Choices");
        assert_eq!(at(choices.index(1).field("next")), (10, 80));
        // Without the variant segment the one-item tuple is see-through.
        let plain = r
            .field("nodes")
            .index(1)
            .field("next")
            .index(1)
            .field("condition");
        assert_eq!(at(plain), (10, 57));
        assert_eq!(at(r.field("params").field("k")), (14, 20));
    }

    #[test]
    fn missing_paths_stop_at_the_deepest_match() {
        let r = FieldPath::root();
        assert_eq!(at(r.field("nodes").index(7)), (4, 12));
        assert_eq!(at(r.field("nope")), (2, 1));
    }

    #[test]
    fn never_panics_on_garbage() {
        for src in [
            "",
            "(",
            "[[[",
            "\"unterminated",
            "r#\"x",
            "(a: ",
            "é(ü: [",
            "/* open",
            // An unterminated string or raw string as a map key (found by the content fuzz:
            // the key's slice ran past the end).
            "{r#\"x",
            "{(\"x\\",
            "{\"a\\",
            "{[r\"",
        ] {
            let _ = locate(src, &FieldPath::root().field("a").index(2));
        }
    }
}
