//! The GGUF header check: Sprout reads a model file's header itself, with every count, length and
//! hyper-parameter bounded, before candle's reader or an engine trusts any of it.
//!
//! A file that lies about itself (an alignment of 0, no attention heads, four billion layers, a
//! tensor past the end, a string of 2^60 bytes) ends in [`Error::BadModelFile`] naming the file and
//! the field, never in a division by zero inside candle or an allocation the machine cannot make.
//! Large strings and arrays are skipped, not read, so the check costs milliseconds even for a model
//! of gigabytes.
//!
//! This file holds the limits and the walk over the header; [`scan`] the bounded reader,
//! [`tensor`] a tensor entry's check, [`hyperparameters`] the architecture's numbers.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use crate::llm::{Error, Result};

pub(crate) use hyperparameters::check_hyperparameters;
use scan::{Meta, Scan};
use tensor::{Tensor, block_layout};

mod hyperparameters;
mod scan;
mod tensor;

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
