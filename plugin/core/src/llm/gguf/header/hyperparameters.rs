//! The architecture's hyper-parameters, bounded: head counts that divide what they split, layer
//! counts the tensors agree with, sizes no engine can be asked to allocate past.

use std::collections::BTreeSet;
use std::path::Path;

use super::{
    MAX_BLOCKS, MAX_CONTEXT, MAX_EMBEDDING, MAX_EXPERTS, MAX_FEED_FORWARD, MAX_HEADS, MAX_VOCAB,
};
use crate::llm::{Error, Result};

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
