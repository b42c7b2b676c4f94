//! The game's art set (`sprout_core::art::set`): planned from the starter content, made with the
//! embedded sprite model, and tracked through its provenance: missing and placeholder pieces are
//! made, a made piece is current, a changed prompt makes it stale, a hand edit or a hand-made file
//! is left alone.

use std::path::Path;

use sprout_core::art::{self, Context, State, set};
use sprout_core::cancel::CancelToken;
use sprout_core::content::ContentSet;
use sprout_core::diffusion::ImageBackend;
use sprout_core::diffusion::sprite::SpriteBackend;

use crate::support;

fn starter_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("assets");
    sprout_core::fs::copy_tree(&support::assets(), &root).expect("copy the starter assets");
    (tmp, root)
}

fn load(root: &Path) -> ContentSet {
    let (set, diagnostics) = ContentSet::load_dir(root);
    assert!(diagnostics.iter().all(|d| !d.is_error()), "{diagnostics:?}");
    set
}

#[test]
fn the_plan_covers_every_picture_the_starter_content_names() {
    let set = load(&support::assets());
    let pieces = set::plan(&set);
    let mains: Vec<String> = pieces
        .iter()
        .map(|p| p.main.to_string_lossy().into_owned())
        .collect();
    for d in &set.items {
        assert!(mains.contains(&d.value.icon.to_string()), "{}", d.value.id);
    }
    for d in &set.crops {
        assert!(mains.contains(&d.value.ripe_sprite.to_string()));
    }
    for d in &set.characters {
        assert!(mains.contains(&d.value.sprite.to_string()));
        assert!(mains.contains(&d.value.portrait.to_string()));
    }
    let world = &set.worlds[0].value;
    for g in &world.art.ground {
        assert!(mains.contains(&g.image.to_string()));
    }
    for b in &world.art.buildings {
        assert!(mains.contains(&b.image.to_string()));
    }
    // Every piece is drawn in the world's palette, and no two pieces share a file or draw the
    // same picture (the same recipe, prompt and seed).
    assert!(pieces.iter().all(|p| p.job.palette == world.art.palette));
    let mut unique = mains.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), mains.len());
    let mut drawn: Vec<(&str, &str, u64)> = pieces
        .iter()
        .map(|p| (p.job.recipe.name(), p.job.prompt.as_str(), p.job.seed))
        .collect();
    drawn.sort_unstable();
    drawn.dedup();
    assert_eq!(drawn.len(), pieces.len());
    // A character's sprite and portrait are drawn from its appearance.
    let bettany = pieces
        .iter()
        .find(|p| p.label == "sprite of bettany")
        .expect("bettany's sprite");
    assert_eq!(bettany.job.prompt, "woman walking");
    let portrait = pieces
        .iter()
        .find(|p| p.label == "portrait of bettany")
        .expect("bettany's portrait");
    assert_eq!(portrait.job.prompt, "old woman white hair");
    // An item or crop is drawn from its `look` (words the sprite model knows), else its name.
    let prompt_of = |label: &str| {
        pieces
            .iter()
            .find(|p| p.label == label)
            .map(|p| p.job.prompt.clone())
            .unwrap_or_else(|| panic!("{label}"))
    };
    assert_eq!(prompt_of("icon of frost_kale"), "broccoli");
    assert_eq!(prompt_of("crop sweetcorn"), "ear of corn");
    let (_dir, root) = starter_copy();
    let file = root.join("items/frost_kale.item.ron");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("    look: Some(\"broccoli\"),\n", "")).unwrap();
    let unset = set::plan(&load(&root));
    let kale = unset
        .iter()
        .find(|p| p.label == "icon of frost_kale")
        .unwrap();
    assert_eq!(kale.job.prompt, "frost kale");
}

#[test]
fn pieces_are_made_then_current_and_hand_edits_are_kept() {
    let (_tmp, root) = starter_copy();
    let mut set = load(&root);
    let mut backend = SpriteBackend::embedded().expect("the embedded sprite model");
    backend.finish = None;
    let model = backend.model_ref();
    let pieces = set::plan(&set);
    let grass = pieces
        .iter()
        .find(|p| p.label == "grass ground")
        .expect("grass")
        .clone();
    let icon = pieces
        .iter()
        .find(|p| p.label == "icon of wild_violet")
        .expect("violet")
        .clone();
    // The starter art is all current; take the tile away and put a placeholder in the icon's
    // place, as a fresh project would have them.
    assert_eq!(set::state(&root, &grass, model.as_ref()), State::Current);
    for main in [&grass.main, &icon.main] {
        std::fs::remove_file(root.join(main)).expect("remove");
        std::fs::remove_file(root.join(format!("{}.prov.ron", main.display()))).expect("rm");
    }
    assert_eq!(set::state(&root, &grass, model.as_ref()), State::Missing);
    sprout_core::placeholder::draw_missing(&load(&root), false).expect("placeholders");
    assert_eq!(set::state(&root, &icon, model.as_ref()), State::Placeholder);

    let palettes = root.join("palettes");
    for piece in [&grass, &icon] {
        let cx = Context {
            root: &root,
            palettes: &palettes,
            content: &set,
            cancel: CancelToken::new(),
            previews: 0,
        };
        let made = art::make(&piece.job, &cx, Some(&mut backend), &mut |_| {}).expect("made");
        made.write(&root).expect("written");
        assert_eq!(set::state(&root, piece, model.as_ref()), State::Current);
    }
    // The tile is opaque and 16×16; the icon keeps its transparency.
    let tile = image::open(root.join(&grass.main))
        .expect("tile")
        .to_rgba8();
    assert_eq!(tile.dimensions(), (16, 16));
    assert!(tile.pixels().all(|p| p[3] == 255));

    // A different prompt or model makes a piece stale.
    let mut reworded = grass.clone();
    reworded.job.prompt = "blue grass".into();
    assert!(matches!(
        set::state(&root, &reworded, model.as_ref()),
        State::Stale(why) if why.contains("prompt")
    ));
    let other_model = sprout_core::content::ModelRef {
        id: "another-model".into(),
        sha256: "0".repeat(64),
    };
    assert!(matches!(
        set::state(&root, &grass, Some(&other_model)),
        State::Stale(why) if why.contains("model")
    ));

    // A hand edit is kept, and so is a file that was never generated.
    std::fs::write(root.join(&grass.main), b"not what was generated").expect("edit");
    assert_eq!(set::state(&root, &grass, model.as_ref()), State::Edited);
    assert!(!State::Edited.needs_making());
    std::fs::remove_file(root.join(format!("{}.prov.ron", icon.main.display()))).expect("rm");
    assert_eq!(set::state(&root, &icon, model.as_ref()), State::HandMade);
    assert!(!State::HandMade.needs_making());
    set = load(&root);
    assert_eq!(set::plan(&set).len(), pieces.len());
}

#[test]
fn every_picture_the_starter_content_names_is_generated_and_current() {
    // What ships was made by `sprout art assets` with the embedded model, and nobody has
    // touched it since: no placeholder, no hand edit, no piece left behind by a prompt change.
    let root = support::assets();
    let set = load(&root);
    let backend = SpriteBackend::embedded().expect("the embedded sprite model");
    let model = backend.model_ref();
    let behind: Vec<String> = set::plan(&set)
        .iter()
        .filter_map(|p| {
            let state = set::state(&root, p, model.as_ref());
            (state != State::Current).then(|| format!("{}: {state:?}", p.main.display()))
        })
        .collect();
    assert!(
        behind.is_empty(),
        "run `sprout art assets`:\n{}",
        behind.join("\n")
    );
}
