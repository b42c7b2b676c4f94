//! Villagers: they walk their RON schedules, talk through the plugin's dialogue runtime, and take
//! gifts they like or dislike.

use bevy::prelude::*;
use bevy_sprout::prelude::*;
use sprout_core::content::{DialogueTree, Quest, Situation};

use crate::player::{Player, PlayerAction, Selected};
use crate::state::FarmState;
use crate::toast::Toast;
use crate::walk::Walker;
use crate::world::{LocationSpot, SHARPNESS, TILE, label};

/// A villager in the world.
#[derive(Component, Debug, Clone)]
pub struct Npc {
    /// Character id.
    pub id: Id,
}

/// How close the player must stand to talk, in world units.
pub const REACH: f32 = 1.6 * TILE;
/// How close the player must be to read a villager's name over their head, in world units
/// (further off, names would pile onto the places' own labels).
pub const NAME_RANGE: f32 = 4.0 * TILE;

/// A villager's name over their head.
#[derive(Component, Debug, Clone, Copy)]
pub struct NameTag;
/// NPC walking speed, world units per second.
pub const NPC_SPEED: f32 = 40.0;

/// Friendship for a liked, disliked or other gift.
pub const GIFT_LIKED: i32 = 80;
/// See [`GIFT_LIKED`].
pub const GIFT_DISLIKED: i32 = -40;
/// See [`GIFT_LIKED`].
pub const GIFT_NEUTRAL: i32 = 20;

pub(crate) fn plugin(app: &mut App) {
    app.add_systems(
        Update,
        (spawn_npcs, walk_schedules).in_set(crate::FarmSystems::World),
    )
    .add_systems(Update, show_names.in_set(crate::FarmSystems::Draw))
    .add_systems(Update, (talk, gift).in_set(crate::FarmSystems::Act));
}

/// Which conversation a villager starts now: a quest completion that is due, then a quest offer
/// whose prerequisites hold, then the first meeting, then the highest heart event reached, then
/// small talk (rotating by day). Every tree's `when` must hold.
pub fn pick_dialogue<'a>(
    npc: &Id,
    trees: &[&'a DialogueTree],
    state: &FarmState,
    quest: impl Fn(&str) -> Option<&'a Quest>,
) -> Option<&'a DialogueTree> {
    let mine: Vec<&DialogueTree> = trees
        .iter()
        .copied()
        .filter(|t| t.participants.contains(npc))
        .filter(|t| t.when.as_ref().is_none_or(|c| c.holds(state)))
        .collect();
    let find =
        |pred: &dyn Fn(&Situation) -> bool| mine.iter().copied().find(|t| pred(&t.situation));
    if let Some(t) =
        find(&|s| matches!(s, Situation::QuestComplete(q) if state.active_quests.contains(q)))
    {
        return Some(t);
    }
    let offer = |s: &Situation| match s {
        Situation::QuestOffer(q) => {
            !state.active_quests.contains(q)
                && !state.done_quests.contains(q)
                && quest(q.as_str())
                    .is_some_and(|quest| quest.prerequisites.iter().all(|c| c.holds(state)))
        }
        _ => false,
    };
    if let Some(t) = find(&offer) {
        return Some(t);
    }
    if !state.met.contains(npc)
        && let Some(t) = find(&|s| *s == Situation::FirstMeeting)
    {
        return Some(t);
    }
    let hearts = state.friendship.get(npc).copied().unwrap_or(0) / 100;
    let heart_event = mine
        .iter()
        .copied()
        .filter(|t| matches!(t.situation, Situation::Hearts(h) if h as i32 <= hearts))
        .max_by_key(|t| match t.situation {
            Situation::Hearts(h) => h,
            _ => 0,
        });
    if let Some(t) = heart_event {
        return Some(t);
    }
    let daily: Vec<&DialogueTree> = mine
        .iter()
        .copied()
        .filter(|t| t.situation == Situation::Daily)
        .collect();
    if daily.is_empty() {
        return None;
    }
    Some(daily[state.day as usize % daily.len()])
}

fn spawn_npcs(
    mut commands: Commands,
    library: Library,
    server: Res<AssetServer>,
    mut npcs: Query<(Entity, &Npc, &mut Walker)>,
) {
    let characters = library.characters();
    let mut present = Vec::new();
    for (e, npc, mut walker) in &mut npcs {
        match characters.iter().find(|c| c.id == npc.id) {
            Some(c) => {
                let handle: Handle<Image> = server.load(c.sprite.as_str().to_owned());
                if walker.base != handle {
                    walker.base = handle;
                }
                present.push(npc.id.clone());
            }
            None => commands.entity(e).despawn(),
        }
    }
    for (i, c) in characters.iter().enumerate() {
        if present.contains(&c.id) {
            continue;
        }
        commands
            .spawn((
                Npc { id: c.id.clone() },
                Name::new(c.name.clone()),
                Sprite::default(),
                Walker::new(server.load(c.sprite.as_str().to_owned())),
                Transform::from_xyz(20.0 * TILE + i as f32 * TILE, 4.0 * TILE, 1.0),
            ))
            .with_child((
                NameTag,
                Visibility::Hidden,
                label(&c.name, 6.0),
                Transform::from_xyz(0.0, 21.0, 1.0).with_scale(Vec3::splat(1.0 / SHARPNESS)),
            ));
    }
}

/// Villagers walk to where their schedule puts them at this hour and season.
fn walk_schedules(
    time: Res<Time>,
    state: Res<FarmState>,
    library: Library,
    spots: Query<&LocationSpot>,
    mut npcs: Query<(&Npc, &mut Transform)>,
    talking: Query<(), With<DialogueRunner>>,
) {
    if !talking.is_empty() {
        return;
    }
    let slot = TimeSlot::at_hour(state.hour());
    let ids: Vec<Id> = library.characters().iter().map(|c| c.id.clone()).collect();
    for (npc, mut transform) in &mut npcs {
        let Some(c) = library.character(npc.id.as_str()) else {
            continue;
        };
        let target_location = c.location_at(state.season, slot);
        let Some(spot) = spots.iter().find(|s| &s.id == target_location) else {
            continue;
        };
        // Spread villagers who share a place.
        let n = ids.iter().position(|i| i == &npc.id).unwrap_or(0) as f32;
        let target = spot.center
            + Vec2::new(
                (n % 3.0 - 1.0) * 1.2 * TILE,
                (n / 3.0).floor() * -1.2 * TILE,
            );
        let here = transform.translation.truncate();
        let step = NPC_SPEED * time.delta_secs();
        let to = target - here;
        let next = if to.length() <= step {
            target
        } else {
            here + to.normalize() * step
        };
        if next != here {
            // Facing and steps follow from the move (`walk`).
            transform.translation = next.extend(transform.translation.z);
        }
    }
}

fn nearest_npc<'a>(
    player: Vec2,
    npcs: impl Iterator<Item = (&'a Npc, &'a Transform)>,
) -> Option<&'a Npc> {
    npcs.map(|(n, t)| (n, t.translation.truncate().distance(player)))
        .filter(|(_, d)| *d <= REACH)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(n, _)| n)
}

fn talk(
    mut actions: MessageReader<PlayerAction>,
    player: Query<&Transform, With<Player>>,
    npcs: Query<(&Npc, &Transform)>,
    library: Library,
    mut state: ResMut<FarmState>,
    mut start: MessageWriter<StartDialogue>,
    mut toast: MessageWriter<Toast>,
) {
    let Ok(player) = player.single() else { return };
    for action in actions.read() {
        if *action != PlayerAction::Interact {
            continue;
        }
        let Some(npc) = nearest_npc(player.translation.truncate(), npcs.iter()) else {
            continue;
        };
        let trees = library.dialogues();
        match pick_dialogue(&npc.id, &trees, &state, |q| library.quest(q)) {
            Some(tree) => {
                start.write(StartDialogue {
                    tree: tree.id.clone(),
                });
                state.met.insert(npc.id.clone());
                state.talked_today.insert(npc.id.clone());
            }
            None => {
                let name = library
                    .character(npc.id.as_str())
                    .map_or(npc.id.as_str(), |c| &c.name);
                toast.write(Toast(format!("{name} nods at you.")));
            }
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "a gift touches the player, the villager, the state and the UI"
)]
fn gift(
    mut actions: MessageReader<PlayerAction>,
    player: Query<&Transform, With<Player>>,
    npcs: Query<(&Npc, &Transform)>,
    library: Library,
    selected: Res<Selected>,
    mut state: ResMut<FarmState>,
    mut start: MessageWriter<StartDialogue>,
    mut toast: MessageWriter<Toast>,
) {
    let Ok(player) = player.single() else { return };
    for action in actions.read() {
        if *action != PlayerAction::Gift {
            continue;
        }
        let Some(npc) = nearest_npc(player.translation.truncate(), npcs.iter()) else {
            continue;
        };
        let Some(character) = library.character(npc.id.as_str()) else {
            continue;
        };
        let Some(item) = selected.0.clone() else {
            toast.write(Toast("Select an item (Q) to give.".into()));
            continue;
        };
        if state.gifted_today.contains(&npc.id) {
            toast.write(Toast(format!(
                "You already gave {} a gift today.",
                character.name
            )));
            continue;
        }
        if state.take(&item, 1) == 0 {
            continue;
        }
        state.gifted_today.insert(npc.id.clone());
        let (points, situation) = if character.likes.contains(&item) {
            (GIFT_LIKED, Some(Situation::GiftLiked))
        } else if character.dislikes.contains(&item) {
            (GIFT_DISLIKED, Some(Situation::GiftDisliked))
        } else {
            (GIFT_NEUTRAL, None)
        };
        state.befriend(&npc.id, points);
        let reaction = situation.and_then(|s| {
            library.dialogues().into_iter().find(|t| {
                t.situation == s
                    && t.participants.contains(&npc.id)
                    && t.when.as_ref().is_none_or(|c| c.holds(&*state))
            })
        });
        match reaction {
            Some(tree) => {
                start.write(StartDialogue {
                    tree: tree.id.clone(),
                });
            }
            None => {
                let feeling = match points {
                    GIFT_LIKED => "loves it",
                    GIFT_DISLIKED => "frowns at it",
                    _ => "thanks you",
                };
                toast.write(Toast(format!("{} {feeling}.", character.name)));
            }
        }
    }
}

/// Shows the names of the villagers near the player.
fn show_names(
    player: Query<&GlobalTransform, With<Player>>,
    mut tags: Query<(&GlobalTransform, &mut Visibility), With<NameTag>>,
) {
    let Ok(player) = player.single() else {
        return;
    };
    let at = player.translation().truncate();
    for (tag, mut visibility) in &mut tags {
        let near = tag.translation().truncate().distance(at) <= NAME_RANGE;
        let want = if near {
            Visibility::Inherited
        } else {
            Visibility::Hidden
        };
        if *visibility != want {
            *visibility = want;
        }
    }
}
