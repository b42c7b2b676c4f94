"""The sprite model: a small text-conditioned UNet over premultiplied RGBA, trained with rectified flow.

Mirrored exactly by `plugin/core/src/diffusion/sprite/model.rs` (candle). Any change here needs the
same change there, and a new parity fixture (`reference.py`).
"""
import json
import math
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

GROUPS = 8


def words(text):
    """Caption words: lowercase ASCII alphanumeric runs (same rule as the Rust tokenizer)."""
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def timestep_embedding(t, dim):
    """Sinusoidal embedding of t in [0, 1] (scaled by 1000): [cos | sin], like the Rust side."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = (t.float() * 1000.0)[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


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


class Attention(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.norm = nn.GroupNorm(GROUPS, ch)
        self.qkv = nn.Linear(ch, 3 * ch)
        self.proj = nn.Linear(ch, ch)

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.norm(x).reshape(b, c, h * w).transpose(1, 2)
        q, k, v = self.qkv(t).chunk(3, dim=-1)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=-1)
        o = self.proj(a @ v)
        return x + o.transpose(1, 2).reshape(b, c, h, w)


class SpriteUNet(nn.Module):
    def __init__(self, vocab_size, channels=(64, 128, 192), emb=256, time_dim=64):
        super().__init__()
        c0, c1, c2 = channels
        self.config = dict(vocab_size=vocab_size, channels=list(channels), emb=emb, time_dim=time_dim)
        self.time_dim = time_dim
        self.time1 = nn.Linear(time_dim, emb)
        self.time2 = nn.Linear(emb, emb)
        self.tokens = nn.Embedding(vocab_size, emb)
        self.cond1 = nn.Linear(emb, emb)
        self.cond2 = nn.Linear(emb, emb)
        self.conv_in = nn.Conv2d(4, c0, 3, padding=1)
        self.res0a = ResBlock(c0, c0, emb)
        self.res0b = ResBlock(c0, c0, emb)
        self.down0 = nn.Conv2d(c0, c0, 3, stride=2, padding=1)
        self.res1a = ResBlock(c0, c1, emb)
        self.res1b = ResBlock(c1, c1, emb)
        self.down1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.res2a = ResBlock(c1, c2, emb)
        self.res2b = ResBlock(c2, c2, emb)
        self.mid1 = ResBlock(c2, c2, emb)
        self.attn = Attention(c2)
        self.mid2 = ResBlock(c2, c2, emb)
        self.up1 = nn.Conv2d(c2, c1, 3, padding=1)
        self.res_u1a = ResBlock(2 * c1, c1, emb)
        self.res_u1b = ResBlock(c1, c1, emb)
        self.up0 = nn.Conv2d(c1, c0, 3, padding=1)
        self.res_u0a = ResBlock(2 * c0, c0, emb)
        self.res_u0b = ResBlock(c0, c0, emb)
        self.norm_out = nn.GroupNorm(GROUPS, c0)
        self.conv_out = nn.Conv2d(c0, 4, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def condition(self, ids):
        """Masked mean of token embeddings (id 0 = padding); no tokens -> the null embedding (row 0)."""
        mask = (ids > 0).float()[..., None]
        e = self.tokens(ids)
        cnt = mask.sum(1)
        pooled = (e * mask).sum(1) / cnt.clamp(min=1.0)
        null = self.tokens.weight[0][None].expand_as(pooled)
        pooled = torch.where(cnt > 0, pooled, null)
        return self.cond2(F.silu(self.cond1(pooled)))

    def forward(self, x, t, ids):
        emb = self.time2(F.silu(self.time1(timestep_embedding(t, self.time_dim)))) + self.condition(ids)
        h0 = self.conv_in(x)
        h0 = self.res0b(self.res0a(h0, emb), emb)
        h1 = self.down0(h0)
        h1 = self.res1b(self.res1a(h1, emb), emb)
        h2 = self.down1(h1)
        h2 = self.res2b(self.res2a(h2, emb), emb)
        h2 = self.mid2(self.attn(self.mid1(h2, emb)), emb)
        u1 = self.up1(F.interpolate(h2, scale_factor=2, mode="nearest"))
        u1 = self.res_u1b(self.res_u1a(torch.cat([u1, h1], 1), emb), emb)
        u0 = self.up0(F.interpolate(u1, scale_factor=2, mode="nearest"))
        u0 = self.res_u0b(self.res_u0a(torch.cat([u0, h0], 1), emb), emb)
        return self.conv_out(F.silu(self.norm_out(u0)))


def load_vocab(path):
    with open(path) as f:
        return [line.rstrip("\n") for line in f]


def encode(vocab_index, text, max_tokens):
    """Prompt -> padded id list (unknown words dropped), as the Rust tokenizer does."""
    ids = [vocab_index[w] for w in words(text) if w in vocab_index][:max_tokens]
    return ids + [0] * (max_tokens - len(ids))


@torch.no_grad()
def sample(model, noise, ids, steps, guidance):
    """Rectified-flow Euler sampler from t=1 (noise) to t=0 with classifier-free guidance.

    noise: (B,4,H,W); ids: (B,L). Returns premultiplied RGBA in [-1, 1] (unclamped).
    """
    b = noise.shape[0]
    x = noise
    null = torch.zeros_like(ids)
    for i in range(steps):
        t = 1.0 - i / steps
        t_next = 1.0 - (i + 1) / steps
        tt = torch.full((2 * b,), t)
        v = model(torch.cat([x, x]), tt, torch.cat([ids, null]))
        vc, vu = v[:b], v[b:]
        v = vu + guidance * (vc - vu)
        x = x + (t_next - t) * v
    return x


def save_config(model, path, max_tokens):
    cfg = dict(model.config)
    cfg.update(max_tokens=max_tokens, size=16, groups=GROUPS, objective="rectified_flow")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
