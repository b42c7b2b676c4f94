"""The v2 sprite model's frozen text side: SmolLM2's BPE restricted to lowercase ASCII words, and
its token embeddings reduced by PCA.

`python text.py --gguf SmolLM2-135M-Instruct.Q4_1.gguf --out ../../../models/sprite/v2` writes
`tokens.txt` (one token per line, row order of the table; `Ġ` marks a leading space as in GPT-2's
byte-level BPE), `merges.txt` (the merges among those tokens, by rank) and `text.safetensors`
(`embed`: [tokens, DIM] f16, PCA of the LLM's token embeddings scaled to unit RMS).

Tokenization (mirrored by `sprout_core::diffusion::sprite`): a caption is split into words
(lowercase ASCII alphanumeric runs); each word into pieces (letter runs and single digits); a
letter run that starts a word gets the `Ġ` prefix; each piece is BPE-merged with `merges.txt`
(repeatedly merge the lowest-ranked adjacent pair, all its occurrences left to right); pieces
whose symbols are not all known are dropped.
"""
import argparse
import re

import numpy as np

DIM = 128
SPACE = "\u0120"  # Ġ
_TOKEN = re.compile("^" + SPACE + "?[a-z0-9]+$")


def words(text):
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def pieces(word):
    out = []
    for m in re.finditer(r"[a-z]+|[0-9]", word):
        p = m.group(0)
        if m.start() == 0 and p[0].isalpha():
            p = SPACE + p
        out.append(p)
    return out


class Tokenizer:
    def __init__(self, tokens, merges):
        self.tokens = tokens
        self.ids = {t: i for i, t in enumerate(tokens)}
        self.ranks = {tuple(m.split(" ")): r for r, m in enumerate(merges)}
        self.cache = {}

    @classmethod
    def load(cls, folder):
        tokens = open(f"{folder}/tokens.txt", encoding="utf-8").read().split("\n")
        merges = open(f"{folder}/merges.txt", encoding="utf-8").read().split("\n")
        return cls([t for t in tokens if t], [m for m in merges if m])

    def bpe(self, piece):
        syms = list(piece)
        while len(syms) > 1:
            best = None
            for a, b in zip(syms, syms[1:]):
                r = self.ranks.get((a, b))
                if r is not None and (best is None or r < best[0]):
                    best = (r, a, b)
            if best is None:
                break
            _, a, b = best
            out, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            syms = out
        if all(s in self.ids for s in syms):
            return [self.ids[s] for s in syms]
        return []

    def word_ids(self, word):
        ids = self.cache.get(word)
        if ids is None:
            ids = [i for p in pieces(word) for i in self.bpe(p)]
            self.cache[word] = ids
        return ids

    def encode(self, text):
        return [i for w in words(text) for i in self.word_ids(w)]


def build(gguf_path, out):
    import gguf
    from safetensors.numpy import save_file

    r = gguf.GGUFReader(gguf_path)
    f = r.fields["tokenizer.ggml.tokens"]
    tokens = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    f = r.fields["tokenizer.ggml.merges"]
    merges = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    t = next(t for t in r.tensors if t.name == "token_embd.weight")
    emb = gguf.dequantize(t.data, t.tensor_type).reshape(len(tokens), -1).astype(np.float64)
    keep = [i for i, tok in enumerate(tokens) if _TOKEN.match(tok) or tok == SPACE]
    kept = {tokens[i] for i in keep}
    sub_merges = []
    for m in merges:
        a, b = m.split(" ")
        if a in kept and b in kept and a + b in kept:
            sub_merges.append(m)
    e = emb[keep]
    mu = e.mean(0)
    u, s, vt = np.linalg.svd(e - mu, full_matrices=False)
    proj = (e - mu) @ vt[:DIM].T
    proj /= np.sqrt((proj**2).mean())
    var = (s[:DIM] ** 2).sum() / (s**2).sum()
    with open(f"{out}/tokens.txt", "w", encoding="utf-8") as fh:
        fh.write("\n".join(tokens[i] for i in keep) + "\n")
    with open(f"{out}/merges.txt", "w", encoding="utf-8") as fh:
        fh.write("\n".join(sub_merges) + "\n")
    save_file({"embed": proj.astype(np.float16)}, f"{out}/text.safetensors")
    print(f"{len(keep)} tokens, {len(sub_merges)} merges, {DIM} dims keep {var:.1%} of the variance")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    build(a.gguf, a.out)
