//! Native LLM kernel benchmark: each weight format's quantised product at the shapes of the
//! registry models (Qwen2.5-0.5B: hidden 896, feed-forward 4864, vocabulary 151936; SmolLM2-135M:
//! hidden 576, feed-forward 1536), for one token (decode) and a 64-token prompt, against the peer
//! in the same run: streaming the same weight bytes from memory and summing them (the bandwidth
//! a decode step cannot beat).
//!
//! `CANDLE_NUM_THREADS=1 cargo bench -p sprout_core --features llm --bench kernels` (release
//! profile). Prints per case the median time, GB/s of weights read, GMAC/s and the ratio to the
//! streaming peer.

use std::hint::black_box;
use std::time::{Duration, Instant};

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use sprout_core::llm::native::kernels::{Format, QActs, QMatrix, matmul, threads};

const ROUNDS: usize = 5;

fn lcg(seed: &mut u64) -> f32 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
}

/// `copies` distinct matrices of `rows x cols` in `dtype` (distinct, so together they stream from
/// memory the way a model's layers do rather than sitting in the cache).
fn matrices(dtype: GgmlDType, rows: usize, cols: usize, copies: usize) -> Vec<QMatrix> {
    let format = Format::from_ggml(dtype).expect("a native format");
    let mut seed = 7;
    let dense: Vec<f32> = (0..rows * cols).map(|_| lcg(&mut seed)).collect();
    let t = Tensor::from_vec(dense, (rows, cols), &Device::Cpu).expect("tensor");
    let q = QTensor::quantize(&t, dtype).expect("quantise");
    let bytes = q.data().expect("bytes");
    (0..copies)
        .map(|_| QMatrix::from_blocks(format, rows, cols, &bytes))
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median over [`ROUNDS`] of `f`, after one warm-up call.
fn time(mut f: impl FnMut()) -> Duration {
    f();
    median(
        (0..ROUNDS)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    println!("threads: {}", threads());
    let cases = [
        ("Qwen output head", GgmlDType::Q8_0, 151_936, 896, 1),
        ("Qwen ffn gate/up", GgmlDType::Q5_0, 4864, 896, 48),
        ("Qwen ffn down Q4_K", GgmlDType::Q4K, 896, 4864, 24),
        ("Qwen ffn down Q6_K", GgmlDType::Q6K, 896, 4864, 24),
        ("SmolLM2 ffn", GgmlDType::Q4_1, 1536, 576, 90),
    ];
    println!(
        "{:<20} {:>6} {:>10} {:>8} {:>8} {:>12} {:>7}",
        "case", "tokens", "ms", "GB/s", "GMAC/s", "stream GB/s", "ratio"
    );
    for (name, dtype, rows, cols, copies) in cases {
        let ws = matrices(dtype, rows, cols, copies);
        let bytes = rows * cols / Format::from_ggml(dtype).unwrap().block_elements()
            * Format::from_ggml(dtype).unwrap().block_bytes()
            * copies;
        // The peer: read every byte of the same matrices once (eight lanes of u64 sums).
        let raw: Vec<Vec<u8>> = (0..copies).map(|_| vec![1u8; bytes / copies]).collect();
        let stream = time(|| {
            let mut acc = [0u64; 8];
            for m in &raw {
                for c in m.chunks_exact(64) {
                    for (k, a) in acc.iter_mut().enumerate() {
                        *a = a.wrapping_add(u64::from_le_bytes(
                            c[8 * k..8 * k + 8].try_into().unwrap(),
                        ));
                    }
                }
            }
            black_box(acc);
        });
        let stream_gbs = bytes as f64 / stream.as_secs_f64() / 1e9;
        for tokens in [1usize, 64] {
            let mut seed = 11;
            let x: Vec<f32> = (0..tokens * cols).map(|_| lcg(&mut seed)).collect();
            let mut acts = QActs::default();
            acts.quantize(&x, tokens, cols);
            let mut out = vec![0f32; tokens * rows];
            // A prompt multiplies one matrix at a time, so a few copies are enough to time it.
            let used = if tokens == 1 { copies } else { copies.min(4) };
            let t = time(|| {
                for w in &ws[..used] {
                    matmul(w, &acts, &mut out);
                }
                black_box(&out);
            });
            let secs = t.as_secs_f64();
            let read = (bytes / copies * used) as f64;
            let gbs = read / secs / 1e9;
            let gmacs = (rows * cols * used * tokens) as f64 / secs / 1e9;
            println!(
                "{name:<20} {tokens:>6} {:>10.2} {gbs:>8.2} {gmacs:>8.2} {stream_gbs:>12.2} {:>7.2}",
                secs * 1e3,
                gbs / stream_gbs
            );
        }
    }
}
