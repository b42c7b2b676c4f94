//! Screenshot mode for CI and docs: wait for the content to settle, optionally start a
//! conversation, save the frame to PNG, exit. A frame limit makes sure it never hangs.

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};
use bevy_sprout::prelude::*;
use sprout_farm::npc::Npc;
use sprout_farm::player::{Player, PlayerAction};

/// Command-line options.
#[derive(Debug, Default, Clone)]
pub struct Args {
    screenshot: Option<PathBuf>,
    talk: Option<String>,
}

impl Args {
    pub fn parse(mut args: impl Iterator<Item = String>) -> Self {
        let mut out = Self::default();
        while let Some(a) = args.next() {
            match a.as_str() {
                "--screenshot" => out.screenshot = args.next().map(PathBuf::from),
                "--talk" => out.talk = args.next(),
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
    frames: u32,
    settled_at: Option<u32>,
    taken: bool,
}

/// Frames to wait after the content settled (sprites upload, villagers walk a little).
const WAIT: u32 = 40;
/// Give up after this many frames.
const LIMIT: u32 = 3000;

pub fn install(app: &mut App, args: Args) {
    let Some(path) = args.screenshot else { return };
    app.insert_resource(Plan {
        path,
        talk: args.talk,
        frames: 0,
        settled_at: None,
        taken: false,
    })
    .add_systems(Update, run);
}

fn run(
    mut commands: Commands,
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
