//! The v2 network in candle, weight names as in `model2.py`: the text encoder (a learned start
//! token and two pre-LN transformer layers over the frozen token embeddings) and the 32×32
//! `UNet` (`ResBlock`s with `FiLM`, self-attention at 8×8, cross-attention to the caption at 16×16
//! and 8×8).

use candle_core::{Device, Module, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, GroupNorm, LayerNorm, Linear, VarBuilder};

use super::SpriteConfig2;

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
