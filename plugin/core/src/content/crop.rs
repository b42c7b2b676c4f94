//! Crops: one `*.crop.ron` file each, linking a seed item to a produce item.

use serde::{Deserialize, Serialize};

use super::{AssetPath, Id, Season};

/// A plant grown on the farm. Price, category and icon live on its two items, so a crop can never
/// disagree with what the shop sells or the shipping bin pays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Crop {
    /// Id; the file is `<id>.crop.ron`.
    pub id: Id,
    /// Display name.
    pub name: String,
    /// Description for the almanac.
    pub description: String,
    /// Item id of the seed (category `Seed`).
    pub seed: Id,
    /// Item id harvested.
    pub harvest: Id,
    /// How many items one harvest gives.
    pub harvest_count: u32,
    /// Seasons it grows in; it withers when the season changes to another.
    pub seasons: Vec<Season>,
    /// Growth stages from seed to ripe; each lasts `days` watered days.
    pub stages: Vec<GrowthStage>,
    /// Sprite of the ripe plant, ready to harvest (a `.png`).
    #[serde(deserialize_with = "super::asset_path::image")]
    pub ripe_sprite: AssetPath,
    /// If set, the plant stays after harvest and is ripe again after this many days.
    #[serde(default)]
    pub regrow_days: Option<u32>,
    /// What the ripe plant looks like, in words the embedded sprite model draws ("ear of
    /// corn"): `sprout art`'s prompt for its stages. Without it, the name's words and "plant".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub look: Option<String>,
}

/// One stage of growth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrowthStage {
    /// Watered days spent in this stage (at least 1).
    pub days: u32,
    /// What the plant looks like in this stage (a `.png`).
    #[serde(deserialize_with = "super::asset_path::image")]
    pub sprite: AssetPath,
}

impl Crop {
    /// Watered days from planting until the first harvest.
    pub fn days_to_ripe(&self) -> u32 {
        // Saturating: a sum past `u32::MAX` means "never ripe", not a panic or a wrap to 0.
        self.stages
            .iter()
            .fold(0u32, |total, s| total.saturating_add(s.days))
    }

    /// The sprite for a plant that has grown for `days` watered days.
    pub fn sprite_after(&self, days: u32) -> &AssetPath {
        let mut left = days;
        for stage in &self.stages {
            if left < stage.days {
                return &stage.sprite;
            }
            left -= stage.days;
        }
        &self.ripe_sprite
    }
}
