//! The Dialogue tab: pick a villager and a situation, describe what the conversation is about,
//! set the seed, generate; read the result as a tree.
//!
//! It runs the story pipeline's dialogue stage, like `sprout gen dialogue` and batches: the
//! project's templates, the schema, validation with every loaded file, the writer's checks
//! (no line said twice, none lifted from the examples) and repair.

use bevy_egui::egui;
use sprout_core::content::{DialogueTree, Effect, Id, Next, Situation, Target};
use sprout_core::story::{Job as StoryJob, JobSpec};

use super::panel::Actions;
use super::state::EditorState;
use super::widgets::{JobView, fresh_id, generate_button, model_picker, show_job};
use crate::generate::{Generate, Job};
use crate::library::Library;

/// The situations the panel can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SituationChoice {
    /// Small talk.
    Daily,
    /// The first meeting.
    FirstMeeting,
    /// Reaction to a liked gift.
    GiftLiked,
    /// Reaction to a disliked gift.
    GiftDisliked,
}

impl SituationChoice {
    const ALL: [SituationChoice; 4] = [
        Self::Daily,
        Self::FirstMeeting,
        Self::GiftLiked,
        Self::GiftDisliked,
    ];

    /// The choice for `situation`, when the panel offers it.
    fn of(situation: &Situation) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.situation() == *situation)
    }

    fn situation(self) -> Situation {
        match self {
            Self::Daily => Situation::Daily,
            Self::FirstMeeting => Situation::FirstMeeting,
            Self::GiftLiked => Situation::GiftLiked,
            Self::GiftDisliked => Situation::GiftDisliked,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Daily => "daily chat",
            Self::FirstMeeting => "first meeting",
            Self::GiftLiked => "gift liked",
            Self::GiftDisliked => "gift disliked",
        }
    }
}

pub(super) fn tab(
    ui: &mut egui::Ui,
    state: &mut EditorState,
    view: &mut JobView,
    actions: &mut Actions,
) {
    let library = view.library;
    let characters = library.characters();
    if state.npc.is_none() {
        state.npc = characters.first().map(|c| c.id.to_string());
    }
    egui::Grid::new("dialogue-request")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("Villager");
            let current = state.npc.clone().unwrap_or_default();
            let shown = library
                .character(&current)
                .map_or(current.clone(), |c| c.name.clone());
            egui::ComboBox::from_id_salt("npc")
                .selected_text(shown)
                .show_ui(ui, |ui| {
                    for c in &characters {
                        ui.selectable_value(&mut state.npc, Some(c.id.to_string()), &c.name);
                    }
                });
            ui.end_row();
            ui.label("Situation");
            egui::ComboBox::from_id_salt("situation")
                .selected_text(state.situation.label())
                .show_ui(ui, |ui| {
                    for s in SituationChoice::ALL {
                        ui.selectable_value(&mut state.situation, s, s.label());
                    }
                });
            ui.end_row();
            ui.label("About");
            ui.text_edit_singleline(&mut state.brief);
            ui.end_row();
            ui.label("Lines");
            ui.add(egui::Slider::new(&mut state.nodes, 1..=6));
            ui.end_row();
            ui.label("Seed");
            ui.add(egui::DragValue::new(&mut state.seed));
            ui.end_row();
            ui.label("Model");
            model_picker(ui, view);
            ui.end_row();
        });
    let ready = state.npc.is_some();
    if generate_button(ui, view.jobs, state.current, ready, actions) {
        submit(state, library, actions);
    }
    if show_job(ui, view, state.current, actions).follow(&mut state.seed, &mut state.current) {
        submit(state, library, actions);
    }
}

fn submit(state: &mut EditorState, library: &Library, actions: &mut Actions) {
    if let Some(spec) = dialogue_job(state, library) {
        let request = Generate::new(Job::Story(spec));
        state.current = Some(request.id);
        actions.generate.write(request);
    }
}

/// The Dialogue tab's fields that describe `spec`, when it is a dialogue job (the inverse of
/// `dialogue_job`; a situation the tab does not offer leaves its choice as it was).
pub(crate) fn fill(state: &mut EditorState, spec: &JobSpec) {
    if let StoryJob::Dialogue {
        npc,
        situation,
        nodes,
        brief,
        ..
    } = &spec.job
    {
        state.npc = Some(npc.to_string());
        if let Some(choice) = SituationChoice::of(situation) {
            state.situation = choice;
        }
        state.nodes = *nodes;
        state.brief.clone_from(brief);
        state.seed = spec.seed;
    }
}

/// The story job the panel's fields describe, with a tree id no loaded tree uses.
pub(crate) fn dialogue_job(state: &EditorState, library: &Library) -> Option<JobSpec> {
    let npc = state.npc.as_deref()?;
    let base = format!(
        "{npc}_{}_s{}",
        state.situation.situation().slug(),
        state.seed
    );
    let tree = fresh_id(&base, |id| library.dialogue(id).is_some())?;
    Some(JobSpec {
        job: StoryJob::Dialogue {
            npc: Id::new(npc).ok()?,
            situation: state.situation.situation(),
            season: None,
            nodes: state.nodes,
            brief: state.brief.clone(),
            id: Some(tree),
        },
        seed: state.seed,
        pick: None,
    })
}

/// The tree as indented, readable lines.
pub(crate) fn preview(ui: &mut egui::Ui, tree: &DialogueTree, library: &Library) {
    ui.label(egui::RichText::new(format!("{}  ({:?})", tree.id, tree.situation)).strong());
    for node in &tree.nodes {
        let who = match node.speaker.as_str() {
            "player" => "You".to_owned(),
            "narrator" => "Narrator".to_owned(),
            id => library
                .character(id)
                .map_or(id.to_owned(), |c| c.name.clone()),
        };
        ui.label(format!("[{}] {who}: {}", node.id, node.text));
        for e in &node.effects {
            ui.label(egui::RichText::new(format!("      effect: {}", effect_text(e))).weak());
        }
        match &node.next {
            Next::End => {
                ui.label(egui::RichText::new("      (end)").weak());
            }
            Next::Goto(id) => {
                ui.label(egui::RichText::new(format!("      -> {id}")).weak());
            }
            Next::Choices(cs) => {
                for (i, c) in cs.iter().enumerate() {
                    let to = match &c.next {
                        Target::End => "end".to_owned(),
                        Target::Goto(id) => id.to_string(),
                    };
                    ui.label(format!("      {}. {}  -> {to}", i + 1, c.text));
                }
            }
        }
    }
}

fn effect_text(e: &Effect) -> String {
    match e {
        Effect::Friendship { npc, points } => format!("friendship {npc} {points:+}"),
        other => format!("{other:?}"),
    }
}
