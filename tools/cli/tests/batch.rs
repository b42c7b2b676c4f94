//! `sprout batch` as scripts use it, with a real model (the registry's tiny one): a batch killed with SIGKILL
//! halfway resumes to exactly the files an uninterrupted run makes, with no job done twice; a
//! second run is all cache; `sprout report` and `sprout validate` agree the folder is clean.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const MANIFEST: &str = r#"Manifest(
    name: "resume",
    seed: 9,
    dialogue: [(npcs: Only(["pim", "sefa"]), situations: [Daily, GiftLiked], seasons: [Spring], nodes: 1)],
)"#;

fn sprout() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sprout"))
}

/// A project folder with a copy of the starter assets and the manifest.
fn project() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let assets = dir.path().join("assets");
    sprout_core::fs::copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets"),
        &assets,
    )
    .unwrap();
    let manifest = dir.path().join("resume.manifest.ron");
    std::fs::write(&manifest, MANIFEST).unwrap();
    (dir, assets, manifest)
}

fn batch(assets: &Path, manifest: &Path) -> Command {
    let mut c = sprout();
    c.arg("batch").arg(manifest).arg("--assets").arg(assets);
    // The registry's tiny model: the default (Qwen) is five times its size.
    c.args(["--model", "smollm2-135m-instruct-q4_1"]);
    c.arg("--prompts")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts"));
    c
}

fn generated(assets: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(assets.join("dialogue"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            (n.starts_with("pim_") || n.starts_with("sefa_")) && n.ends_with("_spring.dialogue.ron")
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn journal_lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join(".sprout/batch/resume.journal"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_killed_batch_resumes_to_the_same_files_without_duplicates() {
    // Uninterrupted.
    let (a_dir, a_assets, a_manifest) = project();
    let out = batch(&a_assets, &a_manifest).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("4 job(s)") && stdout.contains("0 failed"),
        "{stdout}"
    );
    let uninterrupted = generated(&a_assets);
    assert_eq!(
        uninterrupted.len(),
        4,
        "{:?}",
        uninterrupted.iter().map(|f| &f.0).collect::<Vec<_>>()
    );

    // Killed (SIGKILL) once two jobs are journaled, then resumed.
    let (b_dir, b_assets, b_manifest) = project();
    let mut child = batch(&b_assets, &b_manifest)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while journal_lines(b_dir.path()).len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the batch made no progress"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the batch ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let before_resume = journal_lines(b_dir.path()).len();
    assert!(before_resume < 4, "killed halfway");
    let out = batch(&b_assets, &b_manifest).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{before_resume} done earlier")),
        "{stdout}"
    );
    assert_eq!(
        generated(&b_assets),
        uninterrupted,
        "resumed run = uninterrupted run, byte for byte"
    );
    let lines = journal_lines(b_dir.path());
    assert_eq!(
        lines.len(),
        4,
        "one journal line per job, none twice: {lines:#?}"
    );

    // Again: nothing left to do.
    let out = batch(&b_assets, &b_manifest).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("4 done earlier") && stdout.contains("0 made"),
        "{stdout}"
    );

    // The report and the validator agree the game-facing folder is clean.
    let out = sprout()
        .args(["report", "--batch"])
        .arg(&b_manifest)
        .arg("--assets")
        .arg(&b_assets)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("4/4 delivered valid") && report.contains("invalid files:       0"),
        "{report}"
    );
    let out = sprout().arg("validate").arg(&b_assets).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    drop(a_dir);
}

#[test]
fn a_broken_manifest_is_a_clear_error_naming_file_and_line() {
    let (dir, assets, _) = project();
    let bad = dir.path().join("bad.manifest.ron");
    std::fs::write(&bad, "Manifest(\n    jobs: [Item(id: \"../../x\")],\n)").unwrap();
    let out = batch(&assets, &bad).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("bad.manifest.ron:2:"), "{stderr}");
}

/// Two writers on one folder: the second is refused at once, naming the first, and writes nothing
/// (before: both ran every job, 8 model calls and 8 journal lines for 4 jobs, both exit 0).
#[test]
fn a_second_batch_on_a_folder_in_use_is_refused_naming_the_holder() {
    let (dir, assets, manifest) = project();
    let state = sprout_core::story::Project::new(&assets).state;
    let held = sprout_core::fs::ProjectLock::try_acquire(&state, "sprout batch other").unwrap();
    let out = batch(&assets, &manifest).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("sprout batch other") && stderr.contains("being written by"),
        "{stderr}"
    );
    assert!(
        journal_lines(dir.path()).is_empty(),
        "the refused batch journaled"
    );
    // So are the other writers.
    let out = sprout().arg("placeholders").arg(&assets).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sprout batch other"));
    drop(held);
}

/// A manifest's name becomes a journal file name: a path in it is refused.
#[test]
fn a_manifest_name_that_is_a_path_is_refused() {
    let (dir, assets, _) = project();
    let bad = dir.path().join("evil.manifest.ron");
    std::fs::write(&bad, "Manifest(name: \"../../outside\", jobs: [])").unwrap();
    let out = batch(&assets, &bad).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("evil.manifest.ron") && stderr.contains("batch name"),
        "{stderr}"
    );
    assert!(!dir.path().join("outside.journal").exists());
}
