//! The farmer: walks with WASD / arrow keys or a gamepad's left stick / d-pad, and acts on the
//! tile or person in front.
//!
//! Keys: Space use tool (till, plant the selected seed, water, harvest) · E talk / sell at the bin
//! / shop · G give the selected item · Q / Tab select the next item · 1–9 buy at the shop ·
//! Z sleep at the farmhouse · F5 save · F9 load.
//!
//! Gamepad: A use tool · B talk / sell · X give · Y next item · right / left bumper buy the first /
//! second seed at the shop · Select sleep. In conversations A continues and A, B, X, Y pick the
//! first four choices.

use bevy::prelude::*;
use bevy_sprout::prelude::*;

use crate::walk::Walker;
use crate::world::{TILE, tile_center, tile_of};

/// The item the player will plant or give.
#[derive(Resource, Debug, Clone, Default, PartialEq, Eq)]
pub struct Selected(pub Option<Id>);

/// Walking speed, world units per second.
pub const SPEED: f32 = 72.0;

/// The player character.
#[derive(Component, Debug, Clone, Copy)]
pub struct Player {
    /// The direction last walked, one of the four unit vectors.
    pub facing: IVec2,
}

/// What the player asks for; keyboard input and tests both write these.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerAction {
    /// Use the right tool on the tile in front.
    UseTool,
    /// Talk to the person in front, or use the landmark next to the player.
    Interact,
    /// Give the selected item to the person in front.
    Gift,
    /// Select the next item in the inventory.
    NextItem,
    /// Buy the n-th seed the shop sells this season (0-based).
    Buy(usize),
    /// Go to bed (at the farmhouse).
    Sleep,
}

impl Player {
    /// The tile in front of a player standing at `at`.
    pub fn target(&self, at: Vec2) -> IVec2 {
        tile_of(at) + self.facing
    }
}

pub(crate) fn plugin(app: &mut App) {
    app.add_message::<PlayerAction>()
        .init_resource::<Selected>()
        .add_systems(Startup, spawn)
        .add_systems(Update, (walk, keys).in_set(crate::FarmSystems::Input))
        .add_systems(Update, dress.in_set(crate::FarmSystems::Draw));
}

/// The plain figure drawn when the world names no player sprite.
fn plain() -> Sprite {
    Sprite::from_color(Color::srgb(0.95, 0.80, 0.35), Vec2::new(10.0, 14.0))
}

/// Dresses the farmer in the world's `player_sprite`, walking (hot reload swaps it live), or
/// the plain figure without one.
fn dress(
    mut commands: Commands,
    library: Library,
    server: Res<AssetServer>,
    mut player: Query<(Entity, &mut Sprite, Option<&mut Walker>), With<Player>>,
) {
    let Ok((entity, mut sprite, walker)) = player.single_mut() else {
        return;
    };
    match (
        library.world().and_then(|w| w.player_sprite.as_ref()),
        walker,
    ) {
        (Some(path), walker) => {
            let handle: Handle<Image> = server.load(path.as_str().to_owned());
            match walker {
                Some(mut w) if w.base != handle => w.base = handle,
                Some(_) => {}
                None => {
                    *sprite = Sprite::from_image(handle.clone());
                    commands.entity(entity).insert(Walker::new(handle));
                }
            }
        }
        (None, Some(_)) => {
            *sprite = plain();
            commands.entity(entity).remove::<Walker>();
        }
        (None, None) => {}
    }
}

fn spawn(mut commands: Commands) {
    commands.spawn((
        Name::new("Player"),
        Player {
            facing: IVec2::NEG_Y,
        },
        plain(),
        Transform::from_translation(tile_center(IVec2::new(5, 9)).extend(2.0)),
    ));
}

/// Stick deflection below this is noise.
const STICK_DEAD_ZONE: f32 = 0.25;

/// Where the keyboard or a gamepad points, at most unit length (a half-tilted stick walks at half
/// speed).
fn heading(keys: Option<&ButtonInput<KeyCode>>, pads: &Query<&Gamepad>) -> Vec2 {
    let mut dir = Vec2::ZERO;
    if let Some(keys) = keys {
        for (codes, d) in [
            ([KeyCode::KeyW, KeyCode::ArrowUp], Vec2::Y),
            ([KeyCode::KeyS, KeyCode::ArrowDown], Vec2::NEG_Y),
            ([KeyCode::KeyA, KeyCode::ArrowLeft], Vec2::NEG_X),
            ([KeyCode::KeyD, KeyCode::ArrowRight], Vec2::X),
        ] {
            if keys.any_pressed(codes) {
                dir += d;
            }
        }
    }
    if dir != Vec2::ZERO {
        return dir.normalize();
    }
    for pad in pads {
        for v in [pad.left_stick(), pad.dpad()] {
            if v.length() > STICK_DEAD_ZONE {
                return v.clamp_length_max(1.0);
            }
        }
    }
    Vec2::ZERO
}

fn walk(
    time: Res<Time>,
    keys: Option<Res<ButtonInput<KeyCode>>>,
    pads: Query<&Gamepad>,
    talking: Query<(), With<DialogueRunner>>,
    mut player: Query<(&mut Player, &mut Transform)>,
) {
    if !talking.is_empty() {
        return;
    }
    let Ok((mut player, mut transform)) = player.single_mut() else {
        return;
    };
    let dir = heading(keys.as_deref(), &pads);
    if dir == Vec2::ZERO {
        return;
    }
    player.facing = if dir.x.abs() >= dir.y.abs() {
        IVec2::new(dir.x.signum() as i32, 0)
    } else {
        IVec2::new(0, dir.y.signum() as i32)
    };
    let step = dir * SPEED * time.delta_secs();
    let next = (transform.translation.truncate() + step)
        .clamp(Vec2::new(-4.0, -6.0) * TILE, Vec2::new(80.0, 14.0) * TILE);
    transform.translation = next.extend(transform.translation.z);
}

fn keys(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    pads: Query<&Gamepad>,
    talking: Query<(), With<DialogueRunner>>,
    mut out: MessageWriter<PlayerAction>,
) {
    if !talking.is_empty() {
        return;
    }
    let buttons = [
        (GamepadButton::South, PlayerAction::UseTool),
        (GamepadButton::East, PlayerAction::Interact),
        (GamepadButton::West, PlayerAction::Gift),
        (GamepadButton::North, PlayerAction::NextItem),
        (GamepadButton::RightTrigger, PlayerAction::Buy(0)),
        (GamepadButton::LeftTrigger, PlayerAction::Buy(1)),
        (GamepadButton::Select, PlayerAction::Sleep),
    ];
    for pad in &pads {
        for (button, action) in buttons {
            if pad.just_pressed(button) {
                out.write(action);
            }
        }
    }
    let Some(keys) = keys else { return };
    let map = [
        (KeyCode::Space, PlayerAction::UseTool),
        (KeyCode::KeyE, PlayerAction::Interact),
        (KeyCode::KeyG, PlayerAction::Gift),
        (KeyCode::KeyQ, PlayerAction::NextItem),
        (KeyCode::Tab, PlayerAction::NextItem),
        (KeyCode::KeyZ, PlayerAction::Sleep),
    ];
    for (key, action) in map {
        if keys.just_pressed(key) {
            out.write(action);
        }
    }
    let digits = [
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
    for (n, key) in digits.into_iter().enumerate() {
        if keys.just_pressed(key) {
            out.write(PlayerAction::Buy(n));
        }
    }
}
