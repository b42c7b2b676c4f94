//! Text length limits, sized for the sample game's dialogue box and UI.
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
