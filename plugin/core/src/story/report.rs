//! Quality you can measure: validity, repairs, diversity of lines (distinct-n), line lengths,
//! copying (names from other games, lines repeated across trees, phrases lifted from the
//! hand-written examples), whether lines mention the world they belong to and the topic they
//! were asked about, the writer's rules (names in the world's style, control characters,
//! meta-talk, who speaks), and what best-of-N cost and gained.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::content::ContentSet;
use crate::validate::copying::{DoNotCopy, Match, banned_names};
use crate::validate::{Severity, validate_set};

use crate::content::provenance::sidecar_target;

use super::batch::JournalEntry;
use super::check::villager_names;
use super::context::generated_files;
use super::craft::{
    Phrases, PromptText, Speakers, card_pronoun_clash, is_control, meta_talk, misspelled_name,
    mixed_script, name_ok, self_named, speaker_problems, words,
};
use super::dialogue::{LINE_CHARS, narrator_slot};
use super::topic::{Topic, TopicKind};

/// A batch's (or a folder's) quality figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QualityReport {
    /// Dialogue trees measured.
    pub trees: usize,
    /// Lines (nodes and choices) measured.
    pub lines: usize,
    /// Distinct words / words.
    pub distinct_1: f64,
    /// Distinct word pairs / word pairs.
    pub distinct_2: f64,
    /// Line length in characters: min, 10th percentile, median, 90th percentile, max.
    pub length: [usize; 5],
    /// Lines that appear word for word in more than one place.
    pub duplicate_lines: usize,
    /// Lines that use a name from the do-not-copy lists.
    pub copied_names: usize,
    /// Lines sharing a run of 6 words with a hand-written line.
    pub lifted_from_examples: usize,
    /// Lines that read out the world's or a villager card's own text (a run of 6 words of it,
    /// or the whole line a stretch of it): the model repeating its brief instead of talking.
    pub lifted_from_world: usize,
    /// Trees whose lines mention something of this world (a place, item, villager, crop).
    pub on_topic_trees: usize,
    /// Trees that mention the topic they were asked about (as their provenance records it).
    pub grounded_trees: usize,
    /// Trees whose provenance records a topic.
    pub trees_with_topic: usize,
    /// Trees where the NPC opens and says at least half the lines, and the narrator keeps to
    /// the one line the situation gives it.
    pub speakers_ok: usize,
    /// Lines that talk about the game instead of in it ("this conversation", "the player").
    pub meta_talk_lines: usize,
    /// Lines with a letter of another script among Latin ones (a Chinese word in English).
    pub mixed_script_lines: usize,
    /// Lines that ran into the length limit ([`LINE_CHARS`]) and were cut off mid-word.
    pub cut_off_lines: usize,
    /// Lines with a villager's name misspelled ("Seafa", "Ottilely").
    pub misspelled_name_lines: usize,
    /// Lines in which the speaker names themself, as if someone else spoke ("Ottilie can help
    /// Idris", said by Idris).
    pub self_named_lines: usize,
    /// Trees that pass every check above: valid, no copied name, no lifted or read-out line,
    /// their topic mentioned, speakers as the situation says, no meta-talk, mixed script,
    /// cut-off line or control character.
    pub clean_trees: usize,
    /// Files measured (trees, villagers, items) with a control character in some text.
    pub control_character_files: usize,
    /// Generated villagers whose backstory or speech style calls them by the other figure's
    /// pronouns (a man's backstory that says only "she").
    pub pronoun_clash_cards: usize,
    /// Generated villagers and items measured.
    pub names: usize,
    /// Of those, names of one to three capitalised words of letters.
    pub names_valid: usize,
    /// Files measured that fail validation (errors), with the whole folder as context.
    pub invalid_files: Vec<String>,
    /// From the batch journal, when there is one.
    pub batch: Option<BatchFigures>,
}

/// Validity figures from a batch journal.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BatchFigures {
    /// Jobs journaled.
    pub jobs: usize,
    /// Delivered valid on the first model call.
    pub first_try_valid: usize,
    /// Delivered after repairs.
    pub repaired: usize,
    /// From cache or up to date.
    pub cached: usize,
    /// Rejected.
    pub rejected: usize,
    /// Kept (hand-edited files left alone).
    pub kept: usize,
    /// Repairs in all.
    pub repairs: u32,
    /// Candidates generated per job (best-of-N): the smallest N of the jobs that drew.
    pub candidates: u32,
    /// Jobs that drew more than N because none of their first N was valid.
    pub drew_more: usize,
    /// Model time over the jobs that called the model, in seconds.
    pub generate_seconds: f64,
    /// Jobs where best-of-N kept another candidate than the first (the one N = 1 gives).
    pub best_not_first: usize,
    /// Mean score gain of the kept candidate over the first, over jobs with more than one.
    pub best_of_n_gain: f64,
}

/// Measures the dialogue trees of `set` in `files` (all generated trees when `None`), with
/// validity figures from `journal` when given.
pub fn measure(
    set: &ContentSet,
    files: Option<&[PathBuf]>,
    journal: Option<&[JournalEntry]>,
) -> QualityReport {
    let generated = generated_files(set);
    let chosen: HashSet<PathBuf> = match files {
        Some(f) => f.iter().cloned().collect(),
        None => generated.clone(),
    };
    let trees: Vec<_> = set
        .dialogues
        .iter()
        .filter(|d| chosen.contains(&d.path))
        .collect();
    let world = set.world();
    let mut vocabulary: Vec<String> = Vec::new();
    if let Some(w) = world {
        vocabulary.extend(w.locations.iter().map(|l| l.name.to_lowercase()));
        vocabulary.push(w.title.to_lowercase());
    }
    vocabulary.extend(set.items.iter().map(|i| i.value.name.to_lowercase()));
    vocabulary.extend(set.characters.iter().filter_map(|c| {
        c.value
            .name
            .split_whitespace()
            .next()
            .map(str::to_lowercase)
    }));
    vocabulary.extend(
        set.crops
            .iter()
            .map(|c| c.value.id.as_str().replace('_', " ")),
    );
    let banned = DoNotCopy::new(banned_names(world));
    let human = Phrases::of(
        set.dialogues
            .iter()
            .filter(|d| !generated.contains(&d.path))
            .flat_map(|d| d.value.nodes.iter().map(|n| n.text.as_str())),
    );
    let briefing = world_text(set);
    let mut r = QualityReport {
        trees: trees.len(),
        ..QualityReport::default()
    };
    let topics = recorded_topics(set);
    let names = villager_names(set);
    writer_figures(set, &chosen, &mut r);
    let errors: HashSet<PathBuf> = validate_set(set)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.file)
        .collect();
    let mut counts: HashMap<String, usize> = HashMap::new();
    let (mut uni, mut bi) = (HashSet::new(), HashSet::new());
    let (mut n_uni, mut n_bi) = (0usize, 0usize);
    let mut lengths = Vec::new();
    for d in &trees {
        let mut mentions = false;
        // Any writer's check this tree fails (a name from another game, a lifted line, ...).
        let mut faulty = false;
        let mut texts: Vec<&str> = d.value.nodes.iter().map(|n| n.text.as_str()).collect();
        for n in &d.value.nodes {
            if let crate::content::Next::Choices(cs) = &n.next {
                texts.extend(cs.iter().map(|c| c.text.as_str()));
            }
        }
        for t in texts {
            r.lines += 1;
            lengths.push(t.chars().count());
            *counts.entry(t.trim().to_lowercase()).or_default() += 1;
            if banned.used_in(t, Match::Anywhere).next().is_some() {
                r.copied_names += 1;
                faulty = true;
            }
            let lower = t.to_lowercase();
            if vocabulary
                .iter()
                .any(|v| !v.is_empty() && lower.contains(v.as_str()))
            {
                mentions = true;
            }
            let w = words(t);
            if human.lifted_by(&w) {
                r.lifted_from_examples += 1;
                faulty = true;
            } else if briefing.lifted_in(&w).is_some() {
                r.lifted_from_world += 1;
                faulty = true;
            }
            n_uni += w.len();
            n_bi += w.len().saturating_sub(1);
            for x in &w {
                uni.insert(x.clone());
            }
            for p in w.windows(2) {
                bi.insert(p.to_vec());
            }
        }
        if mentions {
            r.on_topic_trees += 1;
        }
        let tree = &d.value;
        if let Some(t) = topics.get(&d.path) {
            r.trees_with_topic += 1;
            if tree.nodes.iter().any(|n| t.mentioned_in(&n.text)) {
                r.grounded_trees += 1;
            } else {
                faulty = true;
            }
        }
        if let Some(npc) = tree.participants.first() {
            let who = Speakers {
                npc: npc.as_str(),
                narrator_at: narrator_slot(&tree.situation, tree.nodes.len()),
            };
            if speaker_problems(tree, &who).is_empty() {
                r.speakers_ok += 1;
            } else {
                faulty = true;
            }
        }
        let meta = tree
            .nodes
            .iter()
            .filter(|n| meta_talk(&n.text).is_some())
            .count();
        let mixed = tree
            .nodes
            .iter()
            .filter(|n| mixed_script(&n.text).is_some())
            .count();
        let cut = tree
            .nodes
            .iter()
            .filter(|n| n.text.chars().count() >= LINE_CHARS)
            .count();
        let misspelled = tree
            .nodes
            .iter()
            .filter(|n| misspelled_name(&n.text, &names).is_some())
            .count();
        r.misspelled_name_lines += misspelled;
        let self_named_count = tree
            .nodes
            .iter()
            .filter(|n| {
                set.characters
                    .iter()
                    .find(|c| c.value.id == n.speaker)
                    .is_some_and(|c| self_named(&n.text, &c.value.name))
            })
            .count();
        r.self_named_lines += self_named_count;
        r.cut_off_lines += cut;
        r.meta_talk_lines += meta;
        r.mixed_script_lines += mixed;
        let control = tree.nodes.iter().any(|n| n.text.chars().any(is_control));
        if control {
            r.control_character_files += 1;
        }
        if !(faulty
            || meta > 0
            || mixed > 0
            || cut > 0
            || misspelled > 0
            || self_named_count > 0
            || control
            || errors.contains(&d.path))
        {
            r.clean_trees += 1;
        }
    }
    r.distinct_1 = uni.len() as f64 / n_uni.max(1) as f64;
    r.distinct_2 = bi.len() as f64 / n_bi.max(1) as f64;
    r.duplicate_lines = counts.values().filter(|c| **c > 1).copied().sum();
    lengths.sort_unstable();
    if !lengths.is_empty() {
        let at = |q: f64| lengths[((lengths.len() - 1) as f64 * q).round() as usize];
        r.length = [
            lengths[0],
            at(0.1),
            at(0.5),
            at(0.9),
            lengths[lengths.len() - 1],
        ];
    }
    r.invalid_files = trees
        .iter()
        .filter(|d| errors.contains(&d.path))
        .map(|d| d.path.display().to_string())
        .collect();
    r.batch = journal.map(|entries| {
        let mut b = BatchFigures {
            jobs: entries.len(),
            ..BatchFigures::default()
        };
        let mut gains = Vec::new();
        for e in entries {
            if e.attempts > 0 {
                b.generate_seconds += e.times.generate.as_secs_f64();
            }
            if let (Some(best), Some(first)) = (e.picked.best_score, e.picked.first_score)
                && e.picked.candidates > 1
            {
                gains.push(best - first);
                if best > first {
                    b.best_not_first += 1;
                }
            }
            match e.status.as_str() {
                "made" => b.first_try_valid += 1,
                "repaired" => {
                    b.repaired += 1;
                    b.repairs += e.attempts.saturating_sub(e.picked.candidates.max(1));
                }
                "cached" | "up_to_date" => b.cached += 1,
                "rejected" => {
                    b.rejected += 1;
                    b.repairs += e.attempts.saturating_sub(e.picked.candidates.max(1));
                }
                _ => b.kept += 1,
            }
        }
        b.candidates = entries
            .iter()
            .map(|e| e.picked.candidates)
            .filter(|c| *c > 0)
            .min()
            .unwrap_or(0);
        b.drew_more = entries
            .iter()
            .filter(|e| e.picked.candidates > b.candidates)
            .count();
        b.best_of_n_gain = gains.iter().sum::<f64>() / gains.len().max(1) as f64;
        b
    });
    r
}

/// The topic each generated tree was asked about, from its provenance.
fn recorded_topics(set: &ContentSet) -> HashMap<PathBuf, Topic> {
    set.sidecars
        .iter()
        .filter_map(|s| {
            let keys = s.value.parameters.get("topic_keys")?;
            let target = sidecar_target(&s.path)?;
            let topic = Topic {
                kind: TopicKind::Item,
                label: s.value.parameters.get("topic").cloned().unwrap_or_default(),
                keys: keys.split('|').map(str::to_owned).collect(),
                lead: String::new(),
            };
            Some((target, topic))
        })
        .collect()
}

/// Names and control characters of the villagers and items in `chosen`.
fn writer_figures(set: &ContentSet, chosen: &HashSet<PathBuf>, r: &mut QualityReport) {
    for c in set.characters.iter().filter(|c| chosen.contains(&c.path)) {
        let c = &c.value;
        r.names += 1;
        if name_ok(&c.name) {
            r.names_valid += 1;
        }
        let mut texts = vec![&c.name, &c.role, &c.speech_style, &c.backstory];
        texts.extend(&c.personality);
        texts.extend(c.relationships.iter().map(|x| &x.note));
        if texts.iter().any(|t| t.chars().any(is_control)) {
            r.control_character_files += 1;
        }
        if card_pronoun_clash(c).is_some() {
            r.pronoun_clash_cards += 1;
        }
    }
    for i in set.items.iter().filter(|i| chosen.contains(&i.path)) {
        r.names += 1;
        if name_ok(&i.value.name) {
            r.names_valid += 1;
        }
        if [&i.value.name, &i.value.description]
            .iter()
            .any(|t| t.chars().any(is_control))
        {
            r.control_character_files += 1;
        }
    }
}

impl core::fmt::Display for QualityReport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if let Some(b) = &self.batch {
            let delivered = b.first_try_valid + b.repaired + b.cached;
            let called = b.first_try_valid + b.repaired + b.rejected;
            writeln!(f, "jobs:                {}", b.jobs)?;
            writeln!(
                f,
                "validity:            {delivered}/{} delivered valid; first try {}/{called} ({:.0} %), repaired {}, rejected {}, cached {}, kept {}",
                b.jobs,
                b.first_try_valid,
                100.0 * b.first_try_valid as f64 / called.max(1) as f64,
                b.repaired,
                b.rejected,
                b.cached,
                b.kept
            )?;
            writeln!(f, "repairs:             {}", b.repairs)?;
            writeln!(
                f,
                "best-of-N:           N = {} (more drawn in {} jobs with none of N valid), model time {:.0} s over the jobs that called it; kept another than the first in {} jobs, mean score gain {:+.3}",
                b.candidates.max(1),
                b.drew_more,
                b.generate_seconds,
                b.best_not_first,
                b.best_of_n_gain
            )?;
        }
        writeln!(
            f,
            "trees measured:      {} ({} lines)",
            self.trees, self.lines
        )?;
        writeln!(f, "invalid files:       {}", self.invalid_files.len())?;
        for p in &self.invalid_files {
            writeln!(f, "  {p}")?;
        }
        writeln!(
            f,
            "distinct-1 / -2:     {:.3} / {:.3}",
            self.distinct_1, self.distinct_2
        )?;
        let [min, p10, med, p90, max] = self.length;
        writeln!(
            f,
            "line length (chars): min {min}, p10 {p10}, median {med}, p90 {p90}, max {max}"
        )?;
        writeln!(f, "duplicate lines:     {}", self.duplicate_lines)?;
        writeln!(f, "copied names:        {}", self.copied_names)?;
        writeln!(
            f,
            "lifted phrases:      {} (6-word runs from hand-written lines)",
            self.lifted_from_examples
        )?;
        writeln!(
            f,
            "read-out brief:      {} (lines repeating the world's or a villager card's text)",
            self.lifted_from_world
        )?;
        writeln!(
            f,
            "on topic:            {}/{} trees mention a place, item, villager or crop of this world",
            self.on_topic_trees, self.trees
        )?;
        writeln!(
            f,
            "grounded:            {}/{} trees mention the topic they were given ({:.0} %)",
            self.grounded_trees,
            self.trees_with_topic,
            100.0 * self.grounded_trees as f64 / self.trees_with_topic.max(1) as f64
        )?;
        writeln!(
            f,
            "speakers ok:         {}/{} trees (the NPC opens and says half; narrator only in its slot)",
            self.speakers_ok, self.trees
        )?;
        writeln!(f, "meta-talk lines:     {}", self.meta_talk_lines)?;
        writeln!(f, "mixed scripts:       {} lines", self.mixed_script_lines)?;
        writeln!(
            f,
            "cut off:             {} lines at the {LINE_CHARS}-character limit",
            self.cut_off_lines
        )?;
        writeln!(
            f,
            "misspelled names:    {} lines",
            self.misspelled_name_lines
        )?;
        writeln!(f, "self-named:          {} lines", self.self_named_lines)?;
        writeln!(
            f,
            "clean trees:         {}/{} pass every check above",
            self.clean_trees, self.trees
        )?;
        writeln!(
            f,
            "control characters:  {} files",
            self.control_character_files
        )?;
        writeln!(
            f,
            "names valid:         {}/{} villagers and items",
            self.names_valid, self.names
        )?;
        write!(
            f,
            "pronouns:            {} villager cards call them by the other figure's pronouns",
            self.pronoun_clash_cards
        )
    }
}

/// What the prompts tell the model about the world and its people, as [`PromptText`]: the
/// world's setting, tone, themes and season, place and flag descriptions, and every villager's
/// role, personality, speech style, backstory and relationship notes.
fn world_text(set: &ContentSet) -> PromptText {
    let mut texts: Vec<&str> = Vec::new();
    if let Some(w) = set.world() {
        texts.extend([w.setting.as_str(), w.tone.as_str()]);
        texts.extend(w.themes.iter().map(String::as_str));
        texts.extend(w.seasons.iter().map(|s| s.description.as_str()));
        texts.extend(w.locations.iter().map(|l| l.description.as_str()));
    }
    for c in &set.characters {
        let c = &c.value;
        texts.extend([
            c.role.as_str(),
            c.speech_style.as_str(),
            c.backstory.as_str(),
        ]);
        texts.extend(c.personality.iter().map(String::as_str));
        texts.extend(c.relationships.iter().map(|r| r.note.as_str()));
    }
    PromptText::of(texts)
}
