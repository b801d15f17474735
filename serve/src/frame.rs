//! Length-prefixed frames: a big-endian i32 size, then that many bytes. Sizes outside
//! `8..=REQUEST_FRAME_BYTES_MAX`, a body that does not arrive within `FRAME_READ_TIMEOUT`,
//! and a connection idle past `CONNECTION_IDLE` end the connection; a frame's buffer is
//! reserved from the server-wide in-flight budget before it is read.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::limits::{
    CONNECTION_IDLE, FRAME_READ_TIMEOUT, REQUEST_FRAME_BYTES_MAX, RESPONSE_WRITE_TIMEOUT,
};

/// The smallest request: api key, api version, correlation id.
pub const REQUEST_HEADER_BYTES_MIN: usize = 8;

/// One request's bytes, holding its share of the in-flight budget until dropped.
pub struct Frame {
    pub body: Bytes,
    _budget: OwnedSemaphorePermit,
}

/// Why a connection ends while reading.
#[derive(Debug)]
pub enum FrameEnd {
    /// The client closed the connection between frames.
    Closed,
    Idle,
    /// A size outside the allowed range.
    BadSize(i64),
    SlowBody,
    Io(std::io::Error),
}

impl std::fmt::Display for FrameEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameEnd::Closed => write!(f, "closed by the client"),
            FrameEnd::Idle => write!(f, "idle for {}s", CONNECTION_IDLE.as_secs()),
            FrameEnd::BadSize(n) => write!(
                f,
                "a request frame of {n} bytes (allowed: {REQUEST_HEADER_BYTES_MIN} to {REQUEST_FRAME_BYTES_MAX})"
            ),
            FrameEnd::SlowBody => write!(
                f,
                "a request frame's body did not arrive within {}s",
                FRAME_READ_TIMEOUT.as_secs()
            ),
            FrameEnd::Io(e) => write!(f, "{e}"),
        }
    }
}

pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    budget: &Arc<Semaphore>,
) -> Result<Frame, FrameEnd> {
    let mut size = [0u8; 4];
    match tokio::time::timeout(CONNECTION_IDLE, r.read_exact(&mut size[..1])).await {
        Err(_) => return Err(FrameEnd::Idle),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(FrameEnd::Closed)
        }
        Ok(Err(e)) => return Err(FrameEnd::Io(e)),
        Ok(Ok(_)) => {}
    }
    let rest = async {
        r.read_exact(&mut size[1..]).await?;
        let n = i32::from_be_bytes(size);
        if n < REQUEST_HEADER_BYTES_MIN as i32 || n as usize > REQUEST_FRAME_BYTES_MAX {
            return Ok(Err(FrameEnd::BadSize(n.into())));
        }
        let n = n as usize;
        // n <= REQUEST_FRAME_BYTES_MAX, far below the semaphore's permit limit.
        let permit = match budget.clone().acquire_many_owned(n as u32).await {
            Ok(p) => p,
            Err(_) => return Ok(Err(FrameEnd::Closed)),
        };
        let mut body = BytesMut::zeroed(n);
        r.read_exact(&mut body).await?;
        Ok(Ok(Frame {
            body: body.freeze(),
            _budget: permit,
        }))
    };
    match tokio::time::timeout(FRAME_READ_TIMEOUT, rest).await {
        Err(_) => Err(FrameEnd::SlowBody),
        Ok(Err(e)) => Err(FrameEnd::Io(e)),
        Ok(Ok(r)) => r,
    }
}

/// Writes a response frame (size prefix + bytes); a client that does not read it in time
/// is an error.
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, body: &[u8]) -> std::io::Result<()> {
    let write = async {
        w.write_all(&(body.len() as u32).to_be_bytes()).await?;
        w.write_all(body).await?;
        w.flush().await
    };
    match tokio::time::timeout(RESPONSE_WRITE_TIMEOUT, write).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the client did not read its response",
        )),
    }
}
