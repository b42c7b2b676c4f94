//! Translations and voice-over on the starter content: the shipped `fr.po` is up to date and
//! passes gettext's own checker, a translator's edit survives re-export, a changed source goes
//! fuzzy and the game's lookup falls back to it; the voice-over script lists every line once;
//! the game's font has a glyph for every character of every line and translation.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use sprout_core::content::ContentSet;
use sprout_core::export::vo;
use sprout_core::fs::copy_tree;
use sprout_core::loc::{self, Catalog, Translations};

use crate::support::assets;

fn starter() -> ContentSet {
    let (set, problems) = ContentSet::load_dir(&assets());
    assert!(problems.is_empty(), "{problems:?}");
    set
}

/// `msgfmt --check` on `path`, when gettext is installed (Debian: `gettext`).
fn msgfmt_check(path: &Path) -> Option<String> {
    let out = Command::new("msgfmt")
        .args(["--check", "--statistics", "-o", "/dev/null"])
        .arg(path)
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "msgfmt refused {}: {stderr}",
        path.display()
    );
    assert!(!stderr.contains("warning"), "{stderr}");
    Some(stderr)
}

#[test]
fn the_shipped_french_catalog_is_up_to_date_and_valid_gettext() {
    let set = starter();
    let path = loc::po_path(&assets(), "fr");
    let text = std::fs::read_to_string(&path).unwrap();
    let catalog = Catalog::parse(&text, &path).unwrap();
    let lines = loc::source_lines(&set);
    let (counts, problems) = loc::check_catalog(&catalog, &lines);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(counts.lines, lines.len());
    assert!(counts.translated >= 10, "{counts:?}");
    assert_eq!(counts.translated + counts.missing, counts.lines);
    // Exporting again changes nothing.
    let (again, stats) = loc::export(Some(catalog), &lines, "fr", "Kettle Hollow", "-");
    assert_eq!(again.to_po_string(), text, "{stats:?}");
    if let Some(stats) = msgfmt_check(&path) {
        assert!(
            stats.starts_with(&format!("{} translated", counts.translated)),
            "{stats}"
        );
    }
}

#[test]
fn a_translation_round_trips_and_a_changed_source_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_tree(&assets(), root).unwrap();
    let po = loc::po_path(root, "de");
    let (set, _) = ContentSet::load_dir(root);
    let (catalog, stats) = loc::export(
        None,
        &loc::source_lines(&set),
        "de",
        "Kettle Hollow",
        "2026-01-01 00:00+0000",
    );
    assert_eq!(stats.added, loc::source_lines(&set).len());
    // A translator fills one choice in, as Poedit would write it.
    let text = catalog.to_po_string().replace(
        "msgctxt \"sefa_first_blend_c1\"\nmsgid \"I'd love to.\"\nmsgstr \"\"",
        "msgctxt \"sefa_first_blend_c1\"\nmsgid \"I'd love to.\"\nmsgstr \"Sehr gern.\"",
    );
    std::fs::write(&po, &text).unwrap();
    msgfmt_check(&po);
    let t = Translations::parse("de", &text, &po).unwrap();
    let choice = sprout_core::content::Id::new("sefa_first_blend_c1").unwrap();
    assert_eq!(t.text(&choice, "I'd love to."), "Sehr gern.");
    assert!(sprout_core::validate::validate_dir(root).is_ok());

    // The writer changes the choice: re-export marks it fuzzy, the game shows the new source.
    let tree = root.join("dialogue/sefa_first.dialogue.ron");
    let src = std::fs::read_to_string(&tree).unwrap();
    std::fs::write(
        &tree,
        src.replace("\"I'd love to.\"", "\"I'd love a cup.\""),
    )
    .unwrap();
    let report = sprout_core::validate::validate_dir(root);
    assert!(
        report
            .diagnostics
            .iter()
            .any(|d| d.kind.code() == "stale_translation"),
        "{:?}",
        report.diagnostics
    );
    let (set, _) = ContentSet::load_dir(root);
    let (catalog, stats) = loc::export(
        Catalog::read(&po).unwrap(),
        &loc::source_lines(&set),
        "de",
        "-",
        "-",
    );
    assert_eq!(stats.fuzzied, 1);
    catalog.write(&po).unwrap();
    msgfmt_check(&po);
    let (counts, problems) = loc::check_catalog(&catalog, &loc::source_lines(&set));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!((counts.translated, counts.fuzzy), (0, 1));
    let t = Translations::from_catalog("de", &catalog);
    assert_eq!(t.text(&choice, "I'd love a cup."), "I'd love a cup.");
}

#[test]
fn the_voice_over_script_lists_every_line_once() {
    let set = starter();
    let rows = vo::vo_script(&set, "en");
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.line.id.as_str()).collect();
    assert_eq!(ids.len(), rows.len(), "a line is listed twice");
    let expected: usize = set
        .dialogues
        .iter()
        .flat_map(|d| &d.value.nodes)
        .map(|n| 1 + n.choices().len())
        .sum();
    assert_eq!(rows.len(), expected);
    let csv = vo::to_csv(&rows);
    assert_eq!(csv.lines().count(), rows.len() + 1);
    assert!(csv.contains(
        "sefa_first_sweeter,sefa,Sefa Marlow,\"Something local... Mm. Bettany's honey? Not on its own. Something from the ground as well. Oh, you're going to be useful. I can tell.\",FirstMeeting,sefa_first,happy thinking,,audio/vo/en/sefa_first_sweeter.ogg,no"
    ), "{csv}");
}

/// Every character a conversation can show (each line's source, each translation in every
/// `locales/*.po`, each speaker's name) has a glyph in the font the game sets as its default:
/// Bevy's own default font has ASCII only, and French shows `é` and `œ` as boxes in it.
#[test]
fn the_game_font_has_every_character_of_every_line_and_translation() {
    use skrifa::MetadataProvider;
    let bytes = std::fs::read(assets().join("fonts/FiraMono-Regular.ttf")).unwrap();
    let font = skrifa::FontRef::new(&bytes).unwrap();
    let charmap = font.charmap();
    let set = starter();
    let mut text = String::new();
    for line in loc::source_lines(&set) {
        text.push_str(&line.text);
        text.push_str(&line.speaker_name);
    }
    let langs = loc::languages(&assets());
    assert!(!langs.is_empty(), "no locales/*.po");
    let mut translated = 0;
    for (_, path) in &langs {
        let catalog = Catalog::read(path).unwrap().expect("the catalog");
        for e in catalog.entries() {
            if let Some(s) = e.msgstr.as_deref().filter(|s| !s.is_empty()) {
                text.push_str(s);
                translated += 1;
            }
        }
    }
    assert!(translated > 0, "no translated entry to check");
    let missing: BTreeSet<char> = text
        .chars()
        .filter(|c| !c.is_control() && charmap.map(*c).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "fonts/FiraMono-Regular.ttf has no glyph for {missing:?}"
    );
    // The check can fail: the game font has no CJK, as Bevy's ASCII subset had no `é`.
    assert!(charmap.map('é').is_some() && charmap.map('語').is_none());
}
