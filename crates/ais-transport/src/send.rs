//! The sending side: one long-lived stream per destination URL.

use crate::{CONTENT_TYPE, Error, ObjHdr, decode_acks};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::io::AsyncRead;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Tuning of a [`Sender`].
#[derive(Debug, Clone)]
pub struct Config {
    /// Objects per destination between "queued" and "acknowledged"; further sends wait.
    pub max_in_flight: usize,
    /// Payload bytes read per step (the memory a payload in transit holds).
    pub chunk: usize,
    /// A stream without traffic this long is closed (the next send opens a new one).
    pub idle: Duration,
    /// How long a send waits for its acknowledgement once queued.
    pub ack_timeout: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_in_flight: 64,
            chunk: 256 << 10,
            idle: Duration::from_secs(10),
            ack_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(3),
        }
    }
}

/// An object's payload.
pub enum SendBody {
    /// Bytes in memory.
    Bytes(Bytes),
    /// Read on demand, [`Config::chunk`] bytes at a time (a file, typically).
    Reader(Box<dyn AsyncRead + Send + Unpin>),
}

impl From<Bytes> for SendBody {
    fn from(b: Bytes) -> Self {
        SendBody::Bytes(b)
    }
}

impl From<tokio::fs::File> for SendBody {
    fn from(f: tokio::fs::File) -> Self {
        SendBody::Reader(Box::new(f))
    }
}

impl std::fmt::Debug for SendBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendBody::Bytes(b) => write!(f, "SendBody::Bytes({})", b.len()),
            SendBody::Reader(_) => f.write_str("SendBody::Reader"),
        }
    }
}

type Ack = oneshot::Sender<Result<(), Error>>;

struct Item {
    hdr: ObjHdr,
    body: SendBody,
    ack: Ack,
}

/// State shared by a stream's handle, its body producer and its acknowledgement reader.
struct Shared {
    url: String,
    pending: Mutex<HashMap<u64, Ack>>,
    dead: AtomicBool,
    last: Mutex<Instant>,
    slots: Arc<Semaphore>,
}

impl Shared {
    fn broken(&self, msg: &str) -> Error {
        Error::Broken {
            url: self.url.clone(),
            msg: msg.to_string(),
        }
    }

    /// Marks the stream dead and fails everything sent on it but not acknowledged.
    fn fail_all(&self, msg: &str) {
        self.dead.store(true, Ordering::Release);
        let pending = std::mem::take(&mut *self.pending.lock().expect("pending lock"));
        if !pending.is_empty() {
            tracing::warn!(url = %self.url, objects = pending.len(), %msg, "transport stream broken");
        }
        for (_, ack) in pending {
            let _ = ack.send(Err(self.broken(msg)));
        }
    }
}

/// One open stream.
struct Stream {
    tx: mpsc::Sender<Item>,
    seq: AtomicU64,
    shared: Arc<Shared>,
}

struct Inner {
    client: reqwest::Client,
    headers: http::HeaderMap,
    cfg: Config,
    streams: Mutex<HashMap<String, Arc<Stream>>>,
}

/// Sends objects to receivers, one long-lived stream per destination URL (opened on first
/// use, reopened after a failure, closed when idle). Cheap to clone.
#[derive(Clone)]
pub struct Sender {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("cfg", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// A sender whose requests carry `headers` (e.g. the caller's identity and credentials).
    /// Must be called within a Tokio runtime.
    pub fn new(cfg: Config, headers: http::HeaderMap) -> Result<Sender, Error> {
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .no_proxy()
            .connect_timeout(cfg.connect_timeout)
            .build()
            .map_err(|e| Error::Broken {
                url: String::new(),
                msg: e.to_string(),
            })?;
        Ok(Sender {
            inner: Arc::new(Inner {
                client,
                headers,
                cfg,
                streams: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Number of open streams.
    pub fn streams(&self) -> usize {
        self.inner.streams.lock().expect("streams lock").len()
    }

    /// Sends one object to the receiver at `url` and waits until the receiver acknowledges it
    /// (stored: `Ok`; refused: [`Error::Refused`]). `hdr.seq` is assigned here. Waits first
    /// while [`Config::max_in_flight`] objects to that receiver are unacknowledged.
    pub async fn send(&self, url: &str, mut hdr: ObjHdr, body: SendBody) -> Result<(), Error> {
        let st = self.stream(url);
        let _slot = st
            .shared
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| st.shared.broken("closed"))?;
        hdr.seq = st.seq.fetch_add(1, Ordering::Relaxed);
        let seq = hdr.seq;
        *st.shared.last.lock().expect("last lock") = Instant::now();
        let (ack, done) = oneshot::channel();
        st.tx
            .send(Item { hdr, body, ack })
            .await
            .map_err(|_| st.shared.broken("stream closed"))?;
        let r = match tokio::time::timeout(self.inner.cfg.ack_timeout, done).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(st.shared.broken("stream closed")),
            Err(_) => {
                st.shared.pending.lock().expect("pending lock").remove(&seq);
                Err(Error::Timeout(url.to_string()))
            }
        };
        *st.shared.last.lock().expect("last lock") = Instant::now();
        r
    }

    /// The live stream to `url`, opened if needed.
    fn stream(&self, url: &str) -> Arc<Stream> {
        let mut m = self.inner.streams.lock().expect("streams lock");
        if let Some(s) = m.get(url)
            && !s.shared.dead.load(Ordering::Acquire)
        {
            return s.clone();
        }
        let cfg = &self.inner.cfg;
        let (tx, rx) = mpsc::channel(cfg.max_in_flight.max(1));
        let shared = Arc::new(Shared {
            url: url.to_string(),
            pending: Mutex::new(HashMap::new()),
            dead: AtomicBool::new(false),
            last: Mutex::new(Instant::now()),
            slots: Arc::new(Semaphore::new(cfg.max_in_flight.max(1))),
        });
        let st = Arc::new(Stream {
            tx,
            seq: AtomicU64::new(0),
            shared: shared.clone(),
        });
        m.insert(url.to_string(), st.clone());
        tracing::debug!(%url, "transport stream open");
        let body = producer(rx, shared.clone(), cfg.chunk);
        let req = self
            .inner
            .client
            .put(url)
            .headers(self.inner.headers.clone())
            .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
            .body(reqwest::Body::wrap_stream(body));
        tokio::spawn(read_acks(req, shared.clone()));
        tokio::spawn(reap(
            Arc::downgrade(&self.inner),
            shared,
            cfg.idle,
            cfg.max_in_flight.max(1),
        ));
        st
    }
}

/// Sends the request and resolves acknowledgements as they arrive.
async fn read_acks(req: reqwest::RequestBuilder, shared: Arc<Shared>) {
    let r = match req.send().await {
        Ok(r) => r,
        Err(e) => return shared.fail_all(&e.to_string()),
    };
    if !r.status().is_success() {
        let st = r.status();
        let t = r.text().await.unwrap_or_default();
        return shared.fail_all(&format!("{st}: {t}"));
    }
    let mut s = r.bytes_stream();
    let mut buf = BytesMut::new();
    while let Some(chunk) = s.next().await {
        match chunk {
            Ok(c) => {
                buf.extend_from_slice(&c);
                for (seq, res) in decode_acks(&mut buf) {
                    let ack = shared.pending.lock().expect("pending lock").remove(&seq);
                    if let Some(ack) = ack {
                        let _ = ack.send(res.map_err(Error::Refused));
                    }
                }
            }
            Err(e) => return shared.fail_all(&e.to_string()),
        }
    }
    shared.fail_all("the receiver ended the stream");
}

/// Closes the stream (drops it from the map, so its queue closes once the last sender is
/// done) when it has been idle for `idle`, or once it is dead.
async fn reap(inner: Weak<Inner>, shared: Arc<Shared>, idle: Duration, slots: usize) {
    let tick = (idle / 4).max(Duration::from_millis(10));
    loop {
        tokio::time::sleep(tick).await;
        let Some(inner) = inner.upgrade() else { return };
        let dead = shared.dead.load(Ordering::Acquire);
        let quiet = shared.slots.available_permits() == slots
            && shared.last.lock().expect("last lock").elapsed() >= idle;
        if dead || quiet {
            let mut m = inner.streams.lock().expect("streams lock");
            if m.get(&shared.url)
                .is_some_and(|s| Arc::ptr_eq(&s.shared, &shared))
            {
                m.remove(&shared.url);
                tracing::debug!(url = %shared.url, dead, "transport stream closed");
            }
            return;
        }
    }
}

fn payload_stream(body: SendBody, chunk: usize) -> BoxStream<'static, std::io::Result<Bytes>> {
    match body {
        SendBody::Bytes(b) => futures_util::stream::once(async move { Ok(b) }).boxed(),
        SendBody::Reader(r) => tokio_util::io::ReaderStream::with_capacity(r, chunk).boxed(),
    }
}

struct Producer {
    rx: mpsc::Receiver<Item>,
    shared: Arc<Shared>,
    chunk: usize,
    cur: Option<(BoxStream<'static, std::io::Result<Bytes>>, u64)>,
}

/// The request body: queued objects, frame after frame; ends when the queue closes.
fn producer(
    rx: mpsc::Receiver<Item>,
    shared: Arc<Shared>,
    chunk: usize,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let p = Producer {
        rx,
        shared,
        chunk,
        cur: None,
    };
    futures_util::stream::unfold(p, |mut p| async move {
        let next = p.next().await?;
        Some((next, p))
    })
}

impl Producer {
    async fn next(&mut self) -> Option<std::io::Result<Bytes>> {
        loop {
            if let Some((s, left)) = &mut self.cur {
                if *left == 0 {
                    self.cur = None;
                    continue;
                }
                return Some(match s.next().await {
                    Some(Ok(mut b)) => {
                        if b.len() as u64 > *left {
                            b.truncate(*left as usize);
                        }
                        *left -= b.len() as u64;
                        if b.is_empty() {
                            continue;
                        }
                        Ok(b)
                    }
                    Some(Err(e)) => Err(e),
                    None => Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "payload shorter than its declared size",
                    )),
                });
            }
            let item = self.rx.recv().await?;
            if self.shared.dead.load(Ordering::Acquire) {
                let _ = item.ack.send(Err(self.shared.broken("stream closed")));
                return None;
            }
            let hdr = match item.hdr.encode() {
                Ok(h) => h,
                Err(e) => {
                    let _ = item.ack.send(Err(e));
                    continue;
                }
            };
            self.shared
                .pending
                .lock()
                .expect("pending lock")
                .insert(item.hdr.seq, item.ack);
            self.cur = Some((payload_stream(item.body, self.chunk), item.hdr.size));
            return Some(Ok(hdr));
        }
    }
}
