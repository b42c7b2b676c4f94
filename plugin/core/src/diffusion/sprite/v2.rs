//! The v2 sprite model in candle: a mirror of `tools/sprite_model/python/model2.py` (weight names
//! included) and `text.py` (the caption tokenizer).
//!
//! A 32×32 rectified-flow `UNet` with per-token cross-attention on a small transformer over frozen,
//! PCA-reduced `SmolLM2` token embeddings, so words the sprite data saw rarely still land near the
//! words the LLM put them beside. The text side ships as `tokens.txt` + `merges.txt` (the part of
//! `SmolLM2`'s byte-level BPE that lowercase ASCII words use) and `text.safetensors` (`embed`,
//! `[tokens, 128]`): no LLM download is needed. 16×16 sprites are the 32×32 sample box-filtered
//! down, as the training data's 16×16 renders are.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, GroupNorm, LayerNorm, Linear, VarBuilder};
use image::RgbaImage;
use serde::Deserialize;

use super::{SamplerStep, Sampling};
use crate::diffusion::backend::{Error, ImageRequest, Result};
use crate::finish;

/// `config.json` of a v2 model.
#[derive(Debug, Clone, Deserialize)]
pub struct SpriteConfig2 {
    /// Width of the frozen token embeddings.
    pub embed_dim: usize,
    /// Channels at 32×32, 16×16 and 8×8.
    pub channels: [usize; 3],
    /// Width of the time + pooled-caption embedding.
    pub emb: usize,
    /// Width of the caption tokens the `UNet` attends to.
    pub ctx: usize,
    /// Transformer layers over the caption.
    pub text_layers: usize,
    /// Most caption tokens read from a prompt.
    pub max_tokens: usize,
    /// Width of the sinusoidal time features.
    pub time_dim: usize,
    /// Side of the square sprite the model draws.
    pub size: usize,
    /// Groups of every group norm.
    pub groups: usize,
    /// Attention heads.
    pub heads: usize,
    /// Training step of the weights, when the exporter recorded it.
    #[serde(default)]
    pub step: Option<u64>,
}

const EPS: f64 = 1e-5;
/// GPT-2's byte-level mark of a leading space.
const SPACE: char = '\u{120}';

/// The caption tokenizer: `SmolLM2`'s BPE restricted to lowercase ASCII words (see `text.py`).
#[derive(Debug, Clone)]
pub struct WordTokenizer {
    ids: HashMap<String, u32>,
    ranks: HashMap<(String, String), usize>,
}

impl WordTokenizer {
    /// From `tokens.txt` (one token per line; the line is the id) and `merges.txt` (`a b` per
    /// line, by rank).
    pub fn new(tokens: &str, merges: &str) -> Self {
        let ids = tokens
            .lines()
            .filter(|t| !t.is_empty())
            .enumerate()
            .map(|(i, t)| (t.to_owned(), i as u32))
            .collect();
        let ranks = merges
            .lines()
            .filter_map(|m| m.split_once(' '))
            .enumerate()
            .map(|(r, (a, b))| ((a.to_owned(), b.to_owned()), r))
            .collect();
        Self { ids, ranks }
    }

    /// Token ids of a prompt: words (lowercase ASCII alphanumeric runs), each split into letter
    /// runs and single digits (a leading letter run marked with a space), each BPE-merged; pieces
    /// with an unknown symbol are dropped.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        super::words(text)
            .iter()
            .flat_map(|w| pieces(w))
            .flat_map(|p| self.bpe(&p))
            .collect()
    }

    fn bpe(&self, piece: &str) -> Vec<u32> {
        let mut syms: Vec<String> = piece.chars().map(String::from).collect();
        while syms.len() > 1 {
            let best = syms
                .windows(2)
                .filter_map(|w| {
                    self.ranks
                        .get(&(w[0].clone(), w[1].clone()))
                        .map(|&r| (r, w[0].clone(), w[1].clone()))
                })
                .min_by_key(|(r, _, _)| *r);
            let Some((_, a, b)) = best else { break };
            let mut out = Vec::with_capacity(syms.len());
            let mut i = 0;
            while i < syms.len() {
                if i + 1 < syms.len() && syms[i] == a && syms[i + 1] == b {
                    out.push(format!("{a}{b}"));
                    i += 2;
                } else {
                    out.push(syms[i].clone());
                    i += 1;
                }
            }
            syms = out;
        }
        syms.iter()
            .map(|s| self.ids.get(s).copied())
            .collect::<Option<Vec<u32>>>()
            .unwrap_or_default()
    }
}

/// A word's BPE pieces: letter runs and single digits; a letter run that starts the word gets the
/// space mark.
fn pieces(word: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut run = String::new();
    let mut at_start = true;
    let flush = |run: &mut String, out: &mut Vec<String>, at_start: &mut bool| {
        if !run.is_empty() {
            let p = if *at_start {
                format!("{SPACE}{run}")
            } else {
                run.clone()
            };
            out.push(p);
            run.clear();
        }
        *at_start = false;
    };
    for c in word.chars() {
        if c.is_ascii_digit() {
            flush(&mut run, &mut out, &mut at_start);
            out.push(c.to_string());
            at_start = false;
        } else {
            run.push(c);
        }
    }
    flush(&mut run, &mut out, &mut at_start);
    out
}

fn conv(
    cin: usize,
    cout: usize,
    k: usize,
    stride: usize,
    vb: VarBuilder,
) -> candle_core::Result<Conv2d> {
    let cfg = Conv2dConfig {
        padding: k / 2,
        stride,
        ..Default::default()
    };
    candle_nn::conv2d(cin, cout, k, cfg, vb)
}

/// A linear layer over the last axis of a `(B, N, C)` tensor (flattened to 2-D first: candle's CPU
/// batched matmul wants plain operands).
fn linear3(l: &Linear, x: &Tensor) -> candle_core::Result<Tensor> {
    let (b, n, c) = x.dims3()?;
    let y = l.forward(&x.contiguous()?.reshape((b * n, c))?)?;
    let out = y.dim(1)?;
    y.reshape((b, n, out))
}

/// Multi-head attention: `q` `(B, N, C)`, `k`/`v` `(B, M, C)`, `bias` `(B, 1, 1, M)` added to the
/// scores (0 for a valid key, -1e9 for padding), as the trainer's `attend`.
fn attend(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    bias: Option<&Tensor>,
    heads: usize,
) -> candle_core::Result<Tensor> {
    let (b, n, c) = q.dims3()?;
    let m = k.dim(1)?;
    let d = c / heads;
    let split = |x: &Tensor, len: usize| -> candle_core::Result<Tensor> {
        x.contiguous()?
            .reshape((b, len, heads, d))?
            .transpose(1, 2)?
            .contiguous()
    };
    let q = split(q, n)?;
    let kt = split(k, m)?.transpose(2, 3)?.contiguous()?;
    let v = split(v, m)?;
    let mut s = (q.matmul(&kt)? / (d as f64).sqrt())?;
    if let Some(bias) = bias {
        s = s.broadcast_add(bias)?;
    }
    let a = candle_nn::ops::softmax_last_dim(&s)?.contiguous()?;
    a.matmul(&v)?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((b, n, c))
}

struct ResBlock {
    norm1: GroupNorm,
    conv1: Conv2d,
    emb: Linear,
    norm2: GroupNorm,
    conv2: Conv2d,
    skip: Option<Conv2d>,
}

impl ResBlock {
    fn new(
        cin: usize,
        cout: usize,
        cfg: &SpriteConfig2,
        vb: VarBuilder,
    ) -> candle_core::Result<Self> {
        Ok(Self {
            norm1: candle_nn::group_norm(cfg.groups, cin, EPS, vb.pp("norm1"))?,
            conv1: conv(cin, cout, 3, 1, vb.pp("conv1"))?,
            emb: candle_nn::linear(cfg.emb, 2 * cout, vb.pp("emb"))?,
            norm2: candle_nn::group_norm(cfg.groups, cout, EPS, vb.pp("norm2"))?,
            conv2: conv(cout, cout, 3, 1, vb.pp("conv2"))?,
            skip: if cin == cout {
                None
            } else {
                Some(conv(cin, cout, 1, 1, vb.pp("skip"))?)
            },
        })
    }

    fn forward(&self, x: &Tensor, emb: &Tensor) -> candle_core::Result<Tensor> {
        let h = self.conv1.forward(&self.norm1.forward(x)?.silu()?)?;
        let e = self.emb.forward(&emb.silu()?)?;
        let parts = e.chunk(2, 1)?;
        let scale = parts[0].contiguous()?.unsqueeze(2)?.unsqueeze(3)?;
        let shift = parts[1].contiguous()?.unsqueeze(2)?.unsqueeze(3)?;
        let h = self
            .norm2
            .forward(&h)?
            .broadcast_mul(&(scale + 1.0)?)?
            .broadcast_add(&shift)?;
        let h = self.conv2.forward(&h.silu()?)?;
        match &self.skip {
            Some(skip) => skip.forward(x)? + h,
            None => x + h,
        }
    }
}

struct SelfAttn {
    norm1: GroupNorm,
    qkv: Linear,
    proj1: Linear,
}

struct AttnBlock {
    self_attn: Option<SelfAttn>,
    norm2: GroupNorm,
    q: Linear,
    kv: Linear,
    proj2: Linear,
    heads: usize,
}

/// `(B, C, H, W)` to `(B, H*W, C)`.
fn tokens_of(x: &Tensor) -> candle_core::Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    x.reshape((b, c, h * w))?.transpose(1, 2)?.contiguous()
}

/// `(B, H*W, C)` back to `(B, C, H, W)`.
fn image_of(t: &Tensor, h: usize, w: usize) -> candle_core::Result<Tensor> {
    let (b, _, c) = t.dims3()?;
    t.transpose(1, 2)?.contiguous()?.reshape((b, c, h, w))
}

impl AttnBlock {
    fn new(
        ch: usize,
        self_attn: bool,
        cfg: &SpriteConfig2,
        vb: VarBuilder,
    ) -> candle_core::Result<Self> {
        let self_attn = if self_attn {
            Some(SelfAttn {
                norm1: candle_nn::group_norm(cfg.groups, ch, EPS, vb.pp("norm1"))?,
                qkv: candle_nn::linear(ch, 3 * ch, vb.pp("qkv"))?,
                proj1: candle_nn::linear(ch, ch, vb.pp("proj1"))?,
            })
        } else {
            None
        };
        Ok(Self {
            self_attn,
            norm2: candle_nn::group_norm(cfg.groups, ch, EPS, vb.pp("norm2"))?,
            q: candle_nn::linear(ch, ch, vb.pp("q"))?,
            kv: candle_nn::linear(cfg.ctx, 2 * ch, vb.pp("kv"))?,
            proj2: candle_nn::linear(ch, ch, vb.pp("proj2"))?,
            heads: cfg.heads,
        })
    }

    fn forward(&self, x: &Tensor, ctx: &Tensor, bias: &Tensor) -> candle_core::Result<Tensor> {
        let (_, c, h, w) = x.dims4()?;
        let mut x = x.clone();
        if let Some(sa) = &self.self_attn {
            let t = tokens_of(&sa.norm1.forward(&x)?)?;
            let qkv = linear3(&sa.qkv, &t)?;
            let q = qkv.narrow(2, 0, c)?;
            let k = qkv.narrow(2, c, c)?;
            let v = qkv.narrow(2, 2 * c, c)?;
            let o = linear3(&sa.proj1, &attend(&q, &k, &v, None, self.heads)?)?;
            x = (x + image_of(&o, h, w)?)?;
        }
        let t = tokens_of(&self.norm2.forward(&x)?)?;
        let kv = linear3(&self.kv, ctx)?;
        let k = kv.narrow(2, 0, c)?;
        let v = kv.narrow(2, c, c)?;
        let q = linear3(&self.q, &t)?;
        let o = linear3(&self.proj2, &attend(&q, &k, &v, Some(bias), self.heads)?)?;
        x + image_of(&o, h, w)?
    }
}

struct TextLayer {
    ln1: LayerNorm,
    qkv: Linear,
    proj: Linear,
    ln2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

impl TextLayer {
    fn new(d: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            ln1: candle_nn::layer_norm(d, EPS, vb.pp("ln1"))?,
            qkv: candle_nn::linear(d, 3 * d, vb.pp("qkv"))?,
            proj: candle_nn::linear(d, d, vb.pp("proj"))?,
            ln2: candle_nn::layer_norm(d, EPS, vb.pp("ln2"))?,
            fc1: candle_nn::linear(d, 2 * d, vb.pp("fc1"))?,
            fc2: candle_nn::linear(2 * d, d, vb.pp("fc2"))?,
        })
    }

    /// One caption, unpadded: `(1, L, D)`.
    fn forward(&self, x: &Tensor, heads: usize) -> candle_core::Result<Tensor> {
        let d = x.dim(2)?;
        let qkv = linear3(&self.qkv, &self.ln1.forward(x)?)?;
        let q = qkv.narrow(2, 0, d)?;
        let k = qkv.narrow(2, d, d)?;
        let v = qkv.narrow(2, 2 * d, d)?;
        let x = (x + linear3(&self.proj, &attend(&q, &k, &v, None, heads)?)?)?;
        let h = linear3(&self.fc1, &self.ln2.forward(&x)?)?.gelu()?;
        x.clone() + linear3(&self.fc2, &h)?
    }
}

/// Encoded captions for the `UNet`: tokens padded to the longest, the score bias masking the
/// padding, and the pooled vector.
pub struct Context {
    ctx: Tensor,
    bias: Tensor,
    pooled: Tensor,
}

/// The v2 network: text encoder and `UNet`.
pub struct SpriteUNet2 {
    cfg: SpriteConfig2,
    start: Tensor,
    tok_in: Linear,
    pos: Tensor,
    text: Vec<TextLayer>,
    ln_text: LayerNorm,
    pool: Linear,
    time1: Linear,
    time2: Linear,
    conv_in: Conv2d,
    res0a: ResBlock,
    down0: Conv2d,
    res1a: ResBlock,
    att1a: AttnBlock,
    res1b: ResBlock,
    down1: Conv2d,
    res2a: ResBlock,
    att2a: AttnBlock,
    res2b: ResBlock,
    att2b: AttnBlock,
    mid: ResBlock,
    up1: Conv2d,
    res_u1a: ResBlock,
    att_u1a: AttnBlock,
    res_u1b: ResBlock,
    up0: Conv2d,
    res_u0a: ResBlock,
    res_u0b: ResBlock,
    norm_out: GroupNorm,
    conv_out: Conv2d,
}

impl SpriteUNet2 {
    /// Builds the network from weights named as the `PyTorch` module's `state_dict`.
    pub fn new(cfg: SpriteConfig2, vb: VarBuilder) -> candle_core::Result<Self> {
        let [c0, c1, c2] = cfg.channels;
        let (e, d) = (cfg.emb, cfg.ctx);
        let c = &cfg;
        Ok(Self {
            start: vb.get(cfg.embed_dim, "start")?,
            tok_in: candle_nn::linear(cfg.embed_dim, d, vb.pp("tok_in"))?,
            pos: vb.get((cfg.max_tokens + 1, d), "pos")?,
            text: (0..cfg.text_layers)
                .map(|i| TextLayer::new(d, vb.pp("text").pp(i)))
                .collect::<candle_core::Result<_>>()?,
            ln_text: candle_nn::layer_norm(d, EPS, vb.pp("ln_text"))?,
            pool: candle_nn::linear(d, e, vb.pp("pool"))?,
            time1: candle_nn::linear(cfg.time_dim, e, vb.pp("time1"))?,
            time2: candle_nn::linear(e, e, vb.pp("time2"))?,
            conv_in: conv(4, c0, 3, 1, vb.pp("conv_in"))?,
            res0a: ResBlock::new(c0, c0, c, vb.pp("res0a"))?,
            down0: conv(c0, c0, 3, 2, vb.pp("down0"))?,
            res1a: ResBlock::new(c0, c1, c, vb.pp("res1a"))?,
            att1a: AttnBlock::new(c1, false, c, vb.pp("att1a"))?,
            res1b: ResBlock::new(c1, c1, c, vb.pp("res1b"))?,
            down1: conv(c1, c1, 3, 2, vb.pp("down1"))?,
            res2a: ResBlock::new(c1, c2, c, vb.pp("res2a"))?,
            att2a: AttnBlock::new(c2, true, c, vb.pp("att2a"))?,
            res2b: ResBlock::new(c2, c2, c, vb.pp("res2b"))?,
            att2b: AttnBlock::new(c2, true, c, vb.pp("att2b"))?,
            mid: ResBlock::new(c2, c2, c, vb.pp("mid"))?,
            up1: conv(c2, c1, 3, 1, vb.pp("up1"))?,
            res_u1a: ResBlock::new(2 * c1, c1, c, vb.pp("res_u1a"))?,
            att_u1a: AttnBlock::new(c1, false, c, vb.pp("att_u1a"))?,
            res_u1b: ResBlock::new(c1, c1, c, vb.pp("res_u1b"))?,
            up0: conv(c1, c0, 3, 1, vb.pp("up0"))?,
            res_u0a: ResBlock::new(2 * c0, c0, c, vb.pp("res_u0a"))?,
            res_u0b: ResBlock::new(c0, c0, c, vb.pp("res_u0b"))?,
            norm_out: candle_nn::group_norm(cfg.groups, c0, EPS, vb.pp("norm_out"))?,
            conv_out: conv(c0, 4, 3, 1, vb.pp("conv_out"))?,
            cfg,
        })
    }

    /// The configuration the weights were trained with.
    pub fn config(&self) -> &SpriteConfig2 {
        &self.cfg
    }

    /// Encodes captions given as their frozen token embeddings (each `(L, embed_dim)`, `L` ≤
    /// `max_tokens`, possibly 0: the unconditional caption).
    pub fn encode_text(&self, captions: &[Tensor]) -> candle_core::Result<Context> {
        let dev = self.start.device();
        let mut rows = Vec::with_capacity(captions.len());
        let mut pooled = Vec::with_capacity(captions.len());
        for emb in captions {
            let e = Tensor::cat(&[&self.start.unsqueeze(0)?, emb], 0)?;
            let l = e.dim(0)?;
            let mut h = self
                .tok_in
                .forward(&e)?
                .broadcast_add(&self.pos.narrow(0, 0, l)?)?
                .unsqueeze(0)?;
            for layer in &self.text {
                h = layer.forward(&h, self.cfg.heads)?;
            }
            let h = self.ln_text.forward(&h)?.squeeze(0)?;
            pooled.push(self.pool.forward(&h.mean_keepdim(0)?)?.squeeze(0)?);
            rows.push(h);
        }
        let mut longest = 0;
        for r in &rows {
            longest = longest.max(r.dim(0)?);
        }
        let mut padded = Vec::with_capacity(rows.len());
        let mut bias = Vec::with_capacity(rows.len() * longest);
        for r in &rows {
            let l = r.dim(0)?;
            bias.extend((0..longest).map(|i| if i < l { 0f32 } else { -1e9 }));
            padded.push(if l < longest {
                r.pad_with_zeros(0, 0, longest - l)?
            } else {
                r.clone()
            });
        }
        Ok(Context {
            ctx: Tensor::stack(&padded, 0)?,
            bias: Tensor::from_vec(bias, (rows.len(), 1, 1, longest), dev)?,
            pooled: Tensor::stack(&pooled, 0)?,
        })
    }

    /// Sinusoidal time features `[cos | sin]` of `t * 1000`, in f32 as the trainer computes them.
    pub fn time_features(&self, t: &[f32], device: &Device) -> candle_core::Result<Tensor> {
        let half = self.cfg.time_dim / 2;
        let log = (10000f64.ln()) as f32;
        let freqs: Vec<f32> = (0..half)
            .map(|i| (-log * i as f32 / half as f32).exp())
            .collect();
        let mut out = Vec::with_capacity(t.len() * 2 * half);
        for &ti in t {
            let scaled = ti * 1000.0;
            out.extend(freqs.iter().map(|f| (scaled * f).cos()));
            out.extend(freqs.iter().map(|f| (scaled * f).sin()));
        }
        Tensor::from_vec(out, (t.len(), 2 * half), device)
    }

    /// Velocity for `x` `(B, 4, S, S)` at time features `time` `(B, time_dim)` under `ctx`.
    pub fn forward(&self, x: &Tensor, time: &Tensor, ctx: &Context) -> candle_core::Result<Tensor> {
        let e = (self.time2.forward(&self.time1.forward(time)?.silu()?)? + &ctx.pooled)?;
        let (c, m) = (&ctx.ctx, &ctx.bias);
        let h0 = self.res0a.forward(&self.conv_in.forward(x)?, &e)?;
        let h1 = self.down0.forward(&h0)?;
        let h1 = self.res1a.forward(&h1, &e)?;
        let h1 = self.res1b.forward(&self.att1a.forward(&h1, c, m)?, &e)?;
        let h2 = self.down1.forward(&h1)?;
        let h2 = self.att2a.forward(&self.res2a.forward(&h2, &e)?, c, m)?;
        let h2 = self.att2b.forward(&self.res2b.forward(&h2, &e)?, c, m)?;
        let h2 = self.mid.forward(&h2, &e)?;
        let (_, _, h, w) = h1.dims4()?;
        let u1 = self.up1.forward(&h2.upsample_nearest2d(h, w)?)?;
        let u1 = self.res_u1a.forward(&Tensor::cat(&[&u1, &h1], 1)?, &e)?;
        let u1 = self
            .res_u1b
            .forward(&self.att_u1a.forward(&u1, c, m)?, &e)?;
        let (_, _, h, w) = h0.dims4()?;
        let u0 = self.up0.forward(&u1.upsample_nearest2d(h, w)?)?;
        let u0 = self.res_u0a.forward(&Tensor::cat(&[&u0, &h0], 1)?, &e)?;
        let u0 = self.res_u0b.forward(&u0, &e)?;
        self.conv_out.forward(&self.norm_out.forward(&u0)?.silu()?)
    }
}

/// A loaded v2 model: network, frozen token table and tokenizer.
pub struct SpriteModel2 {
    unet: SpriteUNet2,
    table: Tensor,
    tokenizer: WordTokenizer,
    device: Device,
}

impl core::fmt::Debug for SpriteModel2 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SpriteModel2")
            .field("config", self.unet.config())
            .finish_non_exhaustive()
    }
}

impl SpriteModel2 {
    /// A model folder holding `sprite.safetensors`, `config.json`, `text.safetensors`,
    /// `tokens.txt` and `merges.txt` (`models/sprite/v2`).
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| Error::Io { path, source })
        };
        let bad = |message: String| Error::Model {
            path: dir.to_path_buf(),
            message,
        };
        let text = |name: &str| -> Result<String> {
            String::from_utf8(read(name)?).map_err(|e| bad(format!("{name}: {e}")))
        };
        let cfg: SpriteConfig2 = serde_json::from_str(&text("config.json")?)
            .map_err(|e| bad(format!("config.json: {e}")))?;
        let device = Device::Cpu;
        let weights = read("sprite.safetensors")?;
        let vb = VarBuilder::from_slice_safetensors(&weights, DType::F32, &device)?;
        let unet = SpriteUNet2::new(cfg, vb)?;
        let text_weights = read("text.safetensors")?;
        let table = candle_core::safetensors::load_buffer(&text_weights, &device)?
            .remove("embed")
            .ok_or_else(|| bad("text.safetensors has no `embed`".to_owned()))?
            .to_dtype(DType::F32)?;
        let tokenizer = WordTokenizer::new(&text("tokens.txt")?, &text("merges.txt")?);
        Ok(Self {
            unet,
            table,
            tokenizer,
            device,
        })
    }

    /// The network's configuration.
    pub fn config(&self) -> &SpriteConfig2 {
        self.unet.config()
    }

    /// Prompt to token ids, at most `max_tokens`.
    pub fn tokenize(&self, prompt: &str) -> Vec<u32> {
        let mut ids = self.tokenizer.encode(prompt);
        ids.truncate(self.config().max_tokens);
        ids
    }

    fn embed(&self, ids: &[u32]) -> Result<Tensor> {
        if ids.is_empty() {
            return Ok(Tensor::zeros(
                (0, self.config().embed_dim),
                DType::F32,
                &self.device,
            )?);
        }
        let idx = Tensor::new(ids, &self.device)?;
        Ok(self.table.index_select(&idx, 0)?)
    }

    /// Runs the sampler from `noise` `(B, 4, S, S)` for token rows `cond` and `uncond` (the
    /// guidance branch; empty rows are the unconditional caption), as
    /// [`SpriteModel::sample`](super::SpriteModel::sample). Returns premultiplied RGBA in [-1, 1]
    /// (unclamped).
    pub fn sample(
        &self,
        noise: &Tensor,
        cond: &[Vec<u32>],
        uncond: &[Vec<u32>],
        sampling: Sampling,
        on_step: &mut dyn FnMut(SamplerStep<'_>) -> Result<()>,
    ) -> Result<Tensor> {
        let Sampling {
            steps,
            guidance,
            t_start,
        } = sampling;
        let b = noise.dim(0)?;
        let caps = cond
            .iter()
            .chain(uncond)
            .map(|ids| self.embed(ids))
            .collect::<Result<Vec<_>>>()?;
        let ctx = self.unet.encode_text(&caps)?;
        let mut x = noise.clone();
        for i in 0..steps {
            let t = t_start * (1.0 - i as f64 / steps as f64);
            let t_next = t_start * (1.0 - (i + 1) as f64 / steps as f64);
            let time = self
                .unet
                .time_features(&vec![t as f32; 2 * b], &self.device)?;
            let v = self
                .unet
                .forward(&Tensor::cat(&[&x, &x], 0)?, &time, &ctx)?;
            let vc = v.narrow(0, 0, b)?;
            let vu = v.narrow(0, b, b)?;
            let v = (&vu + ((vc - &vu)? * guidance)?)?;
            on_step(SamplerStep {
                step: i + 1,
                total: steps,
                x: &x,
                v: &v,
                t,
            })?;
            x = (x + (v * (t_next - t))?)?;
        }
        Ok(x)
    }
}

impl SpriteModel2 {
    /// Draws one raw sprite (before finishing), straight-alpha RGBA: `req.width` × `req.height` must
    /// be the model's size (32) or half of it (16: the sample box-filtered in premultiplied space).
    /// The noise comes from [`seeded_noise`](super::seeded_noise) of `req.seed`; an init image
    /// starts the trajectory at `req.init.strength` as v1 does.
    pub fn generate(
        &self,
        req: &ImageRequest,
        on_step: &mut dyn FnMut(SamplerStep<'_>) -> Result<()>,
    ) -> Result<RgbaImage> {
        let s = self.config().size;
        let out = req.width as usize;
        if req.width != req.height || (out != s && out * 2 != s) {
            return Err(Error::InvalidRequest(format!(
                "the v2 sprite model draws {s}×{s} or {h}×{h}, not {}×{}",
                req.width,
                req.height,
                h = s / 2
            )));
        }
        let noise = Tensor::from_vec(
            super::seeded_noise(req.seed, 4 * s * s),
            (1, 4, s, s),
            &self.device,
        )?;
        let (start, t_start) = match &req.init {
            Some(init) => {
                let small = finish::pixel::downscale_area(&init.image, s as u32, s as u32)
                    .map_err(|e| Error::InvalidRequest(format!("init image: {e}")))?;
                let x0 = super::image_to_tensor(&small, &self.device)?;
                let t = init.strength.clamp(0.0, 1.0);
                (((x0 * (1.0 - t))? + (&noise * t)?)?, t)
            }
            None => (noise, 1.0),
        };
        let cond = vec![self.tokenize(&req.prompt)];
        let uncond = vec![self.tokenize(&req.negative_prompt)];
        let sampling = Sampling {
            steps: req.steps,
            guidance: req.guidance,
            t_start,
        };
        let mut x = self.sample(&start, &cond, &uncond, sampling, on_step)?;
        if out != s {
            // Box filter in premultiplied space, after clamping to the valid range.
            x = x.clamp(-1f32, 1f32)?.avg_pool2d(2)?;
        }
        super::tensor_to_image(&x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_mark_a_leading_letter_run_and_split_digits() {
        assert_eq!(pieces("corn"), ["\u{120}corn"]);
        assert_eq!(pieces("1st"), ["1", "st"]);
        assert_eq!(pieces("icons8"), ["\u{120}icons", "8"]);
    }

    #[test]
    fn bpe_merges_by_rank() {
        let tok = WordTokenizer::new(
            "\u{120}\nc\no\nr\nn\n\u{120}c\nor\n\u{120}cor\n",
            "\u{120} c\no r\n\u{120}c or\n",
        );
        // Ġ c -> Ġc, o r -> or, Ġc or -> Ġcor; then n stays.
        assert_eq!(tok.encode("corn"), [7, 4]);
        assert!(
            tok.encode("zzz").is_empty(),
            "unknown symbols drop the piece"
        );
    }
}
