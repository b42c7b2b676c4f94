//! Paths and helpers shared by the tests.

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The shipped asset folder.
pub fn assets() -> PathBuf {
    repo().join("assets")
}

/// The test fixture folder.
pub fn fixtures() -> PathBuf {
    repo().join("tests/fixtures")
}

/// Every file below `dir` whose name ends with `suffix`, sorted.
pub fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A llama.cpp server (llama-cpp-python's `llama_cpp.server`) on a free loopback port, killed when
/// dropped. `None` when `SPROUT_LLAMA_PYTHON` is not set (a Python with
/// `llama-cpp-python[server]`); then the caller skips, unless `SPROUT_REQUIRE_LLAMA_SERVER` is set
/// (CI sets both: `.ci/run` builds the server once and caches it), which fails the test instead.
pub struct LlamaServer {
    child: std::process::Child,
    /// The port it listens on.
    pub port: u16,
}

impl LlamaServer {
    /// Starts a server on `model` (one thread, 2048 context) and waits until it accepts
    /// connections.
    pub fn start(model: &Path) -> Option<Self> {
        use std::process::{Command, Stdio};
        use std::time::{Duration, Instant};
        let Some(python) = std::env::var_os("SPROUT_LLAMA_PYTHON") else {
            assert!(
                std::env::var_os("SPROUT_REQUIRE_LLAMA_SERVER").is_none(),
                "SPROUT_REQUIRE_LLAMA_SERVER is set but SPROUT_LLAMA_PYTHON is not (CI installs it)"
            );
            eprintln!("skipped: set SPROUT_LLAMA_PYTHON to a Python with llama-cpp-python[server]");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(python)
            .args(["-m", "llama_cpp.server", "--host", "127.0.0.1"])
            .args(["--n_ctx", "2048", "--n_threads", "1"])
            .arg("--port")
            .arg(port.to_string())
            .arg("--model")
            .arg(model)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start llama_cpp.server");
        let server = Self { child, port };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "llama.cpp server did not start"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(server)
    }

    /// The `OpenAI` API base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Kills the server now (SIGKILL), as a machine that dies.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        self.kill();
    }
}
