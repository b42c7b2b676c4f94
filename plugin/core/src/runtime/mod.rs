//! The engine-agnostic dialogue runtime: evaluate conditions against the game's state and walk a
//! dialogue tree one line at a time. `bevy_sprout` wraps it in a component; tests and tools can
//! drive it directly.

mod cursor;
mod facts;

pub use cursor::{Advance, DialogueCursor, RuntimeError};
pub use facts::{Facts, FactsMut, MemoryFacts, QuestState};
