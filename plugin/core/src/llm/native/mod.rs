//! Sprout's own CPU forward pass for Llama-family GGUF models (`SmolLM`, Llama, Mistral without
//! sliding windows) and Qwen2 (biases on the query, key and value projections, `NeoX` rotary
//! embedding), built for speed on ordinary CPUs.
//!
//! candle's quantised kernels are chosen at compile time (`target_feature`), so a portable
//! build runs them as scalar code, and `Q4_1` and `Q5_0` have no SIMD kernel at all. This engine
//! keeps the GGUF blocks as they are (`Q4_1`, `Q5_0`, `Q8_0`, `Q4_K`, `Q6_K`; other types are
//! converted to `Q8_0` at load),
//! picks AVX2 kernels at run time, quantises activations once per matrix product, and keeps the
//! KV cache as flat `f32` arrays. The prompt is processed in one batch (weights read once per
//! four rows). Results match candle's within quantisation noise (a test checks the logits).

pub mod kernels;
mod pool;

pub use self::pool::{set_threads, threads, threads_from_env};

use std::sync::Mutex;

use candle_core::Device;
use candle_core::quantized::GgmlDType;

use self::kernels::{Blocks, Format, QActs, QMatrix};
use super::gguf::GgufFile;
use super::{Error, Result};

/// Model shape, from the GGUF metadata.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Hidden size.
    pub dim: usize,
    /// Layers.
    pub layers: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Feed-forward size.
    pub ffn: usize,
    /// Vocabulary.
    pub vocab: usize,
    /// RMS norm epsilon.
    pub eps: f32,
    /// `RoPE` base.
    pub rope_base: f32,
    /// Context length (KV cache size).
    pub context: usize,
    /// How the rotary embedding pairs a head's dimensions.
    pub rope: Rope,
}

/// The rotary embedding's pairing of a head's dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rope {
    /// Adjacent pairs `(2i, 2i + 1)` (GGML's "normal": Llama).
    Interleaved,
    /// Halves `(i, i + d/2)` (GGML's `NeoX`: Qwen2).
    Halves,
}

impl Config {
    fn head_dim(&self) -> usize {
        self.dim / self.heads
    }
}

#[derive(Debug, Clone)]
struct Layer {
    attn_norm: Vec<f32>,
    wq: QMatrix,
    wk: QMatrix,
    wv: QMatrix,
    /// Query, key and value biases (Qwen2), in that order.
    bias: Option<[Vec<f32>; 3]>,
    wo: QMatrix,
    ffn_norm: Vec<f32>,
    gate: QMatrix,
    up: QMatrix,
    down: QMatrix,
}

/// The weights (shared by clones through `Arc`).
#[derive(Debug)]
pub struct Weights {
    config: Config,
    embed: QMatrix,
    layers: Vec<Layer>,
    norm: Vec<f32>,
    output: Option<QMatrix>,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

/// A tensor whose shape is not the one the hyper-parameters need.
fn wrong_shape(file: &GgufFile, name: &str, dims: &[usize], want: &[usize]) -> Error {
    Error::BadModelFile {
        path: file.path.clone(),
        field: format!("tensor `{name}`"),
        message: format!("has shape {dims:?}; the model's hyper-parameters need {want:?}"),
    }
}

/// The matrix `name` of `rows` x `cols` (`rows` is not checked when `None`: the vocabulary),
/// read in place from the mapped file where a kernel runs its format as stored (and copied only
/// when the VNNI layout repacks it), else converted to `Q8_0`.
fn matrix(file: &mut GgufFile, name: &str, rows: Option<usize>, cols: usize) -> Result<QMatrix> {
    let (dtype, dims, mapped) = file.tensor_bytes(name)?;
    let (rows, cols) = match dims.as_slice() {
        [r, c] if rows.is_none_or(|want| want == *r) && *c == cols && *r > 0 => (*r, *c),
        _ => {
            let want = [rows.unwrap_or(dims.first().copied().unwrap_or(1)), cols];
            return Err(wrong_shape(file, name, &dims, &want));
        }
    };
    match (Format::from_ggml(dtype), mapped) {
        (Some(f), Some(bytes)) if cols.is_multiple_of(f.block_elements()) => {
            let m = QMatrix::new(f, rows, cols, Blocks::Mapped(bytes.clone()));
            if m.packed() {
                bytes.release();
            }
            Ok(m)
        }
        (format, _) => {
            let q = file.content.tensor(&mut file.reader, name, &Device::Cpu)?;
            let (format, q) = match format {
                Some(f) if cols.is_multiple_of(f.block_elements()) => (f, q),
                _ => {
                    let f = q.dequantize(&Device::Cpu)?;
                    (
                        Format::Q8_0,
                        candle_core::quantized::QTensor::quantize(&f, GgmlDType::Q8_0)?,
                    )
                }
            };
            Ok(QMatrix::from_blocks(format, rows, cols, &q.data()?))
        }
    }
}

/// The vector `name` of `len` values, or `None` when the file has no such tensor.
fn optional_vector(file: &mut GgufFile, name: &str, len: usize) -> Result<Option<Vec<f32>>> {
    if file.content.tensor_infos.contains_key(name) {
        vector(file, name, len).map(Some)
    } else {
        Ok(None)
    }
}

/// The vector `name` of `len` values.
fn vector(file: &mut GgufFile, name: &str, len: usize) -> Result<Vec<f32>> {
    let q = file.content.tensor(&mut file.reader, name, &Device::Cpu)?;
    let dims = q.shape().dims().to_vec();
    if dims != [len] {
        return Err(wrong_shape(file, name, &dims, &[len]));
    }
    Ok(q.dequantize(&Device::Cpu)?
        .flatten_all()?
        .to_vec1::<f32>()?)
}

impl Weights {
    /// Reads a Llama-family or Qwen2 model (`general.architecture` `llama` or `qwen2`; its
    /// blocks kept as stored where a kernel exists). Every hyper-parameter is checked
    /// ([`GgufFile::check_hyperparameters`]) and every tensor must have the shape they imply, so
    /// the forward pass cannot index out of bounds.
    pub fn load(file: &mut GgufFile, context: usize) -> Result<Self> {
        file.check_hyperparameters()?;
        let bad = |field: String, message: &str| Error::BadModelFile {
            path: file.path.clone(),
            field,
            message: message.to_owned(),
        };
        let arch = file
            .string("general.architecture")
            .unwrap_or_default()
            .to_owned();
        let rope = match arch.as_str() {
            "llama" => Rope::Interleaved,
            "qwen2" => Rope::Halves,
            other => {
                return Err(bad(
                    "general.architecture".into(),
                    &format!("is `{other}`; the native engine runs `llama` and `qwen2`"),
                ));
            }
        };
        let md = |k: &str| file.u32(&format!("{arch}.{k}"));
        let need = |k: &str| {
            md(k)
                .map(|v| v as usize)
                .ok_or_else(|| bad(format!("{arch}.{k}"), "is missing (or not a u32)"))
        };
        let dim = need("embedding_length")?;
        let heads = need("attention.head_count")?;
        let kv_heads = md("attention.head_count_kv").map_or(heads, |v| v as usize);
        let layers = need("block_count")?;
        let ffn = need("feed_forward_length")?;
        for (k, v) in [("embedding_length", dim), ("feed_forward_length", ffn)] {
            if !v.is_multiple_of(kernels::QK) {
                return Err(bad(
                    format!("{arch}.{k}"),
                    &format!(
                        "is {v}; the native engine needs a multiple of {}",
                        kernels::QK
                    ),
                ));
            }
        }
        if context == 0 {
            return Err(bad(format!("{arch}.context_length"), "is 0"));
        }
        if md("expert_count").unwrap_or(0) > 1 {
            return Err(Error::Request(
                "mixture-of-experts models need the candle engine".into(),
            ));
        }
        let f32_md = |k: &str| {
            file.content
                .metadata
                .get(&format!("{arch}.{k}"))
                .and_then(|v| v.to_f32().ok())
        };
        let eps = f32_md("attention.layer_norm_rms_epsilon").unwrap_or(1e-5);
        let rope_base = f32_md("rope.freq_base").unwrap_or(10_000.0);
        let embed = matrix(file, "token_embd.weight", None, dim)?;
        let vocab = embed.rows;
        let kvd = dim / heads * kv_heads;
        let config = Config {
            dim,
            layers,
            heads,
            kv_heads,
            ffn,
            vocab,
            eps,
            rope_base,
            context,
            rope,
        };
        let output = if file.content.tensor_infos.contains_key("output.weight") {
            Some(matrix(file, "output.weight", Some(vocab), dim)?)
        } else {
            None
        };
        let norm = vector(file, "output_norm.weight", dim)?;
        let mut ls = Vec::with_capacity(layers);
        for i in 0..layers {
            let p = |s: &str| format!("blk.{i}.{s}.weight");
            ls.push(Layer {
                attn_norm: vector(file, &p("attn_norm"), dim)?,
                wq: matrix(file, &p("attn_q"), Some(dim), dim)?,
                wk: matrix(file, &p("attn_k"), Some(kvd), dim)?,
                wv: matrix(file, &p("attn_v"), Some(kvd), dim)?,
                bias: {
                    let b = |s: &str| format!("blk.{i}.{s}.bias");
                    let q = optional_vector(file, &b("attn_q"), dim)?;
                    let k = optional_vector(file, &b("attn_k"), kvd)?;
                    let v = optional_vector(file, &b("attn_v"), kvd)?;
                    match (q, k, v) {
                        (Some(q), Some(k), Some(v)) => Some([q, k, v]),
                        (None, None, None) => None,
                        _ => {
                            return Err(Error::BadModelFile {
                                path: file.path.clone(),
                                field: b("attn_q"),
                                message: "the query, key and value biases must all be present or all absent".into(),
                            });
                        }
                    }
                },
                wo: matrix(file, &p("attn_output"), Some(dim), dim)?,
                ffn_norm: vector(file, &p("ffn_norm"), dim)?,
                gate: matrix(file, &p("ffn_gate"), Some(ffn), dim)?,
                up: matrix(file, &p("ffn_up"), Some(ffn), dim)?,
                down: matrix(file, &p("ffn_down"), Some(dim), ffn)?,
            });
        }
        let hd = config.head_dim();
        let mut cos = vec![0f32; context * hd / 2];
        let mut sin = vec![0f32; context * hd / 2];
        for p in 0..context {
            for i in 0..hd / 2 {
                let theta = p as f32 / rope_base.powf(2.0 * i as f32 / hd as f32);
                cos[p * hd / 2 + i] = theta.cos();
                sin[p * hd / 2 + i] = theta.sin();
            }
        }
        Ok(Self {
            config,
            embed,
            layers: ls,
            norm,
            output,
            cos,
            sin,
        })
    }

    /// The model shape.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

/// One sequence's state: KV cache and scratch buffers.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// The tokens whose keys and values the cache holds, in position order.
    tokens: Vec<u32>,
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    acts: QActs,
}

impl State {
    /// An empty cache for `w` (it grows with the sequence).
    pub fn new(w: &Weights) -> Self {
        Self {
            tokens: Vec::new(),
            k: vec![Vec::new(); w.config.layers],
            v: vec![Vec::new(); w.config.layers],
            acts: QActs::default(),
        }
    }

    /// Forgets the cached tokens (their buffers are kept for the next sequence).
    pub fn clear(&mut self) {
        self.tokens.clear();
    }

    /// How many leading tokens of `tokens` the cache already holds (a prompt that shares its
    /// start with the previous request's prompt and output), at most `tokens.len() - 1` so the
    /// last one is run again for its logits.
    pub fn reusable(&self, tokens: &[u32]) -> usize {
        let common = self
            .tokens
            .iter()
            .zip(tokens)
            .take_while(|(a, b)| a == b)
            .count();
        common.min(tokens.len().saturating_sub(1))
    }
}

fn rmsnorm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let dim = w.len();
    for (xr, or) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let ms = xr.iter().map(|v| v * v).sum::<f32>() / dim as f32;
        let s = 1.0 / (ms + eps).sqrt();
        for ((o, v), g) in or.iter_mut().zip(xr).zip(w) {
            *o = v * s * g;
        }
    }
}

fn project(w: &QMatrix, acts: &QActs, out: &mut Vec<f32>) {
    out.resize(acts.rows * w.rows, 0.0);
    kernels::matmul(w, acts, &mut out[..]);
}

/// Rotary embedding of `heads` heads at position `pos`, paired as the model wants ([`Rope`]).
fn rope(x: &mut [f32], heads: usize, hd: usize, pos: usize, w: &Weights) {
    let half = hd / 2;
    let cos = &w.cos[pos * half..(pos + 1) * half];
    let sin = &w.sin[pos * half..(pos + 1) * half];
    let (stride, offset) = match w.config.rope {
        Rope::Interleaved => (2, 1),
        Rope::Halves => (1, half),
    };
    for h in 0..heads {
        let v = &mut x[h * hd..(h + 1) * hd];
        for i in 0..half {
            let (ia, ib) = (stride * i, stride * i + offset);
            let (a, b) = (v[ia], v[ib]);
            v[ia] = a * cos[i] - b * sin[i];
            v[ib] = a * sin[i] + b * cos[i];
        }
    }
}

/// Adds `bias` to each of the rows of `x`.
fn add_bias(x: &mut [f32], bias: &[f32]) {
    for row in x.chunks_exact_mut(bias.len()) {
        row.iter_mut().zip(bias).for_each(|(a, b)| *a += b);
    }
}

/// Causal attention of the `m` queries `q` (positions `pos..pos + m`) over the cached keys `kc`
/// and values `vc` (positions `0..pos + m`), into `att`; one head per chunk of work, spread
/// over the engine's threads.
fn attend(c: &Config, q: &[f32], kc: &[f32], vc: &[f32], pos: usize, m: usize, att: &mut [f32]) {
    let (dim, hd) = (c.dim, c.head_dim());
    let kvd = c.kv_heads * hd;
    let scale = 1.0 / (hd as f32).sqrt();
    let group = c.heads / c.kv_heads;
    // Row `i`'s output of head `h` is `outs[i * heads + h]`.
    let outs: Vec<Mutex<&mut [f32]>> = att[..m * dim].chunks_mut(hd).map(Mutex::new).collect();
    pool::for_each(c.heads, &|hh| {
        let kvh = hh / group;
        let mut scores = vec![0f32; pos + m];
        for i in 0..m {
            let p = pos + i;
            let qh = &q[i * dim + hh * hd..i * dim + (hh + 1) * hd];
            let mut max = f32::NEG_INFINITY;
            for (j, s) in scores[..=p].iter_mut().enumerate() {
                let kj = &kc[j * kvd + kvh * hd..j * kvd + (kvh + 1) * hd];
                *s = kernels::dot(qh, kj) * scale;
                max = max.max(*s);
            }
            let mut sum = 0.0;
            for s in &mut scores[..=p] {
                *s = (*s - max).exp();
                sum += *s;
            }
            let Ok(mut out) = outs[i * c.heads + hh].lock() else {
                continue;
            };
            out.fill(0.0);
            for (j, s) in scores[..=p].iter().enumerate() {
                let vj = &vc[j * kvd + kvh * hd..j * kvd + (kvh + 1) * hd];
                kernels::axpy(s / sum, vj, &mut out);
            }
        }
    });
}

/// Runs `tokens` at positions `pos..` through the model and returns the logits of the last one.
pub fn forward(w: &Weights, st: &mut State, tokens: &[u32], pos: usize) -> Result<Vec<f32>> {
    let c = w.config;
    let (m, dim, hd) = (tokens.len(), c.dim, c.head_dim());
    let kvd = c.kv_heads * hd;
    if pos > st.tokens.len() {
        return Err(Error::Request(format!(
            "position {pos} is past the {} cached tokens",
            st.tokens.len()
        )));
    }
    if pos + m > c.context {
        return Err(Error::ContextOverflow {
            prompt: pos,
            max_new: m,
            context: c.context,
        });
    }
    let mut x = vec![0f32; m * dim];
    for (i, &t) in tokens.iter().enumerate() {
        if t as usize >= c.vocab {
            return Err(Error::Request(format!(
                "token {t} is outside the vocabulary"
            )));
        }
        w.embed
            .dequantize_row(t as usize, &mut x[i * dim..(i + 1) * dim]);
    }
    let mut h = vec![0f32; m * dim];
    let (mut q, mut k, mut v, mut o) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut g, mut u, mut d) = (Vec::new(), Vec::new(), Vec::new());
    let mut att = vec![0f32; m * dim];
    for (l, layer) in w.layers.iter().enumerate() {
        rmsnorm(&x, &layer.attn_norm, c.eps, &mut h);
        st.acts.quantize(&h, m, dim);
        project(&layer.wq, &st.acts, &mut q);
        project(&layer.wk, &st.acts, &mut k);
        project(&layer.wv, &st.acts, &mut v);
        if let Some([bq, bk, bv]) = &layer.bias {
            add_bias(&mut q, bq);
            add_bias(&mut k, bk);
            add_bias(&mut v, bv);
        }
        for i in 0..m {
            rope(&mut q[i * dim..(i + 1) * dim], c.heads, hd, pos + i, w);
            rope(&mut k[i * kvd..(i + 1) * kvd], c.kv_heads, hd, pos + i, w);
        }
        if st.k[l].len() < (pos + m) * kvd {
            st.k[l].resize((pos + m) * kvd, 0.0);
            st.v[l].resize((pos + m) * kvd, 0.0);
        }
        st.k[l][pos * kvd..(pos + m) * kvd].copy_from_slice(&k[..m * kvd]);
        st.v[l][pos * kvd..(pos + m) * kvd].copy_from_slice(&v[..m * kvd]);
        attend(&c, &q, &st.k[l], &st.v[l], pos, m, &mut att);
        st.acts.quantize(&att, m, dim);
        project(&layer.wo, &st.acts, &mut o);
        x.iter_mut().zip(&o).for_each(|(a, b)| *a += b);

        rmsnorm(&x, &layer.ffn_norm, c.eps, &mut h);
        st.acts.quantize(&h, m, dim);
        project(&layer.gate, &st.acts, &mut g);
        project(&layer.up, &st.acts, &mut u);
        for (a, b) in g.iter_mut().zip(&u) {
            *a = *a / (1.0 + (-*a).exp()) * b;
        }
        st.acts.quantize(&g, m, c.ffn);
        project(&layer.down, &st.acts, &mut d);
        x.iter_mut().zip(&d).for_each(|(a, b)| *a += b);
    }
    st.tokens.truncate(pos);
    st.tokens.extend_from_slice(tokens);
    let last = &x[(m - 1) * dim..];
    let mut hn = vec![0f32; dim];
    rmsnorm(last, &w.norm, c.eps, &mut hn);
    st.acts.quantize(&hn, 1, dim);
    let mut logits = Vec::new();
    project(w.output.as_ref().unwrap_or(&w.embed), &st.acts, &mut logits);
    Ok(logits)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use candle_core::quantized::gguf_file::{self, Value};
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};
    use candle_transformers::models::quantized_qwen2;

    use super::kernels::tests::lcg;
    use super::*;

    const DIM: usize = 256;
    const FFN: usize = 512;
    const HEADS: u32 = 4;
    const KV_HEADS: u32 = 2;
    const VOCAB: usize = 40;

    /// A two-layer Qwen2 with random weights whose matrices use every format the engine runs
    /// (as the real `Q4_K_M` file mixes `Q5_0`, `Q8_0`, `Q4_K` and `Q6_K`).
    fn tiny_qwen2(dir: &Path) -> PathBuf {
        let mut seed = 3;
        let mut dense = |shape: &[usize], scale: f32, base: f32| {
            let n = shape.iter().product();
            let v: Vec<f32> = (0..n).map(|_| base + lcg(&mut seed) * scale).collect();
            Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
        };
        use GgmlDType::{Q4_1, Q4K, Q5_0, Q6K, Q8_0};
        let q = |t: Tensor, d: GgmlDType| QTensor::quantize(&t, d).unwrap();
        let kvd = DIM / HEADS as usize * KV_HEADS as usize;
        let mut tensors: Vec<(String, QTensor)> = vec![
            (
                "token_embd.weight".into(),
                q(dense(&[VOCAB, DIM], 2.0, 0.0), Q5_0),
            ),
            (
                "output.weight".into(),
                q(dense(&[VOCAB, DIM], 0.5, 0.0), Q8_0),
            ),
            (
                "output_norm.weight".into(),
                q(dense(&[DIM], 0.2, 1.0), GgmlDType::F32),
            ),
        ];
        let formats = [
            [Q5_0, Q4K, Q6K, Q8_0, Q4_1, Q6K, Q4K],
            [Q8_0, Q5_0, Q8_0, Q4K, Q5_0, Q4K, Q6K],
        ];
        for (i, f) in formats.iter().enumerate() {
            let p = |s: &str| format!("blk.{i}.{s}");
            let mats = [
                ("attn_q.weight", DIM, DIM),
                ("attn_k.weight", kvd, DIM),
                ("attn_v.weight", kvd, DIM),
                ("attn_output.weight", DIM, DIM),
                ("ffn_gate.weight", FFN, DIM),
                ("ffn_up.weight", FFN, DIM),
                ("ffn_down.weight", DIM, FFN),
            ];
            for ((name, r, c), d) in mats.into_iter().zip(f) {
                let scale = 2.0 / (c as f32).sqrt();
                tensors.push((p(name), q(dense(&[r, c], scale, 0.0), *d)));
            }
            for (name, len, scale, base) in [
                ("attn_norm.weight", DIM, 0.2, 1.0),
                ("ffn_norm.weight", DIM, 0.2, 1.0),
                ("attn_q.bias", DIM, 0.5, 0.0),
                ("attn_k.bias", kvd, 0.5, 0.0),
                ("attn_v.bias", kvd, 0.5, 0.0),
            ] {
                let t = q(dense(&[len], scale, base), GgmlDType::F32);
                tensors.push((p(name), t));
            }
        }
        let u = |v: usize| Value::U32(v as u32);
        let metadata = [
            ("general.architecture", Value::String("qwen2".into())),
            ("qwen2.context_length", u(64)),
            ("qwen2.embedding_length", u(DIM)),
            ("qwen2.block_count", u(formats.len())),
            ("qwen2.feed_forward_length", u(FFN)),
            ("qwen2.attention.head_count", Value::U32(HEADS)),
            ("qwen2.attention.head_count_kv", Value::U32(KV_HEADS)),
            ("qwen2.rope.freq_base", Value::F32(1e6)),
            ("qwen2.attention.layer_norm_rms_epsilon", Value::F32(1e-6)),
        ];
        let md: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
        let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let path = dir.join("tiny-qwen2.gguf");
        let mut f = std::fs::File::create(&path).unwrap();
        gguf_file::write(&mut f, &md, &ts).unwrap();
        path
    }

    /// A tensor read in place from the mapped file has exactly the bytes candle's reader
    /// copies out, for every tensor and type; a matrix the packed layout does not take (or on a
    /// CPU without VNNI, every matrix) stays in the mapping instead of being copied.
    #[test]
    fn mapped_tensors_are_the_files_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = tiny_qwen2(dir.path());
        let mut file = GgufFile::open(&path).unwrap();
        let mut names: Vec<String> = file.content.tensor_infos.keys().cloned().collect();
        names.sort();
        assert!(names.len() > 10);
        for name in &names {
            let (dtype, dims, mapped) = file.tensor_bytes(name).unwrap();
            let q = file
                .content
                .tensor(&mut file.reader, name, &Device::Cpu)
                .unwrap();
            assert_eq!(dtype, q.dtype(), "{name}");
            assert_eq!(dims, q.shape().dims(), "{name}");
            assert_eq!(&*mapped.unwrap(), &*q.data().unwrap(), "{name}");
        }
        // 40 rows of `Q5_0` less one: not a whole number of packed groups.
        let (_, _, mapped) = file.tensor_bytes("token_embd.weight").unwrap();
        let rows = VOCAB - 1;
        let m = QMatrix::new(Format::Q5_0, rows, DIM, Blocks::Mapped(mapped.unwrap()));
        assert!(!m.packed() && matches!(m.data, Blocks::Mapped(_)));
        assert!(file.tensor_bytes("no.such.tensor").is_err());
    }

    /// The native engine computes candle's `quantized_qwen2` network (biases, `NeoX` rotary
    /// embedding, grouped-query attention, every weight format): the logits agree within
    /// quantisation noise on a batched prompt and then one token at a time.
    #[test]
    fn native_qwen2_matches_candle_on_every_weight_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = tiny_qwen2(dir.path());
        let mut file = GgufFile::open(&path).unwrap();
        let w = Weights::load(&mut file, 64).unwrap();
        assert_eq!(w.config().rope, Rope::Halves);
        let formats: Vec<Format> = w
            .layers
            .iter()
            .flat_map(|l| [l.wk.format, l.down.format])
            .collect();
        assert!(
            formats.contains(&Format::Q4K) && formats.contains(&Format::Q6K),
            "{formats:?}"
        );
        assert_eq!(w.embed.format, Format::Q5_0, "kept as stored");
        let mut st = State::new(&w);
        let mut file = GgufFile::open(&path).unwrap();
        let mut reference =
            quantized_qwen2::ModelWeights::from_gguf(file.content, &mut file.reader, &Device::Cpu)
                .unwrap();
        let mut candle = |tokens: &[u32], pos: usize| -> Vec<f32> {
            let x = Tensor::new(tokens, &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            let l = reference.forward(&x, pos).unwrap();
            l.flatten_all().unwrap().to_vec1().unwrap()
        };
        let prompt = [1u32, 7, 3, 30, 12, 5, 9];
        let mut a = forward(&w, &mut st, &prompt, 0).unwrap();
        let mut b = candle(&prompt, 0);
        for step in 0..4 {
            assert_eq!(a.len(), VOCAB);
            let spread = b.iter().fold(0f32, |m, x| m.max(x.abs()));
            let diff = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            assert!(spread > 0.1, "the logits carry signal: {b:?}");
            assert!(
                diff < 0.03 * spread,
                "step {step}: logits differ by {diff} (scale {spread})"
            );
            let t = (step * 11 + 2) as u32 % VOCAB as u32;
            a = forward(&w, &mut st, &[t], prompt.len() + step).unwrap();
            b = candle(&[t], prompt.len() + step);
        }
    }
}
