//! The writer's checks through the whole pipeline, on a copy of the starter assets, with a
//! scripted backend: meta-talk and a missed topic are repaired with messages that say so, best-of-N
//! keeps the best of its candidates, and a backend that ignores the schema cannot slip control
//! characters or a name out of the world's style into a file.

use std::collections::VecDeque;
use std::path::Path;

use crate::content::provenance::{ModelRef, sidecar_path};
use crate::content::{ContentSet, Id, Season, Situation};
use crate::format::parse;
use crate::llm::{Event, FinishReason, Generation, GenerationRequest, TextBackend, Timings};

use super::{Generator, Job, JobSpec, Options, Project, Status, Templates};

/// Answers with the scripted texts in order and keeps every request.
struct Scripted {
    answers: VecDeque<(String, Option<f32>)>,
    requests: Vec<GenerationRequest>,
}

impl Scripted {
    fn new(answers: impl IntoIterator<Item = (String, Option<f32>)>) -> Self {
        Self {
            answers: answers.into_iter().collect(),
            requests: Vec::new(),
        }
    }
}

impl TextBackend for Scripted {
    fn describe(&self) -> String {
        "scripted".into()
    }
    fn generate(
        &mut self,
        request: &GenerationRequest,
        _: &mut dyn FnMut(Event<'_>),
    ) -> crate::llm::Result<Generation> {
        self.requests.push(request.clone());
        let (text, mean_logprob) = self.answers.pop_front().expect("a scripted answer");
        Ok(Generation {
            text,
            tokens: Vec::new(),
            finish: FinishReason::Stop,
            timings: Timings {
                generated_tokens: 50,
                ..Timings::default()
            },
            mean_logprob,
        })
    }
}

fn project() -> (tempfile::TempDir, Project, ContentSet) {
    let dir = tempfile::tempdir().unwrap();
    let assets = dir.path().join("assets");
    let starter = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets");
    crate::fs::copy_tree(&starter, &assets).unwrap();
    let (set, problems) = ContentSet::load_dir(&assets);
    assert!(problems.is_empty(), "{problems:?}");
    (dir, Project::new(assets), set)
}

fn model() -> ModelRef {
    ModelRef {
        id: "scripted".into(),
        sha256: "0".repeat(64),
    }
}

fn daily(season: Option<Season>) -> JobSpec {
    JobSpec {
        job: Job::Dialogue {
            npc: Id::new("sefa").unwrap(),
            situation: Situation::Daily,
            season,
            nodes: 3,
            brief: String::new(),
            id: None,
        },
        seed: 41,
        pick: None,
    }
}

/// The JSON of a three-line `sefa_daily_summer` tree with these lines, all Sefa's.
/// The word `spec`'s topic is said with: what a scripted line must use to stay on topic.
fn topic_word(generator: &Generator<'_>, set: &ContentSet, spec: &JobSpec) -> String {
    generator
        .prepare(set, spec)
        .unwrap()
        .topic
        .unwrap()
        .say()
        .to_owned()
}

fn tree(lines: [&str; 3]) -> String {
    let ids = ["start", "line2", "line3"];
    let nodes: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let next = if i < 2 {
                format!(r#"{{"Goto": "{}"}}"#, ids[i + 1])
            } else {
                r#""End""#.into()
            };
            format!(
                r#"{{"id": "{}", "line": "sefa_daily_summer_{}", "speaker": "sefa", "text": "{text}", "effects": [], "next": {next}}}"#,
                ids[i], ids[i]
            )
        })
        .collect();
    format!(
        r#"{{"id": "sefa_daily_summer", "situation": "Daily", "participants": ["sefa"], "entry": "start", "nodes": [{}]}}"#,
        nodes.join(", ")
    )
}

#[test]
fn meta_talk_and_a_missed_topic_are_repaired_with_messages_that_say_so() {
    let (_dir, project, mut set) = project();
    let templates = Templates::builtin();
    let options = Options::default();
    let model = model();
    let generator = Generator {
        project: &project,
        templates: &templates,
        model: &model,
        options: &options,
    };
    let spec = daily(Some(Season::Summer));
    let prepared = generator.prepare(&set, &spec).unwrap();
    let topic = prepared.topic.clone().expect("a daily tree has a topic");
    // The prompt names the topic.
    assert!(
        prepared.messages[1].content.contains(&topic.label),
        "{}",
        prepared.messages[1].content
    );
    let say = topic.say().to_owned();
    // The model reading its instructions back: the system prompt's first eight words.
    let read_out = prepared.messages[0]
        .content
        .split_whitespace()
        .take(8)
        .collect::<Vec<_>>()
        .join(" ");
    let mut backend = Scripted::new([
        (
            tree([
                "Place your hands on the table at the end of this conversation.",
                &read_out,
                "Sit anywhere you like.",
            ]),
            None,
        ),
        (
            tree([
                "The kettle is singing again.",
                &format!("Have you heard about {say}?"),
                // Not the starter's "Sit anywhere but the window seat": that is lifted.
                "Sit wherever the sun is, the pot's fresh.",
            ]),
            None,
        ),
    ]);
    let outcome = generator
        .generate(&mut backend, &mut set, &spec, &mut |_| {})
        .unwrap();
    assert_eq!(outcome.status, Status::Repaired(1), "{:?}", outcome.status);
    let repair = &backend.requests[1].messages.last().unwrap().content;
    assert!(
        repair.contains("[meta_talk]") && repair.contains("conversation"),
        "{repair}"
    );
    assert!(
        repair.contains("[off_topic]") && repair.contains(&say),
        "{repair}"
    );
    assert!(
        repair.contains("nodes[1].text: reads out the instructions")
            && repair.contains("[copied_prompt]"),
        "{repair}"
    );
    let written = std::fs::read_to_string(&outcome.path).unwrap();
    assert!(written.contains(&say), "{written}");
    // The provenance records the topic, for `sprout report`.
    let prov: crate::content::Provenance =
        parse(&std::fs::read_to_string(sidecar_path(&outcome.path)).unwrap()).unwrap();
    assert_eq!(prov.parameters.get("topic"), Some(&topic.label));
    let report = super::measure(&set, None, None);
    assert_eq!((report.grounded_trees, report.trees_with_topic), (1, 1));
    assert_eq!(report.meta_talk_lines, 0);
    assert_eq!(report.speakers_ok, 1);
    assert_eq!(
        (report.mixed_script_lines, report.lifted_from_world),
        (0, 0)
    );
    assert_eq!(report.clean_trees, 1, "{report:#?}");
}

#[test]
fn best_of_n_keeps_the_best_candidate_and_records_the_gain() {
    let (_dir, project, mut set) = project();
    let templates = Templates::builtin();
    let options = Options {
        candidates: 3,
        ..Options::default()
    };
    let model = model();
    let generator = Generator {
        project: &project,
        templates: &templates,
        model: &model,
        options: &options,
    };
    let spec = daily(Some(Season::Summer));
    let say = topic_word(&generator, &set, &spec);
    let first = format!("Welcome to our chat about {say}.");
    let dull = format!("Tea about {say} is tea and tea.");
    let lively = format!("Steam off the springs smells of {say} today.");
    let mut backend = Scripted::new([
        (
            tree([&first, "Sit down, sit down.", "Mind the cup."]),
            Some(-1.0),
        ),
        (
            tree([&dull, "Tea is tea and tea is tea.", "Tea, tea, tea is tea."]),
            Some(-0.5),
        ),
        (
            tree([
                &lively,
                "Sit where the sun comes in.",
                "Mind the cup, it's hot.",
            ]),
            Some(-1.5),
        ),
    ]);
    let candidate = generator
        .prepare(&set, &spec)
        .unwrap()
        .run(&mut backend, &mut |_| {})
        .unwrap();
    // Every first answer is listed with its score, the best marked kept.
    let scored = candidate.scored();
    assert_eq!(
        scored
            .iter()
            .map(|c| (c.number, c.kept))
            .collect::<Vec<_>>(),
        [(1, false), (2, false), (3, true)]
    );
    assert!(scored[2].score > scored[0].score && scored[2].score > scored[1].score);
    assert!(
        scored[2]
            .answer
            .as_ref()
            .is_ok_and(|ron| ron.contains("Steam off"))
    );
    assert!(
        scored[0].answer.is_err(),
        "the first says \"chat\": meta-talk"
    );
    let outcome = candidate.commit(&mut set).unwrap();
    assert_eq!(outcome.status, Status::Made, "{:?}", outcome.status);
    assert_eq!(outcome.attempts, 3);
    assert_eq!(outcome.picked.candidates, 3);
    assert_eq!(outcome.picked.kept, 3);
    let (best, first_score) = (
        outcome.picked.best_score.unwrap(),
        outcome.picked.first_score.unwrap(),
    );
    assert!(best > first_score, "{:?}", outcome.picked);
    let written = std::fs::read_to_string(&outcome.path).unwrap();
    assert!(written.contains("Steam off the springs"), "{written}");
    // Each candidate had a seed of its own, and all saw the same prompt.
    let seeds: std::collections::HashSet<u64> =
        backend.requests.iter().map(|r| r.sampling.seed).collect();
    assert_eq!(seeds.len(), 3);
    assert!(
        backend
            .requests
            .iter()
            .all(|r| r.messages == backend.requests[0].messages)
    );

    // The designer keeps the second instead: only it is generated, on the seed it had.
    let pick = JobSpec {
        pick: Some(2),
        ..spec.clone()
    };
    let mut again = Scripted::new([(
        tree([&dull, "Tea is tea and tea is tea.", "Tea, tea, tea is tea."]),
        Some(-0.5),
    )]);
    let options_force = Options {
        force: true,
        ..options.clone()
    };
    let generator = Generator {
        options: &options_force,
        ..generator
    };
    let kept = generator
        .generate(&mut again, &mut set, &pick, &mut |_| {})
        .unwrap();
    assert_eq!(kept.status, Status::Made, "{:?}", kept.status);
    assert_eq!(
        (kept.attempts, kept.picked.candidates, kept.picked.kept),
        (1, 1, 2)
    );
    assert_eq!(
        again.requests[0].sampling.seed,
        backend.requests[1].sampling.seed
    );
    let written = std::fs::read_to_string(&kept.path).unwrap();
    assert!(written.contains("Tea about"), "{written}");
    // Its provenance names the pick, so `sprout regen` makes the same candidate again.
    let prov: crate::content::Provenance =
        parse(&std::fs::read_to_string(sidecar_path(&kept.path)).unwrap()).unwrap();
    assert!(prov.parameters["job"].contains("pick: 2"), "{prov:?}");
}

/// When none of N first answers is valid, up to N more are drawn on fresh seeds (stopping at
/// the first valid one) before any repair.
#[test]
fn best_of_n_draws_again_when_no_candidate_is_valid() {
    let (_dir, project, mut set) = project();
    let templates = Templates::builtin();
    let options = Options {
        candidates: 2,
        ..Options::default()
    };
    let model = model();
    let generator = Generator {
        project: &project,
        templates: &templates,
        model: &model,
        options: &options,
    };
    let spec = daily(Some(Season::Summer));
    let say = topic_word(&generator, &set, &spec);
    let chat = format!("Let's chat about {say}.");
    let good = format!("Steam off the springs smells of {say} today.");
    let mut backend = Scripted::new([
        (tree([&chat, "Sit down, sit down.", "Mind the cup."]), None),
        (
            tree([&chat, "How can I assist you?", "Mind the cup."]),
            None,
        ),
        (
            tree([
                &good,
                "Sit where the sun comes in.",
                "Mind the cup, it's hot.",
            ]),
            None,
        ),
    ]);
    let outcome = generator
        .generate(&mut backend, &mut set, &spec, &mut |_| {})
        .unwrap();
    assert_eq!(outcome.status, Status::Made, "{:?}", outcome.status);
    assert_eq!(
        (
            outcome.attempts,
            outcome.picked.candidates,
            outcome.picked.kept
        ),
        (3, 3, 3),
        "two invalid, then the third (of at most four) is valid and drawing stops"
    );
    let seeds: std::collections::HashSet<u64> =
        backend.requests.iter().map(|r| r.sampling.seed).collect();
    assert_eq!(seeds.len(), 3);
    let written = std::fs::read_to_string(&outcome.path).unwrap();
    assert!(written.contains("Steam off the springs"), "{written}");
}

/// A model that follows the prompt may be left to open its topic line as it likes: the schema
/// then pins no line to the topic's name, and the checks still hold the tree to the topic.
#[test]
fn without_a_topic_lead_no_line_is_pinned_to_the_topics_name() {
    let (_dir, project, set) = project();
    let templates = Templates::builtin();
    let model = model();
    let spec = daily(Some(Season::Summer));
    let prepare = |options: &Options| {
        Generator {
            project: &project,
            templates: &templates,
            model: &model,
            options,
        }
        .prepare(&set, &spec)
        .unwrap()
    };
    let led = prepare(&Options::default());
    let free = prepare(&Options {
        topic_lead: false,
        ..Options::default()
    });
    let lead = led.topic.as_ref().unwrap().lead.clone();
    let count = |p: &super::Prepared| p.schema.to_string().matches(lead.as_str()).count();
    assert!(count(&led) > count(&free), "{lead}: {}", free.schema);
    assert_eq!(led.topic, free.topic, "the topic is still the job's");
    assert_ne!(led.key, free.key, "a different request");
}

#[test]
fn a_backend_that_ignores_the_schema_cannot_write_control_characters_or_odd_names() {
    let (_dir, project, mut set) = project();
    let templates = Templates::builtin();
    let options = Options {
        max_repairs: 1,
        ..Options::default()
    };
    let model = model();
    let generator = Generator {
        project: &project,
        templates: &templates,
        model: &model,
        options: &options,
    };
    let spec = JobSpec {
        job: Job::Npc {
            id: Id::new("wren").unwrap(),
            brief: "a young beekeeper who hums".into(),
        },
        seed: 3,
        pick: None,
    };
    let npc = |name: &str, note: &str| {
        format!(
            r#"{{"id": "wren", "name": "{name}", "role": "beekeeper", "personality": ["hums at work", "shy"], "speech_style": "Soft and quick, with bee facts.", "backstory": "Wren came to keep the village hives.", "birthday": {{"season": "Spring", "day": 3}}, "home": "hive_cottage", "likes": ["wildflower_honey"], "dislikes": ["frost_kale"], "relationships": [{{"with": "bettany", "kind": "Friend", "note": "{note}"}}], "schedule": [{{"slot": "Morning", "location": "hive_cottage", "seasons": []}}, {{"slot": "Evening", "location": "bell_green", "seasons": []}}], "portrait": "portraits/wren.png", "sprite": "sprites/npcs/wren.png"}}"#
        )
    };
    let mut backend = Scripted::new([
        (
            npc(
                "Betrashan Zamanamir izjm",
                "Walks to \u{001b}Bramblegate Farm\u{001d} with her.",
            )
            .replace('\u{1b}', "\\u001b")
            .replace('\u{1d}', "\\u001d"),
            None,
        ),
        (npc("Wren Alder", "Taught her the hives."), None),
    ]);
    let outcome = generator
        .generate(&mut backend, &mut set, &spec, &mut |_| {})
        .unwrap();
    assert_eq!(outcome.status, Status::Repaired(1), "{:?}", outcome.status);
    let repair = &backend.requests[1].messages.last().unwrap().content;
    assert!(
        repair.contains("[name_style]") && repair.contains("Betrashan"),
        "{repair}"
    );
    assert!(
        repair.contains("relationships[0].note: has a control character"),
        "{repair}"
    );
    let report = super::measure(&set, None, None);
    assert_eq!((report.names_valid, report.names), (1, 1));
    assert_eq!(report.control_character_files, 0);
}
