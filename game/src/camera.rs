//! The camera follows the farmer and draws the world at its art resolution.
//!
//! The world (ground, buildings, crops, villagers) is drawn by the world camera into a canvas of
//! one texel per art pixel (a 16-pixel tile is 16 texels: 428×240 for a 1280×720 window), and the
//! screen camera's last pass ([`composite`]) puts that canvas on the window three times larger,
//! nearest-neighbour, under what the screen camera drew. On a software renderer fill is most of
//! a frame, and the canvas has a ninth of the window's pixels. Text in the world (names over
//! villagers and places) is on the screen camera's layer, [`SCREEN_LAYER`], so it stays sharp;
//! so are the HUD and the dialogue box (the default UI camera).
//!
//! Both cameras blend in linear light ([`COMPOSITING`]), which spares the software renderer an
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

mod composite;

use composite::{CanvasComposite, CanvasSource};

/// Screen pixels per art pixel: a 16-pixel tile is 48 pixels on screen.
const ZOOM: u32 = 3;

/// The world camera: draws layer 0 into the canvas.
#[derive(Component)]
struct WorldCamera;

/// The screen camera: draws the screen layer (world text), the HUD and the editor panel, and
/// puts them over the canvas on the window ([`composite`]).
#[derive(Component)]
struct ScreenCamera;

/// Adds the cameras: the world at art resolution, upscaled, or with `full_res` straight to the
/// window.
pub fn install(app: &mut App, full_res: bool) {
    if full_res {
        app.add_systems(Startup, spawn_full_res);
    } else {
        // Night darkens the canvas, not the panels over it.
        app.add_plugins(composite::plugin)
            .insert_resource(NightOn::Canvas)
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
const COMPOSITING: CompositingSpace = CompositingSpace::Linear;

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
            // Its own layer over transparent: the composite puts the canvas under it.
            clear_color: ClearColorConfig::Custom(Color::NONE),
            ..default()
        },
        CanvasComposite {
            canvas: canvas.clone(),
            tint: LinearRgba::WHITE,
        },
        Msaa::Off,
        COMPOSITING,
        Projection::Orthographic(OrthographicProjection {
            scale: 1.0 / ZOOM as f32,
            ..OrthographicProjection::default_2d()
        }),
        RenderLayers::layer(SCREEN_LAYER),
    ));
    commands.spawn((
        Camera2d,
        WorldCamera,
        CanvasSource,
        Camera {
            order: -1,
            ..default()
        },
        RenderTarget::Image(canvas.into()),
        // Pixel art wants hard edges, and multisampling multiplies the fill work.
        Msaa::Off,
        COMPOSITING,
        RenderLayers::layer(0),
    ));
}

/// The canvas dims with the evening (`sprout_farm::ui::night_colour`).
fn night(state: Res<FarmState>, mut composites: Query<&mut CanvasComposite>) {
    if !state.is_changed() {
        return;
    }
    let tint = LinearRgba::from(night_colour(state.minutes));
    for mut composite in &mut composites {
        if composite.tint != tint {
            composite.tint = tint;
        }
    }
}

/// A new canvas when the window changes size.
fn fit_canvas(
    mut resized: MessageReader<WindowResized>,
    mut images: ResMut<Assets<Image>>,
    mut composite: Query<&mut CanvasComposite>,
    mut camera: Query<&mut RenderTarget, With<WorldCamera>>,
) {
    let Some(last) = resized.read().last() else {
        return;
    };
    let (Ok(mut composite), Ok(mut target)) = (composite.single_mut(), camera.single_mut()) else {
        return;
    };
    let size = canvas_size(last.width, last.height);
    if images
        .get(&composite.canvas)
        .is_some_and(|i| i.size() == size)
    {
        return;
    }
    let image = images.add(canvas_image(size));
    *target = RenderTarget::Image(image.clone().into());
    composite.canvas = image;
}

/// Both cameras on the farmer, at whole art pixels so the world and the text over it agree.
fn follow(
    player: Query<&Transform, (With<Player>, Without<Camera2d>)>,
    mut cameras: Query<&mut Transform, With<Camera2d>>,
) {
    let Ok(p) = player.single() else {
        return;
    };
    let at = p.translation.truncate().round();
    for mut c in &mut cameras {
        c.translation.x = at.x;
        c.translation.y = at.y;
    }
}
