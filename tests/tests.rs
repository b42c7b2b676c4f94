//! End-to-end tests across Sprout's crates. One test binary (`cargo test -p sprout_tests`), one
//! module per concern.

mod art;
mod batch;
mod content_fuzz;
mod dialogue_graphs;
mod fixtures;
mod gguf;
mod llm;
mod llm_qwen;
mod loc;
mod previews;
mod roundtrip;
mod sprite;
mod starter;
mod story;
mod support;
mod yarn;
