//! Seeded token sampling: greedy, temperature, top-k, top-p and a repetition penalty.
//!
//! The random numbers come from a `SplitMix64` generator seeded by the request, so the same seed
//! gives the same choices on every machine and every build.

use serde::{Deserialize, Serialize};

/// How the next token is chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplingParams {
    /// Softmax temperature; `0` means greedy (always the most likely token).
    pub temperature: f32,
    /// Keep only the `k` most likely tokens (`0`: all).
    pub top_k: usize,
    /// Keep the most likely tokens whose probabilities add up to `p` (`1.0`: all).
    pub top_p: f32,
    /// Divide (or multiply, when negative) the logits of recently seen tokens by this (`1.0`: off).
    pub repeat_penalty: f32,
    /// How many recent tokens the penalty looks at.
    pub repeat_last_n: usize,
    /// The seed.
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 0.7,
            top_k: 40,
            top_p: 0.9,
            repeat_penalty: 1.1,
            repeat_last_n: 64,
            seed: 0,
        }
    }
}

impl SamplingParams {
    /// Greedy decoding: deterministic without a seed.
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            repeat_penalty: 1.0,
            repeat_last_n: 0,
            seed: 0,
        }
    }

    /// The same parameters with another seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

pub use crate::rng::Rng;

/// Chooses tokens from logits.
#[derive(Debug, Clone)]
pub struct Sampler {
    params: SamplingParams,
    rng: Rng,
}

impl Sampler {
    /// A sampler seeded from `params.seed`.
    pub fn new(params: SamplingParams) -> Self {
        let rng = Rng::new(params.seed);
        Self { params, rng }
    }

    /// Picks the next token. `allowed(i)` says whether token `i` may be chosen (constraints);
    /// `recent` are the tokens so far (for the repetition penalty). Returns `None` when no token
    /// is allowed.
    pub fn sample(
        &mut self,
        logits: &mut [f32],
        allowed: Option<&dyn Fn(usize) -> bool>,
        recent: &[u32],
    ) -> Option<u32> {
        let p = &self.params;
        if p.repeat_penalty != 1.0 && p.repeat_last_n > 0 {
            let start = recent.len().saturating_sub(p.repeat_last_n);
            let mut seen = std::collections::HashSet::new();
            for &t in &recent[start..] {
                if seen.insert(t)
                    && let Some(l) = logits.get_mut(t as usize)
                {
                    *l = if *l >= 0.0 {
                        *l / p.repeat_penalty
                    } else {
                        *l * p.repeat_penalty
                    };
                }
            }
        }
        // Candidates: (index, logit) of allowed, finite logits.
        let mut cand: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .filter(|(i, l)| l.is_finite() && allowed.is_none_or(|f| f(*i)))
            .map(|(i, l)| (i as u32, *l))
            .collect();
        if cand.is_empty() {
            return None;
        }
        let by_logit = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if p.temperature <= 0.0 {
            return cand.iter().min_by(|a, b| by_logit(a, b)).map(|c| c.0);
        }
        if p.top_k > 0 && cand.len() > p.top_k {
            cand.select_nth_unstable_by(p.top_k - 1, by_logit);
            cand.truncate(p.top_k);
        }
        cand.sort_unstable_by(by_logit);
        let max = cand[0].1;
        let t = f64::from(p.temperature);
        let mut probs: Vec<f64> = cand
            .iter()
            .map(|c| ((f64::from(c.1) - f64::from(max)) / t).exp())
            .collect();
        let sum: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|x| *x /= sum);
        if p.top_p < 1.0 {
            let mut acc = 0.0;
            let mut keep = probs.len();
            for (i, x) in probs.iter().enumerate() {
                acc += x;
                if acc >= f64::from(p.top_p) {
                    keep = i + 1;
                    break;
                }
            }
            probs.truncate(keep);
            let sum: f64 = probs.iter().sum();
            probs.iter_mut().for_each(|x| *x /= sum);
        }
        let r = self.rng.next_f64();
        let mut acc = 0.0;
        for (i, x) in probs.iter().enumerate() {
            acc += x;
            if r < acc {
                return Some(cand[i].0);
            }
        }
        Some(cand[probs.len() - 1].0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_largest_allowed_logit() {
        let mut s = Sampler::new(SamplingParams::greedy());
        assert_eq!(s.sample(&mut [0.1, 3.0, 2.0], None, &[]), Some(1));
        let not_one = |i: usize| i != 1;
        assert_eq!(s.sample(&mut [0.1, 3.0, 2.0], Some(&not_one), &[]), Some(2));
        let none = |_: usize| false;
        assert_eq!(s.sample(&mut [0.1, 3.0], Some(&none), &[]), None);
    }

    #[test]
    fn repeat_penalty_demotes_recent_tokens() {
        let mut p = SamplingParams::greedy();
        p.repeat_penalty = 2.0;
        p.repeat_last_n = 8;
        let mut s = Sampler::new(p);
        assert_eq!(s.sample(&mut [1.0, 3.0, 2.0], None, &[1]), Some(2));
    }

    #[test]
    fn same_seed_same_choices_and_top_k_one_is_greedy() {
        let logits: Vec<f32> = (0..100).map(|i| ((i * 37) % 11) as f32 * 0.3).collect();
        let run = |seed| {
            let mut s = Sampler::new(SamplingParams::default().with_seed(seed));
            (0..50)
                .map(|_| s.sample(&mut logits.clone(), None, &[]).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let p = SamplingParams {
            top_k: 1,
            repeat_penalty: 1.0,
            ..SamplingParams::default()
        };
        let mut s = Sampler::new(p);
        let best = Sampler::new(SamplingParams::greedy()).sample(&mut logits.clone(), None, &[]);
        for _ in 0..10 {
            assert_eq!(s.sample(&mut logits.clone(), None, &[]), best);
        }
    }

    #[test]
    fn top_p_keeps_only_the_head() {
        let p = SamplingParams {
            top_k: 0,
            top_p: 0.5,
            repeat_penalty: 1.0,
            temperature: 1.0,
            ..SamplingParams::default()
        };
        let mut s = Sampler::new(p);
        // Token 0 holds almost all the mass: with top-p 0.5 it is the only candidate.
        for _ in 0..20 {
            assert_eq!(s.sample(&mut [10.0, 0.0, 0.0, 0.0], None, &[]), Some(0));
        }
    }
}
