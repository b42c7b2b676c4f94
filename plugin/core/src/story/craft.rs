//! What the validator does not check but a writer would, shared by the pipeline (which rejects
//! it) and the quality report (which counts it): the words of a line, runs of six words lifted
//! from other lines, a line said twice in one tree, names from other games, control characters,
//! talk about the game instead of in it ("this conversation", "the player"), who speaks, and
//! names in the world's style. A leaf: it imports nothing else of `story` but the leaf
//! [`topic`](super::topic).

use std::collections::HashSet;

use crate::content::dialogue::NARRATOR;
use crate::content::{Character, DialogueTree};
use crate::validate::copying::{DoNotCopy, Match};

use super::topic::Topic;

/// The words of a line, lowercased, apostrophes kept: what repeated and lifted lines are
/// judged on.
pub(crate) fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// How many words in a row a line must share with another to have lifted a phrase from it.
pub(crate) const LIFTED_RUN: usize = 6;

/// Every run of six words in some lines: a line that shares one lifted a phrase from them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Phrases(HashSet<Vec<String>>);

impl Phrases {
    /// The runs of `lines`.
    pub(crate) fn of<'a>(lines: impl IntoIterator<Item = &'a str>) -> Self {
        let mut runs = HashSet::new();
        for line in lines {
            runs.extend(words(line).windows(LIFTED_RUN).map(<[String]>::to_vec));
        }
        Self(runs)
    }

    /// Whether the line whose [`words`] these are shares a run with them.
    pub(crate) fn lifted_by(&self, words: &[String]) -> bool {
        words.windows(LIFTED_RUN).any(|run| self.0.contains(run))
    }
}

/// The shortest line that counts as lifted when it is, word for word, a stretch of the prompt
/// ("Warm, unhurried and gently funny." from the world's tone).
const LIFTED_WHOLE: usize = 3;

/// The text a prompt gave the model (its instructions, the world, the villager's card): a line
/// that repeats it is the model reading its brief aloud, not a villager talking. Lines that
/// share a run of [`LIFTED_RUN`] words with it, or that are, whole, a stretch of it of at
/// least [`LIFTED_WHOLE`] words, lifted from it.
#[derive(Debug, Clone, Default)]
pub(crate) struct PromptText {
    runs: Phrases,
    lines: Vec<Vec<String>>,
}

impl PromptText {
    /// The prompt's `texts`, judged line by line (a run never spans two lines of the prompt).
    pub(crate) fn of<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let lines: Vec<Vec<String>> = texts
            .into_iter()
            .flat_map(str::lines)
            .map(words)
            .filter(|w| !w.is_empty())
            .collect();
        let mut runs = HashSet::new();
        for l in &lines {
            runs.extend(l.windows(LIFTED_RUN).map(<[String]>::to_vec));
        }
        Self {
            runs: Phrases(runs),
            lines,
        }
    }

    /// The words of the prompt that the line whose [`words`] these are repeats, if it lifted
    /// any: the first shared run, or the whole line.
    pub(crate) fn lifted_in(&self, words: &[String]) -> Option<String> {
        if let Some(run) = words
            .windows(LIFTED_RUN)
            .find(|run| self.runs.0.contains(*run))
        {
            return Some(run.join(" "));
        }
        (words.len() >= LIFTED_WHOLE
            && self
                .lines
                .iter()
                .any(|l| l.windows(words.len()).any(|s| s == words)))
        .then(|| words.join(" "))
    }
}

/// No line said twice in one tree, no run of six words lifted from the examples the prompt
/// showed, and none of the prompt's own words read back (`prompt`: its text without the
/// examples).
pub(crate) fn dialogue_craft(
    tree: &DialogueTree,
    examples: &[String],
    prompt: &PromptText,
) -> Vec<String> {
    let mut problems = Vec::new();
    let lifted = Phrases::of(examples.iter().map(String::as_str));
    for (i, n) in tree.nodes.iter().enumerate() {
        let w = words(&n.text);
        if let Some(j) = tree.nodes[..i].iter().position(|m| words(&m.text) == w) {
            problems.push(format!(
                "nodes[{i}].text: says the same as nodes[{j}].text; every line must move the conversation on [repeated_line]"
            ));
        }
        if lifted.lifted_by(&w) {
            problems.push(format!(
                "nodes[{i}].text: copies the example line; the example is for the voice only, write a new line [copied_line]"
            ));
        } else if let Some(run) = prompt.lifted_in(&w) {
            problems.push(format!(
                "nodes[{i}].text: reads out the instructions (\"{run}\"); say something the speaker would say, in new words [copied_prompt]"
            ));
        }
    }
    problems
}

/// Lines that ran into the length limit (`max` characters): the schema then made the model end
/// them wherever it stood, mid-word ("keep things warm and m.").
pub(crate) fn cut_off(tree: &DialogueTree, max: usize) -> Vec<String> {
    tree.nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.text.chars().count() >= max)
        .map(|(i, _)| {
            format!(
                "nodes[{i}].text: runs to the {max}-character limit and is cut off; say it in fewer words [cut_off]"
            )
        })
        .collect()
}

/// The characters no text pattern of a schema admits, as the inside of a regex class: C0 and
/// C1 control characters (newlines, `\u{1b}`) and the invisible format characters of
/// [`is_control`].
pub(crate) const NO_CONTROL: &str =
    r"\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff";

/// Letters of the scripts a Latin-script line never mixes in, as the inside of a regex class:
/// Greek, Cyrillic, Hebrew, Arabic, Devanagari, Thai, CJK, kana, Hangul and full-width forms
/// (small models slip a word of their other languages into an English line). Every text
/// pattern opens with a Latin capital, so the whole of a generated text is Latin script.
pub(crate) const NO_OTHER_SCRIPT: &str = r"\u0370-\u03ff\u0400-\u052f\u0590-\u06ff\u0900-\u097f\u0e00-\u0e7f\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef";

/// Whether `c` has no business in a line of text: a control character (`\u{1b}`, a newline) or
/// an invisible format character (zero-width space, bidi marks, byte-order mark).
pub(crate) fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}')
}

/// The first letter of `text` in another script than the Latin letters around it ("it makes
/// 我."): small models slip a word of their other training languages into a line. A line
/// wholly in one script passes, whichever it is.
pub(crate) fn mixed_script(text: &str) -> Option<char> {
    let latin = |c: char| {
        c.is_ascii_alphabetic() || matches!(c, '\u{c0}'..='\u{24f}' | '\u{1e00}'..='\u{1eff}')
    };
    let letters = || text.chars().filter(|c| c.is_alphabetic());
    if !letters().any(latin) {
        return None;
    }
    letters().find(|c| !latin(*c))
}

/// Words and phrases that talk about the game instead of in it: a villager never says
/// "this conversation", "chat", "entry" or "the player".
const META: &[&str] = &[
    "conversation",
    "conversations",
    "chat",
    "chats",
    "chatting",
    "chatbot",
    "entry",
    "entries",
    "player",
    "players",
    "dialogue",
    "dialog",
    "npc",
    "json",
    "prompt",
    "assistant",
    "roleplay",
    "role-play",
    "narrator",
    "ai",
    "user",
    "video game",
    "language model",
    "this game",
    "the game",
    // The genre the prompt names, said as where the speaker lives ("The villagers are sitting
    // in a cozy farming game.").
    "farming game",
    "farming games",
    "farm game",
    "farm games",
    "cozy game",
    "cosy game",
    // A model describing its own output ("All lines above describe the villagers…", "The
    // places of Marlow cottage are listed here.").
    "lines above",
    "line above",
    "these lines",
    "listed here",
    "listed above",
    "listed below",
    "described above",
    "above describe",
    // The writer's task read out as the speaker's own ("Today I'm writing a line for Pim Marlow!
    // Here are three new lines based on your description.", "Start talking to PIM Marlow.").
    "writing a line",
    "write a line",
    "new lines",
    "your description",
    "start talking",
    // A situation's name read out of the tree's id ("Start of Gift Disliked Autumn.").
    "gift liked",
    "gift disliked",
    "quest offer",
    "quest complete",
    // The situation's own words read out ("Everyday smalltalk.", "Bettany meets for the first
    // time.", "I speak daily").
    "small talk",
    "smalltalk",
    "smalltalks",
    "small talks",
    "little talk",
    "first meeting",
    "meet for the first time",
    "meets for the first time",
    "speak daily",
    // An assistant's refusal ("there isn't enough information provided for me to determine
    // what you meant by 'first meeting'").
    "enough information",
    "information provided",
    "what you meant",
    "you meant by",
    // An assistant's greeting ("Hello there! How can I assist you today?").
    "assist you",
    "assistance",
    "inconvenience",
    // A repair's message answered in the line ("why the validator rejected that answer").
    "validator",
    "validation",
    "instructions",
];

/// A villager's name written wrong in `text`: a capitalised word that is not one of `names`
/// (the villagers' name words) but one or two letters from one (`Seafa`, `Ottilely`,
/// `OTtilie`), or a name in lower case (`ottilie`), with the name it should be. Names of up to
/// five letters allow one letter off, longer ones two, or three after the name's own first four
/// letters.
pub(crate) fn misspelled_name(text: &str, names: &[String]) -> Option<(String, String)> {
    let known: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    for word in text.split(|c: char| !c.is_alphabetic()) {
        let lower = word.to_lowercase();
        if lower.chars().count() < 4 {
            continue;
        }
        if !word.chars().next().is_some_and(char::is_uppercase) {
            // A name in lower case is a name read out of an id ("Starting ottilie daily.").
            if let Some(i) = known.iter().position(|k| *k == lower) {
                return Some((word.to_owned(), names[i].clone()));
            }
            continue;
        }
        if let Some(i) = known.iter().position(|k| *k == lower) {
            // The right letters in the wrong case ("OTtilie"); "OTTILIE" is shouting, allowed.
            let upper = word.chars().all(char::is_uppercase);
            if word != names[i] && !upper {
                return Some((word.to_owned(), names[i].clone()));
            }
            continue;
        }
        for (k, name) in known.iter().zip(names) {
            let allowed = if k.chars().count() <= 5 { 1 } else { 2 };
            let distance = edit_distance(&lower, k);
            // A name's first four letters and then a wrong ending ("Ottilely").
            let same_start = k.chars().count() >= 6
                && lower.chars().take(4).eq(k.chars().take(4))
                && distance <= 3;
            if k.chars().count() >= 4 && (distance <= allowed || same_start) {
                return Some((word.to_owned(), name.clone()));
            }
        }
    }
    None
}

/// Whether a line says its own speaker's first name, as if someone else were talking about them
/// ("Ottilie can help Idris put the keystone on it", said by Idris Vane). Introducing oneself is
/// not that: "I'm Idris", "my name is Idris", "call me Idris", or the full name ("Idris Vane,
/// mason").
pub(crate) fn self_named(text: &str, name: &str) -> bool {
    let mut parts = name.split_whitespace();
    let Some(first) = parts.next().filter(|f| f.chars().count() >= 2) else {
        return false;
    };
    let surname = parts.next();
    let tokens: Vec<&str> = text
        .split(|c: char| !c.is_alphabetic() && c != '\'' && c != '\u{2019}')
        .filter(|w| !w.is_empty())
        .collect();
    tokens.iter().enumerate().any(|(i, w)| {
        let bare = w
            .trim_end_matches("'s")
            .trim_end_matches("\u{2019}s")
            .trim_matches(['\'', '\u{2019}']);
        if bare != first {
            return false;
        }
        // "Sweetcorn is Pim's favourite" is about Pim, not Pim introducing themself.
        let possessive = w.ends_with("'s") || w.ends_with("\u{2019}s");
        let introduced = !possessive
            && i.checked_sub(1).is_some_and(|p| {
                matches!(
                    tokens[p].to_lowercase().replace('\u{2019}', "'").as_str(),
                    "i'm" | "im" | "am" | "is" | "me" | "it's"
                )
            })
            || surname.is_some_and(|s| tokens.get(i + 1) == Some(&s));
        !introduced
    })
}

/// A card that calls its villager by the other figure's pronouns: the backstory of a man that
/// says "she" and "her" and never "he", "him" or "his". `figure` is the card's appearance
/// (`woman`, `man`, `girl`, `boy`, `person`); other people in the text are allowed their own
/// pronouns, so only a text with none of the figure's own is judged. Returns the wrong word.
pub(crate) fn pronoun_clash(figure: &str, text: &str) -> Option<String> {
    const HE: [&str; 4] = ["he", "him", "his", "himself"];
    const SHE: [&str; 4] = ["she", "her", "hers", "herself"];
    let (own, other): (&[&str], &[&str]) = match figure {
        "woman" | "girl" => (&SHE, &HE),
        "man" | "boy" => (&HE, &SHE),
        _ => return None,
    };
    let w = words(text);
    if w.iter().any(|x| own.contains(&x.as_str())) {
        return None;
    }
    w.into_iter().find(|x| other.contains(&x.as_str()))
}

/// The first field of a villager card that calls them by the other figure's pronouns
/// ([`pronoun_clash`] over the backstory and the speech style), and the wrong word.
pub(crate) fn card_pronoun_clash(c: &Character) -> Option<(&'static str, String)> {
    let figure = &c.appearance.as_ref()?.figure;
    [
        ("backstory", &c.backstory),
        ("speech_style", &c.speech_style),
    ]
    .into_iter()
    .find_map(|(field, text)| pronoun_clash(figure, text).map(|wrong| (field, wrong)))
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The first word or phrase of [`META`] that `text` uses, if any.
pub(crate) fn meta_talk(text: &str) -> Option<&'static str> {
    let w: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    META.iter().copied().find(|m| {
        let m: Vec<&str> = m.split(' ').collect();
        w.windows(m.len())
            .any(|run| run.iter().zip(&m).all(|(a, b)| a == b))
    })
}

/// Who may speak in a tree: the NPC opens and says at least half the lines; the narrator
/// speaks only where the shape allows it (`narrator_at`), in the third person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Speakers<'a> {
    /// The NPC.
    pub npc: &'a str,
    /// The one line the narrator may take.
    pub narrator_at: Option<usize>,
}

/// The problems with who speaks in `tree`.
pub(crate) fn speaker_problems(tree: &DialogueTree, who: &Speakers<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    let npc = who.npc;
    if tree
        .nodes
        .first()
        .is_some_and(|n| n.speaker.as_str() != npc)
    {
        problems.push(format!(
            "nodes[0].speaker: {npc} opens the conversation [speaker_opens]"
        ));
    }
    let said = tree
        .nodes
        .iter()
        .filter(|n| n.speaker.as_str() == npc)
        .count();
    if said * 2 < tree.nodes.len() {
        problems.push(format!(
            "{npc} says {said} of {} lines: {npc} must say at least half [speaker_share]",
            tree.nodes.len()
        ));
    }
    for (i, n) in tree.nodes.iter().enumerate() {
        let s = n.speaker.as_str();
        if s == NARRATOR && who.narrator_at != Some(i) {
            problems.push(format!(
                "nodes[{i}].speaker: no narrator here; {npc} says this line [speaker_narrator]"
            ));
        } else if s == NARRATOR
            && words(&n.text)
                .iter()
                .any(|w| matches!(w.as_str(), "i" | "i'm" | "my" | "me" | "we" | "our"))
        {
            problems.push(format!(
                "nodes[{i}].text: the narrator describes what {npc} does, in the third person, never \"I\" [narrator_person]"
            ));
        } else if s != npc && s != NARRATOR {
            problems.push(format!(
                "nodes[{i}].speaker: `{s}` is not in this conversation; {npc} says this line [speaker_unknown]"
            ));
        }
    }
    problems
}

/// Whether `name` is in the world's style: one to three capitalised words of letters
/// ("Wren", "Wren Alder", "Moon Pear").
pub(crate) fn name_ok(name: &str) -> bool {
    let parts: Vec<&str> = name.split(' ').collect();
    (1..=3).contains(&parts.len())
        && parts.iter().all(|p| {
            let mut c = p.chars();
            c.next().is_some_and(|f| f.is_ascii_uppercase())
                && p.len() >= 2
                && c.all(|c| c.is_ascii_lowercase())
        })
}

/// The writer's checks of a generated tree beyond repetition and copying: no control
/// characters, no meta-talk, speakers as the shape says, and its topic mentioned.
pub(crate) fn tree_problems(
    tree: &DialogueTree,
    who: &Speakers<'_>,
    topic: Option<&Topic>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, n) in tree.nodes.iter().enumerate() {
        if n.text.chars().any(is_control) {
            problems.push(format!(
                "nodes[{i}].text: has a control character; write plain words [control_character]"
            ));
        }
        if let Some(c) = mixed_script(&n.text) {
            problems.push(format!(
                "nodes[{i}].text: has `{c}`, a letter of another language; write every word in the line's own language [mixed_script]"
            ));
        }
        if let Some(m) = meta_talk(&n.text) {
            problems.push(format!(
                "nodes[{i}].text: says \"{m}\"; {} talks about the village, never about the game or the conversation itself [meta_talk]",
                who.npc
            ));
        }
    }
    problems.extend(speaker_problems(tree, who));
    if let Some(t) = topic
        && !tree.nodes.iter().any(|n| t.mentioned_in(&n.text))
    {
        problems.push(format!(
            "no line mentions {}; say \"{}\" in one of the lines [off_topic]",
            t.label,
            t.say()
        ));
    }
    problems
}

/// One problem per default do-not-copy name that `text` uses anywhere.
pub(crate) fn copied_names(text: &str) -> Vec<String> {
    DoNotCopy::defaults()
        .used_in(text, Match::Anywhere)
        .map(|name| {
            format!("uses `{name}`, a name from another game: invent your own [copied_name]")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_words_in_a_row_are_a_lifted_phrase_whatever_the_case_and_punctuation() {
        assert_eq!(
            words("Don't—ever, say 'never' 2 times!"),
            ["don't", "ever", "say", "'never'", "2", "times"]
        );
        let examples = Phrases::of(["The bees don't like rain, not one bit."]);
        assert!(examples.lifted_by(&words("Well, the BEES don't like rain... not one!")));
        assert!(!examples.lifted_by(&words("The bees don't like rain at all.")));
        assert!(!Phrases::default().lifted_by(&words("the bees don't like rain not")));
    }

    fn tree(lines: &[(&str, &str)]) -> DialogueTree {
        let nodes: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, (who, text))| {
                let next = if i + 1 < lines.len() {
                    format!("Goto(\"n{}\")", i + 1)
                } else {
                    "End".into()
                };
                format!(
                    "(id: \"n{i}\", line: \"t_n{i}\", speaker: \"{who}\", text: {text:?}, next: {next})"
                )
            })
            .collect();
        crate::format::parse(&format!(
            "DialogueTree(id: \"t\", situation: Daily, participants: [\"sefa\"], entry: \"n0\", nodes: [{}])",
            nodes.join(", ")
        ))
        .unwrap()
    }

    const SEFA: Speakers<'static> = Speakers {
        npc: "sefa",
        narrator_at: None,
    };

    #[test]
    fn a_villagers_name_misspelled_is_found_and_ordinary_words_are_not() {
        let names: Vec<String> = ["Sefa", "Ottilie", "Idris", "Bettany", "Brask", "Pim"]
            .map(String::from)
            .to_vec();
        for (line, wrong, right) in [
            ("Seafa offers tea for the span.", "Seafa", "Sefa"),
            ("Ottilely gave me my handcart.", "Ottilely", "Ottilie"),
            (
                "Irodi asked for ten good stones from OTtilie.",
                "OTtilie",
                "Ottilie",
            ),
            ("Ask Betany about the hives.", "Betany", "Bettany"),
            ("Starting ottilie daily.", "ottilie", "Ottilie"),
        ] {
            assert_eq!(
                misspelled_name(line, &names),
                Some((wrong.to_owned(), right.to_owned())),
                "{line}"
            );
        }
        for line in [
            "Sefa says the kettle's on; Ottilie disagrees.",
            "IDRIS! The Span is holding!",
            "Pin the notes to the board, said Idris.",
            "Safe travels, and mind the ford.",
            "Bettany's hives are humming.",
        ] {
            assert_eq!(misspelled_name(line, &names), None, "{line}");
        }
    }

    #[test]
    fn a_speaker_naming_themself_is_found_and_an_introduction_is_not() {
        for line in [
            "Ottilie can help Idris put the keystone on it.",
            "Idris's stones are heavy this morning.",
            "Come see Idris at the yard.",
            "Sweetcorn is Idris\u{2019}s favorite fruit.",
            "That one is Idris's, not yours.",
        ] {
            assert!(self_named(line, "Idris Vane"), "{line}");
        }
        for line in [
            "I'm Idris, and this is my yard.",
            "My name is Idris.",
            "Call me Idris; everyone does.",
            "Idris Vane, mason. You'll be the new farmer.",
            "Ottilie lent you her cart, I hear.",
            "The Idrisian stone? Never heard of it.",
        ] {
            assert!(!self_named(line, "Idris Vane"), "{line}");
        }
    }

    #[test]
    fn the_hand_written_starter_content_passes_both_checks() {
        let set = super::super::starter();
        for c in &set.characters {
            assert!(c.value.appearance.is_some(), "{}", c.value.id);
            assert_eq!(card_pronoun_clash(&c.value), None, "{}", c.value.id);
        }
        let mut lines = 0;
        for d in &set.dialogues {
            for n in &d.value.nodes {
                if let Some(c) = set.characters.iter().find(|c| c.value.id == n.speaker) {
                    lines += 1;
                    assert!(!self_named(&n.text, &c.value.name), "{}", n.text);
                }
            }
        }
        assert!(lines > 40, "{lines} lines");
    }

    #[test]
    fn a_card_in_the_other_figures_pronouns_clashes_and_other_people_do_not() {
        assert_eq!(
            pronoun_clash("man", "Tobin grew up on the hill; she keeps bees."),
            Some("she".to_owned())
        );
        assert_eq!(
            pronoun_clash("girl", "He hums to the hives."),
            Some("he".to_owned())
        );
        for (figure, text) in [
            ("man", "His mother kept bees; she taught him everything."),
            (
                "woman",
                "She runs the shop her father built; he still visits.",
            ),
            ("person", "She hums to the hives."),
            ("man", "Keeps the bridge's stones counted."),
        ] {
            assert_eq!(pronoun_clash(figure, text), None, "{figure}: {text}");
        }
    }

    #[test]
    fn talk_about_the_game_is_meta_talk_and_talk_in_it_is_not() {
        for line in [
            "Pim Marlow: This was my entry to start your chat.",
            "Place your hands on the table at the end of this conversation.",
            "Welcome, player! The game begins.",
            "The villagers are sitting in a cozy farming game.",
            "As an AI I cannot brew tea.",
            "All lines above describe the villagers in Kettle Hollow with their personal details.",
            "The place(s) of Marlow cottage are listed here.",
            "Start of Gift Disliked Autumn.",
            "Everyday smalltalk.",
            "I am tobin, and I speak daily.",
            "Hello there! How can I assist you today?",
            "Good morning! I'm sorry for any inconvenience caused by your recent game changes.",
            "I want to ask you why the validator rejected that answer.",
            "I'm sorry, but there isn't enough information provided for me to determine what you meant by 'first meeting'.",
            "Today I'm writing a line for Pim Marlow! Here are three new lines based on your description.",
            "Start talking to PIM Marlow.",
            "I'm a villager in Hollow Herald aged eleven who enjoys playing farm games.",
        ] {
            assert!(meta_talk(line).is_some(), "{line}");
        }
        for line in [
            "Sit anywhere but the window seat; Bettany's claimed it by leaving her hat on it. Tea?",
            "The chatter at the Seed Swap was louder than the bell.",
            "Mind the mud at the gate.",
            "Here are your seeds; the rows above the mill are yours.",
            "The line of willows above the ford floods every spring.",
            "You liked the gift? I disliked mine.",
            "I'm sorry, but the kettle's gone cold. Sit; I'll make another.",
            "We met the first time the Amble flooded.",
            "Write your name in the ledger; I'll describe the rest.",
            "Three lines of beans and a row of leeks, that's my plot.",
        ] {
            assert_eq!(meta_talk(line), None, "{line}");
        }
    }

    #[test]
    fn a_letter_of_another_script_in_a_line_is_caught_and_a_line_in_one_script_is_not() {
        assert_eq!(
            mixed_script("Every time I eat sweet corn, it makes我."),
            Some('我')
        );
        assert_eq!(mixed_script("Хорошо, seedling."), Some('Х'));
        for fine in [
            "Café crème, naïve Zoë, Łódź and Ångström.",
            "お茶をどうぞ。",
            "Чай готов.",
            "Eleven hives — ten happy! 42 jars.",
            "",
        ] {
            assert_eq!(mixed_script(fine), None, "{fine}");
        }
        let t = tree(&[("sefa", "The tea is 好 today.")]);
        let problems = tree_problems(&t, &SEFA, None);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("nodes[0].text: has `好`") && p.ends_with("[mixed_script]")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_line_at_the_length_limit_is_cut_off_and_a_shorter_one_is_not() {
        let long = "We should find ways to keep things warm and m.";
        let t = tree(&[("sefa", "Tea?"), ("sefa", long)]);
        let n = long.chars().count();
        assert_eq!(
            cut_off(&t, n),
            [
                "nodes[1].text: runs to the 46-character limit and is cut off; say it in fewer words [cut_off]"
            ]
        );
        assert!(cut_off(&t, n + 1).is_empty());
    }

    #[test]
    fn control_and_invisible_characters_are_caught() {
        assert!("\u{1b}Bramblegate Farm\u{1d}".chars().any(is_control));
        assert!("a\u{200b}b".chars().any(is_control));
        assert!("two\nlines".chars().any(is_control));
        assert!(!"Tea? It's hot — mind the cup.".chars().any(is_control));
    }

    #[test]
    fn the_npc_opens_says_half_and_the_narrator_keeps_to_its_slot() {
        let good = tree(&[("sefa", "Tea?"), ("sefa", "Sit down.")]);
        assert!(speaker_problems(&good, &SEFA).is_empty());
        let narrated = tree(&[
            ("sefa", "Tea?"),
            ("narrator", "I am working at this moment."),
            ("narrator", "Sefa pours."),
        ]);
        let p = speaker_problems(&narrated, &SEFA).join("\n");
        assert!(p.contains("[speaker_share]"), "{p}");
        assert!(p.contains("nodes[1].speaker: no narrator here"), "{p}");
        let gift = Speakers {
            npc: "sefa",
            narrator_at: Some(1),
        };
        let p = speaker_problems(&narrated, &gift).join("\n");
        assert!(
            p.contains("nodes[1].text") && p.contains("[narrator_person]"),
            "{p}"
        );
        assert!(p.contains("nodes[2].speaker"), "{p}");
        let fine = tree(&[
            ("sefa", "Oh!"),
            ("narrator", "Sefa pours."),
            ("sefa", "There."),
        ]);
        assert!(speaker_problems(&fine, &gift).is_empty());
        let opened_by_other = tree(&[("pim", "Hello!"), ("sefa", "Tea?"), ("sefa", "Sit.")]);
        let p = speaker_problems(&opened_by_other, &SEFA).join("\n");
        assert!(
            p.contains("[speaker_opens]") && p.contains("[speaker_unknown]"),
            "{p}"
        );
    }

    #[test]
    fn names_are_one_to_three_capitalised_words_of_letters() {
        for good in ["Wren", "Wren Alder", "Moon Pear", "Bell Green Farm"] {
            assert!(name_ok(good), "{good}");
        }
        for bad in [
            "Betrashan Zamanamir izjm",
            "Bettallah Shirea Manzumawdara (20 Aug)  758496",
            "wren",
            "W",
            "One Two Three Four",
            "\u{1b}Bramblegate Farm\u{1d}",
            "Wren  Alder",
        ] {
            assert!(!name_ok(bad), "{bad}");
        }
    }

    #[test]
    fn a_line_that_reads_out_the_prompt_is_caught_and_the_repair_quotes_it() {
        // What Qwen wrote on the evaluation suite: the world's tone, the writer's instruction.
        let prompt = PromptText::of([
            "You write dialogue for a cosy farming game set in Kettle Hollow: a river village.\nTone: Warm, unhurried and gently funny.",
            "Write 3 lines.\nEvery line is a whole spoken sentence about the village, its people and its weather, and says something new.",
        ]);
        let t = tree(&[
            ("sefa", "Warm, unhurried and gently funny."),
            (
                "sefa",
                "Well, every line is a whole spoken sentence about the village!",
            ),
            (
                "sefa",
                "The kettle's on, and the river's up past the second stone.",
            ),
        ]);
        let problems = dialogue_craft(&t, &[], &prompt);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with("nodes[0].text")
                && problems[0].contains("\"warm unhurried and gently funny\"")
                && problems[0].ends_with("[copied_prompt]"),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with("nodes[1].text")
                && problems[1].contains("\"every line is a whole spoken\""),
            "{problems:?}"
        );
        // Short lines and names the prompt gives are the villager's to use; a run never spans
        // two lines of the prompt.
        for fine in [
            "Kettle Hollow.",
            "Gently, now.",
            "Kettle Hollow is warm, unhurried and gently funny in spring.",
            "A river village, they call it, but I call it home.",
        ] {
            assert_eq!(prompt.lifted_in(&words(fine)), None, "{fine}");
        }
        assert_eq!(
            prompt.lifted_in(&words("In a river village, tone warm, unhurried!")),
            None,
            "across a line break of the prompt"
        );
        // An example line copied is `copied_line`, not both.
        let copied = dialogue_craft(
            &tree(&[(
                "sefa",
                "Every line is a whole spoken sentence about the village.",
            )]),
            &["every line is a whole spoken sentence".to_owned()],
            &prompt,
        );
        assert_eq!(copied.len(), 1, "{copied:?}");
        assert!(copied[0].ends_with("[copied_line]"), "{copied:?}");
    }

    #[test]
    fn a_tree_must_mention_its_topic_and_the_repair_says_what_to_say() {
        let topic = Topic {
            kind: super::super::topic::TopicKind::Place,
            label: "Bell Green, where Sefa spends the morning".into(),
            keys: vec!["bell green".into()],
            lead: "Bell Green".into(),
        };
        let off = tree(&[("sefa", "Tea? It is hot today."), ("sefa", "Mind the cup.")]);
        let p = tree_problems(&off, &SEFA, Some(&topic)).join("\n");
        assert!(
            p.contains("[off_topic]") && p.contains("say \"bell green\""),
            "{p}"
        );
        let on = tree(&[
            ("sefa", "The damsons on Bell Green are out."),
            ("sefa", "Tea?"),
        ]);
        assert!(tree_problems(&on, &SEFA, Some(&topic)).is_empty());
        let meta = tree(&[
            ("sefa", "Welcome to this chat about Bell Green."),
            ("sefa", "Tea?"),
        ]);
        let p = tree_problems(&meta, &SEFA, Some(&topic)).join("\n");
        assert!(
            p.contains("nodes[0].text: says \"chat\"") && p.contains("[meta_talk]"),
            "{p}"
        );
    }
}
