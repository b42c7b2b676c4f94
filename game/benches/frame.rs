//! Frame time of the sample game on the software renderer (Mesa lavapipe under Xvfb, 1280×720),
//! in one run: the starter farm as it ships (5 villagers, an empty field); the load the issue
//! asks for, 20 villagers walking their schedules and 500 crops; and that load drawn the way the
//! game drew before its art-resolution canvas (`--full-res`: the world straight to the window),
//! the peer. Prints median, p95 and mean frame times of each and the ratios. Goal: ≤ 16 ms per
//! frame under load.
//!
//! `cargo bench -p sprout_farm --bench frame` (needs `xvfb-run` and a Vulkan driver, as
//! `scripts/test` installs). `FRAMES=n` changes the number of frames measured (default 600).
//!
//! The extra villagers are data, as everything else: copies of the starter villagers written as
//! `.npc.ron` files into a copy of the assets, wearing the originals' art.

use std::path::{Path, PathBuf};
use std::process::Command;

use sprout_core::content::{Character, Id};
use sprout_core::format::{parse, to_ron};

fn main() {
    let frames: u32 = std::env::var("FRAMES")
        .ok()
        .and_then(|f| f.parse().ok())
        .unwrap_or(600);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let repo = std::fs::canonicalize(repo).expect("the repository");

    let sample = run(&repo, frames, 0, false);
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let project = tmp.path();
    sprout_core::fs::copy_tree(&repo.join("assets"), &project.join("assets"))
        .expect("copy the assets");
    let villagers = add_villagers(&project.join("assets"), 20);
    let loaded = run(project, frames, 500, false);
    let before = run(project, frames, 500, true);

    println!("sample farm (5 villagers, no crops): {}", sample.line);
    println!(
        "under load ({villagers} villagers, 500 crops): {}",
        loaded.line
    );
    println!(
        "under load, drawn at full resolution (--full-res, as before the canvas): {}",
        before.line
    );
    println!(
        "ratio (full resolution / art resolution, median, under load): {:.2}",
        before.median / loaded.median
    );
    println!(
        "ratio (load / sample, median): {:.2}; goal median <= 16 ms: {}",
        loaded.median / sample.median,
        if loaded.median <= 16.0 {
            "met"
        } else {
            "not met"
        }
    );
}

struct Measured {
    line: String,
    median: f64,
}

/// Runs the game's bench mode on the project at `root` (drawing the world at full resolution
/// with `full_res`) and parses its report line.
fn run(root: &Path, frames: u32, crops: u32, full_res: bool) -> Measured {
    let saves = tempfile::tempdir().expect("a save folder");
    let output = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x720x24"])
        .arg(env!("CARGO_BIN_EXE_sprout_farm"))
        .args([
            "--bench",
            &frames.to_string(),
            "--crops",
            &crops.to_string(),
        ])
        .args(full_res.then_some("--full-res"))
        .env("BEVY_ASSET_ROOT", root)
        .env("SPROUT_SAVE_DIR", saves.path())
        .output()
        .expect("xvfb-run (install it with scripts/test)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(line) = stdout.lines().find(|l| l.starts_with("bench ")) else {
        panic!(
            "the game printed no bench line:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let median = line
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("median_ms="))
        .and_then(|v| v.parse().ok())
        .expect("median_ms in the bench line");
    Measured {
        line: line.to_owned(),
        median,
    }
}

/// Writes copies of the starter villagers until there are `total`, wearing the originals' art;
/// returns the number of villagers.
fn add_villagers(assets: &Path, total: usize) -> usize {
    let dir = assets.join("npcs");
    let mut originals: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("npcs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".npc.ron"))
        .collect();
    originals.sort();
    let mut count = originals.len();
    let mut k = 0;
    while count < total {
        let source = &originals[k % originals.len()];
        let text = std::fs::read_to_string(source).expect("read a villager");
        let mut c: Character = parse(&text).expect("parse a villager");
        let id = format!("{}_copy{}", c.id, k / originals.len() + 1);
        c.id = Id::new(id.clone()).expect("an id");
        c.name = format!("{} {}", c.name, k / originals.len() + 2);
        c.relationships.clear();
        sprout_core::fs::write_atomic(
            &dir.join(format!("{id}.npc.ron")),
            to_ron(&c).expect("write a villager").as_bytes(),
        )
        .expect("write a villager");
        count += 1;
        k += 1;
    }
    let (_, problems) = sprout_core::content::ContentSet::load_dir(assets);
    assert!(problems.is_empty(), "{problems:?}");
    count
}
