//! The Content tab (every problem with the loaded content) and the History tab (every job of the
//! session, with the provenance of what it made).

use bevy_egui::egui;

use crate::generate::Generations;
use crate::library::ContentStatus;

pub(super) fn content_tab(ui: &mut egui::Ui, status: &ContentStatus) {
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

pub(super) fn history_tab(ui: &mut egui::Ui, jobs: &Generations) {
    egui::ScrollArea::vertical()
        .max_height(360.0)
        .show(ui, |ui| {
            for (id, record) in jobs.records.iter().rev() {
                ui.label(
                    egui::RichText::new(format!(
                        "#{} {} - {:?}",
                        id.0,
                        record.job.describe(),
                        record.status
                    ))
                    .strong(),
                );
                if let Some(p) = &record.provenance {
                    let model = p.model.as_ref().map_or("-".to_owned(), |m| {
                        format!("{} ({}...)", m.id, &m.sha256[..12.min(m.sha256.len())])
                    });
                    ui.label(format!(
                        "    {} {}, model {model}, seed {}, inputs {}..., made {}",
                        p.generator,
                        p.generator_version,
                        p.seed,
                        &p.inputs_sha256[..12.min(p.inputs_sha256.len())],
                        p.created
                    ));
                }
            }
        });
}
