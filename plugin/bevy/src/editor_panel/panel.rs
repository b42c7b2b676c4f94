//! The panel itself: the window, its tabs, and what it can ask of the generator ([`Actions`]).

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::{EguiContexts, egui};

use super::state::{EditorState, Tab};
use super::widgets::{JobView, ModelChoices, Textures};
use super::{art_set, dialogue, image, review, story};
use crate::generate::{
    AcceptGenerated, CancelGeneration, Generate, Generations, GeneratorSettings, RejectGenerated,
};
use crate::library::{ContentStatus, Library};

pub(super) fn toggle(keys: Option<Res<ButtonInput<KeyCode>>>, mut state: ResMut<EditorState>) {
    if keys.is_some_and(|k| k.just_pressed(KeyCode::F1)) {
        state.open = !state.open;
    }
}

/// Everything the panel can ask of the generator.
#[derive(SystemParam)]
pub(crate) struct Actions<'w> {
    /// New story content or art.
    pub generate: MessageWriter<'w, Generate>,
    /// Stop a job.
    pub cancel: MessageWriter<'w, CancelGeneration>,
    /// Accept a staged result.
    pub accept: MessageWriter<'w, AcceptGenerated>,
    /// Reject a staged result.
    pub reject: MessageWriter<'w, RejectGenerated>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "the panel shows and drives everything"
)]
pub(super) fn panel(
    mut contexts: EguiContexts,
    mut state: ResMut<EditorState>,
    library: Library,
    jobs: Res<Generations>,
    status: Res<ContentStatus>,
    mut actions: Actions,
    mut textures: Local<Textures>,
    settings: Res<crate::SproutSettings>,
    mut generator: ResMut<GeneratorSettings>,
    models: Local<ModelChoices>,
) -> Result {
    if !state.open {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    let mut open = true;
    let state = &mut *state;
    egui::Window::new("Sprout editor (F1)")
        .open(&mut open)
        .default_width(470.0)
        .default_height(620.0)
        // A staged job's preview and its candidates can be taller than the window: scroll.
        .vscroll(true)
        // Right, below the height of a game's top-corner HUD (the sample game's inventory panel
        // ends 77 pixels down).
        .default_pos([790.0, 90.0])
        .show(ctx, |ui| {
            ui.horizontal_wrapped(|ui| {
                for (tab, name) in [
                    (Tab::Dialogue, "Dialogue"),
                    (Tab::Npc, "NPC"),
                    (Tab::Quest, "Quest"),
                    (Tab::Sprite, "Item/Crop sprite"),
                    (Tab::Texture, "Texture"),
                    (Tab::Prop, "Prop"),
                    (Tab::ArtSet, "Art set"),
                ] {
                    ui.selectable_value(&mut state.tab, tab, name);
                }
                let problems = status.lines().len();
                ui.selectable_value(
                    &mut state.tab,
                    Tab::Content,
                    format!("Content ({problems})"),
                );
                ui.selectable_value(
                    &mut state.tab,
                    Tab::History,
                    format!("History ({})", jobs.records.len()),
                );
            });
            ui.separator();
            let mut view = JobView {
                jobs: &jobs,
                textures: &mut textures,
                library: &library,
                generator: &mut generator,
                models: &models,
            };
            match state.tab {
                Tab::Dialogue => dialogue::tab(ui, state, &mut view, &mut actions),
                Tab::Npc => story::npc_tab(ui, &mut state.npc_form, &mut view, &mut actions),
                Tab::Quest => story::quest_tab(ui, &mut state.quest_form, &mut view, &mut actions),
                Tab::Sprite => image::sprite_tab(
                    ui,
                    &mut state.sprite_form,
                    &mut view,
                    &mut actions,
                    &settings.asset_dir,
                ),
                Tab::Texture => image::texture_tab(
                    ui,
                    &mut state.texture_form,
                    &mut view,
                    &mut actions,
                    &settings.asset_dir,
                ),
                Tab::Prop => image::prop_tab(
                    ui,
                    &mut state.prop_form,
                    &mut view,
                    &mut actions,
                    &settings.asset_dir,
                ),
                Tab::ArtSet => art_set::tab(ui, &mut state.art_set, &mut view, &mut actions),
                Tab::Content => review::content_tab(ui, &status),
                Tab::History => review::history_tab(ui, &jobs),
            }
        });
    if !open {
        state.open = false;
    }
    Ok(())
}
