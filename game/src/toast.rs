//! A short notice for the player ("toast"): any system may send one, the HUD shows the latest.
//! A leaf: it imports nothing of the game, so senders (farming, the shop, saves) and the HUD that
//! reads them do not depend on each other.

use bevy::prelude::*;

/// A short notice for the player, shown for a few seconds.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct Toast(pub String);
