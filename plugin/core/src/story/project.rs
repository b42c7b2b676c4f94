//! A project's folders: the assets the game loads, and Sprout's own state beside them in
//! `.sprout/` (the generation cache, rejected candidates, batch journals, the editor's staging
//! folder and the writers' lock). This file is the one place that layout is spelled out.

use std::path::PathBuf;

use crate::fs::ProjectLock;

/// The name of Sprout's state folder, next to the asset folder.
pub const STATE_DIR: &str = ".sprout";

/// Where a project keeps its assets and Sprout's own state (cache, rejected candidates, batch
/// journals): `.sprout/` next to the asset folder, never inside it, so the game never loads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The asset folder.
    pub assets: PathBuf,
    /// Sprout's state folder.
    pub state: PathBuf,
}

impl Project {
    /// The project whose asset folder is `assets`; state goes to `<assets>/../.sprout`.
    pub fn new(assets: impl Into<PathBuf>) -> Self {
        let assets = assets.into();
        let state = assets
            .parent()
            .map_or_else(|| PathBuf::from(STATE_DIR), |p| p.join(STATE_DIR));
        Self { assets, state }
    }

    /// Content-addressed cache of generated assets.
    pub fn cache_dir(&self) -> PathBuf {
        self.state.join("cache").join("story")
    }

    /// Candidates that failed validation, with their reasons.
    pub fn rejected_dir(&self) -> PathBuf {
        self.state.join("rejected")
    }

    /// Batch journals.
    pub fn batch_dir(&self) -> PathBuf {
        self.state.join("batch")
    }

    /// Where the editor's results wait for review before they are accepted into the assets.
    pub fn staging_dir(&self) -> PathBuf {
        self.state.join("staging")
    }

    /// The writers' lock file ([`ProjectLock`]).
    pub fn lock_path(&self) -> PathBuf {
        ProjectLock::path_for(&self.state)
    }

    /// Takes the writers' lock for `holder` (`sprout batch story`), or fails at once with
    /// [`Error::Locked`](crate::Error::Locked) naming who holds it.
    pub fn try_lock(&self, holder: &str) -> crate::Result<ProjectLock> {
        ProjectLock::try_acquire(&self.state, holder)
    }

    /// Takes the writers' lock for `holder`, waiting while another writer holds it.
    pub fn lock(&self, holder: &str) -> crate::Result<ProjectLock> {
        ProjectLock::acquire(&self.state, holder)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn state_lives_beside_the_assets() {
        let p = Project::new("game/assets");
        assert_eq!(p.state, Path::new("game/.sprout"));
        assert_eq!(p.cache_dir(), Path::new("game/.sprout/cache/story"));
        assert_eq!(p.rejected_dir(), Path::new("game/.sprout/rejected"));
        assert_eq!(p.batch_dir(), Path::new("game/.sprout/batch"));
        assert_eq!(p.staging_dir(), Path::new("game/.sprout/staging"));
        assert_eq!(p.lock_path(), Path::new("game/.sprout/lock"));
        assert_eq!(Project::new("assets").state, Path::new(".sprout"));
    }
}
