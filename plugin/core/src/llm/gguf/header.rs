//! The GGUF header check: Sprout reads a model file's header itself, with every count, length and
//! hyper-parameter bounded, before candle's reader or an engine trusts any of it.
//!
//! A file that lies about itself (an alignment of 0, no attention heads, four billion layers, a
//! tensor past the end, a string of 2^60 bytes) ends in [`Error::BadModelFile`] naming the file and
//! the field, never in a division by zero inside candle or an allocation the machine cannot make.
//! Large strings and arrays are skipped, not read, so the check costs milliseconds even for a model
//! of gigabytes.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use crate::llm::{Error, Result};

/// Most tensors a file may declare.
pub(crate) const MAX_TENSORS: u64 = 1 << 16;
/// Most metadata entries a file may declare.
pub(crate) const MAX_METADATA: u64 = 1 << 16;
/// Longest metadata key or tensor name, in bytes (the GGUF limit for keys).
pub(crate) const MAX_NAME: u64 = (1 << 16) - 1;
/// Longest string value, in bytes (candle's and llama.cpp's limit).
pub(crate) const MAX_STRING: u64 = 1 << 30;
/// Most array elements in one header, all arrays together (a tokenizer of 256k tokens has under a
/// million): candle holds each in 32 bytes, so this bounds its memory at 512 MiB.
pub(crate) const MAX_ARRAY_ELEMENTS: u64 = 1 << 24;
/// Deepest nesting of arrays.
pub(crate) const MAX_ARRAY_DEPTH: usize = 8;
/// Most dimensions of a tensor.
pub(crate) const MAX_DIMS: u32 = 4;
/// Largest `general.alignment`.
pub(crate) const MAX_ALIGNMENT: u64 = 1 << 16;
/// Most layers (`*.block_count`).
pub(crate) const MAX_BLOCKS: u64 = 1024;
/// Largest hidden size (`*.embedding_length`).
pub(crate) const MAX_EMBEDDING: u64 = 1 << 16;
/// Largest feed-forward size (`*.feed_forward_length`).
pub(crate) const MAX_FEED_FORWARD: u64 = 1 << 20;
/// Most attention heads.
pub(crate) const MAX_HEADS: u64 = 1 << 10;
/// Longest context (`*.context_length`).
pub(crate) const MAX_CONTEXT: u64 = 1 << 20;
/// Largest vocabulary (`*.vocab_size`, `tokenizer.ggml.tokens`).
pub(crate) const MAX_VOCAB: u64 = 1 << 21;
/// Most experts of a mixture-of-experts model.
pub(crate) const MAX_EXPERTS: u64 = 256;

/// The default alignment of the tensor data.
const DEFAULT_ALIGNMENT: u64 = 32;
/// String values longer than this are skipped, not kept (only short ones are ever looked at).
const KEEP_STRING: u64 = 256;

/// What [`check`] found in a well-formed header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Header {
    /// GGUF version (1, 2 or 3).
    pub version: u32,
    /// `general.architecture`.
    pub architecture: String,
    /// How many tensors.
    pub tensors: usize,
    /// How many metadata entries.
    pub metadata: usize,
    /// The alignment of the tensor data.
    pub alignment: u64,
    /// Where the tensor data starts.
    pub data_offset: u64,
}

/// Checks the header of the GGUF file at `path`: magic and version; counts, string and array
/// lengths against what the file size allows; `general.alignment`; each tensor's dimensions,
/// type and extent; the architecture's hyper-parameters (`check_hyperparameters`).
///
/// Cheap (it skips the tensor data and long strings), so `sprout models list` runs it on every
/// model; [`GgufFile::open`](super::GgufFile::open) runs it before candle reads the file.
pub fn check(path: &Path) -> Result<Header> {
    let file = File::open(path).map_err(Error::io(path))?;
    let len = file.metadata().map_err(Error::io(path))?.len();
    check_reader(BufReader::new(file), len, path)
}

/// [`check`] over `reader`, positioned at the start of a file of `len` bytes.
pub(crate) fn check_reader<R: Read + Seek>(reader: R, len: u64, path: &Path) -> Result<Header> {
    let mut s = Scan {
        r: reader,
        pos: 0,
        len,
        path,
        v1: false,
        elements: 0,
    };
    if len < 4 || s.take::<4>(&|| String::new())? != *b"GGUF" {
        return Err(Error::BadModel {
            path: path.to_owned(),
            message: format!(
                "the file does not start with `GGUF` ({len} bytes); it is not a GGUF model"
            ),
        });
    }
    let version = s.u32(&|| "version".into())?;
    if !(1..=3).contains(&version) {
        return Err(s.bad(
            "version",
            format!("is {version}; Sprout reads GGUF versions 1 to 3"),
        ));
    }
    s.v1 = version == 1;
    let tensor_count = s.length(&|| "tensor count".into())?;
    let metadata_count = s.length(&|| "metadata count".into())?;
    // Each entry takes at least a length prefix and a few fixed fields.
    let prefix = if s.v1 { 4 } else { 8 };
    let (min_tensor, min_kv) = (prefix + 4 + 4 + 8, prefix + 4 + 1);
    let room = s.remaining();
    if tensor_count > MAX_TENSORS || tensor_count.saturating_mul(min_tensor) > room {
        return Err(s.bad(
            "tensor count",
            format!(
                "is {tensor_count}; the file ({len} bytes) has room for at most {}: it is truncated, or the count is wrong",
                (room / min_tensor).min(MAX_TENSORS)
            ),
        ));
    }
    let room = room - tensor_count * min_tensor;
    if metadata_count > MAX_METADATA || metadata_count.saturating_mul(min_kv) > room {
        return Err(s.bad(
            "metadata count",
            format!(
                "is {metadata_count}; the file ({len} bytes) has room for at most {}: it is truncated, or the count is wrong",
                (room / min_kv).min(MAX_METADATA)
            ),
        ));
    }

    let mut metadata: HashMap<String, Meta> = HashMap::new();
    for i in 0..metadata_count {
        let key = s
            .string(&|| format!("metadata key {i}"), MAX_NAME, MAX_NAME)?
            .unwrap_or_default();
        let label = match readable(&key) {
            Some(k) => k.to_owned(),
            None => format!("metadata key {i} ({:?})", cut_short(&key)),
        };
        if metadata.contains_key(&key) {
            return Err(s.bad(label, "appears twice"));
        }
        let field = || label.clone();
        let ty = s.u32(&field)?;
        let value = s.value(ty, 0, &field)?;
        metadata.insert(key, value);
    }

    let mut tensors: Vec<Tensor> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    for i in 0..tensor_count {
        let name = s
            .string(&|| format!("tensor {i} name"), MAX_NAME, MAX_NAME)?
            .unwrap_or_default();
        let label = match readable(&name) {
            Some(n) => format!("tensor `{n}`"),
            None => format!("tensor {i} ({:?})", cut_short(&name)),
        };
        let field = || label.clone();
        if !names.insert(name.clone()) {
            return Err(s.bad(field(), "appears twice"));
        }
        let n_dims = s.u32(&field)?;
        if n_dims > MAX_DIMS {
            return Err(s.bad(
                field(),
                format!("has {n_dims} dimensions; GGUF allows at most {MAX_DIMS}"),
            ));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(if s.v1 {
                u64::from(s.u32(&field)?)
            } else {
                s.u64(&field)?
            });
        }
        let type_id = s.u32(&field)?;
        let Some((block, type_size)) = block_layout(type_id) else {
            return Err(s.bad(
                field(),
                format!("has type id {type_id}, which Sprout cannot read"),
            ));
        };
        let offset = s.u64(&field)?;
        tensors.push(Tensor {
            name,
            label,
            dims,
            block,
            type_size,
            offset,
        });
    }

    let alignment = alignment(&s, metadata.get("general.alignment"))?;
    let data_offset = s.pos.div_ceil(alignment) * alignment;
    for t in &tensors {
        t.check(&s, data_offset, alignment)?;
    }

    let architecture = match metadata.get("general.architecture") {
        None => return Err(s.bad("general.architecture", "is missing")),
        Some(Meta::Str(Some(a))) => a.clone(),
        Some(Meta::Str(None)) => {
            return Err(s.bad(
                "general.architecture",
                format!("is longer than {KEEP_STRING} bytes"),
            ));
        }
        Some(other) => {
            return Err(s.bad(
                "general.architecture",
                format!("is {}; must be a string", other.describe()),
            ));
        }
    };
    match metadata.get("tokenizer.ggml.tokens") {
        None | Some(Meta::Array(8, 1..=MAX_VOCAB)) => {}
        Some(Meta::Array(8, n)) => {
            return Err(s.bad(
                "tokenizer.ggml.tokens",
                format!("holds {n} tokens; must be at least 1 and at most {MAX_VOCAB}"),
            ));
        }
        Some(other) => {
            return Err(s.bad(
                "tokenizer.ggml.tokens",
                format!("is {}; must be an array of strings", other.describe()),
            ));
        }
    }
    let get = |key: &str| {
        metadata.get(key).map(|m| match m {
            Meta::Int(_, v) => u64::try_from(*v).map_err(|_| format!("{v}")),
            other => Err(other.describe()),
        })
    };
    check_hyperparameters(
        path,
        &architecture,
        &get,
        tensors.iter().map(|t| t.name.as_str()),
    )?;

    Ok(Header {
        version,
        architecture,
        tensors: tensors.len(),
        metadata: metadata.len(),
        alignment,
        data_offset,
    })
}

/// How a metadata value reads a key: `None` when absent, `Err` with what it is (a negative
/// number, a string...) when it is not an unsigned integer.
pub(crate) type Lookup<'a> = dyn Fn(&str) -> Option<core::result::Result<u64, String>> + 'a;

/// Checks the hyper-parameters of `arch` (`{arch}.embedding_length`, `.attention.head_count`,
/// `.block_count`, ...) that are present: each within its bound, head counts at least 1 and
/// dividing what they split, the layers those the `tensors` hold (`blk.0` to `blk.{n-1}`).
///
/// Missing keys are the engines' to report; this only refuses values that would divide by zero,
/// overflow or allocate without bound.
pub(crate) fn check_hyperparameters<'n>(
    path: &Path,
    arch: &str,
    get: &Lookup<'_>,
    tensors: impl Iterator<Item = &'n str>,
) -> Result<()> {
    let bad = |field: &str, message: String| Error::BadModelFile {
        path: path.to_owned(),
        field: field.to_owned(),
        message,
    };
    let key = |k: &str| format!("{arch}.{k}");
    let int = |k: &str| -> Result<Option<u64>> {
        let k = key(k);
        match get(&k) {
            None => Ok(None),
            Some(Ok(v)) => Ok(Some(v)),
            Some(Err(what)) => Err(bad(&k, format!("is {what}; must be an unsigned integer"))),
        }
    };
    let bounded = |k: &str, min: u64, max: u64| -> Result<Option<u64>> {
        match int(k)? {
            Some(v) if v < min || v > max => Err(bad(
                &key(k),
                if v < min {
                    format!("is {v}; must be at least {min}")
                } else {
                    format!("is {v}; must be at most {max}")
                },
            )),
            v => Ok(v),
        }
    };
    let embedding = bounded("embedding_length", 1, MAX_EMBEDDING)?;
    bounded("feed_forward_length", 1, MAX_FEED_FORWARD)?;
    bounded("context_length", 1, MAX_CONTEXT)?;
    bounded("vocab_size", 1, MAX_VOCAB)?;
    let heads = bounded("attention.head_count", 1, MAX_HEADS)?;
    if let (Some(h), Some(e)) = (heads, embedding)
        && !e.is_multiple_of(h)
    {
        return Err(bad(
            &key("attention.head_count"),
            format!("is {h}; must divide {} ({e})", key("embedding_length")),
        ));
    }
    if let Some(kv) = bounded("attention.head_count_kv", 1, MAX_HEADS)?
        && let Some(h) = heads
        && !h.is_multiple_of(kv)
    {
        return Err(bad(
            &key("attention.head_count_kv"),
            format!("is {kv}; must divide {} ({h})", key("attention.head_count")),
        ));
    }
    if let (Some(rope), Some(h), Some(e)) = (int("rope.dimension_count")?, heads, embedding) {
        let head = e / h;
        if !(2..=head).contains(&rope) || !rope.is_multiple_of(2) {
            return Err(bad(
                &key("rope.dimension_count"),
                format!("is {rope}; must be even, at least 2 and at most the head size {head}"),
            ));
        }
    }
    let experts = bounded("expert_count", 0, MAX_EXPERTS)?;
    bounded("expert_used_count", 0, experts.unwrap_or(0).max(1))?;
    if let Some(n) = bounded("block_count", 1, MAX_BLOCKS)? {
        let blocks: BTreeSet<u64> = tensors
            .filter_map(|t| t.strip_prefix("blk.")?.split('.').next()?.parse().ok())
            .collect();
        if let Some(missing) = (0..n).find(|i| !blocks.contains(i)) {
            return Err(bad(
                &key("block_count"),
                format!("is {n} but the file has no tensors for block `blk.{missing}`"),
            ));
        }
        if let Some(extra) = blocks.range(n..).next() {
            return Err(bad(
                &key("block_count"),
                format!("is {n} but the file has tensors for block `blk.{extra}`"),
            ));
        }
    }
    Ok(())
}

/// `general.alignment`, as candle reads it (a u8/u16/u32 or a non-negative i8/i16/i32), checked.
fn alignment<R>(s: &Scan<'_, R>, value: Option<&Meta>) -> Result<u64> {
    const FIELD: &str = "general.alignment";
    let v = match value {
        None => return Ok(DEFAULT_ALIGNMENT),
        Some(Meta::Int(0..=5, v)) => *v,
        Some(Meta::Int(_, _)) => {
            return Err(s.bad(
                FIELD,
                "is a 64-bit integer; GGUF stores it as a u32 (candle would ignore it)",
            ));
        }
        Some(other) => {
            return Err(s.bad(FIELD, format!("is {}; must be a u32", other.describe())));
        }
    };
    match u64::try_from(v) {
        Ok(a) if a.is_power_of_two() && a <= MAX_ALIGNMENT => Ok(a),
        _ => Err(s.bad(
            FIELD,
            format!("is {v}; must be a power of two, at most {MAX_ALIGNMENT}"),
        )),
    }
}

/// `name` when it reads as a field name (printable ASCII, not too long).
fn readable(name: &str) -> Option<&str> {
    (!name.is_empty() && name.len() <= 128 && name.bytes().all(|b| b.is_ascii_graphic()))
        .then_some(name)
}

/// The first 40 characters of `name`.
fn cut_short(name: &str) -> String {
    name.chars().take(40).collect()
}

/// Elements per block and bytes per block of a GGML type id (those candle reads).
fn block_layout(type_id: u32) -> Option<(u64, u64)> {
    Some(match type_id {
        0 => (1, 4),      // F32
        1 | 30 => (1, 2), // F16, BF16
        2 => (32, 18),    // Q4_0
        3 => (32, 20),    // Q4_1
        6 => (32, 22),    // Q5_0
        7 => (32, 24),    // Q5_1
        8 => (32, 34),    // Q8_0
        9 => (32, 36),    // Q8_1
        10 => (256, 84),  // Q2_K
        11 => (256, 110), // Q3_K
        12 => (256, 144), // Q4_K
        13 => (256, 176), // Q5_K
        14 => (256, 210), // Q6_K
        15 => (256, 292), // Q8_K
        _ => return None,
    })
}

/// A metadata value as far as the check keeps it.
#[derive(Debug, Clone)]
enum Meta {
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
    fn describe(&self) -> String {
        match self {
            Meta::Int(_, v) => format!("{v}"),
            Meta::Float => "a float".into(),
            Meta::Bool => "a bool".into(),
            Meta::Str(_) => "a string".into(),
            Meta::Array(_, n) => format!("an array of {n}"),
        }
    }
}

/// One tensor's directory entry.
#[derive(Debug)]
struct Tensor {
    name: String,
    /// How errors name it.
    label: String,
    dims: Vec<u64>,
    block: u64,
    type_size: u64,
    offset: u64,
}

impl Tensor {
    fn check<R>(&self, s: &Scan<'_, R>, data_offset: u64, alignment: u64) -> Result<()> {
        let field = &self.label;
        let dims = &self.dims;
        if dims.contains(&0) {
            return Err(s.bad(field, format!("has a zero dimension ({dims:?})")));
        }
        let overflow = || {
            s.bad(
                field,
                format!("has dimensions {dims:?} whose product overflows"),
            )
        };
        let elements = dims
            .iter()
            .try_fold(1u64, |a, d| a.checked_mul(*d))
            .ok_or_else(overflow)?;
        let first = dims.first().copied().unwrap_or(1);
        if !first.is_multiple_of(self.block) {
            return Err(s.bad(
                field,
                format!(
                    "has rows of {first} elements, not a multiple of its type's block of {}",
                    self.block
                ),
            ));
        }
        let bytes = (elements / self.block)
            .checked_mul(self.type_size)
            .ok_or_else(overflow)?;
        let len = s.len;
        let end = data_offset
            .checked_add(self.offset)
            .and_then(|start| start.checked_add(bytes))
            .ok_or_else(|| {
                s.bad(
                    field,
                    format!(
                        "has offset {} that lies past the end of the file ({len} bytes)",
                        self.offset
                    ),
                )
            })?;
        if end > len {
            return Err(s.bad(
                field,
                format!(
                    "ends at byte {end} but the file has only {len}: the file is truncated; delete it and pull the model again"
                ),
            ));
        }
        if !self.offset.is_multiple_of(alignment) {
            return Err(s.bad(
                field,
                format!(
                    "starts at data offset {}, not a multiple of the alignment {alignment}",
                    self.offset
                ),
            ));
        }
        Ok(())
    }
}

/// A field name, made only when an error needs it.
type Field<'f> = dyn Fn() -> String + 'f;

/// A bounded reader: every read and skip is checked against the file's length first.
struct Scan<'p, R> {
    r: R,
    pos: u64,
    len: u64,
    path: &'p Path,
    /// GGUF v1 stores lengths as u32.
    v1: bool,
    /// Array elements read so far.
    elements: u64,
}

impl<R> Scan<'_, R> {
    fn bad(&self, field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::BadModelFile {
            path: self.path.to_owned(),
            field: field.into(),
            message: message.into(),
        }
    }

    fn remaining(&self) -> u64 {
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
    fn take<const N: usize>(&mut self, field: &Field<'_>) -> Result<[u8; N]> {
        self.need(N as u64, field)?;
        let mut b = [0u8; N];
        self.r.read_exact(&mut b).map_err(Error::io(self.path))?;
        self.pos += N as u64;
        Ok(b)
    }

    fn u32(&mut self, field: &Field<'_>) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(field)?))
    }

    fn u64(&mut self, field: &Field<'_>) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(field)?))
    }

    /// A length prefix (u32 in GGUF v1, u64 after).
    fn length(&mut self, field: &Field<'_>) -> Result<u64> {
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
    fn string(&mut self, field: &Field<'_>, max: u64, keep: u64) -> Result<Option<String>> {
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
    fn value(&mut self, ty: u32, depth: usize, field: &Field<'_>) -> Result<Meta> {
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
