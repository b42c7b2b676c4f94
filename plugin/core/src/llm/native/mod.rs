//! Sprout's own CPU forward pass for Llama-family GGUF models (`SmolLM`, Llama, Mistral without
//! sliding windows), built for speed on ordinary CPUs.
//!
//! candle's quantised kernels are chosen at compile time (`target_feature`), so a portable
//! build runs them as scalar code, and `Q4_1` has no SIMD kernel at all. This engine keeps the
//! GGUF blocks as they are (`Q4_1` and `Q8_0`; other types are converted to `Q8_0` at load),
//! picks AVX2 kernels at run time, quantises activations once per matrix product, and keeps the
//! KV cache as flat `f32` arrays. The prompt is processed in one batch (weights read once per
//! four rows). Results match candle's within quantisation noise (a test checks the logits).

pub mod kernels;

use candle_core::Device;
use candle_core::quantized::GgmlDType;

use self::kernels::{Format, QActs, QMatrix};
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

/// The matrix `name` of `rows` x `cols` (`rows` is not checked when `None`: the vocabulary).
fn matrix(file: &mut GgufFile, name: &str, rows: Option<usize>, cols: usize) -> Result<QMatrix> {
    let q = file.content.tensor(&mut file.reader, name, &Device::Cpu)?;
    let dims = q.shape().dims().to_vec();
    let (rows, cols) = match dims.as_slice() {
        [r, c] if rows.is_none_or(|want| want == *r) && *c == cols && *r > 0 => (*r, *c),
        _ => {
            let want = [rows.unwrap_or(dims.first().copied().unwrap_or(1)), cols];
            return Err(wrong_shape(file, name, &dims, &want));
        }
    };
    let (format, q) = match q.dtype() {
        GgmlDType::Q4_1 => (Format::Q4_1, q),
        GgmlDType::Q8_0 => (Format::Q8_0, q),
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
    /// Reads a Llama-family model (not requantised: this engine runs `Q4_1` directly). Every
    /// hyper-parameter is checked ([`GgufFile::check_hyperparameters`]) and every tensor must have
    /// the shape they imply, so the forward pass cannot index out of bounds.
    pub fn load(file: &mut GgufFile, context: usize) -> Result<Self> {
        file.check_hyperparameters()?;
        let bad = |field: String, message: &str| Error::BadModelFile {
            path: file.path.clone(),
            field,
            message: message.to_owned(),
        };
        let md = |k: &str| file.u32(&format!("llama.{k}"));
        let need = |k: &str| {
            md(k)
                .map(|v| v as usize)
                .ok_or_else(|| bad(format!("llama.{k}"), "is missing (or not a u32)"))
        };
        let dim = need("embedding_length")?;
        let heads = need("attention.head_count")?;
        let kv_heads = md("attention.head_count_kv").map_or(heads, |v| v as usize);
        let layers = need("block_count")?;
        let ffn = need("feed_forward_length")?;
        for (k, v) in [("embedding_length", dim), ("feed_forward_length", ffn)] {
            if !v.is_multiple_of(kernels::QK) {
                return Err(bad(
                    format!("llama.{k}"),
                    &format!(
                        "is {v}; the native engine needs a multiple of {}",
                        kernels::QK
                    ),
                ));
            }
        }
        if context == 0 {
            return Err(bad("llama.context_length".into(), "is 0"));
        }
        if md("expert_count").unwrap_or(0) > 1 {
            return Err(Error::Request(
                "mixture-of-experts models need the candle engine".into(),
            ));
        }
        let f32_md = |k: &str| {
            file.content
                .metadata
                .get(&format!("llama.{k}"))
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
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    acts: QActs,
}

impl State {
    /// An empty cache for `w` (it grows with the sequence).
    pub fn new(w: &Weights) -> Self {
        Self {
            k: vec![Vec::new(); w.config.layers],
            v: vec![Vec::new(); w.config.layers],
            acts: QActs::default(),
        }
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
    kernels::matmul(w, acts, out, 0..w.rows);
}

/// Interleaved (GGML "normal") rotary embedding of `heads` heads at position `pos`.
fn rope(x: &mut [f32], heads: usize, hd: usize, pos: usize, w: &Weights) {
    let half = hd / 2;
    let cos = &w.cos[pos * half..(pos + 1) * half];
    let sin = &w.sin[pos * half..(pos + 1) * half];
    for h in 0..heads {
        let v = &mut x[h * hd..(h + 1) * hd];
        for i in 0..half {
            let (a, b) = (v[2 * i], v[2 * i + 1]);
            v[2 * i] = a * cos[i] - b * sin[i];
            v[2 * i + 1] = a * sin[i] + b * cos[i];
        }
    }
}

/// Runs `tokens` at positions `pos..` through the model and returns the logits of the last one.
pub fn forward(w: &Weights, st: &mut State, tokens: &[u32], pos: usize) -> Result<Vec<f32>> {
    let c = w.config;
    let (m, dim, hd) = (tokens.len(), c.dim, c.head_dim());
    let kvd = c.kv_heads * hd;
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
    let mut scores = vec![0f32; pos + m];
    let scale = 1.0 / (hd as f32).sqrt();
    let group = c.heads / c.kv_heads;
    for (l, layer) in w.layers.iter().enumerate() {
        rmsnorm(&x, &layer.attn_norm, c.eps, &mut h);
        st.acts.quantize(&h, m, dim);
        project(&layer.wq, &st.acts, &mut q);
        project(&layer.wk, &st.acts, &mut k);
        project(&layer.wv, &st.acts, &mut v);
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
        let (kc, vc) = (&st.k[l], &st.v[l]);
        for i in 0..m {
            let p = pos + i;
            for hh in 0..c.heads {
                let kvh = hh / group;
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
                let out = &mut att[i * dim + hh * hd..i * dim + (hh + 1) * hd];
                out.fill(0.0);
                for (j, s) in scores[..=p].iter().enumerate() {
                    let vj = &vc[j * kvd + kvh * hd..j * kvd + (kvh + 1) * hd];
                    kernels::axpy(s / sum, vj, out);
                }
            }
        }
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
    let last = &x[(m - 1) * dim..];
    let mut hn = vec![0f32; dim];
    rmsnorm(last, &w.norm, c.eps, &mut hn);
    st.acts.quantize(&hn, 1, dim);
    let mut logits = Vec::new();
    project(w.output.as_ref().unwrap_or(&w.embed), &st.acts, &mut logits);
    Ok(logits)
}
