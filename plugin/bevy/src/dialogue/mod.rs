//! Conversations in Bevy: a [`DialogueRunner`] walks a dialogue tree with the core's
//! [`DialogueCursor`], evaluates choice conditions against the game's [`Facts`] resource, and emits
//! [`DialogueEffect`] messages for the game to apply. A default UI draws the dialogue box.
//!
//! Lines show in the [`Locale`](crate::locale::Locale) in use: a line's translation where its
//! string table has a usable one, else the source text.
//!
//! Flow: the game writes [`StartDialogue`]; the player (or a test) writes [`ChooseLine`]; the game
//! reads [`LineShown`] (to play the line's recording), [`DialogueEffect`] and [`DialogueEnded`].

mod facts;
mod ui;

use core::marker::PhantomData;

use bevy::prelude::*;
use sprout_core::content::{Effect, Id};
use sprout_core::runtime::{DialogueCursor, Facts};

use crate::SproutSystems;
use crate::library::Library;

pub use facts::MemoryFactsResource;
pub use ui::{DialogueChoiceButton, DialogueUi, portrait_for};

/// Typewriter speed, in characters per second.
pub const CHARS_PER_SECOND: f32 = 45.0;

/// Start the conversation with this tree id (ignored while another one runs).
#[derive(Message, Debug, Clone)]
pub struct StartDialogue {
    /// Dialogue tree id.
    pub tree: Id,
}

/// The player's input to the running conversation.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChooseLine {
    /// Continue: finish the typewriter, or go past a line without choices.
    Continue,
    /// Pick the n-th choice on offer (0-based, in the order shown).
    Pick(usize),
}

/// An effect for the game to apply (give item, friendship, flag, quest...).
#[derive(Message, Debug, Clone, PartialEq)]
pub struct DialogueEffect {
    /// The tree it comes from.
    pub tree: Id,
    /// The effect.
    pub effect: Effect,
}

/// A line is shown: a conversation started on it or moved to it. A game plays the line's
/// recording, [`audio`](Self::audio), when it has one.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct LineShown {
    /// The tree it belongs to.
    pub tree: Id,
    /// Its stable line id (the key of its translations and recordings).
    pub line: Id,
    /// Who says it (character id, or `narrator`).
    pub speaker: Id,
    /// The text shown: the translation, or the source.
    pub text: String,
    /// Its line tags (emotion, portrait variant, delivery).
    pub tags: Vec<Id>,
    /// The language `text` is in (the locale's, or the source language where the line has no
    /// usable translation).
    pub language: String,
    /// The recording to play for it, relative to the asset root:
    /// `audio/vo/<language>/<line>.ogg` (what `sprout vo script` lists).
    pub audio: String,
}

/// A conversation ended.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct DialogueEnded {
    /// The tree that ended.
    pub tree: Id,
}

/// The running conversation (at most one at a time).
#[derive(Component, Debug, Clone)]
pub struct DialogueRunner {
    /// The tree being walked.
    pub tree: Id,
    cursor: DialogueCursor,
    /// Characters of the current line revealed so far.
    pub revealed: f32,
    /// The choices on offer now: index in the node's list and text.
    pub offered: Vec<(usize, String)>,
    /// Who speaks the current line (character id, `player` or `narrator`).
    pub speaker: Id,
    /// The current line's id.
    pub line: Id,
    /// The current line, in the locale in use (its source text where it has no translation).
    pub text: String,
    /// The language of [`text`](Self::text).
    pub language: String,
    /// The current line's tags.
    pub tags: Vec<Id>,
}

impl DialogueRunner {
    /// Whether the whole line is shown.
    pub fn fully_revealed(&self) -> bool {
        self.revealed as usize >= self.text.chars().count()
    }

    /// The id of the current node.
    pub fn node_id(&self) -> &Id {
        self.cursor.node_id()
    }
}

/// The dialogue runtime and its default UI, evaluating conditions against the resource `F`
/// (the game's state, implementing [`Facts`]).
pub struct DialoguePlugin<F> {
    ui: bool,
    _facts: PhantomData<fn() -> F>,
}

impl<F> Default for DialoguePlugin<F> {
    fn default() -> Self {
        Self {
            ui: true,
            _facts: PhantomData,
        }
    }
}

impl<F> DialoguePlugin<F> {
    /// Without the default dialogue box (the game draws its own from [`DialogueRunner`]).
    pub fn without_ui(mut self) -> Self {
        self.ui = false;
        self
    }
}

impl<F: Facts + Resource> Plugin for DialoguePlugin<F> {
    fn build(&self, app: &mut App) {
        app.add_message::<StartDialogue>()
            .add_message::<ChooseLine>()
            .add_message::<DialogueEffect>()
            .add_message::<DialogueEnded>()
            .add_message::<LineShown>()
            .add_systems(
                Update,
                (start::<F>, advance::<F>, typewriter, refresh_choices::<F>)
                    .chain()
                    .in_set(SproutSystems::Dialogue),
            );
        if self.ui {
            app.add_plugins(ui::plugin);
        }
    }
}

fn start<F: Facts + Resource>(
    mut commands: Commands,
    mut requests: MessageReader<StartDialogue>,
    running: Query<(), With<DialogueRunner>>,
    library: Library,
    facts: Res<F>,
    mut effects: MessageWriter<DialogueEffect>,
    mut shown: MessageWriter<LineShown>,
) {
    let mut busy = !running.is_empty();
    for request in requests.read() {
        if busy {
            debug!(
                "dialogue `{}` ignored: another conversation is running",
                request.tree
            );
            continue;
        }
        let Some(tree) = library.dialogue(request.tree.as_str()) else {
            warn!("no dialogue `{}` is loaded", request.tree);
            continue;
        };
        let (cursor, entry_effects) = match DialogueCursor::start(tree) {
            Ok(started) => started,
            Err(e) => {
                warn!("cannot start dialogue: {e}");
                continue;
            }
        };
        effects.write_batch(entry_effects.into_iter().map(|effect| DialogueEffect {
            tree: tree.id.clone(),
            effect,
        }));
        let mut runner = DialogueRunner {
            tree: tree.id.clone(),
            cursor,
            revealed: 0.0,
            offered: Vec::new(),
            speaker: tree.entry.clone(),
            line: tree.entry.clone(),
            text: String::new(),
            language: sprout_core::loc::SOURCE_LANGUAGE.to_owned(),
            tags: Vec::new(),
        };
        sync_line(&mut runner, tree, &*facts, &library);
        shown.write(runner.shown());
        commands.spawn((runner, Name::new("Dialogue")));
        busy = true;
    }
}

impl DialogueRunner {
    /// The [`LineShown`] of the current line.
    fn shown(&self) -> LineShown {
        LineShown {
            tree: self.tree.clone(),
            line: self.line.clone(),
            speaker: self.speaker.clone(),
            text: self.text.clone(),
            tags: self.tags.clone(),
            language: self.language.clone(),
            audio: sprout_core::export::vo::audio_path(&self.language, &self.line),
        }
    }
}

/// Copies the current line and its offered choices into the runner, in the locale in use.
fn sync_line<F: Facts + ?Sized>(
    runner: &mut DialogueRunner,
    tree: &sprout_core::content::DialogueTree,
    facts: &F,
    library: &Library,
) {
    if let Ok(node) = runner.cursor.node(tree) {
        runner.speaker = node.speaker.clone();
        runner.line = node.line.clone();
        let (text, language) = library.line_text(&node.line, &node.text);
        runner.text = text.to_owned();
        runner.language = language.to_owned();
        runner.tags = node.tags.clone();
    }
    runner.offered = runner
        .cursor
        .choices(tree, facts)
        .unwrap_or_default()
        .into_iter()
        .map(|(i, c)| (i, library.line_text(&c.line, &c.text).0.to_owned()))
        .collect();
}

#[expect(
    clippy::too_many_arguments,
    reason = "the input, the runner, what it reads and the three messages it sends"
)]
fn advance<F: Facts + Resource>(
    mut commands: Commands,
    mut input: MessageReader<ChooseLine>,
    mut runners: Query<(Entity, &mut DialogueRunner)>,
    library: Library,
    facts: Res<F>,
    mut effects: MessageWriter<DialogueEffect>,
    mut ended: MessageWriter<DialogueEnded>,
    mut shown: MessageWriter<LineShown>,
) {
    let Ok((entity, mut runner)) = runners.single_mut() else {
        input.clear();
        return;
    };
    for choice in input.read() {
        let Some(tree) = library.dialogue(runner.tree.as_str()) else {
            warn!("dialogue `{}` disappeared; ending it", runner.tree);
            ended.write(DialogueEnded {
                tree: runner.tree.clone(),
            });
            commands.entity(entity).despawn();
            return;
        };
        let pick = match *choice {
            ChooseLine::Continue if !runner.fully_revealed() => {
                runner.revealed = runner.text.chars().count() as f32;
                continue;
            }
            ChooseLine::Continue if !runner.offered.is_empty() => continue,
            ChooseLine::Continue => None,
            ChooseLine::Pick(n) => match runner.offered.get(n) {
                Some((i, _)) => Some(*i),
                None => continue,
            },
        };
        let tree_id = runner.tree.clone();
        match runner.cursor.advance(tree, pick, &*facts) {
            Ok(step) => {
                effects.write_batch(step.effects.into_iter().map(|effect| DialogueEffect {
                    tree: tree_id.clone(),
                    effect,
                }));
                if step.ended {
                    ended.write(DialogueEnded { tree: tree_id });
                    commands.entity(entity).despawn();
                    return;
                }
                runner.revealed = 0.0;
                sync_line(&mut runner, tree, &*facts, &library);
                shown.write(runner.shown());
            }
            Err(e) => {
                warn!("dialogue `{tree_id}`: {e}; ending it");
                ended.write(DialogueEnded { tree: tree_id });
                commands.entity(entity).despawn();
                return;
            }
        }
    }
}

fn typewriter(time: Res<Time>, mut runners: Query<&mut DialogueRunner>) {
    for mut runner in &mut runners {
        if !runner.fully_revealed() {
            runner.revealed += time.delta_secs() * CHARS_PER_SECOND;
        }
    }
}

/// Choices depend on game state, which effects just changed, and on hot-reloaded text and
/// translations (or a change of locale). A line whose id changed is announced again.
fn refresh_choices<F: Facts + Resource>(
    mut runners: Query<&mut DialogueRunner>,
    library: Library,
    facts: Res<F>,
    mut shown: MessageWriter<LineShown>,
) {
    for mut runner in &mut runners {
        let Some(tree) = library.dialogue(runner.tree.as_str()) else {
            continue;
        };
        let mut probe = runner.clone();
        sync_line(&mut probe, tree, &*facts, &library);
        let same = |a: &DialogueRunner, b: &DialogueRunner| {
            (&a.offered, &a.text, &a.line, &a.tags, &a.speaker)
                == (&b.offered, &b.text, &b.line, &b.tags, &b.speaker)
        };
        if !same(&probe, &runner) {
            let new_line = probe.line != runner.line;
            *runner = probe;
            if new_line {
                shown.write(runner.shown());
            }
        }
    }
}
