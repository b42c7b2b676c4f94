//! The starter content shipped in `assets/` is complete and validates without a single problem.

use sprout_core::content::{ContentSet, Situation};
use sprout_core::validate::validate_dir;

use crate::support::assets;

#[test]
fn starter_assets_validate_cleanly() {
    let report = validate_dir(&assets());
    let all: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert!(all.is_empty(), "{}", all.join("\n"));
}

#[test]
fn starter_assets_have_the_promised_scope() {
    let (set, _) = ContentSet::load_dir(&assets());
    assert_eq!(set.worlds.len(), 1);
    assert!(set.characters.len() >= 4, "{} NPCs", set.characters.len());
    assert!(set.quests.len() >= 2);
    assert!(set.crops.len() >= 6);
    assert!(set.items.len() >= 6);
    for c in &set.characters {
        let id = &c.value.id;
        assert!(
            set.dialogues
                .iter()
                .any(|d| d.value.participants.contains(id)),
            "no dialogue for {id}"
        );
    }
    for q in &set.quests {
        let id = &q.value.id;
        assert!(
            set.dialogues
                .iter()
                .any(|d| d.value.situation == Situation::QuestOffer(id.clone()))
        );
        assert!(
            set.dialogues
                .iter()
                .any(|d| d.value.situation == Situation::QuestComplete(id.clone()))
        );
    }
}
