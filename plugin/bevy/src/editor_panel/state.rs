//! The panel's state: whether it is open, the selected tab, each tab's form and the job each
//! tab shows.

use bevy::prelude::*;

use super::dialogue::{self, SituationChoice};
use super::{art_set, image, story};
use crate::generate::{Job, JobId};
use crate::library::Library;

/// The panel's state: which tab, and each tab's form.
#[derive(Resource, Debug, Clone)]
pub struct EditorState {
    /// Whether the panel is shown.
    pub open: bool,
    /// The selected tab.
    pub tab: Tab,
    /// The villager to write for.
    pub npc: Option<String>,
    /// The situation to write.
    pub situation: SituationChoice,
    /// What it is about.
    pub brief: String,
    /// Sampling seed.
    pub seed: u64,
    /// Lines to write.
    pub nodes: usize,
    /// The dialogue job shown in the preview.
    pub current: Option<JobId>,
    /// The NPC tab.
    pub npc_form: story::NpcForm,
    /// The Quest tab.
    pub quest_form: story::QuestForm,
    /// The Sprite tab.
    pub sprite_form: image::SpriteForm,
    /// The Texture tab.
    pub texture_form: image::TextureForm,
    /// The Prop tab.
    pub prop_form: image::PropForm,
    /// The Art set tab.
    pub art_set: art_set::ArtSetForm,
}

impl Default for EditorState {
    fn default() -> Self {
        Self {
            open: false,
            tab: Tab::Dialogue,
            npc: None,
            situation: SituationChoice::Daily,
            brief: String::new(),
            seed: 1,
            nodes: 3,
            current: None,
            npc_form: default(),
            quest_form: default(),
            sprite_form: default(),
            texture_form: default(),
            prop_form: default(),
            art_set: art_set::ArtSetForm {
                stale: true,
                ..default()
            },
        }
    }
}

/// The panel's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Write a conversation.
    Dialogue,
    /// Make a villager.
    Npc,
    /// Make a quest.
    Quest,
    /// Draw an item icon or a crop's growth stages.
    Sprite,
    /// Draw a ground texture.
    Texture,
    /// Make a 3D prop from a sprite.
    Prop,
    /// Every picture the content names, and Remake for any one.
    ArtSet,
    /// Problems with the content.
    Content,
    /// Past jobs and their provenance.
    History,
}

impl EditorState {
    /// Shows job `id` (a `job`) on the tab that makes its kind, as that tab's current job, with
    /// the tab's fields refilled from the job (so Regenerate asks for it again, next seed).
    /// `library` names items and crops (a sprite job's default prompt).
    pub fn show(&mut self, id: JobId, job: &Job, library: &Library) {
        use sprout_core::art::Recipe;
        use sprout_core::story::Job as Story;
        let current = match job {
            Job::Story(spec) => match &spec.job {
                Story::Dialogue { .. } => {
                    self.tab = Tab::Dialogue;
                    dialogue::fill(self, spec);
                    &mut self.current
                }
                Story::Npc { .. } => {
                    self.tab = Tab::Npc;
                    self.npc_form.fill(spec);
                    &mut self.npc_form.current
                }
                Story::Quest { .. } => {
                    self.tab = Tab::Quest;
                    self.quest_form.fill(spec);
                    &mut self.quest_form.current
                }
                _ => {
                    self.tab = Tab::History;
                    return;
                }
            },
            Job::Art(art) => match &art.recipe {
                Recipe::Texture { .. } => {
                    self.tab = Tab::Texture;
                    self.texture_form.fill(art);
                    &mut self.texture_form.current
                }
                Recipe::Prop { .. } => {
                    self.tab = Tab::Prop;
                    self.prop_form.fill(art);
                    &mut self.prop_form.current
                }
                Recipe::ItemIcon { .. } | Recipe::CropStages { .. } => {
                    self.tab = Tab::Sprite;
                    self.sprite_form.fill(art, library);
                    &mut self.sprite_form.current
                }
                // Villagers, the farmer, buildings: the art set's pieces.
                _ => {
                    self.tab = Tab::ArtSet;
                    self.art_set.fill(id, art);
                    return;
                }
            },
        };
        *current = Some(id);
    }
}
