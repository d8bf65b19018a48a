//! Intra-cluster object streams.
//!
//! Rebalance, bucket copies and other data movers send many objects from one node to another.
//! One HTTP request per object costs a request head, a handler dispatch and a connection-pool
//! round trip each time; this crate instead keeps **one long-lived HTTP/1.1 request per
//! destination** (a [`Sender`] stream) and writes the objects back to back into its chunked
//! body. The receiver answers at once and streams back one acknowledgement per object when the
//! object is stored, so a sender learns of each commit (and may, say, delete its own copy)
//! without waiting for the stream to end.
//!
//! * **Backpressure and bounded memory**: a sender holds at most
//!   [`Config::max_in_flight`] objects between "queued" and "acknowledged"; a further
//!   [`Sender::send`] waits. Payloads are read lazily, [`Config::chunk`] bytes at a time, as
//!   the connection takes them, so memory is bounded by the chunk size (plus the socket
//!   buffers), not by object sizes. A slow receiver slows the senders through TCP.
//! * **Failure**: a broken stream fails every object queued or unacknowledged on it with
//!   [`Error::Broken`] (none is reported stored unless the receiver acknowledged it); the next
//!   send opens a new stream. A stream idle for [`Config::idle`] is closed.
//! * **Receiver**: [`ObjReader`] parses the frames from any [`http_body::Body`] (zero-copy:
//!   payload chunks are slices of the received buffers) and [`acks`] makes the reply body.
//!   Payloads must be read in order, but storing them may overlap: acknowledgements may be sent
//!   in any order.
//!
//! # Wire format
//!
//! Request: `PUT <url>` with `content-type: application/x-ais-transport` and a chunked body
//! made of object frames, back to back; the stream ends with the body.
//!
//! ```text
//! object frame = hdr_len:u32 | header (hdr_len bytes) | payload (header.size bytes)
//! header       = seq:u64 | size:u64 | kind:u8 | atime_ns:i64
//!                | str provider | str namespace | str bucket | str name
//!                | str cksum_type | str cksum_value | str version
//!                | n:u16 | n × (str key | str value)        -- custom metadata
//!                | opaque_len:u32 | opaque
//! str          = len:u16 | UTF-8 bytes
//! ```
//!
//! Reply: `200` with a body of acknowledgement frames:
//!
//! ```text
//! ack frame = seq:u64 | status:u8 (0 stored, 1 refused) | msg_len:u32 | msg (UTF-8)
//! ```
//!
//! All integers are little-endian. Headers are at most [`MAX_HDR`] bytes.

mod recv;
mod send;

pub use recv::{AckBody, Acks, ObjReader, Payload, acks};
pub use send::{Config, SendBody, Sender};

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Content type of a stream's request body.
pub const CONTENT_TYPE: &str = "application/x-ais-transport";
/// Largest accepted object header, bytes.
pub const MAX_HDR: usize = 64 << 10;

/// What went wrong with a stream or an object on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The stream broke (connection refused or reset, receiver gone, bad reply) before the
    /// object was acknowledged: it may or may not be stored.
    #[error("stream to {url} broken: {msg}")]
    Broken {
        /// Destination.
        url: String,
        /// What happened.
        msg: String,
    },
    /// The receiver read the object and refused it (its message).
    #[error("refused by the receiver: {0}")]
    Refused(String),
    /// No acknowledgement within [`Config::ack_timeout`].
    #[error("no acknowledgement from {0} in time")]
    Timeout(String),
    /// The sender's payload ended before `size` bytes, or failed to read.
    #[error("payload: {0}")]
    Payload(String),
    /// Malformed frames (receiver side).
    #[error("malformed stream: {0}")]
    Protocol(String),
    /// The request body failed or ended inside a frame (receiver side).
    #[error("stream body: {0}")]
    Body(String),
}

/// Kinds of objects; the receiver decides what each means.
pub mod kind {
    /// A whole object to store with its metadata (rebalance, copies).
    pub const OBJECT: u8 = 0;
    /// A slice or replica of an erasure-coded object (`opaque`: the slice's metadata).
    pub const EC_SLICE: u8 = 1;
}

/// The header of one object on a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjHdr {
    /// Sequence number, assigned by the sender's stream.
    pub seq: u64,
    /// Payload size in bytes.
    pub size: u64,
    /// What the receiver is to do with it (see [`kind`]).
    pub kind: u8,
    /// Last access, unix nanoseconds (0: unknown).
    pub atime_ns: i64,
    /// Bucket provider (`ais`, `aws`, …).
    pub provider: String,
    /// Bucket namespace (empty: global).
    pub namespace: String,
    /// Bucket name.
    pub bucket: String,
    /// Object name.
    pub name: String,
    /// Checksum type of `cksum_value` (empty: none).
    pub cksum_type: String,
    /// Checksum of the payload.
    pub cksum_value: String,
    /// Object version.
    pub version: String,
    /// Custom metadata.
    pub custom: Vec<(String, String)>,
    /// Anything else the kind needs.
    pub opaque: Bytes,
}

fn put_str(b: &mut BytesMut, s: &str) -> Result<(), Error> {
    let n = u16::try_from(s.len())
        .map_err(|_| Error::Payload(format!("header field of {} bytes", s.len())))?;
    b.put_u16_le(n);
    b.put_slice(s.as_bytes());
    Ok(())
}

fn get_str(b: &mut Bytes) -> Result<String, Error> {
    if b.remaining() < 2 {
        return Err(Error::Protocol("short header".into()));
    }
    let n = b.get_u16_le() as usize;
    if b.remaining() < n {
        return Err(Error::Protocol("short header".into()));
    }
    String::from_utf8(b.split_to(n).to_vec())
        .map_err(|_| Error::Protocol("header field is not UTF-8".into()))
}

impl ObjHdr {
    /// The frame prefix: `hdr_len` and the encoded header.
    pub fn encode(&self) -> Result<Bytes, Error> {
        let mut b = BytesMut::with_capacity(
            64 + self.bucket.len() + self.name.len() + self.cksum_value.len() + self.opaque.len(),
        );
        b.put_u32_le(0); // patched below
        b.put_u64_le(self.seq);
        b.put_u64_le(self.size);
        b.put_u8(self.kind);
        b.put_i64_le(self.atime_ns);
        for s in [
            &self.provider,
            &self.namespace,
            &self.bucket,
            &self.name,
            &self.cksum_type,
            &self.cksum_value,
            &self.version,
        ] {
            put_str(&mut b, s)?;
        }
        let n = u16::try_from(self.custom.len())
            .map_err(|_| Error::Payload("too many custom metadata entries".into()))?;
        b.put_u16_le(n);
        for (k, v) in &self.custom {
            put_str(&mut b, k)?;
            put_str(&mut b, v)?;
        }
        b.put_u32_le(self.opaque.len() as u32);
        b.put_slice(&self.opaque);
        let len = b.len() - 4;
        if len > MAX_HDR {
            return Err(Error::Payload(format!(
                "object header of {len} bytes (max {MAX_HDR})"
            )));
        }
        b[..4].copy_from_slice(&(len as u32).to_le_bytes());
        Ok(b.freeze())
    }

    /// Decodes a header (without its `hdr_len` prefix).
    pub fn decode(mut b: Bytes) -> Result<ObjHdr, Error> {
        if b.remaining() < 25 {
            return Err(Error::Protocol("short header".into()));
        }
        let seq = b.get_u64_le();
        let size = b.get_u64_le();
        let kind = b.get_u8();
        let atime_ns = b.get_i64_le();
        let mut s = [(); 7].map(|_| String::new());
        for f in s.iter_mut() {
            *f = get_str(&mut b)?;
        }
        let [
            provider,
            namespace,
            bucket,
            name,
            cksum_type,
            cksum_value,
            version,
        ] = s;
        if b.remaining() < 2 {
            return Err(Error::Protocol("short header".into()));
        }
        let n = b.get_u16_le();
        let mut custom = Vec::with_capacity(n as usize);
        for _ in 0..n {
            custom.push((get_str(&mut b)?, get_str(&mut b)?));
        }
        if b.remaining() < 4 {
            return Err(Error::Protocol("short header".into()));
        }
        let olen = b.get_u32_le() as usize;
        if b.remaining() != olen {
            return Err(Error::Protocol("header length mismatch".into()));
        }
        Ok(ObjHdr {
            seq,
            size,
            kind,
            atime_ns,
            provider,
            namespace,
            bucket,
            name,
            cksum_type,
            cksum_value,
            version,
            custom,
            opaque: b,
        })
    }
}

/// Encodes one acknowledgement frame.
fn encode_ack(seq: u64, r: &Result<(), String>) -> Bytes {
    let msg = r.as_ref().err().map_or("", String::as_str);
    let mut b = BytesMut::with_capacity(13 + msg.len());
    b.put_u64_le(seq);
    b.put_u8(u8::from(r.is_err()));
    b.put_u32_le(msg.len() as u32);
    b.put_slice(msg.as_bytes());
    b.freeze()
}

/// Decodes the complete acknowledgement frames at the front of `buf`.
fn decode_acks(buf: &mut BytesMut) -> Vec<(u64, Result<(), String>)> {
    let mut out = Vec::new();
    while buf.len() >= 13 {
        let n = u32::from_le_bytes(buf[9..13].try_into().expect("4 bytes")) as usize;
        if buf.len() < 13 + n {
            break;
        }
        let mut f = buf.split_to(13 + n);
        let seq = f.get_u64_le();
        let refused = f.get_u8() != 0;
        f.advance(4);
        out.push((
            seq,
            if refused {
                Err(String::from_utf8_lossy(&f).into_owned())
            } else {
                Ok(())
            },
        ));
    }
    out
}

#[cfg(test)]
mod tests;
