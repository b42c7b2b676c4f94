//! Export, update and check of catalogs, and the game's lookup, on a small tree.

use std::path::Path;

use super::*;
use crate::content::{ContentSet, Id};

const NPC: &str = r#"Character(id: "mo", name: "Mo Reed", role: "Ferryman", personality: ["dry"],
    speech_style: "Short.", backstory: "Rows.", birthday: (season: Spring, day: 1), home: "dock",
    schedule: [], portrait: "portraits/mo.png", sprite: "sprites/npcs/mo.png")"#;

fn tree(greeting: &str, extra_choice: bool) -> String {
    let extra = if extra_choice {
        r#"(line: "mo_hi_start_c2", text: "Row me over.", next: End),"#
    } else {
        ""
    };
    format!(
        r#"DialogueTree(id: "mo_hi", situation: Daily, participants: ["mo"], entry: "start",
    nodes: [
        (id: "start", line: "mo_hi_start", speaker: "mo", text: {greeting:?}, tags: ["gruff"],
         next: Choices([
            (line: "mo_hi_start_c1", text: "Hello, \"Mo\".", next: Goto("bye")),
            {extra}
         ])),
        (id: "bye", line: "mo_hi_bye", speaker: "narrator", text: "He nods.", next: End),
    ])"#
    )
}

fn set(greeting: &str, extra_choice: bool) -> ContentSet {
    let mut set = ContentSet::new("assets");
    set.add_source("npcs/mo.npc.ron".into(), NPC).unwrap();
    set.add_source(
        "dialogue/mo_hi.dialogue.ron".into(),
        tree(greeting, extra_choice).as_str(),
    )
    .unwrap();
    set
}

fn export_text(existing: Option<&str>, set: &ContentSet) -> (String, ExportStats) {
    let existing = existing.map(|t| Catalog::parse(t, Path::new("fr.po")).unwrap());
    let (c, stats) = export(
        existing,
        &source_lines(set),
        "fr",
        "Test",
        "2026-01-01 00:00+0000",
    );
    (c.to_po_string(), stats)
}

/// `text` with the msgstr of the entry of `line` set to `translation`, as a translator would.
fn translate(text: &str, line: &str, translation: &str) -> String {
    let mut c = Catalog::parse(text, Path::new("fr.po")).unwrap();
    let po = &mut c.po_mut().entries;
    let e = po
        .iter_mut()
        .find(|e| e.msgctxt.as_deref() == Some(line))
        .unwrap();
    e.msgstr = Some(translation.into());
    e.flags.retain(|f| f != "fuzzy");
    e.previous_msgid = None;
    c.to_po_string()
}

#[test]
fn lines_come_with_speaker_situation_tags_and_place() {
    let set = set("Hm. Ferry's late.", false);
    let lines = source_lines(&set);
    let ids: Vec<&str> = lines.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["mo_hi_start", "mo_hi_start_c1", "mo_hi_bye"]);
    assert_eq!(lines[0].speaker_name, "Mo Reed");
    assert_eq!(lines[0].tags, [Id::new("gruff").unwrap()]);
    assert_eq!(lines[0].file, "dialogue/mo_hi.dialogue.ron");
    assert_eq!(lines[0].file_line, 3);
    assert_eq!(lines[1].speaker.as_str(), "player");
    assert_eq!(lines[1].answers.as_ref().unwrap().as_str(), "mo_hi_start");
    assert_eq!(lines[1].file_line, 5);
    assert_eq!(lines[2].speaker_name, "Narrator");
}

#[test]
fn a_new_catalog_has_every_line_untranslated_with_comments_and_references() {
    let (text, stats) = export_text(None, &set("Hm. Ferry's late.", false));
    assert_eq!(stats.added, 3);
    assert!(text.contains("\"Language: fr\\n\""), "{text}");
    assert!(text.contains(
        "#. speaker: Mo Reed (mo)\n#. situation: Daily, tree mo_hi\n#. tags: gruff\n\
         #: dialogue/mo_hi.dialogue.ron:3\nmsgctxt \"mo_hi_start\"\nmsgid \"Hm. Ferry's late.\"\nmsgstr \"\"\n"
    ), "{text}");
    assert!(text.contains("msgid \"Hello, \\\"Mo\\\".\""), "{text}");
    assert!(text.contains("#. a choice the player picks, answering line mo_hi_start"));
    let (c, problems) = check_catalog(
        &Catalog::parse(&text, Path::new("fr.po")).unwrap(),
        &source_lines(&set("Hm. Ferry's late.", false)),
    );
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        (c.lines, c.translated, c.missing, c.fuzzy, c.obsolete),
        (3, 0, 3, 0, 0)
    );
}

#[test]
fn export_is_idempotent_and_keeps_translations() {
    let s = set("Hm. Ferry's late.", false);
    let (first, _) = export_text(None, &s);
    let translated = translate(&first, "mo_hi_start_c1", "Bonjour, « Mo ».");
    let (again, stats) = export_text(Some(&translated), &s);
    assert_eq!(
        again, translated,
        "a second export changed an up-to-date catalog"
    );
    assert_eq!(stats.kept, 3);
    let (twice, _) = export_text(Some(&again), &s);
    assert_eq!(twice, again);
}

#[test]
fn changed_sources_go_fuzzy_removed_lines_obsolete_and_come_back() {
    let before = set("Hm. Ferry's late.", true);
    let (text, _) = export_text(None, &before);
    let text = translate(&text, "mo_hi_start", "Hm. Le bac est en retard.");
    let text = translate(&text, "mo_hi_start_c2", "Fais-moi traverser.");
    let text = translate(&text, "mo_hi_bye", "Il hoche la tête.");

    // The greeting changes and the second choice goes.
    let after = set("Hm. Ferry's very late.", false);
    let (updated, stats) = export_text(Some(&text), &after);
    assert_eq!(
        (stats.fuzzied, stats.obsoleted, stats.kept),
        (1, 1, 2),
        "{stats:?}"
    );
    assert!(updated.contains(
        "#, fuzzy\n#| msgid \"Hm. Ferry's late.\"\nmsgctxt \"mo_hi_start\"\nmsgid \"Hm. Ferry's very late.\"\nmsgstr \"Hm. Le bac est en retard.\""
    ), "{updated}");
    assert!(updated.contains("#~ msgctxt \"mo_hi_start_c2\"\n#~ msgid \"Row me over.\"\n#~ msgstr \"Fais-moi traverser.\""), "{updated}");
    let catalog = Catalog::parse(&updated, Path::new("fr.po")).unwrap();
    let (counts, problems) = check_catalog(&catalog, &source_lines(&after));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        (
            counts.translated,
            counts.fuzzy,
            counts.missing,
            counts.obsolete
        ),
        (1, 1, 1, 1)
    );
    assert!(!counts.complete());
    // The game shows the source for the fuzzy line, the translation for the other.
    let t = Translations::from_catalog("fr", &catalog);
    let id = |s: &str| Id::new(s).unwrap();
    assert_eq!(
        t.text(&id("mo_hi_start"), "Hm. Ferry's very late."),
        "Hm. Ferry's very late."
    );
    assert_eq!(t.text(&id("mo_hi_bye"), "He nods."), "Il hoche la tête.");
    assert_eq!(
        t.text(&id("mo_hi_start_c1"), "Hello, \"Mo\"."),
        "Hello, \"Mo\"."
    );

    // The choice comes back: its translation with it.
    let (revived, stats) = export_text(Some(&updated), &before);
    assert_eq!(stats.revived, 1);
    assert!(
        revived.contains(
            "msgctxt \"mo_hi_start_c2\"\nmsgid \"Row me over.\"\nmsgstr \"Fais-moi traverser.\""
        ),
        "{revived}"
    );
}

#[test]
fn a_catalog_that_names_no_line_or_has_an_old_source_is_reported() {
    let s = set("Hm. Ferry's late.", false);
    let (text, _) = export_text(None, &s);
    let text = translate(&text, "mo_hi_bye", "Il hoche la tête.");
    let text = format!("{text}\nmsgctxt \"mo_gone\"\nmsgid \"x\"\nmsgstr \"y\"\n");
    let catalog = Catalog::parse(&text, Path::new("fr.po")).unwrap();
    let changed = set("Hm. Ferry's late again.", false);
    let (counts, problems) = check_catalog(&catalog, &source_lines(&changed));
    let kinds: Vec<_> = problems.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [
            crate::validate::DiagnosticKind::StaleTranslation,
            crate::validate::DiagnosticKind::UnknownReference
        ]
    );
    assert!(problems[1].po_line.is_some_and(|l| l > 20), "{problems:?}");
    assert_eq!(
        (counts.translated, counts.missing, counts.obsolete),
        (1, 2, 1)
    );
}

#[test]
fn broken_po_text_is_a_parse_error_with_its_line() {
    for broken in [
        "msgid \"a\"\nmsgstr \"b\"\nthis is not po\n",
        "msgid \"a\"\nmsgstr \"b\" \"c\n",
        "msgid \"a \"quoted\" \"\nmsgstr \"b\"\n",
    ] {
        let err = Catalog::parse(broken, Path::new("fr.po"))
            .map(|_| ())
            .unwrap_err();
        assert!(matches!(err, Error::Parse { .. }), "{broken:?}: {err}");
    }
}

#[test]
fn language_codes() {
    for ok in ["fr", "de", "pt_BR", "ast", "es_419"] {
        check_language(ok).unwrap();
    }
    for bad in ["FR", "french", "fr-FR", "", "../x", "fr_br"] {
        assert!(check_language(bad).is_err(), "{bad}");
    }
}
