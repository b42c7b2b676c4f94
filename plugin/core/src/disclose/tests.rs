//! Counts against a folder whose provenance is known file by file.

use std::path::Path;

use super::*;
use crate::content::provenance::{sha256_hex, sidecar_path};

fn sidecar(bytes: &[u8], model: Option<&str>) -> String {
    let model = model.map_or("None".to_owned(), |m| {
        format!("Some((id: {m:?}, sha256: \"abc\"))")
    });
    format!(
        "Provenance(generator: \"test\", generator_version: \"0\", model: {model}, \
         inputs_sha256: \"0\", output_sha256: {:?}, seed: 1, created: \"2026-01-01T00:00:00Z\")",
        sha256_hex(bytes)
    )
}

fn put(root: &Path, rel: &str, bytes: &[u8], prov: Option<Option<&str>>) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    if let Some(model) = prov {
        std::fs::write(sidecar_path(&p), sidecar(bytes, model)).unwrap();
    }
}

#[test]
fn counts_follow_provenance_file_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(
        root,
        "sprites/items/egg.png",
        b"png1",
        Some(Some("sprout-sprite")),
    );
    put(
        root,
        "sprites/items/jam.png",
        b"png2",
        Some(Some("sprout-sprite")),
    );
    // Generated, then edited by hand: the bytes no longer match.
    put(
        root,
        "portraits/mo.png",
        b"png3",
        Some(Some("sprout-sprite")),
    );
    std::fs::write(root.join("portraits/mo.png"), b"png3, touched up").unwrap();
    put(root, "portraits/bo.png", b"png4", Some(None));
    put(root, "textures/grass.png", b"png5", None);
    put(
        root,
        "dialogue/mo_hi.dialogue.ron",
        b"(x)",
        Some(Some("smollm2")),
    );
    put(root, "dialogue/bo_hi.dialogue.ron", b"(y)", None);
    put(root, "locales/fr.po", b"msgid \"\"\n", None);
    put(root, "README.txt", b"not content", None);
    put(root, ".sprout/cache/x.ron", b"cache", None);

    let sprite = ModelUse {
        id: "sprout-sprite".into(),
        name: "Sprout sprite model".into(),
        licence: "MIT OR Apache-2.0".into(),
        sha256: "abc".into(),
        local: true,
        files: 0,
    };
    let d = disclose(root, vec![sprite], Vec::new(), false).unwrap();
    let art = d.counts[&Category::Art];
    assert_eq!(
        (art.generated, art.edited, art.procedural, art.hand_made),
        (2, 1, 1, 1)
    );
    let text = d.counts[&Category::NarrativeText];
    assert_eq!(
        (text.generated, text.edited, text.procedural, text.hand_made),
        (1, 0, 0, 2)
    );
    assert_eq!(d.files.len(), 8, "{:?}", d.files);
    let by_id = |id: &str| d.models.iter().find(|m| m.id == id).unwrap();
    assert_eq!(by_id("sprout-sprite").files, 3);
    // A model that only provenance knows is listed too.
    assert_eq!(by_id("smollm2").files, 1);
    assert!(d.has_pre_generated());
    let md = to_markdown(&d);
    assert!(md.contains("| art | 2 | 1 | 1 | 1 | 5 |"), "{md}");
    assert!(
        md.contains("| narrative text | 1 | 0 | 0 | 2 | 3 |"),
        "{md}"
    );
    assert!(md.contains("cannot generate content while it runs"), "{md}");
}
