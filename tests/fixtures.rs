//! Broken fixtures: `fixtures/broken/<case>/` holds files laid over the valid `fixtures/base/`
//! set (and an optional `remove.txt` of base files to delete); `expect.txt` lists every
//! diagnostic the validator must report for that case — rule, file, line:col and field — and no
//! other. Each case breaks one rule, and is named for it (or for it and a variant:
//! `invalid_value_overflow`).

use std::collections::BTreeSet;
use std::path::Path;

use sprout_core::fs::copy_tree;
use sprout_core::validate::{Diagnostic, DiagnosticKind, validate_dir};

use crate::support::fixtures;

/// One expected or actual diagnostic, as `file rule line:col field`.
fn expectations(case: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(case.join("expect.txt"))
        .unwrap_or_else(|e| panic!("{}: {e}", case.display()))
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn run_case(case: &Path) -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_tree(&fixtures().join("base"), root).unwrap();
    copy_tree(case, root).unwrap();
    std::fs::remove_file(root.join("expect.txt")).unwrap();
    if let Ok(list) = std::fs::read_to_string(root.join("remove.txt")) {
        for f in list.lines().filter(|l| !l.trim().is_empty()) {
            std::fs::remove_file(root.join(f.trim())).unwrap();
        }
        std::fs::remove_file(root.join("remove.txt")).unwrap();
    }
    validate_dir(root)
        .diagnostics
        .iter()
        .filter(|d| d.kind != DiagnosticKind::Placeholder)
        .map(|d| {
            let file = d
                .file
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let file = if file.is_empty() {
                ".".to_owned()
            } else {
                file
            };
            let pos = d
                .position
                .map_or("-".to_owned(), |p| format!("{}:{}", p.line, p.col));
            let field = d.field.clone().unwrap_or_else(|| "-".into());
            format!("{file} {} {pos} {field}", d.kind.code())
        })
        .collect()
}

/// The fixtures' pictures are placeholders on purpose (they test content, not art): every other
/// test leaves out the `placeholder` warnings, and this one checks them.
fn without_placeholders(diagnostics: &[Diagnostic]) -> Vec<&Diagnostic> {
    diagnostics
        .iter()
        .filter(|d| d.kind != DiagnosticKind::Placeholder)
        .collect()
}

#[test]
fn base_fixture_is_valid() {
    let report = validate_dir(&fixtures().join("base"));
    let problems = without_placeholders(&report.diagnostics);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(report.files, 20);
}

#[test]
fn placeholders_warn_and_fail_a_release() {
    let report = validate_dir(&fixtures().join("base"));
    let placeholders = report
        .diagnostics
        .iter()
        .filter(|d| d.kind == DiagnosticKind::Placeholder)
        .count();
    // ana's and bo's sprite and portrait, the turnip's stages and ripe sprite, three icons.
    assert_eq!(placeholders, 10, "{:#?}", report.diagnostics);
    assert!(
        report.is_ok(),
        "placeholders are only warnings while developing"
    );
    let release = report.for_release();
    assert_eq!(release.error_count(), 10);
    assert!(!release.is_ok());
}

#[test]
fn every_broken_fixture_fails_with_its_own_error_at_the_right_place() {
    let mut cases: Vec<_> = std::fs::read_dir(fixtures().join("broken"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    let mut failures = Vec::new();
    for case in &cases {
        let expected = expectations(case);
        let name = case.file_name().unwrap().to_string_lossy();
        // The case's own rule must be among the expectations: the fixture really tests it. A
        // case is named for its rule, or for its rule and a variant (`invalid_value_overflow`).
        let rule_of_case = |rule: &str| {
            name == rule
                || name
                    .strip_prefix(rule)
                    .is_some_and(|variant| variant.starts_with('_'))
                || (name == "duplicate_line_id" && rule == "duplicate_id")
        };
        assert!(
            expected
                .iter()
                .any(|e| e.split(' ').nth(1).is_some_and(rule_of_case)),
            "{name}: expect.txt does not mention the rule the case is named for"
        );
        let actual = run_case(case);
        if actual != expected {
            failures.push(format!(
                "{name}:\n  missing: {:?}\n  unexpected: {:?}",
                expected.difference(&actual).collect::<Vec<_>>(),
                actual.difference(&expected).collect::<Vec<_>>()
            ));
        }
    }
    assert!(cases.len() >= 27, "only {} cases", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
