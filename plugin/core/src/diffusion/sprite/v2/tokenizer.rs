//! The caption tokenizer of the v2 sprite model: `SmolLM2`'s byte-level BPE restricted to the
//! lowercase ASCII words a caption is made of (the Python side is `text.py`; both run the same
//! merge loop, so a caption gives the same ids on either side).

use std::collections::HashMap;

/// GPT-2's byte-level mark of a leading space.
const SPACE: char = '\u{120}';

/// The caption tokenizer: `SmolLM2`'s BPE restricted to lowercase ASCII words (see `text.py`).
#[derive(Debug, Clone)]
pub struct WordTokenizer {
    ids: HashMap<String, u32>,
    ranks: HashMap<(String, String), usize>,
}

impl WordTokenizer {
    /// From `tokens.txt` (one token per line; the line is the id) and `merges.txt` (`a b` per
    /// line, by rank).
    pub fn new(tokens: &str, merges: &str) -> Self {
        let ids = tokens
            .lines()
            .filter(|t| !t.is_empty())
            .enumerate()
            .map(|(i, t)| (t.to_owned(), i as u32))
            .collect();
        let ranks = merges
            .lines()
            .filter_map(|m| m.split_once(' '))
            .enumerate()
            .map(|(r, (a, b))| ((a.to_owned(), b.to_owned()), r))
            .collect();
        Self { ids, ranks }
    }

    /// Token ids of a prompt: words (lowercase ASCII alphanumeric runs), each split into letter
    /// runs and single digits (a leading letter run marked with a space), each BPE-merged; pieces
    /// with an unknown symbol are dropped.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        super::super::words(text)
            .iter()
            .flat_map(|w| pieces(w))
            .flat_map(|p| self.bpe(&p))
            .collect()
    }

    fn bpe(&self, piece: &str) -> Vec<u32> {
        let mut syms: Vec<String> = piece.chars().map(String::from).collect();
        while syms.len() > 1 {
            let best = syms
                .windows(2)
                .filter_map(|w| {
                    self.ranks
                        .get(&(w[0].clone(), w[1].clone()))
                        .map(|&r| (r, w[0].clone(), w[1].clone()))
                })
                .min_by_key(|(r, _, _)| *r);
            let Some((_, a, b)) = best else { break };
            let mut out = Vec::with_capacity(syms.len());
            let mut i = 0;
            while i < syms.len() {
                if i + 1 < syms.len() && syms[i] == a && syms[i + 1] == b {
                    out.push(format!("{a}{b}"));
                    i += 2;
                } else {
                    out.push(syms[i].clone());
                    i += 1;
                }
            }
            syms = out;
        }
        syms.iter()
            .map(|s| self.ids.get(s).copied())
            .collect::<Option<Vec<u32>>>()
            .unwrap_or_default()
    }
}

/// A word's BPE pieces: letter runs and single digits; a letter run that starts the word gets the
/// space mark.
pub(super) fn pieces(word: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut run = String::new();
    let mut at_start = true;
    let flush = |run: &mut String, out: &mut Vec<String>, at_start: &mut bool| {
        if !run.is_empty() {
            let p = if *at_start {
                format!("{SPACE}{run}")
            } else {
                run.clone()
            };
            out.push(p);
            run.clear();
        }
        *at_start = false;
    };
    for c in word.chars() {
        if c.is_ascii_digit() {
            flush(&mut run, &mut out, &mut at_start);
            out.push(c.to_string());
            at_start = false;
        } else {
            run.push(c);
        }
    }
    flush(&mut run, &mut out, &mut at_start);
    out
}
