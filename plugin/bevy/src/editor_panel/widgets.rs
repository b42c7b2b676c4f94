//! The pieces every tab shares: image previews at pixel scale ([`Textures`]), the model picker,
//! the Generate / Cancel buttons, and a job's progress, preview and Accept / Reject / Regenerate
//! (and, for best-of-N story jobs, its candidates with their scores and "Use this one").

use std::collections::HashMap;

use bevy_egui::egui;

use super::dialogue;
use super::panel::Actions;
use crate::generate::{
    AcceptGenerated, CancelGeneration, Generate, Generations, GeneratorSettings, JobId, JobStatus,
    Preview, Record, RejectGenerated,
};
use crate::library::Library;

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

/// The sprite-model picker: sets [`GeneratorSettings::sprite_model`] for the art jobs submitted
/// from now on, to the compiled-in model (`None`) or one of
/// [`GeneratorSettings::sprite_models`] (shown by folder name; the path on hover).
pub fn sprite_model_picker(ui: &mut egui::Ui, salt: &str, view: &mut JobView) {
    const BUILT_IN: &str = "built-in (16×16)";
    let name = |dir: &std::path::Path| {
        dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    let GeneratorSettings {
        sprite_model,
        sprite_models,
        ..
    } = &mut *view.generator;
    let shown = sprite_model
        .as_deref()
        .map_or_else(|| BUILT_IN.to_owned(), name);
    egui::ComboBox::from_id_salt(salt)
        .selected_text(shown)
        .show_ui(ui, |ui| {
            ui.selectable_value(sprite_model, None, BUILT_IN);
            for dir in sprite_models.iter() {
                ui.selectable_value(sprite_model, Some(dir.clone()), name(dir))
                    .on_hover_text(dir.display().to_string());
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
    /// It was rejected for another of its candidates, asked for as this new job.
    Picked(JobId),
}

impl Decision {
    /// What a story tab does with it: Regenerate moves the tab's `seed` on and asks for the job
    /// again (true); a pick becomes the tab's `current` job.
    pub fn follow(self, seed: &mut u64, current: &mut Option<JobId>) -> bool {
        match self {
            Self::Regenerate => {
                *seed += 1;
                true
            }
            Self::Picked(job) => {
                *current = Some(job);
                false
            }
            Self::None => false,
        }
    }
}

/// Whether `job` is still waiting or working.
pub fn running(jobs: &Generations, job: Option<JobId>) -> bool {
    job.and_then(|j| jobs.records.get(&j))
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
    let Some(job) = view.jobs.records.get(&job_id) else {
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
            let budget = job.job.max_tokens().unwrap_or(1).max(1);
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
    // Under the preview: best-of-N's other candidates, any of which the designer may keep.
    if job.status == JobStatus::Staged
        && !job.waiting_for_lock
        && let Some(number) = candidates(ui, job)
        && let Some(again) = job.job.picking(number)
    {
        // The listed candidate, made again from its own seed: staged as a job of its own.
        actions.reject.write(RejectGenerated(job_id));
        let request = Generate::new(again);
        decision = Decision::Picked(request.id);
        actions.generate.write(request);
    }
    decision
}

/// Best-of-N's candidates of a staged story job, best first, each with its score and its first
/// line or problems, and a "Use this one" button beside those not kept: the number clicked.
fn candidates(ui: &mut egui::Ui, job: &Record) -> Option<u32> {
    if job.candidates.len() < 2 {
        return None;
    }
    let mut ranked: Vec<_> = job.candidates.iter().collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.number.cmp(&b.number)));
    let mut clicked = None;
    egui::CollapsingHeader::new(format!("{} candidates (best kept)", ranked.len()))
        .default_open(true)
        .show(ui, |ui| {
            for c in ranked {
                ui.horizontal_wrapped(|ui| {
                    ui.label(
                        egui::RichText::new(format!("#{} {:+.2}", c.number, c.score)).monospace(),
                    );
                    if c.kept {
                        ui.label(egui::RichText::new("kept").strong());
                    } else if ui.small_button("Use this one").clicked() {
                        clicked = Some(c.number);
                    }
                    ui.label(egui::RichText::new(c.summary()).small());
                });
            }
        });
    clicked
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
