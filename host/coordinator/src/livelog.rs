//! A build's log while it runs: appended by the runner, read by the status page from
//! the start at any moment, and followed by readers until the build ends.

use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Largest log kept; beyond it the middle is dropped with a note (a runaway test must
/// not take the coordinator's memory).
const MAX_LOG: usize = 16 << 20;

#[derive(Clone)]
pub struct LiveLog {
    text: Arc<Mutex<String>>,
    /// (bytes written, done)
    progress: watch::Sender<(usize, bool)>,
}

impl Default for LiveLog {
    fn default() -> Self {
        LiveLog {
            text: Arc::default(),
            progress: watch::Sender::new((0, false)),
        }
    }
}

impl LiveLog {
    pub fn append(&self, s: &str) {
        let mut t = self.text.lock().unwrap();
        if t.len() + s.len() > MAX_LOG {
            if !t.ends_with("[log truncated]\n") {
                t.push_str("\n[log truncated]\n");
            }
        } else {
            t.push_str(s);
        }
        let n = t.len();
        drop(t);
        self.progress.send_modify(|p| p.0 = n);
    }

    pub fn finish(&self) {
        self.progress.send_modify(|p| p.1 = true);
    }

    pub fn text(&self) -> String {
        self.text.lock().unwrap().clone()
    }

    /// The text from `from` on, and whether the build ended.
    pub fn since(&self, from: usize) -> (String, bool) {
        let done = self.progress.borrow().1;
        let t = self.text.lock().unwrap();
        (t.get(from..).unwrap_or("").to_string(), done)
    }

    pub fn subscribe(&self) -> watch::Receiver<(usize, bool)> {
        self.progress.subscribe()
    }

    /// An `AsyncWrite` that appends to the log (exec output).
    pub fn writer(&self) -> LogWriter {
        LogWriter(self.clone())
    }
}

pub struct LogWriter(LiveLog);

impl tokio::io::AsyncWrite for LogWriter {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.append(&String::from_utf8_lossy(buf));
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
