//! File writes that a watching game can never observe half-done, and folder copies.

use std::io::Write;
use std::path::Path;

use crate::{Error, Result};

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over `path`. Readers see the old file or the new one, never a mix. Parent folders
/// are created.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A leading dot keeps the temporary out of asset watchers' and the validator's sight.
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Copies the folder `from` into `to`, recursively: `to` and the folders below it are created,
/// files that exist are overwritten. Errors name the path that failed.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(to).map_err(io(to))?;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let (src, dest) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().map_err(io(&src))?.is_dir() {
            copy_tree(&src, &dest)?;
        } else {
            std::fs::copy(&src, &dest)
                .map_err(|e| {
                    std::io::Error::new(e.kind(), format!("copying to {}: {e}", dest.display()))
                })
                .map_err(io(&src))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_whole_files_and_leave_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/a.item.ron");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.item.ron"]);
    }

    #[test]
    fn copy_tree_copies_nested_folders_and_contents() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("from");
        std::fs::create_dir_all(from.join("a/b")).unwrap();
        std::fs::create_dir_all(from.join("empty")).unwrap();
        std::fs::write(from.join("top.ron"), "top").unwrap();
        std::fs::write(from.join("a/mid.ron"), "mid").unwrap();
        std::fs::write(from.join("a/b/deep.png"), [0u8, 1, 2, 255]).unwrap();
        let to = dir.path().join("to/inside");
        copy_tree(&from, &to).unwrap();
        for f in ["top.ron", "a/mid.ron", "a/b/deep.png"] {
            assert_eq!(
                std::fs::read(to.join(f)).unwrap(),
                std::fs::read(from.join(f)).unwrap(),
                "{f}"
            );
        }
        assert!(to.join("empty").is_dir());
        // Again over the copy: files are overwritten.
        std::fs::write(from.join("a/mid.ron"), "changed").unwrap();
        copy_tree(&from, &to).unwrap();
        assert_eq!(std::fs::read(to.join("a/mid.ron")).unwrap(), b"changed");
        // A missing source names itself.
        let e = copy_tree(&dir.path().join("nope"), &to).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }
}
