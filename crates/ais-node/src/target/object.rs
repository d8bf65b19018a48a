//! Target: the object data path — GET (whole and ranged), HEAD, PUT (streamed to a work file,
//! committed atomically), DELETE and PATCH (custom metadata).

use super::Target;
use crate::err::join_err;
use crate::web::{self, Req, Resp};
use ais_core::wire::hdr;
use ais_core::{Bck, Cksum, CksumType, ErrKind, Error};
use ais_fs::{Lom, ObjWriter};
use bytes::Bytes;
use futures_util::TryStreamExt;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use tokio::io::AsyncReadExt;

/// PUT bodies are written to disk in batches of about this many bytes (one blocking call each).
const PUT_FLUSH_BYTES: usize = 1 << 20;
/// GET replies up to this size are read in one blocking call and sent from memory.
const GET_INLINE_BYTES: u64 = 1 << 20;
/// Read size of streamed GETs.
const GET_CHUNK_BYTES: usize = 1 << 20;
/// Total size of all custom-metadata keys and values.
const CUSTOM_MD_BYTES_MAX: usize = 2048;

/// A request body streamed (mostly) to a work file: the writer if anything was flushed, the
/// unflushed tail, and the client checksum when the writer has not taken it yet.
pub(super) struct Streamed {
    w: Option<ObjWriter>,
    pending: Vec<Bytes>,
    verify: Option<Cksum>,
    loc: ais_fs::Location,
    ty: CksumType,
}

impl Streamed {
    /// Blocking: the writer holding every byte of the body, ready to commit.
    pub(super) fn into_writer(self) -> Result<ObjWriter, ais_fs::Error> {
        let mut w = match self.w {
            Some(w) => w,
            None => ObjWriter::create_verified(&self.loc, self.ty, self.verify)?,
        };
        for b in &self.pending {
            w.write(b)?;
        }
        Ok(w)
    }
}

/// Bytes a PUT stored (a response extension, for metrics).
#[derive(Clone, Copy)]
pub(super) struct Stored(pub(super) u64);

pub(super) fn hv(s: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(s).map_err(|_| Error::internal(format!("invalid header value {s:?}")))
}

/// Parses `Range: bytes=A-B | A- | -N` against `size` into (start, len).
fn parse_range(h: &str, size: u64) -> Result<(u64, u64), ()> {
    let spec = h.trim().strip_prefix("bytes=").ok_or(())?;
    if spec.contains(',') {
        return Err(());
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 || size == 0 {
            return Err(());
        }
        let n = n.min(size);
        return Ok((size - n, n));
    }
    let start: u64 = a.parse().map_err(|_| ())?;
    if start >= size {
        return Err(());
    }
    let end = if b.is_empty() {
        size - 1
    } else {
        b.parse::<u64>().map_err(|_| ())?.min(size - 1)
    };
    if end < start {
        return Err(());
    }
    Ok((start, end - start + 1))
}

/// The sender's checksum (`Ais-Checksum-Type` and `-Value`), if any, to verify the data against.
pub(super) fn cksum_from_headers(req: &Req) -> Result<Option<Cksum>, Error> {
    match (req.header(hdr::CKSUM_TYPE), req.header(hdr::CKSUM_VALUE)) {
        (Some(t), Some(v)) if !t.is_empty() && t != "none" && !v.is_empty() => Ok(Some(Cksum {
            ty: CksumType::parse(t)?,
            value: v.to_ascii_lowercase(),
        })),
        (Some(t), None) if !t.is_empty() && t != "none" => Err(Error::bad_request(
            "Ais-Checksum-Type given without Ais-Checksum-Value",
        )),
        _ => Ok(None),
    }
}

/// Custom metadata from `Ais-Custom-Md: k=v` headers, checked for size and separators.
pub(super) fn parse_custom(headers: &HeaderMap) -> Result<BTreeMap<String, String>, Error> {
    let mut m = BTreeMap::new();
    let mut total = 0;
    for v in headers.get_all(hdr::CUSTOM_MD) {
        let s = v
            .to_str()
            .map_err(|_| Error::bad_request("invalid Ais-Custom-Md header"))?;
        let (k, val) = s.split_once('=').unwrap_or((s, ""));
        check_kv(k, val, &mut total)?;
        m.insert(k.to_string(), val.to_string());
    }
    Ok(m)
}

fn check_kv(k: &str, v: &str, total: &mut usize) -> Result<(), Error> {
    if k.is_empty() {
        return Err(Error::bad_request("custom metadata: empty key"));
    }
    if k.contains('\u{1}') || v.contains('\u{1}') || k.contains('\0') || v.contains('\0') {
        return Err(Error::bad_request(
            "custom metadata: keys and values must not contain control separators",
        ));
    }
    *total += k.len() + v.len();
    if *total > CUSTOM_MD_BYTES_MAX {
        return Err(Error::bad_request(format!(
            "custom metadata too large (max {CUSTOM_MD_BYTES_MAX} bytes)"
        )));
    }
    Ok(())
}

fn attr_headers(h: &mut HeaderMap, lom: &Lom) -> Result<(), Error> {
    if let Some(c) = &lom.cksum {
        h.insert(hdr::CKSUM_TYPE, HeaderValue::from_static(c.ty.as_str()));
        h.insert(hdr::CKSUM_VALUE, hv(&c.value)?);
    }
    h.insert(hdr::ATIME, hv(&lom.atime_ns.to_string())?);
    if !lom.version.is_empty() {
        h.insert(hdr::VERSION, hv(&lom.version)?);
    }
    custom_headers(h, lom)
}

fn custom_headers(h: &mut HeaderMap, lom: &Lom) -> Result<(), Error> {
    for (k, v) in &lom.custom {
        h.append(hdr::CUSTOM_MD, hv(&format!("{k}={v}"))?);
    }
    Ok(())
}

fn base36(mut n: u64) -> String {
    const D: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if n == 0 {
        return "0".into();
    }
    let mut v = Vec::new();
    while n > 0 {
        v.push(D[(n % 36) as usize]);
        n /= 36;
    }
    v.reverse();
    String::from_utf8(v).expect("ascii")
}

/// What the blocking part of a GET found: metadata, modification time (unix ns), the byte
/// range (or why it is invalid) and the bytes or an open file to stream them from.
type Opened = (Lom, i64, Result<(u64, u64), ()>, GetBody);

/// The object's ETag (unquoted): a stored `ETag` (S3 PUTs store the MD5), else the MD5
/// checksum, else `v1-<checksum>-<mtime base36>`; none without a checksum.
pub(super) fn etag_value(lom: &Lom, mtime_ns: i64) -> Option<String> {
    match (lom.custom.get("ETag"), &lom.cksum) {
        (Some(e), _) => Some(e.clone()),
        (None, Some(c)) if c.ty == CksumType::Md5 => Some(c.value.clone()),
        (None, Some(c)) => Some(format!("v1-{}-{}", c.value, base36(mtime_ns.max(0) as u64))),
        (None, None) => None,
    }
}

/// `ETag` (quoted) and `Last-Modified` headers.
fn etag_headers(h: &mut HeaderMap, lom: &Lom, mtime_ns: i64) -> Result<(), Error> {
    if let Some(e) = etag_value(lom, mtime_ns) {
        h.insert(http::header::ETAG, hv(&format!("\"{e}\""))?);
    }
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(mtime_ns.max(0) as u64);
    h.insert(
        http::header::LAST_MODIFIED,
        hv(&httpdate::fmt_http_date(t))?,
    );
    Ok(())
}

enum GetBody {
    Inline(Vec<u8>),
    Stream(std::fs::File),
}

/// Counts a read in flight on a mountpath for as long as it lives.
struct BusyGuard<'a>(&'a std::sync::atomic::AtomicU32);

impl<'a> BusyGuard<'a> {
    fn new(c: &'a std::sync::atomic::AtomicU32) -> Self {
        c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        BusyGuard(c)
    }
}

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// An inline read slower than this (a cold disk) sends reads to the blocking pool for a while.
const INLINE_READ_SLOW: std::time::Duration = std::time::Duration::from_millis(2);
/// How long reads stay on the blocking pool after a slow inline one.
const INLINE_READ_BACKOFF_NS: i64 = 10_000_000_000;

impl Target {
    /// Runs the blocking part of a read. While reads are fast (the page cache serves them) it
    /// runs inline on the runtime thread: a hop to the blocking pool costs two context switches
    /// per GET, most of a small GET's CPU. One slow read (over [`INLINE_READ_SLOW`]) moves reads
    /// to the blocking pool for [`INLINE_READ_BACKOFF_NS`], so a cold disk never stalls the
    /// runtime for long.
    async fn run_read<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let now = ais_core::time::now_nanos();
        if now
            >= self
                .pool_reads_until
                .load(std::sync::atomic::Ordering::Relaxed)
        {
            let t0 = std::time::Instant::now();
            let r = f();
            if t0.elapsed() > INLINE_READ_SLOW {
                self.pool_reads_until.store(
                    now + INLINE_READ_BACKOFF_NS,
                    std::sync::atomic::Ordering::Relaxed,
                );
            }
            return Ok(r);
        }
        tokio::task::spawn_blocking(f).await.map_err(join_err)
    }

    pub(super) fn fs_err(&self, e: ais_fs::Error) -> Error {
        crate::err::from_fs(e, &self.name)
    }

    /// GET: from local disk; a miss while objects may be moving asks the neighbors.
    pub(super) async fn get_obj(
        self: &Arc<Self>,
        req: &Req,
        bck: &Bck,
        obj: &str,
    ) -> Result<Resp, Error> {
        // (For a remote bucket `with_props` also checks that its backend is configured.)
        if !bck.is_ais() && self.with_props(bck, |p| p.versioning.validate_warm_get)? {
            self.cloud_validate(bck, obj).await?;
        }
        let r = self.get_obj_local(req, bck, obj).await;
        let r = self
            .or_lost_mountpath(r, bck, obj, || self.get_obj_local(req, bck, obj))
            .await;
        let r = self.or_neighbors(r, req, bck, obj).await;
        let r = match r {
            // Remote bucket, not cached here: cold GET (streamed while stored).
            Err(e) if e.kind() == ErrKind::NotFound && self.has_backend(bck) => {
                self.cold_get_stream(req, bck, obj).await
            }
            // A damaged cached copy of a remote object: the backend has the good one.
            Err(e) if e.msg.contains("corrupt") && self.has_backend(bck) => {
                self.cloud_refetch(req, bck, obj).await
            }
            r => r,
        };
        self.or_rebuilt(r, bck, obj, || self.get_obj_local(req, bck, obj))
            .await
    }

    /// A miss on a mountpath whose root is gone: the health checker disables it now and the
    /// read is retried on the remaining mountpaths (where mirror copies restore the object).
    async fn or_lost_mountpath<F, Fut>(
        self: &Arc<Self>,
        r: Result<Resp, Error>,
        bck: &Bck,
        obj: &str,
        again: F,
    ) -> Result<Resp, Error>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Resp, Error>>,
    {
        match r {
            Err(e) if e.kind() == ErrKind::NotFound => {
                let mp = self.mps().locate(bck, obj).mountpath;
                if !std::path::Path::new(&mp).is_dir() && self.fshc_now(&mp).await {
                    again().await
                } else {
                    Err(e)
                }
            }
            r => r,
        }
    }

    /// HEAD of a mirrored object that is lost or damaged: restores it from a copy (as GET
    /// does inside its read) and tries once more.
    async fn or_mirror_restored<F, Fut>(
        self: &Arc<Self>,
        r: Result<Resp, Error>,
        bck: &Bck,
        obj: &str,
        again: F,
    ) -> Result<Resp, Error>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Resp, Error>>,
    {
        let e = match r {
            Err(e) if e.kind() == ErrKind::NotFound || e.msg.contains("corrupt") => e,
            r => return r,
        };
        let n = self.with_props(bck, super::mirror::copies_of)?;
        if n <= 1 {
            return Err(e);
        }
        let d = ais_placement::digest(bck.uname(obj).as_bytes());
        let mps = self.mps();
        let main = mps.locate_digest(bck, obj, d);
        let sources = super::mirror::copy_candidates(&mps, bck, obj);
        let wanted = mps.copy_locations(bck, obj, d, n);
        let (locks, cname) = (self.locks.clone(), bck.cname_obj(obj));
        let restored = tokio::task::spawn_blocking(move || {
            let _g = Target::lock_for(&locks, d).lock().expect("object lock");
            super::mirror::restore(&main, &sources, &wanted, &cname)
        })
        .await
        .map_err(join_err)?;
        if restored { again().await } else { Err(e) }
    }

    /// A miss or damage that neither the neighbors nor mirror copies could help: rebuilds the
    /// object from its erasure-coded slices (EC buckets) and tries once more.
    pub(super) async fn or_rebuilt<F, Fut>(
        self: &Arc<Self>,
        r: Result<Resp, Error>,
        bck: &Bck,
        obj: &str,
        again: F,
    ) -> Result<Resp, Error>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Resp, Error>>,
    {
        match r {
            Err(e)
                if (e.kind() == ErrKind::NotFound || e.msg.contains("corrupt"))
                    && self.with_props(bck, super::ec::ec_of)?.is_some() =>
            {
                match self.ec_restore(bck, obj).await {
                    Ok(true) => again().await,
                    Ok(false) => Err(e),
                    Err(re) => {
                        tracing::warn!(obj = %bck.cname_obj(obj), err = %re, "EC rebuild failed");
                        Err(e)
                    }
                }
            }
            r => r,
        }
    }

    /// A local miss while objects may be moving (rebalance) is asked of the other targets; if
    /// none has it, the local copy is looked at once more (the sender deletes only after our
    /// commit, so it may have just landed here).
    async fn or_neighbors(
        self: &Arc<Self>,
        local: Result<Resp, Error>,
        req: &Req,
        bck: &Bck,
        obj: &str,
    ) -> Result<Resp, Error> {
        match local {
            Err(e) if e.kind() == ErrKind::NotFound && self.gfn_active() => {
                match self.gfn(req, bck, obj).await {
                    Some(r) => Ok(r),
                    None => {
                        let again = if req.method == http::Method::HEAD {
                            self.head_obj_local(req, bck, obj).await
                        } else {
                            self.get_obj_local(req, bck, obj).await
                        };
                        again.map_err(|_| e)
                    }
                }
            }
            r => r,
        }
    }

    pub(super) async fn get_obj_local(
        self: &Arc<Self>,
        req: &Req,
        bck: &Bck,
        obj: &str,
    ) -> Result<Resp, Error> {
        let (validate, n) = self.with_props(bck, |p| {
            (p.checksum.validate_warm_get, super::mirror::copies_of(p))
        })?;
        ais_core::name::validate_obj_name(obj, false)?;
        let d = ais_placement::digest(bck.uname(obj).as_bytes());
        let loc = self.mps().locate_digest(bck, obj, d);
        let alts = if self.resilver_active() {
            self.other_locations(bck, obj, &loc.mountpath)
        } else {
            Vec::new()
        };
        let cname = bck.cname_obj(obj);
        let range_hdr = req.header("range").map(str::to_string);
        let copies = self.copy_locations(bck, obj, d, n);
        let sources = if n > 1 {
            super::mirror::copy_candidates(&self.mps(), bck, obj)
        } else {
            Vec::new()
        };
        let locks = self.locks.clone();
        let mp = loc.mountpath.clone();
        // Mirrored: read from the least busy of the object's mountpaths (reads in flight);
        // unmirrored objects have one place to read from and nothing to count.
        let busy = self.mp_busy.clone();
        let slot = |l: &ais_fs::Location| {
            (ais_placement::digest(l.mountpath.as_bytes()) as usize) % busy.len()
        };
        let load = |l: &ais_fs::Location| busy[slot(l)].load(std::sync::atomic::Ordering::Relaxed);
        let preferred = copies
            .iter()
            .min_by_key(|c| load(c))
            .filter(|c| load(c) < load(&loc))
            .cloned();
        let read_slot = (!copies.is_empty()).then(|| slot(preferred.as_ref().unwrap_or(&loc)));
        let read = move || -> Result<Opened, ais_fs::Error> {
            let _busy = read_slot.map(|i| BusyGuard::new(&busy[i]));
            let main = loc.clone();
            let attempt = |loc: ais_fs::Location,
                           alts: Vec<ais_fs::Location>|
             -> Result<Opened, ais_fs::Error> {
                let (loc, lom) = super::mp::load_anywhere(loc, alts, &cname)?;
                let mut f = std::fs::File::open(&loc.fqn).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => ais_fs::Error::NotFound(cname.clone()),
                    _ => ais_fs::Error::Io(cname.clone(), e),
                })?;
                let md = f
                    .metadata()
                    .map_err(|e| ais_fs::Error::Io(cname.clone(), e))?;
                let len = md.len();
                let mtime = md
                    .modified()
                    .map(ais_core::time::unix_nanos)
                    .unwrap_or(lom.atime_ns);
                if len != lom.size {
                    return Err(ais_fs::Error::CorruptMeta(
                        cname.clone(),
                        "size differs from stored metadata",
                    ));
                }
                if validate {
                    verify_file(&mut f, &lom, &cname)?;
                }
                let range = match &range_hdr {
                    None => Ok((0, len)),
                    Some(h) => parse_range(h, len),
                };
                let Ok((start, n)) = range else {
                    return Ok((lom, mtime, range, GetBody::Inline(Vec::new())));
                };
                if start > 0 {
                    f.seek(SeekFrom::Start(start))
                        .map_err(|e| ais_fs::Error::Io(cname.clone(), e))?;
                }
                if n <= GET_INLINE_BYTES {
                    // Read straight into uninitialized capacity: no zero-fill of the buffer.
                    let mut buf = Vec::with_capacity(n as usize);
                    (&mut f)
                        .take(n)
                        .read_to_end(&mut buf)
                        .map_err(|e| ais_fs::Error::Io(cname.clone(), e))?;
                    if buf.len() as u64 != n {
                        return Err(ais_fs::Error::CorruptMeta(
                            cname.clone(),
                            "object shorter than its metadata",
                        ));
                    }
                    Ok((lom, mtime, range, GetBody::Inline(buf)))
                } else {
                    Ok((lom, mtime, range, GetBody::Stream(f)))
                }
            };
            // A copy is read only when it is the very version of the object (copies are
            // written after the commit; one may lag).
            if let Some(c) = preferred
                && let (Ok(a), Ok(b)) = (
                    ais_fs::load_lom(&loc.fqn, &cname),
                    ais_fs::load_lom(&c.fqn, &cname),
                )
                && a.size == b.size
                && a.cksum == b.cksum
                && a.version == b.version
                && let Ok((lom, _, range, body)) = attempt(c, Vec::new())
            {
                // The object's own modification time (ETag and Last-Modified stay the same
                // whichever copy is read).
                let mtime = std::fs::metadata(&loc.fqn)
                    .and_then(|m| m.modified())
                    .map(ais_core::time::unix_nanos)
                    .unwrap_or(lom.atime_ns);
                return Ok((lom, mtime, range, body));
            }
            match attempt(loc, alts.clone()) {
                // Lost or damaged: restore from a mirror copy (under the object lock), retry.
                Err(
                    e @ (ais_fs::Error::NotFound(_)
                    | ais_fs::Error::CorruptMeta(..)
                    | ais_fs::Error::Checksum(_)),
                ) if !sources.is_empty() => {
                    let restored = {
                        let _g = Target::lock_for(&locks, d).lock().expect("object lock");
                        super::mirror::restore(&main, &sources, &copies, &cname)
                    };
                    if restored {
                        attempt(main, alts)
                    } else {
                        Err(e)
                    }
                }
                r => r,
            }
        };
        let r = self.run_read(read).await?;
        if let Err(ais_fs::Error::Io(..)) = &r {
            // An I/O error may be a failing mountpath (a vanished one is handled on the miss).
            self.fshc_check(&mp);
        }
        let (lom, mtime, range, body) = r.map_err(|e| self.fs_err(e))?;
        let Ok((start, n)) = range else {
            let e = Error::new(
                ErrKind::RangeNotSatisfiable,
                format!(
                    "{}: invalid or unsatisfiable range for size {}",
                    bck.cname_obj(obj),
                    lom.size
                ),
            );
            let mut r =
                web::error_resp(&e, &req.method, &req.raw_path, &self.name, Some(req.remote));
            r.headers_mut().insert(
                http::header::CONTENT_RANGE,
                hv(&format!("bytes */{}", lom.size))?,
            );
            return Ok(r);
        };
        let mut r = match body {
            GetBody::Inline(b) => http::Response::new(web::full(b)),
            GetBody::Stream(f) => {
                let f = tokio::fs::File::from_std(f).take(n);
                let s = tokio_util::io::ReaderStream::with_capacity(f, GET_CHUNK_BYTES)
                    .map_ok(hyper::body::Frame::data);
                http::Response::new(http_body_util::StreamBody::new(s).boxed())
            }
        };
        let h = r.headers_mut();
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        h.insert(http::header::CONTENT_LENGTH, hv(&n.to_string())?);
        h.insert(
            http::header::ACCEPT_RANGES,
            HeaderValue::from_static("bytes"),
        );
        attr_headers(h, &lom)?;
        etag_headers(h, &lom, mtime)?;
        if range_is_partial(req) {
            h.insert(
                http::header::CONTENT_RANGE,
                hv(&format!("bytes {}-{}/{}", start, start + n - 1, lom.size))?,
            );
            *r.status_mut() = StatusCode::PARTIAL_CONTENT;
        }
        Ok(r)
    }

    /// HEAD: like GET, a miss while objects may be moving asks the neighbors.
    pub(super) async fn head_obj(
        self: &Arc<Self>,
        req: &Req,
        bck: &Bck,
        obj: &str,
    ) -> Result<Resp, Error> {
        let r = self.head_obj_local(req, bck, obj).await;
        let r = self
            .or_mirror_restored(r, bck, obj, || self.head_obj_local(req, bck, obj))
            .await;
        let r = self
            .or_lost_mountpath(r, bck, obj, || self.head_obj_local(req, bck, obj))
            .await;
        let r = self.or_neighbors(r, req, bck, obj).await;
        let r = match r {
            Err(e) if e.kind() == ErrKind::NotFound && self.has_backend(bck) => {
                self.cloud_head(bck, obj).await
            }
            r => r,
        };
        self.or_rebuilt(r, bck, obj, || self.head_obj_local(req, bck, obj))
            .await
    }

    pub(super) async fn head_obj_local(
        self: &Arc<Self>,
        req: &Req,
        bck: &Bck,
        obj: &str,
    ) -> Result<Resp, Error> {
        self.with_props(bck, |_| ())?;
        ais_core::name::validate_obj_name(obj, true)?;
        let props = req.q(ais_core::wire::qparam::PROPS);
        let v1 = props.is_empty();
        let mut want = BTreeMap::new();
        for p in props.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match p {
                "name" | "size" | "checksum" | "atime" | "version" | "custom" | "location"
                | "copies" | "ec" | "chunked" | "last-modified" | "etag" => {
                    want.insert(p, ());
                }
                _ => {
                    return Err(Error::bad_request(format!(
                        "invalid object property \"{p}\" in HEAD request"
                    )));
                }
            }
        }
        let has = |p: &str| v1 || want.contains_key(p);
        let loc = self.mps().locate(bck, obj);
        let alts = if self.resilver_active() {
            self.other_locations(bck, obj, &loc.mountpath)
        } else {
            Vec::new()
        };
        let cname = bck.cname_obj(obj);
        let (loc, lom, mtime) = tokio::task::spawn_blocking(
            move || -> Result<(ais_fs::Location, Lom, i64), ais_fs::Error> {
                let (loc, lom) = super::mp::load_anywhere(loc, alts, &cname)?;
                let mt = std::fs::metadata(&loc.fqn)
                    .and_then(|m| m.modified())
                    .map(ais_core::time::unix_nanos)
                    .unwrap_or(lom.atime_ns);
                Ok((loc, lom, mt))
            },
        )
        .await
        .map_err(join_err)?
        .map_err(|e| self.fs_err(e))?;
        let mut r = web::ok();
        let h = r.headers_mut();
        h.insert(http::header::CONTENT_LENGTH, hv(&lom.size.to_string())?);
        h.insert(hdr::PRESENT, HeaderValue::from_static("true"));
        if matches!(req.q(ais_core::wire::qparam::PRESENCE), "1" | "3") {
            return Ok(r);
        }
        if v1 {
            h.insert("ais-name", hv(obj)?);
            h.insert("ais-bucket-name", hv(&bck.name)?);
            h.insert(
                "ais-bucket-provider",
                HeaderValue::from_static(bck.provider.as_str()),
            );
        }
        if has("checksum")
            && let Some(c) = &lom.cksum
        {
            h.insert(hdr::CKSUM_TYPE, HeaderValue::from_static(c.ty.as_str()));
            h.insert(hdr::CKSUM_VALUE, hv(&c.value)?);
        }
        if has("atime") {
            h.insert(hdr::ATIME, hv(&lom.atime_ns.to_string())?);
        }
        if has("version") && !lom.version.is_empty() {
            h.insert(hdr::VERSION, hv(&lom.version)?);
        }
        if has("custom") {
            custom_headers(h, &lom)?;
        }
        if has("location") {
            h.insert(
                hdr::LOCATION,
                hv(&format!("{}:{}", self.name, loc.mountpath))?,
            );
        }
        if has("copies") {
            let n = self.with_props(bck, super::mirror::copies_of)?;
            let d = ais_placement::digest(bck.uname(obj).as_bytes());
            let present = 1 + self
                .copy_locations(bck, obj, d, n)
                .iter()
                .filter(|c| c.fqn.exists())
                .count();
            h.insert(hdr::MIRROR_COPIES, hv(&present.to_string())?);
        }
        if want.contains_key("last-modified") || want.contains_key("etag") {
            etag_headers(h, &lom, mtime)?;
        }
        Ok(r)
    }

    fn check_redirected(&self, req: &Req) -> Result<(), Error> {
        if req.is_redirected() || req.header(hdr::CALLER_ID).is_some() {
            return Ok(());
        }
        Err(Error::bad_request(format!(
            "{}: {} {} is expected to be redirected by a proxy",
            self.name, req.method, req.raw_path
        )))
    }

    pub(super) async fn put_obj(
        self: &Arc<Self>,
        req: &mut Req,
        bck: Bck,
        obj: String,
    ) -> Result<Resp, Error> {
        self.check_redirected(req)?;
        let (ty, versioning, n, ec) = self.with_props(&bck, |p| {
            (
                p.checksum.ty,
                p.versioning.enabled,
                super::mirror::copies_of(p),
                super::ec::ec_of(p).is_some(),
            )
        })?;
        ais_core::name::validate_obj_name(&obj, false)?;
        for q in ["object_to", "append_type", "uploadId", "archpath"] {
            if !req.q(q).is_empty() {
                return Err(Error::new(
                    ErrKind::NotImplemented,
                    format!("PUT with \"{q}\" is not supported yet"),
                ));
            }
        }
        let verify = cksum_from_headers(req)?;
        let expect_size = match req.header("content-length") {
            Some(v) => Some(
                v.parse::<u64>()
                    .map_err(|_| Error::bad_request("invalid Content-Length"))?,
            ),
            None => None,
        };
        let custom = parse_custom(&req.headers)?;
        let atime = match req.header(hdr::ATIME) {
            Some(v) if !v.is_empty() => v
                .parse::<i64>()
                .map_err(|_| Error::bad_request("invalid Ais-Atime"))?,
            _ => ais_core::time::now_nanos(),
        };
        let digest = ais_placement::digest(bck.uname(&obj).as_bytes());
        let loc = self.mps().locate_digest(&bck, &obj, digest);
        let mp = loc.mountpath.clone();
        let body = req
            .body
            .take()
            .ok_or_else(|| Error::internal("request body already consumed"))?;
        let streamed = self
            .stream_body(body, &loc, ty, verify, &bck.cname_obj(&obj))
            .await?;
        let locks = self.locks.clone();
        let cname = bck.cname_obj(&obj);
        let copies = self.copy_locations(&bck, &obj, digest, n);
        let lom = tokio::task::spawn_blocking(move || -> Result<Lom, ais_fs::Error> {
            let w = streamed.into_writer()?;
            let _g = Target::lock_for(&locks, digest)
                .lock()
                .expect("object lock");
            let version = if versioning {
                match ais_fs::load_lom(&loc.fqn, &cname) {
                    Ok(old) => (old.version.parse::<u64>().unwrap_or(0) + 1).to_string(),
                    Err(_) => "1".to_string(),
                }
            } else {
                String::new()
            };
            let lom = w.commit(
                Lom {
                    atime_ns: atime,
                    version,
                    custom,
                    ..Default::default()
                },
                expect_size,
            )?;
            super::mirror::write_copies(&loc, &copies, &cname)?;
            Ok(lom)
        })
        .await
        .map_err(join_err)?
        .map_err(|e| {
            if matches!(e, ais_fs::Error::Io(..) | ais_fs::Error::Mountpath(..)) {
                self.fshc_check(&mp);
            }
            self.fs_err(e)
        })?;
        if self.has_backend(&bck) {
            self.cloud_put(&bck, &obj).await?;
        }
        if ec {
            self.ec_encode_later(bck, obj);
        }
        let mut r = web::ok();
        attr_headers(r.headers_mut(), &lom)?;
        r.extensions_mut().insert(Stored(lom.size));
        Ok(r)
    }

    /// Streams a request body to a work file in ~1 MiB blocking writes; finish with
    /// [`Streamed::into_writer`] on the blocking pool.
    pub(super) async fn stream_body<B>(
        &self,
        mut body: B,
        loc: &ais_fs::Location,
        ty: CksumType,
        mut verify: Option<Cksum>,
        cname: &str,
    ) -> Result<Streamed, Error>
    where
        B: http_body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let mut w: Option<ObjWriter> = None;
        let mut pending: Vec<Bytes> = Vec::new();
        let mut pending_len = 0usize;
        loop {
            match body.frame().await {
                None => break,
                Some(Err(e)) => {
                    return Err(Error::bad_request(format!(
                        "{cname}: reading request body: {e}"
                    )));
                }
                Some(Ok(f)) => {
                    if let Ok(d) = f.into_data() {
                        pending_len += d.len();
                        pending.push(d);
                    }
                }
            }
            if pending_len >= PUT_FLUSH_BYTES {
                let bufs = std::mem::take(&mut pending);
                pending_len = 0;
                let (loc2, v2, w2) = (loc.clone(), verify.take(), w.take());
                let nw =
                    tokio::task::spawn_blocking(move || -> Result<ObjWriter, ais_fs::Error> {
                        let mut w = match w2 {
                            Some(w) => w,
                            None => ObjWriter::create_verified(&loc2, ty, v2)?,
                        };
                        for b in &bufs {
                            w.write(b)?;
                        }
                        Ok(w)
                    })
                    .await
                    .map_err(join_err)?
                    .map_err(|e| self.fs_err(e))?;
                w = Some(nw);
            }
        }
        Ok(Streamed {
            w,
            pending,
            verify,
            loc: loc.clone(),
            ty,
        })
    }

    pub(super) async fn delete_obj(
        self: &Arc<Self>,
        req: &Req,
        bck: Bck,
        obj: String,
    ) -> Result<Resp, Error> {
        self.check_redirected(req)?;
        self.with_props(&bck, |_| ())?;
        ais_core::name::validate_obj_name(&obj, false)?;
        let remote = self.has_backend(&bck);
        if remote {
            self.cloud_delete(&bck, &obj).await?;
        }
        let digest = ais_placement::digest(bck.uname(&obj).as_bytes());
        let loc = self.mps().locate_digest(&bck, &obj, digest);
        let cname = bck.cname_obj(&obj);
        let locks = self.locks.clone();
        // Every `%cp` of the name goes, wherever the copy set was (no orphan can restore it).
        let copies = super::mirror::copy_candidates(&self.mps(), &bck, &obj);
        // While objects may be off their HRW mountpath, so may this one: it goes wherever it is
        // (a resilver would otherwise bring it back).
        let others = if self.resilver_active() {
            self.other_locations(&bck, &obj, &loc.mountpath)
        } else {
            Vec::new()
        };
        tokio::task::spawn_blocking(move || {
            let _g = Target::lock_for(&locks, digest)
                .lock()
                .expect("object lock");
            let mut r = ais_fs::delete_object(&loc, &cname);
            for o in &others {
                if ais_fs::delete_object(o, &cname).is_ok() && r.is_err() {
                    r = Ok(());
                }
            }
            super::mirror::remove_copies(&copies, &cname);
            r
        })
        .await
        .map_err(join_err)?
        .or_else(|e| match e {
            ais_fs::Error::NotFound(_) if remote => Ok(()), // not cached: deleted remotely
            e => Err(e),
        })
        .map_err(|e| self.fs_err(e))?;
        if self.with_props(&bck, super::ec::ec_of)?.is_some() {
            // Before acknowledging: a GET right after must not rebuild it from its slices.
            self.ec_delete_all(&bck, &obj).await;
        }
        Ok(web::ok())
    }

    pub(super) async fn patch_obj(
        self: &Arc<Self>,
        req: &mut Req,
        bck: Bck,
        obj: String,
    ) -> Result<Resp, Error> {
        self.check_redirected(req)?;
        self.with_props(&bck, |_| ())?;
        ais_core::name::validate_obj_name(&obj, false)?;
        let msg = ais_core::wire::ActMsg::parse(&req.read_body().await?)?;
        let kv: BTreeMap<String, String> = serde_json::from_value(msg.value)
            .map_err(|e| Error::bad_request(format!("invalid custom metadata: {e}")))?;
        let replace = req.q_bool("set-new-custom");
        let digest = ais_placement::digest(bck.uname(&obj).as_bytes());
        let loc = self.mps().locate_digest(&bck, &obj, digest);
        let cname = bck.cname_obj(&obj);
        let locks = self.locks.clone();
        tokio::task::spawn_blocking(move || -> Result<Result<(), Error>, ais_fs::Error> {
            let _g = Target::lock_for(&locks, digest)
                .lock()
                .expect("object lock");
            let mut lom = ais_fs::load_lom(&loc.fqn, &cname)?;
            if replace {
                lom.custom.clear();
            }
            lom.custom.extend(kv);
            let mut total = 0;
            for (k, v) in &lom.custom {
                if let Err(e) = check_kv(k, v, &mut total) {
                    return Ok(Err(e));
                }
            }
            ais_fs::store_lom(&loc.fqn, &cname, &lom)?;
            Ok(Ok(()))
        })
        .await
        .map_err(join_err)?
        .map_err(|e| self.fs_err(e))??;
        Ok(web::ok())
    }
}

/// Re-reads the whole object and checks it against its stored checksum (bucket property
/// `checksum.validate_warm_get`); rewinds the file. A mismatch is never served.
fn verify_file(f: &mut std::fs::File, lom: &Lom, cname: &str) -> Result<(), ais_fs::Error> {
    let Some(want) = &lom.cksum else {
        return Ok(());
    };
    let mut h = ais_core::CksumHasher::new(want.ty).expect("a stored checksum has a type");
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| ais_fs::Error::Io(cname.to_string(), e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    f.seek(SeekFrom::Start(0))
        .map_err(|e| ais_fs::Error::Io(cname.to_string(), e))?;
    h.finish().verify(want, cname).map_err(|e| {
        tracing::error!(obj = %cname, err = %e, "stored object is corrupted");
        ais_fs::Error::Checksum(ais_core::Error::new(
            ErrKind::Internal,
            format!("{e} (stored object is corrupted)"),
        ))
    })
}

fn range_is_partial(req: &Req) -> bool {
    req.method == Method::GET && req.header("range").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=10-99", 1000), Ok((10, 90)));
        assert_eq!(parse_range("bytes=-5", 1000), Ok((995, 5)));
        assert_eq!(parse_range("bytes=100-", 1000), Ok((100, 900)));
        assert_eq!(parse_range("bytes=990-2000", 1000), Ok((990, 10)));
        assert_eq!(parse_range("bytes=-5000", 1000), Ok((0, 1000)));
        for bad in [
            "bytes=1000-",
            "bytes=5-1",
            "bytes=0-1,3-4",
            "items=0-1",
            "bytes=x-1",
            "bytes=-0",
        ] {
            assert!(parse_range(bad, 1000).is_err(), "{bad}");
        }
        assert!(parse_range("bytes=0-0", 0).is_err());
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
    }
}
