//! The sprite `UNet` in candle: a mirror of `tools/sprite_model/python/model.py`, weight names included.

use candle_core::{D, DType, Device, Module, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, Embedding, GroupNorm, Linear, VarBuilder};
use serde::Deserialize;

/// `config.json` written by the trainer next to the weights.
#[derive(Debug, Clone, Deserialize)]
pub struct SpriteConfig {
    /// Rows of the caption-word embedding (row 0 is the null token).
    pub vocab_size: usize,
    /// Channels at 16×16, 8×8 and 4×4.
    pub channels: [usize; 3],
    /// Width of the time + caption embedding.
    pub emb: usize,
    /// Width of the sinusoidal time features.
    pub time_dim: usize,
    /// Most caption words read from a prompt.
    pub max_tokens: usize,
    /// Side of the square sprite the model draws.
    pub size: usize,
    /// Groups of every group norm.
    pub groups: usize,
}

const EPS: f64 = 1e-5;

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
        cfg: &SpriteConfig,
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

struct Attention {
    norm: GroupNorm,
    qkv: Linear,
    proj: Linear,
}

impl Attention {
    fn new(ch: usize, cfg: &SpriteConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            norm: candle_nn::group_norm(cfg.groups, ch, EPS, vb.pp("norm"))?,
            qkv: candle_nn::linear(ch, 3 * ch, vb.pp("qkv"))?,
            proj: candle_nn::linear(ch, ch, vb.pp("proj"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (b, c, h, w) = x.dims4()?;
        let n = h * w;
        // (B, C, N) -> (B*N, C); every operand made contiguous before a matmul (candle 0.11's CPU
        // batched matmul gives wrong numbers for a transposed or broadcast left operand).
        let t = self
            .norm
            .forward(x)?
            .reshape((b, c, n))?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b * n, c))?;
        let qkv = self.qkv.forward(&t)?.reshape((b, n, 3 * c))?;
        let q = qkv.narrow(D::Minus1, 0, c)?.contiguous()?;
        let k = qkv.narrow(D::Minus1, c, c)?.transpose(1, 2)?.contiguous()?;
        let v = qkv.narrow(D::Minus1, 2 * c, c)?.contiguous()?;
        let scores = (q.matmul(&k)? / (c as f64).sqrt())?;
        let attn = candle_nn::ops::softmax_last_dim(&scores)?.contiguous()?;
        let o = attn.matmul(&v)?.reshape((b * n, c))?;
        let o = self.proj.forward(&o)?.reshape((b, n, c))?;
        x + o.transpose(1, 2)?.contiguous()?.reshape((b, c, h, w))?
    }
}

/// The `UNet`: premultiplied RGBA in [-1, 1], a time in [0, 1] and caption ids in; velocity out.
pub struct SpriteUNet {
    cfg: SpriteConfig,
    time1: Linear,
    time2: Linear,
    tokens: Embedding,
    cond1: Linear,
    cond2: Linear,
    conv_in: Conv2d,
    res0a: ResBlock,
    res0b: ResBlock,
    down0: Conv2d,
    res1a: ResBlock,
    res1b: ResBlock,
    down1: Conv2d,
    res2a: ResBlock,
    res2b: ResBlock,
    mid1: ResBlock,
    attn: Attention,
    mid2: ResBlock,
    up1: Conv2d,
    res_u1a: ResBlock,
    res_u1b: ResBlock,
    up0: Conv2d,
    res_u0a: ResBlock,
    res_u0b: ResBlock,
    norm_out: GroupNorm,
    conv_out: Conv2d,
}

impl SpriteUNet {
    /// Builds the network from weights named as the `PyTorch` module's `state_dict`.
    pub fn new(cfg: SpriteConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        let [c0, c1, c2] = cfg.channels;
        let e = cfg.emb;
        let c = &cfg;
        Ok(Self {
            time1: candle_nn::linear(cfg.time_dim, e, vb.pp("time1"))?,
            time2: candle_nn::linear(e, e, vb.pp("time2"))?,
            tokens: candle_nn::embedding(cfg.vocab_size, e, vb.pp("tokens"))?,
            cond1: candle_nn::linear(e, e, vb.pp("cond1"))?,
            cond2: candle_nn::linear(e, e, vb.pp("cond2"))?,
            conv_in: conv(4, c0, 3, 1, vb.pp("conv_in"))?,
            res0a: ResBlock::new(c0, c0, c, vb.pp("res0a"))?,
            res0b: ResBlock::new(c0, c0, c, vb.pp("res0b"))?,
            down0: conv(c0, c0, 3, 2, vb.pp("down0"))?,
            res1a: ResBlock::new(c0, c1, c, vb.pp("res1a"))?,
            res1b: ResBlock::new(c1, c1, c, vb.pp("res1b"))?,
            down1: conv(c1, c1, 3, 2, vb.pp("down1"))?,
            res2a: ResBlock::new(c1, c2, c, vb.pp("res2a"))?,
            res2b: ResBlock::new(c2, c2, c, vb.pp("res2b"))?,
            mid1: ResBlock::new(c2, c2, c, vb.pp("mid1"))?,
            attn: Attention::new(c2, c, vb.pp("attn"))?,
            mid2: ResBlock::new(c2, c2, c, vb.pp("mid2"))?,
            up1: conv(c2, c1, 3, 1, vb.pp("up1"))?,
            res_u1a: ResBlock::new(2 * c1, c1, c, vb.pp("res_u1a"))?,
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
    pub fn config(&self) -> &SpriteConfig {
        &self.cfg
    }

    /// Caption embedding of each row of ids (each row: the word ids, no padding; an empty row is the
    /// unconditional caption), shape `(B, emb)`.
    pub fn condition(&self, rows: &[Vec<u32>], device: &Device) -> candle_core::Result<Tensor> {
        let table = self.tokens.embeddings();
        let pooled = rows
            .iter()
            .map(|ids| {
                let ids = if ids.is_empty() {
                    &[0u32][..]
                } else {
                    &ids[..]
                };
                let idx = Tensor::new(ids, device)?;
                table.index_select(&idx, 0)?.mean(0)
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let pooled = Tensor::stack(&pooled, 0)?;
        self.cond2.forward(&self.cond1.forward(&pooled)?.silu()?)
    }

    /// Sinusoidal time features `[cos | sin]` of `t * 1000`, computed in f32 as the trainer does.
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

    /// Velocity for `x` `(B, 4, S, S)` at time features `time` `(B, time_dim)` and condition `cond`
    /// `(B, emb)`.
    pub fn forward(&self, x: &Tensor, time: &Tensor, cond: &Tensor) -> candle_core::Result<Tensor> {
        let emb = (self.time2.forward(&self.time1.forward(time)?.silu()?)? + cond)?;
        let h0 = self.conv_in.forward(x)?;
        let h0 = self.res0b.forward(&self.res0a.forward(&h0, &emb)?, &emb)?;
        let h1 = self.down0.forward(&h0)?;
        let h1 = self.res1b.forward(&self.res1a.forward(&h1, &emb)?, &emb)?;
        let h2 = self.down1.forward(&h1)?;
        let h2 = self.res2b.forward(&self.res2a.forward(&h2, &emb)?, &emb)?;
        let h2 = self.mid1.forward(&h2, &emb)?;
        let h2 = self.mid2.forward(&self.attn.forward(&h2)?, &emb)?;
        let (_, _, h, w) = h1.dims4()?;
        let u1 = self.up1.forward(&h2.upsample_nearest2d(h, w)?)?;
        let u1 = Tensor::cat(&[&u1, &h1], 1)?;
        let u1 = self
            .res_u1b
            .forward(&self.res_u1a.forward(&u1, &emb)?, &emb)?;
        let (_, _, h, w) = h0.dims4()?;
        let u0 = self.up0.forward(&u1.upsample_nearest2d(h, w)?)?;
        let u0 = Tensor::cat(&[&u0, &h0], 1)?;
        let u0 = self
            .res_u0b
            .forward(&self.res_u0a.forward(&u0, &emb)?, &emb)?;
        self.conv_out.forward(&self.norm_out.forward(&u0)?.silu()?)
    }

    /// The dtype weights are loaded as.
    pub const DTYPE: DType = DType::F32;
}
