//! Story generation end to end with the real tiny model (seeded, small): an NPC and two
//! dialogue trees into a copy of the starter assets, cache hits with no model work, regeneration
//! from provenance, and backends that fail or talk nonsense leaving every file as it was.

use std::path::Path;

use sprout_core::content::provenance::ModelRef;
use sprout_core::content::{ContentSet, Id, Situation};
use sprout_core::llm::{
    Error, Event, FinishReason, Generation, GenerationRequest, TextBackend, Timings,
};
use sprout_core::story::{self, Generator, Job, JobSpec, Options, Project, Status, Templates};
use sprout_core::validate::validate_dir;

use crate::llm::model;
use crate::support::assets;

/// Counts the calls that reach the backend it wraps.
struct Counting<'a> {
    inner: &'a mut dyn TextBackend,
    calls: usize,
}

impl TextBackend for Counting<'_> {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn generate(
        &mut self,
        r: &GenerationRequest,
        e: &mut dyn FnMut(Event<'_>),
    ) -> sprout_core::llm::Result<Generation> {
        self.calls += 1;
        self.inner.generate(r, e)
    }
}

fn model_ref() -> ModelRef {
    ModelRef {
        id: "smollm2-135m-instruct-q4_1".into(),
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53".into(),
    }
}

fn project() -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("assets");
    sprout_core::fs::copy_tree(&assets(), &a).unwrap();
    (dir, Project::new(a))
}

fn load(p: &Project) -> ContentSet {
    let (set, problems) = ContentSet::load_dir(&p.assets);
    assert!(problems.is_empty(), "{problems:?}");
    set
}

fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

#[test]
fn an_npc_and_two_dialogue_trees_are_generated_valid_and_cached() {
    let (_dir, p) = project();
    let mut set = load(&p);
    let templates = Templates::builtin();
    let options = Options::default();
    let model_ref = model_ref();
    let generator = Generator {
        project: &p,
        templates: &templates,
        model: &model_ref,
        options: &options,
    };
    let m = model();
    let mut local = m.backend();
    let mut backend = Counting {
        inner: &mut local,
        calls: 0,
    };
    let npc = JobSpec {
        job: Job::Npc {
            id: id("wren"),
            brief: "a young beekeeper who hums".into(),
        },
        seed: 11,
        pick: None,
    };
    let o = generator
        .generate(&mut backend, &mut set, &npc, &mut |_| {})
        .unwrap();
    assert!(o.status.delivered(), "{:?}", o.status);
    assert!(p.assets.join("npcs/wren.npc.ron").is_file());
    assert!(p.assets.join("npcs/wren.npc.ron.prov.ron").is_file());
    assert!(
        p.assets.join("portraits/wren.png").is_file(),
        "placeholder portrait drawn"
    );
    let trees = [Situation::FirstMeeting, Situation::Daily].map(|situation| JobSpec {
        job: Job::Dialogue {
            npc: id("wren"),
            situation,
            season: None,
            nodes: 2,
            brief: String::new(),
            id: None,
        },
        seed: 5,
        pick: None,
    });
    let mut calls_before = backend.calls;
    for t in &trees {
        let o = generator
            .generate(&mut backend, &mut set, t, &mut |_| {})
            .unwrap();
        assert!(o.status.delivered(), "{:?}", o.status);
        assert!(o.attempts >= 1 && o.tokens > 0);
        eprintln!("{}", std::fs::read_to_string(&o.path).unwrap());
    }
    assert!(backend.calls > calls_before);
    // The whole folder validates: the new NPC, its trees, its art and everything else.
    let report = validate_dir(&p.assets);
    assert_eq!(report.error_count(), 0, "{:?}", report.diagnostics);

    // The same request again: up to date, no model work.
    calls_before = backend.calls;
    let again = generator
        .generate(&mut backend, &mut set, &trees[1], &mut |_| {})
        .unwrap();
    assert_eq!(again.status, Status::UpToDate);
    // Gone from disk: a cache hit restores the same bytes, still with no model work.
    let path = p.assets.join("dialogue/wren_daily.dialogue.ron");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let mut set = load(&p);
    let cached = generator
        .generate(&mut backend, &mut set, &trees[1], &mut |_| {})
        .unwrap();
    assert_eq!(cached.status, Status::Cached);
    assert_eq!(backend.calls, calls_before, "a cache hit calls no model");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    // Regenerating from provenance gives the same bytes.
    let r = story::regenerate(&mut backend, &templates, &p, &set, &path).unwrap();
    assert!(r.matches && r.same_template, "{r:?}");
    assert!(backend.calls > calls_before);

    // A hand edit is never overwritten without --force.
    std::fs::write(
        &path,
        String::from_utf8(bytes.clone())
            .unwrap()
            .replace("wren_daily", "wren_daily "),
    )
    .unwrap();
    let kept = generator
        .generate(&mut backend, &mut set, &trees[1], &mut |_| {})
        .unwrap();
    assert!(matches!(kept.status, Status::Kept(_)), "{:?}", kept.status);
}

/// A backend that gives the same answer to every request: a server that talks nonsense or never
/// answers, without a server.
struct Fake<F>(F);

impl<F: FnMut() -> sprout_core::llm::Result<Generation> + Send> TextBackend for Fake<F> {
    fn describe(&self) -> String {
        "fake".into()
    }
    fn generate(
        &mut self,
        _: &GenerationRequest,
        _: &mut dyn FnMut(Event<'_>),
    ) -> sprout_core::llm::Result<Generation> {
        (self.0)()
    }
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    crate::support::files_ending(dir, "")
        .into_iter()
        .map(|f| (f.display().to_string(), std::fs::read(&f).unwrap()))
        .collect()
}

#[test]
fn garbage_and_timeouts_leave_every_file_untouched_with_a_clear_error() {
    let (_dir, p) = project();
    let mut set = load(&p);
    let before = snapshot(&p.assets);
    let templates = Templates::builtin();
    let options = Options {
        force: true,
        max_repairs: 2,
        ..Options::default()
    };
    let model_ref = model_ref();
    let generator = Generator {
        project: &p,
        templates: &templates,
        model: &model_ref,
        options: &options,
    };
    // Replacing a hand-written tree (forced) with garbage: rejected, with reasons, after 3 tries.
    let spec = JobSpec {
        job: Job::Dialogue {
            npc: id("pim"),
            situation: Situation::Daily,
            season: None,
            nodes: 2,
            brief: String::new(),
            id: None,
        },
        seed: 1,
        pick: None,
    };
    // Something that is not the asked-for JSON.
    let mut nonsense = Fake(|| {
        Ok(Generation {
            text: "Sure! Here is your dialogue: {nodes: [".into(),
            tokens: vec![],
            finish: FinishReason::Stop,
            timings: Timings::default(),
            mean_logprob: None,
        })
    });
    let mut garbage = Counting {
        inner: &mut nonsense,
        calls: 0,
    };
    let o = generator
        .generate(&mut garbage, &mut set, &spec, &mut |_| {})
        .unwrap();
    assert_eq!(garbage.calls, 3);
    let Status::Rejected(reasons) = &o.status else {
        panic!("{:?}", o.status)
    };
    assert!(reasons.iter().any(|r| r.contains("JSON")), "{reasons:?}");
    let reasons_file = p.rejected_dir().join("pim_daily.dialogue.ron.reasons.txt");
    let text = std::fs::read_to_string(&reasons_file).unwrap();
    assert!(
        text.contains("pim_daily.dialogue.ron") && text.contains("JSON"),
        "{text}"
    );
    assert_eq!(snapshot(&p.assets), before, "nothing under assets/ changed");

    // A server that never answers in time.
    let mut times_out = Fake(|| {
        Err(Error::Http(
            "http://127.0.0.1:9/v1/chat/completions: timed out after 1 s".into(),
        ))
    });
    let e = generator
        .generate(&mut times_out, &mut set, &spec, &mut |_| {})
        .unwrap_err();
    assert!(e.to_string().contains("timed out"), "{e}");
    assert_eq!(snapshot(&p.assets), before, "nothing under assets/ changed");
}
