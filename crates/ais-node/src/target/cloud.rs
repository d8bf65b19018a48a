//! Remote (`aws://`, `gcp://`, `azure://`) buckets on a target: cold GET (fetch from the
//! backend, store, then serve; one fetch per object however many GETs race for it), HEAD of
//! objects not cached yet, write-through PUT and DELETE.

use super::Target;
use crate::err::join_err;
use crate::web::{self, Resp};
use ais_core::wire::hdr;
use ais_core::{Bck, ErrKind, Error};
use ais_fs::{Lom, ObjWriter};
use futures_util::StreamExt;
use http::HeaderValue;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Writes are batched to about this many bytes per blocking call.
const FLUSH_BYTES: usize = 1 << 20;

use crate::err::backend_err;

impl Target {
    /// GET of a remote object not cached here: one pass — the bytes stream from the backend
    /// to the client while they are written (checksummed) to a work file, committed at the
    /// end (a failed or short transfer commits nothing). A client that goes away does not stop
    /// the caching. Ranged reads fetch the object whole first, then serve the range.
    pub(super) async fn cold_get_stream(
        self: &Arc<Self>,
        req: &crate::web::Req,
        bck: &Bck,
        obj: &str,
    ) -> Result<Resp, Error> {
        if req.header("range").is_some() {
            self.cold_get(bck, obj).await?;
            return self.get_obj_local(req, bck, obj).await;
        }
        let be = self.backend(bck)?;
        let digest = ais_placement::digest(bck.uname(obj).as_bytes());
        let flight = self.cold[(digest as usize) % self.cold.len()]
            .clone()
            .lock_owned()
            .await;
        let loc = self.mps().locate_digest(bck, obj, digest);
        let (l2, c2) = (loc.clone(), bck.cname_obj(obj));
        if tokio::task::spawn_blocking(move || ais_fs::load_lom(&l2.fqn, &c2).is_ok())
            .await
            .map_err(join_err)?
        {
            drop(flight);
            return self.get_obj_local(req, bck, obj).await; // cached meanwhile
        }
        let ty = self.with_props(bck, |p| p.checksum.ty)?;
        let (remote, resp) = be.get(&bck.name, obj).await.map_err(backend_err)?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(8);
        let (me, cname, r2) = (self.clone(), bck.cname_obj(obj), remote.clone());
        tokio::spawn(async move {
            let _flight = flight; // held until the cached copy is committed
            me.fetch_store(resp, r2, loc, ty, digest, &cname, Some(tx))
                .await;
        });
        let body = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|item| (item.map(hyper::body::Frame::data), rx))
        });
        let mut r = http::Response::new(http_body_util::BodyExt::boxed(
            http_body_util::StreamBody::new(body),
        ));
        let h = r.headers_mut();
        let hv = |s: &str| HeaderValue::from_str(s).map_err(|e| Error::internal(e.to_string()));
        h.insert(http::header::CONTENT_LENGTH, hv(&remote.size.to_string())?);
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        if !remote.etag.is_empty() {
            h.insert(http::header::ETAG, hv(&format!("\"{}\"", remote.etag))?);
        }
        if !remote.version.is_empty() {
            h.insert(hdr::VERSION, hv(&remote.version)?);
        }
        Ok(r)
    }

    /// `versioning.validate_warm_get` on a remote bucket: a cached copy whose backend ETag or
    /// version changed (or that the backend no longer has) is dropped, so the GET fetches the
    /// current one (or answers 404).
    pub(super) async fn cloud_validate(&self, bck: &Bck, obj: &str) -> Result<(), Error> {
        let digest = ais_placement::digest(bck.uname(obj).as_bytes());
        let loc = self.mps().locate_digest(bck, obj, digest);
        let (l2, c2) = (loc.clone(), bck.cname_obj(obj));
        let Some(lom) = tokio::task::spawn_blocking(move || ais_fs::load_lom(&l2.fqn, &c2).ok())
            .await
            .map_err(join_err)?
        else {
            return Ok(());
        };
        let stale = match self.backend(bck)?.head(&bck.name, obj).await {
            Ok(o) => {
                lom.custom.get("ETag").is_some_and(|e| *e != o.etag)
                    || (!o.version.is_empty() && o.version != lom.version)
            }
            Err(ais_backend::Error::NotFound(_)) => true,
            Err(e) => return Err(backend_err(e)),
        };
        if stale {
            self.drop_cached(bck, obj).await?;
            tracing::info!(obj = %bck.cname_obj(obj), "remote object changed: cached copy dropped");
        }
        Ok(())
    }

    /// Removes the cached copy of a remote object (none: nothing to do).
    async fn drop_cached(&self, bck: &Bck, obj: &str) -> Result<(), Error> {
        let digest = ais_placement::digest(bck.uname(obj).as_bytes());
        let loc = self.mps().locate_digest(bck, obj, digest);
        let (locks, cname) = (self.locks.clone(), bck.cname_obj(obj));
        tokio::task::spawn_blocking(move || {
            let _g = Target::lock_for(&locks, digest)
                .lock()
                .expect("object lock");
            ais_fs::delete_object(&loc, &cname)
        })
        .await
        .map_err(join_err)?
        .or_else(|e| match e {
            ais_fs::Error::NotFound(_) => Ok(()),
            e => Err(e),
        })
        .map_err(|e| self.fs_err(e))
    }

    /// A cached copy of a remote object that failed its checksum: dropped, and the object
    /// fetched again from the backend (cold GET).
    pub(super) async fn cloud_refetch(
        self: &Arc<Self>,
        req: &crate::web::Req,
        bck: &Bck,
        obj: &str,
    ) -> Result<Resp, Error> {
        self.drop_cached(bck, obj).await?;
        tracing::warn!(obj = %bck.cname_obj(obj), "cached copy corrupted: fetching it again");
        self.cold_get_stream(req, bck, obj).await
    }

    /// Whether `bck` is a remote bucket this target can reach.
    pub(super) fn has_backend(&self, bck: &Bck) -> bool {
        crate::common::serves(
            &self.ctl,
            &self.backends,
            bck,
            self.bmd().get(bck).map(|p| &p.extra),
        )
    }

    /// The backend of `bck`: its provider's, or an S3 endpoint of its own
    /// (`extra.aws.endpoint` in its props).
    fn backend(&self, bck: &Bck) -> Result<ais_backend::Backend, Error> {
        let bmd = self.bmd();
        crate::common::bucket_backend(
            &self.ctl,
            &self.backends,
            bck,
            bmd.get(bck).map(|p| &p.extra),
        )?
        .ok_or_else(|| crate::common::no_backend(bck))
    }

    /// Cold GET: fetches the object from the backend and stores it (checksummed like a PUT,
    /// with the backend's ETag and version). Concurrent callers for one object wait for the
    /// first; the others find it stored.
    pub(super) async fn cold_get(self: &Arc<Self>, bck: &Bck, obj: &str) -> Result<(), Error> {
        let be = self.backend(bck)?;
        let digest = ais_placement::digest(bck.uname(obj).as_bytes());
        let _g = self.cold[(digest as usize) % self.cold.len()].lock().await;
        let loc = self.mps().locate_digest(bck, obj, digest);
        let (l2, c2) = (loc.clone(), bck.cname_obj(obj));
        if tokio::task::spawn_blocking(move || ais_fs::load_lom(&l2.fqn, &c2).is_ok())
            .await
            .map_err(join_err)?
        {
            return Ok(()); // another cold GET stored it meanwhile
        }
        let ty = self.with_props(bck, |p| p.checksum.ty)?;
        let (remote, resp) = be.get(&bck.name, obj).await.map_err(backend_err)?;
        let cname = bck.cname_obj(obj);
        if self
            .fetch_store(resp, remote, loc, ty, digest, &cname, None)
            .await
        {
            Ok(())
        } else {
            Err(Error::new(
                ErrKind::Unavailable,
                format!("{cname}: fetching from the backend failed"),
            ))
        }
    }

    /// Reads a backend GET to its end, writing it (in ~1 MiB blocking batches) to a work file
    /// for `loc` and forwarding every piece to `tx` (a client, if any; a closed one is let go);
    /// commits with the backend's ETag, modification time and version. `true` if committed.
    #[allow(clippy::too_many_arguments)]
    async fn fetch_store(
        &self,
        resp: reqwest::Response,
        remote: ais_backend::RemoteObject,
        loc: ais_fs::Location,
        ty: ais_core::CksumType,
        digest: u64,
        cname: &str,
        tx: Option<tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>>,
    ) -> bool {
        let mut tx = tx;
        let mut w: Option<ObjWriter> = None;
        let mut pending: Vec<bytes::Bytes> = Vec::new();
        let mut pending_len = 0usize;
        let mut stream = resp.bytes_stream();
        loop {
            let next = stream.next().await;
            let done = next.is_none();
            match next {
                Some(Ok(b)) => {
                    if let Some(t) = &tx
                        && t.send(Ok(b.clone())).await.is_err()
                    {
                        tx = None; // the client left; keep caching
                    }
                    pending_len += b.len();
                    pending.push(b);
                }
                Some(Err(e)) => {
                    tracing::warn!(obj = %cname, err = %e, "cold GET: backend stream failed");
                    if let Some(t) = &tx {
                        let _ = t.send(Err(std::io::Error::other(e.to_string()))).await;
                    }
                    return false; // the work file goes with the writer
                }
                None => {}
            }
            if pending_len >= FLUSH_BYTES || done {
                let bufs = std::mem::take(&mut pending);
                pending_len = 0;
                let (l2, w2) = (loc.clone(), w.take());
                let r = tokio::task::spawn_blocking(move || -> Result<ObjWriter, ais_fs::Error> {
                    let mut w = match w2 {
                        Some(w) => w,
                        None => ObjWriter::create(&l2, ty)?,
                    };
                    for b in &bufs {
                        w.write(b)?;
                    }
                    Ok(w)
                })
                .await;
                match r {
                    Ok(Ok(nw)) => w = Some(nw),
                    _ => {
                        tracing::warn!(obj = %cname, "cold GET: writing the cached copy failed");
                        // Still serve the client: the rest goes to it without caching.
                        while let (Some(t), Some(Ok(b))) = (&tx, stream.next().await) {
                            if t.send(Ok(b)).await.is_err() {
                                break;
                            }
                        }
                        return false;
                    }
                }
            }
            if done {
                break;
            }
        }
        let Some(w) = w else { return false };
        let mut custom = BTreeMap::new();
        if !remote.etag.is_empty() {
            custom.insert("ETag".to_string(), remote.etag.clone());
        }
        if !remote.last_modified.is_empty() {
            custom.insert("LastModified".to_string(), remote.last_modified.clone());
        }
        let locks = self.locks.clone();
        let size = remote.size;
        let version = remote.version.clone();
        let res = tokio::task::spawn_blocking(move || {
            let _g = Target::lock_for(&locks, digest)
                .lock()
                .expect("object lock");
            w.commit(
                Lom {
                    atime_ns: ais_core::time::now_nanos(),
                    version,
                    custom,
                    ..Default::default()
                },
                (size > 0).then_some(size),
            )
        })
        .await;
        if matches!(res, Ok(Ok(_))) {
            self.ctl.stats.get_cold_n.inc();
            self.ctl.stats.get_cold_size.inc_by(size);
            tracing::debug!(obj = %cname, size, "cold GET");
            true
        } else {
            tracing::warn!(obj = %cname, "cold GET: committing the cached copy failed");
            false
        }
    }

    /// HEAD of a remote object that is not cached: its attributes from the backend.
    pub(super) async fn cloud_head(&self, bck: &Bck, obj: &str) -> Result<Resp, Error> {
        let o = self
            .backend(bck)?
            .head(&bck.name, obj)
            .await
            .map_err(backend_err)?;
        let mut r = web::ok();
        let h = r.headers_mut();
        let hv = |s: &str| HeaderValue::from_str(s).map_err(|e| Error::internal(e.to_string()));
        h.insert(http::header::CONTENT_LENGTH, hv(&o.size.to_string())?);
        h.insert(hdr::PRESENT, HeaderValue::from_static("false"));
        if !o.etag.is_empty() {
            h.insert(http::header::ETAG, hv(&format!("\"{}\"", o.etag))?);
        }
        if !o.version.is_empty() {
            h.insert(hdr::VERSION, hv(&o.version)?);
        }
        Ok(r)
    }

    /// Write-through: uploads the object just stored locally to the backend and records the
    /// backend's ETag and version; if the upload fails, the local copy is removed and the PUT
    /// fails.
    pub(super) async fn cloud_put(&self, bck: &Bck, obj: &str) -> Result<(), Error> {
        let be = self.backend(bck)?;
        let digest = ais_placement::digest(bck.uname(obj).as_bytes());
        let loc = self.mps().locate_digest(bck, obj, digest);
        let cname = bck.cname_obj(obj);
        let file = tokio::fs::File::open(&loc.fqn)
            .await
            .map_err(|e| Error::internal(format!("{cname}: {e}")))?;
        let len = file
            .metadata()
            .await
            .map_err(|e| Error::internal(format!("{cname}: {e}")))?
            .len();
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
            file,
            FLUSH_BYTES,
        ));
        let locks = self.locks.clone();
        match be.put(&bck.name, obj, body, len).await {
            Ok(remote) => tokio::task::spawn_blocking(move || -> Result<(), ais_fs::Error> {
                let _g = Target::lock_for(&locks, digest)
                    .lock()
                    .expect("object lock");
                let mut lom = ais_fs::load_lom(&loc.fqn, &cname)?;
                if !remote.etag.is_empty() {
                    lom.custom.insert("ETag".into(), remote.etag);
                }
                if !remote.version.is_empty() {
                    lom.version = remote.version;
                }
                ais_fs::store_lom(&loc.fqn, &cname, &lom)
            })
            .await
            .map_err(join_err)?
            .map_err(|e| self.fs_err(e)),
            Err(e) => {
                let _ = tokio::task::spawn_blocking(move || {
                    let _g = Target::lock_for(&locks, digest)
                        .lock()
                        .expect("object lock");
                    ais_fs::delete_object(&loc, &cname)
                })
                .await;
                Err(backend_err(e))
            }
        }
    }

    /// Write-through DELETE: the backend first, then the cached copy (if any).
    pub(super) async fn cloud_delete(&self, bck: &Bck, obj: &str) -> Result<(), Error> {
        self.backend(bck)?
            .delete(&bck.name, obj)
            .await
            .map_err(backend_err)
    }
}

/// A prefetch or evict job on one target (`prefetch-listrange`, `evict-listrange`,
/// `evict-remote-bck`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct SelJobReq {
    pub(crate) id: String,
    pub(crate) bck: Bck,
    /// Names or a template; a template without braces is a prefix; both empty: everything.
    #[serde(default)]
    pub(crate) sel: ais_core::wire::ListRange,
}

impl Target {
    /// The names of `sel` this target owns: explicit, expanded from a brace template, or —
    /// for a prefix — listed from the backend (`remote`) or from local disks.
    async fn owned_names(&self, req: &SelJobReq, remote: bool) -> Result<Vec<String>, Error> {
        let sel = &req.sel;
        let names: Vec<String> = if !sel.objnames.is_empty() {
            sel.objnames.clone()
        } else if sel.template.contains('{') {
            ais_core::template::Template::parse(&sel.template)?.expand()
        } else if remote {
            let be = self.backend(&req.bck)?;
            let mut out = Vec::new();
            let mut token = String::new();
            for _ in 0..100_000 {
                let page = be
                    .list(&req.bck.name, &sel.template, &token, 1000)
                    .await
                    .map_err(backend_err)?;
                out.extend(page.objects.into_iter().map(|o| o.name));
                if page.next.is_empty() {
                    break;
                }
                token = page.next;
            }
            out
        } else {
            let mut out = Vec::new();
            for (_, dir) in self.mps().obj_dirs(&req.bck) {
                let p = sel.template.clone();
                let page = tokio::task::spawn_blocking(move || {
                    ais_fs::walk_bucket(&dir, &p, "", usize::MAX)
                })
                .await
                .map_err(join_err)?
                .map_err(|e| Error::internal(format!("walk: {e}")))?;
                out.extend(page.into_iter().map(|e| e.name));
            }
            out
        };
        let smap = self.smap();
        let me = &self.ctl.me.daemon_id;
        Ok(names
            .into_iter()
            .filter(|n| ais_core::name::validate_obj_name(n, false).is_ok())
            .filter(|n| {
                smap.hrw_target(&req.bck.uname(n))
                    .is_ok_and(|t| &t.daemon_id == me)
            })
            .collect())
    }

    /// Runs a prefetch (cold GET of what is not cached) or evict (drop cached copies) job in
    /// the background; progress in the job's snap.
    pub(crate) fn start_sel_job(self: &Arc<Self>, kind: &str, req: SelJobReq) {
        if !self.job_begin(&req.id, kind, Some(&req.bck)) {
            return;
        }
        let (me, prefetch) = (self.clone(), kind == "prefetch-listrange");
        tokio::spawn(async move {
            let r = me.sel_pass(&req, prefetch).await;
            me.job_end(&req.id, r);
        });
    }

    async fn sel_pass(
        self: &Arc<Self>,
        req: &SelJobReq,
        prefetch: bool,
    ) -> Result<(i64, i64, Vec<String>), Error> {
        let names = self.owned_names(req, prefetch).await?;
        let (mut objs, mut bytes, mut errs) = (0i64, 0i64, Vec::new());
        for n in names {
            if self.is_aborted(&req.id) {
                return Err(Error::new(ErrKind::Conflict, format!("{} aborted", req.id)));
            }
            let digest = ais_placement::digest(req.bck.uname(&n).as_bytes());
            let loc = self.mps().locate_digest(&req.bck, &n, digest);
            let cname = req.bck.cname_obj(&n);
            if prefetch {
                let (l2, c2) = (loc.clone(), cname.clone());
                let cached =
                    tokio::task::spawn_blocking(move || ais_fs::load_lom(&l2.fqn, &c2).is_ok())
                        .await
                        .map_err(join_err)?;
                if cached {
                    continue;
                }
                match self.cold_get(&req.bck, &n).await {
                    Ok(()) => {
                        objs += 1;
                        bytes += std::fs::metadata(&loc.fqn).map_or(0, |m| m.len() as i64);
                    }
                    Err(e) if errs.len() < 100 => errs.push(e.msg),
                    Err(_) => {}
                }
            } else {
                let locks = self.locks.clone();
                let r = tokio::task::spawn_blocking(move || {
                    let _g = Target::lock_for(&locks, digest)
                        .lock()
                        .expect("object lock");
                    let size = std::fs::metadata(&loc.fqn).map(|m| m.len()).unwrap_or(0);
                    ais_fs::delete_object(&loc, &cname).map(|()| size)
                })
                .await
                .map_err(join_err)?;
                match r {
                    Ok(size) => {
                        objs += 1;
                        bytes += size as i64;
                    }
                    Err(ais_fs::Error::NotFound(_)) => {}
                    Err(e) if errs.len() < 100 => errs.push(e.to_string()),
                    Err(_) => {}
                }
            }
        }
        Ok((objs, bytes, errs))
    }
}
