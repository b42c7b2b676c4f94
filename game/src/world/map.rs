//! Map layout. The field and landmarks sit at fixed tiles; every location of the world file gets
//! a plot of ground in the village, labelled with its name, so new locations appear on the map.

use bevy::prelude::*;
use bevy_sprout::prelude::*;
use sprout_core::content::LocationKind;

/// Size of a tile in world units (the sprites are 16 px).
pub const TILE: f32 = 16.0;

/// The farm field, in tiles: x from 0, y from 0, this many wide and high.
pub const FIELD: IRect = IRect {
    min: IVec2::new(0, 0),
    max: IVec2::new(12, 8),
};

/// The centre of tile `t` in world units.
pub fn tile_center(t: IVec2) -> Vec2 {
    (t.as_vec2() + Vec2::splat(0.5)) * TILE
}

/// The tile that contains `p`.
pub fn tile_of(p: Vec2) -> IVec2 {
    (p / TILE).floor().as_ivec2()
}

/// Something the player can use by pressing E next to it.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landmark {
    /// Sleep here.
    House,
    /// Sell produce here.
    ShippingBin,
    /// Buy seeds here.
    Shop,
}

/// The ground of one world location; NPCs scheduled there stand on it.
#[derive(Component, Debug, Clone)]
pub struct LocationSpot {
    /// Location id.
    pub id: Id,
    /// Where NPCs stand, in world units.
    pub center: Vec2,
}

pub(crate) fn plugin(app: &mut App) {
    app.add_systems(Update, build_map.in_set(crate::FarmSystems::World));
}

fn kind_colour(kind: LocationKind) -> Color {
    match kind {
        LocationKind::Farm => Color::srgb(0.42, 0.55, 0.30),
        LocationKind::Town => Color::srgb(0.62, 0.58, 0.50),
        LocationKind::Shop => Color::srgb(0.70, 0.55, 0.38),
        LocationKind::Home => Color::srgb(0.60, 0.46, 0.40),
        LocationKind::Wilds => Color::srgb(0.25, 0.45, 0.28),
    }
}

/// Builds (and, when the world file changes, rebuilds) the map from the world's locations.
fn build_map(
    mut commands: Commands,
    library: Library,
    existing: Query<Entity, With<MapPart>>,
    mut built_for: Local<Option<String>>,
) {
    let Some(world) = library.world() else {
        return;
    };
    let signature = format!("{:?}", world.locations);
    if built_for.as_deref() == Some(signature.as_str()) {
        return;
    }
    for e in &existing {
        commands.entity(e).despawn();
    }
    *built_for = Some(signature);

    // Grass under everything.
    commands.spawn((
        MapPart,
        Sprite::from_color(
            Color::srgb(0.36, 0.52, 0.27),
            Vec2::new(TILE * 90.0, TILE * 40.0),
        ),
        Transform::from_xyz(TILE * 35.0, TILE * 4.0, -10.0),
    ));
    // The field.
    let size = (FIELD.max - FIELD.min).as_vec2() * TILE;
    commands.spawn((
        MapPart,
        Sprite::from_color(Color::srgb(0.47, 0.37, 0.25), size),
        Transform::from_translation((FIELD.min.as_vec2() * TILE + size / 2.0).extend(-9.0)),
    ));
    let landmarks = [
        (
            Landmark::House,
            IVec2::new(2, 10),
            Color::srgb(0.55, 0.30, 0.25),
            Vec2::new(3.0, 2.0),
            "Farmhouse (Z: sleep)",
        ),
        (
            Landmark::ShippingBin,
            IVec2::new(8, 10),
            Color::srgb(0.45, 0.30, 0.15),
            Vec2::new(1.0, 1.0),
            "Shipping bin (E: sell)",
        ),
    ];
    for (landmark, tile, colour, tiles, label) in landmarks {
        spawn_labelled(
            &mut commands,
            landmark,
            tile_center(tile),
            colour,
            tiles * TILE,
            label,
        );
    }

    // The village, east of the field: one plot per non-farm location, two rows.
    let mut column = 0;
    let mut seed_shop_placed = false;
    let small = Vec3::splat(1.0 / SHARPNESS);
    for location in &world.locations {
        if location.kind == LocationKind::Farm {
            // The field is the farm: villagers visiting it stand by the shipping bin.
            let center = tile_center(IVec2::new(10, 9));
            commands.spawn((
                MapPart,
                LocationSpot {
                    id: location.id.clone(),
                    center,
                },
                Transform::from_translation(center.extend(0.0)),
            ));
            commands.spawn((
                MapPart,
                label(&location.name, 7.0),
                Transform::from_translation(tile_center(IVec2::new(6, 8)).extend(5.0))
                    .with_scale(small),
            ));
            continue;
        }
        let row = column % 2;
        let x = 18 + (column / 2) * 7;
        column += 1;
        let center = tile_center(IVec2::new(x, 1 + row * 7));
        commands.spawn((
            MapPart,
            LocationSpot {
                id: location.id.clone(),
                center,
            },
            Sprite::from_color(
                kind_colour(location.kind).with_alpha(0.9),
                Vec2::new(5.0, 4.0) * TILE,
            ),
            Transform::from_translation(center.extend(-8.0)),
        ));
        commands.spawn((
            MapPart,
            label(&location.name, 7.0),
            Transform::from_translation((center + Vec2::new(0.0, 2.6 * TILE)).extend(5.0))
                .with_scale(small),
        ));
        // The first shop in the world file is where seeds are sold.
        if location.kind == LocationKind::Shop && !seed_shop_placed {
            seed_shop_placed = true;
            commands.spawn((
                MapPart,
                Landmark::Shop,
                Transform::from_translation(center.extend(-7.0)),
                Visibility::default(),
            ));
        }
    }
}

#[derive(Component)]
struct MapPart;

fn spawn_labelled(
    commands: &mut Commands,
    landmark: Landmark,
    at: Vec2,
    colour: Color,
    size: Vec2,
    text: &str,
) {
    commands.spawn((
        MapPart,
        landmark,
        Sprite::from_color(colour, size),
        Transform::from_translation(at.extend(-7.0)),
    ));
    commands.spawn((
        MapPart,
        label(text, 6.0),
        Transform::from_translation((at + Vec2::new(0.0, size.y / 2.0 + 5.0)).extend(5.0))
            .with_scale(Vec3::splat(1.0 / SHARPNESS)),
    ));
}

/// Text in the world is rendered this many times larger and scaled down, so it stays crisp
/// under the pixel-art zoom.
pub const SHARPNESS: f32 = 3.0;

/// World-space text (scale its transform by `1 / SHARPNESS`).
pub fn label(text: &str, size: f32) -> impl Bundle {
    (
        Text2d::new(text),
        TextFont {
            font_size: FontSize::Px(size * SHARPNESS),
            ..default()
        },
        TextColor(Color::srgb(0.98, 0.96, 0.88)),
    )
}
