//! What to make: one [`Job`] per asset, with the seed that makes it reproducible.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::content::{AssetPath, ContentKind, Id, ItemCategory, Season, Situation};

use super::templates::Stage;
use super::{Error, Result};

fn three() -> usize {
    3
}

/// One asset to generate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Job {
    /// A story bible (`world/<id>.world.ron`).
    World {
        /// The world's id.
        id: Id,
        /// The idea, in a few words.
        #[serde(default)]
        brief: String,
    },
    /// A villager (`npcs/<id>.npc.ron`), with placeholder art until art is generated.
    Npc {
        /// The character's id.
        id: Id,
        /// Who they are, in a few words.
        #[serde(default)]
        brief: String,
    },
    /// A dialogue tree for an NPC (`dialogue/<id>.dialogue.ron`).
    Dialogue {
        /// Who talks.
        npc: Id,
        /// When it plays.
        situation: Situation,
        /// Only in this season (sets the tree's `when`).
        #[serde(default)]
        season: Option<Season>,
        /// How many lines, 1 to 8.
        #[serde(default = "three")]
        nodes: usize,
        /// What it is about.
        #[serde(default)]
        brief: String,
        /// The tree's id; made from the NPC, situation and season when absent.
        #[serde(default)]
        id: Option<Id>,
    },
    /// A quest given by an NPC (`quests/<id>.quest.ron`).
    Quest {
        /// The quest's id.
        id: Id,
        /// Who gives it.
        giver: Id,
        /// What the favour is.
        #[serde(default)]
        brief: String,
    },
    /// An item and its description (`items/<id>.item.ron`), with a placeholder icon.
    Item {
        /// The item's id.
        id: Id,
        /// Its category, or the model's choice.
        #[serde(default)]
        category: Option<ItemCategory>,
        /// What it is.
        #[serde(default)]
        brief: String,
    },
}

/// A job and its seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    /// What to make.
    pub job: Job,
    /// The sampling seed.
    pub seed: u64,
    /// Of best-of-N's candidates, the one to keep whatever its score (1 is the first): only
    /// it is generated, on the seed it has among the N, then repaired as usual. What the
    /// editor's "Use this one" asks for; `None` keeps the best.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pick: Option<u32>,
}

impl JobSpec {
    /// `job` on `seed`, keeping the best candidate.
    pub fn new(job: Job, seed: u64) -> Self {
        Self {
            job,
            seed,
            pick: None,
        }
    }
}

impl Job {
    /// The generation stage (and prompt template) that makes it.
    pub fn stage(&self) -> Stage {
        match self {
            Job::World { .. } => Stage::World,
            Job::Npc { .. } => Stage::Npc,
            Job::Dialogue { .. } => Stage::Dialogue,
            Job::Quest { .. } => Stage::Quest,
            Job::Item { .. } => Stage::Item,
        }
    }

    /// The id of the asset it makes.
    pub fn output_id(&self) -> Result<Id> {
        match self {
            Job::World { id, .. }
            | Job::Npc { id, .. }
            | Job::Quest { id, .. }
            | Job::Item { id, .. }
            | Job::Dialogue { id: Some(id), .. } => Ok(id.clone()),
            Job::Dialogue {
                npc,
                situation,
                season,
                id: None,
                ..
            } => {
                let mut name = format!("{npc}_{}", situation.slug());
                if let Some(s) = season {
                    name.push('_');
                    name.push_str(&format!("{s:?}").to_lowercase());
                }
                Id::new(name.clone()).map_err(|e| {
                    Error::Request(format!(
                        "the tree id `{name}` made from the NPC and situation is not a valid id ({e}); give the job an `id`"
                    ))
                })
            }
        }
    }

    /// Where the asset goes, under `assets`.
    pub fn output_path(&self, assets: &Path) -> Result<PathBuf> {
        let kind = self.stage().kind();
        Ok(assets
            .join(kind.folder())
            .join(kind.file_name(&self.output_id()?)))
    }

    /// The art the asset refers to and that its stage draws placeholders for: an NPC's portrait
    /// and sprite, an item's icon.
    pub fn art_paths(&self) -> Vec<AssetPath> {
        let Ok(id) = self.output_id() else {
            return Vec::new();
        };
        match self {
            Job::Npc { .. } => vec![AssetPath::portrait_of(&id), AssetPath::npc_sprite_of(&id)],
            Job::Item { .. } => vec![AssetPath::item_icon_of(&id)],
            _ => Vec::new(),
        }
    }

    /// A short label for progress bars and logs, e.g. `dialogue pim_daily_spring`.
    pub fn label(&self) -> String {
        match self.output_id() {
            Ok(id) => format!("{} {id}", self.stage().name()),
            Err(_) => self.stage().name().to_owned(),
        }
    }
}

/// The token budget of one attempt at `job`.
pub fn max_tokens(job: &Job) -> usize {
    match job {
        Job::World { .. } => 1600,
        Job::Npc { .. } => 800,
        Job::Dialogue { nodes, .. } => 120 + 90 * nodes,
        Job::Quest { .. } => 400,
        Job::Item { .. } => 220,
    }
}

/// The situation in words, for prompts: `they meet for the first time`, `everyday small talk`,
/// `asking a favour (stones)`, ...
pub fn situation_text(situation: &Situation) -> String {
    match situation {
        Situation::FirstMeeting => "they meet for the first time".into(),
        Situation::Daily => "everyday small talk".into(),
        Situation::GiftLiked => "a thank-you for a gift they love".into(),
        Situation::GiftDisliked => "a polite reaction to a gift they dislike".into(),
        Situation::QuestOffer(q) => format!("asking a favour ({})", q.as_str().replace('_', " ")),
        Situation::QuestComplete(q) => {
            format!(
                "thanks for a favour done ({})",
                q.as_str().replace('_', " ")
            )
        }
        Situation::Hearts(n) => format!("a moment of {n}-heart friendship"),
    }
}

impl ContentKind {
    /// The content kind a stage writes (used by [`Job::output_path`]).
    pub(crate) fn of_stage(stage: Stage) -> Self {
        match stage {
            Stage::World => ContentKind::World,
            Stage::Npc => ContentKind::Character,
            Stage::Dialogue => ContentKind::Dialogue,
            Stage::Quest => ContentKind::Quest,
            Stage::Item => ContentKind::Item,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id::new(s).unwrap()
    }

    #[test]
    fn dialogue_ids_come_from_npc_situation_and_season() {
        let job = Job::Dialogue {
            npc: id("pim"),
            situation: Situation::QuestOffer(id("stones")),
            season: Some(Season::Winter),
            nodes: 3,
            brief: String::new(),
            id: None,
        };
        assert_eq!(job.output_id().unwrap().as_str(), "pim_offer_stones_winter");
        assert_eq!(
            job.output_path(Path::new("assets")).unwrap(),
            Path::new("assets/dialogue/pim_offer_stones_winter.dialogue.ron")
        );
    }

    #[test]
    fn jobs_round_trip_through_ron() {
        let spec = JobSpec {
            job: Job::Item {
                id: id("moon_pear"),
                category: Some(ItemCategory::Produce),
                brief: "a pale pear".into(),
            },
            seed: 7,
            pick: None,
        };
        let text = crate::format::to_ron(&spec).unwrap();
        assert_eq!(crate::format::parse::<JobSpec>(&text).unwrap(), spec);
    }

    #[test]
    fn overlong_made_ids_are_request_errors() {
        let job = Job::Dialogue {
            npc: id(&"n".repeat(60)),
            situation: Situation::Daily,
            season: None,
            nodes: 3,
            brief: String::new(),
            id: None,
        };
        assert!(matches!(job.output_id(), Err(Error::Request(_))));
    }
}
