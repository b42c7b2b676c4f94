//! The content-addressed cache: a request's key is the SHA-256 of everything that decides its
//! output (model, template, rendered inputs, seed, sampling, repair and token budgets), and
//! `.sprout/cache/story/<key>.ron` holds the asset text it produced, so the same request never
//! costs model time twice.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::content::provenance::{ModelRef, TemplateRef, sha256_hex};
use crate::format::{parse, to_ron};
use crate::fs::write_atomic;
use crate::llm::{ChatMessage, SamplingParams};

use super::Result;
use super::project::Project;

/// A cache entry: the asset text a request produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct CacheEntry {
    pub(super) output: String,
    pub(super) attempts: u32,
    pub(super) tokens: usize,
}

/// SHA-256 of a job's inputs: the job (as RON), the rendered messages and the output schema.
pub(super) fn inputs_sha256(job_ron: &str, messages: &[ChatMessage], schema: &Value) -> String {
    let messages = serde_json::to_value(messages).unwrap_or(Value::Null);
    sha256_hex(
        serde_json::to_string(&json!({"job": job_ron, "messages": messages, "schema": schema}))
            .unwrap_or_default()
            .as_bytes(),
    )
}

/// How much model work one request may spend: part of its key.
#[derive(Debug, Clone, Copy)]
pub(super) struct Budget {
    /// Repairs after the first try.
    pub max_repairs: u32,
    /// Candidates (best-of-N).
    pub candidates: u32,
    /// The candidate kept whatever its score ([`JobSpec::pick`](super::JobSpec::pick)).
    pub pick: Option<u32>,
    /// Tokens per attempt.
    pub max_tokens: usize,
}

/// A request's content address: model, template, inputs, seed and parameters.
pub(super) fn request_key(
    model: &ModelRef,
    template: &TemplateRef,
    inputs_sha256: &str,
    seed: u64,
    sampling: &SamplingParams,
    budget: Budget,
) -> String {
    let Budget {
        max_repairs,
        candidates,
        pick,
        max_tokens,
    } = budget;
    let s = sampling;
    let mut request = json!({
        "model": model.sha256, "model_id": model.id, "template": template.sha256,
        "inputs": inputs_sha256, "seed": seed,
        "sampling": [s.temperature, s.top_k as f64, s.top_p, s.repeat_penalty, s.repeat_last_n as f64],
        "max_repairs": max_repairs, "max_tokens": max_tokens,
    });
    // One candidate keeps the keys of requests made before best-of-N.
    if candidates > 1 {
        request["candidates"] = json!(candidates);
    }
    if let Some(k) = pick {
        request["pick"] = json!(k);
    }
    sha256_hex(request.to_string().as_bytes())
}

/// Where the answer to the request `key` is cached.
pub(super) fn cache_path(project: &Project, key: &str) -> PathBuf {
    project.cache_dir().join(format!("{key}.ron"))
}

/// The cached answer at `path`, if there is one that parses.
pub(super) fn read(path: &Path) -> Option<CacheEntry> {
    let text = std::fs::read_to_string(path).ok()?;
    parse::<CacheEntry>(&text).ok()
}

/// Caches `entry` at `path`.
pub(super) fn write(path: &Path, entry: &CacheEntry) -> Result<()> {
    write_atomic(path, to_ron(entry)?.as_bytes())?;
    Ok(())
}
