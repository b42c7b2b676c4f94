//! What a prompt template sees: the world bible, the character card, the ids that exist, a
//! few examples from hand-written assets, and (for a dialogue tree) the [`Topic`] it is about.
//!
//! Examples come only from files that were not generated (no `sprout gen` provenance), so a
//! batch's own output never feeds back into its prompts and a resumed batch sees the same
//! prompts as an uninterrupted one.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::content::dialogue::NARRATOR;
use crate::content::provenance::sidecar_target;
use crate::content::{Character, ContentSet, Document, Id, LocationKind, Situation, World};
use crate::format::to_ron;
use crate::validate::copying::banned_names;

use super::job::{Job, situation_text};
use super::topic::{self, Topic};
use super::{Error, Result};

/// Names no generated text may use unless the world's own list says otherwise (the rule lives in
/// [`validate::copying`](crate::validate::copying)).
pub use crate::validate::copying::DEFAULT_DO_NOT_COPY;

/// The template context of one job.
#[derive(Debug, Clone, Serialize)]
pub struct StoryContext {
    /// The story bible (absent only while the world itself is being written).
    pub world: Option<World>,
    /// Names that must not appear in generated text.
    pub do_not_copy: Vec<String>,
    /// The NPC the job is about (dialogue: the speaker; quest: the giver).
    pub npc: Option<Character>,
    /// Everyone who lives there.
    pub cast: Vec<CastMember>,
    /// The ids that exist.
    pub ids: Ids,
    /// A few pieces of existing hand-written content, for voice and format.
    pub examples: Vec<String>,
    /// The job's own parameters.
    pub job: JobView,
    /// What a dialogue tree is about: something of the world, picked by the seed.
    pub topic: Option<Topic>,
    /// The line (0-based) that opens with the topic's [`lead`](Topic::lead), picked by the
    /// seed among the NPC's lines.
    pub topic_line: Option<usize>,
}

/// A character in one line.
#[derive(Debug, Clone, Serialize)]
pub struct CastMember {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role in the village.
    pub role: String,
}

/// The ids of the content, by kind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Ids {
    /// Characters.
    pub characters: Vec<String>,
    /// Items.
    pub items: Vec<String>,
    /// Quests.
    pub quests: Vec<String>,
    /// World flags.
    pub flags: Vec<String>,
    /// World locations.
    pub locations: Vec<String>,
    /// The locations a villager can live at: all but the player's farm.
    pub homes: Vec<String>,
    /// Crops.
    pub crops: Vec<String>,
}

/// The job as templates see it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JobView {
    /// The asset's id.
    pub id: String,
    /// What it is about.
    pub brief: String,
    /// Dialogue: the situation in words.
    pub situation_text: String,
    /// Dialogue: the season, if the tree is seasonal.
    pub season: Option<String>,
    /// Dialogue: how many lines.
    pub nodes: usize,
    /// Quest: the giver.
    pub giver: Option<String>,
    /// Item: the category.
    pub category: Option<String>,
    /// Dialogue: what the tree is about, in words ([`Topic::label`]).
    pub topic: Option<String>,
}

/// Sorted, so that the context never depends on the order files were read in.
fn sorted<'a>(it: impl Iterator<Item = &'a Id>) -> Vec<String> {
    it.map(ToString::to_string)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The files of `set` that a `sprout gen` command wrote.
pub fn generated_files(set: &ContentSet) -> HashSet<PathBuf> {
    set.sidecars
        .iter()
        .filter(|s| s.value.generator.starts_with(super::GENERATOR_PREFIX))
        .filter_map(|s| sidecar_target(&s.path))
        .collect()
}

fn hand_written<'a, T>(
    docs: &'a [Document<T>],
    generated: &HashSet<PathBuf>,
) -> Vec<&'a Document<T>> {
    let mut v: Vec<_> = docs
        .iter()
        .filter(|d| !generated.contains(&d.path))
        .collect();
    v.sort_by(|a, b| a.path.cmp(&b.path));
    v
}

fn character(set: &ContentSet, id: &Id) -> Result<Character> {
    set.characters
        .iter()
        .find(|c| &c.value.id == id)
        .map(|c| c.value.clone())
        .ok_or_else(|| {
            Error::Request(format!(
                "no character `{id}` in {}: `sprout gen npc --id {id}` makes one",
                set.root.display()
            ))
        })
}

/// At most `max` characters, cut at a character boundary.
/// How many hand-written lines a dialogue prompt may show, and how long each may be.
const EXAMPLE_LINES: usize = 3;
const EXAMPLE_CHARS: usize = 140;

/// `s` without the lines it quotes: a parenthesis holding a quotation, and any quotation of
/// three words or more ("she says so ('You smell of rain. Sit.')" → "she says so"). A quote
/// opens after a space or bracket and closes before a space, punctuation or the end, so
/// apostrophes ("Something's") stay.
pub(crate) fn without_quotes(s: &str) -> String {
    let quote = |c: char| matches!(c, '\'' | '"' | '‘' | '’' | '“' | '”');
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let after_space = i == 0 || chars[i - 1].is_whitespace() || chars[i - 1] == '(';
        // A parenthesis with a quotation inside.
        if c == '('
            && let Some(len) = chars[i..].iter().position(|&d| d == ')')
            && chars[i + 1..i + len].first().copied().is_some_and(quote)
        {
            i += len + 1;
            continue;
        }
        if quote(c) && after_space {
            let close = (i + 1..chars.len()).find(|&k| {
                quote(chars[k])
                    && chars
                        .get(k + 1)
                        .is_none_or(|n| n.is_whitespace() || n.is_ascii_punctuation())
            });
            if let Some(k) = close {
                let inner: String = chars[i + 1..k].iter().collect();
                if inner.split_whitespace().count() >= 3 {
                    i = k + 1;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    // What the cuts leave: "says so ." and doubled spaces.
    let mut tidy = out.split_whitespace().collect::<Vec<_>>().join(" ");
    for p in [" .", " ,", " ;", " :"] {
        tidy = tidy.replace(p, &p[1..]);
    }
    tidy
}

/// Hand-written lines for a dialogue prompt to show as the voice: `who`'s own, one per tree
/// first, then other villagers' when `who` has too few (a generated villager has none). Never
/// from a tree of the same `situation`: a model shown the hand-written offer of a quest
/// writes that offer again. Each is whole sentences of at most [`EXAMPLE_CHARS`]; the
/// writer's checks reject a line that lifts six words of them.
fn example_lines(
    set: &ContentSet,
    generated: &HashSet<PathBuf>,
    who: &Id,
    situation: &Situation,
) -> Vec<String> {
    let mut trees = hand_written(&set.dialogues, generated);
    trees.retain(|d| &d.value.situation != situation);
    let lines = |own: bool| {
        trees.iter().filter_map(move |d| {
            d.value
                .nodes
                .iter()
                .filter(|n| (&n.speaker == who) == own && n.speaker.as_str() != NARRATOR)
                .find_map(|n| whole_sentences(&n.text, EXAMPLE_CHARS))
        })
    };
    lines(true)
        .chain(lines(false))
        .take(EXAMPLE_LINES)
        .collect()
}

/// The leading sentences of `text` that fit in `max` characters (`None` if the first does not).
fn whole_sentences(text: &str, max: usize) -> Option<String> {
    let text = text.trim();
    if text.chars().count() <= max {
        return Some(text.to_owned());
    }
    let mut end = None;
    for (i, c) in text.char_indices() {
        if text[..i].chars().count() >= max {
            break;
        }
        if matches!(c, '.' | '!' | '?') && text[i + 1..].starts_with(' ') {
            end = Some(i + 1);
        }
    }
    end.map(|e| text[..e].to_owned())
}

fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

impl StoryContext {
    /// The context of `job` against the content `set`; `seed` picks a dialogue tree's topic.
    pub fn new(set: &ContentSet, job: &Job, seed: u64) -> Result<Self> {
        let world = set.world().cloned();
        if world.is_none() && !matches!(job, Job::World { .. }) {
            return Err(Error::Request(format!(
                "no world in {}: every asset is written against the story bible; make one first with `sprout gen world`",
                set.root.display()
            )));
        }
        let do_not_copy = banned_names(world.as_ref());
        let generated = generated_files(set);
        let mut cast: Vec<CastMember> = set
            .characters
            .iter()
            .map(|c| CastMember {
                id: c.value.id.to_string(),
                name: c.value.name.clone(),
                role: c.value.role.clone(),
            })
            .collect();
        cast.sort_by(|a, b| a.id.cmp(&b.id));
        let ids = Ids {
            characters: sorted(set.characters.iter().map(|d| &d.value.id)),
            items: sorted(set.items.iter().map(|d| &d.value.id)),
            quests: sorted(set.quests.iter().map(|d| &d.value.id)),
            flags: sorted(world.iter().flat_map(|w| w.flags.iter().map(|f| &f.id))),
            locations: sorted(world.iter().flat_map(|w| w.locations.iter().map(|l| &l.id))),
            homes: sorted(world.iter().flat_map(|w| {
                w.locations
                    .iter()
                    .filter(|l| l.kind != LocationKind::Farm)
                    .map(|l| &l.id)
            })),
            crops: sorted(set.crops.iter().map(|d| &d.value.id)),
        };
        let mut view = JobView {
            id: job.output_id()?.to_string(),
            ..JobView::default()
        };
        let mut npc = None;
        let mut examples = Vec::new();
        let mut topic = None;
        let mut topic_line = None;
        match job {
            Job::World { brief, .. } => view.brief.clone_from(brief),
            Job::Npc { brief, .. } => {
                view.brief.clone_from(brief);
                if let Some(c) = hand_written(&set.characters, &generated).first() {
                    let c = &c.value;
                    examples.push(format!(
                        "{} - {}. Speaks: {}",
                        c.name,
                        c.role,
                        clip(&c.speech_style, 160)
                    ));
                }
            }
            Job::Dialogue {
                npc: who,
                situation,
                season,
                nodes,
                brief,
                ..
            } => {
                let c = character(set, who)?;
                view.brief.clone_from(brief);
                view.situation_text = situation_text(situation);
                view.season = season.map(|s| format!("{s:?}").to_lowercase());
                view.nodes = *nodes;
                examples = example_lines(set, &generated, who, situation);
                topic = topic::pick(set, &c, situation, *season, seed);
                let narrator = super::dialogue::narrator_slot(situation, *nodes);
                topic_line = topic
                    .as_ref()
                    .and_then(|_| Topic::line(*nodes, narrator, seed));
                view.topic = topic.as_ref().map(|t| t.label.clone());
                npc = Some(c);
            }
            Job::Quest { giver, brief, .. } => {
                let c = character(set, giver)?;
                view.brief.clone_from(brief);
                view.giver = Some(giver.to_string());
                if let Some(q) = hand_written(&set.quests, &generated).first() {
                    examples.push(clip(&compact_ron(&q.value)?, 500));
                }
                npc = Some(c);
            }
            Job::Item {
                category, brief, ..
            } => {
                view.brief.clone_from(brief);
                view.category = category.map(|c| format!("{c:?}"));
                let items = hand_written(&set.items, &generated);
                let same = items
                    .iter()
                    .find(|i| category.is_none_or(|c| i.value.category == c))
                    .or_else(|| items.first());
                if let Some(i) = same {
                    examples.push(clip(&compact_ron(&i.value)?, 400));
                }
            }
        }
        Ok(Self {
            world,
            do_not_copy,
            npc,
            cast,
            ids,
            examples,
            job: view,
            topic,
            topic_line,
        })
    }
}

/// A value as one line of RON.
fn compact_ron<T: Serialize>(value: &T) -> Result<String> {
    let text = to_ron(value).map_err(|e| Error::Request(e.to_string()))?;
    Ok(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::story::starter;

    #[test]
    fn quoted_lines_are_cut_from_a_description_and_apostrophes_stay() {
        let sefa = "Soft and sensory: she says so ('You smell of rain and broken brambles. Sit.'). Thinks aloud, trailing off with 'Mm. No. Something's missing.' Calls everyone 'my dear' regardless of age.";
        assert_eq!(
            without_quotes(sefa),
            "Soft and sensory: she says so. Thinks aloud, trailing off with Calls everyone 'my dear' regardless of age."
        );
        assert_eq!(
            without_quotes("Bettany's \"hm\" and Idris's nods."),
            "Bettany's \"hm\" and Idris's nods."
        );
    }

    #[test]
    fn example_lines_are_the_npcs_own_then_others_never_from_the_same_situation() {
        let set = starter();
        let none = HashSet::new();
        let sefa = Id::new("sefa").unwrap();
        let offer = Situation::QuestOffer(Id::new("tea_for_the_span").unwrap());
        let lines_of = |tree: &str| -> Vec<String> {
            let d = set
                .dialogues
                .iter()
                .find(|d| d.value.id.as_str() == tree)
                .unwrap();
            d.value.nodes.iter().map(|n| n.text.clone()).collect()
        };
        let shown = example_lines(&set, &none, &sefa, &offer);
        assert_eq!(shown.len(), EXAMPLE_LINES, "{shown:?}");
        // Sefa's own, from her other trees; not one from the offer this job writes again.
        let own: Vec<String> = set
            .dialogues
            .iter()
            .filter(|d| d.value.situation != offer)
            .flat_map(|d| d.value.nodes.iter())
            .filter(|n| n.speaker == sefa)
            .map(|n| n.text.clone())
            .collect();
        let offered = lines_of("sefa_offer_bridge_tea");
        for l in &shown {
            assert!(own.iter().any(|o| o.starts_with(l.as_str())), "{l}");
            assert!(!offered.iter().any(|o| o.starts_with(l.as_str())), "{l}");
            assert!(l.chars().count() <= EXAMPLE_CHARS, "{l}");
        }
        // A villager with no lines of their own (a generated one) is shown others'.
        let wren = Id::new("wren").unwrap();
        let others = example_lines(&set, &none, &wren, &Situation::FirstMeeting);
        assert_eq!(others.len(), EXAMPLE_LINES, "{others:?}");
    }

    #[test]
    fn an_example_line_is_cut_at_a_sentence_end_never_inside_one() {
        assert_eq!(whole_sentences("  Tea? ", 140).as_deref(), Some("Tea?"));
        let long = "Eleven hives, ten happy. The eleventh is sulking because I moved her a foot to the left. My mother always said bees hold grudges.";
        assert_eq!(
            whole_sentences(long, 90).as_deref(),
            Some(
                "Eleven hives, ten happy. The eleventh is sulking because I moved her a foot to the left."
            )
        );
        assert_eq!(whole_sentences(long, 20), None);
    }
}
