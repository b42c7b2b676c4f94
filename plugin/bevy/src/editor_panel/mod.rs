//! The in-game editor panel (feature `editor`, `bevy_egui`): F1 opens it.
//!
//! Tabs, one file each:
//! - **Dialogue** (`dialogue.rs`): pick a villager and a situation, describe the conversation,
//!   generate with the local LLM through the story pipeline, read the result as a tree;
//! - **NPC** and **Quest** (`story.rs`): a new villager or a quest through the story pipeline
//!   (templates, constrained decoding, validation and repair), previewed as RON;
//! - **Sprite**, **Texture** and **Prop** (`image.rs`): an item icon or a crop's growth stages, a
//!   seamless ground tile, from the embedded sprite model (step by step, shown at pixel scale); a
//!   3D prop (`.glb`) extruded from a loaded sprite; all through `sprout_core::art`;
//! - **Content** and **History** (`review.rs`): every problem with the loaded content, and every
//!   job of the session with its provenance.
//!
//! The rest: `state.rs` (what the panel remembers), `panel.rs` (the window and its tabs),
//! `widgets.rs` (previews, buttons, a job's progress and result). Every job shows a progress bar,
//! then its preview with Accept (into the assets: live a moment later through hot reload), Reject
//! and Regenerate (the next seed). Errors stay in the panel.
//!
//! The panel only writes [`Generate`](crate::generate::Generate) and the decision messages; a
//! game or a script can do the same without it, and show a job in the panel with [`ShowJob`].

mod dialogue;
mod image;
mod panel;
mod review;
mod state;
mod story;
mod widgets;

use bevy::prelude::*;
use bevy_egui::{EguiPlugin, EguiPrimaryContextPass};

use crate::generate::{Generations, JobId};

/// Open the panel on a job's tab, showing that job (its progress, then its result with Accept
/// and Reject), as if it had been asked for there.
#[derive(Message, Debug, Clone, Copy)]
pub struct ShowJob(pub JobId);

/// The editor panel. [`SproutPlugins`](crate::prelude::SproutPlugins) adds it in windowed runs when the
/// feature is on (egui needs the renderer; headless apps disable it).
#[derive(Debug, Default, Clone, Copy)]
pub struct EditorPlugin {
    open: bool,
}

impl EditorPlugin {
    /// The panel, shown from the first frame (an editor-only app).
    pub fn opened() -> Self {
        Self { open: true }
    }
}

impl Plugin for EditorPlugin {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<EguiPlugin>() {
            app.add_plugins(EguiPlugin::default());
        }
        app.insert_resource(state::EditorState {
            open: self.open,
            ..default()
        })
        .add_message::<ShowJob>()
        .add_systems(
            Update,
            (panel::toggle, show_job)
                .chain()
                .in_set(crate::SproutSystems::Ui),
        )
        .add_systems(EguiPrimaryContextPass, panel::panel);
    }
}

/// Handles [`ShowJob`]: the tab that makes that kind of job, with the job as its current one.
fn show_job(
    mut shows: MessageReader<ShowJob>,
    mut state: ResMut<state::EditorState>,
    generations: Res<Generations>,
) {
    for ShowJob(id) in shows.read() {
        let Some(record) = generations.records.get(id) else {
            warn!("ShowJob: no job {}", id.0);
            continue;
        };
        state.open = true;
        state.show(*id, &record.job);
    }
}
