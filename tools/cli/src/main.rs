//! `sprout`: Sprout's offline command line. Validates content and draws placeholders; generation
//! commands join as the generators land.

mod bench;
mod generate;
mod models;
mod placeholders;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Grow game content with local AI, offline.
#[derive(Debug, Parser)]
#[command(name = "sprout", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check every content file under DIR: syntax, references, dialogue graphs, text limits.
    /// Exits 0 when there is no error, 1 when there is any (all are listed), 2 on usage errors.
    Validate {
        /// The asset folder to check.
        #[arg(default_value = "assets")]
        dir: PathBuf,
        /// Print a JSON report instead of one line per problem.
        #[arg(long)]
        json: bool,
    },
    /// Draw labelled placeholder images for every sprite, portrait and icon that content refers to
    /// but that does not exist yet. Each gets a provenance sidecar saying it is a placeholder.
    Placeholders {
        /// The asset folder.
        #[arg(default_value = "assets")]
        dir: PathBuf,
        /// Redraw placeholders that exist already (never touches files without placeholder provenance).
        #[arg(long)]
        force: bool,
    },
    /// The local models: list them, download them ahead of time, check their hashes.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Make one asset: story content with the local LLM, images and props with the image backends.
    Gen {
        #[command(subcommand)]
        command: generate::Gen,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ModelsCommand {
    /// Every model of the registry, whether it is downloaded, and where.
    List,
    /// Download a model (the default one without ID) into the model folder, checking its sha256.
    /// The folder is `$SPROUT_MODEL_DIR`, else `$XDG_CACHE_HOME/sprout/models`, else `~/.cache/sprout/models`.
    Pull {
        /// Registry id.
        id: Option<String>,
    },
    /// Recompute the sha256 of a downloaded model; exits 1 when it does not match.
    Verify {
        /// Registry id.
        id: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Local LLM speed: prompt tok/s, generation tok/s, time to first token, peak RSS.
    /// With --vs-llama-cpp, the same for llama.cpp on the same GGUF, and a last line
    /// `ratio: X.XX` (ours / llama.cpp, generation).
    Llm {
        /// Registry id of the model (default model without it).
        #[arg(long)]
        model: Option<String>,
        /// CPU threads for both engines (sets `CANDLE_NUM_THREADS`).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Prompt length in tokens.
        #[arg(long, default_value_t = 300)]
        prompt_tokens: usize,
        /// Tokens to generate.
        #[arg(long, default_value_t = 128)]
        gen_tokens: usize,
        /// Rounds; the median is reported.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Run candle-transformers' forward pass instead of Sprout's native engine.
        #[arg(long)]
        candle: bool,
        /// With --candle: keep `Q4_1` weights as stored (no `Q8_0` conversion at load).
        #[arg(long)]
        no_requantize: bool,
        /// Also run llama.cpp (`PyPI` llama-cpp-python) and print the ratio.
        #[arg(long)]
        vs_llama_cpp: bool,
        /// The Python interpreter that has llama-cpp-python.
        #[arg(long, default_value = "python3")]
        llama_python: String,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Command::Bench {
        command: BenchCommand::Llm { threads, .. },
    } = &cli.command
    {
        set_candle_threads(*threads);
    }
    let result = match cli.command {
        Command::Validate { dir, json } => validate::run(&dir, json),
        Command::Placeholders { dir, force } => placeholders::run(&dir, force),
        Command::Gen { command } => generate::run(command),
        Command::Models { command } => match command {
            ModelsCommand::List => models::list(),
            ModelsCommand::Pull { id } => models::pull(id.as_deref()),
            ModelsCommand::Verify { id } => models::verify(id.as_deref()),
        },
        Command::Bench {
            command:
                BenchCommand::Llm {
                    model,
                    threads,
                    prompt_tokens,
                    gen_tokens,
                    rounds,
                    candle,
                    no_requantize,
                    vs_llama_cpp,
                    llama_python,
                },
        } => bench::llm(&bench::LlmBench {
            model,
            threads,
            prompt_tokens,
            gen_tokens,
            rounds,
            candle,
            no_requantize,
            vs_llama_cpp,
            python: llama_python,
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// candle sizes its CPU pool once, from `CANDLE_NUM_THREADS`, at its first operation.
fn set_candle_threads(threads: usize) {
    #[expect(
        unsafe_code,
        reason = "set_var is sound here: main is still single-threaded, before any candle or tracing thread starts"
    )]
    // SAFETY: no other thread exists yet, so nothing reads the environment concurrently.
    unsafe {
        std::env::set_var("CANDLE_NUM_THREADS", threads.max(1).to_string());
    }
}
