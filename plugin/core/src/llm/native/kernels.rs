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
            Blocks::Owned(pack(format, rows, cols, &data))
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
            data: Blocks::Owned(pack(self.format, self.rows, self.cols, &self.data)),
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
fn pack(format: Format, rows: usize, cols: usize, src: &[u8]) -> Vec<u8> {
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

mod portable {
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
}

/// [`Format`] as a constant for the SIMD kernels' const generic, so each kernel is compiled once
/// per format with its block decoding inlined and its accumulators in registers.
#[cfg(target_arch = "x86_64")]
mod format_id {
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
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
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

/// The packed layout's kernels (see [`QMatrix::pack`]): `vpdpbusd` multiplies the unsigned
/// weight bytes of eight rows by four activation bytes broadcast to every lane, so each of the
/// eight float lanes of an accumulator is one output row.
#[cfg(target_arch = "x86_64")]
mod vnni {
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
    fn matmul_as<const F: u8>(
        w: &QMatrix,
        x: &QActs,
        out: &mut [f32],
        rows: core::ops::Range<usize>,
    ) {
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
    /// that `has_avx2` or `has_vnni` detects: a kernel built for a feature the CPU lacks is
    /// undefined behaviour.
    #[test]
    fn the_detectors_check_every_feature_the_kernels_enable() {
        let src = include_str!("kernels.rs");
        let detector = |name: &str| {
            src.split(&format!("pub fn {name}"))
                .nth(1)
                .and_then(|rest| rest.split("\n}\n").next())
                .unwrap()
                .to_string()
        };
        // has_vnni calls has_avx2, so between them they check every feature.
        let detect = detector("has_avx2") + &detector("has_vnni");
        assert!(detector("has_vnni").contains("has_avx2()"));
        let mut enabled = 0;
        for attr in src.split("#[target_feature(enable = \"").skip(1) {
            for feature in attr.split('"').next().unwrap().split(',') {
                enabled += 1;
                assert!(
                    detect.contains(&format!("is_x86_feature_detected!(\"{feature}\")")),
                    "the kernels enable `{feature}` but neither has_avx2 nor has_vnni checks it"
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
        let dtypes = [
            GgmlDType::Q4_1,
            GgmlDType::Q5_0,
            GgmlDType::Q8_0,
            GgmlDType::Q4K,
            GgmlDType::Q6K,
        ];
        // 25 rows never pack; 24 do where the CPU has the VNNI kernels (and the format a layout).
        for (rows, cols) in [(25, 512), (24, 512)] {
            let mut seed = 1;
            let dense: Vec<f32> = (0..rows * cols).map(|_| lcg(&mut seed)).collect();
            let t = Tensor::from_vec(dense, (rows, cols), &Device::Cpu).unwrap();
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
                assert_eq!(
                    w.packed(),
                    rows % PACK == 0 && has_vnni(),
                    "{format:?} {rows} rows"
                );
                if format != Format::Q4K {
                    assert_eq!(w.data.len(), q.data().unwrap().len(), "same size packed");
                }
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
                check_kernels(&w, &want, &mut seed);
                if rows % PACK == 0 {
                    // The packed layout and its kernels, whatever this CPU runs.
                    let file = QMatrix::in_file_layout(format, rows, cols, &q.data().unwrap());
                    let packed = file.packed_copy();
                    for r in 0..rows {
                        for b in 0..cols / QK {
                            let (a, p) = (file.block(r, b), packed.block(r, b));
                            assert_eq!((a.v, a.scale, a.m), (p.v, p.scale, p.m), "{format:?}");
                        }
                    }
                    check_kernels(&file, &want, &mut seed);
                }
            }
        }
    }

    /// The SIMD and portable kernels agree with each other and with the dense product `want`,
    /// for one activation row and several, over all rows and over a range cutting groups.
    fn check_kernels(w: &QMatrix, want: &[f32], seed: &mut u64) {
        let (rows, cols, format) = (w.rows, w.cols, w.format);
        for m in [1, 6] {
            let x: Vec<f32> = (0..m * cols).map(|_| lcg(seed) * 4.0).collect();
            let mut acts = QActs::default();
            acts.quantize(&x, m, cols);
            let mut fast = vec![0f32; m * rows];
            let mut slow = vec![0f32; m * rows];
            matmul_rows(w, &acts, &mut fast, 0..rows);
            portable::matmul(w, &acts, &mut slow, 0..rows);
            // A chunk of rows (as a worker thread computes it) is the same slice of the product.
            // Worker chunks start and end on whole groups of the packed layout; rows of a group
            // that a range cuts go through the portable decode, so they agree to rounding.
            let mut part = vec![0f32; m * 16];
            matmul_rows(w, &acts, &mut part, 4..20);
            for i in 0..m {
                let (got, all) = (&part[i * 16..i * 16 + 16], &fast[i * rows + 4..]);
                assert_eq!(got[4..12], all[4..12], "{format:?}: a whole group");
                for (a, b) in got.iter().zip(all) {
                    assert!(
                        (a - b).abs() < 1e-4 * (1.0 + b.abs()),
                        "{format:?}: {a} vs {b}"
                    );
                }
                if !w.packed() {
                    assert_eq!(got, &all[..16], "{format:?}: file layout, row by row");
                }
            }
            for i in 0..m {
                for r in 0..rows {
                    let exact: f32 = (0..cols)
                        .map(|k| x[i * cols + k] * want[r * cols + k])
                        .sum();
                    let (f, s) = (fast[i * rows + r], slow[i * rows + r]);
                    assert!(
                        (f - s).abs() < 1e-3 * (1.0 + s.abs()),
                        "{format:?} packed {} m {m}: simd {f} vs portable {s}",
                        w.packed()
                    );
                    // Rounding each activation to its block's 8-bit step (`amax / 127`) moves
                    // the product by at most half a step per weight.
                    let bound: f32 = (0..cols)
                        .map(|k| {
                            let blk = &x[i * cols + k / QK * QK..][..QK];
                            let step = blk.iter().fold(0f32, |a, v| a.max(v.abs())) / 127.0;
                            want[r * cols + k].abs() * step / 2.0
                        })
                        .sum();
                    assert!(
                        (s - exact).abs() <= bound * 1.01 + 1e-4,
                        "{format:?} m {m}: {s} vs dense {exact} (bound {bound})"
                    );
                }
            }
        }
    }
}
