//! Round trips: every content type written as RON and read back is the same value.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sprout_core::content::{
    Character, Choice, Condition, Crop, DialogueNode, DialogueTree, Effect, Id, Item, Next,
    Objective, Provenance, Quest, Season, Situation, Target, TimeSlot, World,
};
use sprout_core::format::{parse, to_ron};

use crate::support::{assets, files_ending, fixtures};

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let text = to_ron(value).unwrap();
    let back: T = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(&back, value, "changed after a round trip:\n{text}");
    // Writing is deterministic: the same value gives the same bytes.
    assert_eq!(to_ron(&back).unwrap(), text);
}

fn round_trip_files<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    suffix: &str,
) -> usize {
    let mut n = 0;
    for dir in [assets(), fixtures().join("base")] {
        for path in files_ending(&dir, suffix) {
            let value: T = parse(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}:{e}", path.display()));
            round_trip(&value);
            n += 1;
        }
    }
    n
}

#[test]
fn every_shipped_and_fixture_file_round_trips() {
    assert!(round_trip_files::<World>(".world.ron") >= 2);
    assert!(round_trip_files::<Character>(".npc.ron") >= 4);
    assert!(round_trip_files::<DialogueTree>(".dialogue.ron") >= 4);
    assert!(round_trip_files::<Quest>(".quest.ron") >= 2);
    assert!(round_trip_files::<Item>(".item.ron") >= 6);
    assert!(round_trip_files::<Crop>(".crop.ron") >= 2);
    assert!(round_trip_files::<Provenance>(".prov.ron") >= 1);
}

fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

/// A tree that uses every condition, effect, situation-bearing and exit variant.
#[test]
fn every_variant_round_trips() {
    let every_condition = Condition::All(vec![
        Condition::Flag(id("a")),
        Condition::NotFlag(id("b")),
        Condition::Friendship {
            npc: id("mira"),
            at_least: 250,
        },
        Condition::HasItem {
            item: id("egg"),
            count: 2,
        },
        Condition::Season(Season::Winter),
        Condition::TimeOfDay(TimeSlot::Evening),
        Condition::QuestActive(id("q")),
        Condition::Any(vec![
            Condition::QuestDone(id("q")),
            Condition::Not(Box::new(Condition::Flag(id("c")))),
        ]),
    ]);
    let every_effect = vec![
        Effect::GiveItem {
            item: id("egg"),
            count: 1,
        },
        Effect::TakeItem {
            item: id("egg"),
            count: 1,
        },
        Effect::GiveGold(10),
        Effect::Friendship {
            npc: id("mira"),
            points: -20,
        },
        Effect::SetFlag(id("a")),
        Effect::ClearFlag(id("a")),
        Effect::StartQuest(id("q")),
        Effect::CompleteQuest(id("q")),
    ];
    for situation in [
        Situation::FirstMeeting,
        Situation::Daily,
        Situation::GiftLiked,
        Situation::GiftDisliked,
        Situation::QuestOffer(id("q")),
        Situation::QuestComplete(id("q")),
        Situation::Hearts(4),
    ] {
        let tree = DialogueTree {
            id: id("t"),
            situation,
            when: Some(every_condition.clone()),
            participants: vec![id("mira")],
            entry: id("a"),
            nodes: vec![
                DialogueNode {
                    id: id("a"),
                    line: id("t_a"),
                    speaker: id("mira"),
                    text: "Text with \"quotes\", a comma, and ünïcödé.".into(),
                    tags: vec![id("happy"), id("whisper")],
                    effects: every_effect.clone(),
                    next: Next::Choices(vec![
                        Choice {
                            line: id("t_a_x"),
                            text: "x".into(),
                            tags: vec![id("happy")],
                            condition: Some(every_condition.clone()),
                            effects: every_effect.clone(),
                            next: Target::Goto(id("b")),
                        },
                        Choice {
                            line: id("t_a_y"),
                            text: "y".into(),
                            tags: vec![],
                            condition: None,
                            effects: vec![],
                            next: Target::End,
                        },
                    ]),
                },
                DialogueNode {
                    id: id("b"),
                    line: id("t_b"),
                    speaker: id("player"),
                    text: "b".into(),
                    tags: vec![],
                    effects: vec![],
                    next: Next::Goto(id("c")),
                },
                DialogueNode {
                    id: id("c"),
                    line: id("t_c"),
                    speaker: id("narrator"),
                    text: "c".into(),
                    tags: vec![],
                    effects: vec![],
                    next: Next::End,
                },
            ],
        };
        round_trip(&tree);
    }
    let quest = Quest {
        id: id("q"),
        title: "Q".into(),
        description: "D".into(),
        giver: id("mira"),
        prerequisites: vec![every_condition],
        objectives: vec![
            Objective::Deliver {
                item: id("egg"),
                count: 3,
                to: id("mira"),
            },
            Objective::TalkTo { npc: id("mira") },
            Objective::Harvest {
                crop: id("beet"),
                count: 5,
            },
        ],
        rewards: every_effect,
    };
    round_trip(&quest);
}

#[test]
fn option_fields_may_omit_some() {
    let explicit = "Choice(line: \"l\", text: \"x\", condition: Some(Flag(\"a\")), next: End)";
    let implicit = "Choice(line: \"l\", text: \"x\", condition: Flag(\"a\"), next: End)";
    assert_eq!(
        parse::<Choice>(explicit).unwrap(),
        parse::<Choice>(implicit).unwrap()
    );
    assert!(Path::new(&assets()).is_dir());
}
