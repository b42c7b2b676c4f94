//! Screenshot mode for CI and docs: wait for the content to settle, optionally start a
//! conversation or (with the `dev` feature's editor) generate and show the job in the editor
//! panel (a conversation with the local model with `--editor NPC`, an item icon with the sprite
//! model with `--editor-sprite ITEM`, drawn by the model folder `--sprite-model DIR` names, else the
//! compiled-in one), save the frame to PNG, exit. A frame limit makes sure it
//! never hangs. It uses only the public API of `bevy_sprout`: a [`Generate`] request, then the editor's
//! `ShowJob`.

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};
#[cfg(feature = "dev")]
use bevy_sprout::editor::ShowJob;
#[cfg(feature = "dev")]
use bevy_sprout::generate::JobStatus;
use bevy_sprout::prelude::*;
use sprout_farm::farming::{Field, Planted, Plot};
use sprout_farm::npc::Npc;
use sprout_farm::player::{Player, PlayerAction};
use sprout_farm::world::{FIELD, tile_center};

/// Command-line options.
#[derive(Debug, Default, Clone)]
pub struct Args {
    screenshot: Option<PathBuf>,
    talk: Option<String>,
    editor: Option<EditorShot>,
    at: Option<IVec2>,
    field: bool,
    sprite_model: Option<PathBuf>,
}

/// What the editor panel generates before the screenshot.
#[derive(Debug, Clone)]
#[cfg_attr(
    not(feature = "dev"),
    expect(
        dead_code,
        reason = "only the editor (feature `dev`) reads what to generate"
    )
)]
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
                // Stand the farmer on this tile (`X,Y`) before the frame is taken.
                "--at" => {
                    out.at = args.next().and_then(|v| {
                        let (x, y) = v.split_once(',')?;
                        Some(IVec2::new(x.trim().parse().ok()?, y.trim().parse().ok()?))
                    });
                }
                // Plant every crop of the content in the field, each row a day further grown.
                "--field" => out.field = true,
                // The sprite model folder the editor draws with (as its Model picker sets it).
                "--sprite-model" => out.sprite_model = args.next().map(PathBuf::from),
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
    at: Option<IVec2>,
    field: bool,
    #[cfg(feature = "dev")]
    editor: Option<EditorShot>,
    #[cfg(feature = "dev")]
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
    #[cfg(not(feature = "dev"))]
    if let Some(shot) = &args.editor {
        warn!("screenshot: {shot:?} needs the editor (the `dev` feature); taking a plain one");
    }
    #[cfg(not(feature = "dev"))]
    if let Some(dir) = &args.sprite_model {
        warn!(
            "screenshot: --sprite-model {} needs the editor (the `dev` feature)",
            dir.display()
        );
    }
    #[cfg(feature = "dev")]
    if let Some(dir) = args.sprite_model {
        app.world_mut()
            .resource_mut::<bevy_sprout::generate::GeneratorSettings>()
            .sprite_model = Some(dir);
    }
    app.insert_resource(Plan {
        path,
        talk: args.talk,
        at: args.at,
        field: args.field,
        #[cfg(feature = "dev")]
        editor: args.editor,
        #[cfg(feature = "dev")]
        job: None,
        frames: 0,
        settled_at: None,
        taken: false,
    })
    .add_systems(Update, run);
    #[cfg(feature = "dev")]
    app.add_systems(Update, editor.before(run));
}

/// With `--editor NPC` / `--editor-sprite ITEM`: generate a conversation for that villager, or
/// an icon for that item, and show the job in the editor panel; the screenshot waits until the
/// result is staged and shown in the preview.
#[cfg(feature = "dev")]
fn editor(
    mut plan: ResMut<Plan>,
    library: Library,
    generations: Res<Generations>,
    mut generate: MessageWriter<Generate>,
    mut show: MessageWriter<ShowJob>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(shot) = plan.editor.clone() else {
        return;
    };
    let Some(settled) = plan.settled_at else {
        return;
    };
    if plan.job.is_none() && plan.frames - settled >= WAIT / 2 {
        let Some(job) = editor_job(&shot, &library) else {
            error!("screenshot: nothing to generate for {shot:?}");
            exit.write(AppExit::error());
            return;
        };
        let request = Generate::new(job);
        plan.job = Some(request.id);
        generate.write(request);
    } else if let Some(id) = plan.job
        && plan.frames - settled == WAIT / 2 + 1
    {
        show.write(ShowJob(id));
    }
    if let Some(record) = plan.job.and_then(|j| generations.records.get(&j))
        && let JobStatus::Failed(e) = &record.status
    {
        error!("screenshot: generation failed: {e}");
        exit.write(AppExit::error());
    }
}

/// The job an editor shot asks for: what the editor's Dialogue tab (seed 3, three lines) or
/// Sprite tab (seed 2, the game's palette) would make.
#[cfg(feature = "dev")]
fn editor_job(shot: &EditorShot, library: &Library) -> Option<Job> {
    use sprout_core::art::{ArtJob, Recipe};
    use sprout_core::content::{Id, Situation};
    use sprout_core::story::{Job as Story, JobSpec};
    match shot {
        EditorShot::Dialogue(npc) => {
            library.character(npc)?;
            Some(Job::Story(JobSpec {
                job: Story::Dialogue {
                    npc: Id::new(npc.as_str()).ok()?,
                    situation: Situation::Daily,
                    season: None,
                    nodes: 3,
                    brief: "the first warm day of spring".into(),
                    id: Some(Id::new(format!("{npc}_daily_s3")).ok()?),
                },
                seed: 3,
                pick: None,
            }))
        }
        EditorShot::Sprite(item) => {
            let item = library.item(item)?;
            let recipe = Recipe::ItemIcon {
                item: item.id.clone(),
            };
            Some(Job::Art(
                ArtJob::new(recipe, item.name.to_lowercase())
                    .with_seed(2)
                    .with_palette("farm32"),
            ))
        }
    }
}

#[expect(clippy::too_many_arguments, reason = "drives the whole scripted run")]
fn run(
    mut commands: Commands,
    #[cfg(feature = "dev")] generations: Res<Generations>,
    mut plan: ResMut<Plan>,
    status: Res<ContentStatus>,
    mut player: Query<&mut Transform, (With<Player>, Without<Npc>)>,
    npcs: Query<(&Npc, &Transform)>,
    mut actions: MessageWriter<PlayerAction>,
    mut exit: MessageWriter<AppExit>,
    (library, mut field): (Library, ResMut<Field>),
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
    if since == 1 {
        if let Some(tile) = plan.at
            && let Ok(mut p) = player.single_mut()
        {
            p.translation = tile_center(tile).extend(p.translation.z);
        }
        if plan.field {
            plant_every_crop(&library, &mut field);
        }
    }
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
    #[cfg(feature = "dev")]
    if plan.editor.is_some()
        && !plan
            .job
            .and_then(|j| generations.records.get(&j))
            .is_some_and(|r| r.status == JobStatus::Staged)
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

/// Fills the field: one column per crop, each row a day further grown, watered every other row,
/// so a frame shows every stage of every crop.
fn plant_every_crop(library: &Library, field: &mut Field) {
    let crops: Vec<_> = library.crops().into_iter().cloned().collect();
    for (x, crop) in (FIELD.min.x..FIELD.max.x).zip(crops.iter().cycle()) {
        for y in FIELD.min.y..FIELD.max.y {
            let days = (y - FIELD.min.y) as u32 * crop.days_to_ripe().max(1) / 6;
            field.plots.insert(
                (x, y),
                Plot {
                    watered: y % 2 == 0,
                    crop: Some(Planted {
                        crop: crop.id.clone(),
                        days,
                    }),
                },
            );
        }
    }
}
