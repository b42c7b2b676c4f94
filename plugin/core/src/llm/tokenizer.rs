//! A tokenizer built from the GGUF file's own metadata (`tokenizer.ggml.*`), so one `.gguf` is a
//! complete model.
//!
//! Byte-level BPE (`tokenizer.ggml.model == "gpt2"`) from the token list and the merges, with the
//! pre-tokenizer that `tokenizer.ggml.pre` names (`smollm`, `qwen2`, or GPT-2's). As in llama.cpp,
//! tokens of type 3 (control) are special, tokens of type 4 (user-defined, Qwen's `<tool_call>`)
//! are matched whole in text and stand for their text, and tokens of type 5 (unused, Qwen's
//! `[PAD151665]` padding) are never produced. The same tokenizer serves llguidance through
//! [`TokenizerEnv`], so the constraint masks see exactly the tokens the model does.

use std::collections::HashMap;
use std::sync::Arc;

use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, PreTokenizerWrapper, SplitDelimiterBehavior};
use toktrie::{TokRxInfo, TokTrie, TokenizerEnv};

use super::{Error, Result};

/// GGUF token type of control (special) tokens.
const TOKEN_TYPE_CONTROL: i64 = 3;
/// GGUF token type of user-defined tokens: plain text, always matched whole.
const TOKEN_TYPE_USER_DEFINED: i64 = 4;
/// GGUF token type of unused (padding) tokens.
const TOKEN_TYPE_UNUSED: i64 = 5;

/// Qwen2's pre-tokenizer pattern (as llama.cpp's `qwen2` pre-type).
const QWEN2_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// A tokenizer read from GGUF metadata. Cheap to clone (shared).
#[derive(Clone)]
pub struct Tokenizer {
    inner: Arc<Inner>,
}

struct Inner {
    hf: tokenizers::Tokenizer,
    /// The bytes each token stands for; special tokens: `0xff` + their text (toktrie's convention).
    token_bytes: Vec<Vec<u8>>,
    /// Control and unused tokens: no text, never allowed by a constraint.
    special: Vec<bool>,
    tokens: Vec<String>,
    eos: Vec<u32>,
    bos: Option<u32>,
    trie: TokTrie,
}

impl core::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vocab", &self.inner.tokens.len())
            .field("eos", &self.inner.eos)
            .finish_non_exhaustive()
    }
}

fn md<'a>(ct: &'a Content, key: &str) -> Result<&'a Value> {
    ct.metadata
        .get(key)
        .ok_or_else(|| Error::Tokenizer(format!("the GGUF has no `{key}`")))
}

fn strings(v: &Value, key: &str) -> Result<Vec<String>> {
    let list = v
        .to_vec()
        .map_err(|e| Error::Tokenizer(format!("`{key}`: {e}")))?;
    list.iter()
        .map(|x| {
            x.to_string()
                .cloned()
                .map_err(|e| Error::Tokenizer(format!("`{key}`: {e}")))
        })
        .collect()
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::U8(x) => Some(i64::from(*x)),
        Value::I8(x) => Some(i64::from(*x)),
        Value::U16(x) => Some(i64::from(*x)),
        Value::I16(x) => Some(i64::from(*x)),
        Value::U32(x) => Some(i64::from(*x)),
        Value::I32(x) => Some(i64::from(*x)),
        Value::U64(x) => i64::try_from(*x).ok(),
        Value::I64(x) => Some(*x),
        _ => None,
    }
}

/// GPT-2's map from the printable characters of byte-level tokens back to bytes.
fn byte_level_char_map() -> HashMap<char, u8> {
    let mut map = HashMap::with_capacity(256);
    let mut k = 0x100u32;
    for b in 0..=255u8 {
        let c = char::from(b);
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        if printable {
            map.insert(c, b);
        } else {
            map.insert(char::from_u32(k).unwrap_or(c), b);
            k += 1;
        }
    }
    map
}

impl Tokenizer {
    /// Builds the tokenizer from the GGUF metadata.
    pub fn from_gguf(ct: &Content) -> Result<Self> {
        let model = md(ct, "tokenizer.ggml.model")?
            .to_string()
            .map_err(|e| Error::Tokenizer(e.to_string()))?
            .clone();
        if model != "gpt2" {
            return Err(Error::Tokenizer(format!(
                "tokenizer model `{model}` is not supported yet (only byte-level BPE, `gpt2`)"
            )));
        }
        let tokens = strings(md(ct, "tokenizer.ggml.tokens")?, "tokenizer.ggml.tokens")?;
        let merges = strings(md(ct, "tokenizer.ggml.merges")?, "tokenizer.ggml.merges")?;
        let types: Vec<i64> = match ct.metadata.get("tokenizer.ggml.token_type") {
            Some(v) => v
                .to_vec()
                .map_err(|e| Error::Tokenizer(e.to_string()))?
                .iter()
                .map(|x| int(x).unwrap_or(1))
                .collect(),
            None => vec![1; tokens.len()],
        };
        let pre = ct
            .metadata
            .get("tokenizer.ggml.pre")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_else(|| "default".into());
        let id_of = |key: &str| {
            ct.metadata
                .get(key)
                .and_then(int)
                .and_then(|x| u32::try_from(x).ok())
        };
        let bos = id_of("tokenizer.ggml.bos_token_id");
        let eos_id = id_of("tokenizer.ggml.eos_token_id");

        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let merges: Vec<(String, String)> = merges
            .iter()
            .filter_map(|m| m.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())))
            .collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let mut hf = tokenizers::Tokenizer::new(bpe);
        let pre_tokenizer: PreTokenizerWrapper = match pre.as_str() {
            "smollm" => Sequence::new(vec![
                Digits::new(true).into(),
                ByteLevel::new(false, true, true).into(),
            ])
            .into(),
            "qwen2" => {
                let split = Split::new(
                    SplitPattern::Regex(QWEN2_PATTERN.into()),
                    SplitDelimiterBehavior::Isolated,
                    false,
                )
                .map_err(|e| Error::Tokenizer(e.to_string()))?;
                Sequence::new(vec![
                    split.into(),
                    ByteLevel::new(false, true, false).into(),
                ])
                .into()
            }
            other => {
                tracing::debug!("pre-tokenizer `{other}`: using GPT-2's");
                ByteLevel::new(false, true, true).into()
            }
        };
        hf.with_pre_tokenizer(Some(pre_tokenizer));
        hf.with_decoder(Some(ByteLevelDecoder::default()));

        let type_of = |i: usize| types.get(i).copied().unwrap_or(1);
        let special: Vec<bool> = (0..tokens.len())
            .map(|i| matches!(type_of(i), TOKEN_TYPE_CONTROL | TOKEN_TYPE_UNUSED))
            .collect();
        let of_type = |ty: i64| {
            tokens
                .iter()
                .enumerate()
                .filter(move |(i, _)| type_of(*i) == ty)
                .map(|(_, t)| t.clone())
        };
        hf.add_special_tokens(of_type(TOKEN_TYPE_CONTROL).map(|t| AddedToken::from(t, true)))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        hf.add_tokens(of_type(TOKEN_TYPE_USER_DEFINED).map(|t| AddedToken::from(t, false)))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;

        let map = byte_level_char_map();
        let token_bytes: Vec<Vec<u8>> = tokens
            .iter()
            .zip(&special)
            .enumerate()
            .map(|(i, (t, s))| {
                if *s {
                    let mut b = vec![TokTrie::SPECIAL_TOKEN_MARKER];
                    b.extend_from_slice(t.as_bytes());
                    b
                } else if type_of(i) == TOKEN_TYPE_USER_DEFINED {
                    // Stored as plain text, not in the byte-level alphabet.
                    t.as_bytes().to_vec()
                } else {
                    t.chars()
                        .map(|c| map.get(&c).copied())
                        .collect::<Option<Vec<u8>>>()
                        .unwrap_or_else(|| t.as_bytes().to_vec())
                }
            })
            .collect();

        // Stop on the end-of-turn token of chat models as well as on the declared EOS.
        let mut eos: Vec<u32> = Vec::new();
        for name in [
            "<|im_end|>",
            "<|eot_id|>",
            "<|end|>",
            "<end_of_turn>",
            "<|endoftext|>",
        ] {
            if let Some(i) = tokens.iter().position(|t| t == name) {
                eos.push(i as u32);
            }
        }
        if let Some(e) = eos_id
            && !eos.contains(&e)
        {
            eos.push(e);
        }
        if eos.is_empty() {
            return Err(Error::Tokenizer(
                "the GGUF names no end-of-sequence token".into(),
            ));
        }
        // llguidance stops on its EOS: the end of the assistant's turn.
        let mut info = TokRxInfo::new(tokens.len() as u32, eos[0]);
        info.tok_bos = bos;
        info.tok_end_of_turn = Some(eos[0]);
        let trie = TokTrie::from(&info, &token_bytes);

        Ok(Self {
            inner: Arc::new(Inner {
                hf,
                token_bytes,
                special,
                tokens,
                eos,
                bos,
                trie,
            }),
        })
    }

    /// Encodes text; special tokens written in the text (`<|im_start|>`) become their ids.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .hf
            .encode(text, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Decodes ids to text, leaving out special tokens.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::new();
        for &id in ids {
            if !self.is_special(id)
                && let Some(b) = self.inner.token_bytes.get(id as usize)
            {
                bytes.extend_from_slice(b);
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The bytes a token stands for (empty for special tokens).
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        if self.is_special(id) {
            return &[];
        }
        self.inner
            .token_bytes
            .get(id as usize)
            .map_or(&[][..], Vec::as_slice)
    }

    /// Whether the token is a control token (or an unused one): it stands for no text.
    pub fn is_special(&self, id: u32) -> bool {
        self.inner
            .special
            .get(id as usize)
            .copied()
            .unwrap_or(false)
    }

    /// The token's text as stored in the GGUF.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.inner.tokens.get(id as usize).map(String::as_str)
    }

    /// The id of a token by its text.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner
            .tokens
            .iter()
            .position(|t| t == token)
            .map(|i| i as u32)
    }

    /// Vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.inner.tokens.len()
    }

    /// Tokens that end a generation (end of turn first).
    pub fn eos(&self) -> &[u32] {
        &self.inner.eos
    }

    /// The beginning-of-sequence token, when the model has one.
    pub fn bos(&self) -> Option<u32> {
        self.inner.bos
    }

    /// This tokenizer as llguidance's token environment.
    pub fn tok_env(&self) -> toktrie::TokEnv {
        Arc::new(self.clone())
    }
}

impl TokenizerEnv for Tokenizer {
    fn tok_trie(&self) -> &TokTrie {
        &self.inner.trie
    }

    fn tokenize_bytes(&self, s: &[u8]) -> Vec<toktrie::TokenId> {
        // The BPE's own (canonical) tokenization for valid UTF-8; llguidance copes with the rest.
        match core::str::from_utf8(s) {
            Ok(text) => match self.inner.hf.encode(text, false) {
                Ok(enc) => enc.get_ids().to_vec(),
                Err(_) => self.inner.trie.greedy_tokenize(s),
            },
            Err(_) => self.inner.trie.greedy_tokenize(s),
        }
    }
}

/// Turns a stream of tokens into text pieces, holding back bytes of an unfinished UTF-8 character.
#[derive(Debug, Default)]
pub struct TextStream {
    pending: Vec<u8>,
}

impl TextStream {
    /// The text that `id` completes (maybe empty).
    pub fn push(&mut self, tokenizer: &Tokenizer, id: u32) -> String {
        self.pending.extend_from_slice(tokenizer.token_bytes(id));
        match core::str::from_utf8(&self.pending) {
            Ok(s) => {
                let out = s.to_owned();
                self.pending.clear();
                out
            }
            Err(e) if e.error_len().is_none() => {
                // An incomplete character at the end: emit what is whole.
                let valid = e.valid_up_to();
                let out = String::from_utf8_lossy(&self.pending[..valid]).into_owned();
                self.pending.drain(..valid);
                out
            }
            Err(_) => {
                let out = String::from_utf8_lossy(&self.pending).into_owned();
                self.pending.clear();
                out
            }
        }
    }

    /// Whatever is left (lossily).
    pub fn flush(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_map_is_a_bijection() {
        let m = byte_level_char_map();
        assert_eq!(m.len(), 256);
        let mut bytes: Vec<u8> = m.values().copied().collect();
        bytes.sort_unstable();
        bytes.dedup();
        assert_eq!(bytes.len(), 256);
        assert_eq!(m[&'Ġ'], b' ');
        assert_eq!(m[&'Ċ'], b'\n');
    }
}
