//! Quantised matrix kernels with runtime CPU detection: AVX2, FMA and F16C where the CPU has all
//! three (checked once, at run time, so one binary serves every x86-64), portable Rust elsewhere.
//!
//! Weights stay in their GGUF block format (`Q4_1`, `Q8_0`); activations are quantised per row
//! to 8-bit blocks of 32 with a scale and a block sum (`Q8_1`, as llama.cpp does), so every
//! dot product is integer multiply-adds plus one float FMA per block.
//!
//! Where the CPU has AVX-512 VNNI (`vpdpbusd`), the 32-element formats are repacked at load into
//! groups of [`PACK`] rows interleaved four bytes at a time, the same size as in the file (the
//! layout of llama.cpp's `repack.cpp`): one multiply-add then serves eight rows with the same four
//! activation bytes, and a block's scales convert to floats once for all eight, so a decode step
//! spends its time reading weights rather than shuffling them.

#![expect(
    unsafe_code,
    reason = "SIMD intrinsics (core::arch) behind runtime feature detection; each unsafe block is a target_feature call made only after is_x86_feature_detected! said yes"
)]

use std::sync::{Mutex, OnceLock};

use half::f16;

use super::pool;

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
    pub const fn block_bytes(self) -> usize {
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

    /// Bytes of one record of the packed layout ([`PACK`] rows of one block; see
    /// `QMatrix::pack`): the file's size, but for `Q4_K`'s scales kept as bytes (+2.8 %).
    const fn record(self) -> usize {
        match self {
            Format::Q4K => 1184,
            _ => self.block_bytes() * PACK,
        }
    }
}

/// Rows per group of the packed layout: one 256-bit register holds four bytes of each.
pub const PACK: usize = 8;

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
    /// The GGUF blocks, row after row; or, when [`QMatrix::packed`], the same blocks regrouped
    /// [`PACK`] rows at a time (see `pack`).
    pub data: Blocks,
    /// Whether `data` is in the packed layout.
    packed: bool,
}

/// Where a matrix's bytes live.
#[derive(Debug, Clone)]
pub enum Blocks {
    /// Memory of its own (packed, converted, or copied).
    Owned(Vec<u8>),
    /// A tensor of a memory-mapped model file, read in place.
    Mapped(crate::llm::gguf::Mapped),
}

impl core::ops::Deref for Blocks {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Blocks::Owned(v) => v,
            Blocks::Mapped(m) => m,
        }
    }
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
    /// Copies raw GGUF blocks (`cols` must be a multiple of the format's block; the loader
    /// checks) into a matrix; see [`QMatrix::new`].
    pub fn from_blocks(format: Format, rows: usize, cols: usize, data: &[u8]) -> Self {
        let n = Self::bytes(format, rows, cols);
        Self::new(format, rows, cols, Blocks::Owned(data[..n].to_vec()))
    }

    /// A matrix over GGUF blocks (`cols` a multiple of the format's block; `data` at least
    /// [`QMatrix::bytes`] long), packed into memory of its own for the VNNI kernels where this
    /// CPU has them and the row count allows, else kept where it is (a mapped file's pages stay
    /// the page cache's: nothing is copied).
    pub fn new(format: Format, rows: usize, cols: usize, data: Blocks) -> Self {
        debug_assert!(cols.is_multiple_of(format.block_elements()));
        debug_assert!(data.len() >= Self::bytes(format, rows, cols));
        let packed = rows.is_multiple_of(PACK) && has_vnni();
        let data = if packed {
            Blocks::Owned(pack::pack(format, rows, cols, &data))
        } else {
            data
        };
        Self {
            format,
            rows,
            cols,
            data,
            packed,
        }
    }

    /// Bytes of a `rows` x `cols` matrix in GGUF blocks of `format` (and in the packed layout).
    pub fn bytes(format: Format, rows: usize, cols: usize) -> usize {
        rows * cols / format.block_elements() * format.block_bytes()
    }

    /// Wraps raw GGUF blocks as they are in the file.
    #[cfg(test)]
    fn in_file_layout(format: Format, rows: usize, cols: usize, data: &[u8]) -> Self {
        let n = Self::bytes(format, rows, cols);
        Self {
            format,
            rows,
            cols,
            data: Blocks::Owned(data[..n].to_vec()),
            packed: false,
        }
    }

    /// The same matrix in the packed layout (whatever this CPU runs).
    #[cfg(test)]
    fn packed_copy(&self) -> Self {
        Self {
            data: Blocks::Owned(pack::pack(self.format, self.rows, self.cols, &self.data)),
            packed: true,
            ..self.clone()
        }
    }

    /// Whether the blocks are in the packed layout.
    pub fn packed(&self) -> bool {
        self.packed
    }

    /// Activation block `b` of row `r`, in either layout.
    fn block(&self, r: usize, b: usize) -> Block32 {
        if !self.packed {
            return Self::decode(self.format, self.row(r), b);
        }
        let format = self.format;
        let (per, size) = (format.block_elements() / QK, format.record());
        let records = self.cols / format.block_elements();
        let (group, l, j) = (r / PACK, r % PACK, b % per);
        let rec = &self.data[(group * records + b / per) * size..][..size];
        let mut v = [0i8; QK];
        for (i, q) in v.iter_mut().enumerate() {
            let (g, at) = (i / 4, 4 * l + i % 4);
            let lo = (rec[128 * j + 32 * (g % 4) + at] >> (4 * (g / 4))) & 0x0F;
            *q = match format {
                Format::Q8_0 => (rec[32 * g + at] ^ 0x80) as i8,
                Format::Q5_0 => (lo | (((rec[128 + at] >> g) & 1) << 4)) as i8 - 16,
                Format::Q6K => {
                    let hi = (rec[1024 + 64 * j + 32 * (g / 4) + at] >> (2 * (g % 4))) & 3;
                    (lo | (hi << 4)) as i8 - 32
                }
                Format::Q4_1 | Format::Q4K => lo as i8,
            };
        }
        let (scale, m) = match format {
            Format::Q8_0 => ([f16_at(rec, 256 + 2 * l); 2], 0.0),
            Format::Q5_0 => ([f16_at(rec, 160 + 2 * l); 2], 0.0),
            Format::Q4_1 => ([f16_at(rec, 128 + 2 * l); 2], f16_at(rec, 144 + 2 * l)),
            Format::Q4K => {
                let (d, dmin) = (f16_at(rec, 1024 + 2 * l), f16_at(rec, 1040 + 2 * l));
                let (sc, mn) = (rec[1056 + 8 * j + l], rec[1120 + 8 * j + l]);
                ([d * f32::from(sc); 2], -dmin * f32::from(mn))
            }
            Format::Q6K => {
                let d = f16_at(rec, 1664 + 2 * l);
                let sc = |h: usize| d * f32::from(rec[1536 + 16 * j + 8 * h + l] as i8);
                ([sc(0), sc(1)], 0.0)
            }
        };
        Block32 { v, scale, m }
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
        for (b, o) in out[..self.cols].chunks_exact_mut(QK).enumerate() {
            let blk = self.block(r, b);
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
    /// `d * sum(q)` of each block's first 16 (for `Q6_K`'s half-blocks).
    pub h: Vec<f32>,
    /// Quantised values, `rows * blocks * 32`.
    pub q: Vec<i8>,
}

impl QActs {
    /// Quantises `x` (`rows` rows of `cols`) into `self`, reusing its buffers (a long prompt's
    /// rows spread over the engine's threads).
    pub fn quantize(&mut self, x: &[f32], rows: usize, cols: usize) {
        let blocks = cols / QK;
        self.rows = rows;
        self.blocks = blocks;
        self.d.resize(rows * blocks, 0.0);
        self.s.resize(rows * blocks, 0.0);
        self.h.resize(rows * blocks, 0.0);
        self.q.resize(rows * blocks * QK, 0);
        let x = &x[..rows * cols];
        // Rows per chunk of work: enough that a chunk outweighs handing it out.
        let per = 16;
        if rows < 2 * per {
            quantize_rows(x, &mut self.q, &mut self.d, &mut self.s, &mut self.h);
            return;
        }
        let b = per * blocks;
        /// One chunk's share of each buffer.
        type Share<'a> = (&'a mut [i8], &'a mut [f32], &'a mut [f32], &'a mut [f32]);
        let parts: Vec<Mutex<Share<'_>>> = self
            .q
            .chunks_mut(b * QK)
            .zip(self.d.chunks_mut(b))
            .zip(self.s.chunks_mut(b))
            .zip(self.h.chunks_mut(b))
            .map(|(((q, d), s), h)| Mutex::new((q, d, s, h)))
            .collect();
        pool::for_each(parts.len(), &|c| {
            if let Ok(mut p) = parts[c].lock() {
                let (q, d, s, h) = &mut *p;
                let xs = &x[c * b * QK..(c * b * QK + q.len()).min(x.len())];
                quantize_rows(xs, q, d, s, h);
            }
        });
    }
}

/// Quantises the blocks of `x` into `q`, with each block's scale `d`, `d * sum(q)` in `s` and
/// the same over its first half in `h`. Rounds half away from zero, as llama.cpp does.
fn quantize_rows(x: &[f32], q: &mut [i8], d: &mut [f32], s: &mut [f32], h: &mut [f32]) {
    // `roundf` without the library call: add the float just below one half, with the value's
    // sign, and truncate (LLVM's own lowering of `round`; exact for every float).
    const HALF: f32 = 0.499_999_97;
    for (i, xb) in x.chunks_exact(QK).enumerate() {
        let amax = xb.iter().fold(0f32, |a, v| a.max(v.abs()));
        let di = amax / 127.0;
        let id = if di > 0.0 { 1.0 / di } else { 0.0 };
        let qb = &mut q[i * QK..(i + 1) * QK];
        for (o, v) in qb.iter_mut().zip(xb) {
            let t = v * id;
            *o = (t + HALF.copysign(t)) as i8;
        }
        let sum = qb.iter().map(|&v| i32::from(v)).sum::<i32>();
        let half = qb[..QK / 2].iter().map(|&v| i32::from(v)).sum::<i32>();
        d[i] = di;
        s[i] = di * sum as f32;
        h[i] = di * half as f32;
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

/// Whether this CPU runs the packed VNNI kernels: AVX-512 VNNI on 256-bit registers
/// (AVX512VNNI and AVX512VL, with AVX512F) besides [`has_avx2`]'s features (checked once).
pub fn has_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| {
            has_avx2()
                && std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vl")
                && std::arch::is_x86_feature_detected!("avx512vnni")
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
/// engine's [`threads`] when there are several and the product is big enough to pay for it.
///
/// `out` holds `x.rows` rows of `w.rows` values.
pub fn matmul(w: &QMatrix, x: &QActs, out: &mut [f32]) {
    let n = w.rows;
    let threads = pool::running();
    if threads < 2 || n * w.cols * x.rows < 1 << 16 {
        matmul_rows(w, x, out, 0..n);
        return;
    }
    // About four chunks per thread (claimed one at a time, so they even out when a game shares
    // the cores), each a multiple of the packed layout's group (and of the decode tile's rows).
    let chunk = n.div_ceil(threads * 4).next_multiple_of(PACK);
    let count = n.div_ceil(chunk);
    if x.rows == 1 {
        let parts: Vec<Mutex<&mut [f32]>> = out[..n].chunks_mut(chunk).map(Mutex::new).collect();
        pool::for_each(count, &|c| {
            if let Ok(mut o) = parts[c].lock() {
                let len = o.len();
                matmul_rows(w, x, &mut o, c * chunk..c * chunk + len);
            }
        });
        return;
    }
    let parts: Vec<OnceLock<Vec<f32>>> = (0..count).map(|_| OnceLock::new()).collect();
    pool::for_each(count, &|c| {
        let rows = c * chunk..((c + 1) * chunk).min(n);
        let mut o = vec![0f32; x.rows * rows.len()];
        matmul_rows(w, x, &mut o, rows);
        let _ = parts[c].set(o);
    });
    for (c, o) in parts.iter().enumerate() {
        let Some(o) = o.get() else { continue };
        let len = o.len() / x.rows;
        for i in 0..x.rows {
            out[i * n + c * chunk..i * n + c * chunk + len]
                .copy_from_slice(&o[i * len..(i + 1) * len]);
        }
    }
}

pub use super::pool::threads;

/// `out[i * rows.len() + (r - rows.start)] = dot(x row i, w row r)` for the rows `rows` of `w`.
fn matmul_rows(w: &QMatrix, x: &QActs, out: &mut [f32], rows: core::ops::Range<usize>) {
    debug_assert_eq!(w.cols / QK, x.blocks);
    debug_assert!(out.len() >= x.rows * rows.len());
    #[cfg(target_arch = "x86_64")]
    if w.packed {
        // SAFETY: only a CPU with the VNNI kernels' features packs (`QMatrix::from_blocks`).
        unsafe { vnni::matmul(w, x, out, rows) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2, FMA and F16C (checked above); slices are bounds-checked inside.
        unsafe { avx2::matmul(w, x, out, rows) };
        return;
    }
    portable::matmul(w, x, out, rows);
}

mod pack;
mod portable;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod format_id;
#[cfg(target_arch = "x86_64")]
mod vnni;

#[cfg(test)]
pub(super) mod tests;
