//! Dialogue trees: one `*.dialogue.ron` file per conversation.
//!
//! A tree is a graph of [`DialogueNode`]s. Each node is one line said by one speaker, applies its
//! effects, then ends the conversation, jumps to another node, or offers the player choices.

use serde::{Deserialize, Serialize};

use super::{Condition, Effect, Id};

/// Speaker id of the player character; always allowed as a speaker.
pub const PLAYER: &str = "player";
/// Speaker id for narration; always allowed as a speaker.
pub const NARRATOR: &str = "narrator";

/// A conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DialogueTree {
    /// Id; the file is `<id>.dialogue.ron`.
    pub id: Id,
    /// When the game should pick this conversation.
    pub situation: Situation,
    /// An extra condition that must hold for the game to pick it.
    #[serde(default)]
    pub when: Option<Condition>,
    /// Character ids taking part (the player and narrator are implicit).
    pub participants: Vec<Id>,
    /// Id of the first node.
    pub entry: Id,
    /// The nodes, in any order.
    pub nodes: Vec<DialogueNode>,
}

/// What a conversation is for; the game picks a tree by situation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Situation {
    /// The first time the player talks to the character.
    FirstMeeting,
    /// Small talk on an ordinary day.
    Daily,
    /// Reaction to a gift they like.
    GiftLiked,
    /// Reaction to a gift they dislike.
    GiftDisliked,
    /// Offers the quest with this id; the tree must start it.
    QuestOffer(Id),
    /// Completes the quest with this id; the tree must complete it.
    QuestComplete(Id),
    /// Unlocked at this many hearts (0–10).
    Hearts(u32),
}

/// One line of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DialogueNode {
    /// Id, unique within the tree; jumps refer to it.
    pub id: Id,
    /// Stable line id, unique across all dialogue: voice-over and translations key on it.
    pub line: Id,
    /// Who says it: a participant, `player` or `narrator`.
    pub speaker: Id,
    /// What they say.
    pub text: String,
    /// Applied when the line is shown.
    #[serde(default)]
    pub effects: Vec<Effect>,
    /// What happens after the line.
    pub next: Next,
}

/// Where a conversation goes after a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Next {
    /// The conversation ends.
    End,
    /// Continue with the node with this id.
    Goto(Id),
    /// The player picks one of these.
    Choices(Vec<Choice>),
}

/// An answer the player can pick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// What the player says.
    pub text: String,
    /// Only offered when this holds.
    #[serde(default)]
    pub condition: Option<Condition>,
    /// Applied when picked.
    #[serde(default)]
    pub effects: Vec<Effect>,
    /// Where picking it leads.
    pub next: Target,
}

/// Where a choice leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Target {
    /// The conversation ends.
    End,
    /// Continue with the node with this id.
    Goto(Id),
}

impl DialogueTree {
    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&DialogueNode> {
        self.nodes.iter().find(|n| n.id.as_str() == id)
    }

    /// Every effect in the tree, on nodes and on choices.
    pub fn effects(&self) -> impl Iterator<Item = &Effect> {
        self.nodes.iter().flat_map(|n| {
            let choice_effects: &[Choice] = match &n.next {
                Next::Choices(c) => c,
                _ => &[],
            };
            n.effects
                .iter()
                .chain(choice_effects.iter().flat_map(|c| c.effects.iter()))
        })
    }
}

impl Next {
    /// The node ids this can jump to, and whether it can end the conversation.
    pub fn targets(&self) -> (Vec<&Id>, bool) {
        match self {
            Next::End => (Vec::new(), true),
            Next::Goto(id) => (vec![id], false),
            Next::Choices(choices) => {
                let mut ends = false;
                let mut ids = Vec::new();
                for c in choices {
                    match &c.next {
                        Target::End => ends = true,
                        Target::Goto(id) => ids.push(id),
                    }
                }
                (ids, ends)
            }
        }
    }
}
