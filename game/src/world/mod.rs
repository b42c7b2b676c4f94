//! The map: the farm field, the farmhouse, the shipping bin, and the village laid out from the
//! world file's locations.

mod map;

pub use map::{
    FIELD, Landmark, LocationSpot, SCREEN_LAYER, SHARPNESS, TILE, label, tile_center, tile_of,
};

pub(crate) use map::plugin;
