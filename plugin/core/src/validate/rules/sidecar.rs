//! Provenance sidecars: each describes a file that exists and has not changed since.

use crate::content::provenance::{sha256_hex, sidecar_target};
use crate::format::FieldPath;
use crate::validate::diagnostic::DiagnosticKind;

use super::Checker;

impl<'a> Checker<'a> {
    pub(super) fn sidecars(&mut self) {
        for d in &self.set.sidecars {
            let Some(target) = sidecar_target(&d.path) else {
                continue;
            };
            match std::fs::read(&target) {
                Err(_) => self.report(
                    d.into(),
                    DiagnosticKind::OrphanSidecar,
                    &FieldPath::root(),
                    format!("provenance for `{}`, which does not exist", target.display()),
                ),
                Ok(bytes) if sha256_hex(&bytes) != d.value.output_sha256 => self.report(
                    d.into(),
                    DiagnosticKind::EditedSinceGeneration,
                    &FieldPath::root().field("output_sha256"),
                    format!("`{}` changed since it was generated (by hand?): its provenance no longer describes it", target.display()),
                ),
                Ok(_) if d.value.generator == crate::placeholder::GENERATOR => self.report(
                    d.into(),
                    DiagnosticKind::Placeholder,
                    &FieldPath::root().field("generator"),
                    format!(
                        "`{}` is a placeholder: make it with `sprout art` before a release",
                        target.display()
                    ),
                ),
                Ok(_) => {}
            }
        }
    }
}
