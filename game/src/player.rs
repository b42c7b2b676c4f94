//! The farmer: walks with WASD / arrow keys, and acts on the tile or person in front.
//!
//! Keys: Space use tool (till, plant the selected seed, water, harvest) · E talk / sell at the bin
//! / shop · G give the selected item · Q / Tab select the next item · 1–9 buy at the shop ·
//! Z sleep at the farmhouse · F5 save · F9 load.

use bevy::prelude::*;
use bevy_sprout::prelude::*;

use crate::world::{TILE, tile_center, tile_of};

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
        .add_systems(Startup, spawn)
        .add_systems(Update, (walk, keys).in_set(crate::FarmSystems::Input));
}

fn spawn(mut commands: Commands) {
    commands.spawn((
        Name::new("Player"),
        Player {
            facing: IVec2::NEG_Y,
        },
        Sprite::from_color(Color::srgb(0.95, 0.80, 0.35), Vec2::new(10.0, 14.0)),
        Transform::from_translation(tile_center(IVec2::new(5, 9)).extend(2.0)),
    ));
}

fn walk(
    time: Res<Time>,
    keys: Option<Res<ButtonInput<KeyCode>>>,
    talking: Query<(), With<DialogueRunner>>,
    mut player: Query<(&mut Player, &mut Transform)>,
) {
    let Some(keys) = keys else { return };
    if !talking.is_empty() {
        return;
    }
    let Ok((mut player, mut transform)) = player.single_mut() else {
        return;
    };
    let mut dir = IVec2::ZERO;
    if keys.any_pressed([KeyCode::KeyW, KeyCode::ArrowUp]) {
        dir.y += 1;
    }
    if keys.any_pressed([KeyCode::KeyS, KeyCode::ArrowDown]) {
        dir.y -= 1;
    }
    if keys.any_pressed([KeyCode::KeyA, KeyCode::ArrowLeft]) {
        dir.x -= 1;
    }
    if keys.any_pressed([KeyCode::KeyD, KeyCode::ArrowRight]) {
        dir.x += 1;
    }
    if dir == IVec2::ZERO {
        return;
    }
    player.facing = if dir.x != 0 {
        IVec2::new(dir.x, 0)
    } else {
        IVec2::new(0, dir.y)
    };
    let step = dir.as_vec2().normalize() * SPEED * time.delta_secs();
    let next = (transform.translation.truncate() + step)
        .clamp(Vec2::new(-4.0, -6.0) * TILE, Vec2::new(80.0, 14.0) * TILE);
    transform.translation = next.extend(transform.translation.z);
}

fn keys(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    talking: Query<(), With<DialogueRunner>>,
    mut out: MessageWriter<PlayerAction>,
) {
    let Some(keys) = keys else { return };
    if !talking.is_empty() {
        return;
    }
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
