//! `sprout models list` against a model folder made here: a file of the registry's size whose
//! header is bad is reported as damaged, not "downloaded"; one with a well-formed header is
//! downloaded; a missing one is not.

use std::path::Path;
use std::process::Command;

use sprout_core::llm::ModelRegistry;

/// A GGUF v3 header with no tensors and the given `u32` metadata, padded with zeros to `size`
/// bytes (a sparse file: the registry's size without writing it).
fn write_header(path: &Path, metadata: &[(&str, Option<&str>, u32)], size: u64) {
    let mut b = Vec::new();
    b.extend_from_slice(b"GGUF");
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    for (key, text, int) in metadata {
        b.extend_from_slice(&(key.len() as u64).to_le_bytes());
        b.extend_from_slice(key.as_bytes());
        match text {
            Some(t) => {
                b.extend_from_slice(&8u32.to_le_bytes());
                b.extend_from_slice(&(t.len() as u64).to_le_bytes());
                b.extend_from_slice(t.as_bytes());
            }
            None => {
                b.extend_from_slice(&4u32.to_le_bytes());
                b.extend_from_slice(&int.to_le_bytes());
            }
        }
    }
    std::fs::write(path, &b).unwrap();
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(size)
        .unwrap();
}

/// The `| state` part of each model's line in `sprout models list`, by model id.
fn states(dir: &Path) -> (Vec<(String, String)>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sprout"))
        .args(["models", "list"])
        .env("SPROUT_MODEL_DIR", dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let registry = ModelRegistry::builtin();
    let lines: Vec<&str> = text.lines().collect();
    let states = registry
        .text
        .iter()
        .map(|e| {
            let at = lines
                .iter()
                .position(|l| l.split(' ').next() == Some(e.id.as_str()))
                .unwrap_or_else(|| panic!("{} is listed:\n{text}", e.id));
            let state = lines[at + 1].rsplit(" | ").next().unwrap().to_owned();
            (e.id.clone(), state)
        })
        .collect();
    (states, text)
}

#[test]
fn models_list_tells_a_damaged_header_from_a_downloaded_model() {
    let registry = ModelRegistry::builtin();
    assert!(registry.text.len() >= 2, "the registry has two models");
    let (bad, good) = (&registry.text[0], &registry.text[1]);
    let dir = tempfile::tempdir().unwrap();
    write_header(
        &dir.path().join(&bad.file),
        &[
            ("general.architecture", Some("llama"), 0),
            ("general.alignment", None, 0),
        ],
        bad.size,
    );
    write_header(
        &dir.path().join(&good.file),
        &[("general.architecture", Some("llama"), 0)],
        good.size,
    );
    let (states, text) = states(dir.path());
    assert_eq!(states[0].1, "damaged (bad header)", "{text}");
    assert!(text.contains("general.alignment is 0"), "{text}");
    assert!(
        text.contains(&format!("sprout models pull {}", bad.id)),
        "{text}"
    );
    assert_eq!(states[1].1, "downloaded", "{text}");
    for (id, state) in &states[2..] {
        assert_eq!(state, "not downloaded", "{id}: {text}");
    }
}
