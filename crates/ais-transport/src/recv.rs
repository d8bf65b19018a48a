//! The receiving side: frames parsed from a request body, acknowledgements as the reply body.

use crate::{Error, MAX_HDR, ObjHdr, encode_ack};
use bytes::{Buf, Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use std::fmt::Display;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::sync::mpsc;

/// Reads object frames from a stream's request body.
///
/// Call [`ObjReader::next_hdr`] for each object, then read its bytes with
/// [`ObjReader::payload`]; unread payload bytes are skipped by the next `next_hdr`.
#[derive(Debug)]
pub struct ObjReader<B> {
    body: B,
    buf: Bytes,
    /// Unread payload bytes of the current object.
    left: u64,
}

impl<B> ObjReader<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Display,
{
    /// A reader of `body`.
    pub fn new(body: B) -> Self {
        ObjReader {
            body,
            buf: Bytes::new(),
            left: 0,
        }
    }

    /// The next data frame of the body; `None` at its end.
    async fn frame(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            let f = std::future::poll_fn(|cx| Pin::new(&mut self.body).poll_frame(cx)).await;
            match f {
                None => return Ok(None),
                Some(Err(e)) => return Err(Error::Body(e.to_string())),
                Some(Ok(f)) => {
                    if let Ok(d) = f.into_data()
                        && !d.is_empty()
                    {
                        return Ok(Some(d));
                    }
                }
            }
        }
    }

    /// Buffers at least `n` bytes; `false` if the body ended cleanly with nothing buffered.
    async fn need(&mut self, n: usize) -> Result<bool, Error> {
        while self.buf.len() < n {
            match self.frame().await? {
                None if self.buf.is_empty() => return Ok(false),
                None => return Err(Error::Body("the stream ended inside a frame".into())),
                Some(d) if self.buf.is_empty() => self.buf = d,
                Some(d) => {
                    let mut m = BytesMut::with_capacity(self.buf.len() + d.len());
                    m.extend_from_slice(&self.buf);
                    m.extend_from_slice(&d);
                    self.buf = m.freeze();
                }
            }
        }
        Ok(true)
    }

    /// Skips what is left of the current object's payload.
    async fn skip(&mut self) -> Result<(), Error> {
        while self.left > 0 {
            if self.buf.is_empty() {
                match self.frame().await? {
                    None => return Err(Error::Body("the stream ended inside a payload".into())),
                    Some(d) => self.buf = d,
                }
            }
            let n = self
                .buf
                .len()
                .min(self.left.try_into().unwrap_or(usize::MAX));
            self.buf.advance(n);
            self.left -= n as u64;
        }
        Ok(())
    }

    /// The next object's header; `None` when the sender ended the stream.
    pub async fn next_hdr(&mut self) -> Result<Option<ObjHdr>, Error> {
        self.skip().await?;
        if !self.need(4).await? {
            return Ok(None);
        }
        let n = u32::from_le_bytes(self.buf[..4].try_into().expect("4 bytes")) as usize;
        if n > MAX_HDR {
            return Err(Error::Protocol(format!("object header of {n} bytes")));
        }
        if !self.need(4 + n).await? {
            return Err(Error::Body("the stream ended inside a header".into()));
        }
        self.buf.advance(4);
        let hdr = ObjHdr::decode(self.buf.split_to(n))?;
        self.left = hdr.size;
        Ok(Some(hdr))
    }

    /// The current object's payload, as a body of exactly `size` bytes (an error if the stream
    /// ends before).
    pub fn payload(&mut self) -> Payload<'_, B> {
        Payload { rd: self }
    }
}

/// The payload of the object whose header was read last (borrowed from its [`ObjReader`]).
#[derive(Debug)]
pub struct Payload<'a, B> {
    rd: &'a mut ObjReader<B>,
}

impl<B> Body for Payload<'_, B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Display,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let rd = &mut *self.get_mut().rd;
        loop {
            if rd.left == 0 {
                return Poll::Ready(None);
            }
            if !rd.buf.is_empty() {
                let n = rd.buf.len().min(rd.left.try_into().unwrap_or(usize::MAX));
                rd.left -= n as u64;
                return Poll::Ready(Some(Ok(Frame::data(rd.buf.split_to(n)))));
            }
            match ready!(Pin::new(&mut rd.body).poll_frame(cx)) {
                None => {
                    return Poll::Ready(Some(Err(Error::Body(
                        "the stream ended inside a payload".into(),
                    ))));
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(Error::Body(e.to_string())))),
                Some(Ok(f)) => {
                    if let Ok(d) = f.into_data() {
                        rd.buf = d;
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.rd.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rd.left)
    }
}

/// Sends acknowledgements into a stream's reply body. Cheap to clone; the body ends when
/// every clone is dropped.
#[derive(Debug, Clone)]
pub struct Acks {
    tx: mpsc::Sender<Bytes>,
}

impl Acks {
    /// Acknowledges object `seq`: stored (`Ok`) or refused with a message. Returns `false`
    /// if the sender is gone.
    pub async fn send(&self, seq: u64, r: Result<(), String>) -> bool {
        self.tx.send(encode_ack(seq, &r)).await.is_ok()
    }
}

/// The reply body of a stream: acknowledgement frames as they are sent.
#[derive(Debug)]
pub struct AckBody {
    rx: mpsc::Receiver<Bytes>,
}

impl Body for AckBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.get_mut()
            .rx
            .poll_recv(cx)
            .map(|o| o.map(|b| Ok(Frame::data(b))))
    }
}

/// A pair: where to send acknowledgements, and the reply body that carries them
/// (`cap` acknowledgements are buffered before [`Acks::send`] waits).
pub fn acks(cap: usize) -> (Acks, AckBody) {
    let (tx, rx) = mpsc::channel(cap.max(1));
    (Acks { tx }, AckBody { rx })
}
