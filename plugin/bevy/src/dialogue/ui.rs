//! The default dialogue box: portrait, speaker name, typewriter text and numbered choices.
//! Keys: Space / Enter / E continue, 1–9 pick a choice; choices can also be clicked.
//!
//! The portrait follows the line's tags: a line tagged `happy` shows `portraits/sefa.happy.png`
//! where that file exists beside `portraits/sefa.png` (the first tag that has one wins), else
//! the plain portrait.

use std::path::Path;

use bevy::prelude::*;
use sprout_core::content::dialogue::{NARRATOR, PLAYER};
use sprout_core::content::{AssetPath, Character, Id};

use super::{ChooseLine, DialogueRunner};
use crate::library::Library;
use crate::{SproutSettings, SproutSystems};

/// Marks the parts of the dialogue box.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogueUi {
    /// The speaker's portrait.
    Portrait,
    /// The speaker's name.
    Speaker,
    /// The line, revealed by the typewriter.
    Text,
    /// The list of choices.
    Choices,
    /// The "continue" hint.
    Hint,
}

/// A clickable choice; the number is its position among the choices on offer.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialogueChoiceButton(pub usize);

pub(super) fn plugin(app: &mut App) {
    app.add_systems(
        Update,
        (keyboard, gamepad, mouse).before(SproutSystems::Dialogue),
    )
    .add_systems(
        Update,
        (build_box, update_box).chain().in_set(SproutSystems::Ui),
    );
}

fn keyboard(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    mut out: MessageWriter<ChooseLine>,
    running: Query<(), With<DialogueRunner>>,
) {
    let Some(keys) = keys else { return };
    if running.is_empty() {
        return;
    }
    if keys.any_just_pressed([KeyCode::Space, KeyCode::Enter, KeyCode::KeyE]) {
        out.write(ChooseLine::Continue);
    }
    const DIGITS: [KeyCode; 9] = [
        KeyCode::Digit1,
        KeyCode::Digit2,
        KeyCode::Digit3,
        KeyCode::Digit4,
        KeyCode::Digit5,
        KeyCode::Digit6,
        KeyCode::Digit7,
        KeyCode::Digit8,
        KeyCode::Digit9,
    ];
    for (n, key) in DIGITS.iter().enumerate() {
        if keys.just_pressed(*key) {
            out.write(ChooseLine::Pick(n));
        }
    }
}

/// Gamepads: A (south) continues; with choices on offer, A, B, X, Y (south, east, west, north)
/// pick the first four, once the line is fully shown.
fn gamepad(
    pads: Query<&Gamepad>,
    mut out: MessageWriter<ChooseLine>,
    running: Query<&DialogueRunner>,
) {
    let Ok(runner) = running.single() else {
        return;
    };
    const FACES: [GamepadButton; 4] = [
        GamepadButton::South,
        GamepadButton::East,
        GamepadButton::West,
        GamepadButton::North,
    ];
    for pad in &pads {
        if runner.offered.is_empty() || !runner.fully_revealed() {
            if pad.just_pressed(GamepadButton::South) {
                out.write(ChooseLine::Continue);
            }
            continue;
        }
        for (n, button) in FACES.into_iter().enumerate() {
            if n < runner.offered.len() && pad.just_pressed(button) {
                out.write(ChooseLine::Pick(n));
            }
        }
    }
}

fn mouse(
    buttons: Query<(&Interaction, &DialogueChoiceButton), Changed<Interaction>>,
    mut out: MessageWriter<ChooseLine>,
) {
    for (interaction, button) in &buttons {
        if *interaction == Interaction::Pressed {
            out.write(ChooseLine::Pick(button.0));
        }
    }
}

const BOX_BG: Color = Color::srgba(0.12, 0.09, 0.07, 0.94);
const BORDER: Color = Color::srgb(0.78, 0.62, 0.38);
const INK: Color = Color::srgb(0.97, 0.93, 0.85);
const NAME: Color = Color::srgb(1.0, 0.82, 0.45);

fn build_box(mut commands: Commands, added: Query<Entity, Added<DialogueRunner>>) {
    for entity in &added {
        commands
            .entity(entity)
            .insert((
                Node {
                    position_type: PositionType::Absolute,
                    bottom: px(16),
                    left: percent(8),
                    right: percent(8),
                    min_height: px(150),
                    padding: UiRect::all(px(12)),
                    column_gap: px(14),
                    border: UiRect::all(px(3)),
                    ..default()
                },
                BackgroundColor(BOX_BG),
                BorderColor::all(BORDER),
                GlobalZIndex(50),
            ))
            .with_children(|b| {
                b.spawn((
                    DialogueUi::Portrait,
                    ImageNode::default(),
                    Node {
                        width: px(112),
                        height: px(112),
                        flex_shrink: 0.0,
                        ..default()
                    },
                ));
                b.spawn(Node {
                    flex_direction: FlexDirection::Column,
                    row_gap: px(6),
                    flex_grow: 1.0,
                    ..default()
                })
                .with_children(|col| {
                    col.spawn((
                        DialogueUi::Speaker,
                        Text::new(""),
                        TextFont {
                            font_size: FontSize::Px(20.0),
                            ..default()
                        },
                        TextColor(NAME),
                    ));
                    col.spawn((
                        DialogueUi::Text,
                        Text::new(""),
                        TextFont {
                            font_size: FontSize::Px(18.0),
                            ..default()
                        },
                        TextColor(INK),
                    ));
                    col.spawn((
                        DialogueUi::Choices,
                        Node {
                            flex_direction: FlexDirection::Column,
                            row_gap: px(2),
                            ..default()
                        },
                    ));
                    col.spawn((
                        DialogueUi::Hint,
                        Text::new(""),
                        TextFont {
                            font_size: FontSize::Px(13.0),
                            ..default()
                        },
                        TextColor(BORDER),
                    ));
                });
            });
    }
}

#[expect(
    clippy::type_complexity,
    clippy::too_many_arguments,
    reason = "disjoint queries over the box's parts, and what fills them"
)]
fn update_box(
    mut commands: Commands,
    runners: Query<&DialogueRunner, Changed<DialogueRunner>>,
    mut texts: Query<(&DialogueUi, &mut Text)>,
    mut portraits: Query<(&DialogueUi, &mut ImageNode, &mut Node), Without<Text>>,
    lists: Query<(Entity, &DialogueUi, Option<&Children>), (Without<Text>, Without<ImageNode>)>,
    library: Library,
    server: Res<AssetServer>,
    settings: Res<SproutSettings>,
    mut shown_choices: Local<Vec<(usize, String)>>,
) {
    let Ok(runner) = runners.single() else {
        return;
    };
    let character = library.character(runner.speaker.as_str());
    let speaker = match runner.speaker.as_str() {
        PLAYER => "You".to_owned(),
        NARRATOR => String::new(),
        id => character.map_or_else(|| id.to_owned(), |c| c.name.clone()),
    };
    let shown: String = runner.text.chars().take(runner.revealed as usize).collect();
    let done = runner.fully_revealed();
    for (part, mut text) in &mut texts {
        match part {
            DialogueUi::Speaker => speaker.clone_into(&mut text.0),
            DialogueUi::Text => shown.clone_into(&mut text.0),
            DialogueUi::Hint => {
                text.0 = match (done, runner.offered.is_empty()) {
                    (false, _) => String::new(),
                    (true, true) => "Space / Enter to continue".into(),
                    (true, false) => "Press a number or click a choice".into(),
                };
            }
            _ => {}
        }
    }
    for (part, mut image, mut node) in &mut portraits {
        if *part != DialogueUi::Portrait {
            continue;
        }
        match character {
            Some(c) => {
                let portrait = portrait_for(c, &runner.tags, &settings.asset_dir);
                image.image = server.load(portrait.as_str().to_owned());
                node.display = Display::Flex;
            }
            None => node.display = Display::None,
        }
    }
    let want: Vec<(usize, String)> = if done {
        runner.offered.clone()
    } else {
        Vec::new()
    };
    if *shown_choices == want {
        return;
    }
    for (entity, part, children) in &lists {
        if *part != DialogueUi::Choices {
            continue;
        }
        if let Some(children) = children {
            for child in children.iter() {
                commands.entity(child).despawn();
            }
        }
        commands.entity(entity).with_children(|list| {
            for (n, (_, text)) in want.iter().enumerate() {
                list.spawn((
                    Button,
                    DialogueChoiceButton(n),
                    Node {
                        padding: UiRect::axes(px(6), px(2)),
                        ..default()
                    },
                    BackgroundColor(Color::srgba(1.0, 1.0, 1.0, 0.06)),
                ))
                .with_child((
                    Text::new(format!("{}. {text}", n + 1)),
                    TextFont {
                        font_size: FontSize::Px(17.0),
                        ..default()
                    },
                    TextColor(INK),
                ));
            }
        });
    }
    *shown_choices = want;
}

/// The portrait to show for a line with `tags`: the variant of the first tag that has one
/// below `root` (`portraits/sefa.happy.png`), else the character's portrait.
pub fn portrait_for(character: &Character, tags: &[Id], root: &Path) -> AssetPath {
    tags.iter()
        .map(|tag| character.portrait.variant(tag))
        .find(|variant| variant.under(root).is_file())
        .unwrap_or_else(|| character.portrait.clone())
}
