//! The camera follows the farmer, zoomed for pixel art.

use bevy::prelude::*;
use sprout_farm::player::Player;

/// World units per screen pixel (1/3: a 16-pixel tile is 48 pixels on screen).
const ZOOM: f32 = 1.0 / 3.0;

pub fn plugin(app: &mut App) {
    app.add_systems(Startup, spawn)
        .add_systems(PostUpdate, follow.before(TransformSystems::Propagate));
}

fn spawn(mut commands: Commands) {
    commands.spawn((
        Camera2d,
        // Pixel art wants hard edges, and 4× multisampling quadruples the fill work, which on a
        // software renderer is most of a frame.
        Msaa::Off,
        Projection::Orthographic(OrthographicProjection {
            scale: ZOOM,
            ..OrthographicProjection::default_2d()
        }),
    ));
}

fn follow(
    player: Query<&Transform, (With<Player>, Without<Camera2d>)>,
    mut camera: Query<&mut Transform, With<Camera2d>>,
) {
    let (Ok(p), Ok(mut c)) = (player.single(), camera.single_mut()) else {
        return;
    };
    c.translation.x = p.translation.x;
    c.translation.y = p.translation.y;
}
