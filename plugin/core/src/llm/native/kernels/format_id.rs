//! [`Format`] as a constant for the SIMD kernels' const generic, so each kernel is compiled once
//! per format with its block decoding inlined and its accumulators in registers.

use super::Format;

pub(super) const Q4_1: u8 = 0;
pub(super) const Q5_0: u8 = 1;
pub(super) const Q8_0: u8 = 2;
pub(super) const Q4K: u8 = 3;
pub(super) const Q6K: u8 = 4;

/// The format a constant stands for.
pub(super) const fn format(f: u8) -> Format {
    match f {
        Q4_1 => Format::Q4_1,
        Q5_0 => Format::Q5_0,
        Q8_0 => Format::Q8_0,
        Q4K => Format::Q4K,
        _ => Format::Q6K,
    }
}
