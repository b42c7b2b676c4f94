//! What a dialogue tree is about, chosen from what the game knows before the model writes a
//! word: one of the NPC's likes, their home or a place on their schedule, a neighbour, the
//! season, or the quest the situation is about. The pick is deterministic (the job's seed picks
//! among the candidates, listed in a fixed order), the template names it, and the writer's checks
//! ([`Topic::mentioned_in`]) hold the tree to it. A leaf: it imports nothing else of `story`.

use serde::{Deserialize, Serialize};

use crate::content::{Character, ContentSet, Id, Season, Situation};

/// What kind of thing a topic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TopicKind {
    /// An item the NPC loves (or, for a disliked gift, dislikes).
    Item,
    /// A place: their home or somewhere on their schedule.
    Place,
    /// Someone they know.
    Person,
    /// The season.
    Season,
    /// A quest.
    Quest,
}

/// One thing of the world a tree must mention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    /// What it is.
    pub kind: TopicKind,
    /// The topic in words, for the prompt ("ginger biscuits, which Pim loves").
    pub label: String,
    /// Lower-case words or phrases; a tree that uses any of them mentions the topic.
    pub keys: Vec<String>,
    /// The words that open the line about it, as a writer would start it ("Sweetcorn",
    /// "The Steeping House", "Pim", "Summer", "The Span"): the schema makes one of the NPC's
    /// lines begin with them, so a model too small to follow the prompt still stays on topic.
    pub lead: String,
}

impl Topic {
    /// Whether `text` names the topic: one of its keys as whole words, whatever the case.
    pub fn mentioned_in(&self, text: &str) -> bool {
        let words = word_list(text);
        self.keys.iter().any(|k| {
            let key = word_list(k);
            !key.is_empty() && words.windows(key.len()).any(|w| w == key.as_slice())
        })
    }

    /// The first key, as a writer would say it: what a repair asks for.
    pub fn say(&self) -> &str {
        self.keys.first().map_or("", String::as_str)
    }

    /// The line that opens with [`lead`](Self::lead): one of `lines` (not `skip`, the
    /// narrator's), chosen by `seed`.
    pub fn line(lines: usize, skip: Option<usize>, seed: u64) -> Option<usize> {
        let open: Vec<usize> = (0..lines).filter(|i| Some(*i) != skip).collect();
        let mixed = seed.rotate_left(17) ^ 0x5851_F42D_4C95_7F2D;
        let i = usize::try_from(mixed % open.len().max(1) as u64).unwrap_or(0);
        open.get(i).copied()
    }
}

/// Lower-case words, apostrophes and a trailing plural `s` dropped ("Bettany's hives" →
/// `bettany`, `hive`), so that a key matches its plural and possessive.
fn word_list(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let w = w.to_lowercase();
            let w = w.strip_suffix("'s").unwrap_or(&w).trim_matches('\'');
            match w.strip_suffix('s') {
                Some(stem) if stem.len() >= 3 && !stem.ends_with('s') => stem.to_owned(),
                _ => w.to_owned(),
            }
        })
        .collect()
}

/// A name or id as words: `ginger_biscuit` → `ginger biscuit`.
fn spoken(id: &Id) -> String {
    id.as_str().replace('_', " ")
}

/// The keys of a display name: the whole name without a leading "The", and its last word when
/// that is a noun of some length ("Wildflower Honey" → `honey`).
fn name_keys(name: &str) -> Vec<String> {
    let lower = name.to_lowercase();
    let whole = lower.strip_prefix("the ").unwrap_or(&lower).to_owned();
    let mut keys = vec![whole.clone()];
    if let Some(last) = whole.split_whitespace().last()
        && last != whole
        && last.len() >= 4
    {
        keys.push(last.to_owned());
    }
    keys
}

fn first_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or(name)
}

/// Every topic the game knows for `npc` in `situation` (and `season`), in a fixed order.
pub fn candidates(
    set: &ContentSet,
    npc: &Character,
    situation: &Situation,
    season: Option<Season>,
) -> Vec<Topic> {
    let who = first_name(&npc.name);
    let item = |id: &Id, how: &str| {
        let name = set
            .items
            .iter()
            .find(|i| &i.value.id == id)
            .map_or_else(|| spoken(id), |i| i.value.name.clone());
        Topic {
            kind: TopicKind::Item,
            label: format!("{name}, which {who} {how}"),
            keys: name_keys(&name),
            lead: name,
        }
    };
    let place = |id: &Id, how: String| {
        let name = set
            .world()
            .and_then(|w| w.locations.iter().find(|l| &l.id == id))
            .map_or_else(|| spoken(id), |l| l.name.clone());
        Topic {
            kind: TopicKind::Place,
            label: format!("{name}, {how}"),
            keys: name_keys(&name),
            lead: name,
        }
    };
    let quest = |id: &Id| {
        let q = set.quests.iter().find(|q| &q.value.id == id);
        let title = q.map_or_else(|| spoken(id), |q| q.value.title.clone());
        let mut keys = name_keys(&title);
        keys.retain(|k| k.len() >= 4);
        // A long title opens a line badly: its last word, "The Span", does.
        let lead = match title.split_whitespace().collect::<Vec<_>>().as_slice() {
            words if words.len() <= 3 => title.clone(),
            [.., last] => format!("The {last}"),
            [] => String::new(),
        };
        Topic {
            kind: TopicKind::Quest,
            lead,
            label: match q {
                Some(q) => format!("the favour \"{title}\": {}", q.value.description),
                None => format!("the favour \"{title}\""),
            },
            keys,
        }
    };
    match situation {
        Situation::QuestOffer(q) | Situation::QuestComplete(q) => return vec![quest(q)],
        Situation::GiftLiked if !npc.likes.is_empty() => {
            return npc.likes.iter().map(|i| item(i, "loves")).collect();
        }
        Situation::GiftDisliked if !npc.dislikes.is_empty() => {
            return npc.dislikes.iter().map(|i| item(i, "dislikes")).collect();
        }
        _ => {}
    }
    let mut out: Vec<Topic> = npc.likes.iter().map(|i| item(i, "loves")).collect();
    out.push(place(&npc.home, format!("{who}'s home")));
    let mut seen = vec![npc.home.clone()];
    for e in &npc.schedule {
        let in_season = season.is_none_or(|s| e.seasons.is_empty() || e.seasons.contains(&s));
        if in_season && !seen.contains(&e.location) {
            seen.push(e.location.clone());
            let slot = format!("{:?}", e.slot).to_lowercase();
            out.push(place(&e.location, format!("where {who} spends the {slot}")));
        }
    }
    for r in &npc.relationships {
        if let Some(c) = set.characters.iter().find(|c| c.value.id == r.with) {
            let name = first_name(&c.value.name);
            out.push(Topic {
                kind: TopicKind::Person,
                label: format!("{name} ({}): {}", c.value.role, r.note),
                keys: vec![name.to_lowercase()],
                lead: name.to_owned(),
            });
        }
    }
    if let Some(s) = season {
        let word = format!("{s:?}").to_lowercase();
        let what = set
            .world()
            .and_then(|w| w.seasons.iter().find(|d| d.season == s))
            .map(|d| first_sentence(&d.description))
            .unwrap_or_default();
        out.push(Topic {
            kind: TopicKind::Season,
            label: format!("{word} in the village: {what}"),
            lead: format!("{s:?}"),
            keys: vec![word],
        });
    }
    for q in set.quests.iter().filter(|q| q.value.giver == npc.id) {
        out.push(quest(&q.value.id));
    }
    out
}

fn first_sentence(s: &str) -> String {
    match s.find(". ") {
        Some(i) => s[..=i].to_owned(),
        None => s.to_owned(),
    }
}

/// The topic of one tree: the seed's pick among [`candidates`], or none when the game knows
/// nothing of the NPC.
pub fn pick(
    set: &ContentSet,
    npc: &Character,
    situation: &Situation,
    season: Option<Season>,
    seed: u64,
) -> Option<Topic> {
    let all = candidates(set, npc, situation, season);
    if all.is_empty() {
        return None;
    }
    // A mix of the seed, so that neighbouring seeds do not walk the list in order.
    let mixed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    let i = usize::try_from(mixed % all.len() as u64).unwrap_or(0);
    all.into_iter().nth(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::story::starter;

    fn npc(set: &ContentSet, id: &str) -> Character {
        set.characters
            .iter()
            .find(|c| c.value.id.as_str() == id)
            .unwrap()
            .value
            .clone()
    }

    #[test]
    fn a_topic_is_mentioned_by_its_words_in_any_case_plural_or_possessive() {
        let t = Topic {
            kind: TopicKind::Item,
            label: "Ginger Biscuit, which Pim loves".into(),
            keys: name_keys("Ginger Biscuit"),
            lead: "Ginger Biscuit".into(),
        };
        assert_eq!(t.keys, ["ginger biscuit", "biscuit"]);
        assert!(t.mentioned_in("Are those GINGER BISCUITS? For me?"));
        assert!(t.mentioned_in("The biscuit's crumbs are everywhere."));
        assert!(!t.mentioned_in("Ginger is a fine colour for a cat."));
        assert!(!t.mentioned_in("I bisect the radishes."));
        let place = Topic {
            kind: TopicKind::Place,
            label: String::new(),
            keys: name_keys("The Steeping House"),
            lead: "The Steeping House".into(),
        };
        assert_eq!(place.keys, ["steeping house", "house"]);
        assert!(place.mentioned_in("Back to the Steeping House with you."));
    }

    #[test]
    fn topics_come_from_what_the_game_knows_of_the_npc() {
        let set = starter();
        let pim = npc(&set, "pim");
        let all = candidates(&set, &pim, &Situation::Daily, Some(Season::Winter));
        let labels: Vec<&str> = all.iter().map(|t| t.label.as_str()).collect();
        assert!(
            labels.iter().any(|l| l.starts_with("Ginger Biscuit")),
            "{labels:?}"
        );
        assert!(
            labels.iter().any(|l| l.contains("Pim's home")),
            "{labels:?}"
        );
        assert!(labels.iter().any(|l| l.starts_with("Sefa")), "{labels:?}");
        assert!(
            labels
                .iter()
                .any(|l| l.starts_with("winter in the village: Frost")),
            "{labels:?}"
        );
        // The afternoon at the Span is not a winter place; the hive is.
        assert!(
            !labels.iter().any(|l| l.contains("Broken Span")),
            "{labels:?}"
        );
        // A gift reaction is about a gift; a quest offer about the quest.
        let gifts = candidates(&set, &pim, &Situation::GiftLiked, None);
        assert!(gifts.iter().all(|t| t.kind == TopicKind::Item), "{gifts:?}");
        let sefa = npc(&set, "sefa");
        let offer = candidates(
            &set,
            &sefa,
            &Situation::QuestOffer(Id::new("tea_for_the_span").unwrap()),
            None,
        );
        assert_eq!(offer.len(), 1);
        assert_eq!(offer[0].kind, TopicKind::Quest);
        assert!(offer[0].keys.iter().any(|k| k == "span"), "{offer:?}");
        assert_eq!(offer[0].lead, "The Span");
        // Every lead names its topic.
        for t in all.iter().chain(&offer) {
            assert!(t.mentioned_in(&t.lead), "{t:?}");
        }
        // The lead opens one of the NPC's lines, never the narrator's.
        for seed in 0..20 {
            let at = Topic::line(3, Some(1), seed).unwrap();
            assert!(at == 0 || at == 2, "{at}");
        }
        let lines: std::collections::HashSet<usize> =
            (0..20).filter_map(|s| Topic::line(3, None, s)).collect();
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn the_pick_is_the_seeds_and_seeds_spread_over_the_candidates() {
        let set = starter();
        let pim = npc(&set, "pim");
        let a = pick(&set, &pim, &Situation::Daily, Some(Season::Spring), 7);
        assert_eq!(
            a,
            pick(&set, &pim, &Situation::Daily, Some(Season::Spring), 7)
        );
        let picked: std::collections::HashSet<String> = (0..40)
            .filter_map(|s| pick(&set, &pim, &Situation::Daily, Some(Season::Spring), s))
            .map(|t| t.label)
            .collect();
        assert!(picked.len() >= 5, "{picked:?}");
    }
}
