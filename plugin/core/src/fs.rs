//! File writes that a watching game can never observe half-done, folder copies, and the
//! project lock that keeps two writers out of one asset folder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

/// A file name no other writer (process or thread) uses at the same moment: `.{name}.{pid}-{n}.{ext}`
/// in `dir`. The leading dot keeps it out of asset watchers' and the validator's sight.
pub fn unique_temp_path(dir: &Path, name: &str, ext: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.{}-{n}.{ext}", std::process::id()))
}

/// Flushes a folder's entries (a rename into it) to disk. A no-op where folders cannot be opened
/// (Windows).
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder (named uniquely, so
/// two threads writing the same path never share it), flushed to disk, renamed over `path`, then
/// the folder flushed so the rename survives a power cut. Readers see the old file or the new
/// one, never a mix. Parent folders are created.
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
    let tmp = unique_temp_path(dir, &name, "tmp");
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// An exclusive lock on a project (an asset folder), held by everything that writes into it:
/// `sprout batch`, `sprout gen`, `sprout placeholders`, the editor's Accept. The lock is an OS
/// file lock on `lock` in the project's state folder (`story::Project::state`, `.sprout/` beside
/// the assets, out of the asset watcher's sight), so it is released when the holder exits,
/// however it exits; the file also names the holder (pid and command) for the message a second
/// writer gets.
#[derive(Debug)]
pub struct ProjectLock {
    file: std::fs::File,
    path: PathBuf,
}

impl ProjectLock {
    /// The lock file of the project whose state folder is `state`.
    pub fn path_for(state: &Path) -> PathBuf {
        state.join("lock")
    }

    /// Takes the lock of the project whose state folder is `state` for `holder` (e.g.
    /// `sprout batch story`), or fails at once with [`Error::Locked`] naming who holds it.
    pub fn try_acquire(state: &Path, holder: &str) -> Result<Self> {
        Self::acquire_inner(state, holder, false)
    }

    /// Takes the lock, waiting for the holder to finish.
    pub fn acquire(state: &Path, holder: &str) -> Result<Self> {
        Self::acquire_inner(state, holder, true)
    }

    fn acquire_inner(state: &Path, holder: &str, wait: bool) -> Result<Self> {
        let path = Self::path_for(state);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if wait {
            file.lock().map_err(io)?;
        } else {
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    let who = std::fs::read_to_string(&path).unwrap_or_default();
                    let who = who.trim();
                    return Err(Error::Locked {
                        path: path.clone(),
                        holder: if who.is_empty() {
                            "another process".into()
                        } else {
                            who.to_owned()
                        },
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        file.set_len(0).map_err(io)?;
        writeln!(file, "{holder} (pid {})", std::process::id()).map_err(io)?;
        Ok(Self { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ProjectLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
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
    fn threads_writing_one_path_never_share_a_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("shared.ron");
        std::thread::scope(|s| {
            for t in 0..8u8 {
                let p = &p;
                s.spawn(move || {
                    for _ in 0..50 {
                        write_atomic(p, &[t; 4096]).unwrap();
                    }
                });
            }
        });
        let b = std::fs::read(&p).unwrap();
        assert_eq!(b.len(), 4096);
        assert!(
            b.iter().all(|&x| x == b[0]),
            "a torn file: two writers shared a temporary"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_second_writer_is_refused_with_the_holders_name_until_the_first_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let first = ProjectLock::try_acquire(dir.path(), "sprout batch story").unwrap();
        let e = ProjectLock::try_acquire(dir.path(), "sprout gen npc").unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, Error::Locked { .. })
                && msg.contains("sprout batch story")
                && msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        let again = ProjectLock::try_acquire(dir.path(), "sprout gen npc").unwrap();
        // A waiting writer gets it once the holder lets go.
        let waited = std::thread::scope(|s| {
            let h = s.spawn(|| ProjectLock::acquire(dir.path(), "editor accept").map(|_| ()));
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(!h.is_finished(), "acquire did not wait for the holder");
            drop(again);
            h.join().unwrap()
        });
        waited.unwrap();
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
