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

/// Elements per activation block (and per block of the 32-element weight formats).
pub const QK: usize = 32;

/// Which weight block format a [`QMatrix`] holds (GGUF's layouts, byte for byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// 32 x 4-bit with scale and minimum: `d: f16, m: f16, qs: [u8; 16]` (20 bytes).
    Q4_1,
    /// 32 x 5-bit, offset 16: `d: f16, qh: u32, qs: [u8; 16]` (22 bytes).
    Q5_0,
    /// 32 x 8-bit with scale: `d: f16, qs: [i8; 32]` (34 bytes).
    Q8_0,
    /// 256 x 4-bit in eight sub-blocks of 32 with 6-bit scales and minimums:
    /// `d: f16, dmin: f16, scales: [u8; 12], qs: [u8; 128]` (144 bytes).
    Q4K,
    /// 256 x 6-bit, offset 32, in sixteen sub-blocks of 16 with 8-bit scales:
    /// `ql: [u8; 128], qh: [u8; 64], scales: [i8; 16], d: f16` (210 bytes).
    Q6K,
}

impl Format {
    /// The format of a GGUF tensor type this engine has kernels for.
    pub fn from_ggml(dtype: candle_core::quantized::GgmlDType) -> Option<Self> {
        use candle_core::quantized::GgmlDType;
        match dtype {
            GgmlDType::Q4_1 => Some(Format::Q4_1),
            GgmlDType::Q5_0 => Some(Format::Q5_0),
            GgmlDType::Q8_0 => Some(Format::Q8_0),
            GgmlDType::Q4K => Some(Format::Q4K),
            GgmlDType::Q6K => Some(Format::Q6K),
            _ => None,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            Format::Q4_1 => 20,
            Format::Q5_0 => 22,
            Format::Q8_0 => 34,
            Format::Q4K => 144,
            Format::Q6K => 210,
        }
    }

    /// Elements per block (a row's length must be a multiple of it).
    pub fn block_elements(self) -> usize {
        match self {
            Format::Q4_1 | Format::Q5_0 | Format::Q8_0 => QK,
            Format::Q4K | Format::Q6K => 256,
        }
    }

    /// Whether the decoded values are unsigned (`w = scale * v + m`, with `m` per block) rather
    /// than signed (`w = scale * v`).
    const fn unsigned(self) -> bool {
        matches!(self, Format::Q4_1 | Format::Q4K)
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
    /// Input features (a multiple of the format's block).
    pub cols: usize,
    /// The GGUF blocks, row after row.
    pub data: Vec<u8>,
}

/// The 32 weights of one activation block of a row: `w[j] = scale[j / 16] * v[j] + m`.
#[derive(Debug, Clone, Copy)]
struct Block32 {
    v: [i8; QK],
    scale: [f32; 2],
    m: f32,
}

/// Sub-block `j`'s 6-bit scale and minimum of a `Q4_K` block (GGML's `get_scale_min_k4`).
fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

impl QMatrix {
    /// Wraps raw GGUF blocks (`cols` must be a multiple of the format's block; the loader checks).
    pub fn from_blocks(format: Format, rows: usize, cols: usize, data: &[u8]) -> Self {
        debug_assert!(cols.is_multiple_of(format.block_elements()));
        let n = rows * cols / format.block_elements() * format.block_bytes();
        Self {
            format,
            rows,
            cols,
            data: data[..n].to_vec(),
        }
    }

    /// The bytes of row `r`.
    fn row(&self, r: usize) -> &[u8] {
        let n = self.cols / self.format.block_elements() * self.format.block_bytes();
        &self.data[r * n..(r + 1) * n]
    }

    /// Decodes activation block `b` (elements `32 b..32 b + 32`) of a row's bytes.
    fn decode(format: Format, row: &[u8], b: usize) -> Block32 {
        let mut v = [0i8; QK];
        match format {
            Format::Q4_1 | Format::Q5_0 | Format::Q8_0 => {
                let blk = &row[b * format.block_bytes()..(b + 1) * format.block_bytes()];
                let d = f16_at(blk, 0);
                let mut m = 0.0;
                match format {
                    Format::Q4_1 => {
                        m = f16_at(blk, 2);
                        for j in 0..16 {
                            v[j] = (blk[4 + j] & 0x0F) as i8;
                            v[j + 16] = (blk[4 + j] >> 4) as i8;
                        }
                    }
                    Format::Q5_0 => {
                        let qh = u32::from_le_bytes([blk[2], blk[3], blk[4], blk[5]]);
                        for j in 0..16 {
                            let lo = (blk[6 + j] & 0x0F) | ((((qh >> j) & 1) as u8) << 4);
                            let hi = (blk[6 + j] >> 4) | ((((qh >> (j + 16)) & 1) as u8) << 4);
                            v[j] = lo as i8 - 16;
                            v[j + 16] = hi as i8 - 16;
                        }
                    }
                    _ => {
                        for j in 0..QK {
                            v[j] = blk[2 + j] as i8;
                        }
                    }
                }
                Block32 {
                    v,
                    scale: [d, d],
                    m,
                }
            }
            Format::Q4K => {
                let blk = &row[b / 8 * 144..(b / 8 + 1) * 144];
                let (d, dmin) = (f16_at(blk, 0), f16_at(blk, 2));
                let j = b % 8;
                let (sc, mn) = scale_min_k4(j, &blk[4..16]);
                let qs = &blk[16 + 32 * (j / 2)..16 + 32 * (j / 2) + 32];
                for (l, q) in qs.iter().enumerate() {
                    v[l] = if j.is_multiple_of(2) {
                        q & 0x0F
                    } else {
                        q >> 4
                    } as i8;
                }
                let s = d * f32::from(sc);
                Block32 {
                    v,
                    scale: [s, s],
                    m: -dmin * f32::from(mn),
                }
            }
            Format::Q6K => {
                let blk = &row[b / 8 * 210..(b / 8 + 1) * 210];
                let d = f16_at(blk, 208);
                let (n, g) = ((b % 8) / 4, b % 4);
                let ql = &blk[64 * n + 32 * (g % 2)..];
                let qh = &blk[128 + 32 * n..];
                let sc = &blk[192 + 8 * n..];
                for l in 0..QK {
                    let lo = if g < 2 { ql[l] & 0x0F } else { ql[l] >> 4 };
                    let hi = (qh[l] >> (2 * g)) & 3;
                    v[l] = (lo | (hi << 4)) as i8 - 32;
                }
                Block32 {
                    v,
                    scale: [
                        d * f32::from(sc[2 * g] as i8),
                        d * f32::from(sc[2 * g + 1] as i8),
                    ],
                    m: 0.0,
                }
            }
        }
    }

    /// Dequantises row `r` into `out` (for embedding look-ups).
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        let row = self.row(r);
        for (b, o) in out[..self.cols].chunks_exact_mut(QK).enumerate() {
            let blk = Self::decode(self.format, row, b);
            for (j, o) in o.iter_mut().enumerate() {
                *o = blk.scale[j / 16] * f32::from(blk.v[j]) + blk.m;
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

/// `out[i * w.rows + r] = dot(x row i, w row r)` for every row `r` of `w`, split across the
/// worker pool of [`threads`] threads when there is one and the product is big enough to pay for it.
///
/// `out` holds `x.rows` rows of `w.rows` values.
pub fn matmul(w: &QMatrix, x: &QActs, out: &mut [f32]) {
    use rayon::prelude::*;
    let n = w.rows;
    let pool = pool().filter(|_| n * w.cols * x.rows >= 1 << 18);
    let Some(pool) = pool else {
        matmul_rows(w, x, out, 0..n);
        return;
    };
    // About four chunks per thread (they finish unevenly when a game shares the cores), each a
    // multiple of the decode tile's four rows.
    let chunk = n
        .div_ceil(pool.current_num_threads() * 4)
        .next_multiple_of(4);
    if x.rows == 1 {
        pool.install(|| {
            out[..n]
                .par_chunks_mut(chunk)
                .enumerate()
                .for_each(|(c, o)| matmul_rows(w, x, o, c * chunk..c * chunk + o.len()));
        });
        return;
    }
    let parts: Vec<Vec<f32>> = pool.install(|| {
        (0..n.div_ceil(chunk))
            .into_par_iter()
            .map(|c| {
                let rows = c * chunk..((c + 1) * chunk).min(n);
                let mut o = vec![0f32; x.rows * rows.len()];
                matmul_rows(w, x, &mut o, rows);
                o
            })
            .collect()
    });
    for (c, o) in parts.iter().enumerate() {
        let len = o.len() / x.rows;
        for i in 0..x.rows {
            out[i * n + c * chunk..i * n + c * chunk + len]
                .copy_from_slice(&o[i * len..(i + 1) * len]);
        }
    }
}

/// The native engine's thread count: `CANDLE_NUM_THREADS` (the setting candle's engine reads,
/// so one setting serves both), else `RAYON_NUM_THREADS`, else the available cores.
pub fn threads() -> usize {
    ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"]
        .iter()
        .find_map(|k| {
            std::env::var(k)
                .ok()?
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
        })
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// The native engine's worker pool of [`threads`] threads (read once, at the first product),
/// or none for one thread.
fn pool() -> Option<&'static rayon::ThreadPool> {
    use std::sync::OnceLock;
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let n = threads();
        if n < 2 {
            return None;
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("sprout-llm-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// `out[i * rows.len() + (r - rows.start)] = dot(x row i, w row r)` for the rows `rows` of `w`.
fn matmul_rows(w: &QMatrix, x: &QActs, out: &mut [f32], rows: core::ops::Range<usize>) {
    debug_assert_eq!(w.cols / QK, x.blocks);
    debug_assert!(out.len() >= x.rows * rows.len());
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2, FMA and F16C (checked above); slices are bounds-checked inside.
        unsafe { avx2::matmul(w, x, out, rows) };
        return;
    }
    portable::matmul(w, x, out, rows);
}

mod portable {
    use super::{QActs, QK, QMatrix};

    pub(super) fn matmul(w: &QMatrix, x: &QActs, out: &mut [f32], rows: core::ops::Range<usize>) {
        let (nb, n, base) = (x.blocks, rows.len(), rows.start);
        for r in rows {
            let row = w.row(r);
            for i in 0..x.rows {
                out[i * n + r - base] = 0.0;
            }
            for b in 0..nb {
                let blk = QMatrix::decode(w.format, row, b);
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
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::*;

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
    /// [`Format`] as a constant, so each kernel is compiled once per format with its block
    /// decoding inlined and its accumulators in registers.
    const Q4_1: u8 = 0;
    const Q5_0: u8 = 1;
    const Q8_0: u8 = 2;
    const Q4K: u8 = 3;
    const Q6K: u8 = 4;

    const fn format(f: u8) -> Format {
        match f {
            Q4_1 => Format::Q4_1,
            Q5_0 => Format::Q5_0,
            Q8_0 => Format::Q8_0,
            Q4K => Format::Q4K,
            _ => Format::Q6K,
        }
    }

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
    fn matmul_as<const F: u8>(
        w: &QMatrix,
        x: &QActs,
        out: &mut [f32],
        rows: core::ops::Range<usize>,
    ) {
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
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A reproducible value in `-0.5..0.5` (the native engine's tests share it).
    pub(in crate::llm::native) fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
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

    /// Every format decodes exactly as candle (GGML's reference) dequantises it, and the SIMD
    /// and portable kernels agree with each other and with the dense product, for one activation
    /// row (the decode tile) and several (the prompt tile), with row counts off the tile size.
    #[test]
    fn every_format_decodes_as_ggml_does_and_the_kernels_agree() {
        use candle_core::quantized::{GgmlDType, QTensor};
        use candle_core::{Device, Tensor};
        let (rows, cols) = (9, 512);
        let mut seed = 1;
        let dense: Vec<f32> = (0..rows * cols).map(|_| lcg(&mut seed)).collect();
        let t = Tensor::from_vec(dense, (rows, cols), &Device::Cpu).unwrap();
        let dtypes = [
            GgmlDType::Q4_1,
            GgmlDType::Q5_0,
            GgmlDType::Q8_0,
            GgmlDType::Q4K,
            GgmlDType::Q6K,
        ];
        for dtype in dtypes {
            let format = Format::from_ggml(dtype).unwrap();
            let q = QTensor::quantize(&t, dtype).unwrap();
            let want: Vec<f32> = q
                .dequantize(&Device::Cpu)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let w = QMatrix::from_blocks(format, rows, cols, &q.data().unwrap());
            let mut row = vec![0f32; cols];
            for r in 0..rows {
                w.dequantize_row(r, &mut row);
                for (c, (a, b)) in row.iter().zip(&want[r * cols..]).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-6,
                        "{format:?} row {r} col {c}: {a} vs {b}"
                    );
                }
            }
            for m in [1, 6] {
                let x: Vec<f32> = (0..m * cols).map(|_| lcg(&mut seed) * 4.0).collect();
                let mut acts = QActs::default();
                acts.quantize(&x, m, cols);
                let mut fast = vec![0f32; m * rows];
                let mut slow = vec![0f32; m * rows];
                matmul_rows(&w, &acts, &mut fast, 0..rows);
                portable::matmul(&w, &acts, &mut slow, 0..rows);
                // A chunk of rows (as a worker thread computes it) is the same slice of the product.
                let mut part = vec![0f32; m * 4];
                matmul_rows(&w, &acts, &mut part, 4..8);
                for i in 0..m {
                    assert_eq!(part[i * 4..i * 4 + 4], fast[i * rows + 4..i * rows + 8]);
                }
                for i in 0..m {
                    for r in 0..rows {
                        let exact: f32 = (0..cols)
                            .map(|k| x[i * cols + k] * want[r * cols + k])
                            .sum();
                        let (f, s) = (fast[i * rows + r], slow[i * rows + r]);
                        assert!(
                            (f - s).abs() < 1e-3 * (1.0 + s.abs()),
                            "{format:?} m {m}: simd {f} vs portable {s}"
                        );
                        assert!(
                            (s - exact).abs() < 0.05 * (1.0 + exact.abs()),
                            "{format:?} m {m}: {s} vs dense {exact}"
                        );
                    }
                }
            }
        }
    }
}
