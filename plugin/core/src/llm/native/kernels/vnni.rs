//! The packed layout's kernels (see `pack`): `vpdpbusd` multiplies the unsigned
//! weight bytes of eight rows by four activation bytes broadcast to every lane, so each of the
//! eight float lanes of an accumulator is one output row.

use core::arch::x86_64::*;

use super::format_id::{Q4_1, Q4K, Q5_0, Q6K, Q8_0};
use super::{Format, PACK, QActs, QK, QMatrix, portable};

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512vl,avx512vnni")]
pub(super) fn matmul(w: &QMatrix, x: &QActs, out: &mut [f32], rows: core::ops::Range<usize>) {
    match w.format {
        Format::Q4_1 => matmul_as::<Q4_1>(w, x, out, rows),
        Format::Q5_0 => matmul_as::<Q5_0>(w, x, out, rows),
        Format::Q8_0 => matmul_as::<Q8_0>(w, x, out, rows),
        Format::Q4K => matmul_as::<Q4K>(w, x, out, rows),
        Format::Q6K => matmul_as::<Q6K>(w, x, out, rows),
    }
}

/// Whole groups of the range through the tiles; rows of a group the range cuts (a worker's
/// chunk need not start on one) through the portable decode of the same layout.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512vl,avx512vnni")]
fn matmul_as<const F: u8>(w: &QMatrix, x: &QActs, out: &mut [f32], rows: core::ops::Range<usize>) {
    let at = (rows.start, rows.len());
    let first = rows.start.next_multiple_of(PACK).min(rows.end);
    let last = (rows.end / PACK * PACK).max(first);
    portable::matmul_into(w, x, out, rows.start..first, at);
    portable::matmul_into(w, x, out, last..rows.end, at);
    for group in first / PACK..last / PACK {
        let mut i0 = 0;
        while i0 + 4 <= x.rows {
            tile::<4, F>(w, x, out, group, at, i0);
            i0 += 4;
        }
        while i0 < x.rows {
            tile::<1, F>(w, x, out, group, at, i0);
            i0 += 1;
        }
    }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512vl,avx512vnni")]
fn load32(b: &[u8]) -> __m256i {
    assert!(b.len() >= 32);
    // SAFETY: 32 readable bytes (asserted).
    unsafe { _mm256_loadu_si256(b.as_ptr().cast()) }
}

/// Eight f16 at the start of `b` as floats.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512vl,avx512vnni")]
fn load_f16x8(b: &[u8]) -> __m256 {
    assert!(b.len() >= 16);
    // SAFETY: 16 readable bytes (asserted).
    _mm256_cvtph_ps(unsafe { _mm_loadu_si128(b.as_ptr().cast()) })
}

/// Bits `from` and `from + 1` of every byte of `h` moved to bits 4 and 5 and kept where
/// `mask` is set (`from` a constant once inlined and unrolled; shifts of 16-bit lanes by at
/// most four left or three right keep every byte's bits 4 and 5 inside their byte).
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512vl,avx512vnni")]
fn bits_to_4(h: __m256i, from: usize, mask: i8) -> __m256i {
    let moved = match from {
        0 => _mm256_slli_epi16::<4>(h),
        1 => _mm256_slli_epi16::<3>(h),
        2 => _mm256_slli_epi16::<2>(h),
        3 => _mm256_slli_epi16::<1>(h),
        4 => h,
        5 => _mm256_srli_epi16::<1>(h),
        6 => _mm256_srli_epi16::<2>(h),
        _ => _mm256_srli_epi16::<3>(h),
    };
    _mm256_and_si256(moved, _mm256_set1_epi8(mask))
}

/// Eight bytes at the start of `b` as floats (signed or unsigned bytes).
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512vl,avx512vnni")]
fn load_u8x8(b: &[u8], signed: bool) -> __m256 {
    assert!(b.len() >= 8);
    // SAFETY: 8 readable bytes (asserted).
    let v = unsafe { _mm_loadl_epi64(b.as_ptr().cast()) };
    _mm256_cvtepi32_ps(if signed {
        _mm256_cvtepi8_epi32(v)
    } else {
        _mm256_cvtepu8_epi32(v)
    })
}

/// Block `b`'s eight weight vectors (vector `g`: elements `4g..4g + 4` of the eight rows)
/// and two scale vectors, one lane per row, whose meaning [`tile`] gives per format.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512vl,avx512vnni")]
fn unpack<const F: u8>(data: &[u8], b: usize) -> ([__m256i; 8], __m256, __m256) {
    let zero = _mm256_setzero_ps();
    if F == Q8_0 {
        let rec = &data[b * 272..][..272];
        let v = core::array::from_fn(|g| load32(&rec[32 * g..]));
        return (v, load_f16x8(&rec[256..]), zero);
    }
    let (rec, j) = match F {
        Q4_1 => (&data[b * 160..][..160], 0),
        Q5_0 => (&data[b * 176..][..176], 0),
        Q4K => (&data[b / 8 * 1184..][..1184], b % 8),
        _ => (&data[b / 8 * 1680..][..1680], b % 8),
    };
    let mask = _mm256_set1_epi8(0x0F);
    let mut v = [_mm256_setzero_si256(); 8];
    for p in 0..4 {
        let raw = load32(&rec[128 * j + 32 * p..]);
        v[p] = _mm256_and_si256(raw, mask);
        v[p + 4] = _mm256_and_si256(_mm256_srli_epi16::<4>(raw), mask);
    }
    match F {
        Q5_0 => {
            let h = load32(&rec[128..]);
            for (g, v) in v.iter_mut().enumerate() {
                *v = _mm256_or_si256(*v, bits_to_4(h, g, 0x10));
            }
            (v, load_f16x8(&rec[160..]), zero)
        }
        Q4_1 => (v, load_f16x8(&rec[128..]), load_f16x8(&rec[144..])),
        Q4K => {
            let d = load_f16x8(&rec[1024..]);
            let dmin = load_f16x8(&rec[1040..]);
            let sc = _mm256_mul_ps(d, load_u8x8(&rec[1056 + 8 * j..], false));
            let mn = _mm256_mul_ps(dmin, load_u8x8(&rec[1120 + 8 * j..], false));
            (v, sc, _mm256_sub_ps(zero, mn))
        }
        _ => {
            for (g, v) in v.iter_mut().enumerate() {
                let h = load32(&rec[1024 + 64 * j + 32 * (g / 4)..]);
                *v = _mm256_or_si256(*v, bits_to_4(h, 2 * (g % 4), 0x30));
            }
            let d = load_f16x8(&rec[1664..]);
            let s0 = _mm256_mul_ps(d, load_u8x8(&rec[1536 + 16 * j..], true));
            let s1 = _mm256_mul_ps(d, load_u8x8(&rec[1544 + 16 * j..], true));
            (v, s0, s1)
        }
    }
}

/// Activation rows `i0..i0 + T` against the eight rows of group `group`: each block is
/// unpacked once for the `T` rows. Per format, with `isum` the integer dot of the unsigned
/// weights and the activation bytes and `(a, c)` the scale vectors of [`unpack`]:
/// `Q8_0`, `Q5_0`: `a (d_x isum - offset s)`; `Q4_1`, `Q4_K`: `a d_x isum + c s`;
/// `Q6_K`: the same as `Q8_0` per half-block, `a` for the first half and `c` for the second.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512vl,avx512vnni")]
fn tile<const T: usize, const F: u8>(
    w: &QMatrix,
    x: &QActs,
    out: &mut [f32],
    group: usize,
    (base, n): (usize, usize),
    i0: usize,
) {
    let nb = x.blocks;
    let size = w.format.record() * w.cols / w.format.block_elements();
    let data = &w.data[group * size..(group + 1) * size];
    // The value each format's unsigned bytes are offset by.
    let offset = match F {
        Q5_0 => 16.0,
        Q8_0 => 128.0,
        Q6K => 32.0,
        _ => 0.0,
    };
    let mut acc = [_mm256_setzero_ps(); T];
    for b in 0..nb {
        let (v, a, c) = unpack::<F>(data, b);
        for (k, acc) in acc.iter_mut().enumerate() {
            let xi = (i0 + k) * nb + b;
            let xq = &x.q[xi * QK..xi * QK + QK];
            let four = |g: usize| {
                let b = [xq[4 * g], xq[4 * g + 1], xq[4 * g + 2], xq[4 * g + 3]];
                _mm256_set1_epi32(i32::from_le_bytes(b.map(|q| q as u8)))
            };
            // Two chains of four multiply-adds (the block's halves), so their latencies
            // overlap.
            let mut s0 = _mm256_setzero_si256();
            let mut s1 = _mm256_setzero_si256();
            for g in 0..4 {
                s0 = _mm256_dpbusd_epi32(s0, v[g], four(g));
                s1 = _mm256_dpbusd_epi32(s1, v[g + 4], four(g + 4));
            }
            let (xd, xs) = (_mm256_set1_ps(x.d[xi]), x.s[xi]);
            match F {
                Q4_1 | Q4K => {
                    let isum = _mm256_cvtepi32_ps(_mm256_add_epi32(s0, s1));
                    *acc = _mm256_fmadd_ps(a, _mm256_mul_ps(isum, xd), *acc);
                    *acc = _mm256_fmadd_ps(c, _mm256_set1_ps(xs), *acc);
                }
                Q6K => {
                    let xh = x.h[xi];
                    let lo = _mm256_cvtepi32_ps(s0);
                    let hi = _mm256_cvtepi32_ps(s1);
                    let t0 = _mm256_fmadd_ps(lo, xd, _mm256_set1_ps(-offset * xh));
                    let t1 = _mm256_fmadd_ps(hi, xd, _mm256_set1_ps(-offset * (xs - xh)));
                    *acc = _mm256_fmadd_ps(a, t0, *acc);
                    *acc = _mm256_fmadd_ps(c, t1, *acc);
                }
                _ => {
                    // sum((u - offset) q) d_x = isum d_x - offset s
                    let isum = _mm256_cvtepi32_ps(_mm256_add_epi32(s0, s1));
                    let t = _mm256_fmadd_ps(isum, xd, _mm256_set1_ps(-offset * xs));
                    *acc = _mm256_fmadd_ps(a, t, *acc);
                }
            }
        }
    }
    for (k, acc) in acc.iter().enumerate() {
        let at = (i0 + k) * n + group * PACK - base;
        let o = &mut out[at..at + PACK];
        // SAFETY: `o` holds PACK = 8 floats.
        unsafe { _mm256_storeu_ps(o.as_mut_ptr(), *acc) };
    }
}
