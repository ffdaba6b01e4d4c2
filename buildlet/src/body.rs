//! Response bodies fed from a channel: streamed command output and `/tgz` archives.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame};
use tokio::sync::mpsc;

/// One item of a channel body: a frame, or an error that aborts the response (the
/// client sees a truncated body, as with Go's `http.ErrAbortHandler`).
pub type Item = Result<Frame<Bytes>, io::Error>;

/// A body whose frames arrive over an mpsc channel. Dropping it (the client went away)
/// closes the channel, which the producer observes.
pub struct ChannelBody {
    rx: mpsc::Receiver<Item>,
}

impl ChannelBody {
    pub fn new(capacity: usize) -> (mpsc::Sender<Item>, Self) {
        let (tx, rx) = mpsc::channel(capacity);
        (tx, ChannelBody { rx })
    }
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        self.rx.poll_recv(cx)
    }
}

/// A blocking `Write` that sends each write as a data frame (for `spawn_blocking` producers).
pub struct ChannelWriter(pub mpsc::Sender<Item>);

impl io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .blocking_send(Ok(Frame::data(Bytes::copy_from_slice(buf))))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
