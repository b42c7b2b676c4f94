//! `sprout bench llm [--vs-llama-cpp]`: prompt and generation speed of the local engine, time to
//! first token and peak memory; with `--vs-llama-cpp`, llama.cpp (through the `PyPI` package
//! `llama-cpp-python`) on the same GGUF, the same prompt tokens and the same thread count, in
//! alternating rounds. The last line is `ratio: X.XX` (ours / llama.cpp, generation tokens/s).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use sprout_core::llm::TextBackend;
use sprout_core::llm::sampling::Sampler;
use sprout_core::llm::{
    CancelToken, Engine, LoadOptions, LocalModel, ModelManager, SamplingParams,
};

const PEER: &str = include_str!("bench/llama_cpp_peer.py");

/// A paragraph to build the prompt from; repeated until the prompt has the tokens asked for.
const PROMPT_TEXT: &str = "Kettle Hollow is a small farming village in a river valley. The farmer wakes before the bell, \
walks the rows of turnips and kale, waters the seedlings, and checks the fences for rabbit holes. \
In spring the orchard blossoms and the bees return to Bettany's hives; in summer the sweetcorn grows \
taller than the gate; in autumn the whole village argues about the jam contest; in winter the snow \
muffles the mill and everyone gathers at the inn. Write the next scene of the farmer's day, with \
the weather, the chores, and who they meet on the road to the market. ";

/// Options of `sprout bench llm`.
#[derive(Debug, Clone)]
pub struct LlmBench {
    /// Registry id (default model when `None`).
    pub model: Option<String>,
    /// Threads (both engines).
    pub threads: usize,
    /// Prompt length in tokens.
    pub prompt_tokens: usize,
    /// Tokens to generate.
    pub gen_tokens: usize,
    /// Rounds (alternating when comparing).
    pub rounds: usize,
    /// Use candle's forward pass.
    pub candle: bool,
    /// Keep `Q4_1` as stored instead of converting to `Q8_0` at load.
    pub no_requantize: bool,
    /// Compare with llama.cpp.
    pub vs_llama_cpp: bool,
    /// The Python that has `llama_cpp`.
    pub python: String,
}

#[derive(Debug, Clone, Copy, Default)]
struct Round {
    prompt_tps: f64,
    gen_tps: f64,
    ttft_ms: f64,
    peak_rss_mib: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

fn summarize(rounds: &[Round]) -> Round {
    Round {
        prompt_tps: median(rounds.iter().map(|r| r.prompt_tps).collect()),
        gen_tps: median(rounds.iter().map(|r| r.gen_tps).collect()),
        ttft_ms: median(rounds.iter().map(|r| r.ttft_ms).collect()),
        peak_rss_mib: rounds.iter().map(|r| r.peak_rss_mib).fold(0.0, f64::max),
    }
}

/// Peak resident memory of this process (Linux), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn prompt_ids(model: &LocalModel, n: usize) -> anyhow::Result<Vec<u32>> {
    let mut text = String::new();
    let mut ids = Vec::new();
    while ids.len() < n {
        text.push_str(PROMPT_TEXT);
        ids = model.tokenizer().encode(&text)?;
    }
    ids.truncate(n);
    Ok(ids)
}

fn ours(model: &LocalModel, prompt: &[u32], n_gen: usize) -> anyhow::Result<(Round, Vec<u32>)> {
    let mut backend = model.backend();
    let mut sampler = Sampler::new(SamplingParams::greedy());
    let t0 = Instant::now();
    let mut logits = backend.prefill(prompt, &mut |_| {}, &CancelToken::new())?;
    let prompt_s = t0.elapsed().as_secs_f64();
    let mut tok = sampler.sample(&mut logits, None, &[]).context("no token")?;
    let ttft = t0.elapsed().as_secs_f64();
    let mut out = vec![tok];
    let t2 = Instant::now();
    for i in 1..n_gen {
        logits = backend.forward(&[tok], prompt.len() + i - 1)?;
        tok = sampler.sample(&mut logits, None, &[]).context("no token")?;
        out.push(tok);
    }
    let gen_s = t2.elapsed().as_secs_f64();
    Ok((
        Round {
            prompt_tps: prompt.len() as f64 / prompt_s,
            gen_tps: (n_gen - 1) as f64 / gen_s,
            ttft_ms: ttft * 1e3,
            peak_rss_mib: peak_rss_mib(),
        },
        out,
    ))
}

struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    load_s: f64,
}

impl Peer {
    fn start(python: &str, path: &Path, threads: usize, ctx: usize) -> anyhow::Result<Self> {
        let script =
            std::env::temp_dir().join(format!("sprout-llama-peer-{}.py", std::process::id()));
        std::fs::write(&script, PEER)?;
        let mut child = Command::new(python)
            .arg(&script)
            .arg(path)
            .arg(threads.to_string())
            .arg(ctx.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| {
                format!(
                    "cannot run {python} (set --llama-python to a Python with llama-cpp-python)"
                )
            })?;
        let stdin = child.stdin.take().context("peer stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("peer stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let _ = std::fs::remove_file(&script);
        let v: serde_json::Value = serde_json::from_str(&line).with_context(|| {
            format!("llama.cpp peer did not start (is llama-cpp-python installed for {python}?): {line:?}")
        })?;
        Ok(Self {
            child,
            stdin,
            stdout,
            load_s: v["load_s"].as_f64().unwrap_or(0.0),
        })
    }

    fn run(&mut self, prompt: &[u32], n_gen: usize) -> anyhow::Result<(Round, Vec<u32>)> {
        writeln!(
            self.stdin,
            "{}",
            serde_json::json!({"prompt": prompt, "gen": n_gen})
        )?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        let v: serde_json::Value =
            serde_json::from_str(&line).with_context(|| format!("llama.cpp peer: {line:?}"))?;
        let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        let tokens = v["tokens"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_u64().map(|x| x as u32))
                    .collect()
            })
            .unwrap_or_default();
        Ok((
            Round {
                prompt_tps: prompt.len() as f64 / f("prompt_s"),
                gen_tps: (n_gen - 1) as f64 / f("gen_s"),
                ttft_ms: f("ttft_s") * 1e3,
                peak_rss_mib: f("peak_rss") / (1024.0 * 1024.0),
            },
            tokens,
        ))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn row(name: &str, r: &Round, load_s: f64) {
    println!(
        "{name:<10} {:>9.1} {:>9.1} {:>9.1} {:>10.0} {:>7.2}",
        r.prompt_tps, r.gen_tps, r.ttft_ms, r.peak_rss_mib, load_s
    );
}

/// Runs the benchmark and prints the table.
pub fn llm(opts: &LlmBench) -> anyhow::Result<std::process::ExitCode> {
    if opts.gen_tokens < 2 || opts.prompt_tokens < 1 || opts.rounds < 1 {
        bail!("--gen-tokens must be at least 2, --prompt-tokens and --rounds at least 1");
    }
    let manager = ModelManager::new();
    let (entry, path): (_, PathBuf) = manager.locate(opts.model.as_deref())?;
    let t0 = Instant::now();
    let model = LocalModel::load(
        &path,
        &LoadOptions {
            engine: if opts.candle {
                Engine::Candle
            } else {
                Engine::Auto
            },
            requantize: !opts.no_requantize,
            ..LoadOptions::default()
        },
    )?;
    let load_s = t0.elapsed().as_secs_f64();
    let prompt = prompt_ids(&model, opts.prompt_tokens)?;
    let ctx = (opts.prompt_tokens + opts.gen_tokens + 16).max(512);
    println!(
        "model: {} ({}), engine: {}; threads: {}; prompt {} tokens, generation {} tokens, {} round(s){}",
        entry.id,
        path.display(),
        model.backend().describe(),
        opts.threads,
        prompt.len(),
        opts.gen_tokens,
        opts.rounds,
        if opts.vs_llama_cpp {
            ", alternating with llama.cpp"
        } else {
            ""
        }
    );
    let mut peer = if opts.vs_llama_cpp {
        Some(Peer::start(&opts.python, &path, opts.threads, ctx)?)
    } else {
        None
    };
    // Warm-up (page cache, thread pools), not counted.
    ours(&model, &prompt[..prompt.len().min(16)], 2)?;
    if let Some(p) = peer.as_mut() {
        p.run(&prompt[..prompt.len().min(16)], 2)?;
    }
    let mut mine = Vec::new();
    let mut theirs = Vec::new();
    let mut agree = None;
    for round in 0..opts.rounds {
        let (r, a) = ours(&model, &prompt, opts.gen_tokens)?;
        eprintln!(
            "round {}: sprout     pp {:.1} tok/s, tg {:.1} tok/s",
            round + 1,
            r.prompt_tps,
            r.gen_tps
        );
        mine.push(r);
        if let Some(p) = peer.as_mut() {
            let (r, b) = p.run(&prompt, opts.gen_tokens)?;
            eprintln!(
                "round {}: llama.cpp  pp {:.1} tok/s, tg {:.1} tok/s",
                round + 1,
                r.prompt_tps,
                r.gen_tps
            );
            theirs.push(r);
            let same = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
            tracing::info!(
                "first tokens: sprout {:?}, llama.cpp {:?}",
                &a[..a.len().min(8)],
                &b[..b.len().min(8)]
            );
            agree = Some(same);
        }
    }
    println!("engine       pp tok/s  tg tok/s   ttft ms  peak RSS MiB  load s");
    let m = summarize(&mine);
    row("sprout", &m, load_s);
    if let Some(p) = &peer {
        let t = summarize(&theirs);
        row("llama.cpp", &t, p.load_s);
        if let Some(n) = agree {
            println!(
                "greedy tokens identical to llama.cpp's: first {n} of {}",
                opts.gen_tokens
            );
        }
        println!("prompt ratio: {:.2}", m.prompt_tps / t.prompt_tps);
        println!("ratio: {:.2}", m.gen_tps / t.gen_tps);
    }
    Ok(std::process::ExitCode::SUCCESS)
}
