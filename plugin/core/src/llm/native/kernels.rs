//! Quantised matrix kernels with runtime CPU detection: AVX2 + FMA where the CPU has them (checked
//! once, at run time, so one binary serves every x86-64), portable Rust elsewhere.
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

/// A quantised matrix of `rows` x `cols` (row-major: one output feature per row), its GGUF
/// blocks split into `f32` scales (converted once at load) and packed quants.
#[derive(Debug, Clone)]
pub struct QMatrix {
    /// Block format.
    pub format: Format,
    /// Output features.
    pub rows: usize,
    /// Input features (a multiple of 32).
    pub cols: usize,
    /// Block scales, `rows * cols / 32`.
    pub d: Vec<f32>,
    /// Block minimums (`Q4_1`; empty for `Q8_0`).
    pub m: Vec<f32>,
    /// Quants: 16 bytes per block (`Q4_1`, two per byte) or 32 (`Q8_0`).
    pub qs: Vec<u8>,
}

impl QMatrix {
    /// Splits raw GGUF blocks.
    pub fn from_blocks(format: Format, rows: usize, cols: usize, data: &[u8]) -> Self {
        let bb = format.block_bytes();
        let n = rows * cols / QK;
        let mut d = Vec::with_capacity(n);
        let mut m = Vec::new();
        let mut qs = Vec::with_capacity(n * (bb - 2));
        for blk in data.chunks_exact(bb).take(n) {
            d.push(f16_at(blk, 0));
            match format {
                Format::Q4_1 => {
                    m.push(f16_at(blk, 2));
                    qs.extend_from_slice(&blk[4..20]);
                }
                Format::Q8_0 => qs.extend_from_slice(&blk[2..34]),
            }
        }
        Self {
            format,
            rows,
            cols,
            d,
            m,
            qs,
        }
    }

    fn qbytes(&self) -> usize {
        match self.format {
            Format::Q4_1 => 16,
            Format::Q8_0 => 32,
        }
    }

    /// Dequantises row `r` into `out` (for embedding look-ups).
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        let nb = self.cols / QK;
        let qb = self.qbytes();
        for b in 0..nb {
            let i = r * nb + b;
            let q = &self.qs[i * qb..(i + 1) * qb];
            let o = &mut out[b * QK..(b + 1) * QK];
            let d = self.d[i];
            match self.format {
                Format::Q4_1 => {
                    let m = self.m[i];
                    for j in 0..16 {
                        o[j] = f32::from(q[j] & 0x0F) * d + m;
                        o[j + 16] = f32::from(q[j] >> 4) * d + m;
                    }
                }
                Format::Q8_0 => {
                    for j in 0..QK {
                        o[j] = f32::from(q[j] as i8) * d;
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

/// Whether this CPU runs the AVX2 kernels (checked once).
pub fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
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
        // SAFETY: the CPU has AVX2 and FMA (checked above).
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
        // SAFETY: the CPU has AVX2 and FMA (checked above); slices are bounds-checked inside.
        unsafe { avx2::matmul(w, x, out, rows) };
        return;
    }
    portable::matmul(w, x, out, rows);
}

mod portable {
    use super::{Format, QActs, QK, QMatrix};

    pub(super) fn matmul(w: &QMatrix, x: &QActs, out: &mut [f32], rows: core::ops::Range<usize>) {
        let nb = x.blocks;
        let qb = w.qbytes();
        for r in rows {
            for i in 0..x.rows {
                let mut acc = 0f32;
                for b in 0..nb {
                    let wi = r * nb + b;
                    let q = &w.qs[wi * qb..(wi + 1) * qb];
                    let xq = &x.q[(i * nb + b) * QK..(i * nb + b + 1) * QK];
                    let xd = x.d[i * nb + b];
                    match w.format {
                        Format::Q4_1 => {
                            let mut sum = 0i32;
                            for j in 0..16 {
                                sum += i32::from(q[j] & 0x0F) * i32::from(xq[j]);
                                sum += i32::from(q[j] >> 4) * i32::from(xq[j + 16]);
                            }
                            acc += w.d[wi] * xd * sum as f32 + w.m[wi] * x.s[i * nb + b];
                        }
                        Format::Q8_0 => {
                            let mut sum = 0i32;
                            for j in 0..QK {
                                sum += i32::from(q[j] as i8) * i32::from(xq[j]);
                            }
                            acc += w.d[wi] * xd * sum as f32;
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

    /// Rows of activations handled together, so each weight block is loaded once per tile.
    const TILE: usize = 4;

    #[inline]
    #[target_feature(enable = "avx2,fma")]
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
    #[target_feature(enable = "avx2,fma")]
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
    #[target_feature(enable = "avx2,fma")]
    fn dot_u8_i8(u: __m256i, s: __m256i) -> __m256 {
        let p16 = _mm256_maddubs_epi16(u, s);
        let p32 = _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
        _mm256_cvtepi32_ps(p32)
    }

    #[target_feature(enable = "avx2,fma")]
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
    #[target_feature(enable = "avx2,fma")]
    fn load_i8(q: &[i8]) -> __m256i {
        assert!(q.len() >= 32);
        // SAFETY: 32 readable bytes (asserted).
        unsafe { _mm256_loadu_si256(q.as_ptr().cast()) }
    }

    /// One activation row against four weight rows at a time (decode): four independent
    /// accumulators hide the FMA latency.
    #[target_feature(enable = "avx2,fma")]
    fn matvec(w: &QMatrix, x: &QActs, out: &mut [f32], rows: core::ops::Range<usize>) {
        const R: usize = 4;
        let nb = x.blocks;
        let qb = w.qbytes();
        let mut r0 = rows.start;
        while r0 < rows.end {
            let t = R.min(rows.end - r0);
            let mut acc = [_mm256_setzero_ps(); R];
            let mut accm = [0f32; R];
            for b in 0..nb {
                let xq = load_i8(&x.q[b * QK..(b + 1) * QK]);
                let (xd, xs) = (x.d[b], x.s[b]);
                for k in 0..t {
                    let wi = (r0 + k) * nb + b;
                    let blk = &w.qs[wi * qb..(wi + 1) * qb];
                    let d = _mm256_set1_ps(w.d[wi] * xd);
                    match w.format {
                        Format::Q4_1 => {
                            acc[k] = _mm256_fmadd_ps(d, dot_u8_i8(unpack_q4(blk), xq), acc[k]);
                            accm[k] += w.m[wi] * xs;
                        }
                        Format::Q8_0 => {
                            assert!(blk.len() >= 32);
                            // SAFETY: 32 readable bytes (asserted).
                            let wq = unsafe { _mm256_loadu_si256(blk.as_ptr().cast()) };
                            let p = dot_u8_i8(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(xq, wq));
                            acc[k] = _mm256_fmadd_ps(d, p, acc[k]);
                        }
                    }
                }
            }
            for k in 0..t {
                out[r0 + k] = hsum(acc[k]) + accm[k];
            }
            r0 += t;
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn matmul(w: &QMatrix, x: &QActs, out: &mut [f32], rows: core::ops::Range<usize>) {
        if x.rows == 1 {
            return matvec(w, x, out, rows);
        }
        let nb = x.blocks;
        let qb = w.qbytes();
        let n = w.rows;
        for r in rows {
            let mut i0 = 0;
            while i0 < x.rows {
                let t = TILE.min(x.rows - i0);
                let mut acc = [_mm256_setzero_ps(); TILE];
                let mut accm = [0f32; TILE];
                for b in 0..nb {
                    let wi = r * nb + b;
                    let blk = &w.qs[wi * qb..(wi + 1) * qb];
                    let wd = w.d[wi];
                    match w.format {
                        Format::Q4_1 => {
                            let wm = w.m[wi];
                            let wq = unpack_q4(blk);
                            for k in 0..t {
                                let xi = (i0 + k) * nb + b;
                                let xq = load_i8(&x.q[xi * QK..(xi + 1) * QK]);
                                let d = _mm256_set1_ps(wd * x.d[xi]);
                                acc[k] = _mm256_fmadd_ps(d, dot_u8_i8(wq, xq), acc[k]);
                                accm[k] += wm * x.s[xi];
                            }
                        }
                        Format::Q8_0 => {
                            assert!(blk.len() >= 32);
                            // SAFETY: 32 readable bytes (asserted).
                            let wq = unsafe { _mm256_loadu_si256(blk.as_ptr().cast()) };
                            let wabs = _mm256_sign_epi8(wq, wq);
                            for (k, a) in acc.iter_mut().enumerate().take(t) {
                                let xi = (i0 + k) * nb + b;
                                let xq = load_i8(&x.q[xi * QK..(xi + 1) * QK]);
                                let xs = _mm256_sign_epi8(xq, wq);
                                let d = _mm256_set1_ps(wd * x.d[xi]);
                                *a = _mm256_fmadd_ps(d, dot_u8_i8(wabs, xs), *a);
                            }
                        }
                    }
                }
                for k in 0..t {
                    out[(i0 + k) * n + r] = hsum(acc[k]) + accm[k];
                }
                i0 += t;
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
