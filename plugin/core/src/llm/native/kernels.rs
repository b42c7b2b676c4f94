//! Quantised matrix kernels with runtime CPU detection: AVX2, FMA and F16C where the CPU has all
//! three (checked once, at run time, so one binary serves every x86-64), portable Rust elsewhere.
//!
//! Weights stay in their GGUF block format (`Q4_1`, `Q8_0`); activations are quantised per row
//! to 8-bit blocks of 32 with a scale and a block sum (`Q8_1`, as llama.cpp does), so every
//! dot product is integer multiply-adds plus one float FMA per block.

#![expect(
    unsafe_code,
    reason = "SIMD intrinsics (core::arch) behind runtime feature detection; each unsafe block is a target_feature call made only after is_x86_feature_detected! said yes"
)]

use half::f16;

/// Elements per block.
pub const QK: usize = 32;

/// Which weight block format a [`QMatrix`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// 32 x 4-bit with scale and minimum: `d: f16, m: f16, qs: [u8; 16]` (20 bytes).
    Q4_1,
    /// 32 x 8-bit with scale: `d: f16, qs: [i8; 32]` (34 bytes).
    Q8_0,
}

impl Format {
    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            Format::Q4_1 => 20,
            Format::Q8_0 => 34,
        }
    }
}

/// A quantised matrix of `rows` x `cols` (row-major: one output feature per row), in its GGUF
/// block layout (one stream of memory per row, as small as the file).
#[derive(Debug, Clone)]
pub struct QMatrix {
    /// Block format.
    pub format: Format,
    /// Output features.
    pub rows: usize,
    /// Input features (a multiple of 32).
    pub cols: usize,
    /// The GGUF blocks, row after row.
    pub data: Vec<u8>,
}

impl QMatrix {
    /// Wraps raw GGUF blocks.
    pub fn from_blocks(format: Format, rows: usize, cols: usize, data: &[u8]) -> Self {
        let n = rows * cols / QK * format.block_bytes();
        Self {
            format,
            rows,
            cols,
            data: data[..n].to_vec(),
        }
    }

    fn block(&self, i: usize) -> &[u8] {
        let bb = self.format.block_bytes();
        &self.data[i * bb..(i + 1) * bb]
    }

    /// Dequantises row `r` into `out` (for embedding look-ups).
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        let nb = self.cols / QK;
        for b in 0..nb {
            let blk = self.block(r * nb + b);
            let o = &mut out[b * QK..(b + 1) * QK];
            let d = f16_at(blk, 0);
            match self.format {
                Format::Q4_1 => {
                    let m = f16_at(blk, 2);
                    for j in 0..16 {
                        o[j] = f32::from(blk[4 + j] & 0x0F) * d + m;
                        o[j + 16] = f32::from(blk[4 + j] >> 4) * d + m;
                    }
                }
                Format::Q8_0 => {
                    for j in 0..QK {
                        o[j] = f32::from(blk[2 + j] as i8) * d;
                    }
                }
            }
        }
    }
}

fn f16_at(b: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

/// Activations quantised to 8-bit blocks: per block a scale `d`, its `d * sum(q)`, and 32 `q`.
#[derive(Debug, Clone, Default)]
pub struct QActs {
    /// Rows.
    pub rows: usize,
    /// Blocks per row.
    pub blocks: usize,
    /// Scales, `rows * blocks`.
    pub d: Vec<f32>,
    /// `d * sum(q)` per block.
    pub s: Vec<f32>,
    /// Quantised values, `rows * blocks * 32`.
    pub q: Vec<i8>,
}

impl QActs {
    /// Quantises `x` (`rows` rows of `cols`) into `self`, reusing its buffers.
    pub fn quantize(&mut self, x: &[f32], rows: usize, cols: usize) {
        let blocks = cols / QK;
        self.rows = rows;
        self.blocks = blocks;
        self.d.resize(rows * blocks, 0.0);
        self.s.resize(rows * blocks, 0.0);
        self.q.resize(rows * blocks * QK, 0);
        for (i, xb) in x[..rows * cols].chunks_exact(QK).enumerate() {
            let amax = xb.iter().fold(0f32, |a, v| a.max(v.abs()));
            let d = amax / 127.0;
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            let mut sum = 0i32;
            for (j, v) in xb.iter().enumerate() {
                let q = (v * id).round() as i32;
                sum += q;
                self.q[i * QK + j] = q as i8;
            }
            self.d[i] = d;
            self.s[i] = d * sum as f32;
        }
    }
}

/// Whether this CPU runs the AVX2 kernels (AVX2, FMA and F16C; checked once).
pub fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
                && std::arch::is_x86_feature_detected!("f16c")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `sum(a[i] * b[i])`.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2, FMA and F16C (checked above).
        return unsafe { avx2::dot(&a[..n], &b[..n]) };
    }
    // Eight independent sums, so the compiler may vectorise.
    let mut acc = [0f32; 8];
    let (ca, cb) = (a[..n].chunks_exact(8), b[..n].chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `out[i] += s * x[i]`.
pub fn axpy(s: f32, x: &[f32], out: &mut [f32]) {
    for (o, v) in out.iter_mut().zip(x) {
        *o += s * v;
    }
}

/// `out[i * w.rows + r] = dot(x row i, w row r)` for the rows `rows` of `w`.
///
/// `out` holds `x.rows` rows of `w.rows` values.
pub fn matmul(w: &QMatrix, x: &QActs, out: &mut [f32], rows: core::ops::Range<usize>) {
    debug_assert_eq!(w.cols / QK, x.blocks);
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2, FMA and F16C (checked above); slices are bounds-checked inside.
        unsafe { avx2::matmul(w, x, out, rows) };
        return;
    }
    portable::matmul(w, x, out, rows);
}

mod portable {
    use super::{Format, QActs, QK, QMatrix, f16_at};

    pub(super) fn matmul(w: &QMatrix, x: &QActs, out: &mut [f32], rows: core::ops::Range<usize>) {
        let nb = x.blocks;
        for r in rows {
            for i in 0..x.rows {
                let mut acc = 0f32;
                for b in 0..nb {
                    let blk = w.block(r * nb + b);
                    let xq = &x.q[(i * nb + b) * QK..(i * nb + b + 1) * QK];
                    let xd = x.d[i * nb + b];
                    let wd = f16_at(blk, 0);
                    match w.format {
                        Format::Q4_1 => {
                            let q = &blk[4..20];
                            let mut sum = 0i32;
                            for j in 0..16 {
                                sum += i32::from(q[j] & 0x0F) * i32::from(xq[j]);
                                sum += i32::from(q[j] >> 4) * i32::from(xq[j + 16]);
                            }
                            acc += wd * xd * sum as f32 + f16_at(blk, 2) * x.s[i * nb + b];
                        }
                        Format::Q8_0 => {
                            let q = &blk[2..34];
                            let mut sum = 0i32;
                            for j in 0..QK {
                                sum += i32::from(q[j] as i8) * i32::from(xq[j]);
                            }
                            acc += wd * xd * sum as f32;
                        }
                    }
                }
                out[i * w.rows + r] = acc;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::*;

    use super::{Format, QActs, QK, QMatrix};

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

    /// The 32 weights of a `Q4_1` block as unsigned bytes 0..15, in element order.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn unpack_q4(qs: &[u8]) -> __m256i {
        assert!(qs.len() >= 16);
        // SAFETY: 16 readable bytes (asserted).
        let v = unsafe { _mm_loadu_si128(qs.as_ptr().cast()) };
        let mask = _mm_set1_epi8(0x0F);
        let lo = _mm_and_si128(v, mask);
        let hi = _mm_and_si128(_mm_srli_epi16::<4>(v), mask);
        _mm256_set_m128i(hi, lo)
    }

    /// `sum(u[j] * s[j])` of 32 unsigned by 32 signed bytes, as 8 float lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn dot_u8_i8(u: __m256i, s: __m256i) -> __m256 {
        let p16 = _mm256_maddubs_epi16(u, s);
        let p32 = _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
        _mm256_cvtepi32_ps(p32)
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

    /// The little-endian `f16` at the start of `b`, converted by the CPU (F16C).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn h2f(b: &[u8]) -> f32 {
        let v = u16::from_le_bytes([b[0], b[1]]);
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(v))))
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn load_i8(q: &[i8]) -> __m256i {
        assert!(q.len() >= 32);
        // SAFETY: 32 readable bytes (asserted).
        unsafe { _mm256_loadu_si256(q.as_ptr().cast()) }
    }

    /// `T` activation rows (from `i0`) against one weight row `r`: the weight block is loaded
    /// once for all `T`, and the `T` accumulators stay in registers (`T` is a constant).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn rows_tile<const T: usize>(w: &QMatrix, x: &QActs, out: &mut [f32], r: usize, i0: usize) {
        let nb = x.blocks;
        let mut acc = [_mm256_setzero_ps(); T];
        let mut accm = [0f32; T];
        for b in 0..nb {
            let blk = w.block(r * nb + b);
            let wd = h2f(blk);
            match w.format {
                Format::Q4_1 => {
                    let wm = h2f(&blk[2..]);
                    let wq = unpack_q4(&blk[4..]);
                    for k in 0..T {
                        let xi = (i0 + k) * nb + b;
                        let xq = load_i8(&x.q[xi * QK..(xi + 1) * QK]);
                        let d = _mm256_set1_ps(wd * x.d[xi]);
                        acc[k] = _mm256_fmadd_ps(d, dot_u8_i8(wq, xq), acc[k]);
                        accm[k] += wm * x.s[xi];
                    }
                }
                Format::Q8_0 => {
                    assert!(blk.len() >= 34);
                    // SAFETY: 32 readable bytes from offset 2 (asserted).
                    let wq = unsafe { _mm256_loadu_si256(blk.as_ptr().add(2).cast()) };
                    let wabs = _mm256_sign_epi8(wq, wq);
                    for (k, a) in acc.iter_mut().enumerate() {
                        let xi = (i0 + k) * nb + b;
                        let xq = load_i8(&x.q[xi * QK..(xi + 1) * QK]);
                        let xs = _mm256_sign_epi8(xq, wq);
                        let d = _mm256_set1_ps(wd * x.d[xi]);
                        *a = _mm256_fmadd_ps(d, dot_u8_i8(wabs, xs), *a);
                    }
                }
            }
        }
        let n = w.rows;
        for k in 0..T {
            out[(i0 + k) * n + r] = hsum(acc[k]) + accm[k];
        }
    }

    /// One activation row against `R` weight rows (from `r0`): `R` independent accumulators
    /// hide the FMA latency (decode).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn weights_tile<const R: usize>(w: &QMatrix, x: &QActs, out: &mut [f32], r0: usize) {
        let nb = x.blocks;
        let mut acc = [_mm256_setzero_ps(); R];
        let mut accm = [0f32; R];
        for b in 0..nb {
            let xq = load_i8(&x.q[b * QK..(b + 1) * QK]);
            let (xd, xs) = (x.d[b], x.s[b]);
            for k in 0..R {
                let blk = w.block((r0 + k) * nb + b);
                let d = _mm256_set1_ps(h2f(blk) * xd);
                match w.format {
                    Format::Q4_1 => {
                        acc[k] = _mm256_fmadd_ps(d, dot_u8_i8(unpack_q4(&blk[4..]), xq), acc[k]);
                        accm[k] += h2f(&blk[2..]) * xs;
                    }
                    Format::Q8_0 => {
                        assert!(blk.len() >= 34);
                        // SAFETY: 32 readable bytes from offset 2 (asserted).
                        let wq = unsafe { _mm256_loadu_si256(blk.as_ptr().add(2).cast()) };
                        let p = dot_u8_i8(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(xq, wq));
                        acc[k] = _mm256_fmadd_ps(d, p, acc[k]);
                    }
                }
            }
        }
        for k in 0..R {
            out[r0 + k] = hsum(acc[k]) + accm[k];
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) fn matmul(w: &QMatrix, x: &QActs, out: &mut [f32], rows: core::ops::Range<usize>) {
        if x.rows == 1 {
            let mut r = rows.start;
            while r + 4 <= rows.end {
                weights_tile::<4>(w, x, out, r);
                r += 4;
            }
            while r < rows.end {
                weights_tile::<1>(w, x, out, r);
                r += 1;
            }
            return;
        }
        for r in rows {
            let mut i0 = 0;
            while i0 + 4 <= x.rows {
                rows_tile::<4>(w, x, out, r, i0);
                i0 += 4;
            }
            while i0 < x.rows {
                rows_tile::<1>(w, x, out, r, i0);
                i0 += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    }

    fn q4_1_matrix(rows: usize, cols: usize, seed: &mut u64) -> (QMatrix, Vec<f32>) {
        let mut data = Vec::new();
        let mut dense = vec![0f32; rows * cols];
        for r in 0..rows {
            for b in 0..cols / QK {
                let d = 0.01 + lcg(seed).abs() * 0.02;
                let m = lcg(seed) * 0.1;
                data.extend_from_slice(&f16::from_f32(d).to_le_bytes());
                data.extend_from_slice(&f16::from_f32(m).to_le_bytes());
                let (d, m) = (f16::from_f32(d).to_f32(), f16::from_f32(m).to_f32());
                for j in 0..16 {
                    let lo = ((lcg(seed) + 0.5) * 15.99) as u8;
                    let hi = ((lcg(seed) + 0.5) * 15.99) as u8;
                    data.push(lo | (hi << 4));
                    dense[r * cols + b * QK + j] = f32::from(lo) * d + m;
                    dense[r * cols + b * QK + j + 16] = f32::from(hi) * d + m;
                }
            }
        }
        (QMatrix::from_blocks(Format::Q4_1, rows, cols, &data), dense)
    }

    /// Every feature the SIMD kernels are compiled with (`#[target_feature(enable = ...)]`) is one
    /// that `has_avx2` detects: a kernel built for a feature the CPU lacks is undefined behaviour.
    #[test]
    fn has_avx2_detects_every_feature_the_kernels_enable() {
        let src = include_str!("kernels.rs");
        let detect = src
            .split("pub fn has_avx2")
            .nth(1)
            .and_then(|rest| rest.split("\n}\n").next())
            .unwrap();
        let mut enabled = 0;
        for attr in src.split("#[target_feature(enable = \"").skip(1) {
            for feature in attr.split('"').next().unwrap().split(',') {
                enabled += 1;
                assert!(
                    detect.contains(&format!("is_x86_feature_detected!(\"{feature}\")")),
                    "the kernels enable `{feature}` but has_avx2 does not check it"
                );
            }
        }
        assert!(enabled >= 3, "found {enabled} enabled features");
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            assert!(std::arch::is_x86_feature_detected!("f16c"));
            assert!(std::arch::is_x86_feature_detected!("fma"));
        }
    }

    #[test]
    fn kernels_match_a_dense_reference() {
        let mut seed = 1;
        let (rows, cols, m) = (13, 96, 6);
        let (w, dense) = q4_1_matrix(rows, cols, &mut seed);
        // The same matrix as Q8_0 (requantised from the dense values).
        let mut q8 = Vec::new();
        for r in 0..rows {
            for b in 0..cols / QK {
                let xb = &dense[r * cols + b * QK..r * cols + (b + 1) * QK];
                let d = xb.iter().fold(0f32, |a, v| a.max(v.abs())) / 127.0;
                q8.extend_from_slice(&f16::from_f32(d).to_le_bytes());
                let d = f16::from_f32(d).to_f32();
                q8.extend(xb.iter().map(|v| (v / d).round() as i8 as u8));
            }
        }
        let w8 = QMatrix::from_blocks(Format::Q8_0, rows, cols, &q8);
        let x: Vec<f32> = (0..m * cols).map(|_| lcg(&mut seed) * 4.0).collect();
        let mut acts = QActs::default();
        acts.quantize(&x, m, cols);
        let mut row = vec![0f32; cols];
        w.dequantize_row(3, &mut row);
        assert!((row[5] - dense[3 * cols + 5]).abs() < 1e-6);
        for wm in [&w, &w8] {
            let mut fast = vec![0f32; m * rows];
            let mut slow = vec![0f32; m * rows];
            matmul(wm, &acts, &mut fast, 0..rows);
            portable::matmul(wm, &acts, &mut slow, 0..rows);
            for i in 0..m {
                for r in 0..rows {
                    let want: f32 = (0..cols)
                        .map(|k| x[i * cols + k] * dense[r * cols + k])
                        .sum();
                    let (f, s) = (fast[i * rows + r], slow[i * rows + r]);
                    assert!(
                        (f - s).abs() < 1e-3 * (1.0 + s.abs()),
                        "{:?} simd {f} vs portable {s}",
                        wm.format
                    );
                    assert!(
                        (s - want).abs() < 0.05 * (1.0 + want.abs()),
                        "{:?} {s} vs dense {want}",
                        wm.format
                    );
                }
            }
        }
    }
}
