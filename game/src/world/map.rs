//! Map layout. The field and landmarks sit at fixed tiles; every location of the world file gets
//! a plot of ground in the village, labelled with its name, so new locations appear on the map.

use bevy::prelude::*;
use bevy_sprout::prelude::*;
use sprout_core::content::{Ground, LocationKind};

/// Size of a tile in world units (the sprites are 16 px).
pub const TILE: f32 = 16.0;

/// The farm field, in tiles: x from 0, y from 0, this many wide and high.
pub const FIELD: IRect = IRect {
    min: IVec2::new(0, 0),
    max: IVec2::new(12, 8),
};

/// The River Amble, between the farm and the village, in tiles.
pub const RIVER: IRect = IRect {
    min: IVec2::new(14, -12),
    max: IVec2::new(16, 28),
};

/// The path from the farm across the river and along the village, in tiles.
pub const PATH: IRect = IRect {
    min: IVec2::new(8, 4),
    max: IVec2::new(70, 6),
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
    app.add_systems(
        Update,
        (build_map, fit_ground)
            .chain()
            .in_set(crate::FarmSystems::World),
    );
}

/// A stretch of ground drawn as one quad over which its tile repeats (the sampler wraps), so
/// the whole map's ground is four quads, not one per tile.
#[derive(Component)]
struct GroundTiles {
    /// The stretch's size in tiles (its tile is the sprite's image).
    tiles: Vec2,
}

/// Loads a ground tile with a wrapping, nearest-neighbour sampler.
fn repeating(server: &AssetServer, path: &str) -> Handle<Image> {
    use bevy::image::{
        ImageAddressMode, ImageLoaderSettings, ImageSampler, ImageSamplerDescriptor,
    };
    server
        .load_builder()
        .with_settings(|s: &mut ImageLoaderSettings| {
            s.sampler = ImageSampler::Descriptor(ImageSamplerDescriptor {
                address_mode_u: ImageAddressMode::Repeat,
                address_mode_v: ImageAddressMode::Repeat,
                ..ImageSamplerDescriptor::nearest()
            });
        })
        .load(path.to_owned())
}

/// Sets each ground quad's texture rectangle to its size in tiles times its tile's size, once the
/// tile has loaded and whenever it changes on disk (a remade tile of another size still repeats
/// once per tile).
fn fit_ground(
    mut events: MessageReader<AssetEvent<Image>>,
    images: Res<Assets<Image>>,
    mut grounds: Query<(Ref<GroundTiles>, &mut Sprite)>,
) {
    let changed: Vec<AssetId<Image>> = events
        .read()
        .filter_map(|e| match e {
            AssetEvent::LoadedWithDependencies { id } | AssetEvent::Modified { id } => Some(*id),
            _ => None,
        })
        .collect();
    for (ground, mut sprite) in &mut grounds {
        if !(ground.is_added() || changed.contains(&sprite.image.id())) {
            continue;
        }
        if let Some(image) = images.get(&sprite.image) {
            let rect = Rect::from_corners(Vec2::ZERO, ground.tiles * image.size_f32());
            if sprite.rect != Some(rect) {
                sprite.rect = Some(rect);
            }
        }
    }
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
    server: Res<AssetServer>,
    existing: Query<Entity, With<MapPart>>,
    mut built_for: Local<Option<String>>,
) {
    let Some(world) = library.world() else {
        return;
    };
    let signature = format!("{:?}{:?}", world.locations, world.art);
    if built_for.as_deref() == Some(signature.as_str()) {
        return;
    }
    for e in &existing {
        commands.entity(e).despawn();
    }
    *built_for = Some(signature);

    let art = &world.art;
    let tile = |kind: Ground| {
        art.ground(kind)
            .map(|g| repeating(&server, g.image.as_str()))
    };
    // Grass under everything, the river between the farm and the village, a path along the
    // village and across the river, and the field's soil.
    let grounds = [
        (
            Ground::Grass,
            IRect::new(-20, -12, 70, 28),
            Color::srgb(0.36, 0.52, 0.27),
            -10.0,
        ),
        (Ground::Water, RIVER, Color::srgb(0.25, 0.45, 0.70), -9.5),
        (Ground::Path, PATH, Color::srgb(0.62, 0.55, 0.42), -9.4),
        (Ground::Soil, FIELD, Color::srgb(0.47, 0.37, 0.25), -9.0),
    ];
    for (kind, area, colour, z) in grounds {
        let image = tile(kind);
        let tiled = image.is_some();
        let mut part = commands.spawn((
            MapPart,
            ground_sprite(image, colour, area),
            Transform::from_translation((area.center().as_vec2() * TILE).extend(z)),
        ));
        if tiled {
            part.insert(GroundTiles {
                tiles: area.size().as_vec2(),
            });
        }
    }
    let landmarks = [
        (
            Landmark::House,
            "farmhouse",
            IVec2::new(2, 10),
            Color::srgb(0.55, 0.30, 0.25),
            Vec2::new(3.0, 2.0),
            "Farmhouse (Z: sleep)",
        ),
        (
            Landmark::ShippingBin,
            "shipping_bin",
            IVec2::new(8, 10),
            Color::srgb(0.45, 0.30, 0.15),
            Vec2::new(1.0, 1.0),
            "Shipping bin (E: sell)",
        ),
    ];
    for (landmark, id, tile, colour, tiles, label) in landmarks {
        let picture = art
            .building(id)
            .map(|b| server.load(b.image.as_str().to_owned()));
        spawn_labelled(
            &mut commands,
            landmark,
            tile_center(tile),
            building_sprite(picture, colour, tiles * TILE),
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
            Transform::from_translation(center.extend(-8.0)),
            Visibility::default(),
        ));
        // The place's ground, and its building (or a coloured plot until it has one).
        commands.spawn((
            MapPart,
            Sprite::from_color(
                kind_colour(location.kind).with_alpha(0.35),
                Vec2::new(5.0, 4.0) * TILE,
            ),
            Transform::from_translation(center.extend(-8.5)),
        ));
        let picture = art
            .building(location.id.as_str())
            .map(|b| server.load(b.image.as_str().to_owned()));
        if picture.is_some() {
            commands.spawn((
                MapPart,
                building_sprite(picture, Color::NONE, Vec2::splat(3.0 * TILE)),
                Transform::from_translation((center + Vec2::new(0.0, 0.5 * TILE)).extend(-7.5)),
            ));
        }
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
    sprite: Sprite,
    text: &str,
) {
    let height = sprite.custom_size.map_or(TILE, |s| s.y);
    commands.spawn((
        MapPart,
        landmark,
        sprite,
        Transform::from_translation(at.extend(-7.0)),
    ));
    commands.spawn((
        MapPart,
        label(text, 6.0),
        Transform::from_translation((at + Vec2::new(0.0, height / 2.0 + 5.0)).extend(5.0))
            .with_scale(Vec3::splat(1.0 / SHARPNESS)),
    ));
}

/// A stretch of ground: its tile repeated over `area` (in tiles; the tile's sampler wraps), or a
/// flat colour until the world has the tile.
fn ground_sprite(tile: Option<Handle<Image>>, colour: Color, area: IRect) -> Sprite {
    let size = area.size().as_vec2() * TILE;
    match tile {
        Some(image) => Sprite {
            image,
            custom_size: Some(size),
            // A 16-pixel tile until `fit_ground` knows the tile's real size.
            rect: Some(Rect::from_corners(Vec2::ZERO, area.size().as_vec2() * TILE)),
            ..default()
        },
        None => Sprite::from_color(colour, size),
    }
}

/// A building: its picture drawn `size` wide (keeping the picture square), or a flat colour.
fn building_sprite(picture: Option<Handle<Image>>, colour: Color, size: Vec2) -> Sprite {
    match picture {
        Some(image) => Sprite {
            image,
            custom_size: Some(Vec2::splat(size.x.max(size.y))),
            ..default()
        },
        None => Sprite::from_color(colour, size),
    }
}

/// Text in the world is rendered this many times larger and scaled down, so it stays crisp
/// under the pixel-art zoom.
pub const SHARPNESS: f32 = 3.0;

/// The render layer of what is drawn at screen resolution over the world (its text); the
/// world itself is drawn at art resolution on layer 0 and upscaled.
pub const SCREEN_LAYER: usize = 1;

/// World-space text (scale its transform by `1 / SHARPNESS`), drawn at screen resolution.
pub fn label(text: &str, size: f32) -> impl Bundle {
    (
        Text2d::new(text),
        bevy::camera::visibility::RenderLayers::layer(SCREEN_LAYER),
        TextFont {
            font_size: FontSize::Px(size * SHARPNESS),
            ..default()
        },
        TextColor(Color::srgb(0.98, 0.96, 0.88)),
    )
}
