//! The HUD: date, clock, gold, the selected item, the inventory, quests, the latest notice and
//! the controls.

use bevy::prelude::*;
use bevy_sprout::prelude::*;
use sprout_core::content::Objective;

use crate::economy::{LANDMARK_REACH, shop_stock};
use crate::player::{Player, Selected};
use crate::state::FarmState;
use crate::toast::Toast;
use crate::world::Landmark;

/// Seconds a toast stays up.
const TOAST_SECS: f32 = 4.0;

#[derive(Component)]
enum HudText {
    Status,
    Side,
    Toast,
    Help,
}

#[derive(Resource, Default)]
struct LastToast(Option<(String, f32)>);

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<LastToast>()
        .add_systems(Startup, spawn)
        .add_systems(
            Update,
            (update, inventory_icons).in_set(crate::FarmSystems::Draw),
        );
}

/// The row of item icons (with counts) along the bottom of the screen: what the player carries,
/// the selected item framed.
#[derive(Component)]
struct IconRow;

/// Icons are drawn this many screen pixels wide (their art is 16 px: 3x, nearest-neighbour).
const ICON_PX: f32 = 48.0;

/// Rebuilds the icon row when the inventory, the selection or an icon path changes.
/// What the icon row shows: each held item (id, count, icon path) and the selected one.
type Shown = (Vec<(String, u32, Option<String>)>, Option<Id>);

fn inventory_icons(
    mut commands: Commands,
    state: Res<FarmState>,
    selected: Res<Selected>,
    library: Library,
    server: Res<AssetServer>,
    row: Query<Entity, With<IconRow>>,
    mut shown: Local<Option<Shown>>,
) {
    let items: Vec<(String, u32, Option<String>)> = state
        .inventory
        .iter()
        .map(|(id, n)| {
            let icon = library
                .item(id.as_str())
                .map(|i| i.icon.as_str().to_owned());
            (id.to_string(), *n, icon)
        })
        .collect();
    let now = (items, selected.0.clone());
    if shown.as_ref() == Some(&now) {
        return;
    }
    let (items, _) = shown.insert(now).clone();
    for e in &row {
        commands.entity(e).despawn();
    }
    let font = TextFont {
        font_size: FontSize::Px(13.0),
        ..default()
    };
    commands
        .spawn((
            IconRow,
            Node {
                position_type: PositionType::Absolute,
                bottom: px(28),
                left: px(10),
                column_gap: px(4),
                ..default()
            },
        ))
        .with_children(|row| {
            for (id, n, icon) in items {
                let chosen = selected.0.as_ref().is_some_and(|s| s.as_str() == id);
                row.spawn((
                    Node {
                        width: px(ICON_PX + 8.0),
                        height: px(ICON_PX + 8.0),
                        padding: UiRect::all(px(4)),
                        border: UiRect::all(px(2)),
                        ..default()
                    },
                    BackgroundColor(Color::srgba(0.1, 0.08, 0.06, 0.78)),
                    BorderColor::all(if chosen {
                        Color::srgb(1.0, 0.9, 0.55)
                    } else {
                        Color::NONE
                    }),
                ))
                .with_children(|cell| {
                    if let Some(icon) = icon {
                        cell.spawn((
                            ImageNode::new(server.load(icon)),
                            Node {
                                width: px(ICON_PX - 4.0),
                                height: px(ICON_PX - 4.0),
                                ..default()
                            },
                        ));
                    }
                    cell.spawn((
                        Text::new(n.to_string()),
                        font.clone(),
                        TextColor(Color::srgb(0.98, 0.94, 0.84)),
                        Node {
                            position_type: PositionType::Absolute,
                            right: px(2),
                            bottom: px(0),
                            ..default()
                        },
                    ));
                });
            }
        });
}

fn panel(
    top: Option<Val>,
    bottom: Option<Val>,
    left: Option<Val>,
    right: Option<Val>,
) -> (Node, BackgroundColor) {
    (
        Node {
            position_type: PositionType::Absolute,
            top: top.unwrap_or(Val::Auto),
            bottom: bottom.unwrap_or(Val::Auto),
            left: left.unwrap_or(Val::Auto),
            right: right.unwrap_or(Val::Auto),
            padding: UiRect::all(px(8)),
            ..default()
        },
        BackgroundColor(Color::srgba(0.1, 0.08, 0.06, 0.78)),
    )
}

fn spawn(mut commands: Commands) {
    let font = |size: f32| TextFont {
        font_size: FontSize::Px(size),
        ..default()
    };
    let ink = TextColor(Color::srgb(0.98, 0.94, 0.84));
    commands.spawn((
        HudText::Status,
        Text::new(""),
        font(18.0),
        ink,
        panel(Some(px(10)), None, Some(px(10)), None),
    ));
    commands.spawn((
        HudText::Side,
        Text::new(""),
        font(14.0),
        ink,
        panel(Some(px(10)), None, None, Some(px(10))),
    ));
    commands.spawn((
        HudText::Toast,
        Text::new(""),
        font(16.0),
        TextColor(Color::srgb(1.0, 0.9, 0.55)),
        panel(None, Some(px(190)), Some(px(10)), None),
    ));
    commands.spawn((
        HudText::Help,
        Text::new("WASD move | Space tool | E talk/sell | G gift | Q select | Z sleep | F5 save | F9 load"),
        font(12.0),
        ink,
        panel(None, Some(px(4)), Some(px(10)), None),
    ));
}

#[expect(
    clippy::too_many_arguments,
    reason = "the HUD shows a little of everything"
)]
fn update(
    time: Res<Time>,
    state: Res<FarmState>,
    selected: Res<Selected>,
    library: Library,
    mut toasts: MessageReader<Toast>,
    mut last: ResMut<LastToast>,
    player: Query<&Transform, With<Player>>,
    landmarks: Query<(&Landmark, &Transform)>,
    mut texts: Query<(&HudText, &mut Text, &mut Visibility)>,
    talking: Query<(), With<DialogueRunner>>,
) {
    if let Some(t) = toasts.read().last() {
        last.0 = Some((t.0.clone(), TOAST_SECS));
    }
    if let Some((_, left)) = &mut last.0 {
        *left -= time.delta_secs();
        if *left <= 0.0 {
            last.0 = None;
        }
    }
    let name_of = |id: &str| {
        library
            .item(id)
            .map_or_else(|| id.to_owned(), |i| i.name.clone())
    };
    let near_shop = player.single().is_ok_and(|p| {
        landmarks.iter().any(|(l, t)| {
            *l == Landmark::Shop
                && t.translation.truncate().distance(p.translation.truncate()) <= LANDMARK_REACH
        })
    });
    for (kind, mut text, mut vis) in &mut texts {
        match kind {
            HudText::Status => {
                let title = library.world().map_or("Sprout Farm", |w| w.title.as_str());
                let selected = selected.0.as_ref().map_or("nothing".to_owned(), |s| {
                    format!("{} x{}", name_of(s.as_str()), state.count(s.as_str()))
                });
                let status = format!(
                    "{title}\n{:?} {}, year {} | {}\n{} g | holding: {selected}",
                    state.season,
                    state.day,
                    state.year,
                    state.clock(),
                    state.gold
                );
                text.set_if_neq(Text(status));
            }
            HudText::Side => {
                let mut s = String::from("Inventory\n");
                if state.inventory.is_empty() {
                    s.push_str("  (empty)\n");
                }
                for (id, n) in &state.inventory {
                    s.push_str(&format!("  {} x{n}\n", name_of(id.as_str())));
                }
                if !state.active_quests.is_empty() {
                    s.push_str("\nQuests\n");
                }
                for q in &state.active_quests {
                    let Some(quest) = library.quest(q.as_str()) else {
                        continue;
                    };
                    s.push_str(&format!("  {}\n", quest.title));
                    for o in &quest.objectives {
                        let line = match o {
                            Objective::Deliver { item, count, to } => format!(
                                "bring {count} {} to {} ({}/{count})",
                                name_of(item.as_str()),
                                library
                                    .character(to.as_str())
                                    .map_or(to.as_str(), |c| &c.name),
                                state.count(item.as_str()).min(*count)
                            ),
                            Objective::TalkTo { npc } => format!(
                                "talk to {}",
                                library
                                    .character(npc.as_str())
                                    .map_or(npc.as_str(), |c| &c.name)
                            ),
                            Objective::Harvest { crop, count } => format!(
                                "harvest {} x{count} ({}/{count})",
                                library
                                    .crop(crop.as_str())
                                    .map_or(crop.as_str(), |c| &c.name),
                                state.harvested.get(crop).copied().unwrap_or(0).min(*count)
                            ),
                        };
                        s.push_str(&format!("    | {line}\n"));
                    }
                }
                if near_shop {
                    s.push_str("\nShop (press a number)\n");
                    for (n, item) in shop_stock(&library, &state).iter().enumerate().take(9) {
                        s.push_str(&format!("  {}. {} - {} g\n", n + 1, item.name, item.price));
                    }
                }
                text.set_if_neq(Text(s));
            }
            HudText::Toast => match &last.0 {
                Some((msg, _)) => {
                    if text.0 != *msg {
                        msg.clone_into(&mut text.0); // no new String a frame while a toast shows
                    }
                    vis.set_if_neq(Visibility::Inherited);
                }
                None => {
                    vis.set_if_neq(Visibility::Hidden);
                }
            },
            // The dialogue box sits where the key hints do, and its own keys are on it.
            HudText::Help => {
                vis.set_if_neq(if talking.is_empty() {
                    Visibility::Inherited
                } else {
                    Visibility::Hidden
                });
            }
        }
    }
}
