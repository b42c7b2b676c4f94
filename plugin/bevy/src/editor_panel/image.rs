//! The image tabs:
//! - **Item/Crop sprite**: an item's icon, or a crop's ripe sprite with its growth stages derived
//!   from it, from the sprite model the Model picker names (the compiled-in 16×16 one, or a
//!   folder of `models/sprite/` such as the 32×32 v2), finished to a palette of
//!   `assets/palettes/`;
//! - **Texture**: a ground tile from the sprite model, made seamless (shown tiled 3×3);
//! - **Prop**: a 3D prop (`props/<id>.glb`) extruded into voxels from a loaded sprite.
//!
//! Sampling shows its steps; results are shown at pixel scale over a checkerboard.

use std::path::Path;

use bevy_egui::egui;
use sprout_core::content::{AssetPath, Id};
use sprout_core::finish::Palette;

use sprout_core::art::{ArtJob, Recipe, set};

use super::panel::Actions;
use super::widgets::{Decision, JobView, fresh_id, generate_button, show_job, sprite_model_picker};
use crate::generate::{Generate, Job, JobId};
use crate::library::Library;

/// What the sprite tab draws for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpriteKind {
    /// An item's icon.
    Item,
    /// A crop's growth stages.
    Crop,
}

/// The Item/Crop sprite tab's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct SpriteForm {
    /// Item or crop.
    pub kind: SpriteKind,
    /// Which item or crop (by id).
    pub which: Option<String>,
    /// What to draw; empty: the item's or crop's name.
    pub prompt: String,
    /// Sampling seed.
    pub seed: u64,
    /// Sampling steps.
    pub steps: usize,
    /// Guidance scale.
    pub guidance: f64,
    /// Palette name, or `None` for colours chosen from the sprite.
    pub palette: Option<String>,
    /// The job shown.
    pub current: Option<JobId>,
}

impl Default for SpriteForm {
    fn default() -> Self {
        Self {
            kind: SpriteKind::Item,
            which: None,
            prompt: String::new(),
            seed: 1,
            steps: 12,
            guidance: 3.0,
            palette: Some("farm32".into()),
            current: None,
        }
    }
}

/// The Texture tab's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct TextureForm {
    /// The texture's name (`textures/<id>.png`).
    pub id: String,
    /// What to draw.
    pub prompt: String,
    /// Sampling seed.
    pub seed: u64,
    /// Sampling steps.
    pub steps: usize,
    /// Palette name.
    pub palette: Option<String>,
    /// The job shown.
    pub current: Option<JobId>,
}

impl Default for TextureForm {
    fn default() -> Self {
        Self {
            id: "grass".into(),
            prompt: "green grass leaf".into(),
            seed: 1,
            steps: 12,
            palette: Some("farm32".into()),
            current: None,
        }
    }
}

/// The Prop tab's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct PropForm {
    /// The prop's name (`props/<id>.glb`).
    pub id: String,
    /// The sprite to extrude.
    pub from: Option<String>,
    /// Voxels deep.
    pub depth: usize,
    /// The job shown.
    pub current: Option<JobId>,
}

impl Default for PropForm {
    fn default() -> Self {
        Self {
            id: "prop".into(),
            from: None,
            depth: 2,
            current: None,
        }
    }
}

/// The name a file is written under: `textures/grass.png` is `grass`.
fn stem(path: &Path) -> Option<String> {
    Some(path.file_stem()?.to_str()?.to_owned())
}

impl SpriteForm {
    /// The fields that describe `job`, when it is an icon or crop job (the inverse of
    /// `sprite_job`; a prompt that is `sprout art`'s own for the item or crop is shown empty, as
    /// it was asked).
    pub(crate) fn fill(&mut self, job: &ArtJob, library: &Library) {
        let (kind, which, default_prompt) = match &job.recipe {
            Recipe::ItemIcon { item } => (
                SpriteKind::Item,
                item,
                library.item(item.as_str()).map(set::item_prompt),
            ),
            Recipe::CropStages { crop } => (
                SpriteKind::Crop,
                crop,
                library.crop(crop.as_str()).map(set::crop_prompt),
            ),
            _ => return,
        };
        self.kind = kind;
        self.which = Some(which.to_string());
        self.prompt = if default_prompt.as_deref() == Some(job.prompt.as_str()) {
            String::new()
        } else {
            job.prompt.clone()
        };
        self.seed = job.seed;
        self.steps = job.steps.unwrap_or(self.steps);
        self.guidance = job.guidance.unwrap_or(self.guidance);
        self.palette.clone_from(&job.palette);
    }
}

impl TextureForm {
    /// The fields that describe `job`, when it is a texture job (the inverse of `texture_job`).
    pub(crate) fn fill(&mut self, job: &ArtJob) {
        if let Recipe::Texture { out, .. } = &job.recipe {
            self.id = stem(out).unwrap_or_default();
            self.prompt.clone_from(&job.prompt);
            self.seed = job.seed;
            self.steps = job.steps.unwrap_or(self.steps);
            self.palette.clone_from(&job.palette);
        }
    }
}

impl PropForm {
    /// The fields that describe `job`, when it is a prop job (the inverse of `prop_job`).
    pub(crate) fn fill(&mut self, job: &ArtJob) {
        if let Recipe::Prop {
            out, from, depth, ..
        } = &job.recipe
        {
            self.id = stem(out).unwrap_or_default();
            self.from = Some(from.to_string_lossy().into_owned());
            self.depth = *depth;
        }
    }
}

/// The sprite job the form describes.
pub(crate) fn sprite_job(form: &SpriteForm, library: &Library) -> Option<ArtJob> {
    let which = form.which.as_deref()?;
    // An empty prompt is `sprout art`'s: the look, else the name.
    let (recipe, default_prompt) = match form.kind {
        SpriteKind::Item => {
            let item = library.item(which)?;
            (
                Recipe::ItemIcon {
                    item: item.id.clone(),
                },
                set::item_prompt(item),
            )
        }
        SpriteKind::Crop => {
            let crop = library.crop(which)?;
            (
                Recipe::CropStages {
                    crop: crop.id.clone(),
                },
                set::crop_prompt(crop),
            )
        }
    };
    let prompt = if form.prompt.trim().is_empty() {
        default_prompt
    } else {
        form.prompt.clone()
    };
    Some(ArtJob {
        seed: form.seed,
        steps: Some(form.steps),
        guidance: Some(form.guidance),
        palette: form.palette.clone(),
        ..ArtJob::new(recipe, prompt)
    })
}

fn palette_picker(ui: &mut egui::Ui, salt: &str, palette: &mut Option<String>, asset_dir: &Path) {
    let names = Palette::names(&asset_dir.join("palettes"));
    egui::ComboBox::from_id_salt(salt)
        .selected_text(palette.clone().unwrap_or_else(|| "from the sprite".into()))
        .show_ui(ui, |ui| {
            ui.selectable_value(palette, None, "from the sprite");
            for n in names {
                ui.selectable_value(palette, Some(n.clone()), n);
            }
        });
}

pub(super) fn sprite_tab(
    ui: &mut egui::Ui,
    form: &mut SpriteForm,
    view: &mut JobView,
    actions: &mut Actions,
    asset_dir: &Path,
) {
    let library = view.library;
    let choices: Vec<(String, String)> = match form.kind {
        SpriteKind::Item => library
            .items()
            .into_iter()
            .map(|i| (i.id.to_string(), i.name.clone()))
            .collect(),
        SpriteKind::Crop => library
            .crops()
            .into_iter()
            .map(|c| (c.id.to_string(), c.name.clone()))
            .collect(),
    };
    if form
        .which
        .as_ref()
        .is_none_or(|w| !choices.iter().any(|(id, _)| id == w))
    {
        form.which = choices.first().map(|(id, _)| id.clone());
    }
    egui::Grid::new("sprite-request")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("For");
            ui.horizontal(|ui| {
                ui.selectable_value(&mut form.kind, SpriteKind::Item, "item icon");
                ui.selectable_value(&mut form.kind, SpriteKind::Crop, "crop stages");
            });
            ui.end_row();
            ui.label("Which");
            let shown = choices
                .iter()
                .find(|(id, _)| Some(id) == form.which.as_ref())
                .map_or_else(String::new, |(_, n)| n.clone());
            egui::ComboBox::from_id_salt("sprite-which")
                .selected_text(shown)
                .show_ui(ui, |ui| {
                    for (id, name) in &choices {
                        ui.selectable_value(&mut form.which, Some(id.clone()), name);
                    }
                });
            ui.end_row();
            ui.label("Prompt");
            ui.add(
                egui::TextEdit::singleline(&mut form.prompt).hint_text("(its look, else its name)"),
            );
            ui.end_row();
            ui.label("Seed");
            ui.add(egui::DragValue::new(&mut form.seed));
            ui.end_row();
            ui.label("Steps");
            ui.add(egui::Slider::new(&mut form.steps, 1..=30));
            ui.end_row();
            ui.label("Guidance");
            ui.add(egui::Slider::new(&mut form.guidance, 1.0..=8.0));
            ui.end_row();
            ui.label("Palette");
            palette_picker(ui, "sprite-palette", &mut form.palette, asset_dir);
            ui.end_row();
            ui.label("Model");
            sprite_model_picker(ui, "sprite-model", view);
            ui.end_row();
        });
    let job = sprite_job(form, library);
    let mut submit = generate_button(ui, view.jobs, form.current, job.is_some(), actions);
    if show_job(ui, view, form.current, actions) == Decision::Regenerate {
        form.seed += 1;
        submit = true;
    }
    if submit && let Some(request) = sprite_job(form, library) {
        form.current = Some(send(request, actions));
    }
}

/// The texture job the form describes: `textures/<id>.png`, seamless.
pub(crate) fn texture_job(form: &TextureForm) -> Option<ArtJob> {
    let id = Id::new(form.id.clone()).ok()?;
    let recipe = Recipe::Texture {
        out: format!("textures/{id}.png").into(),
        from: None,
        seamless: true,
        ground: None,
    };
    Some(ArtJob {
        seed: form.seed,
        steps: Some(form.steps),
        palette: form.palette.clone(),
        ..ArtJob::new(recipe, form.prompt.clone())
    })
}

pub(super) fn texture_tab(
    ui: &mut egui::Ui,
    form: &mut TextureForm,
    view: &mut JobView,
    actions: &mut Actions,
    asset_dir: &Path,
) {
    egui::Grid::new("texture-request")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("Name");
            ui.text_edit_singleline(&mut form.id);
            ui.end_row();
            ui.label("Prompt");
            ui.text_edit_singleline(&mut form.prompt);
            ui.end_row();
            ui.label("Seed");
            ui.add(egui::DragValue::new(&mut form.seed));
            ui.end_row();
            ui.label("Steps");
            ui.add(egui::Slider::new(&mut form.steps, 1..=30));
            ui.end_row();
            ui.label("Palette");
            palette_picker(ui, "texture-palette", &mut form.palette, asset_dir);
            ui.end_row();
            ui.label("Model");
            sprite_model_picker(ui, "texture-model", view);
            ui.end_row();
            ui.label("Writes");
            ui.label(format!("textures/{}.png (seamless)", form.id));
            ui.end_row();
        });
    let job = texture_job(form);
    let mut submit = generate_button(ui, view.jobs, form.current, job.is_some(), actions);
    if show_job(ui, view, form.current, actions) == Decision::Regenerate {
        form.seed += 1;
        submit = true;
    }
    if submit && let Some(request) = texture_job(form) {
        form.current = Some(send(request, actions));
    }
}

/// Every sprite the loaded content names that a prop can be made from: item icons and crops'
/// ripe sprites.
pub(crate) fn prop_sources(library: &Library) -> Vec<AssetPath> {
    let mut out: Vec<AssetPath> = library
        .items()
        .into_iter()
        .map(|i| i.icon.clone())
        .chain(library.crops().into_iter().map(|c| c.ripe_sprite.clone()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The prop job the form describes (`props/<id>.glb`, voxels), with a name no staged or
/// accepted prop of this session uses.
pub(crate) fn prop_job(form: &PropForm, asset_dir: &Path) -> Option<ArtJob> {
    let from = AssetPath::new(form.from.clone()?).ok()?;
    let id = fresh_id(&form.id, |id| {
        asset_dir.join("props").join(format!("{id}.glb")).exists()
    })?;
    Some(ArtJob::new(
        Recipe::Prop {
            out: format!("props/{id}.glb").into(),
            from: from.as_str().into(),
            depth: form.depth,
            pixel_size: 1.0 / 16.0,
            relief: false,
        },
        String::new(),
    ))
}

pub(super) fn prop_tab(
    ui: &mut egui::Ui,
    form: &mut PropForm,
    view: &mut JobView,
    actions: &mut Actions,
    asset_dir: &Path,
) {
    let sources = prop_sources(view.library);
    if form.from.is_none() {
        form.from = sources.first().map(ToString::to_string);
    }
    egui::Grid::new("prop-request")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("Name");
            ui.text_edit_singleline(&mut form.id);
            ui.end_row();
            ui.label("From sprite");
            egui::ComboBox::from_id_salt("prop-from")
                .selected_text(form.from.clone().unwrap_or_default())
                .show_ui(ui, |ui| {
                    for s in &sources {
                        ui.selectable_value(&mut form.from, Some(s.to_string()), s.as_str());
                    }
                });
            ui.end_row();
            ui.label("Depth");
            ui.add(egui::Slider::new(&mut form.depth, 1..=8).text("voxels"));
            ui.end_row();
        });
    let job = prop_job(form, asset_dir);
    let mut submit = generate_button(ui, view.jobs, form.current, job.is_some(), actions);
    if show_job(ui, view, form.current, actions) == Decision::Regenerate {
        submit = true;
    }
    if submit && let Some(request) = prop_job(form, asset_dir) {
        form.current = Some(send(request, actions));
    }
}

fn send(job: ArtJob, actions: &mut Actions) -> JobId {
    let request = Generate::new(Job::Art(job));
    let id = request.id;
    actions.generate.write(request);
    id
}
