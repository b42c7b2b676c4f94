//! Property test: on random dialogue graphs, the validator's reachability and termination
//! verdicts agree with a plain breadth-first search written independently here.

use std::collections::{BTreeSet, VecDeque};
use std::sync::OnceLock;

use proptest::prelude::*;
use sprout_core::content::{
    Choice, Condition, ContentSet, DialogueNode, DialogueTree, Id, Next, Season, Situation, Target,
};
use sprout_core::format::to_ron;
use sprout_core::validate::graph::Graph;
use sprout_core::validate::{DiagnosticKind, validate_set};

use crate::support::fixtures;

/// A random graph: per node, its exit. `None` in a choice target means `End`.
#[derive(Debug, Clone)]
enum Exit {
    End,
    Goto(usize),
    Choices(Vec<(Option<usize>, bool)>),
}

fn graphs() -> impl Strategy<Value = (usize, Vec<Exit>)> {
    (1usize..10).prop_flat_map(|n| {
        let exit = prop_oneof![
            1 => Just(Exit::End),
            3 => (0..n).prop_map(Exit::Goto),
            3 => prop::collection::vec((prop::option::weighted(0.8, 0..n), any::<bool>()), 1..4)
                .prop_map(Exit::Choices),
        ];
        (0..n, prop::collection::vec(exit, n))
    })
}

/// Plain BFS from `start` over the exits; returns the visited nodes.
fn bfs(exits: &[Exit], start: usize) -> Vec<bool> {
    let mut seen = vec![false; exits.len()];
    let mut queue = VecDeque::from([start]);
    seen[start] = true;
    while let Some(i) = queue.pop_front() {
        let next: Vec<usize> = match &exits[i] {
            Exit::End => vec![],
            Exit::Goto(j) => vec![*j],
            Exit::Choices(c) => c.iter().filter_map(|(t, _)| *t).collect(),
        };
        for j in next {
            if !seen[j] {
                seen[j] = true;
                queue.push_back(j);
            }
        }
    }
    seen
}

fn ends_directly(exit: &Exit) -> bool {
    match exit {
        Exit::End => true,
        Exit::Goto(_) => false,
        Exit::Choices(c) => c.iter().any(|(t, _)| t.is_none()),
    }
}

/// The reference verdict: reachable from the entry; can reach some node that ends.
fn reference(entry: usize, exits: &[Exit]) -> (Vec<bool>, Vec<bool>) {
    let reachable = bfs(exits, entry);
    let can_end = (0..exits.len())
        .map(|i| {
            bfs(exits, i)
                .iter()
                .enumerate()
                .any(|(j, &seen)| seen && ends_directly(&exits[j]))
        })
        .collect();
    (reachable, can_end)
}

fn node_id(i: usize) -> Id {
    Id::new(format!("n{i}")).unwrap()
}

fn tree(entry: usize, exits: &[Exit]) -> DialogueTree {
    let nodes = exits
        .iter()
        .enumerate()
        .map(|(i, exit)| DialogueNode {
            id: node_id(i),
            line: Id::new(format!("prop_n{i}")).unwrap(),
            speaker: Id::new("bo").unwrap(),
            text: format!("Line {i}."),
            tags: vec![],
            effects: vec![],
            next: match exit {
                Exit::End => Next::End,
                Exit::Goto(j) => Next::Goto(node_id(*j)),
                Exit::Choices(c) => Next::Choices(
                    c.iter()
                        .enumerate()
                        .map(|(k, (t, conditional))| Choice {
                            line: Id::new(format!("prop_n{i}_c{k}")).unwrap(),
                            text: format!("Choice {k}."),
                            tags: vec![],
                            // The first choice is always unconditional, so the player never
                            // runs out of choices and only graph rules are in play.
                            condition: (*conditional && k > 0)
                                .then_some(Condition::Season(Season::Spring)),
                            effects: vec![],
                            next: t.map_or(Target::End, |j| Target::Goto(node_id(j))),
                        })
                        .collect(),
                ),
            },
        })
        .collect();
    DialogueTree {
        id: Id::new("prop").unwrap(),
        situation: Situation::Daily,
        when: None,
        participants: vec![Id::new("bo").unwrap()],
        entry: node_id(entry),
        nodes,
    }
}

fn base() -> &'static ContentSet {
    static BASE: OnceLock<ContentSet> = OnceLock::new();
    BASE.get_or_init(|| {
        let (set, problems) = ContentSet::load_dir(&fixtures().join("base"));
        assert!(problems.is_empty(), "{problems:?}");
        set
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn validator_agrees_with_bfs((entry, exits) in graphs()) {
        let (reachable, can_end) = reference(entry, &exits);
        let mut expected = BTreeSet::new();
        for i in 0..exits.len() {
            if !reachable[i] {
                expected.insert(("unreachable_node", format!("nodes[{i}].id")));
            } else if !can_end[i] {
                expected.insert(("no_ending", format!("nodes[{i}].next")));
            }
        }

        let mut set = base().clone();
        let source = to_ron(&tree(entry, &exits)).unwrap();
        let path = set.root.join("dialogue/prop.dialogue.ron");
        set.add_source(path, source).unwrap();
        let diagnostics = validate_set(&set);
        let actual: BTreeSet<_> = diagnostics
            .iter()
            .filter(|d| matches!(d.kind, DiagnosticKind::UnreachableNode | DiagnosticKind::NoEnding))
            .map(|d| (d.kind.code(), d.field.clone().unwrap_or_default()))
            .collect();
        prop_assert_eq!(&actual, &expected);
        let others: Vec<_> = diagnostics
            .iter()
            // The base fixture's art is placeholders on purpose (see `fixtures.rs`).
            .filter(|d| !matches!(
                d.kind,
                DiagnosticKind::UnreachableNode | DiagnosticKind::NoEnding | DiagnosticKind::Placeholder
            ))
            .map(ToString::to_string)
            .collect();
        prop_assert!(others.is_empty(), "unexpected: {:?}", others);
    }

    #[test]
    fn graph_analysis_agrees_with_bfs((entry, exits) in graphs()) {
        let (reachable, can_end) = reference(entry, &exits);
        let graph = Graph {
            edges: exits
                .iter()
                .map(|e| match e {
                    Exit::End => vec![],
                    Exit::Goto(j) => vec![*j],
                    Exit::Choices(c) => c.iter().filter_map(|(t, _)| *t).collect(),
                })
                .collect(),
            ends: exits.iter().map(ends_directly).collect(),
        };
        let verdict = graph.analyze(Some(entry));
        prop_assert_eq!(verdict.reachable, reachable);
        prop_assert_eq!(verdict.can_end, can_end);
    }
}
