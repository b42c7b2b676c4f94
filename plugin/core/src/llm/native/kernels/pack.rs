//! The packed layout for the VNNI kernels: a matrix's GGUF blocks regrouped eight rows at a
//! time, at load.

use std::sync::Mutex;

use super::{Format, PACK, QK, QMatrix, scale_min_k4};
use crate::llm::native::pool;

/// The packed layout of a `rows` x `cols` matrix whose GGUF blocks are `src`: per group of
/// [`PACK`] rows, records of [`Format::record`] bytes (one per block of the format: 32 elements,
/// or a `Q4_K`/`Q6_K` super-block of 256), groups after each other and records in order. Element
/// `j = 4 g + e` of a 32-element block of lane (row) `l` is an unsigned value `u`, at byte
/// `4 l + e` of the block's 32-byte vector `g`:
/// - `Q8_0`: `u = q + 128` in vector `g` at `32 g` (256 bytes); then eight `d` (f16);
/// - `Q5_0`: `u = q + 16`: its low four bits in the low (`g < 4`) or high nibble of the bytes
///   at `32 (g % 4)` (128 bytes), its fifth bit as bit `g` of the 32 bytes at 128; eight `d`;
/// - `Q4_1`: `u` in nibbles as `Q5_0`'s; eight `d`, eight `m`;
/// - `Q4_K`: per sub-block `j` its nibbles at `128 j`; then eight `d`, eight `dmin` and, per
///   sub-block, the eight rows' 6-bit scales and minimums as bytes (at 1056 and 1120);
/// - `Q6_K`: `u = q + 32`: per sub-block `j` its low nibbles at `128 j`, its two high bits
///   at `1024 + 64 j` (bits `2 (g % 4)` of the 32 bytes at `+ 32 (g / 4)`), then per sub-block
///   the eight rows' scales of its two halves at `1536 + 16 j`, and eight `d` at 1664.
///
/// Groups are packed in parallel on the engine's threads ([`threads`]).
pub(super) fn pack(format: Format, rows: usize, cols: usize, src: &[u8]) -> Vec<u8> {
    debug_assert!(rows.is_multiple_of(PACK));
    let group_bytes = cols / format.block_elements() * format.record();
    let row_bytes = cols / format.block_elements() * format.block_bytes();
    let mut data = vec![0u8; rows / PACK * group_bytes];
    let one = |(group, out): (usize, &mut [u8])| {
        let rows = &src[group * PACK * row_bytes..(group + 1) * PACK * row_bytes];
        // Each format its own copy of the loop, its `match`es resolved at compile time.
        match format {
            Format::Q4_1 => pack_group(Format::Q4_1, rows, row_bytes, out),
            Format::Q5_0 => pack_group(Format::Q5_0, rows, row_bytes, out),
            Format::Q8_0 => pack_group(Format::Q8_0, rows, row_bytes, out),
            Format::Q4K => pack_group(Format::Q4K, rows, row_bytes, out),
            Format::Q6K => pack_group(Format::Q6K, rows, row_bytes, out),
        }
    };
    let groups: Vec<Mutex<&mut [u8]>> = data.chunks_mut(group_bytes).map(Mutex::new).collect();
    pool::for_each(groups.len(), &|g| {
        if let Ok(mut out) = groups[g].lock() {
            one((g, &mut out));
        }
    });
    drop(groups);
    data
}

/// Packs one group: `rows` holds its [`PACK`] rows of `row_bytes` each; `out` its records.
#[inline(always)]
fn pack_group(format: Format, rows: &[u8], row_bytes: usize, out: &mut [u8]) {
    let (per, size) = (format.block_elements() / QK, format.record());
    let offset: i8 = match format {
        Format::Q8_0 => -128,
        Format::Q5_0 => 16,
        Format::Q6K => 32,
        Format::Q4_1 | Format::Q4K => 0,
    };
    for (k, rec) in out.chunks_exact_mut(size).enumerate() {
        for l in 0..PACK {
            let row = &rows[l * row_bytes..(l + 1) * row_bytes];
            let raw = &row[k * format.block_bytes()..][..format.block_bytes()];
            for j in 0..per {
                let v = QMatrix::decode(format, row, k * per + j).v;
                // The stored unsigned value of each element (`Q8_0`: the byte with its sign bit
                // flipped).
                let u: [u8; QK] = core::array::from_fn(|i| v[i].wrapping_add(offset) as u8);
                let lane = 4 * l;
                if format == Format::Q8_0 {
                    for g in 0..8 {
                        rec[32 * g + lane..][..4].copy_from_slice(&u[4 * g..4 * g + 4]);
                    }
                } else {
                    // Element `x` (< 16) in the low nibble and `x + 16` in the high nibble of
                    // byte `32 (x / 4) + 4 l + x % 4` of sub-block `j`'s 128 bytes.
                    let nib: [u8; 16] = core::array::from_fn(|x| (u[x] & 0x0F) | (u[x + 16] << 4));
                    for g in 0..4 {
                        rec[128 * j + 32 * g + lane..][..4].copy_from_slice(&nib[4 * g..4 * g + 4]);
                    }
                }
                match format {
                    Format::Q5_0 => {
                        for e in 0..4 {
                            rec[128 + lane + e] =
                                (0..8).fold(0, |b, g| b | (((u[4 * g + e] >> 4) & 1) << g));
                        }
                    }
                    Format::Q6K => {
                        for h in 0..2 {
                            for e in 0..4 {
                                rec[1024 + 64 * j + 32 * h + lane + e] = (0..4).fold(0, |b, g| {
                                    b | (((u[16 * h + 4 * g + e] >> 4) & 3) << (2 * g))
                                });
                            }
                        }
                        let (n, g) = (j / 4, j % 4);
                        for h in 0..2 {
                            rec[1536 + 16 * j + 8 * h + l] = raw[192 + 8 * n + 2 * g + h];
                        }
                    }
                    Format::Q4K => {
                        let (sc, mn) = scale_min_k4(j, &raw[4..16]);
                        rec[1056 + 8 * j + l] = sc;
                        rec[1120 + 8 * j + l] = mn;
                    }
                    Format::Q8_0 | Format::Q4_1 => {}
                }
            }
            let f16s: &[(usize, usize)] = match format {
                Format::Q8_0 => &[(256, 0)],
                Format::Q5_0 => &[(160, 0)],
                Format::Q4_1 => &[(128, 0), (144, 2)],
                Format::Q4K => &[(1024, 0), (1040, 2)],
                Format::Q6K => &[(1664, 208)],
            };
            for &(to, from) in f16s {
                rec[to + 2 * l..to + 2 * l + 2].copy_from_slice(&raw[from..from + 2]);
            }
        }
    }
}
