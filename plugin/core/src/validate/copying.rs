//! The do-not-copy rule, in one place: names from other games that Sprout's text must not use.
//! A world lists its own in `do_not_copy`; [`DEFAULT_DO_NOT_COPY`] holds the ones every
//! generated text is kept clear of. The validator reports a listed name used as a word
//! ([`Match::Word`]); the story generator and the quality report are stricter and look for the
//! name anywhere, even inside a word ([`Match::Anywhere`]).

use crate::content::World;

/// Names no generated text may use unless the world's own list says otherwise: other games'.
pub const DEFAULT_DO_NOT_COPY: &[&str] = &[
    "Stardew",
    "Pelican Town",
    "Zuzu City",
    "Joja",
    "Harvest Moon",
    "Mineral Town",
    "Animal Crossing",
];

/// The names a prompt is told to avoid: [`DEFAULT_DO_NOT_COPY`], then the world's own list, each
/// name once (ASCII case ignored; the first spelling is kept).
pub fn banned_names(world: Option<&World>) -> Vec<String> {
    let mut names: Vec<String> = DEFAULT_DO_NOT_COPY
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for n in world.iter().flat_map(|w| &w.do_not_copy) {
        if !names.iter().any(|d| d.eq_ignore_ascii_case(n)) {
            names.push(n.clone());
        }
    }
    names
}

/// How a name must appear in a text to count as used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// As a whole word or words, ignoring case: `Pelican Town!` uses `pelican town`, `Jojamart`
    /// does not use `Joja`.
    Word,
    /// Anywhere, ignoring case, even inside a word: `Jojamart` uses `Joja`.
    Anywhere,
}

/// A list of names a text must not use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoNotCopy {
    /// (lower case, as written).
    names: Vec<(String, String)>,
}

impl DoNotCopy {
    /// The list of `names`, in order.
    pub fn new<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        Self {
            names: names
                .into_iter()
                .map(|n| (n.as_ref().to_lowercase(), n.as_ref().to_owned()))
                .collect(),
        }
    }

    /// [`DEFAULT_DO_NOT_COPY`].
    pub fn defaults() -> Self {
        Self::new(DEFAULT_DO_NOT_COPY)
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The names `text` uses, as written in the list, in the list's order.
    pub fn used_in<'s>(&'s self, text: &str, how: Match) -> impl Iterator<Item = &'s str> + 's {
        let lower = text.to_lowercase();
        self.names
            .iter()
            .filter(move |(name, _)| match how {
                Match::Word => contains_word(&lower, name),
                Match::Anywhere => lower.contains(name.as_str()),
            })
            .map(|(_, written)| written.as_str())
    }
}

/// Whether `needle` occurs in `haystack` as a whole word (both already lower case).
fn contains_word(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(i) = haystack[from..].find(needle) {
        let start = from + i;
        let end = start + needle.len();
        let before = haystack[..start].chars().next_back();
        let after = haystack[end..].chars().next();
        if !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric) {
            return true;
        }
        from = start + haystack[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_matching_respects_boundaries() {
        assert!(contains_word("welcome to pelican town!", "pelican town"));
        assert!(contains_word("abigail", "abigail"));
        assert!(!contains_word("abigails", "abigail"));
        assert!(!contains_word("sebastianne", "sebastian"));
        assert!(contains_word("é abigail é", "abigail"));
    }

    #[test]
    fn names_are_found_as_words_or_anywhere() {
        let list = DoNotCopy::defaults();
        let used = |text, how| list.used_in(text, how).collect::<Vec<_>>();
        assert_eq!(used("Off to JOJAMART", Match::Word), Vec::<&str>::new());
        assert_eq!(used("Off to JOJAMART", Match::Anywhere), ["Joja"]);
        assert_eq!(
            used("stardew, near pelican town", Match::Word),
            ["Stardew", "Pelican Town"]
        );
        assert!(DoNotCopy::new(Vec::<String>::new()).is_empty());
    }

    #[test]
    fn a_world_adds_its_own_names_once() {
        let mut world: World = crate::format::parse(include_str!(
            "../../../../assets/world/kettle_hollow.world.ron"
        ))
        .unwrap();
        world.do_not_copy = vec!["joja".into(), "Grey Harbour".into()];
        let names = banned_names(Some(&world));
        assert_eq!(names.len(), DEFAULT_DO_NOT_COPY.len() + 1);
        assert_eq!(names.last().map(String::as_str), Some("Grey Harbour"));
        assert_eq!(banned_names(None), DEFAULT_DO_NOT_COPY);
    }
}
