//! Dialogue trees: one `*.dialogue.ron` file per conversation.
//!
//! A tree is a graph of [`DialogueNode`]s. Each node is one line said by one speaker, applies its
//! effects, then ends the conversation, jumps to another node, or offers the player choices.

use serde::{Deserialize, Serialize};

use super::{Condition, Effect, Id, IdError};

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

impl Situation {
    /// The situation as tree ids and command lines spell it: `first`, `daily`, `gift_liked`,
    /// `gift_disliked`, `offer_<quest>`, `complete_<quest>`, `hearts<n>`. [`Situation::from_slug`]
    /// reads it back.
    pub fn slug(&self) -> String {
        match self {
            Self::FirstMeeting => "first".into(),
            Self::Daily => "daily".into(),
            Self::GiftLiked => "gift_liked".into(),
            Self::GiftDisliked => "gift_disliked".into(),
            Self::QuestOffer(q) => format!("offer_{q}"),
            Self::QuestComplete(q) => format!("complete_{q}"),
            Self::Hearts(n) => format!("hearts{n}"),
        }
    }

    /// Reads a [`slug`](Self::slug); `-` may stand for `_` in the names (`gift-liked`,
    /// `first-meeting`), and `:` may separate a quest or a heart count (`offer:stones`,
    /// `hearts:4`).
    pub fn from_slug(slug: &str) -> Result<Self, SituationError> {
        let unknown = || SituationError::Unknown(slug.to_owned());
        let quest = |q: &str| {
            Id::new(q).map_err(|source| SituationError::Quest {
                slug: slug.to_owned(),
                source,
            })
        };
        let rest = |prefix: &str| {
            slug.strip_prefix(prefix)
                .and_then(|r| r.strip_prefix(['_', ':', '-']))
        };
        Ok(match slug.replace('-', "_").as_str() {
            "first" | "first_meeting" => Self::FirstMeeting,
            "daily" => Self::Daily,
            "gift_liked" => Self::GiftLiked,
            "gift_disliked" => Self::GiftDisliked,
            _ => {
                if let Some(q) = rest("offer") {
                    Self::QuestOffer(quest(q)?)
                } else if let Some(q) = rest("complete") {
                    Self::QuestComplete(quest(q)?)
                } else if let Some(n) = slug.strip_prefix("hearts") {
                    let n = n.strip_prefix(':').unwrap_or(n);
                    Self::Hearts(n.parse().map_err(|_| unknown())?)
                } else {
                    return Err(unknown());
                }
            }
        })
    }
}

impl core::str::FromStr for Situation {
    type Err = SituationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_slug(s)
    }
}

/// Why [`Situation::from_slug`] could not read a slug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SituationError {
    /// Not a situation's name.
    #[error(
        "unknown situation `{0}`: first, daily, gift_liked, gift_disliked, offer_<quest>, complete_<quest> or hearts<n>"
    )]
    Unknown(String),
    /// The quest of `offer_` or `complete_` is not an id.
    #[error("situation `{slug}`: {source}")]
    Quest {
        /// The slug as given.
        slug: String,
        /// Why the quest is not an id.
        source: IdError,
    },
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
    /// Line tags (emotion, portrait variant, delivery), each declared in the world's `line_tags`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Id>,
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
    /// Stable line id, unique across all dialogue (node lines included): translations key on it.
    pub line: Id,
    /// What the player says.
    pub text: String,
    /// Line tags, each declared in the world's `line_tags`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Id>,
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

    /// Every line of the tree, in file order: each node's line, then its choices'.
    pub fn lines(&self) -> impl Iterator<Item = Line<'_>> {
        self.nodes.iter().flat_map(|node| {
            core::iter::once(Line::Node(node)).chain(
                node.choices()
                    .iter()
                    .map(move |choice| Line::Choice { node, choice }),
            )
        })
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

impl DialogueNode {
    /// The node's choices; empty unless it ends in [`Next::Choices`].
    pub fn choices(&self) -> &[Choice] {
        match &self.next {
            Next::Choices(c) => c,
            _ => &[],
        }
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

/// One translatable, voiceable line of a tree: a node's line or a choice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Line<'t> {
    /// What a node's speaker says.
    Node(&'t DialogueNode),
    /// A choice the player can pick, offered after `node`'s line.
    Choice {
        /// The node whose line offers it.
        node: &'t DialogueNode,
        /// The choice.
        choice: &'t Choice,
    },
}

impl<'t> Line<'t> {
    /// The stable line id.
    pub fn id(&self) -> &'t Id {
        match self {
            Line::Node(n) => &n.line,
            Line::Choice { choice, .. } => &choice.line,
        }
    }

    /// The source text.
    pub fn text(&self) -> &'t str {
        match self {
            Line::Node(n) => &n.text,
            Line::Choice { choice, .. } => &choice.text,
        }
    }

    /// Who says it: the node's speaker, or [`PLAYER`] for a choice.
    pub fn speaker(&self) -> &'t str {
        match self {
            Line::Node(n) => n.speaker.as_str(),
            Line::Choice { .. } => PLAYER,
        }
    }

    /// Its line tags.
    pub fn tags(&self) -> &'t [Id] {
        match self {
            Line::Node(n) => &n.tags,
            Line::Choice { choice, .. } => &choice.tags,
        }
    }

    /// Whether it is a choice.
    pub fn is_choice(&self) -> bool {
        matches!(self, Line::Choice { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_read_back_as_their_situation() {
        let all = [
            Situation::FirstMeeting,
            Situation::Daily,
            Situation::GiftLiked,
            Situation::GiftDisliked,
            Situation::QuestOffer(Id::new("stones_2").unwrap()),
            Situation::QuestComplete(Id::new("stones").unwrap()),
            Situation::Hearts(4),
        ];
        let slugs: Vec<String> = all.iter().map(Situation::slug).collect();
        assert_eq!(
            slugs,
            [
                "first",
                "daily",
                "gift_liked",
                "gift_disliked",
                "offer_stones_2",
                "complete_stones",
                "hearts4"
            ]
        );
        for (situation, slug) in all.iter().zip(&slugs) {
            assert_eq!(&Situation::from_slug(slug).unwrap(), situation, "{slug}");
        }
    }

    #[test]
    fn command_line_spellings_read_too_and_nonsense_is_refused() {
        for (text, situation) in [
            ("first-meeting", Situation::FirstMeeting),
            ("gift-liked", Situation::GiftLiked),
            ("gift-disliked", Situation::GiftDisliked),
            (
                "offer:stones",
                Situation::QuestOffer(Id::new("stones").unwrap()),
            ),
            (
                "complete:stones",
                Situation::QuestComplete(Id::new("stones").unwrap()),
            ),
            ("hearts:6", Situation::Hearts(6)),
        ] {
            assert_eq!(text.parse::<Situation>().unwrap(), situation, "{text}");
        }
        for bad in ["", "weekly", "hearts", "hearts:x", "offer"] {
            let e = Situation::from_slug(bad).unwrap_err();
            assert_eq!(e, SituationError::Unknown(bad.into()), "{bad}");
            assert!(e.to_string().contains("gift_liked"), "{e}");
        }
        assert!(matches!(
            Situation::from_slug("offer_Bad Quest"),
            Err(SituationError::Quest { .. })
        ));
    }
}
