//! The in-game editor panel (feature `editor`, `bevy_egui`): F1 opens it.
//!
//! Tabs, one file each:
//! - **Dialogue** (`dialogue.rs`): pick a villager and a situation, describe the conversation,
//!   generate with the local LLM through the story pipeline, read the result as a tree;
//! - **NPC** and **Quest** (`story.rs`): a new villager or a quest through the story pipeline
//!   (templates, constrained decoding, validation and repair), previewed as RON;
//! - **Sprite**, **Texture** and **Prop** (`image.rs`): an item icon or a crop's growth stages, a
//!   seamless ground tile, from the embedded sprite model (step by step, shown at pixel scale); a
//!   3D prop (`.glb`) extruded from a loaded sprite; all through `sprout_core::art`;
//! - **Art set** (`art_set.rs`): every picture the content names (`sprout art`'s plan) with its
//!   state, and Remake for any one, with the job `sprout art` runs for it;
//! - **Content** and **History** (`review.rs`): every problem with the loaded content, and every
//!   job of the session with its provenance.
//!
//! The rest: `state.rs` (what the panel remembers), `panel.rs` (the window and its tabs),
//! `widgets.rs` (previews, buttons, a job's progress and result). Every job shows a progress bar,
//! then its preview with Accept (into the assets: live a moment later through hot reload), Reject
//! and Regenerate (the next seed). Errors stay in the panel.
//!
//! The panel only writes [`Generate`](crate::generate::Generate) and the decision messages; a
//! game or a script can do the same without it, and show a job in the panel with [`ShowJob`].

mod art_set;
mod dialogue;
mod image;
mod panel;
mod review;
mod state;
mod story;
mod widgets;

use bevy::camera::RenderTarget;
use bevy::prelude::*;
use bevy_egui::{
    EguiContext, EguiGlobalSettings, EguiPlugin, EguiPreUpdateSet, EguiPrimaryContextPass,
    EguiStartupSet, PrimaryEguiContext,
};

use crate::generate::{Generations, JobId};
use crate::library::Library;

/// Open the panel on a job's tab, showing that job (its progress, then its result with Accept
/// and Reject) with the tab's fields refilled from it, as if it had been asked for there.
#[derive(Message, Debug, Clone, Copy)]
pub struct ShowJob(pub JobId);

/// The editor panel. [`SproutPlugins`](crate::prelude::SproutPlugins) adds it in windowed runs when the
/// feature is on (egui needs the renderer; headless apps disable it).
#[derive(Debug, Default, Clone, Copy)]
pub struct EditorPlugin {
    open: bool,
}

impl EditorPlugin {
    /// The panel, shown from the first frame (an editor-only app).
    pub fn opened() -> Self {
        Self { open: true }
    }
}

impl Plugin for EditorPlugin {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<EguiPlugin>() {
            app.add_plugins(EguiPlugin::default());
        }
        // The panel picks its camera itself (bevy_egui would take whichever new camera its
        // query meets first, which may be one that draws into a texture).
        app.world_mut()
            .resource_mut::<EguiGlobalSettings>()
            .auto_create_primary_context = false;
        app.add_systems(
            PreStartup,
            attach_to_camera.before(EguiStartupSet::InitContexts),
        )
        .add_systems(
            PreUpdate,
            attach_to_camera.before(EguiPreUpdateSet::InitContexts),
        );
        app.insert_resource(state::EditorState {
            open: self.open,
            ..default()
        })
        .add_message::<ShowJob>()
        .add_systems(
            Update,
            (panel::toggle, show_job, art_set::refresh)
                .chain()
                .in_set(crate::SproutSystems::Ui),
        )
        .add_systems(EguiPrimaryContextPass, panel::panel);
    }
}

/// Marks the camera the editor panel draws on. Without one, the panel takes the window camera
/// drawn last (the highest `order`): a game that draws its world into a texture and shows it with
/// a second camera gets the panel on the second.
#[derive(Component, Debug, Default, Clone, Copy)]
pub struct EditorCamera;

/// A camera added this frame: its entity, order, target and whether it is marked.
type NewCamera<'a> = (
    Entity,
    &'a Camera,
    Option<&'a RenderTarget>,
    Has<EditorCamera>,
);

/// Gives the panel's egui context to one of the cameras added this frame, once: the marked
/// [`EditorCamera`], else the window camera with the highest order.
fn attach_to_camera(
    mut commands: Commands,
    added: Query<NewCamera, Added<Camera>>,
    existing: Query<(), With<PrimaryEguiContext>>,
) {
    if !existing.is_empty() {
        return;
    }
    let to_window =
        |t: Option<&RenderTarget>| t.is_none_or(|t| matches!(t, RenderTarget::Window(_)));
    let chosen = added
        .iter()
        .filter(|(_, _, _, marked)| *marked)
        .map(|(e, ..)| e)
        .next()
        .or_else(|| {
            added
                .iter()
                .filter(|(_, _, target, _)| to_window(*target))
                .max_by_key(|(_, camera, ..)| camera.order)
                .map(|(e, ..)| e)
        });
    if let Some(camera) = chosen {
        commands
            .entity(camera)
            .insert((EguiContext::default(), PrimaryEguiContext));
    }
}

/// Handles [`ShowJob`]: the tab that makes that kind of job, with the job as its current one and
/// its fields describing the job.
fn show_job(
    mut shows: MessageReader<ShowJob>,
    mut state: ResMut<state::EditorState>,
    generations: Res<Generations>,
    library: Library,
) {
    for ShowJob(id) in shows.read() {
        let Some(record) = generations.records.get(id) else {
            warn!("ShowJob: no job {}", id.0);
            continue;
        };
        state.open = true;
        state.show(*id, &record.job, &library);
    }
}

#[cfg(test)]
mod tests {
    use sprout_core::art::{ArtJob, Recipe};
    use sprout_core::content::{Id, Situation};
    use sprout_core::llm::CancelToken;
    use sprout_core::story::{Job as Story, JobSpec};

    use super::dialogue::SituationChoice;
    use super::state::{EditorState, Tab};
    use super::*;
    use crate::generate::{Job, Record};

    /// `show_job` over an empty library: `MinimalPlugins`, the content assets, no egui.
    fn app() -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default()));
        crate::assets::plugin(&mut app);
        app.init_resource::<crate::library::ContentIndex>()
            .init_resource::<Generations>()
            .init_resource::<EditorState>()
            .add_message::<ShowJob>()
            .add_systems(Update, show_job);
        app
    }

    /// Records `job`, shows it, and returns the panel's state after one frame.
    fn show(app: &mut App, job: Job) -> (JobId, EditorState) {
        let id = JobId::new();
        app.world_mut()
            .resource_mut::<Generations>()
            .records
            .insert(id, Record::queued(job, CancelToken::new()));
        app.world_mut().write_message(ShowJob(id));
        app.update();
        (id, app.world().resource::<EditorState>().clone())
    }

    fn id(s: &str) -> Id {
        Id::new(s).unwrap()
    }

    /// "Use this one" asks for the same job keeping the listed candidate.
    #[test]
    fn a_listed_candidate_is_asked_for_by_its_number() {
        let spec = JobSpec {
            job: Story::Dialogue {
                npc: id("sefa"),
                situation: Situation::Daily,
                season: None,
                nodes: 3,
                brief: String::new(),
                id: Some(id("sefa_daily_s5")),
            },
            seed: 5,
            pick: None,
        };
        let Some(Job::Story(again)) = Job::Story(spec.clone()).picking(3) else {
            panic!("a story job can be picked");
        };
        assert_eq!(again.pick, Some(3));
        assert_eq!(
            JobSpec {
                pick: None,
                ..again
            },
            spec,
            "only the pick changes: same seed, same job"
        );
        let art = Job::Art(ArtJob::new(
            Recipe::ItemIcon { item: id("turnip") },
            "a turnip",
        ));
        assert_eq!(art.picking(2), None);
    }

    #[test]
    fn showing_a_job_opens_its_tab_with_the_fields_that_make_it() {
        let mut app = app();
        let (job, s) = show(
            &mut app,
            Job::Story(JobSpec {
                job: Story::Dialogue {
                    npc: id("wren"),
                    situation: Situation::GiftLiked,
                    season: None,
                    nodes: 5,
                    brief: "the turnip she was given".into(),
                    id: None,
                },
                seed: 42,
                pick: None,
            }),
        );
        assert!(s.open);
        assert_eq!(s.tab, Tab::Dialogue);
        assert_eq!(s.current, Some(job));
        assert_eq!(s.npc.as_deref(), Some("wren"));
        assert_eq!(s.situation, SituationChoice::GiftLiked);
        assert_eq!((s.nodes, s.seed), (5, 42));
        assert_eq!(s.brief, "the turnip she was given");

        let (job, s) = show(
            &mut app,
            Job::Story(JobSpec {
                job: Story::Quest {
                    id: id("lost_hoe"),
                    giver: id("pim"),
                    brief: "a hoe left by the river".into(),
                },
                seed: 7,
                pick: None,
            }),
        );
        assert_eq!(s.tab, Tab::Quest);
        let q = &s.quest_form;
        assert_eq!(q.current, Some(job));
        assert_eq!(
            (q.id.as_str(), q.giver.as_deref(), q.brief.as_str(), q.seed),
            ("lost_hoe", Some("pim"), "a hoe left by the river", 7)
        );
        // The dialogue fields stay as the last dialogue job left them.
        assert_eq!(s.npc.as_deref(), Some("wren"));

        let (_, s) = show(
            &mut app,
            Job::Story(JobSpec {
                job: Story::Npc {
                    id: id("tamsin"),
                    brief: "a beekeeper".into(),
                },
                seed: 3,
                pick: None,
            }),
        );
        assert_eq!(s.tab, Tab::Npc);
        assert_eq!(
            (
                s.npc_form.id.as_str(),
                s.npc_form.brief.as_str(),
                s.npc_form.seed
            ),
            ("tamsin", "a beekeeper", 3)
        );
    }

    #[test]
    fn the_art_set_tab_lists_the_starter_plan_and_shows_a_piece_being_remade() {
        let dir = std::fs::canonicalize(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets"),
        )
        .unwrap();
        let mut app = App::new();
        app.add_plugins((
            MinimalPlugins,
            AssetPlugin {
                file_path: dir.to_string_lossy().into_owned(),
                watch_for_changes_override: Some(false),
                ..default()
            },
            crate::SproutPlugin::default()
                .with_asset_dir(&dir)
                .with_notice(false),
        ))
        .insert_resource(EditorState {
            open: true,
            tab: Tab::ArtSet,
            ..default()
        })
        .add_message::<ShowJob>()
        .add_systems(Update, (show_job, art_set::refresh).chain());
        let start = std::time::Instant::now();
        while !app
            .world()
            .resource::<crate::library::ContentStatus>()
            .settled
        {
            app.update();
            assert!(start.elapsed() < std::time::Duration::from_secs(30));
        }
        // The first frame after loading reads the plan: the same pieces as `sprout art`, all
        // current in the starter assets.
        app.world_mut().resource_mut::<EditorState>().art_set.stale = true;
        app.update();
        let form = app.world().resource::<EditorState>().art_set.clone();
        assert!(!form.stale);
        assert!(form.pieces.len() >= 50, "{} pieces", form.pieces.len());
        let behind: Vec<_> = form
            .pieces
            .iter()
            .filter(|(_, st)| *st != sprout_core::art::set::State::Current)
            .map(|(p, st)| format!("{} {}", p.label, st.word()))
            .collect();
        assert!(behind.is_empty(), "not current: {behind:?}");
        // A portrait job shown (from a script, or a remake) opens this tab on its piece.
        let (i, piece) = form
            .pieces
            .iter()
            .map(|(p, _)| p)
            .enumerate()
            .find(|(_, p)| matches!(p.job.recipe, Recipe::Portrait { .. }))
            .expect("a portrait in the plan");
        let (job, s) = show(&mut app, Job::Art(piece.job.clone()));
        assert_eq!(s.tab, Tab::ArtSet);
        assert_eq!(s.art_set.current, Some((i, job)));
    }

    #[test]
    fn showing_an_art_job_refills_the_image_tabs() {
        let mut app = app();
        let texture = ArtJob {
            seed: 9,
            steps: Some(20),
            palette: Some("farm32".into()),
            ..ArtJob::new(
                Recipe::Texture {
                    out: "textures/clover.png".into(),
                    from: None,
                    seamless: true,
                    ground: None,
                },
                "clover on grass",
            )
        };
        let (job, s) = show(&mut app, Job::Art(texture));
        assert_eq!(s.tab, Tab::Texture);
        let t = &s.texture_form;
        assert_eq!(t.current, Some(job));
        assert_eq!(
            (t.id.as_str(), t.prompt.as_str(), t.seed, t.steps),
            ("clover", "clover on grass", 9, 20)
        );
        assert_eq!(t.palette.as_deref(), Some("farm32"));

        let icon = ArtJob {
            seed: 11,
            steps: Some(8),
            guidance: Some(4.5),
            palette: None,
            ..ArtJob::new(Recipe::ItemIcon { item: id("turnip") }, "a red turnip")
        };
        let (_, s) = show(&mut app, Job::Art(icon));
        assert_eq!(s.tab, Tab::Sprite);
        let f = &s.sprite_form;
        assert_eq!(f.kind, image::SpriteKind::Item);
        assert_eq!(f.which.as_deref(), Some("turnip"));
        assert_eq!(
            (f.prompt.as_str(), f.seed, f.steps, f.guidance),
            ("a red turnip", 11, 8, 4.5)
        );
        assert_eq!(f.palette, None, "colours from the sprite, as asked");

        let prop = ArtJob::new(
            Recipe::Prop {
                out: "props/scarecrow.glb".into(),
                from: "sprites/scarecrow.png".into(),
                depth: 3,
                pixel_size: 1.0 / 16.0,
                relief: false,
            },
            String::new(),
        );
        let (_, s) = show(&mut app, Job::Art(prop));
        assert_eq!(s.tab, Tab::Prop);
        let p = &s.prop_form;
        assert_eq!(
            (p.id.as_str(), p.from.as_deref(), p.depth),
            ("scarecrow", Some("sprites/scarecrow.png"), 3)
        );
    }
}
