//! Best-of-N: how one candidate of several is scored, and what the choice records. A
//! candidate's score puts the writer's verdict first (a valid asset beats any invalid one; fewer
//! problems beat more), then the variety of its words (distinct-1 over its texts), then, when
//! the backend exposes it, the model's own mean log-probability of what it sampled. A leaf: it
//! imports nothing else of `story` but the leaf [`craft`](super::craft).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::craft::words;

/// How best-of-N chose among a job's candidates (recorded in the batch journal).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Picked {
    /// Candidates generated before any repair (0: none, e.g. a cache hit).
    pub candidates: u32,
    /// The kept candidate's score.
    pub best_score: Option<f64>,
    /// The first candidate's score: what N = 1 would have kept.
    pub first_score: Option<f64>,
    /// Which candidate was kept (1 is the first; 0: none was generated).
    #[serde(default)]
    pub kept: u32,
}

/// One of best-of-N's first answers, as scored: what the editor lists for the designer, who
/// may keep another than the best (a [`JobSpec::pick`](super::JobSpec::pick)).
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Which candidate (1 is the first, what N = 1 gives); its seed follows from it.
    pub number: u32,
    /// Its score: the checks first (a valid answer beats any invalid one), then word variety,
    /// then the model's mean log-probability.
    pub score: f64,
    /// Whether it is the one kept (then repaired if it needs to be).
    pub kept: bool,
    /// The asset as RON, or the problems the checks found.
    pub answer: Result<String, Vec<String>>,
}

impl Scored {
    /// One line about it for a list: its first text of three words or more (a spoken line, a
    /// description), or how many problems it has and the first; at most 90 characters.
    pub fn summary(&self) -> String {
        let text = match &self.answer {
            Ok(ron) => first_text(ron).unwrap_or_else(|| "(valid)".to_owned()),
            Err(problems) => format!(
                "{} problem(s): {}",
                problems.len(),
                problems.first().map_or("", String::as_str)
            ),
        };
        let mut short: String = text.chars().take(90).collect();
        if short.len() < text.len() {
            short.push('…');
        }
        short
    }
}

/// The first quoted string of three words or more in a RON text, unescaped.
fn first_text(ron: &str) -> Option<String> {
    let mut rest = ron;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let mut text = String::new();
        let mut end = None;
        let mut chars = after.char_indices();
        while let Some((i, ch)) = chars.next() {
            match ch {
                '\\' => {
                    if let Some((_, next)) = chars.next() {
                        text.push(match next {
                            'n' => ' ',
                            other => other,
                        });
                    }
                }
                '"' => {
                    end = Some(i);
                    break;
                }
                other => text.push(other),
            }
        }
        let end = end?;
        if text.split_whitespace().count() >= 3 {
            return Some(text);
        }
        rest = &after[end + 1..];
    }
    None
}

/// What a score is made of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// The answer parsed as the job's type (a cut-off or malformed answer did not).
    pub parsed: bool,
    /// Problems the checks found (0: valid).
    pub problems: usize,
    /// Distinct words / words over the answer's texts, 0 to 1.
    pub distinct_1: f64,
    /// The model's mean log-probability of the tokens it sampled, if known.
    pub mean_logprob: Option<f32>,
}

impl Verdict {
    /// The score: higher is better. Each problem costs more than variety and fluency can win
    /// back, so validity always decides first.
    pub fn score(&self) -> f64 {
        let verdict = if self.parsed {
            -2.0 * self.problems as f64
        } else {
            -20.0
        };
        // Log-probabilities of sampled text sit around -0.5 to -3 a token: a tenth of one keeps
        // it below the weight of variety.
        let fluency = self
            .mean_logprob
            .map_or(0.0, |l| 0.1 * f64::from(l.max(-10.0)));
        verdict + self.distinct_1 + fluency
    }
}

/// Distinct words / words over the prose strings of a JSON answer (strings of three words or
/// more: ids and names are not prose); 0 when it has none or does not parse.
pub fn distinct_1(json: &str) -> f64 {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                let w = words(s);
                if w.len() >= 3 {
                    out.extend(w);
                }
            }
            Value::Array(l) => l.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let Ok(v) = serde_json::from_str::<Value>(json) else {
        return 0.0;
    };
    let mut all = Vec::new();
    walk(&v, &mut all);
    if all.is_empty() {
        return 0.0;
    }
    let distinct: std::collections::HashSet<&String> = all.iter().collect();
    distinct.len() as f64 / all.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A candidate is listed by its first line (unescaped) or by its first problem.
    #[test]
    fn a_candidate_is_summed_up_by_its_first_line_or_problem() {
        let valid = Scored {
            number: 2,
            score: 0.8,
            kept: true,
            answer: Ok(r#"(id: "sefa_daily_s5", nodes: [(id: "start", speaker: Some("sefa"), text: "Sit by the stove, the kettle\"s nearly on.")])"#.into()),
        };
        assert_eq!(
            valid.summary(),
            "Sit by the stove, the kettle\"s nearly on."
        );
        let invalid = Scored {
            number: 1,
            score: -2.0,
            kept: false,
            answer: Err(vec!["line 2 talks about the conversation itself".into()]),
        };
        assert_eq!(
            invalid.summary(),
            "1 problem(s): line 2 talks about the conversation itself"
        );
    }

    #[test]
    fn validity_decides_then_variety_then_fluency() {
        let v = |parsed, problems, distinct_1, mean_logprob| Verdict {
            parsed,
            problems,
            distinct_1,
            mean_logprob,
        };
        let valid_dull = v(true, 0, 0.4, Some(-3.0)).score();
        let invalid_lively = v(true, 1, 1.0, Some(-0.2)).score();
        let broken = v(false, 1, 1.0, None).score();
        assert!(valid_dull > invalid_lively && invalid_lively > broken);
        assert!(v(true, 0, 0.9, None).score() > v(true, 0, 0.6, None).score());
        assert!(v(true, 0, 0.8, Some(-0.5)).score() > v(true, 0, 0.8, Some(-2.5)).score());
    }

    #[test]
    fn distinct_words_are_counted_over_prose_only() {
        let looped = r#"{"id": "pim_daily", "nodes": [{"text": "You're a kind soul, and you're a kind soul."}, {"text": "You're a kind soul."}]}"#;
        let varied = r#"{"id": "pim_daily", "nodes": [{"text": "Radishes are up on Bell Green!"}, {"text": "Can I quote that, please?"}]}"#;
        assert!(distinct_1(looped) < 0.5, "{}", distinct_1(looped));
        assert!((distinct_1(varied) - 1.0).abs() < 1e-9);
        assert!(distinct_1("{nodes: [") == 0.0);
    }
}
