//! The portable kernels: plain Rust over the decoded blocks, for CPUs without AVX2 and for the
//! rows of a packed group that a worker's chunk cuts.

use super::{QActs, QK, QMatrix};

pub(super) fn matmul(w: &QMatrix, x: &QActs, out: &mut [f32], rows: core::ops::Range<usize>) {
    let at = (rows.start, rows.len());
    matmul_into(w, x, out, rows, at);
}

/// The rows `rows` of the product into `out[i * n + r - base]` (`(base, n)`: the output's
/// first row and row count, which may be a larger range than `rows`).
pub(super) fn matmul_into(
    w: &QMatrix,
    x: &QActs,
    out: &mut [f32],
    rows: core::ops::Range<usize>,
    (base, n): (usize, usize),
) {
    let nb = x.blocks;
    for r in rows {
        for i in 0..x.rows {
            out[i * n + r - base] = 0.0;
        }
        for b in 0..nb {
            let blk = w.block(r, b);
            for i in 0..x.rows {
                let xi = i * nb + b;
                let xq = &x.q[xi * QK..(xi + 1) * QK];
                let half = |h: usize| -> i32 {
                    (16 * h..16 * h + 16)
                        .map(|j| i32::from(blk.v[j]) * i32::from(xq[j]))
                        .sum()
                };
                let dot = blk.scale[0] * half(0) as f32 + blk.scale[1] * half(1) as f32;
                out[i * n + r - base] += x.d[xi] * dot + blk.m * x.s[xi];
            }
        }
    }
}
