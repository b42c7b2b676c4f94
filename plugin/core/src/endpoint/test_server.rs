//! The scripted server both HTTP backends' tests run against: a loopback listener that answers
//! each connection with the next reply of a script, on its own thread, records every request
//! (head and body) and counts connections, also those after the script ran out (closed at once).
//! Each suite brings its own replies and the function that writes one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// Writes `reply` to a connection whose request was `request`; adds what it streamed to
/// `written`.
pub(crate) type Answer<R> = fn(&mut TcpStream, &str, R, &AtomicUsize);

/// A running scripted server.
pub(crate) struct Server {
    /// `http://127.0.0.1:{port}`.
    pub(crate) url: String,
    /// Every request so far, head and body.
    pub(crate) seen: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
    /// Bytes the streaming replies wrote.
    written: Arc<AtomicUsize>,
    /// One message per finished reply.
    finished: mpsc::Receiver<()>,
}

impl Server {
    /// Serves `replies`, one per connection, each written by `answer`.
    pub(crate) fn start<R: Send + 'static>(replies: Vec<R>, answer: Answer<R>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let written = Arc::new(AtomicUsize::new(0));
        let (done, finished) = mpsc::channel();
        let (seen2, connections2, written2) = (seen.clone(), connections.clone(), written.clone());
        std::thread::spawn(move || {
            let mut replies = replies.into_iter();
            while let Ok((mut s, _)) = listener.accept() {
                connections2.fetch_add(1, Ordering::SeqCst);
                let Some(reply) = replies.next() else {
                    continue;
                };
                let (seen, written, done) = (seen2.clone(), written2.clone(), done.clone());
                std::thread::spawn(move || {
                    let request = read_request(&s);
                    seen.lock().unwrap().push(request.clone());
                    answer(&mut s, &request, reply, &written);
                    let _ = done.send(());
                });
            }
        });
        Self {
            url: format!("http://{addr}"),
            seen,
            connections,
            written,
            finished,
        }
    }

    /// Connections accepted so far.
    pub(crate) fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Waits for the one reply of an endless answer to end, and checks that the client hung up
    /// before the server could write its `limit` bytes, and did not try again.
    pub(crate) fn assert_cut_short(&self, limit: usize) {
        self.finished.recv_timeout(Duration::from_secs(60)).unwrap();
        let written = self.written.load(Ordering::SeqCst);
        assert!(written < limit, "the server wrote all {written} bytes");
        assert_eq!(self.connections(), 1, "not retried");
    }
}

/// The request's head and body (as long as its `content-length` says).
fn read_request(s: &TcpStream) -> String {
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut len = 0;
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut req = vec![0; len];
    let _ = r.read_exact(&mut req);
    format!("{head}{}", String::from_utf8_lossy(&req))
}

/// A whole answer with a content length, then the connection closes.
pub(crate) fn full(s: &mut TcpStream, status: u16, ctype: &str, body: &[u8]) {
    let _ = write!(
        s,
        "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(body);
}

/// A port nothing listens on.
pub(crate) fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
