//! Frame-time benchmark mode (`--bench FRAMES [--crops N]`), run by `cargo bench -p sprout_farm`
//! under Xvfb: once the content has settled it plants N crops (a block of plots around the field,
//! every crop of the content in turn at every growth stage), lets the world run for a warm-up,
//! then records the wall time of FRAMES frames and prints their median, p95 and mean as one line
//! of `key=value` pairs, and exits. Villagers walk their schedules meanwhile.

use std::time::Instant;

use bevy::prelude::*;
use bevy_sprout::prelude::*;
use sprout_farm::farming::{Field, Planted, Plot};
use sprout_farm::npc::Npc;

/// Command-line options.
#[derive(Debug, Default, Clone)]
pub struct Args {
    frames: Option<u32>,
    crops: u32,
}

impl Args {
    /// Takes `--bench FRAMES` and `--crops N` out of `args`; returns the rest.
    pub fn take(args: Vec<String>) -> (Self, Vec<String>) {
        let mut out = Self::default();
        let mut rest = Vec::new();
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--bench" => out.frames = it.next().and_then(|n| n.parse().ok()),
                "--crops" => out.crops = it.next().and_then(|n| n.parse().ok()).unwrap_or(0),
                _ => rest.push(a),
            }
        }
        (out, rest)
    }
}

#[derive(Resource)]
struct Bench {
    frames: u32,
    crops: u32,
    phase: Phase,
    last: Option<Instant>,
    times: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Loading,
    WarmUp(u32),
    Measuring,
}

/// Frames run after planting before measuring (sprites upload, villagers start walking).
const WARM_UP: u32 = 120;

pub fn install(app: &mut App, args: Args) {
    let Some(frames) = args.frames else { return };
    app.insert_resource(Bench {
        frames,
        crops: args.crops,
        phase: Phase::Loading,
        last: None,
        times: Vec::with_capacity(frames as usize),
    })
    .add_systems(First, tick)
    .add_systems(Update, plant);
}

/// Plants the crops once the content has settled.
fn plant(
    mut bench: ResMut<Bench>,
    status: Res<ContentStatus>,
    library: Library,
    mut field: ResMut<Field>,
) {
    if bench.phase != Phase::Loading || !status.settled {
        return;
    }
    let crops = library.crops();
    if crops.is_empty() && bench.crops > 0 {
        error!("bench: no crops in the content");
        return;
    }
    // A block 25 tiles wide, centred on the field, filled row by row.
    for n in 0..bench.crops as i32 {
        let crop = crops[n as usize % crops.len()];
        let stages = crop.stages.iter().map(|s| s.days).sum::<u32>() + 1;
        field.plots.insert(
            (n % 25 - 6, n / 25 - 6),
            Plot {
                watered: n % 2 == 0,
                crop: Some(Planted {
                    crop: crop.id.clone(),
                    days: n as u32 % stages,
                }),
            },
        );
    }
    bench.phase = Phase::WarmUp(0);
}

/// Records the time between frames.
fn tick(mut bench: ResMut<Bench>, npcs: Query<(), With<Npc>>, mut exit: MessageWriter<AppExit>) {
    let now = Instant::now();
    match bench.phase {
        Phase::Loading => {}
        Phase::WarmUp(n) if n < WARM_UP => bench.phase = Phase::WarmUp(n + 1),
        Phase::WarmUp(_) => {
            bench.phase = Phase::Measuring;
            bench.last = Some(now);
        }
        Phase::Measuring => {
            if let Some(last) = bench.last {
                let ms = (now - last).as_secs_f64() * 1000.0;
                bench.times.push(ms);
            }
            bench.last = Some(now);
            if bench.times.len() as u32 >= bench.frames {
                let mut t = bench.times.clone();
                t.sort_by(f64::total_cmp);
                let pick = |q: f64| t[((t.len() - 1) as f64 * q).round() as usize];
                let mean = t.iter().sum::<f64>() / t.len() as f64;
                println!(
                    "bench frames={} npcs={} crops={} median_ms={:.2} p95_ms={:.2} mean_ms={:.2} max_ms={:.2}",
                    t.len(),
                    npcs.iter().count(),
                    bench.crops,
                    pick(0.5),
                    pick(0.95),
                    mean,
                    pick(1.0)
                );
                exit.write(AppExit::Success);
            }
        }
    }
}
