//! Money and bed: sell at the shipping bin, buy seeds at the shop, sleep at the farmhouse.

use bevy::prelude::*;
use bevy_sprout::prelude::*;
use sprout_core::content::{Item, ItemCategory};

use crate::player::{Player, PlayerAction};
use crate::state::FarmState;
use crate::time::Sleep;
use crate::toast::Toast;
use crate::world::{Landmark, TILE};

/// How close to a landmark the player must be, in world units.
pub const LANDMARK_REACH: f32 = 2.5 * TILE;

/// Categories the shipping bin buys.
pub const SELLABLE: [ItemCategory; 4] = [
    ItemCategory::Produce,
    ItemCategory::Forage,
    ItemCategory::Artisan,
    ItemCategory::Food,
];

pub(crate) fn plugin(app: &mut App) {
    app.add_systems(Update, (landmarks, buy).in_set(crate::FarmSystems::Act));
}

/// Sells everything sellable; returns the gold earned. Sums saturate: a day's sales that would
/// pass `u32::MAX` gold pay `u32::MAX`.
pub fn ship_all(state: &mut FarmState, item: impl Fn(&str) -> Option<Item>) -> u32 {
    let mut earned = 0u32;
    let held: Vec<(Id, u32)> = state
        .inventory
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    for (id, count) in held {
        if let Some(it) = item(id.as_str())
            && SELLABLE.contains(&it.category)
        {
            let sold = state.take(&id, count);
            earned = earned.saturating_add(it.price.saturating_mul(sold));
        }
    }
    state.earn(earned);
    state.earned = state.earned.saturating_add(earned);
    earned
}

/// The seeds the shop sells in the current season, cheapest first.
pub fn shop_stock<'a>(library: &'a Library, state: &FarmState) -> Vec<&'a Item> {
    let mut stock: Vec<&Item> = library
        .crops()
        .into_iter()
        .filter(|c| c.seasons.contains(&state.season))
        .filter_map(|c| library.item(c.seed.as_str()))
        .collect();
    stock.sort_by_key(|i| (i.price, i.id.clone()));
    stock.dedup_by_key(|i| i.id.clone());
    stock
}

fn near(player: Vec2, landmarks: &Query<(&Landmark, &Transform)>, which: Landmark) -> bool {
    landmarks
        .iter()
        .any(|(l, t)| *l == which && t.translation.truncate().distance(player) <= LANDMARK_REACH)
}

fn landmarks(
    mut actions: MessageReader<PlayerAction>,
    player: Query<&Transform, With<Player>>,
    landmarks: Query<(&Landmark, &Transform)>,
    mut state: ResMut<FarmState>,
    library: Library,
    mut sleep: MessageWriter<Sleep>,
    mut toast: MessageWriter<Toast>,
) {
    let Ok(player) = player.single() else { return };
    let at = player.translation.truncate();
    for action in actions.read() {
        match action {
            PlayerAction::Interact if near(at, &landmarks, Landmark::ShippingBin) => {
                let earned = ship_all(&mut state, |id| library.item(id).cloned());
                toast.write(Toast(if earned > 0 {
                    format!("Shipped goods for {earned} g.")
                } else {
                    "Nothing to ship.".into()
                }));
            }
            PlayerAction::Sleep if near(at, &landmarks, Landmark::House) => {
                sleep.write(Sleep);
            }
            PlayerAction::Sleep => {
                toast.write(Toast("Go to the farmhouse to sleep.".into()));
            }
            _ => {}
        }
    }
}

fn buy(
    mut actions: MessageReader<PlayerAction>,
    player: Query<&Transform, With<Player>>,
    landmarks: Query<(&Landmark, &Transform)>,
    mut state: ResMut<FarmState>,
    library: Library,
    mut toast: MessageWriter<Toast>,
) {
    let Ok(player) = player.single() else { return };
    for action in actions.read() {
        let PlayerAction::Buy(n) = action else {
            continue;
        };
        if !near(player.translation.truncate(), &landmarks, Landmark::Shop) {
            continue;
        }
        let stock = shop_stock(&library, &state);
        let Some(item) = stock.get(*n) else { continue };
        let Some(left) = state.gold.checked_sub(item.price) else {
            toast.write(Toast(format!("{} costs {} g.", item.name, item.price)));
            continue;
        };
        state.gold = left;
        state.give(&item.id, 1);
        toast.write(Toast(format!("Bought {} for {} g.", item.name, item.price)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipping_a_huge_stack_at_a_huge_price_saturates() {
        let melon = Item {
            id: Id::new("melon").unwrap(),
            name: "Melon".into(),
            description: "Heavy.".into(),
            category: ItemCategory::Produce,
            price: u32::MAX,
            icon: sprout_core::content::AssetPath::new("sprites/items/melon.png").unwrap(),
            look: None,
        };
        let mut state = FarmState {
            gold: 10,
            earned: u32::MAX - 1,
            ..FarmState::default()
        };
        state.give(&melon.id, u32::MAX);
        let earned = ship_all(&mut state, |id| (id == "melon").then(|| melon.clone()));
        assert_eq!(earned, u32::MAX);
        assert_eq!((state.gold, state.earned), (u32::MAX, u32::MAX));
        assert_eq!(state.count("melon"), 0);
    }
}
