//! Screenshot mode for CI and docs: wait for the content to settle, optionally start a
//! conversation or open the editor panel and generate (a conversation with the local model with
//! `--editor NPC`, an item icon with the sprite model with `--editor-sprite ITEM`), save the
//! frame to PNG, exit. A frame limit makes sure it never hangs.

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};
use bevy_sprout::editor::image::{SpriteKind, sprite_job};
use bevy_sprout::editor::{EditorState, Tab, dialogue_job};
use bevy_sprout::generate::{GenerateImage, GenerateStory, Generations, JobId, JobStatus};
use bevy_sprout::prelude::*;
use sprout_farm::npc::Npc;
use sprout_farm::player::{Player, PlayerAction};

/// Command-line options.
#[derive(Debug, Default, Clone)]
pub struct Args {
    screenshot: Option<PathBuf>,
    talk: Option<String>,
    editor: Option<EditorShot>,
}

/// What the editor panel generates before the screenshot.
#[derive(Debug, Clone)]
enum EditorShot {
    /// A conversation for this villager.
    Dialogue(String),
    /// An icon for this item.
    Sprite(String),
}

impl Args {
    pub fn parse(mut args: impl Iterator<Item = String>) -> Self {
        let mut out = Self::default();
        while let Some(a) = args.next() {
            match a.as_str() {
                "--screenshot" => out.screenshot = args.next().map(PathBuf::from),
                "--talk" => out.talk = args.next(),
                "--editor" => out.editor = args.next().map(EditorShot::Dialogue),
                "--editor-sprite" => out.editor = args.next().map(EditorShot::Sprite),
                other => eprintln!("ignoring unknown argument {other}"),
            }
        }
        out
    }
}

#[derive(Resource)]
struct Plan {
    path: PathBuf,
    talk: Option<String>,
    editor: Option<EditorShot>,
    job: Option<JobId>,
    frames: u32,
    settled_at: Option<u32>,
    taken: bool,
}

/// Frames to wait after the content settled (sprites upload, villagers walk a little).
const WAIT: u32 = 40;
/// Give up after this many frames.
const LIMIT: u32 = 6000;

pub fn install(app: &mut App, args: Args) {
    let Some(path) = args.screenshot else { return };
    app.insert_resource(Plan {
        path,
        talk: args.talk,
        editor: args.editor,
        job: None,
        frames: 0,
        settled_at: None,
        taken: false,
    })
    .add_systems(Update, (editor, run).chain());
}

/// With `--editor NPC` / `--editor-sprite ITEM`: open the panel and generate a conversation for
/// that villager, or an icon for that item; the screenshot waits until the result is staged and
/// shown in the preview.
fn editor(
    mut plan: ResMut<Plan>,
    mut state: ResMut<EditorState>,
    library: Library,
    jobs: Res<Generations>,
    mut generate: MessageWriter<GenerateStory>,
    mut images: MessageWriter<GenerateImage>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(shot) = plan.editor.clone() else {
        return;
    };
    let Some(settled) = plan.settled_at else {
        return;
    };
    if plan.job.is_none() && plan.frames - settled >= WAIT / 2 {
        state.open = true;
        let job = JobId::new();
        match shot {
            EditorShot::Dialogue(npc) => {
                state.tab = Tab::Dialogue;
                state.npc = Some(npc.clone());
                state.brief = "the first warm day of spring".into();
                state.seed = 3;
                state.nodes = 3;
                let Some(spec) = dialogue_job(&state, &library) else {
                    error!("screenshot: no villager `{npc}` to generate for");
                    exit.write(AppExit::error());
                    return;
                };
                generate.write(GenerateStory { job, spec });
                state.current = Some(job);
            }
            EditorShot::Sprite(item) => {
                state.tab = Tab::Sprite;
                let form = &mut state.sprite_form;
                form.kind = SpriteKind::Item;
                form.which = Some(item.clone());
                form.seed = 2;
                let Some(request) = sprite_job(form, &library) else {
                    error!("screenshot: no item `{item}` to draw");
                    exit.write(AppExit::error());
                    return;
                };
                images.write(GenerateImage { job, request });
                form.current = Some(job);
            }
        }
        plan.job = Some(job);
    }
    if let Some(job) = plan.job.and_then(|j| jobs.jobs.get(&j))
        && let JobStatus::Failed(e) = &job.status
    {
        error!("screenshot: generation failed: {e}");
        exit.write(AppExit::error());
    }
}

#[expect(clippy::too_many_arguments, reason = "drives the whole scripted run")]
fn run(
    mut commands: Commands,
    jobs: Res<Generations>,
    mut plan: ResMut<Plan>,
    status: Res<ContentStatus>,
    mut player: Query<&mut Transform, (With<Player>, Without<Npc>)>,
    npcs: Query<(&Npc, &Transform)>,
    mut actions: MessageWriter<PlayerAction>,
    mut exit: MessageWriter<AppExit>,
) {
    plan.frames += 1;
    if plan.frames > LIMIT {
        error!("screenshot: content never settled; giving up");
        exit.write(AppExit::error());
        return;
    }
    if plan.taken {
        return;
    }
    if plan.settled_at.is_none() && status.settled {
        plan.settled_at = Some(plan.frames);
    }
    let Some(settled) = plan.settled_at else {
        return;
    };
    let since = plan.frames - settled;
    if let Some(talk) = plan.talk.clone()
        && since == WAIT / 2
    {
        if let Some((_, npc)) = npcs.iter().find(|(n, _)| n.id.as_str() == talk)
            && let Ok(mut p) = player.single_mut()
        {
            p.translation.x = npc.translation.x - 12.0;
            p.translation.y = npc.translation.y;
            actions.write(PlayerAction::Interact);
        } else {
            error!("screenshot: no villager `{talk}`");
        }
    }
    if since < WAIT {
        return;
    }
    // With the editor, wait for the generated preview.
    if plan.editor.is_some()
        && !plan
            .job
            .and_then(|j| jobs.jobs.get(&j))
            .is_some_and(|j| j.status == JobStatus::Staged)
    {
        return;
    }
    plan.taken = true;
    let path = plan.path.clone();
    info!("screenshot: saving {}", path.display());
    commands
        .spawn(Screenshot::primary_window())
        .observe(save_to_disk(path))
        .observe(
            |_: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>| {
                exit.write(AppExit::Success);
            },
        );
}
