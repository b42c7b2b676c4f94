//! Unit tests of the Yarn writer's pieces; `tests/yarn.rs` compiles and runs whole exports.

use super::render::expression;
use super::text::{escape_text, sanitize_identifier, sanitize_speaker, yarn_line};
use super::*;
use crate::content::Condition;
use crate::validate::DiagnosticKind;

fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

fn tree(src: &str) -> (DialogueTree, ContentSet) {
    let mut set = ContentSet::new("assets");
    set.add_source("dialogue/t.dialogue.ron".into(), src)
        .unwrap();
    (set.dialogues[0].value.clone(), set)
}

#[test]
fn escapes_everything_yarn_reads_as_syntax() {
    assert_eq!(escape_text("plain, words."), "plain, words.");
    assert_eq!(
        escape_text(r"a{b}c[d]e<f>g#h/i\j"),
        r"a\{b\}c\[d\]e\<f\>g\#h\/i\\j"
    );
    assert_eq!(escape_text("<<set $x>> // hi"), r"\<\<set $x\>\> \/\/ hi");
    assert_eq!(escape_text("é: ok"), "é: ok");
}

#[test]
fn lines_get_names_only_where_needed() {
    assert_eq!(yarn_line(Some("Sefa"), " Hi.\nThere. "), "Sefa: Hi. There.");
    assert_eq!(yarn_line(None, "The wind."), "The wind.");
    assert_eq!(yarn_line(None, "Note: shut."), ": Note: shut.");
    assert_eq!(yarn_line(None, "=== here"), ": === here");
    assert_eq!(yarn_line(None, "-> go"), r"-\> go");
}

#[test]
fn speakers_lose_what_would_end_or_mark_up_their_name() {
    assert_eq!(sanitize_speaker("Dr. Bo: [the] 2nd"), "Dr. Bo the 2nd");
    assert_eq!(sanitize_speaker("===Mo\nLi"), "Mo Li");
    assert_eq!(sanitize_speaker(":"), "");
}

#[test]
fn identifiers_follow_yarn_rules() {
    assert_eq!(sanitize_identifier("sefa_daily_start"), "sefa_daily_start");
    assert_eq!(sanitize_identifier("1st_meeting"), "N_1st_meeting");
    assert_eq!(sanitize_identifier("_x"), "N__x");
    assert_eq!(sanitize_identifier("a.b-c d"), "a_b_c_d");
    assert_eq!(sanitize_identifier("café"), "caf_");
    assert_eq!(sanitize_identifier(""), "N_");
    assert_eq!(node_title(&id("t"), &id("start")), "t_start");
    assert_eq!(start_title(&id("9lives")), "N_9lives");
}

#[test]
fn conditions_become_yarn_expressions() {
    let c: Condition = crate::format::parse(
        r#"All([Flag("a"), Any([NotFlag("b"), Friendship(npc: "mo", at_least: 250)]),
            Not(HasItem(item: "egg", count: 2)), Season(Autumn), TimeOfDay(Night),
            QuestActive("q"), QuestDone("r")])"#,
    )
    .unwrap();
    assert_eq!(
        expression(&c, true),
        "$flag_a and (not $flag_b or friendship(\"mo\") >= 250) \
         and not (item_count(\"egg\") >= 2) and season() == \"autumn\" \
         and time_of_day() == \"night\" and quest_active(\"q\") and quest_done(\"r\")"
    );
    assert_eq!(expression(&Condition::All(vec![]), true), "true");
    assert_eq!(expression(&Condition::Any(vec![]), false), "false");
    assert_eq!(
        expression(&Condition::Any(vec![Condition::Flag(id("x"))]), false),
        "$flag_x"
    );
}

#[test]
fn refuses_trees_it_cannot_write() {
    let (t, set) = tree(
        r#"DialogueTree(id: "t", situation: Daily, participants: [], entry: "nope",
            nodes: [
                (id: "a", line: "t_a", speaker: "narrator", text: " ", next: Goto("b")),
                (id: "a", line: "t_a", speaker: "narrator", text: "Hi.", next: End),
            ])"#,
    );
    let Err(Error::Invalid(problems)) = to_yarn(&t, &set) else {
        panic!("exported a broken tree");
    };
    let kinds: Vec<_> = problems.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [
            DiagnosticKind::DuplicateId,
            DiagnosticKind::DuplicateId,
            DiagnosticKind::MissingEntry,
            DiagnosticKind::EmptyText,
            DiagnosticKind::DanglingJump,
        ]
    );
    assert!(problems[0].position.is_some(), "{}", problems[0]);
}

#[test]
fn refuses_projects_whose_trees_share_a_node_title() {
    let mut set = ContentSet::new("assets");
    set.add_source(
        "dialogue/pim.dialogue.ron".into(),
        r#"DialogueTree(id: "pim", situation: Daily, participants: [], entry: "first_a",
            nodes: [(id: "first_a", line: "pim_a", speaker: "narrator", text: "A.", next: End)])"#,
    )
    .unwrap();
    set.add_source(
        "dialogue/pim_first.dialogue.ron".into(),
        r#"DialogueTree(id: "pim_first", situation: Daily, participants: [], entry: "a",
            nodes: [(id: "a", line: "pim_first_a", speaker: "narrator", text: "B.", next: End)])"#,
    )
    .unwrap();
    let trees = set.dialogues.iter().map(|d| &d.value);
    let Err(Error::Invalid(problems)) = to_yarn_files(trees, &set) else {
        panic!("exported two nodes under one title");
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].message.contains("`pim_first_a`"),
        "{}",
        problems[0]
    );
}
