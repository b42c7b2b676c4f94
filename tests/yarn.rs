//! The Yarn Spinner export, compiled by the official Rust compiler (`yarnspinner`) and run on its
//! runtime: the starter trees, a tree with every effect and condition, line ids, and text full of
//! characters Yarn treats as syntax.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use sprout_core::content::{Condition, ContentSet, DialogueTree, Effect, Next};
use sprout_core::export::yarn::{
    self, FUNCTIONS, VARIABLES_FILE, YarnScript, line_id, node_title, start_title,
};
use yarnspinner::compiler::{Compilation, Compiler, File};
use yarnspinner::core::{Library, LineId, YarnValue};
use yarnspinner::runtime::{
    Dialogue, DialogueEvent, DialogueOption, MemoryVariableStorage, OptionId,
    StringTableTextProvider, VariableStorage,
};

use crate::support::assets;

/// The game state the exported functions answer from.
#[derive(Clone, Default)]
struct Facts {
    friendship: HashMap<String, f32>,
    items: HashMap<String, f32>,
    season: String,
    time_of_day: String,
    active: BTreeSet<String>,
    done: BTreeSet<String>,
}

/// Registers every function of [`FUNCTIONS`], answering from `facts`.
fn register(library: &mut Library, facts: &Facts) {
    let f = Arc::new(facts.clone());
    let g = f.clone();
    library.add_function("friendship", move |npc: String| {
        g.friendship.get(&npc).copied().unwrap_or(0.0)
    });
    let g = f.clone();
    library.add_function("item_count", move |item: String| {
        g.items.get(&item).copied().unwrap_or(0.0)
    });
    let g = f.clone();
    library.add_function("season", move || g.season.clone());
    let g = f.clone();
    library.add_function("time_of_day", move || g.time_of_day.clone());
    let g = f.clone();
    library.add_function("quest_active", move |q: String| g.active.contains(&q));
    let g = f;
    library.add_function("quest_done", move |q: String| g.done.contains(&q));
}

/// The compiler's library: our functions, typed.
fn library() -> Library {
    let mut library = Library::new();
    register(&mut library, &Facts::default());
    library
}

fn compile(scripts: &[YarnScript], library: Option<Library>) -> Compilation {
    let mut compiler = Compiler::new();
    compiler.add_files(scripts.iter().map(|s| File {
        file_name: s.file_name.clone(),
        source: s.source.clone(),
    }));
    if let Some(library) = library {
        compiler.extend_library(library);
    }
    match compiler.compile() {
        Ok(c) => c,
        Err(e) => {
            let sources: Vec<String> = scripts
                .iter()
                .map(|s| format!("---- {}\n{}", s.file_name, s.source))
                .collect();
            panic!("{e}\n{}", sources.join("\n"));
        }
    }
}

fn starter() -> ContentSet {
    let (set, problems) = ContentSet::load_dir(&assets());
    assert!(problems.is_empty(), "{problems:?}");
    assert!(!set.dialogues.is_empty());
    set
}

/// The starter content plus `src` as one more dialogue tree.
fn starter_with(src: &str) -> (ContentSet, DialogueTree) {
    let mut set = starter();
    set.add_source("dialogue/yarn_test.dialogue.ron".into(), src)
        .unwrap();
    let tree = set.dialogues.last().unwrap().value.clone();
    (set, tree)
}

fn standalone(tree: &DialogueTree, set: &ContentSet) -> Vec<YarnScript> {
    vec![YarnScript {
        file_name: format!("{}.yarn", tree.id),
        source: yarn::to_yarn(tree, set).unwrap(),
    }]
}

/// What a run of the dialogue showed and did.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// A line: id, speaker, text without the speaker.
    Line(String, Option<String>, String),
    /// Options: text and whether it is available.
    Options(Vec<(String, bool)>),
    /// A command, as written.
    Command(String),
}

/// Runs the node `start` to the end, picking options with `pick` (an index into the options).
fn run(
    scripts: &[YarnScript],
    start: &str,
    facts: &Facts,
    variables: &[(&str, bool)],
    mut pick: impl FnMut(&[DialogueOption]) -> usize,
) -> (Vec<Step>, MemoryVariableStorage) {
    let compilation = compile(scripts, Some(library()));
    let mut text = StringTableTextProvider::new();
    text.extend_base_language(
        compilation
            .string_table
            .iter()
            .map(|(id, info)| (id.clone(), info.text.clone())),
    );
    let mut storage = MemoryVariableStorage::new();
    let mut dialogue = Dialogue::new(Box::new(storage.clone()), Box::new(text));
    register(dialogue.library_mut(), facts);
    dialogue.add_program(compilation.program.unwrap());
    for (name, value) in variables {
        storage
            .set((*name).to_owned(), YarnValue::Boolean(*value))
            .unwrap();
    }
    dialogue.set_node(start).unwrap();
    let mut steps = Vec::new();
    for _ in 0..1000 {
        for event in dialogue.continue_().unwrap() {
            match event {
                DialogueEvent::Line(line) => steps.push(Step::Line(
                    line.id.0.clone(),
                    line.character_name().map(ToOwned::to_owned),
                    line.text_without_character_name(),
                )),
                DialogueEvent::Options(options) => {
                    steps.push(Step::Options(
                        options
                            .iter()
                            .map(|o| (o.line.text_without_character_name(), o.is_available))
                            .collect(),
                    ));
                    let picked = pick(&options);
                    assert!(options[picked].is_available, "picked a locked option");
                    let id: OptionId = options[picked].id;
                    dialogue.set_selected_option(id).unwrap();
                }
                DialogueEvent::Command(command) => steps.push(Step::Command(command.raw)),
                DialogueEvent::DialogueComplete => return (steps, storage),
                _ => {}
            }
        }
    }
    panic!("the dialogue never ended: {steps:?}");
}

fn flag(storage: &MemoryVariableStorage, name: &str) -> bool {
    match storage.get(name).unwrap() {
        YarnValue::Boolean(b) => b,
        other => panic!("{name} is {other:?}"),
    }
}

/// Every `<<jump X>>` target in a script.
fn jump_targets(source: &str) -> Vec<String> {
    source
        .split("<<jump ")
        .skip(1)
        .map(|rest| rest.split(">>").next().unwrap().trim().to_owned())
        .collect()
}

#[test]
fn every_starter_tree_exports_and_compiles() {
    let set = starter();
    let scripts = yarn::to_yarn_files(set.dialogues.iter().map(|d| &d.value), &set).unwrap();
    assert_eq!(scripts.len(), set.dialogues.len() + 1);
    assert_eq!(scripts.last().unwrap().file_name, VARIABLES_FILE);

    let compilation = compile(&scripts, Some(library()));
    assert!(
        compilation.warnings.is_empty(),
        "{:?}",
        compilation.warnings
    );
    let program = compilation.program.unwrap();
    for doc in &set.dialogues {
        let tree = &doc.value;
        assert!(program.nodes.contains_key(&start_title(&tree.id)));
        for node in &tree.nodes {
            assert!(program.nodes.contains_key(&node_title(&tree.id, &node.id)));
        }
    }
    for script in &scripts {
        for target in jump_targets(&script.source) {
            assert!(
                program.nodes.contains_key(&target),
                "{}: jump to missing node {target}",
                script.file_name
            );
        }
    }

    // Each tree also compiles on its own, declaring its own flags.
    for doc in &set.dialogues {
        compile(&standalone(&doc.value, &set), Some(library()));
    }
    // One string holds the whole project.
    let combined = yarn::to_yarn_combined(set.dialogues.iter().map(|d| &d.value), &set).unwrap();
    let one = YarnScript {
        file_name: "all.yarn".into(),
        source: combined,
    };
    let all = compile(&[one], Some(library()));
    assert_eq!(all.program.unwrap().nodes.len(), program.nodes.len());
}

#[test]
fn the_compiler_declares_our_functions_itself() {
    // No library: the compiler declares `friendship(..)` and friends implicitly. The runtime
    // still needs them registered (every other test here does).
    let set = starter();
    let scripts = yarn::to_yarn_files(set.dialogues.iter().map(|d| &d.value), &set).unwrap();
    assert!(scripts.iter().any(|s| s.source.contains("friendship(\"")));
    compile(&scripts, None);
    // The functions the test registers are exactly the documented ones, with their arity.
    let library = library();
    let registered: BTreeSet<&str> = library.names().collect();
    let documented: BTreeSet<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
    assert_eq!(registered, documented);
    for f in FUNCTIONS {
        let registered = library.get(f.name).unwrap();
        assert_eq!(
            registered.parameter_types().len(),
            f.parameters.len(),
            "{}",
            f.name
        );
    }
}

const EVERYTHING: &str = r#"DialogueTree(
    id: "yarn_everything",
    situation: QuestOffer("tea_for_the_span"),
    when: All([
        Flag("met"),
        NotFlag("angry"),
        Friendship(npc: "sefa", at_least: 100),
        HasItem(item: "egg", count: 2),
        Season(Spring),
        TimeOfDay(Morning),
        QuestActive("stones_for_the_span"),
        Any([QuestDone("old_quest"), Not(Flag("never_set"))]),
    ]),
    participants: ["sefa"],
    entry: "start",
    nodes: [
        (
            id: "never",
            line: "yarn_everything_never",
            speaker: "narrator",
            text: "Nobody gets here.",
            next: End,
        ),
        (
            id: "start",
            line: "yarn_everything_start",
            speaker: "sefa",
            text: "Hello, dear.",
            effects: [
                GiveItem(item: "egg", count: 3),
                TakeItem(item: "egg", count: 1),
                GiveGold(50),
                Friendship(npc: "sefa", points: -5),
                SetFlag("met"),
                ClearFlag("angry"),
                StartQuest("tea_for_the_span"),
                CompleteQuest("stones_for_the_span"),
            ],
            next: Choices([
                (line: "yarn_everything_start_c1", text: "Locked.", condition: Friendship(npc: "sefa", at_least: 900), next: Goto("never")),
                (line: "yarn_everything_start_c2", text: "Winter only.", condition: Season(Winter), next: Goto("never")),
                (
                    line: "yarn_everything_start_c3",
                    text: "Open.",
                    condition: All([Season(Spring), Not(TimeOfDay(Night)), HasItem(item: "egg", count: 1)]),
                    effects: [SetFlag("picked"), Friendship(npc: "sefa", points: 10)],
                    next: Goto("after"),
                ),
                (line: "yarn_everything_start_c4", text: "Bye.", effects: [ClearFlag("met")], next: End),
            ]),
        ),
        (
            id: "after",
            line: "yarn_everything_after",
            speaker: "player",
            text: "Thanks.",
            next: Goto("end"),
        ),
        (
            id: "end",
            line: "yarn_everything_end",
            speaker: "narrator",
            text: "The kettle sings.",
            next: End,
        ),
    ],
)"#;

/// Names every variant, so a new one makes this test fail to build until it joins the fixture.
fn effect_kind(e: &Effect) -> &'static str {
    match e {
        Effect::GiveItem { .. } => "GiveItem",
        Effect::TakeItem { .. } => "TakeItem",
        Effect::GiveGold(_) => "GiveGold",
        Effect::Friendship { .. } => "Friendship",
        Effect::SetFlag(_) => "SetFlag",
        Effect::ClearFlag(_) => "ClearFlag",
        Effect::StartQuest(_) => "StartQuest",
        Effect::CompleteQuest(_) => "CompleteQuest",
    }
}

fn condition_kind(c: &Condition) -> &'static str {
    match c {
        Condition::Flag(_) => "Flag",
        Condition::NotFlag(_) => "NotFlag",
        Condition::Friendship { .. } => "Friendship",
        Condition::HasItem { .. } => "HasItem",
        Condition::Season(_) => "Season",
        Condition::TimeOfDay(_) => "TimeOfDay",
        Condition::QuestActive(_) => "QuestActive",
        Condition::QuestDone(_) => "QuestDone",
        Condition::All(_) => "All",
        Condition::Any(_) => "Any",
        Condition::Not(_) => "Not",
    }
}

fn spring_morning() -> Facts {
    Facts {
        friendship: HashMap::from([("sefa".into(), 150.0)]),
        items: HashMap::from([("egg".into(), 2.0)]),
        season: "spring".into(),
        time_of_day: "morning".into(),
        active: BTreeSet::from(["stones_for_the_span".into()]),
        done: BTreeSet::new(),
    }
}

#[test]
fn every_effect_and_condition_compiles_and_runs() {
    let (set, tree) = starter_with(EVERYTHING);
    let effects: BTreeSet<&str> = tree.effects().map(effect_kind).collect();
    assert_eq!(effects.len(), 8, "{effects:?}");
    let mut conditions = BTreeSet::new();
    let choice_conditions = tree.nodes.iter().flat_map(|n| match &n.next {
        Next::Choices(c) => c.iter().filter_map(|c| c.condition.as_ref()).collect(),
        _ => Vec::new(),
    });
    for c in tree.when.iter().chain(choice_conditions) {
        c.walk(&mut |c| {
            conditions.insert(condition_kind(c));
        });
    }
    assert_eq!(conditions.len(), 11, "{conditions:?}");

    // Alone (declaring its own flags) and in the starter project (flags declared once).
    let alone = standalone(&tree, &set);
    compile(&alone, Some(library()));
    let trees = set.dialogues.iter().map(|d| &d.value);
    let project = yarn::to_yarn_files(trees, &set).unwrap();
    compile(&project, Some(library()));

    let sefa = set
        .characters
        .iter()
        .find(|c| c.value.id.as_str() == "sefa")
        .unwrap()
        .value
        .name
        .clone();
    let start = start_title(&tree.id);
    let (steps, storage) = run(
        &alone,
        &start,
        &spring_morning(),
        &[("$flag_met", true)],
        |o| o.iter().position(|o| o.line.text == "Open.").unwrap(),
    );
    let command = |s: &str| Step::Command(s.to_owned());
    assert_eq!(
        steps,
        [
            command("give_item egg 3"),
            command("take_item egg 1"),
            command("give_gold 50"),
            command("friendship sefa -5"),
            command("start_quest tea_for_the_span"),
            command("complete_quest stones_for_the_span"),
            Step::Line(
                "line:yarn_everything_start".into(),
                Some(sefa),
                "Hello, dear.".into()
            ),
            Step::Options(vec![
                ("Locked.".into(), false),
                ("Winter only.".into(), false),
                ("Open.".into(), true),
                ("Bye.".into(), true),
            ]),
            command("friendship sefa 10"),
            Step::Line(
                "line:yarn_everything_after".into(),
                Some("Player".into()),
                "Thanks.".into()
            ),
            Step::Line(
                "line:yarn_everything_end".into(),
                None,
                "The kettle sings.".into()
            ),
        ]
    );
    assert!(flag(&storage, "$flag_met"));
    assert!(!flag(&storage, "$flag_angry"));
    assert!(flag(&storage, "$flag_picked"));

    // "Bye." ends the conversation after its effect.
    let (steps, storage) = run(
        &alone,
        &start,
        &spring_morning(),
        &[("$flag_met", true)],
        |o| o.iter().position(|o| o.line.text == "Bye.").unwrap(),
    );
    assert!(matches!(steps.last(), Some(Step::Options(_))), "{steps:?}");
    assert!(!flag(&storage, "$flag_met"));

    // The tree's `when` guards the start node: each failing part stops it before a word is said.
    let mut no_eggs = spring_morning();
    no_eggs.items.clear();
    let mut evening = spring_morning();
    evening.time_of_day = "evening".into();
    let mut quest_over = spring_morning();
    quest_over.active.clear();
    for (facts, variables) in [
        (spring_morning(), vec![]),
        (
            spring_morning(),
            vec![("$flag_met", true), ("$flag_angry", true)],
        ),
        (no_eggs, vec![("$flag_met", true)]),
        (evening, vec![("$flag_met", true)]),
        (quest_over, vec![("$flag_met", true)]),
        (
            spring_morning(),
            vec![("$flag_met", true), ("$flag_never_set", true)],
        ),
    ] {
        let (steps, _) = run(&alone, &start, &facts, &variables, |_| unreachable!());
        assert!(steps.is_empty(), "{variables:?}: {steps:?}");
    }
}

#[test]
fn line_ids_are_unique_and_preserved() {
    let set = starter();
    let scripts = yarn::to_yarn_files(set.dialogues.iter().map(|d| &d.value), &set).unwrap();
    let compilation = compile(&scripts, Some(library()));
    assert!(!compilation.contains_implicit_string_tags);

    let mut expected = BTreeSet::new();
    for doc in &set.dialogues {
        for node in &doc.value.nodes {
            assert!(expected.insert(line_id(&node.line)), "{}", node.line);
            for choice in node.choices() {
                assert!(expected.insert(line_id(&choice.line)), "{}", choice.line);
            }
        }
    }
    let table: BTreeSet<String> = compilation
        .string_table
        .keys()
        .map(|id| id.0.clone())
        .collect();
    assert_eq!(table, expected);
    let tags: usize = scripts
        .iter()
        .map(|s| s.source.matches("#line:").count())
        .sum();
    assert_eq!(tags, expected.len());

    // Every line's text and node come through.
    for doc in &set.dialogues {
        let tree = &doc.value;
        for node in &tree.nodes {
            let info = &compilation.string_table[&LineId::from(line_id(&node.line))];
            assert_eq!(info.node_name, node_title(&tree.id, &node.id));
            assert!(info.text.ends_with(&node.text), "{}", info.text);
            for c in node.choices() {
                let info = &compilation.string_table[&LineId::from(line_id(&c.line))];
                assert_eq!(info.text, c.text);
            }
        }
    }
}

const SPECIAL: &str = r#"Braces {0} {$x}, markup [b]bold[/b] \[x\], commands <<stop>> <b> a<b>c, #line:fake #tag, // not a comment / x, back\slash\, colon: here, "quotes" $var -> arrow ===, café."#;

#[test]
fn special_characters_round_trip() {
    let narrated = "=== Chapter: two {x} [y] <<jump nowhere>>";
    let option = "-> yes: [really] #1 // {ok} \\";
    let src = format!(
        r#"DialogueTree(
            id: "yarn_special",
            situation: Daily,
            participants: ["sefa"],
            entry: "a",
            nodes: [
                (id: "a", line: "yarn_special_a", speaker: "sefa", text: {SPECIAL:?}, next: Goto("b")),
                (id: "b", line: "yarn_special_b", speaker: "narrator", text: {narrated:?},
                 next: Choices([(line: "yarn_special_b_c1", text: {option:?}, next: Goto("c")), (line: "yarn_special_b_c2", text: "===", next: End)])),
                (id: "c", line: "yarn_special_c", speaker: "player", text: "\\", next: End),
            ],
        )"#
    );
    let (set, tree) = starter_with(&src);
    let scripts = standalone(&tree, &set);

    // The string table keeps our text, with only the markup brackets still escaped (the
    // runtime's markup parser undoes those).
    let compilation = compile(&scripts, Some(library()));
    let sefa = &set
        .characters
        .iter()
        .find(|c| c.value.id.as_str() == "sefa")
        .unwrap()
        .value
        .name;
    let markup_escaped = |s: &str| s.replace('[', r"\[").replace(']', r"\]");
    let entry = &compilation.string_table[&LineId::from("line:yarn_special_a")];
    assert_eq!(entry.text, format!("{sefa}: {}", markup_escaped(SPECIAL)));

    let start = start_title(&tree.id);
    let (steps, _) = run(&scripts, &start, &Facts::default(), &[], |o| {
        o.iter()
            .position(|o| o.line.text_without_character_name() != "===")
            .unwrap()
    });
    assert_eq!(
        steps,
        [
            Step::Line(
                "line:yarn_special_a".into(),
                Some(sefa.clone()),
                SPECIAL.into()
            ),
            Step::Line(
                "line:yarn_special_b".into(),
                Some(String::new()),
                narrated.into()
            ),
            Step::Options(vec![(option.into(), true), ("===".into(), true)]),
            Step::Line(
                "line:yarn_special_c".into(),
                Some("Player".into()),
                "\\".into()
            ),
        ]
    );
}
