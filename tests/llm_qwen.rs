//! The default story model, `Qwen2.5-Coder-0.5B-Instruct` `Q4_K_M` (491 MB), on the local engine.
//!
//! Fetched on first use like every default-model test (one download, however many tests ask at
//! once). The tokenizer, chat template and constraint check reads only the GGUF's metadata (a
//! second or two); the generation test loads the weights and generates a tree (about 12 s on two
//! cores on the native engine).

use std::path::PathBuf;

use serde_json::json;
use sprout_core::llm::constrain::ConstraintEngine;
use sprout_core::llm::gguf::GgufFile;
use sprout_core::llm::template::ChatTemplate;
use sprout_core::llm::tokenizer::Tokenizer;
use sprout_core::llm::{
    ChatMessage, Constraint, LoadOptions, LocalModel, ModelManager, ModelRegistry, PullProgress,
};
use sprout_core::story::Options;

const QWEN: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m";

/// The model's path, fetched first when it is not in the model cache.
fn qwen() -> PathBuf {
    let mut last = 0;
    let (_, path) = ModelManager::new()
        .ensure(Some(QWEN), &mut |p| match p {
            PullProgress::Step { message } => eprintln!("model: {message}"),
            PullProgress::Bytes { done, total } if done * 10 / total.max(1) > last => {
                last = done * 10 / total.max(1);
                eprintln!("model: {} of {} MB", done >> 20, total >> 20);
            }
            _ => {}
        })
        .unwrap();
    path
}

#[test]
fn qwen_tokenizer_chat_template_and_constraints_from_the_gguf() {
    let path = qwen();
    let gguf = GgufFile::open(&path).unwrap();
    assert_eq!(gguf.string("general.architecture"), Some("qwen2"));
    let t = Tokenizer::from_gguf(&gguf.content).unwrap();
    assert_eq!(t.vocab_size(), 151_936);

    // Ids from llama.cpp (llama-cpp-python 0.3.16, `tokenize(special=True)`) on the same GGUF.
    let reference: [(&str, &[u32]); 4] = [
        (
            "<|im_start|>user\nHello world 123<|im_end|>",
            &[151_644, 872, 198, 9707, 1879, 220, 16, 17, 18, 151_645],
        ),
        (
            "Pim's radishes   are   ready!\n\n  Don't forget: 2024 turnips, café naïve 😀 <tool_call>x",
            &[
                47, 318, 594, 8862, 20527, 256, 525, 256, 5527, 2219, 220, 4320, 944, 10667, 25,
                220, 17, 15, 17, 19, 2484, 3077, 11, 51950, 94880, 586, 90316, 220, 151_657, 87,
            ],
        ),
        (
            r#"{"speaker": "pim", "text": "Hi."}"#,
            &[
                4913, 64476, 788, 330, 79, 318, 497, 330, 1318, 788, 330, 13048, 1189, 92,
            ],
        ),
        (
            "  leading spaces\tand tabs\r\n",
            &[220, 6388, 12621, 52477, 22398, 319],
        ),
    ];
    for (text, ids) in reference {
        assert_eq!(t.encode(text).unwrap(), ids, "{text:?}");
    }
    // Text round-trips (special tokens stand for no text; `<tool_call>` is plain text).
    let text = reference[1].0;
    assert_eq!(t.decode(&t.encode(text).unwrap()), text);
    assert_eq!(
        t.decode(reference[0].1),
        "user\nHello world 123",
        "control tokens decode to nothing"
    );
    assert_eq!(t.token(t.eos()[0]), Some("<|im_end|>"));
    assert!(
        t.is_special(151_665) && t.token_bytes(151_665).is_empty(),
        "padding tokens are never text"
    );

    // The GGUF's own chat template, with its default system prompt when there is none.
    let source = gguf.string("tokenizer.chat_template").unwrap();
    let template = ChatTemplate::new(source, "<|endoftext|>", "<|im_end|>").unwrap();
    assert_eq!(
        template.render(&[ChatMessage::user("Hi")]).unwrap(),
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n\
         <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    assert!(
        template
            .render(&[ChatMessage::system("Be brief."), ChatMessage::user("Hi")])
            .unwrap()
            .starts_with("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n")
    );

    // llguidance over its vocabulary: JSON starts with a brace, never with a control or padding
    // token, and the model's own tokens of a valid object are all accepted.
    let engine = ConstraintEngine::new(&t).unwrap();
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}},
        "required": ["name"], "additionalProperties": false});
    let mut m = engine.matcher(&Constraint::JsonSchema(schema)).unwrap();
    let mask = m.compute_mask().unwrap();
    assert!(mask.is_allowed(4913), "`{{\"` opens the object");
    assert!(!mask.is_allowed(151_644) && !mask.is_allowed(151_665));
    let ids = t.encode(r#"{"name": "Pim"}"#).unwrap();
    assert_eq!(m.validate_tokens(&ids).unwrap(), ids.len());
}

/// The default model writes a tree that validates (seeded; repaired if it must be).
#[test]
fn qwen_writes_a_constrained_dialogue_tree() {
    let path = qwen();
    // Share the cores with the other model tests one at a time.
    let _turn = crate::llm::model();
    let m = LocalModel::load(&path, &LoadOptions::default()).unwrap();
    let mut backend = m.backend();
    // With the model's own story settings (best of 3, no example lines), as `sprout` runs it.
    let registry = ModelRegistry::builtin();
    let options = Options {
        max_repairs: 2,
        ..Options::for_model(&registry.get(Some(QWEN)).unwrap().story)
    };
    let tree =
        crate::llm::pipeline_dialogue(&mut backend, "pim_qwen_chat", (2, 7), &options).unwrap();
    assert_eq!(tree.nodes.len(), 2);
}
