//! Limits: text lengths, sized for the sample game's dialogue box and UI, and the largest numbers
//! content may hold, so that the game's sums of gold, prices, counts and days stay far inside
//! `u32` (the game saturates as well; these keep it from ever having to).
//!
//! The dialogue box shows 3 lines of about 64 characters in the default font at 1280×720.

/// Longest line of dialogue, in characters.
pub const DIALOGUE_TEXT_MAX: usize = 190;
/// Longest choice, in characters: one line of the choice list.
pub const CHOICE_TEXT_MAX: usize = 60;
/// Longest display name (character, item, crop, location).
pub const NAME_MAX: usize = 24;
/// Longest short label (role, quest title).
pub const LABEL_MAX: usize = 48;
/// Longest tooltip or journal text (item and quest descriptions, location notes).
pub const DESCRIPTION_MAX: usize = 300;
/// Longest free prose (setting, backstory, speech style).
pub const PROSE_MAX: usize = 1500;

/// Most gold one effect (`GiveGold`) may give.
pub const GOLD_PER_EFFECT_MAX: u32 = 100_000;
/// Highest item price, in gold.
pub const PRICE_MAX: u32 = 100_000;
/// Most items (or harvests) one effect, condition, objective or harvest may count.
pub const COUNT_MAX: u32 = 999;
/// Most days in a season.
pub const DAYS_PER_SEASON_MAX: u32 = 60;
/// Longest growth stage or regrowth, in days: a year of the longest seasons.
pub const GROWTH_DAYS_MAX: u32 = 4 * DAYS_PER_SEASON_MAX;
