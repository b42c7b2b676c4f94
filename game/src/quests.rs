//! Applying what dialogue does: every [`DialogueEffect`] changes the farm state; completing a
//! quest takes the delivered items and pays its rewards.

use bevy::prelude::*;
use bevy_sprout::prelude::*;
use sprout_core::content::{Objective, Quest};

use crate::state::FarmState;
use crate::toast::Toast;

pub(crate) fn plugin(app: &mut App) {
    app.add_systems(Update, apply_effects.in_set(crate::FarmSystems::Act));
}

/// Completes `quest`: takes the items its `Deliver` objectives ask for and applies its rewards.
pub fn complete(state: &mut FarmState, quest: &Quest) {
    for objective in &quest.objectives {
        if let Objective::Deliver { item, count, .. } = objective {
            state.take(item, *count);
        }
    }
    state.apply(&Effect::CompleteQuest(quest.id.clone()));
    for reward in &quest.rewards {
        state.apply(reward);
    }
}

fn apply_effects(
    mut effects: MessageReader<DialogueEffect>,
    mut state: ResMut<FarmState>,
    library: Library,
    mut toast: MessageWriter<Toast>,
) {
    for DialogueEffect { effect, .. } in effects.read() {
        match effect {
            Effect::CompleteQuest(q) => {
                if state.done_quests.contains(q) {
                    continue;
                }
                match library.quest(q.as_str()) {
                    Some(quest) => {
                        complete(&mut state, quest);
                        toast.write(Toast(format!("Quest complete: {}", quest.title)));
                    }
                    None => state.apply(effect),
                }
            }
            Effect::StartQuest(q) => {
                if !state.active_quests.contains(q) && !state.done_quests.contains(q) {
                    state.apply(effect);
                    let title = library.quest(q.as_str()).map_or(q.as_str(), |q| &q.title);
                    toast.write(Toast(format!("New quest: {title}")));
                }
            }
            Effect::GiveItem { item, count } => {
                state.apply(effect);
                let name = library
                    .item(item.as_str())
                    .map_or(item.as_str(), |i| &i.name);
                toast.write(Toast(format!("Received {count} {name}.")));
            }
            other => state.apply(other),
        }
    }
}
