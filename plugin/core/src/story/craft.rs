//! What the validator does not check but a writer would, shared by the pipeline (which rejects
//! it) and the quality report (which counts it): the words of a line, runs of six words lifted
//! from other lines, a line said twice in one tree, and names from other games. A leaf: it
//! imports nothing else of `story`.

use std::collections::HashSet;

use crate::content::DialogueTree;
use crate::validate::copying::{DoNotCopy, Match};

/// The words of a line, lowercased, apostrophes kept: what repeated and lifted lines are
/// judged on.
pub(crate) fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// How many words in a row a line must share with another to have lifted a phrase from it.
const LIFTED_RUN: usize = 6;

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

/// No line said twice in one tree, and no run of six words lifted from the examples the prompt
/// showed.
pub(crate) fn dialogue_craft(tree: &DialogueTree, examples: &[String]) -> Vec<String> {
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
        }
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
}
