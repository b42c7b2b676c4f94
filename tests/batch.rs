//! Batches under the failures a long run meets: a server that answers garbage, a file deleted
//! after its job was journaled, a journal torn by a kill, two batches on one folder, and an
//! endpoint pool where one server dies mid-batch. Fake servers on loopback speak the `OpenAI` API
//! (server-sent events) so the real HTTP backend, its retries and its circuit breaker are in the
//! loop; the real llama.cpp variant runs when `SPROUT_LLAMA_PYTHON` is set (CI sets it).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use sprout_core::content::ContentSet;
use sprout_core::content::provenance::ModelRef;
use sprout_core::format::parse;
use sprout_core::llm::TextBackend;
use sprout_core::llm::http::{HttpBackend, HttpConfig};
use sprout_core::story::batch::{Batch, BatchEvent, Manifest, read_journal};
use sprout_core::story::{Generator, Options, Project, Templates};

use crate::support::assets;

fn project() -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("assets");
    sprout_core::fs::copy_tree(&assets(), &a).unwrap();
    (dir, Project::new(a))
}

fn model_ref() -> ModelRef {
    ModelRef {
        id: "server:fake".into(),
        sha256: "unknown".into(),
    }
}

/// A valid item for the job whose schema pins `sprites/items/<id>.png` in the request body.
fn item_answer(request: &str) -> String {
    // The schema's `"const": "sprites/items/<id>.png"` (the prompt also shows other items' icons).
    let start = request
        .match_indices("sprites/items/")
        .map(|(i, _)| i)
        .find(|&i| request[i.saturating_sub(12)..i].contains("const"))
        .expect("an item request with its icon pinned")
        + "sprites/items/".len();
    let id: String = request[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let mut name: Vec<char> = id.replace('_', " ").chars().collect();
    name[0] = name[0].to_ascii_uppercase();
    let name: String = name.into_iter().collect();
    serde_json::json!({
        "id": id,
        "name": name,
        "description": "Round, firm and a little dusty from the field; keeps a week in a cool cellar.",
        "category": "Produce",
        "price": 40,
        "icon": format!("sprites/items/{id}.png"),
    })
    .to_string()
}

/// What a fake server does with a request.
#[derive(Clone, Copy)]
enum Reply {
    /// A valid item, streamed as server-sent events.
    Item,
    /// HTTP 200 with an HTML maintenance page (a proxy in front of a server that is down).
    Maintenance,
}

/// A fake OpenAI-compatible server on loopback. `die_after` requests are answered; the next one
/// is read and its connection dropped without an answer (the server dies mid-job), then the
/// listener is closed, so later connections are refused.
struct FakeServer {
    url: String,
    answered: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FakeServer {
    fn start(reply: Reply, die_after: Option<usize>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let answered = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s) = (answered.clone(), stop.clone());
        listener.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            let mut seen = 0usize;
            while !s.load(Ordering::SeqCst) {
                let mut stream = match listener.accept() {
                    Ok((stream, _)) => stream,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    Err(_) => return,
                };
                stream.set_nonblocking(false).unwrap();
                let Some(body) = read_request(&mut stream) else {
                    continue;
                };
                seen += 1;
                if die_after.is_some_and(|n| seen > n) {
                    // Dies with the job in flight: the connection drops, the port closes.
                    drop(stream);
                    return;
                }
                let ok = match reply {
                    Reply::Item => answer_sse(&mut stream, &item_answer(&body)),
                    Reply::Maintenance => {
                        let page = "<html><body><h1>Down for maintenance</h1></body></html>";
                        write!(
                            stream,
                            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                            page.len()
                        )
                        .is_ok()
                    }
                };
                if ok {
                    a.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        Self {
            url,
            answered,
            stop,
        }
    }

    fn answered(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    String::from_utf8(body).ok()
}

fn answer_sse(stream: &mut TcpStream, text: &str) -> bool {
    let mut events = String::new();
    for piece in text.as_bytes().chunks(16) {
        let piece = String::from_utf8_lossy(piece);
        let v =
            serde_json::json!({"choices": [{"delta": {"content": piece}, "finish_reason": null}]});
        events.push_str(&format!("data: {v}\n\n"));
    }
    let v = serde_json::json!({"choices": [{"delta": {}, "finish_reason": "stop"}]});
    events.push_str(&format!("data: {v}\n\ndata: [DONE]\n\n"));
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{events}",
        events.len()
    )
    .and_then(|()| stream.flush())
    .is_ok()
}

fn backend(url: &str) -> Box<dyn TextBackend> {
    let mut config = HttpConfig::new(url, "fake");
    config.limits.connect_timeout = Duration::from_millis(500);
    Box::new(HttpBackend::new(config).unwrap())
}

fn manifest(text: &str) -> Manifest {
    parse(text).unwrap()
}

/// Runs `manifest` on `workers`, returning the summary and the events.
fn run(
    p: &Project,
    m: &Manifest,
    workers: Vec<Box<dyn TextBackend>>,
) -> (sprout_core::story::batch::Summary, Vec<BatchEvent>) {
    let (mut set, problems) = ContentSet::load_dir(&p.assets);
    assert!(problems.is_empty(), "{problems:?}");
    let templates = Templates::builtin();
    let options = Options {
        max_repairs: 1,
        ..Options::default()
    };
    let model = model_ref();
    let batch = Batch {
        generator: Generator {
            project: p,
            templates: &templates,
            model: &model,
            options: &options,
        },
        name: m.name_for(Path::new("test.manifest.ron")).unwrap(),
        jobs: m.expand(&set).unwrap(),
    };
    let events = std::sync::Mutex::new(Vec::new());
    let summary = batch
        .run(&mut set, workers, &|e| events.lock().unwrap().push(e))
        .unwrap();
    (summary, events.into_inner().unwrap())
}

fn journal_lines(p: &Project, name: &str) -> usize {
    std::fs::read_to_string(p.batch_dir().join(format!("{name}.journal")))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// Before: a job rejected because the server answered an HTML page was journaled and never tried
/// again ("1 done earlier", exit 0, no file). After: it is retried and made once the server is
/// back; a kept (hand-written) file deleted after its job is made again.
#[test]
fn rejected_jobs_and_deleted_files_are_made_again_on_the_next_run() {
    let (_dir, p) = project();
    let m = manifest(r#"Manifest(name: "pears", jobs: [Item(id: "pear"), Item(id: "chamomile")])"#);
    let pear = p.assets.join("items/pear.item.ron");
    let chamomile = p.assets.join("items/chamomile.item.ron");

    let down = FakeServer::start(Reply::Maintenance, None);
    let (s, _) = run(&p, &m, vec![backend(&down.url)]);
    assert_eq!((s.rejected, s.kept), (1, 1), "{s:?}");
    assert!(!s.ok(), "a rejected job makes the run fail");
    assert_eq!(s.missing, 1);
    assert!(!pear.exists());

    let up = FakeServer::start(Reply::Item, None);
    let (s, _) = run(&p, &m, vec![backend(&up.url)]);
    assert_eq!(
        (s.resumed, s.made),
        (1, 1),
        "the rejected job is retried: {s:?}"
    );
    assert!(s.ok(), "{s:?}");
    assert!(pear.is_file());
    assert_eq!(up.answered(), 1);

    // Done now: nothing to do, no model call.
    let (s, _) = run(&p, &m, vec![backend(&up.url)]);
    assert_eq!(s.resumed, 2, "{s:?}");
    assert_eq!(up.answered(), 1);

    // The kept (hand-written) file is deleted: made again, not "done earlier".
    std::fs::remove_file(&chamomile).unwrap();
    // (The pear's request changes too: the world it is written against lost an item.)
    let (s, ev) = run(&p, &m, vec![backend(&up.url)]);
    assert_eq!(s.resumed, 0, "{s:?}");
    assert!(
        ev.iter().any(
            |e| matches!(e, BatchEvent::JobFinished { label, .. } if label == "item chamomile")
        ),
        "{ev:#?}"
    );
    assert!(chamomile.is_file());
    assert!(s.ok(), "{s:?}");
}

/// A journal torn inside a multi-byte character (a kill mid-write of a line with "é"): the line
/// is skipped with a warning, the batch goes on, and reading it for a report writes nothing.
#[test]
fn a_journal_torn_inside_a_character_is_skipped_and_reports_never_write() {
    let (_dir, p) = project();
    let m = manifest(r#"Manifest(name: "torn", jobs: [Item(id: "pear"), Item(id: "quince")])"#);
    let up = FakeServer::start(Reply::Item, None);
    let (s, ev) = run(&p, &m, vec![backend(&up.url)]);
    assert_eq!(s.made, 2, "{ev:#?}");
    let path = p.batch_dir().join("torn.journal");
    let mut bytes = std::fs::read(&path).unwrap();
    // The second line, cut after the first byte of "é" (0xC3 0xA9).
    let first_end = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
    bytes.truncate(first_end);
    bytes.extend_from_slice(b"{\"job\":\"quince\",\"reasons\":[\"caf\xC3");
    std::fs::write(&path, &bytes).unwrap();

    let entries = read_journal(&path).unwrap();
    assert_eq!(
        entries.len(),
        1,
        "the whole line is kept, the torn one skipped"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "reading wrote to the journal"
    );

    let (s, _) = run(&p, &m, vec![backend(&up.url)]);
    assert_eq!(s.resumed + s.made + s.cached, 2, "{s:?}");
    assert!(s.ok(), "{s:?}");
    assert_eq!(read_journal(&path).unwrap().len(), 2);
}

/// Three servers, one of which dies with a job in flight: its jobs move to the other two, every
/// job is made exactly once, and the run says which worker stopped.
#[test]
fn an_endpoint_pool_survives_a_server_dying_mid_batch() {
    let (_dir, p) = project();
    let ids = [
        "pear", "quince", "medlar", "sloe", "damson", "rowan", "plum", "fig",
    ];
    let jobs: Vec<String> = ids.iter().map(|i| format!("Item(id: \"{i}\")")).collect();
    let m = manifest(&format!(
        "Manifest(name: \"pool\", jobs: [{}])",
        jobs.join(", ")
    ));
    let a = FakeServer::start(Reply::Item, None);
    let b = FakeServer::start(Reply::Item, Some(1));
    let c = FakeServer::start(Reply::Item, None);
    let (s, events) = run(
        &p,
        &m,
        vec![backend(&a.url), backend(&b.url), backend(&c.url)],
    );
    assert!(s.ok(), "{s:?}");
    assert_eq!(s.made, ids.len(), "{s:?}");
    assert_eq!(s.failed, 0);
    assert_eq!(s.retired, 1, "{s:?}");
    assert!(
        events.iter().any(|e| matches!(
            e,
            BatchEvent::WorkerRetired {
                worker: 1,
                left: 2,
                ..
            }
        )),
        "{events:?}"
    );
    assert_eq!(
        a.answered() + b.answered() + c.answered(),
        ids.len(),
        "each job answered once"
    );
    assert_eq!(b.answered(), 1);
    assert_eq!(
        journal_lines(&p, "pool"),
        ids.len(),
        "no job journaled twice"
    );
    for id in ids {
        assert!(
            p.assets.join(format!("items/{id}.item.ron")).is_file(),
            "{id}"
        );
    }
}

/// Every endpoint down: the jobs fail (not journaled, so a rerun does them) and the run fails.
#[test]
fn a_pool_with_every_endpoint_down_fails_the_jobs_left_for_a_rerun() {
    let (_dir, p) = project();
    let m = manifest(
        r#"Manifest(name: "dead", jobs: [Item(id: "pear"), Item(id: "quince"), Item(id: "sloe")])"#,
    );
    let a = FakeServer::start(Reply::Item, Some(0));
    let (s, _) = run(&p, &m, vec![backend(&a.url)]);
    assert_eq!(s.failed, 3, "{s:?}");
    assert_eq!(s.retired, 1);
    assert!(!s.ok());
    assert!(
        s.errors.iter().all(|e| e.contains("endpoint")),
        "{:?}",
        s.errors
    );
    let up = FakeServer::start(Reply::Item, None);
    let (s, _) = run(&p, &m, vec![backend(&up.url)]);
    assert_eq!(s.made, 3, "{s:?}");
}

/// A crash between a generated file's sidecar and the file itself (two renames) left a file that
/// read as "edited by hand" and was kept forever. The pending marker written first says the pair is
/// torn: the job is made again. Without the marker, a file edited by hand is still kept.
#[test]
fn a_write_torn_between_sidecar_and_file_is_remade_not_kept() {
    let (_dir, p) = project();
    let m = manifest(r#"Manifest(name: "torn_pair", jobs: [Item(id: "pear")])"#);
    let up = FakeServer::start(Reply::Item, None);
    let (s, _) = run(&p, &m, vec![backend(&up.url)]);
    assert_eq!(s.made, 1);
    let pear = p.assets.join("items/pear.item.ron");
    let made = std::fs::read_to_string(&pear).unwrap();

    // Edited by hand: kept.
    std::fs::write(&pear, made.replace("Pear", "Hand Pear")).unwrap();
    let (s, _) = run(&p, &m, vec![backend(&up.url)]);
    assert_eq!(s.kept, 1, "{s:?}");

    // The same bytes, but a pending marker: the new sidecar landed, the file did not.
    let marker = sprout_core::content::provenance::pending_path(&pear);
    std::fs::write(&marker, "interrupted").unwrap();
    let (s, _) = run(&p, &m, vec![backend(&up.url)]);
    assert_eq!(s.kept, 0, "{s:?}");
    assert_eq!(s.made + s.cached, 1, "{s:?}");
    assert!(
        !marker.exists(),
        "the marker is gone once the pair is whole"
    );
    assert_eq!(std::fs::read_to_string(&pear).unwrap(), made);
}

/// The same with real servers: two llama.cpp servers on loopback behind the `OpenAI` API, the
/// tiny model on both, one killed (SIGKILL) as soon as the first job is done. Every job ends
/// in the journal exactly once (made, repaired or rejected by the validator), none fails, and the
/// killed server's worker retires. Needs `SPROUT_LLAMA_PYTHON` (see [`LlamaServer`]).
#[test]
fn an_endpoint_pool_of_llama_cpp_servers_survives_one_killed_mid_batch() {
    use crate::support::LlamaServer;
    let m = crate::llm::model(); // pulls the model if needed; keeps other model tests off the cores
    let (_, path) = sprout_core::llm::ModelManager::new()
        .locate(Some(crate::llm::TINY))
        .unwrap();
    let Some(a) = LlamaServer::start(&path) else {
        return;
    };
    let b = LlamaServer::start(&path).unwrap();
    let (urls, b) = ([a.url(), b.url()], std::sync::Mutex::new(Some(b)));
    let (_dir, p) = project();
    let manifest = manifest(
        r#"Manifest(name: "served", seed: 5, dialogue: [(npcs: Only(["pim", "sefa"]), situations: [Daily, GiftLiked], seasons: [Autumn], nodes: 1)])"#,
    );
    let (mut set, problems) = ContentSet::load_dir(&p.assets);
    assert!(problems.is_empty(), "{problems:?}");
    let templates = Templates::builtin();
    let options = Options {
        max_repairs: 2,
        ..Options::default()
    };
    let model = model_ref();
    let batch = Batch {
        generator: Generator {
            project: &p,
            templates: &templates,
            model: &model,
            options: &options,
        },
        name: "served".into(),
        jobs: manifest.expand(&set).unwrap(),
    };
    let events = std::sync::Mutex::new(Vec::new());
    let workers: Vec<Box<dyn TextBackend>> = urls.iter().map(|u| backend(u)).collect();
    let s = batch
        .run(&mut set, workers, &|e| {
            if matches!(e, BatchEvent::JobFinished { .. })
                && let Some(mut server) = b.lock().unwrap().take()
            {
                server.kill();
            }
            events.lock().unwrap().push(e);
        })
        .unwrap();
    drop(m);
    let events = events.into_inner().unwrap();
    assert_eq!(s.failed, 0, "{s:?}\n{events:#?}");
    assert_eq!(s.retired, 1, "{s:?}");
    assert_eq!(s.made + s.repaired + s.rejected, 4, "{s:?}");
    assert_eq!(journal_lines(&p, "served"), 4, "no job journaled twice");
}
