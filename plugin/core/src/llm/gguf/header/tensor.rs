//! A tensor's directory entry and its check: dimensions, a type candle reads, and bytes that lie
//! inside the file at an aligned offset.

use super::scan::Scan;
use crate::llm::Result;

/// Elements per block and bytes per block of a GGML type id (those candle reads).
pub(super) fn block_layout(type_id: u32) -> Option<(u64, u64)> {
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

/// One tensor's directory entry.
#[derive(Debug)]
pub(super) struct Tensor {
    pub(super) name: String,
    /// How errors name it.
    pub(super) label: String,
    pub(super) dims: Vec<u64>,
    pub(super) block: u64,
    pub(super) type_size: u64,
    pub(super) offset: u64,
}

impl Tensor {
    pub(super) fn check<R>(&self, s: &Scan<'_, R>, data_offset: u64, alignment: u64) -> Result<()> {
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
