//! The in-game editor panel (feature `editor`, `bevy_egui`): F1 opens it.
//!
//! Tabs, one file each:
//! - **Dialogue** ([`dialogue`]): pick a villager and a situation, describe the conversation,
//!   generate with the local LLM through the story pipeline, read the result as a tree;
//! - **NPC** and **Quest** ([`story`]): a new villager or a quest through the story pipeline
//!   (templates, constrained decoding, validation and repair), previewed as RON;
//! - **Sprite**, **Texture** and **Prop** ([`image`]): an item icon or a crop's growth stages, a
//!   seamless ground tile, from the embedded sprite model (step by step, shown at pixel scale); a
//!   3D prop (`.glb`) extruded from a loaded sprite;
//! - **Content** and **History** ([`review`]): every problem with the loaded content, and every
//!   job of the session with its provenance.
//!
//! Every job shows a progress bar, then its preview with Accept (into the assets: live a moment
//! later through hot reload), Reject and Regenerate (the next seed). Errors stay in the panel.

pub mod dialogue;
pub mod image;
pub mod review;
pub mod story;

use std::collections::HashMap;

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPlugin, EguiPrimaryContextPass, egui};

pub use dialogue::{SituationChoice, dialogue_job};

use crate::generate::{
    AcceptGenerated, CancelGeneration, GenerateDialogue, GenerateImage, GenerateStory, Generations,
    GeneratorSettings, JobId, JobStatus, Preview, RejectGenerated,
};
use crate::library::{ContentStatus, Library};

/// The panel's state: which tab, and each tab's form.
#[derive(Resource, Debug, Clone)]
pub struct EditorState {
    /// Whether the panel is shown.
    pub open: bool,
    /// The selected tab.
    pub tab: Tab,
    /// The villager to write for.
    pub npc: Option<String>,
    /// The situation to write.
    pub situation: SituationChoice,
    /// What it is about.
    pub brief: String,
    /// Sampling seed.
    pub seed: u64,
    /// Lines to write.
    pub nodes: usize,
    /// The dialogue job shown in the preview.
    pub current: Option<JobId>,
    /// The NPC tab.
    pub npc_form: story::NpcForm,
    /// The Quest tab.
    pub quest_form: story::QuestForm,
    /// The Sprite tab.
    pub sprite_form: image::SpriteForm,
    /// The Texture tab.
    pub texture_form: image::TextureForm,
    /// The Prop tab.
    pub prop_form: image::PropForm,
}

impl Default for EditorState {
    fn default() -> Self {
        Self {
            open: false,
            tab: Tab::Dialogue,
            npc: None,
            situation: SituationChoice::Daily,
            brief: String::new(),
            seed: 1,
            nodes: 3,
            current: None,
            npc_form: default(),
            quest_form: default(),
            sprite_form: default(),
            texture_form: default(),
            prop_form: default(),
        }
    }
}

/// The panel's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Write a conversation.
    Dialogue,
    /// Make a villager.
    Npc,
    /// Make a quest.
    Quest,
    /// Draw an item icon or a crop's growth stages.
    Sprite,
    /// Draw a ground texture.
    Texture,
    /// Make a 3D prop from a sprite.
    Prop,
    /// Problems with the content.
    Content,
    /// Past jobs and their provenance.
    History,
}

/// The editor panel. Add it after `DefaultPlugins` and [`SproutPlugin`](crate::SproutPlugin) in
/// windowed runs (egui needs the renderer; headless apps leave it out).
#[derive(Debug, Default, Clone, Copy)]
pub struct EditorPlugin;

impl Plugin for EditorPlugin {
    fn build(&self, app: &mut App) {
        plugin(app);
    }
}

fn plugin(app: &mut App) {
    if !app.is_plugin_added::<EguiPlugin>() {
        app.add_plugins(EguiPlugin::default());
    }
    app.init_resource::<EditorState>()
        .add_systems(Update, toggle)
        .add_systems(EguiPrimaryContextPass, panel);
}

fn toggle(keys: Option<Res<ButtonInput<KeyCode>>>, mut state: ResMut<EditorState>) {
    if keys.is_some_and(|k| k.just_pressed(KeyCode::F1)) {
        state.open = !state.open;
    }
}

/// Everything the panel can ask of the generator.
#[derive(SystemParam)]
pub struct Actions<'w> {
    /// New dialogue.
    pub dialogue: MessageWriter<'w, GenerateDialogue>,
    /// New NPC, quest, item.
    pub story: MessageWriter<'w, GenerateStory>,
    /// New image or prop.
    pub image: MessageWriter<'w, GenerateImage>,
    /// Stop a job.
    pub cancel: MessageWriter<'w, CancelGeneration>,
    /// Accept a staged result.
    pub accept: MessageWriter<'w, AcceptGenerated>,
    /// Reject a staged result.
    pub reject: MessageWriter<'w, RejectGenerated>,
}

/// Textures uploaded to egui for image previews, by job and image (re-uploaded when the image
/// changes).
#[derive(Default)]
pub struct Textures {
    handles: HashMap<(JobId, String), (usize, egui::TextureHandle)>,
}

impl Textures {
    /// Shows `img` at `scale` screen pixels per image pixel, nearest-neighbour (pixel art stays
    /// crisp), over a checkerboard so transparency shows.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        job: JobId,
        label: &str,
        img: &std::sync::Arc<sprout_core::diffusion::RgbaImage>,
        scale: f32,
    ) {
        let key = (job, label.to_owned());
        let version = std::sync::Arc::as_ptr(img) as usize;
        let stale = self.handles.get(&key).is_none_or(|(v, _)| *v != version);
        if stale {
            let color = egui::ColorImage::from_rgba_unmultiplied(
                [img.width() as usize, img.height() as usize],
                img.as_raw(),
            );
            let handle = ui.ctx().load_texture(
                format!("sprout-{}-{label}", job.0),
                color,
                egui::TextureOptions::NEAREST,
            );
            self.handles.insert(key.clone(), (version, handle));
        }
        let Some((_, handle)) = self.handles.get(&key) else {
            return;
        };
        let size = egui::vec2(img.width() as f32 * scale, img.height() as f32 * scale);
        let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
        checkerboard(ui, rect);
        egui::Image::new(egui::load::SizedTexture::new(handle.id(), size)).paint_at(ui, rect);
    }
}

fn checkerboard(ui: &egui::Ui, rect: egui::Rect) {
    let painter = ui.painter_at(rect);
    let cell = 8.0;
    let (nx, ny) = (
        (rect.width() / cell).ceil() as i32,
        (rect.height() / cell).ceil() as i32,
    );
    for y in 0..ny {
        for x in 0..nx {
            let shade = if (x + y) % 2 == 0 { 70 } else { 90 };
            let min = rect.min + egui::vec2(x as f32 * cell, y as f32 * cell);
            let r = egui::Rect::from_min_size(min, egui::vec2(cell, cell)).intersect(rect);
            painter.rect_filled(r, 0.0, egui::Color32::from_gray(shade));
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "the panel shows and drives everything"
)]
fn panel(
    mut contexts: EguiContexts,
    mut state: ResMut<EditorState>,
    library: Library,
    jobs: Res<Generations>,
    status: Res<ContentStatus>,
    mut actions: Actions,
    mut textures: Local<Textures>,
    asset_dir: Res<crate::SproutSettings>,
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
        .default_pos([790.0, 40.0])
        .show(ctx, |ui| {
            ui.horizontal_wrapped(|ui| {
                for (tab, name) in [
                    (Tab::Dialogue, "Dialogue"),
                    (Tab::Npc, "NPC"),
                    (Tab::Quest, "Quest"),
                    (Tab::Sprite, "Item/Crop sprite"),
                    (Tab::Texture, "Texture"),
                    (Tab::Prop, "Prop"),
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
                    format!("History ({})", jobs.jobs.len()),
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
                    &asset_dir.asset_dir,
                ),
                Tab::Texture => image::texture_tab(
                    ui,
                    &mut state.texture_form,
                    &mut view,
                    &mut actions,
                    &asset_dir.asset_dir,
                ),
                Tab::Prop => image::prop_tab(
                    ui,
                    &mut state.prop_form,
                    &mut view,
                    &mut actions,
                    &asset_dir.asset_dir,
                ),
                Tab::Content => review::content_tab(ui, &status),
                Tab::History => review::history_tab(ui, &jobs),
            }
        });
    if !open {
        state.open = false;
    }
    Ok(())
}

/// What the tabs need to show jobs.
pub struct JobView<'a, 'w> {
    /// Every job.
    pub jobs: &'a Generations,
    /// Uploaded previews.
    pub textures: &'a mut Textures,
    /// The loaded content.
    pub library: &'a Library<'w>,
    /// The generator's settings (the LLM to use).
    pub generator: &'a mut GeneratorSettings,
    /// The LLMs on offer.
    pub models: &'a ModelChoices,
}

/// The text models of the registry, for the model picker: id, name, and whether it is already
/// in the cache (otherwise the first job fetches it, with its progress in the bar).
pub struct ModelChoices(pub Vec<(String, String, bool)>);

impl Default for ModelChoices {
    fn default() -> Self {
        let manager = sprout_core::llm::ModelManager::new();
        Self(
            manager
                .registry()
                .text
                .iter()
                .map(|e| (e.id.clone(), e.name.clone(), manager.is_present(e)))
                .collect(),
        )
    }
}

/// The LLM picker: sets [`GeneratorSettings::model`] for the jobs submitted from now on.
pub fn model_picker(ui: &mut egui::Ui, view: &mut JobView) {
    let models = &view.models.0;
    let current = view
        .generator
        .model
        .clone()
        .or_else(|| models.first().map(|m| m.0.clone()))
        .unwrap_or_default();
    let label = |(_, name, cached): &(String, String, bool)| {
        if *cached {
            format!("{name} (local)")
        } else {
            format!("{name} (fetched on first use)")
        }
    };
    let shown = models
        .iter()
        .find(|m| m.0 == current)
        .map_or(current.clone(), label);
    egui::ComboBox::from_id_salt("llm")
        .selected_text(shown)
        .show_ui(ui, |ui| {
            for (i, m) in models.iter().enumerate() {
                // The first entry is the default: `None`.
                let value = (i > 0).then(|| m.0.clone());
                ui.selectable_value(&mut view.generator.model, value, label(m));
            }
        });
}

/// What the user did with a shown job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing.
    None,
    /// Reject it and generate again with the next seed.
    Regenerate,
}

/// Whether `job` is still waiting or working.
pub fn running(jobs: &Generations, job: Option<JobId>) -> bool {
    job.and_then(|j| jobs.jobs.get(&j))
        .is_some_and(|j| j.status.is_active())
}

/// A Generate button (disabled while `current` runs) and a Cancel button while it does; true
/// when Generate was clicked.
pub fn generate_button(
    ui: &mut egui::Ui,
    jobs: &Generations,
    current: Option<JobId>,
    ready: bool,
    actions: &mut Actions,
) -> bool {
    let busy = running(jobs, current);
    let mut clicked = false;
    ui.horizontal(|ui| {
        clicked = ui
            .add_enabled(!busy && ready, egui::Button::new("Generate"))
            .clicked();
        if busy
            && ui.button("Cancel").clicked()
            && let Some(job) = current
        {
            actions.cancel.write(CancelGeneration(job));
        }
    });
    clicked
}

/// A job's progress, result and the Accept / Reject / Regenerate buttons.
pub fn show_job(
    ui: &mut egui::Ui,
    view: &mut JobView,
    current: Option<JobId>,
    actions: &mut Actions,
) -> Decision {
    let Some(job_id) = current else {
        return Decision::None;
    };
    let Some(job) = view.jobs.jobs.get(&job_id) else {
        return Decision::None;
    };
    let mut decision = Decision::None;
    ui.separator();
    match &job.status {
        JobStatus::Queued => {
            ui.label("Queued...");
        }
        JobStatus::Loading(what) => {
            ui.add(
                egui::ProgressBar::new(0.0)
                    .text(what.as_str())
                    .animate(true),
            );
        }
        JobStatus::Running {
            tokens,
            tokens_per_second,
        } => {
            let budget = job.request.max_tokens().unwrap_or(1).max(1);
            let fraction = *tokens as f32 / budget as f32;
            ui.add(
                egui::ProgressBar::new(fraction.min(1.0))
                    .text(format!("{tokens} tokens, {tokens_per_second:.1} tok/s")),
            );
        }
        JobStatus::Sampling { step, total } => {
            ui.add(
                egui::ProgressBar::new(*step as f32 / (*total).max(1) as f32)
                    .text(format!("step {step}/{total}")),
            );
        }
        JobStatus::Failed(e) => {
            ui.colored_label(egui::Color32::LIGHT_RED, format!("Failed: {e}"));
        }
        JobStatus::Cancelled => {
            ui.label("Cancelled.");
        }
        JobStatus::Rejected => {
            ui.label("Rejected.");
        }
        JobStatus::Accepted(path) => {
            ui.label(format!("Accepted: {} (live now)", path.display()));
        }
        JobStatus::Staged if job.waiting_for_lock => {
            ui.label(
                "Accepting once the asset folder is free: a `sprout batch` or `sprout gen` is writing it.",
            );
        }
        JobStatus::Staged => {
            ui.horizontal(|ui| {
                if ui.button("Accept").clicked() {
                    actions.accept.write(AcceptGenerated(job_id));
                }
                if ui.button("Reject").clicked() {
                    actions.reject.write(RejectGenerated(job_id));
                }
                if ui.button("Regenerate").clicked() {
                    actions.reject.write(RejectGenerated(job_id));
                    decision = Decision::Regenerate;
                }
            });
        }
    }
    if job.preview.is_none()
        && let Some(live) = &job.live
    {
        view.textures.show(ui, job_id, "live", live, 8.0);
    }
    match &job.preview {
        Some(Preview::Dialogue(tree)) => {
            egui::ScrollArea::vertical()
                .max_height(300.0)
                .show(ui, |ui| dialogue::preview(ui, tree, view.library));
        }
        Some(Preview::Text(text)) => {
            egui::ScrollArea::vertical()
                .max_height(300.0)
                .show(ui, |ui| {
                    ui.add(
                        egui::Label::new(egui::RichText::new(text).monospace().size(11.0)).wrap(),
                    );
                });
        }
        Some(Preview::Images { images, note }) => {
            ui.horizontal_wrapped(|ui| {
                for (label, img) in images {
                    ui.vertical(|ui| {
                        let scale = if img.width() <= 32 { 6.0 } else { 2.0 };
                        view.textures.show(ui, job_id, label, img, scale);
                        ui.label(egui::RichText::new(label).small());
                    });
                }
            });
            ui.label(note);
        }
        None => {}
    }
    decision
}

/// The id `base`, or `base_2`, `base_3`... : the first that `taken` says is free.
pub fn fresh_id(base: &str, taken: impl Fn(&str) -> bool) -> Option<sprout_core::content::Id> {
    (1..1000)
        .map(|n| {
            if n == 1 {
                base.to_owned()
            } else {
                format!("{base}_{n}")
            }
        })
        .find(|id| !taken(id))
        .and_then(|id| sprout_core::content::Id::new(id).ok())
}
