//! Validator benchmark: 1,000 dialogue files of 50 nodes each (plus the base fixture set), validated
//! from disk — read, parse, cross-file checks, graph analysis — against the peer in the same run:
//! merely parsing the same files into untyped `ron::Value`.
//!
//! `cargo bench -p sprout_core --bench validate` (release profile). Prints medians and the ratio.

use std::path::Path;
use std::time::{Duration, Instant};

use sprout_core::content::{
    Choice, Condition, DialogueNode, DialogueTree, Effect, Id, Next, Season, Situation, Target,
};
use sprout_core::format::to_ron;
use sprout_core::validate::validate_dir;

const FILES: usize = 1000;
const NODES: usize = 50;
const ROUNDS: usize = 7;

fn id(s: impl Into<String>) -> Id {
    Id::new(s).expect("valid id")
}

fn tree(k: usize) -> DialogueTree {
    let nodes = (0..NODES)
        .map(|i| {
            let next = if i + 1 == NODES {
                Next::End
            } else if i % 3 == 0 {
                Next::Choices(vec![
                    Choice {
                        line: id(format!("bench_{k}_n{i}_c1")),
                        text: "Tell me more.".into(),
                        tags: vec![],
                        condition: None,
                        effects: vec![],
                        next: Target::Goto(id(format!("n{}", i + 1))),
                    },
                    Choice {
                        line: id(format!("bench_{k}_n{i}_c2")),
                        text: "Here, have a turnip.".into(),
                        tags: vec![],
                        condition: Some(Condition::All(vec![
                            Condition::HasItem { item: id("turnip"), count: 1 },
                            Condition::Season(Season::Spring),
                        ])),
                        effects: vec![
                            Effect::TakeItem { item: id("turnip"), count: 1 },
                            Effect::Friendship { npc: id("ana"), points: 20 },
                        ],
                        next: Target::Goto(id(format!("n{}", (i + 2).min(NODES - 1)))),
                    },
                    Choice {
                        line: id(format!("bench_{k}_n{i}_c3")),
                        text: "Bye.".into(),
                        tags: vec![],
                        condition: None,
                        effects: vec![],
                        next: Target::End,
                    },
                ])
            } else {
                Next::Goto(id(format!("n{}", i + 1)))
            };
            DialogueNode {
                id: id(format!("n{i}")),
                line: id(format!("bench_{k}_n{i}")),
                speaker: id(if i % 2 == 0 { "ana" } else { "player" }),
                text: "The turnips are coming up nicely this year, though the crows have opinions about it.".into(),
                tags: vec![],
                effects: if i == 0 { vec![Effect::SetFlag(id("met_ana"))] } else { vec![] },
                next,
            }
        })
        .collect();
    DialogueTree {
        id: id(format!("bench_{k}")),
        situation: Situation::Daily,
        when: None,
        participants: vec![id("ana")],
        entry: id("n0"),
        nodes,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/base");
    sprout_core::fs::copy_tree(&base, root).expect("copy the fixture");
    let out = root.join("dialogue/bench");
    std::fs::create_dir_all(&out).expect("mkdir");
    let mut paths = Vec::new();
    let mut bytes = 0;
    for k in 0..FILES {
        let text = to_ron(&tree(k)).expect("serialize");
        bytes += text.len();
        let p = out.join(format!("bench_{k}.dialogue.ron"));
        std::fs::write(&p, text).expect("write");
        paths.push(p);
    }

    let mut ours = Vec::new();
    let mut peer = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let report = validate_dir(root);
        ours.push(t.elapsed());
        assert!(
            report.is_ok(),
            "bench corpus must be valid: {:?}",
            report.diagnostics.first()
        );
        assert_eq!(report.files, FILES + 20);

        let t = Instant::now();
        for p in &paths {
            let s = std::fs::read_to_string(p).expect("read");
            let v: ron::Value = ron::from_str(&s).expect("parse");
            std::hint::black_box(v);
        }
        peer.push(t.elapsed());
    }
    let (ours, peer) = (median(ours), median(peer));
    println!(
        "corpus: {FILES} dialogue files x {NODES} nodes ({:.1} MiB) + 20 base files",
        bytes as f64 / (1024.0 * 1024.0)
    );
    println!("validate_dir (read + typed parse + all rules): median {ours:?} over {ROUNDS} rounds");
    println!(
        "peer, read + untyped ron::Value parse only:     median {peer:?} over {ROUNDS} rounds"
    );
    println!(
        "ratio: {:.2} (validation / parse-only)",
        ours.as_secs_f64() / peer.as_secs_f64()
    );
}
