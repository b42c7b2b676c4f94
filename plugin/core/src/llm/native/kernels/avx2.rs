//! The AVX2 kernels (with FMA and F16C) over the blocks as the file stores them.

use core::arch::x86_64::*;

use super::format_id::{Q4_1, Q4K, Q5_0, Q6K, Q8_0, format};
use super::{Format, QActs, QK, QMatrix, scale_min_k4};

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hsum(v: __m256) -> f32 {
    let lo = _mm256_castps256_ps128(v);
    let hi = _mm256_extractf128_ps::<1>(v);
    let s = _mm_add_ps(lo, hi);
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn load32(b: &[u8]) -> __m256i {
    assert!(b.len() >= 32);
    // SAFETY: 32 readable bytes (asserted).
    unsafe { _mm256_loadu_si256(b.as_ptr().cast()) }
}

/// 16 bytes of packed nibbles as 32 bytes 0..15: low nibbles first, then high (the order of
/// `Q4_1`'s and `Q5_0`'s elements).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn unpack_nibbles(qs: &[u8]) -> __m256i {
    assert!(qs.len() >= 16);
    // SAFETY: 16 readable bytes (asserted).
    let v = unsafe { _mm_loadu_si128(qs.as_ptr().cast()) };
    let mask = _mm_set1_epi8(0x0F);
    let lo = _mm_and_si128(v, mask);
    let hi = _mm_and_si128(_mm_srli_epi16::<4>(v), mask);
    _mm256_set_m128i(hi, lo)
}

/// Bit `j` of `bits` as byte `j`: `0xFF` where set, 0 elsewhere (llama.cpp's `bytes_from_bits_32`).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn bytes_from_bits(bits: u32) -> __m256i {
    let shuf = _mm256_set_epi64x(
        0x0303_0303_0303_0303,
        0x0202_0202_0202_0202,
        0x0101_0101_0101_0101,
        0,
    );
    let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(bits as i32), shuf);
    let bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe));
    _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn h2f(b: &[u8]) -> f32 {
    let v = u16::from_le_bytes([b[0], b[1]]);
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(v))))
}

/// Activation block `b` of a row's bytes as 32 bytes (unsigned for [`Format::unsigned`],
/// signed otherwise), the scale of each float lane of [`dot_u8_i8`] (lanes 0-3 cover
/// elements 0-15) and the block's additive `m` (the SIMD twin of `QMatrix::decode`).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn unpack<const F: u8>(row: &[u8], b: usize) -> (__m256i, __m256, f32) {
    match format(F) {
        Format::Q4_1 => {
            let blk = &row[b * 20..b * 20 + 20];
            (
                unpack_nibbles(&blk[4..]),
                _mm256_set1_ps(h2f(blk)),
                h2f(&blk[2..]),
            )
        }
        Format::Q5_0 => {
            let blk = &row[b * 22..b * 22 + 22];
            let qh = u32::from_le_bytes([blk[2], blk[3], blk[4], blk[5]]);
            // Where the fifth bit is clear the value is nibble - 16: set the high bits.
            let high = _mm256_andnot_si256(bytes_from_bits(qh), _mm256_set1_epi8(-16));
            let q = _mm256_or_si256(unpack_nibbles(&blk[6..]), high);
            (q, _mm256_set1_ps(h2f(blk)), 0.0)
        }
        Format::Q8_0 => {
            let blk = &row[b * 34..b * 34 + 34];
            (load32(&blk[2..]), _mm256_set1_ps(h2f(blk)), 0.0)
        }
        Format::Q4K => {
            let blk = &row[b / 8 * 144..b / 8 * 144 + 144];
            let j = b % 8;
            let (sc, mn) = scale_min_k4(j, &blk[4..16]);
            let qs = load32(&blk[16 + 32 * (j / 2)..]);
            let qs = if j.is_multiple_of(2) {
                qs
            } else {
                _mm256_srli_epi16::<4>(qs)
            };
            let q = _mm256_and_si256(qs, _mm256_set1_epi8(0x0F));
            (
                q,
                _mm256_set1_ps(h2f(blk) * f32::from(sc)),
                -h2f(&blk[2..]) * f32::from(mn),
            )
        }
        Format::Q6K => {
            let blk = &row[b / 8 * 210..b / 8 * 210 + 210];
            let (n, g) = ((b % 8) / 4, b % 4);
            let ql = load32(&blk[64 * n + 32 * (g % 2)..]);
            let ql = if g < 2 {
                ql
            } else {
                _mm256_srli_epi16::<4>(ql)
            };
            let lo = _mm256_and_si256(ql, _mm256_set1_epi8(0x0F));
            let qh = load32(&blk[128 + 32 * n..]);
            let qh = _mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * g as i32));
            let hi = _mm256_slli_epi16::<4>(_mm256_and_si256(qh, _mm256_set1_epi8(3)));
            let q = _mm256_sub_epi8(_mm256_or_si256(lo, hi), _mm256_set1_epi8(32));
            let d = h2f(&blk[208..]);
            let s0 = d * f32::from(blk[192 + 8 * n + 2 * g] as i8);
            let s1 = d * f32::from(blk[192 + 8 * n + 2 * g + 1] as i8);
            (q, _mm256_setr_ps(s0, s0, s0, s0, s1, s1, s1, s1), 0.0)
        }
    }
}

/// `sum(u[j] * s[j])` of 32 unsigned by 32 signed bytes, as 8 float lanes (lane `k` sums
/// elements `4k..4k + 4`).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_u8_i8(u: __m256i, s: __m256i) -> __m256 {
    let p16 = _mm256_maddubs_epi16(u, s);
    let p32 = _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
    _mm256_cvtepi32_ps(p32)
}

/// Weight bytes `wq` against activation bytes `xq`: signed weights go through the
/// `|w| * sign(x, w)` identity, since the multiply-add takes one unsigned operand.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_block<const F: u8>(wq: __m256i, xq: __m256i) -> __m256 {
    if format(F).unsigned() {
        dot_u8_i8(wq, xq)
    } else {
        dot_u8_i8(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(xq, wq))
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let mut acc0 = _mm256_setzero_ps();
    let mut acc1 = _mm256_setzero_ps();
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n, both slices have n elements.
        unsafe {
            let a0 = _mm256_loadu_ps(a.as_ptr().add(i));
            let b0 = _mm256_loadu_ps(b.as_ptr().add(i));
            let a1 = _mm256_loadu_ps(a.as_ptr().add(i + 8));
            let b1 = _mm256_loadu_ps(b.as_ptr().add(i + 8));
            acc0 = _mm256_fmadd_ps(a0, b0, acc0);
            acc1 = _mm256_fmadd_ps(a1, b1, acc1);
        }
        i += 16;
    }
    let mut s = hsum(_mm256_add_ps(acc0, acc1));
    while i < n {
        s += a[i] * b[i];
        i += 1;
    }
    s
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn load_i8(q: &[i8]) -> __m256i {
    assert!(q.len() >= 32);
    // SAFETY: 32 readable bytes (asserted).
    unsafe { _mm256_loadu_si256(q.as_ptr().cast()) }
}

/// `T` activation rows (from `i0`) against one weight row `r`: the weight block is unpacked
/// once for all `T`, and the `T` accumulators stay in registers (`T` is a constant).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn rows_tile<const T: usize, const F: u8>(
    w: &QMatrix,
    x: &QActs,
    out: &mut [f32],
    (r, base, n): (usize, usize, usize),
    i0: usize,
) {
    let nb = x.blocks;
    let row = w.row(r);
    let unsigned = format(F).unsigned();
    let mut acc = [_mm256_setzero_ps(); T];
    let mut accm = [0f32; T];
    for b in 0..nb {
        let (wq, sc, m) = unpack::<F>(row, b);
        let (wu, ws) = if unsigned {
            (wq, _mm256_set1_epi8(1))
        } else {
            (_mm256_sign_epi8(wq, wq), wq)
        };
        for k in 0..T {
            let xi = (i0 + k) * nb + b;
            let xq = load_i8(&x.q[xi * QK..(xi + 1) * QK]);
            let xq = if unsigned {
                xq
            } else {
                _mm256_sign_epi8(xq, ws)
            };
            let d = _mm256_mul_ps(sc, _mm256_set1_ps(x.d[xi]));
            acc[k] = _mm256_fmadd_ps(d, dot_u8_i8(wu, xq), acc[k]);
            if unsigned {
                accm[k] += m * x.s[xi];
            }
        }
    }
    for k in 0..T {
        out[(i0 + k) * n + r - base] = hsum(acc[k]) + accm[k];
    }
}

/// One activation row against `R` weight rows (from `r0`): `R` independent accumulators
/// hide the FMA latency (decode).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn weights_tile<const R: usize, const F: u8>(
    w: &QMatrix,
    x: &QActs,
    out: &mut [f32],
    r0: usize,
    base: usize,
) {
    let nb = x.blocks;
    let unsigned = format(F).unsigned();
    let rows: [&[u8]; R] = core::array::from_fn(|k| w.row(r0 + k));
    let mut acc = [_mm256_setzero_ps(); R];
    let mut accm = [0f32; R];
    for b in 0..nb {
        let xq = load_i8(&x.q[b * QK..(b + 1) * QK]);
        let (xd, xs) = (_mm256_set1_ps(x.d[b]), x.s[b]);
        for k in 0..R {
            let (wq, sc, m) = unpack::<F>(rows[k], b);
            let p = dot_block::<F>(wq, xq);
            acc[k] = _mm256_fmadd_ps(_mm256_mul_ps(sc, xd), p, acc[k]);
            if unsigned {
                accm[k] += m * xs;
            }
        }
    }
    for k in 0..R {
        out[r0 + k - base] = hsum(acc[k]) + accm[k];
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn matmul(w: &QMatrix, x: &QActs, out: &mut [f32], rows: core::ops::Range<usize>) {
    match w.format {
        Format::Q4_1 => matmul_as::<Q4_1>(w, x, out, rows),
        Format::Q5_0 => matmul_as::<Q5_0>(w, x, out, rows),
        Format::Q8_0 => matmul_as::<Q8_0>(w, x, out, rows),
        Format::Q4K => matmul_as::<Q4K>(w, x, out, rows),
        Format::Q6K => matmul_as::<Q6K>(w, x, out, rows),
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn matmul_as<const F: u8>(w: &QMatrix, x: &QActs, out: &mut [f32], rows: core::ops::Range<usize>) {
    let (base, n) = (rows.start, rows.len());
    if x.rows == 1 {
        let mut r = rows.start;
        while r + 4 <= rows.end {
            weights_tile::<4, F>(w, x, out, r, base);
            r += 4;
        }
        while r < rows.end {
            weights_tile::<1, F>(w, x, out, r, base);
            r += 1;
        }
        return;
    }
    for r in rows {
        let mut i0 = 0;
        while i0 + 4 <= x.rows {
            rows_tile::<4, F>(w, x, out, (r, base, n), i0);
            i0 += 4;
        }
        while i0 < x.rows {
            rows_tile::<1, F>(w, x, out, (r, base, n), i0);
            i0 += 1;
        }
    }
}
