//! The camera follows the farmer and draws the world at its art resolution.
//!
//! The world (ground, buildings, crops, villagers) is drawn by the world camera into a canvas of
//! one texel per art pixel (a 16-pixel tile is 16 texels: 428×240 for a 1280×720 window), and the
//! screen camera draws that canvas three times larger, nearest-neighbour. On a software renderer
//! fill is most of a frame, and the canvas has a ninth of the window's pixels. Text in the world
//! (names over villagers and places) is on the screen camera's layer, [`SCREEN_LAYER`],
//! so it stays sharp; so are the HUD and the dialogue box (the default UI camera).
//!
//! Both cameras blend in linear light ([`compositing`]), which spares the software renderer an
//! sRGB encode and decode per pixel. `--full-res` draws the world straight to the window instead,
//! compositing in sRGB space (how the game drew before the canvas; the frame bench measures both
//! in one run).

use bevy::camera::visibility::RenderLayers;
use bevy::camera::{CompositingSpace, RenderTarget};
use bevy::prelude::*;
use bevy::render::render_resource::TextureFormat;
use bevy::window::{PrimaryWindow, WindowResized};
use sprout_farm::player::Player;
use sprout_farm::state::FarmState;
use sprout_farm::ui::{NightOn, night_colour};
use sprout_farm::world::SCREEN_LAYER;

/// Screen pixels per art pixel: a 16-pixel tile is 48 pixels on screen.
const ZOOM: u32 = 3;

/// The world camera: draws layer 0 into the canvas.
#[derive(Component)]
struct WorldCamera;

/// The screen camera: draws the canvas and the screen layer (world text) to the window.
#[derive(Component)]
struct ScreenCamera;

/// The canvas the world is drawn into, as a sprite the screen camera shows.
#[derive(Component)]
struct Canvas;

/// Adds the cameras: the world at art resolution, upscaled, or with `full_res` straight to the
/// window.
pub fn install(app: &mut App, full_res: bool) {
    if full_res {
        app.add_systems(Startup, spawn_full_res);
    } else {
        // Night darkens the canvas, not the panels over it.
        app.insert_resource(NightOn::Canvas)
            .add_systems(Startup, spawn)
            .add_systems(Update, (fit_canvas, night));
    }
    app.add_systems(PostUpdate, follow.before(TransformSystems::Propagate));
}

/// One camera drawing the world and its text to the window, every window pixel filled.
fn spawn_full_res(mut commands: Commands) {
    commands.spawn((
        Camera2d,
        Msaa::Off,
        Projection::Orthographic(OrthographicProjection {
            scale: 1.0 / ZOOM as f32,
            ..OrthographicProjection::default_2d()
        }),
        RenderLayers::from_layers(&[0, SCREEN_LAYER]),
    ));
}

/// Blending in linear light, into a main texture of the window's own (sRGB) format. Bevy's
/// default composites in sRGB space: every shader then encodes its output to sRGB and the final
/// blit decodes it again, per pixel, which a software renderer pays for in full.
fn compositing() -> CompositingSpace {
    CompositingSpace::Linear
}

/// The canvas size for a window of `width`×`height` logical pixels: a texel per art pixel,
/// rounded up to an even size that covers the window (even, so texel edges fall on whole world
/// units around the centre).
fn canvas_size(width: f32, height: f32) -> UVec2 {
    let texels = |px: f32| ((px / ZOOM as f32 / 2.0).ceil().max(1.0) as u32) * 2;
    UVec2::new(texels(width), texels(height))
}

fn canvas_image(size: UVec2) -> Image {
    Image::new_target_texture(size.x, size.y, TextureFormat::Bgra8UnormSrgb, None)
}

fn spawn(
    mut commands: Commands,
    mut images: ResMut<Assets<Image>>,
    window: Query<&Window, With<PrimaryWindow>>,
) {
    let size = window
        .single()
        .map_or(UVec2::new(428, 240), |w| canvas_size(w.width(), w.height()));
    let canvas = images.add(canvas_image(size));
    // The screen camera first: the editor panel (egui) attaches to the first camera spawned.
    commands.spawn((
        Camera2d,
        ScreenCamera,
        IsDefaultUiCamera,
        Camera {
            order: 0,
            // The canvas covers the window: nothing to clear.
            clear_color: ClearColorConfig::None,
            ..default()
        },
        Msaa::Off,
        compositing(),
        Projection::Orthographic(OrthographicProjection {
            scale: 1.0 / ZOOM as f32,
            ..OrthographicProjection::default_2d()
        }),
        RenderLayers::layer(SCREEN_LAYER),
    ));
    commands.spawn((
        Camera2d,
        WorldCamera,
        Camera {
            order: -1,
            ..default()
        },
        RenderTarget::Image(canvas.clone().into()),
        // Pixel art wants hard edges, and multisampling multiplies the fill work.
        Msaa::Off,
        compositing(),
        RenderLayers::layer(0),
    ));
    commands.spawn((
        Canvas,
        Sprite {
            image: canvas,
            custom_size: Some(size.as_vec2()),
            ..default()
        },
        Transform::from_xyz(0.0, 0.0, -500.0),
        RenderLayers::layer(SCREEN_LAYER),
    ));
}

/// The canvas dims with the evening (`sprout_farm::ui::night_colour`).
fn night(state: Res<FarmState>, mut canvas: Query<&mut Sprite, With<Canvas>>) {
    if !state.is_changed() {
        return;
    }
    let colour = night_colour(state.minutes);
    for mut sprite in &mut canvas {
        if sprite.color != colour {
            sprite.color = colour;
        }
    }
}

/// A new canvas when the window changes size.
fn fit_canvas(
    mut resized: MessageReader<WindowResized>,
    mut images: ResMut<Assets<Image>>,
    mut canvas: Query<&mut Sprite, With<Canvas>>,
    mut camera: Query<&mut RenderTarget, With<WorldCamera>>,
) {
    let Some(last) = resized.read().last() else {
        return;
    };
    let (Ok(mut sprite), Ok(mut target)) = (canvas.single_mut(), camera.single_mut()) else {
        return;
    };
    let size = canvas_size(last.width, last.height);
    if sprite.custom_size == Some(size.as_vec2()) {
        return;
    }
    let image = images.add(canvas_image(size));
    *target = RenderTarget::Image(image.clone().into());
    sprite.image = image;
    sprite.custom_size = Some(size.as_vec2());
}

/// Both cameras (and the canvas) on the farmer, at whole art pixels so the world and the text
/// over it agree.
#[expect(clippy::type_complexity, reason = "disjoint queries over the cameras")]
fn follow(
    player: Query<&Transform, (With<Player>, Without<Camera2d>, Without<Canvas>)>,
    mut cameras: Query<&mut Transform, (With<Camera2d>, Without<Canvas>)>,
    mut canvas: Query<&mut Transform, (With<Canvas>, Without<Camera2d>)>,
) {
    let Ok(p) = player.single() else {
        return;
    };
    let at = p.translation.truncate().round();
    for mut c in &mut cameras {
        c.translation.x = at.x;
        c.translation.y = at.y;
    }
    if let Ok(mut c) = canvas.single_mut() {
        c.translation.x = at.x;
        c.translation.y = at.y;
    }
}
