//! The NPC and Quest tabs: a new villager or a quest through the story pipeline (the project's
//! prompt templates, schema-constrained decoding, validation against all loaded content, and
//! repair), previewed as the RON file it will be.

use bevy_egui::egui;
use sprout_core::content::Id;
use sprout_core::story::{Job as StoryJob, JobSpec};

use super::panel::Actions;
use super::widgets::{JobView, fresh_id, generate_button, model_picker, show_job};
use crate::generate::{Generate, Job, JobId};
use crate::library::Library;

/// The NPC tab's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct NpcForm {
    /// The new villager's id (a free one is made from it).
    pub id: String,
    /// Who they are, in a few words.
    pub brief: String,
    /// Sampling seed.
    pub seed: u64,
    /// The job shown.
    pub current: Option<JobId>,
}

impl Default for NpcForm {
    fn default() -> Self {
        Self {
            id: "newcomer".into(),
            brief: String::new(),
            seed: 1,
            current: None,
        }
    }
}

/// The Quest tab's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestForm {
    /// Who gives it.
    pub giver: Option<String>,
    /// The quest's id (a free one is made from it).
    pub id: String,
    /// What the favour is.
    pub brief: String,
    /// Sampling seed.
    pub seed: u64,
    /// The job shown.
    pub current: Option<JobId>,
}

impl Default for QuestForm {
    fn default() -> Self {
        Self {
            giver: None,
            id: "favour".into(),
            brief: String::new(),
            seed: 1,
            current: None,
        }
    }
}

impl NpcForm {
    /// The fields that describe `spec`, when it is an NPC job (the inverse of `npc_job`).
    pub(crate) fn fill(&mut self, spec: &JobSpec) {
        if let StoryJob::Npc { id, brief } = &spec.job {
            self.id = id.to_string();
            self.brief.clone_from(brief);
            self.seed = spec.seed;
        }
    }
}

impl QuestForm {
    /// The fields that describe `spec`, when it is a quest job (the inverse of `quest_job`).
    pub(crate) fn fill(&mut self, spec: &JobSpec) {
        if let StoryJob::Quest { id, giver, brief } = &spec.job {
            self.id = id.to_string();
            self.giver = Some(giver.to_string());
            self.brief.clone_from(brief);
            self.seed = spec.seed;
        }
    }
}

/// The NPC job the form describes, with an id no loaded villager uses.
pub(crate) fn npc_job(form: &NpcForm, library: &Library) -> Option<JobSpec> {
    let id = fresh_id(&form.id, |id| library.character(id).is_some())?;
    Some(JobSpec {
        job: StoryJob::Npc {
            id,
            brief: form.brief.clone(),
        },
        seed: form.seed,
        pick: None,
    })
}

/// The quest job the form describes, with an id no loaded quest uses.
pub(crate) fn quest_job(form: &QuestForm, library: &Library) -> Option<JobSpec> {
    let giver = Id::new(form.giver.as_deref()?).ok()?;
    let id = fresh_id(&form.id, |id| library.quest(id).is_some())?;
    Some(JobSpec {
        job: StoryJob::Quest {
            id,
            giver,
            brief: form.brief.clone(),
        },
        seed: form.seed,
        pick: None,
    })
}

pub(super) fn npc_tab(
    ui: &mut egui::Ui,
    form: &mut NpcForm,
    view: &mut JobView,
    actions: &mut Actions,
) {
    let library = view.library;
    let job = npc_job(form, library);
    egui::Grid::new("npc-request")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("Id");
            ui.text_edit_singleline(&mut form.id);
            ui.end_row();
            ui.label("Who");
            ui.text_edit_singleline(&mut form.brief);
            ui.end_row();
            ui.label("Seed");
            ui.add(egui::DragValue::new(&mut form.seed));
            ui.end_row();
            ui.label("Writes");
            ui.label(job.as_ref().map_or_else(
                || "(the id must be lowercase letters, digits and _)".to_owned(),
                |s| format!("npcs/{}.npc.ron + placeholder art", id_of(s)),
            ));
            ui.end_row();
        });
    let mut submit = generate_button(ui, view.jobs, form.current, job.is_some(), actions);
    submit |= show_job(ui, view, form.current, actions).follow(&mut form.seed, &mut form.current);
    if submit && let Some(spec) = npc_job(form, library) {
        form.current = Some(send(spec, actions));
    }
}

pub(super) fn quest_tab(
    ui: &mut egui::Ui,
    form: &mut QuestForm,
    view: &mut JobView,
    actions: &mut Actions,
) {
    let library = view.library;
    let characters = library.characters();
    if form.giver.is_none() {
        form.giver = characters.first().map(|c| c.id.to_string());
    }
    let job = quest_job(form, library);
    egui::Grid::new("quest-request")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("Giver");
            let current = form.giver.clone().unwrap_or_default();
            let shown = library
                .character(&current)
                .map_or(current.clone(), |c| c.name.clone());
            egui::ComboBox::from_id_salt("quest-giver")
                .selected_text(shown)
                .show_ui(ui, |ui| {
                    for c in &characters {
                        ui.selectable_value(&mut form.giver, Some(c.id.to_string()), &c.name);
                    }
                });
            ui.end_row();
            ui.label("Id");
            ui.text_edit_singleline(&mut form.id);
            ui.end_row();
            ui.label("Favour");
            ui.text_edit_singleline(&mut form.brief);
            ui.end_row();
            ui.label("Seed");
            ui.add(egui::DragValue::new(&mut form.seed));
            ui.end_row();
            ui.label("Model");
            model_picker(ui, view);
            ui.end_row();
            ui.label("Writes");
            ui.label(job.as_ref().map_or_else(
                || "(pick a giver; the id must be lowercase letters, digits and _)".to_owned(),
                |s| format!("quests/{}.quest.ron", id_of(s)),
            ));
            ui.end_row();
        });
    let mut submit = generate_button(ui, view.jobs, form.current, job.is_some(), actions);
    submit |= show_job(ui, view, form.current, actions).follow(&mut form.seed, &mut form.current);
    if submit && let Some(spec) = quest_job(form, library) {
        form.current = Some(send(spec, actions));
    }
}

fn id_of(spec: &JobSpec) -> String {
    spec.job
        .output_id()
        .map_or_else(|_| "?".into(), |id| id.to_string())
}

fn send(spec: JobSpec, actions: &mut Actions) -> JobId {
    let request = Generate::new(Job::Story(spec));
    let id = request.id;
    actions.generate.write(request);
    id
}
