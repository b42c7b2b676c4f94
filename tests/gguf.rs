//! Model files that lie about themselves: a tiny Llama GGUF written here (a few kilobytes, no
//! download), then mutated field by field. Every hostile file must end in a clean error that names
//! the file and the field, on every loading path (the native engine and candle's), never in a
//! panic or an abort; a proptest mutates and truncates the valid file at random.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sprout_core::llm::gguf::{self, GgufFile};
use sprout_core::llm::{CancelToken, Engine, Error, LoadOptions, LocalModel};

/// A metadata value, as the writer puts it on disk.
#[derive(Debug, Clone)]
enum Val {
    U32(u32),
    F32(f32),
    Str(String),
    Strs(Vec<String>),
    I32s(Vec<i32>),
}

/// One `F32` tensor; `ne` in GGUF order (innermost first).
#[derive(Debug, Clone)]
struct Tensor {
    name: String,
    ne: Vec<u64>,
    dtype: u32,
    data: Vec<u8>,
    /// Replaces the offset the writer computes.
    offset: Option<u64>,
}

/// A GGUF v3 file under construction.
#[derive(Debug, Clone)]
struct Tiny {
    metadata: Vec<(String, Val)>,
    tensors: Vec<Tensor>,
}

const DIM: u64 = 32;
const FFN: u64 = 32;
const HEADS: u32 = 2;
const KV_HEADS: u32 = 1;
const TOKENS: [&str; 8] = [
    "a",
    "b",
    "c",
    "Ġ",
    "Ċ",
    "user",
    "<|im_start|>",
    "<|im_end|>",
];

fn lcg(seed: &mut u64) -> f32 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    ((*seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
}

impl Tiny {
    /// A whole, loadable one-layer Llama: dimension 32, two query heads, one key/value head, eight tokens.
    fn llama() -> Self {
        let s = |v: &str| Val::Str(v.into());
        let metadata = vec![
            ("general.architecture".into(), s("llama")),
            ("general.name".into(), s("tiny")),
            ("llama.context_length".into(), Val::U32(64)),
            ("llama.embedding_length".into(), Val::U32(DIM as u32)),
            ("llama.block_count".into(), Val::U32(1)),
            ("llama.feed_forward_length".into(), Val::U32(FFN as u32)),
            ("llama.attention.head_count".into(), Val::U32(HEADS)),
            ("llama.attention.head_count_kv".into(), Val::U32(KV_HEADS)),
            (
                "llama.rope.dimension_count".into(),
                Val::U32(DIM as u32 / HEADS),
            ),
            (
                "llama.attention.layer_norm_rms_epsilon".into(),
                Val::F32(1e-5),
            ),
            ("tokenizer.ggml.model".into(), s("gpt2")),
            (
                "tokenizer.ggml.tokens".into(),
                Val::Strs(TOKENS.iter().map(|t| (*t).to_owned()).collect()),
            ),
            (
                "tokenizer.ggml.token_type".into(),
                Val::I32s(vec![1, 1, 1, 1, 1, 1, 3, 3]),
            ),
            ("tokenizer.ggml.merges".into(), Val::Strs(Vec::new())),
            ("tokenizer.ggml.eos_token_id".into(), Val::U32(7)),
            ("general.alignment".into(), Val::U32(32)),
        ];
        let mut seed = 7;
        let mut t = |name: &str, ne: &[u64], norm: bool| {
            let n: u64 = ne.iter().product();
            let data = (0..n)
                .flat_map(|_| {
                    let v = if norm { 1.0 } else { lcg(&mut seed) * 0.2 };
                    v.to_le_bytes()
                })
                .collect();
            Tensor {
                name: name.into(),
                ne: ne.to_vec(),
                dtype: 0,
                data,
                offset: None,
            }
        };
        let kvd = DIM / u64::from(HEADS) * u64::from(KV_HEADS);
        let tensors = vec![
            t("token_embd.weight", &[DIM, TOKENS.len() as u64], false),
            t("output_norm.weight", &[DIM], true),
            t("blk.0.attn_norm.weight", &[DIM], true),
            t("blk.0.attn_q.weight", &[DIM, DIM], false),
            t("blk.0.attn_k.weight", &[DIM, kvd], false),
            t("blk.0.attn_v.weight", &[DIM, kvd], false),
            t("blk.0.attn_output.weight", &[DIM, DIM], false),
            t("blk.0.ffn_norm.weight", &[DIM], true),
            t("blk.0.ffn_gate.weight", &[DIM, FFN], false),
            t("blk.0.ffn_up.weight", &[DIM, FFN], false),
            t("blk.0.ffn_down.weight", &[FFN, DIM], false),
        ];
        Self { metadata, tensors }
    }

    /// Sets (or adds) a metadata value.
    fn set(mut self, key: &str, v: Val) -> Self {
        match self.metadata.iter_mut().find(|(k, _)| k == key) {
            Some((_, old)) => *old = v,
            None => self.metadata.push((key.into(), v)),
        }
        self
    }

    fn tensor(&mut self, name: &str) -> &mut Tensor {
        self.tensors.iter_mut().find(|t| t.name == name).unwrap()
    }

    /// The file's bytes (data aligned to 32 bytes, whatever `general.alignment` says).
    fn bytes(&self) -> Vec<u8> {
        self.bytes_and_fields().0
    }

    /// The file's bytes, where each number of its header starts (counts, lengths, types...) and
    /// where each of the numbers that describe the model starts (integer metadata values, tensor
    /// dimensions and offsets): the places where a lie does harm.
    fn bytes_and_fields(&self) -> (Vec<u8>, Vec<usize>, Vec<usize>) {
        let pad = |n: usize| (32 - n % 32) % 32;
        let mut w = Writer::default();
        w.raw(b"GGUF");
        w.num(&3u32.to_le_bytes());
        w.num(&(self.tensors.len() as u64).to_le_bytes());
        w.num(&(self.metadata.len() as u64).to_le_bytes());
        for (k, v) in &self.metadata {
            w.string(k);
            match v {
                Val::U32(x) => {
                    w.num(&4u32.to_le_bytes());
                    w.value(&x.to_le_bytes());
                }
                Val::F32(x) => {
                    w.num(&6u32.to_le_bytes());
                    w.raw(&x.to_le_bytes());
                }
                Val::Str(s) => {
                    w.num(&8u32.to_le_bytes());
                    w.string(s);
                }
                Val::Strs(xs) => {
                    w.num(&9u32.to_le_bytes());
                    w.num(&8u32.to_le_bytes());
                    w.num(&(xs.len() as u64).to_le_bytes());
                    for s in xs {
                        w.string(s);
                    }
                }
                Val::I32s(xs) => {
                    w.num(&9u32.to_le_bytes());
                    w.num(&5u32.to_le_bytes());
                    w.num(&(xs.len() as u64).to_le_bytes());
                    for x in xs {
                        w.raw(&x.to_le_bytes());
                    }
                }
            }
        }
        let mut offset = 0u64;
        for t in &self.tensors {
            w.string(&t.name);
            w.num(&(t.ne.len() as u32).to_le_bytes());
            for d in &t.ne {
                w.value(&d.to_le_bytes());
            }
            w.num(&t.dtype.to_le_bytes());
            w.value(&t.offset.unwrap_or(offset).to_le_bytes());
            offset += (t.data.len() + pad(t.data.len())) as u64;
        }
        let mut out = w.out;
        out.resize(out.len() + pad(out.len()), 0);
        for t in &self.tensors {
            out.extend_from_slice(&t.data);
            out.resize(out.len() + pad(t.data.len()), 0);
        }
        (out, w.fields, w.values)
    }

    /// Writes the file as `name` in `dir`.
    fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, self.bytes()).unwrap();
        path
    }
}

/// The header's bytes, with where each number starts.
#[derive(Debug, Default)]
struct Writer {
    out: Vec<u8>,
    /// Every number.
    fields: Vec<usize>,
    /// The numbers that describe the model.
    values: Vec<usize>,
}

impl Writer {
    fn raw(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }

    fn num(&mut self, b: &[u8]) {
        self.fields.push(self.out.len());
        self.raw(b);
    }

    fn value(&mut self, b: &[u8]) {
        self.values.push(self.out.len());
        self.num(b);
    }

    fn string(&mut self, s: &str) {
        self.num(&(s.len() as u64).to_le_bytes());
        self.raw(s.as_bytes());
    }
}

/// Where the first string `s` (its `u64` length prefix) starts in `bytes`.
fn string_at(bytes: &[u8], s: &str) -> usize {
    let mut needle = (s.len() as u64).to_le_bytes().to_vec();
    needle.extend_from_slice(s.as_bytes());
    bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

/// Replaces the `u64` length prefix of the first string `s` in `bytes` with `len`.
fn patch_string_length(bytes: &mut [u8], s: &str, len: u64) {
    let at = string_at(bytes, s);
    bytes[at..at + 8].copy_from_slice(&len.to_le_bytes());
}

fn native() -> LoadOptions {
    LoadOptions::default()
}

fn candle() -> LoadOptions {
    LoadOptions {
        engine: Engine::Candle,
        ..LoadOptions::default()
    }
}

/// `path` is refused by the header check, by `GgufFile::open` and by both engines, with an error
/// that names the file and `field` (and, when given, says `what`).
fn refused(path: &Path, field: &str, what: &str) {
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    let check = |e: Error| {
        let text = e.to_string();
        assert!(text.contains(&file), "the error names the file: {text}");
        assert!(text.contains(field), "the error names `{field}`: {text}");
        assert!(text.contains(what), "the error says `{what}`: {text}");
        assert!(!text.contains("panicked"), "no panic was contained: {text}");
        assert!(
            matches!(&e, Error::BadModelFile { field: f, .. } if f.contains(field)),
            "{e:?}"
        );
    };
    check(gguf::check(path).unwrap_err());
    check(GgufFile::open(path).unwrap_err());
    check(LocalModel::load(path, &native()).unwrap_err());
    check(LocalModel::load(path, &candle()).unwrap_err());
}

#[test]
fn the_tiny_model_loads_and_runs_in_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let path = Tiny::llama().write(dir.path(), "tiny.gguf");
    let header = gguf::check(&path).unwrap();
    assert_eq!(header.architecture, "llama");
    assert_eq!((header.version, header.alignment), (3, 32));
    assert_eq!(header.tensors, 11);
    for options in [native(), candle()] {
        let model = LocalModel::load(&path, &options).unwrap();
        let logits = model
            .backend()
            .prefill(&[6, 5, 0], &mut |_| {}, &CancelToken::new())
            .unwrap();
        assert_eq!(logits.len(), TOKENS.len());
        assert!(logits.iter().all(|x| x.is_finite()), "{logits:?}");
    }
}

#[test]
fn alignment_zero_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = Tiny::llama()
        .set("general.alignment", Val::U32(0))
        .write(dir.path(), "align0.gguf");
    refused(&path, "general.alignment", "power of two");
    let path = Tiny::llama()
        .set("general.alignment", Val::U32(48))
        .write(dir.path(), "align48.gguf");
    refused(&path, "general.alignment", "power of two");
}

#[test]
fn head_count_zero_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = Tiny::llama()
        .set("llama.attention.head_count", Val::U32(0))
        .write(dir.path(), "heads0.gguf");
    refused(&path, "llama.attention.head_count", "at least 1");
}

#[test]
fn head_counts_that_do_not_divide_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = Tiny::llama()
        .set("llama.attention.head_count", Val::U32(3))
        .write(dir.path(), "heads3.gguf");
    refused(&path, "llama.attention.head_count", "divide");
    let path = Tiny::llama()
        .set("llama.attention.head_count_kv", Val::U32(0))
        .write(dir.path(), "kv0.gguf");
    refused(&path, "llama.attention.head_count_kv", "at least 1");
    let path = Tiny::llama()
        .set("llama.attention.head_count", Val::U32(4))
        .set("llama.attention.head_count_kv", Val::U32(3))
        .write(dir.path(), "kv3.gguf");
    refused(&path, "llama.attention.head_count_kv", "divide");
}

#[test]
fn block_count_u32_max_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = Tiny::llama()
        .set("llama.block_count", Val::U32(u32::MAX))
        .write(dir.path(), "blocks.gguf");
    refused(&path, "llama.block_count", "at most");
    // Within the bound but not what the file holds.
    let path = Tiny::llama()
        .set("llama.block_count", Val::U32(2))
        .write(dir.path(), "blocks2.gguf");
    refused(&path, "llama.block_count", "blk.1");
}

#[test]
fn context_and_rope_sizes_are_bounded_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = Tiny::llama()
        .set("llama.context_length", Val::U32(u32::MAX))
        .write(dir.path(), "context.gguf");
    refused(&path, "llama.context_length", "at most");
    let path = Tiny::llama()
        .set("llama.rope.dimension_count", Val::U32(u32::MAX))
        .write(dir.path(), "rope.gguf");
    refused(&path, "llama.rope.dimension_count", "at most");
}

#[test]
fn a_tensor_past_the_end_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Tiny::llama();
    t.tensor("blk.0.attn_v.weight").offset = Some(1 << 20);
    let path = t.write(dir.path(), "past.gguf");
    refused(&path, "blk.0.attn_v.weight", "truncated");
    // An offset so large that offset + size overflows.
    let mut t = Tiny::llama();
    t.tensor("blk.0.attn_v.weight").offset = Some(u64::MAX - 16);
    let path = t.write(dir.path(), "wrap.gguf");
    refused(&path, "blk.0.attn_v.weight", "past the end");
}

#[test]
fn tensor_dimensions_zero_or_overflowing_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Tiny::llama();
    t.tensor("blk.0.ffn_up.weight").ne = vec![DIM, 0];
    let path = t.write(dir.path(), "dim0.gguf");
    refused(&path, "blk.0.ffn_up.weight", "zero");
    let mut t = Tiny::llama();
    t.tensor("blk.0.ffn_up.weight").ne = vec![1 << 32, 1 << 32, 1 << 32];
    let path = t.write(dir.path(), "dimbig.gguf");
    refused(&path, "blk.0.ffn_up.weight", "overflow");
}

#[test]
fn a_string_length_of_2_pow_60_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Tiny::llama().bytes();
    patch_string_length(&mut bytes, "tiny", 1 << 60);
    let path = dir.path().join("string.gguf");
    std::fs::write(&path, &bytes).unwrap();
    refused(&path, "general.name", "bytes");
    // The same lie in a key and in a tensor name.
    let mut bytes = Tiny::llama().bytes();
    patch_string_length(&mut bytes, "llama.block_count", 1 << 60);
    std::fs::write(&path, &bytes).unwrap();
    refused(&path, "metadata key 4", "bytes");
    let mut bytes = Tiny::llama().bytes();
    patch_string_length(&mut bytes, "blk.0.ffn_norm.weight", 1 << 60);
    std::fs::write(&path, &bytes).unwrap();
    refused(&path, "tensor 7 name", "bytes");
}

#[test]
fn a_truncated_file_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = Tiny::llama().bytes();
    let path = dir.path().join("cut.gguf");
    // Inside the counts, inside the metadata, inside the tensor directory, inside the data.
    let in_directory = string_at(&bytes, "blk.0.ffn_up.weight") + 8 + 19 + 2;
    for (cut, field) in [
        (3, ""),
        (20, "metadata count"),
        (60, "tensor count"),
        (in_directory, "tensor `blk.0.ffn_up.weight`"),
        (bytes.len() - 100, "tensor `blk.0.ffn_down.weight`"),
    ] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        if cut < 4 {
            // Too short to be a GGUF at all.
            let e = GgufFile::open(&path).unwrap_err();
            assert!(e.to_string().contains("does not start with `GGUF`"), "{e}");
            continue;
        }
        refused(&path, field, "truncated");
    }
}

/// What a mutation writes.
#[derive(Debug, Clone)]
enum Edit {
    /// One byte anywhere in the header.
    Byte(usize, u8),
    /// A number of 1, 4 or 8 bytes at a byte offset.
    Number(usize, u64, usize),
}

/// A valid file with one to four edits, perhaps cut short. Most edits write zero, all ones, a
/// small or a random number over a value that describes the model (a hyper-parameter, a tensor
/// dimension or offset), the rest over any number of the header (a count, a length, a type) or
/// over a random byte.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let (valid, fields, values) = Tiny::llama().bytes_and_fields();
    let header = fields.last().unwrap() + 8;
    let len = valid.len();
    let number = prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        Just(u64::from(u32::MAX)),
        0..64u64,
        any::<u64>(),
    ];
    let width = prop_oneof![Just(1usize), Just(4), Just(8)];
    let edit = prop_oneof![
        1 => (0..header, any::<u8>()).prop_map(|(at, b)| Edit::Byte(at, b)),
        1 => (proptest::sample::select(fields), number.clone(), width.clone())
            .prop_map(|(at, v, w)| Edit::Number(at, v, w)),
        4 => (proptest::sample::select(values), number, width)
            .prop_map(|(at, v, w)| Edit::Number(at, v, w)),
    ];
    (
        proptest::collection::vec(edit, 1..4),
        proptest::option::weighted(0.2, 0..len),
    )
        .prop_map(move |(edits, cut)| {
            let mut b = valid.clone();
            for e in edits {
                match e {
                    Edit::Byte(at, byte) => b[at] = byte,
                    Edit::Number(at, v, width) => {
                        let end = (at + width).min(b.len());
                        b[at..end].copy_from_slice(&v.to_le_bytes()[..end - at]);
                    }
                }
            }
            if let Some(cut) = cut {
                b.truncate(cut);
            }
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random lies and cuts in a valid file: the header check, the reader and both engines answer
    /// `Ok` or `Err`, never panic, and the check refuses whatever candle's reader would.
    #[test]
    fn mutated_headers_never_panic(bytes in mutated()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gguf");
        std::fs::write(&path, &bytes).unwrap();
        let checked = gguf::check(&path);
        let opened = GgufFile::open(&path);
        prop_assert_eq!(checked.is_ok(), opened.is_ok());
        if opened.is_ok() {
            for options in [native(), candle()] {
                if let Err(e) = LocalModel::load(&path, &options) {
                    prop_assert!(!e.to_string().contains("panicked"), "{}", e);
                }
            }
        }
    }
}
