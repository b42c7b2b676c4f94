//! Hostile bytes for the RON content loaders: arbitrary bytes, and random mutations of the
//! shipped starter files under `assets/` (flipped, inserted, deleted and duplicated bytes, numbers
//! swapped for ones that overflow, cuts), fed to `sprout_core::format::parse` as every content
//! type. Each must answer `Ok` or `Err`, never panic; a mutated file that still parses is then
//! validated with the rest of the starter set, which must not panic either. Bounded: 512 cases in
//! all, a few seconds.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use sprout_core::content::{
    Character, ContentSet, Crop, DialogueTree, Item, Provenance, Quest, World,
};
use sprout_core::format::parse;
use sprout_core::validate::validate_set;

use crate::support::{assets, files_ending};

/// Parses `text` as every content type; the results themselves do not matter, only that each
/// call returns.
fn parse_as_every_type(text: &str) {
    let _ = parse::<World>(text);
    let _ = parse::<Character>(text);
    let _ = parse::<DialogueTree>(text);
    let _ = parse::<Quest>(text);
    let _ = parse::<Item>(text);
    let _ = parse::<Crop>(text);
    let _ = parse::<Provenance>(text);
}

/// The starter files (path, text), and the starter set parsed once, without its provenance
/// sidecars (validating those re-hashes every image: slow, and not what this test is about).
fn starter() -> &'static (Vec<(PathBuf, String)>, ContentSet) {
    static STARTER: OnceLock<(Vec<(PathBuf, String)>, ContentSet)> = OnceLock::new();
    STARTER.get_or_init(|| {
        let files: Vec<_> = files_ending(&assets(), ".ron")
            .into_iter()
            .map(|p| {
                let text = std::fs::read_to_string(&p).unwrap();
                (p, text)
            })
            .collect();
        assert!(files.len() > 40, "only {} starter files", files.len());
        let (mut set, problems) = ContentSet::load_dir(&assets());
        assert!(problems.is_empty(), "{problems:?}");
        set.sidecars.clear();
        (files, set)
    })
}

/// One change to a file's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    /// Overwrite the byte at (a fraction of the length) with this one.
    Flip(f64, u8),
    /// Insert bytes at a place.
    Insert(f64, Vec<u8>),
    /// Delete up to this many bytes from a place.
    Delete(f64, usize),
    /// Copy a run of bytes and insert it again elsewhere (nests brackets, repeats fields).
    Duplicate(f64, usize, f64),
    /// Replace the first run of digits after a place with a hostile number.
    Number(f64, &'static str),
    /// Cut the file at a place.
    Truncate(f64),
}

const HOSTILE_NUMBERS: [&str; 9] = [
    "4294967295",
    "4294967296",
    "18446744073709551616",
    "-1",
    "-2147483648",
    "0",
    "1e999",
    "NaN",
    "0x7fffffff",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = 0.0..1.0f64;
    prop_oneof![
        2 => (at.clone(), any::<u8>()).prop_map(|(a, b)| Mutation::Flip(a, b)),
        2 => (at.clone(), proptest::collection::vec(
                prop_oneof![
                    3 => proptest::sample::select(b"()[]{}:,\"\\ #/*Some".to_vec()),
                    1 => any::<u8>(),
                ],
                1..8,
            ))
            .prop_map(|(a, b)| Mutation::Insert(a, b)),
        2 => (at.clone(), 1..64usize).prop_map(|(a, n)| Mutation::Delete(a, n)),
        1 => (at.clone(), 1..256usize, at.clone()).prop_map(|(a, n, to)| Mutation::Duplicate(a, n, to)),
        3 => (at.clone(), proptest::sample::select(HOSTILE_NUMBERS.to_vec()))
            .prop_map(|(a, n)| Mutation::Number(a, n)),
        1 => at.prop_map(Mutation::Truncate),
    ]
}

fn place(len: usize, at: f64) -> usize {
    ((len as f64 * at) as usize).min(len)
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match m {
        Mutation::Flip(at, b) => {
            if len > 0 {
                let i = place(len - 1, *at);
                bytes[i] = *b;
            }
        }
        Mutation::Insert(at, ins) => {
            let i = place(len, *at);
            bytes.splice(i..i, ins.iter().copied());
        }
        Mutation::Delete(at, n) => {
            let i = place(len, *at);
            bytes.drain(i..(i + n).min(len));
        }
        Mutation::Duplicate(from, n, to) => {
            let i = place(len, *from);
            let run = bytes[i..(i + n).min(len)].to_vec();
            let j = place(len, *to);
            bytes.splice(j..j, run);
        }
        Mutation::Number(at, number) => {
            let i = place(len, *at);
            if let Some(start) = bytes[i..]
                .iter()
                .position(u8::is_ascii_digit)
                .map(|k| i + k)
            {
                let end = bytes[start..]
                    .iter()
                    .position(|b| !b.is_ascii_digit())
                    .map_or(len, |k| start + k);
                bytes.splice(start..end, number.bytes());
            }
        }
        Mutation::Truncate(at) => bytes.truncate(place(len, *at)),
    }
}

/// A starter file (by index) and the mutations made to it.
fn mutated_starter() -> impl Strategy<Value = (usize, Vec<Mutation>)> {
    let files = starter().0.len();
    (0..files, proptest::collection::vec(mutation(), 1..5))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any bytes at all: every loader answers.
    #[test]
    fn arbitrary_bytes_never_panic_a_loader(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        parse_as_every_type(&String::from_utf8_lossy(&bytes));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, failure_persistence: None, ..ProptestConfig::default() })]

    /// Starter files, damaged: every loader answers, and what still parses validates without a
    /// panic beside the rest of the starter set.
    #[test]
    fn mutated_starter_files_never_panic_a_loader_or_the_validator(
        (index, mutations) in mutated_starter()
    ) {
        let (files, base) = starter();
        let (path, text) = &files[index];
        let mut bytes = text.clone().into_bytes();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        let text: Arc<str> = String::from_utf8_lossy(&bytes).into();
        parse_as_every_type(&text);
        let mut set = base.clone();
        set.remove(path);
        if set.add_source(path.clone(), text).is_ok() {
            let _ = validate_set(&set);
        }
    }
}

/// The mutations really reach the loaders: a fair share of mutated files still parse as their
/// own type (so the validator sees hostile values), and a fair share do not.
#[test]
fn mutations_both_keep_and_break_files() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = mutated_starter();
    let (files, _) = starter();
    let (mut parsed, mut total) = (0, 0);
    for _ in 0..200 {
        let (index, mutations) = strategy.new_tree(&mut runner).unwrap().current();
        let (path, text) = &files[index];
        let mut bytes = text.clone().into_bytes();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        let mut set = ContentSet::new(assets());
        total += 1;
        if set
            .add_source(path.clone(), String::from_utf8_lossy(&bytes))
            .is_ok()
        {
            parsed += 1;
        }
    }
    assert!(
        (total / 20..=total * 19 / 20).contains(&parsed),
        "{parsed} of {total} mutated files parse"
    );
}
