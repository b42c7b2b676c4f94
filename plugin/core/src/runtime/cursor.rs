//! Walking a dialogue tree.

use crate::content::{Choice, DialogueNode, DialogueTree, Effect, Id, Next, Target};

use super::Facts;

/// Why the runtime could not go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The tree has no node with this id (edited while running, or never validated).
    #[error("dialogue `{tree}` has no node `{node}`")]
    MissingNode {
        /// Tree id.
        tree: Id,
        /// Node id.
        node: Id,
    },
    /// The player picked a choice that is not on offer.
    #[error("choice {0} is not available here")]
    NoSuchChoice(usize),
    /// The line has choices, so the player must pick one.
    #[error("this line needs a choice")]
    ChoiceRequired,
}

/// Where a conversation stands: the current node, by id, so a hot-reloaded tree carries on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogueCursor {
    node: Id,
}

/// What one step of a conversation did.
#[derive(Debug, Clone, PartialEq)]
pub struct Advance {
    /// Effects to apply, in order: the picked choice's, then the next line's.
    pub effects: Vec<Effect>,
    /// Whether the conversation is over.
    pub ended: bool,
}

impl DialogueCursor {
    /// Starts at the entry node. The entry line's effects are returned to be applied.
    pub fn start(tree: &DialogueTree) -> Result<(Self, Vec<Effect>), RuntimeError> {
        let cursor = Self {
            node: tree.entry.clone(),
        };
        let effects = cursor.node(tree)?.effects.clone();
        Ok((cursor, effects))
    }

    /// The id of the current node.
    pub fn node_id(&self) -> &Id {
        &self.node
    }

    /// The current node.
    pub fn node<'t>(&self, tree: &'t DialogueTree) -> Result<&'t DialogueNode, RuntimeError> {
        tree.node(self.node.as_str())
            .ok_or_else(|| RuntimeError::MissingNode {
                tree: tree.id.clone(),
                node: self.node.clone(),
            })
    }

    /// The choices on offer now, with their index in the node's choice list.
    pub fn choices<'t, F: Facts + ?Sized>(
        &self,
        tree: &'t DialogueTree,
        facts: &F,
    ) -> Result<Vec<(usize, &'t Choice)>, RuntimeError> {
        Ok(match &self.node(tree)?.next {
            Next::Choices(choices) => choices
                .iter()
                .enumerate()
                .filter(|(_, c)| c.condition.as_ref().is_none_or(|cond| cond.holds(facts)))
                .collect(),
            _ => Vec::new(),
        })
    }

    /// Moves on: `choice` is an index into the node's choice list (as from [`Self::choices`]);
    /// lines without choices take `None`.
    pub fn advance<F: Facts + ?Sized>(
        &mut self,
        tree: &DialogueTree,
        choice: Option<usize>,
        facts: &F,
    ) -> Result<Advance, RuntimeError> {
        let node = self.node(tree)?;
        let (mut effects, target) = match (&node.next, choice) {
            (Next::End, _) => (Vec::new(), None),
            (Next::Goto(id), _) => (Vec::new(), Some(id.clone())),
            (Next::Choices(_), None) => return Err(RuntimeError::ChoiceRequired),
            (Next::Choices(choices), Some(i)) => {
                let available = self.choices(tree, facts)?;
                if !available.iter().any(|(k, _)| *k == i) {
                    return Err(RuntimeError::NoSuchChoice(i));
                }
                let c = &choices[i];
                let target = match &c.next {
                    Target::End => None,
                    Target::Goto(id) => Some(id.clone()),
                };
                (c.effects.clone(), target)
            }
        };
        let Some(target) = target else {
            return Ok(Advance {
                effects,
                ended: true,
            });
        };
        self.node = target;
        effects.extend(self.node(tree)?.effects.iter().cloned());
        Ok(Advance {
            effects,
            ended: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::parse;
    use crate::runtime::MemoryFacts;

    const TREE: &str = r#"DialogueTree(
        id: "t", situation: Daily, participants: ["ana"], entry: "a",
        nodes: [
            (id: "a", line: "t_a", speaker: "ana", text: "Hi.", effects: [SetFlag("met")],
             next: Choices([
                (line: "t_a_c1", text: "Gift", condition: HasItem(item: "egg", count: 1),
                 effects: [TakeItem(item: "egg", count: 1)], next: Goto("b")),
                (line: "t_a_c2", text: "Bye", next: End),
             ])),
            (id: "b", line: "t_b", speaker: "ana", text: "Thanks!",
             effects: [Friendship(npc: "ana", points: 30)], next: End),
        ],
    )"#;

    #[test]
    fn walks_a_tree_with_conditions_and_effects() {
        let tree: DialogueTree = parse(TREE).unwrap();
        let mut facts = MemoryFacts::default();
        let (mut cursor, fx) = DialogueCursor::start(&tree).unwrap();
        fx.iter().for_each(|e| facts.apply(e));
        assert!(facts.flags.contains("met"));

        // Without an egg only "Bye" is offered, and the gift cannot be forced.
        let offered: Vec<_> = cursor
            .choices(&tree, &facts)
            .unwrap()
            .iter()
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(offered, [1]);
        assert_eq!(
            cursor.clone().advance(&tree, Some(0), &facts),
            Err(RuntimeError::NoSuchChoice(0))
        );
        assert_eq!(
            cursor.clone().advance(&tree, None, &facts),
            Err(RuntimeError::ChoiceRequired)
        );

        facts.apply(&Effect::GiveItem {
            item: Id::new("egg").unwrap(),
            count: 1,
        });
        assert_eq!(cursor.choices(&tree, &facts).unwrap().len(), 2);
        let step = cursor.advance(&tree, Some(0), &facts).unwrap();
        assert!(!step.ended);
        step.effects.iter().for_each(|e| facts.apply(e));
        assert_eq!(facts.item_count(&Id::new("egg").unwrap()), 0);
        assert_eq!(facts.friendship(&Id::new("ana").unwrap()), 30);
        assert_eq!(cursor.node(&tree).unwrap().text, "Thanks!");
        assert!(cursor.advance(&tree, None, &facts).unwrap().ended);
    }
}
