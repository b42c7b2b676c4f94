//! The bounded reader under the header check: every read and skip is measured against the file's
//! length first, long strings and big arrays are skipped rather than read, and a metadata value
//! is kept only as far as the check looks at it ([`Meta`]).

use std::io::{Read, Seek};
use std::path::Path;

use super::{KEEP_STRING, MAX_ARRAY_DEPTH, MAX_ARRAY_ELEMENTS, MAX_STRING};
use crate::llm::{Error, Result};

/// A metadata value as far as the check keeps it.
#[derive(Debug, Clone)]
pub(super) enum Meta {
    /// Any integer, with its GGUF type id.
    Int(u32, i128),
    Float,
    Bool,
    /// A string; `None` when longer than [`KEEP_STRING`] (skipped, not read).
    Str(Option<String>),
    /// An array: element type id and length.
    Array(u32, u64),
}

impl Meta {
    pub(super) fn describe(&self) -> String {
        match self {
            Meta::Int(_, v) => format!("{v}"),
            Meta::Float => "a float".into(),
            Meta::Bool => "a bool".into(),
            Meta::Str(_) => "a string".into(),
            Meta::Array(_, n) => format!("an array of {n}"),
        }
    }
}

/// A field name, made only when an error needs it.
pub(super) type Field<'f> = dyn Fn() -> String + 'f;

/// A bounded reader: every read and skip is checked against the file's length first.
pub(super) struct Scan<'p, R> {
    pub(super) r: R,
    pub(super) pos: u64,
    pub(super) len: u64,
    pub(super) path: &'p Path,
    /// GGUF v1 stores lengths as u32.
    pub(super) v1: bool,
    /// Array elements read so far.
    pub(super) elements: u64,
}

impl<R> Scan<'_, R> {
    pub(super) fn bad(&self, field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::BadModelFile {
            path: self.path.to_owned(),
            field: field.into(),
            message: message.into(),
        }
    }

    pub(super) fn remaining(&self) -> u64 {
        self.len - self.pos
    }

    /// Fails unless `n` more bytes are in the file.
    fn need(&self, n: u64, field: &Field<'_>) -> Result<()> {
        if n > self.remaining() {
            return Err(self.bad(
                field(),
                format!(
                    "is cut off: the file ends at byte {}; it is truncated: delete it and pull the model again",
                    self.len
                ),
            ));
        }
        Ok(())
    }
}

impl<R: Read + Seek> Scan<'_, R> {
    pub(super) fn take<const N: usize>(&mut self, field: &Field<'_>) -> Result<[u8; N]> {
        self.need(N as u64, field)?;
        let mut b = [0u8; N];
        self.r.read_exact(&mut b).map_err(Error::io(self.path))?;
        self.pos += N as u64;
        Ok(b)
    }

    pub(super) fn u32(&mut self, field: &Field<'_>) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(field)?))
    }

    pub(super) fn u64(&mut self, field: &Field<'_>) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(field)?))
    }

    /// A length prefix (u32 in GGUF v1, u64 after).
    pub(super) fn length(&mut self, field: &Field<'_>) -> Result<u64> {
        if self.v1 {
            Ok(u64::from(self.u32(field)?))
        } else {
            self.u64(field)
        }
    }

    fn skip(&mut self, n: u64, field: &Field<'_>) -> Result<()> {
        self.need(n, field)?;
        let mut left = n;
        while left > 0 {
            let step = left.min(i64::MAX as u64);
            self.r
                .seek_relative(step as i64)
                .map_err(Error::io(self.path))?;
            left -= step;
        }
        self.pos += n;
        Ok(())
    }

    /// A length-prefixed string of at most `max` bytes: read when it has at most `keep` bytes,
    /// else skipped (`None`).
    pub(super) fn string(
        &mut self,
        field: &Field<'_>,
        max: u64,
        keep: u64,
    ) -> Result<Option<String>> {
        let n = self.length(field)?;
        if n > max || n > self.remaining() {
            return Err(self.bad(
                field(),
                format!(
                    "has a length of {n} bytes but {}",
                    if n > max {
                        format!("at most {max} are allowed")
                    } else {
                        format!("only {} bytes remain in the file", self.remaining())
                    }
                ),
            ));
        }
        if n > keep {
            self.skip(n, field)?;
            return Ok(None);
        }
        let mut b = vec![0u8; n as usize];
        self.r.read_exact(&mut b).map_err(Error::io(self.path))?;
        self.pos += n;
        // As candle does: trailing NULs dropped, invalid UTF-8 replaced.
        while b.last() == Some(&0) {
            b.pop();
        }
        Ok(Some(String::from_utf8_lossy(&b).into_owned()))
    }

    /// A value of GGUF type `ty`.
    pub(super) fn value(&mut self, ty: u32, depth: usize, field: &Field<'_>) -> Result<Meta> {
        Ok(match ty {
            0 => Meta::Int(ty, i128::from(self.take::<1>(field)?[0])),
            1 => Meta::Int(ty, i128::from(i8::from_le_bytes(self.take(field)?))),
            2 => Meta::Int(ty, i128::from(u16::from_le_bytes(self.take(field)?))),
            3 => Meta::Int(ty, i128::from(i16::from_le_bytes(self.take(field)?))),
            4 => Meta::Int(ty, i128::from(self.u32(field)?)),
            5 => Meta::Int(ty, i128::from(i32::from_le_bytes(self.take(field)?))),
            6 => {
                self.take::<4>(field)?;
                Meta::Float
            }
            7 => match self.take::<1>(field)?[0] {
                0 | 1 => Meta::Bool,
                b => {
                    return Err(
                        self.bad(field(), format!("is a bool stored as {b}; must be 0 or 1"))
                    );
                }
            },
            8 => Meta::Str(self.string(field, MAX_STRING, KEEP_STRING)?),
            9 => {
                let elem = self.u32(field)?;
                let n = self.length(field)?;
                self.array(elem, n, depth, field)?;
                Meta::Array(elem, n)
            }
            10 => Meta::Int(ty, i128::from(self.u64(field)?)),
            11 => Meta::Int(ty, i128::from(i64::from_le_bytes(self.take(field)?))),
            12 => {
                self.take::<8>(field)?;
                Meta::Float
            }
            _ => {
                return Err(self.bad(
                    field(),
                    format!("has value type {ty}, which is not a GGUF type"),
                ));
            }
        })
    }

    /// Skips an array of `n` elements of type `elem`, checking each variable-sized one.
    fn array(&mut self, elem: u32, n: u64, depth: usize, field: &Field<'_>) -> Result<()> {
        if depth >= MAX_ARRAY_DEPTH {
            return Err(self.bad(
                field(),
                format!("nests arrays deeper than {MAX_ARRAY_DEPTH}"),
            ));
        }
        let prefix = if self.v1 { 4 } else { 8 };
        let size = match elem {
            0 | 1 | 7 => 1,
            2 | 3 => 2,
            4..=6 => 4,
            10..=12 => 8,
            8 => prefix,
            9 => 4 + prefix,
            _ => {
                return Err(self.bad(
                    field(),
                    format!("is an array of value type {elem}, which is not a GGUF type"),
                ));
            }
        };
        let needed = n.saturating_mul(size);
        if needed > self.remaining() {
            return Err(self.bad(
                field(),
                format!(
                    "is an array of {n} elements, which needs at least {needed} bytes, but only {} remain in the file",
                    self.remaining()
                ),
            ));
        }
        self.elements += n;
        if self.elements > MAX_ARRAY_ELEMENTS {
            return Err(self.bad(
                field(),
                format!(
                    "is an array of {n} elements, which brings the header to {}; at most {MAX_ARRAY_ELEMENTS} are allowed",
                    self.elements
                ),
            ));
        }
        match elem {
            8 => {
                for _ in 0..n {
                    self.string(field, MAX_STRING, 0)?;
                }
            }
            // Bools are checked one by one (candle refuses any byte but 0 and 1).
            7 | 9 => {
                for _ in 0..n {
                    self.value(elem, depth + 1, field)?;
                }
            }
            _ => self.skip(needed, field)?,
        }
        Ok(())
    }
}
