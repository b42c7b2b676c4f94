//! The Art set tab: every picture the content names (the plan `sprout art` makes, from
//! `sprout_core::art::set`: icons, crop stages, villagers' sprites and portraits, the farmer,
//! ground tiles, buildings), each with its state read from its provenance, and **Remake** for any
//! one of them: the very job `sprout art` runs for that piece, staged for review like every job
//! (Accept writes it, hot reload shows it). Pieces drawn or edited by hand say so before they
//! are remade.

use bevy::prelude::*;
use bevy_egui::egui;
use sprout_core::art::set::{self, Piece, State};

use super::panel::Actions;
use super::state::EditorState;
use super::widgets::{Decision, JobView, running, show_job};
use crate::SproutSettings;
use crate::generate::{Generate, Job, JobId};
use crate::library::{ContentAssets, snapshot};

/// The Art set tab's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArtSetForm {
    /// The plan as last read, with each piece's state.
    pub pieces: Vec<(Piece, State)>,
    /// Whether the plan is to be read again (on first showing, after Accept, on Refresh).
    pub stale: bool,
    /// Only pieces whose label or file contains this.
    pub filter: String,
    /// The piece being remade (its index in `pieces`) and its job.
    pub current: Option<(usize, JobId)>,
    /// The seed offset of the next Remake of the current piece (Regenerate adds one).
    pub reseed: u64,
}

impl ArtSetForm {
    /// Shows `job` as the piece it remakes, when the plan has a piece with that job's recipe.
    pub(crate) fn fill(&mut self, id: JobId, job: &sprout_core::art::ArtJob) {
        if let Some(i) = self
            .pieces
            .iter()
            .position(|(p, _)| p.job.recipe == job.recipe)
        {
            self.current = Some((i, id));
        }
        self.stale = true;
    }
}

/// Reads the plan and every piece's state again when the tab asks.
pub(super) fn refresh(
    mut state: ResMut<EditorState>,
    server: Res<AssetServer>,
    assets: ContentAssets,
    settings: Res<SproutSettings>,
) {
    if !state.art_set.stale || !state.open || state.tab != super::state::Tab::ArtSet {
        return;
    }
    let content = snapshot(&server, &settings.asset_dir, &assets);
    let form = &mut state.art_set;
    form.pieces = set::plan(&content)
        .into_iter()
        .map(|piece| {
            // The model is left out: the worker's model may differ from the one on disk, and
            // loading it here would stall the frame; `sprout art --check` compares models too.
            let st = set::state(&settings.asset_dir, &piece, None);
            (piece, st)
        })
        .collect();
    form.stale = false;
}

fn colour(state: &State) -> egui::Color32 {
    match state {
        State::Current => egui::Color32::LIGHT_GREEN,
        State::Missing | State::Placeholder => egui::Color32::LIGHT_RED,
        State::Stale(_) => egui::Color32::YELLOW,
        State::Other(_) | State::HandMade | State::Edited => egui::Color32::LIGHT_BLUE,
    }
}

pub(super) fn tab(
    ui: &mut egui::Ui,
    form: &mut ArtSetForm,
    view: &mut JobView,
    actions: &mut Actions,
) {
    let behind = form.pieces.iter().filter(|(_, s)| s.needs_making()).count();
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} pieces, {} current, {behind} to make",
            form.pieces.len(),
            form.pieces
                .iter()
                .filter(|(_, s)| *s == State::Current)
                .count()
        ));
        if ui.button("Refresh").clicked() {
            form.stale = true;
        }
    });
    ui.horizontal(|ui| {
        ui.label("Filter");
        ui.add(egui::TextEdit::singleline(&mut form.filter).hint_text("sefa, tiles/, icon"));
    });
    let busy = running(view.jobs, form.current.map(|(_, j)| j));
    let mut remake = None;
    egui::ScrollArea::vertical()
        .max_height(220.0)
        .show(ui, |ui| {
            egui::Grid::new("art-set")
                .num_columns(3)
                .striped(true)
                .show(ui, |ui| {
                    for (i, (piece, st)) in form.pieces.iter().enumerate() {
                        let shown = form.filter.is_empty()
                            || piece.label.contains(&form.filter)
                            || piece.main.to_string_lossy().contains(&form.filter);
                        if !shown {
                            continue;
                        }
                        let why = match st {
                            State::Stale(why) | State::Other(why) => format!(" ({why})"),
                            _ => String::new(),
                        };
                        ui.colored_label(colour(st), st.word())
                            .on_hover_text(format!("{}{why}", piece.main.display()));
                        ui.label(&piece.label).on_hover_text(&piece.job.prompt);
                        let label = if matches!(st, State::HandMade | State::Edited) {
                            "Remake (replaces hand work)"
                        } else {
                            "Remake"
                        };
                        if ui.add_enabled(!busy, egui::Button::new(label)).clicked() {
                            remake = Some(i);
                        }
                        ui.end_row();
                    }
                });
        });
    let current = form.current.map(|(_, j)| j);
    if let Some((i, _)) = form.current
        && let Some((piece, _)) = form.pieces.get(i)
    {
        ui.label(format!("{}: \"{}\"", piece.label, piece.job.prompt));
        if form.reseed > 0 {
            ui.colored_label(
                egui::Color32::YELLOW,
                format!(
                    "seed {} (the plan's + {}): once accepted, `sprout art` calls it stale until \
                     the content names this seed",
                    piece.job.seed + form.reseed,
                    form.reseed
                ),
            );
        }
    }
    let before = current.and_then(|j| view.jobs.records.get(&j).map(|r| r.status.clone()));
    if show_job(ui, view, current, actions) == Decision::Regenerate
        && let Some((i, _)) = form.current
    {
        form.reseed += 1;
        remake = Some(i);
    }
    let after = current.and_then(|j| view.jobs.records.get(&j).map(|r| r.status.clone()));
    if before != after {
        form.stale = true;
    }
    if let Some(i) = remake {
        if form.current.is_none_or(|(c, _)| c != i) {
            form.reseed = 0;
        }
        let Some((piece, _)) = form.pieces.get(i) else {
            return;
        };
        let mut job = piece.job.clone();
        job.seed += form.reseed;
        let request = Generate::new(Job::Art(job));
        form.current = Some((i, request.id));
        actions.generate.write(request);
    }
}
