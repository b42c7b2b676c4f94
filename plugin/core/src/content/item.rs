//! Items: one `*.item.ron` file each. Seeds, produce, gifts and tools are all items.

use serde::{Deserialize, Serialize};

use super::{AssetPath, Id};

/// Something the player can hold, sell or give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Id; the file is `<id>.item.ron`.
    pub id: Id,
    /// Display name.
    pub name: String,
    /// Tooltip text.
    pub description: String,
    /// What kind of item.
    pub category: ItemCategory,
    /// Gold paid when sold (seeds: gold asked at the shop).
    pub price: u32,
    /// Inventory icon (a `.png`).
    #[serde(deserialize_with = "super::asset_path::image")]
    pub icon: AssetPath,
    /// What the icon shows, in words the embedded sprite model draws ("leafy green", "honey
    /// pot"): `sprout art`'s prompt for it. Without it, the name's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub look: Option<String>,
}

/// Kinds of items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum ItemCategory {
    /// Planted to grow a crop.
    Seed,
    /// Harvested from a crop.
    Produce,
    /// Found in the wild.
    Forage,
    /// Cooked food.
    Food,
    /// Made by hand or machine from other goods (jam, honey, cheese).
    Artisan,
    /// Crafting material.
    Material,
    /// A tool.
    Tool,
}
