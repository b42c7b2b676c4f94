"""The v2 sprite model: a text-conditioned UNet over premultiplied RGBA at 32×32, trained with
rectified flow, conditioned by per-token cross-attention on a small transformer over frozen,
PCA-reduced SmolLM2 token embeddings (`text.py`).

Mirrored by `plugin/core/src/diffusion/sprite/` (candle) once v2 ships there: any change here needs
the same change there, and a new parity fixture (`reference2.py`).

16×16 sprites are the 32×32 sample box-filtered down (the training data's 16×16 renders are the same
box filter of the same 128×128 render), so one network serves both sizes.
"""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

GROUPS = 8
HEADS = 4


def timestep_embedding(t, dim):
    """Sinusoidal embedding of t in [0, 1] (scaled by 1000): [cos | sin]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = (t.float() * 1000.0)[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def attend(q, k, v, mask=None):
    """Multi-head attention: q (B,N,C), k/v (B,M,C), mask (B,M) bool of valid keys."""
    b, n, c = q.shape
    m = k.shape[1]
    d = c // HEADS
    q = q.reshape(b, n, HEADS, d).transpose(1, 2)
    k = k.reshape(b, m, HEADS, d).transpose(1, 2)
    v = v.reshape(b, m, HEADS, d).transpose(1, 2)
    s = q @ k.transpose(2, 3) / math.sqrt(d)
    if mask is not None:
        s = s + (~mask)[:, None, None, :].float() * -1e9
    o = torch.softmax(s, dim=-1) @ v
    return o.transpose(1, 2).reshape(b, n, c)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb, 2 * cout)
        self.norm2 = nn.GroupNorm(GROUPS, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(F.silu(h))
        return (self.skip(x) if self.skip is not None else x) + h


class AttnBlock(nn.Module):
    """Self-attention over pixels (where `self_attn`), then cross-attention from pixels to caption
    tokens."""

    def __init__(self, ch, ctx, self_attn=True):
        super().__init__()
        if self_attn:
            self.norm1 = nn.GroupNorm(GROUPS, ch)
            self.qkv = nn.Linear(ch, 3 * ch)
            self.proj1 = nn.Linear(ch, ch)
        self.self_attn = self_attn
        self.norm2 = nn.GroupNorm(GROUPS, ch)
        self.q = nn.Linear(ch, ch)
        self.kv = nn.Linear(ctx, 2 * ch)
        self.proj2 = nn.Linear(ch, ch)

    def forward(self, x, ctx, mask):
        b, c, h, w = x.shape
        if self.self_attn:
            t = self.norm1(x).reshape(b, c, h * w).transpose(1, 2)
            q, k, v = self.qkv(t).chunk(3, dim=-1)
            x = x + self.proj1(attend(q, k, v)).transpose(1, 2).reshape(b, c, h, w)
        t = self.norm2(x).reshape(b, c, h * w).transpose(1, 2)
        k, v = self.kv(ctx).chunk(2, dim=-1)
        x = x + self.proj2(attend(self.q(t), k, v, mask)).transpose(1, 2).reshape(b, c, h, w)
        return x


class TextLayer(nn.Module):
    """Pre-LayerNorm transformer layer over caption tokens (masked self-attention + GELU MLP)."""

    def __init__(self, d):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 2 * d)
        self.fc2 = nn.Linear(2 * d, d)

    def forward(self, x, mask):
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        x = x + self.proj(attend(q, k, v, mask))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class SpriteUNet2(nn.Module):
    def __init__(self, embed_dim=128, channels=(48, 96, 160), emb=256, ctx=192, text_layers=2,
                 max_tokens=24, time_dim=64):
        super().__init__()
        c0, c1, c2 = channels
        self.config = dict(embed_dim=embed_dim, channels=list(channels), emb=emb, ctx=ctx,
                           text_layers=text_layers, max_tokens=max_tokens, time_dim=time_dim)
        self.time_dim = time_dim
        self.max_tokens = max_tokens
        # Text: a learned start token, then the frozen embeddings of the caption's tokens.
        self.start = nn.Parameter(torch.randn(embed_dim) * 0.5)
        self.tok_in = nn.Linear(embed_dim, ctx)
        self.pos = nn.Parameter(torch.randn(max_tokens + 1, ctx) * 0.02)
        self.text = nn.ModuleList([TextLayer(ctx) for _ in range(text_layers)])
        self.ln_text = nn.LayerNorm(ctx)
        self.pool = nn.Linear(ctx, emb)
        self.time1 = nn.Linear(time_dim, emb)
        self.time2 = nn.Linear(emb, emb)
        self.conv_in = nn.Conv2d(4, c0, 3, padding=1)
        self.res0a = ResBlock(c0, c0, emb)
        self.down0 = nn.Conv2d(c0, c0, 3, stride=2, padding=1)
        self.res1a = ResBlock(c0, c1, emb)
        self.att1a = AttnBlock(c1, ctx, self_attn=False)
        self.res1b = ResBlock(c1, c1, emb)
        self.down1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.res2a = ResBlock(c1, c2, emb)
        self.att2a = AttnBlock(c2, ctx)
        self.res2b = ResBlock(c2, c2, emb)
        self.att2b = AttnBlock(c2, ctx)
        self.mid = ResBlock(c2, c2, emb)
        self.up1 = nn.Conv2d(c2, c1, 3, padding=1)
        self.res_u1a = ResBlock(2 * c1, c1, emb)
        self.att_u1a = AttnBlock(c1, ctx, self_attn=False)
        self.res_u1b = ResBlock(c1, c1, emb)
        self.up0 = nn.Conv2d(c1, c0, 3, padding=1)
        self.res_u0a = ResBlock(2 * c0, c0, emb)
        self.res_u0b = ResBlock(c0, c0, emb)
        self.norm_out = nn.GroupNorm(GROUPS, c0)
        self.conv_out = nn.Conv2d(c0, 4, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def encode_text(self, emb, mask):
        """emb: (B,L,E) frozen token embeddings (zeros past the caption), mask: (B,L) bool.

        Returns the context (B,L+1,ctx), its mask (B,L+1) and the pooled vector (B,emb)."""
        b = emb.shape[0]
        e = torch.cat([self.start.expand(b, 1, -1), emb], 1)
        m = torch.cat([torch.ones(b, 1, dtype=torch.bool), mask], 1)
        h = self.tok_in(e) + self.pos[: e.shape[1]]
        for layer in self.text:
            h = layer(h, m)
        h = self.ln_text(h)
        mf = m.float()[..., None]
        pooled = (h * mf).sum(1) / mf.sum(1)
        return h, m, self.pool(pooled)

    def forward(self, x, t, emb, mask):
        ctx, m, pooled = self.encode_text(emb, mask)
        return self.unet(x, t, ctx, m, pooled)

    def unet(self, x, t, ctx, m, pooled):
        e = self.time2(F.silu(self.time1(timestep_embedding(t, self.time_dim)))) + pooled
        h0 = self.res0a(self.conv_in(x), e)
        h1 = self.down0(h0)
        h1 = self.res1b(self.att1a(self.res1a(h1, e), ctx, m), e)
        h2 = self.down1(h1)
        h2 = self.att2a(self.res2a(h2, e), ctx, m)
        h2 = self.att2b(self.res2b(h2, e), ctx, m)
        h2 = self.mid(h2, e)
        u1 = self.up1(F.interpolate(h2, scale_factor=2, mode="nearest"))
        u1 = self.res_u1b(self.att_u1a(self.res_u1a(torch.cat([u1, h1], 1), e), ctx, m), e)
        u0 = self.up0(F.interpolate(u1, scale_factor=2, mode="nearest"))
        u0 = self.res_u0b(self.res_u0a(torch.cat([u0, h0], 1), e), e)
        return self.conv_out(F.silu(self.norm_out(u0)))


def caption_tensors(table, ids_list, max_tokens):
    """Token id lists -> (B,L,E) embeddings from the frozen table and (B,L) masks."""
    b = len(ids_list)
    emb = torch.zeros(b, max_tokens, table.shape[1])
    mask = torch.zeros(b, max_tokens, dtype=torch.bool)
    for i, ids in enumerate(ids_list):
        ids = ids[:max_tokens]
        if ids:
            emb[i, : len(ids)] = table[torch.tensor(ids)]
            mask[i, : len(ids)] = True
    return emb, mask


@torch.no_grad()
def sample(model, noise, emb, mask, steps, guidance):
    """Rectified-flow Euler sampler from t=1 (noise) to t=0 with classifier-free guidance (the
    unconditional branch is the empty caption). Returns premultiplied RGBA in [-1, 1] (unclamped)."""
    b = noise.shape[0]
    ctx_c, m_c, p_c = model.encode_text(emb, mask)
    ctx_u, m_u, p_u = model.encode_text(torch.zeros_like(emb), torch.zeros_like(mask))
    ctx, m, pooled = torch.cat([ctx_c, ctx_u]), torch.cat([m_c, m_u]), torch.cat([p_c, p_u])
    x = noise
    for i in range(steps):
        t = 1.0 - i / steps
        t_next = 1.0 - (i + 1) / steps
        v = model.unet(torch.cat([x, x]), torch.full((2 * b,), t), ctx, m, pooled)
        vc, vu = v[:b], v[b:]
        x = x + (t_next - t) * (vu + guidance * (vc - vu))
    return x


def save_config(model, path, **extra):
    cfg = dict(model.config)
    cfg.update(size=32, groups=GROUPS, heads=HEADS, objective="rectified_flow", **extra)
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
