//! The in-game editor panel (feature `editor`, `bevy_egui`): F1 opens it. Pick a villager and a
//! situation, describe what the conversation is about, set the seed, generate; watch the progress,
//! read the result as a tree, then accept it (it is live a moment later), reject it or regenerate.
//! The Content tab lists every problem with the loaded content; History shows past jobs with their
//! provenance.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPlugin, EguiPrimaryContextPass, egui};
use sprout_core::content::{DialogueTree, Effect, Id, Next, Situation, Target};
use sprout_core::llm::structured::DialogueRequest;

use crate::generate::{
    AcceptGenerated, CancelGeneration, GenerateDialogue, Generations, JobId, JobStatus,
    RejectGenerated,
};
use crate::library::{ContentStatus, Library};

/// The panel's state.
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
    /// The job shown in the preview.
    pub current: Option<JobId>,
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
        }
    }
}

/// The panel's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Write a conversation.
    Dialogue,
    /// Problems with the content.
    Content,
    /// Past jobs and their provenance.
    History,
}

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

    fn slug(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::FirstMeeting => "first",
            Self::GiftLiked => "gift_liked",
            Self::GiftDisliked => "gift_disliked",
        }
    }
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

/// A tree id for a new conversation that no loaded tree uses yet.
fn fresh_id(library: &Library, npc: &str, situation: SituationChoice, seed: u64) -> Option<Id> {
    (0..1000)
        .map(|n| {
            if n == 0 {
                format!("{npc}_{}_s{seed}", situation.slug())
            } else {
                format!("{npc}_{}_s{seed}_{n}", situation.slug())
            }
        })
        .find(|id| library.dialogue(id).is_none())
        .and_then(|id| Id::new(id).ok())
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
    mut generate: MessageWriter<GenerateDialogue>,
    mut cancel: MessageWriter<CancelGeneration>,
    mut accept: MessageWriter<AcceptGenerated>,
    mut reject: MessageWriter<RejectGenerated>,
) -> Result {
    if !state.open {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    let mut open = true;
    egui::Window::new("Sprout editor (F1)")
        .open(&mut open)
        .default_width(460.0)
        .default_pos([790.0, 60.0])
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut state.tab, Tab::Dialogue, "Dialogue");
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
            match state.tab {
                Tab::Dialogue => dialogue_tab(
                    ui,
                    &mut state,
                    &library,
                    &jobs,
                    &mut generate,
                    &mut cancel,
                    &mut accept,
                    &mut reject,
                ),
                Tab::Content => content_tab(ui, &status),
                Tab::History => history_tab(ui, &jobs),
            }
        });
    if !open {
        state.open = false;
    }
    Ok(())
}

#[expect(clippy::too_many_arguments, reason = "one tab of the panel")]
fn dialogue_tab(
    ui: &mut egui::Ui,
    state: &mut EditorState,
    library: &Library,
    jobs: &Generations,
    generate: &mut MessageWriter<GenerateDialogue>,
    cancel: &mut MessageWriter<CancelGeneration>,
    accept: &mut MessageWriter<AcceptGenerated>,
    reject: &mut MessageWriter<RejectGenerated>,
) {
    let characters = library.characters();
    if state.npc.is_none() {
        state.npc = characters.first().map(|c| c.id.to_string());
    }
    egui::Grid::new("request").num_columns(2).show(ui, |ui| {
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
        ui.label("default (SmolLM2-135M-Instruct, local)");
        ui.end_row();
    });

    let running = state
        .current
        .and_then(|j| jobs.jobs.get(&j))
        .is_some_and(|j| {
            matches!(
                j.status,
                JobStatus::Queued | JobStatus::Loading(_) | JobStatus::Running { .. }
            )
        });
    ui.horizontal(|ui| {
        if ui
            .add_enabled(!running, egui::Button::new("Generate"))
            .clicked()
            && let Some(r) = build_request(state, library)
        {
            let job = JobId::new();
            generate.write(GenerateDialogue { job, request: r });
            state.current = Some(job);
        }
        if running
            && ui.button("Cancel").clicked()
            && let Some(job) = state.current
        {
            cancel.write(CancelGeneration(job));
        }
    });

    let Some(job_id) = state.current else { return };
    let Some(job) = jobs.jobs.get(&job_id) else {
        return;
    };
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
            let fraction = *tokens as f32 / job.request.max_tokens.max(1) as f32;
            ui.add(
                egui::ProgressBar::new(fraction.min(1.0))
                    .text(format!("{tokens} tokens, {tokens_per_second:.1} tok/s")),
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
        JobStatus::Staged => {
            ui.horizontal(|ui| {
                if ui.button("Accept").clicked() {
                    accept.write(AcceptGenerated(job_id));
                }
                if ui.button("Reject").clicked() {
                    reject.write(RejectGenerated(job_id));
                }
                if ui.button("Regenerate").clicked() {
                    reject.write(RejectGenerated(job_id));
                    state.seed += 1;
                    if let Some(r) = build_request(state, library) {
                        let job = JobId::new();
                        generate.write(GenerateDialogue { job, request: r });
                        state.current = Some(job);
                    }
                }
            });
        }
    }
    if let Some(tree) = &job.tree {
        egui::ScrollArea::vertical()
            .max_height(300.0)
            .show(ui, |ui| preview(ui, tree, library));
    }
}

/// The request the panel's fields describe, with a tree id no loaded tree uses.
pub fn build_request(state: &EditorState, library: &Library) -> Option<DialogueRequest> {
    let npc = state.npc.as_deref()?;
    let tree = fresh_id(library, npc, state.situation, state.seed)?;
    let mut r = DialogueRequest::new(Id::new(npc).ok()?, tree, state.situation.situation());
    r.nodes = state.nodes;
    r.brief = state.brief.clone();
    r.sampling.seed = state.seed;
    r.max_tokens = 120 * state.nodes + 80;
    Some(r)
}

/// The tree as indented, readable lines.
fn preview(ui: &mut egui::Ui, tree: &DialogueTree, library: &Library) {
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

fn content_tab(ui: &mut egui::Ui, status: &ContentStatus) {
    let lines = status.lines();
    if lines.is_empty() {
        ui.label(format!(
            "All content loads and validates ({} validations).",
            status.validations
        ));
    }
    egui::ScrollArea::vertical()
        .max_height(360.0)
        .show(ui, |ui| {
            for l in lines {
                ui.colored_label(egui::Color32::LIGHT_RED, l);
            }
        });
}

fn history_tab(ui: &mut egui::Ui, jobs: &Generations) {
    egui::ScrollArea::vertical()
        .max_height(360.0)
        .show(ui, |ui| {
            for (id, job) in jobs.jobs.iter().rev() {
                ui.label(
                    egui::RichText::new(format!(
                        "#{} {} for {} - {:?}",
                        id.0, job.request.tree_id, job.request.npc, job.status
                    ))
                    .strong(),
                );
                if let Some(p) = &job.provenance {
                    let model = p.model.as_ref().map_or("-".to_owned(), |m| {
                        format!("{} ({}...)", m.id, &m.sha256[..12.min(m.sha256.len())])
                    });
                    ui.label(format!(
                        "    model {model}, seed {}, inputs {}..., made {}",
                        p.seed,
                        &p.inputs_sha256[..12],
                        p.created
                    ));
                }
            }
        });
}
