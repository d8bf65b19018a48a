//! Target side of global rebalance: after the set of placeable targets changes, every target
//! walks its objects and sends each one whose HRW owner is now another target to that owner
//! (over an `ais-transport` stream: `/v1/intra/stream`), deleting its copy once the owner
//! has acknowledged the commit. While objects move, a
//! GET that misses locally asks the other targets (`/v1/intra/gfn`, "get from neighbor"), so
//! reads never fail mid-move.

use super::Target;
use crate::web::{self, Req, Resp};
use ais_core::wire::hdr;
use ais_core::{Bck, Error};
use futures_util::{StreamExt, TryStreamExt};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Objects in flight per rebalancing target.
const REB_CONCURRENCY: usize = 16;
/// Path of the intra-cluster transport's streams on a target's intra-data endpoint.
pub(super) const STREAM_PATH: &str = "/v1/intra/stream";
/// Job snapshots a target keeps (finished ones beyond are forgotten, oldest first).
const JOBS_KEPT: usize = 1024;
/// Objects up to this size are read whole before they are queued on a stream.
const SEND_INLINE_MAX: u64 = 256 << 10;
/// Received objects being committed at once per stream.
const STORE_CONCURRENCY: usize = 8;

/// A received payload, read and waiting to be committed.
enum Received {
    Object(Box<ReceivedObj>),
    /// An EC slice or replica: bucket, object, slice metadata (JSON), bytes.
    Slice(Bck, String, String, bytes::Bytes),
}

struct ReceivedObj {
    streamed: super::object::Streamed,
    digest: u64,
    loc: ais_fs::Location,
    cname: String,
    copies: Vec<ais_fs::Location>,
    lom: ais_fs::Lom,
}
/// Objects listed per walk step.
const REB_PAGE: usize = 1000;
/// How long after a change of the target set GETs that miss ask the neighbors.
pub(super) const GFN_WINDOW: Duration = Duration::from_secs(600);
/// File (in the confdir) naming the rebalance this target has not completed.
pub(super) const REB_MARKER: &str = ".ais.reb";

/// The contents of [`REB_MARKER`].
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct RebMarker {
    pub(super) id: String,
}

/// [`Target::job_begin`] on the locked job table.
fn job_begin_in(
    m: &mut std::collections::HashMap<String, RebSnap>,
    id: &str,
    kind: &str,
    bck: Option<&Bck>,
) -> bool {
    if m.contains_key(id) {
        return false;
    }
    // Bounded: the oldest finished jobs are forgotten.
    while m.len() >= JOBS_KEPT {
        let Some(old) = m
            .values()
            .filter(|s| !s.running)
            .min_by_key(|s| s.end_ns)
            .map(|s| s.id.clone())
        else {
            break;
        };
        m.remove(&old);
    }
    m.insert(
        id.to_string(),
        RebSnap {
            id: id.to_string(),
            running: true,
            kind: kind.to_string(),
            bck: bck.cloned(),
            start_ns: ais_core::time::now_nanos(),
            ..Default::default()
        },
    );
    true
}

/// The number in a rebalance id `g<N>` (0 if it has none).
fn reb_num(id: &str) -> u64 {
    id.strip_prefix('g')
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// One target's view of a job it runs (rebalance, copies, prefetch/evict, mirror/EC jobs):
/// served at `/v1/intra/status/<id>` and, all of them, at `/v1/intra/jobs` (from which a
/// restarted or new primary takes over tracking).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RebSnap {
    pub(crate) id: String,
    pub(crate) running: bool,
    pub(crate) objs: i64,
    pub(crate) bytes: i64,
    pub(crate) errs: Vec<String>,
    #[serde(default)]
    pub(crate) aborted: bool,
    #[serde(default)]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) bck: Option<Bck>,
    #[serde(default)]
    pub(crate) start_ns: i64,
    #[serde(default)]
    pub(crate) end_ns: i64,
}

impl Target {
    /// Registers job `id` of `kind` as running on this target; `false` if it is known already
    /// (starts are idempotent per id; an abort that came first keeps it from starting).
    pub(super) fn job_begin(&self, id: &str, kind: &str, bck: Option<&Bck>) -> bool {
        job_begin_in(&mut self.reb.lock().expect("jobs lock"), id, kind, bck)
    }

    /// Marks job `id` finished (with its error, if any); returns its final snapshot.
    pub(super) fn job_done(&self, id: &str, err: Option<Error>) -> Option<RebSnap> {
        let mut m = self.reb.lock().expect("jobs lock");
        let s = m.get_mut(id)?;
        s.running = false;
        s.end_ns = ais_core::time::now_nanos();
        if let Some(e) = err {
            s.errs.push(e.msg);
        }
        Some(s.clone())
    }

    /// `GET /v1/intra/jobs`: every job this target knows of.
    pub(super) fn jobs_snap(&self) -> Resp {
        let v: Vec<RebSnap> = self
            .reb
            .lock()
            .expect("jobs lock")
            .values()
            .cloned()
            .collect();
        web::json(&v)
    }

    /// Marks job `id` finished with its counters, or its error.
    pub(super) fn job_end(&self, id: &str, r: Result<(i64, i64, Vec<String>), Error>) {
        let mut m = self.reb.lock().expect("jobs lock");
        if let Some(s) = m.get_mut(id) {
            s.running = false;
            s.end_ns = ais_core::time::now_nanos();
            match r {
                Ok((objs, bytes, errs)) => {
                    s.objs = objs;
                    s.bytes = bytes;
                    s.errs.extend(errs);
                }
                Err(e) => s.errs.push(e.msg),
            }
        }
    }

    /// Starts rebalance `id` (`g<N>`) in the background (idempotent per id). A newer
    /// rebalance supersedes a running older one (it walks everything again against the newest
    /// map), so an older id is not started while a newer one runs. Until a rebalance completes
    /// (not aborted, not cut short by a restart), its id is kept in [`REB_MARKER`]: GETs that
    /// miss keep asking the neighbors, and the rebalance resumes when the target restarts.
    pub(crate) fn start_rebalance(self: &Arc<Self>, id: String) {
        let num = reb_num(&id);
        // Needed from now on (even if this one never begins: aborted first, or superseded),
        // until a rebalance at least this new completes.
        self.raise_reb_marker(&id);
        *self.last_target_change.lock().expect("lock") = Instant::now();
        let older: Vec<String> = {
            let mut m = self.reb.lock().expect("jobs lock");
            let newer = m
                .values()
                .find(|s| s.running && s.kind == "rebalance" && reb_num(&s.id) > num)
                .map(|s| s.id.clone());
            if let Some(newer) = newer {
                // Recorded as ended, so that whoever tracks it sees it end.
                if !m.contains_key(&id) {
                    let now = ais_core::time::now_nanos();
                    m.insert(
                        id.clone(),
                        RebSnap {
                            id: id.clone(),
                            kind: "rebalance".into(),
                            aborted: true,
                            errs: vec![format!("superseded by {newer}")],
                            start_ns: now,
                            end_ns: now,
                            ..Default::default()
                        },
                    );
                }
                tracing::info!(%id, %newer, "rebalance not started: a newer one runs");
                return;
            }
            if !job_begin_in(&mut m, &id, "rebalance", None) {
                return;
            }
            m.values_mut()
                .filter(|s| s.running && s.kind == "rebalance" && reb_num(&s.id) < num)
                .map(|s| {
                    s.aborted = true;
                    s.id.clone()
                })
                .collect()
        };
        if !older.is_empty() {
            tracing::info!(%id, ?older, "rebalance supersedes the running one");
        }
        let me = self.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            let r = me.rebalance_pass(&id).await;
            let aborted = me.is_aborted(&id);
            let Some(s) = me.job_done(&id, r.err()) else {
                return;
            };
            // Objects it failed to send are still here, misplaced: the marker stays.
            let complete = !aborted && s.errs.is_empty();
            tracing::info!(%id, objs = s.objs, bytes = s.bytes, errs = s.errs.len(), elapsed_ms = t0.elapsed().as_millis() as u64, complete, "rebalance done");
            if complete {
                me.clear_reb_marker(&id);
            }
        });
    }

    /// The rebalance this target has not completed (aborted, or interrupted by a restart).
    pub(super) fn reb_marker(&self) -> Option<String> {
        self.reb_pending.lock().expect("marker lock").clone()
    }

    /// Compare-and-set of the marker (file and memory) under its write lock: `Some(id)` when
    /// no newer one is set, `None` (cleared) when the one set is not newer than `id`.
    fn update_reb_marker(&self, id: &str, set: bool) {
        let _w = self.reb_marker_write.lock().expect("marker write lock");
        let cur = self.reb_marker().map(|m| reb_num(&m));
        let num = reb_num(id);
        let apply = if set {
            cur.is_none_or(|c| c < num)
        } else {
            cur.is_some_and(|c| c <= num)
        };
        if !apply {
            return;
        }
        let dir = std::path::Path::new(&self.ctl.cfg.local.confdir);
        let r = if set {
            crate::metastore::save(dir, REB_MARKER, &RebMarker { id: id.into() })
        } else {
            crate::metastore::remove(dir, REB_MARKER)
        };
        if let Err(e) = r {
            tracing::warn!(err = %e, "rebalance marker");
        }
        *self.reb_pending.lock().expect("marker lock") = set.then(|| id.to_string());
    }

    fn raise_reb_marker(&self, id: &str) {
        self.update_reb_marker(id, true);
    }

    /// Drops the marker once rebalance `id` completed, unless a newer one took its place.
    fn clear_reb_marker(&self, id: &str) {
        self.update_reb_marker(id, false);
    }

    /// Marks job `id` aborted; its loops stop at the next object.
    /// An abort that arrives before the job's start is remembered, so the job never starts.
    pub(super) fn abort_job(&self, id: &str) -> bool {
        let mut m = self.reb.lock().expect("reb lock");
        let s = m.entry(id.to_string()).or_insert_with(|| RebSnap {
            id: id.to_string(),
            ..Default::default()
        });
        let was_running = s.running;
        s.aborted = true;
        was_running
    }

    /// Whether job `id` was aborted.
    pub(super) fn is_aborted(&self, id: &str) -> bool {
        self.reb
            .lock()
            .expect("reb lock")
            .get(id)
            .is_some_and(|s| s.aborted)
    }

    pub(super) fn reb_add(&self, id: &str, objs: i64, bytes: i64, err: Option<String>) {
        let mut m = self.reb.lock().expect("reb lock");
        if let Some(s) = m.get_mut(id) {
            s.objs += objs;
            s.bytes += bytes;
            if let Some(e) = err
                && s.errs.len() < 32
            {
                s.errs.push(e);
            }
        }
    }

    async fn rebalance_pass(self: &Arc<Self>, id: &str) -> Result<(), Error> {
        tracing::info!(%id, smap = self.smap().version, "rebalance");
        for bck in self.bmd().list(None) {
            // Objects off their HRW mountpath (a resilver is owed) and on draining mountpaths
            // are sent from where they are.
            for (mp, dir) in self.obj_dirs_all(&bck) {
                let mut after = String::new();
                loop {
                    let (d, a) = (dir.clone(), after.clone());
                    let page = tokio::task::spawn_blocking(move || {
                        ais_fs::walk_bucket(&d, "", &a, REB_PAGE)
                    })
                    .await
                    .map_err(crate::err::join_err)?
                    .map_err(|e| Error::internal(format!("rebalance walk: {e}")))?;
                    let Some(last) = page.last() else { break };
                    if self.is_aborted(id) {
                        return Err(Error::new(
                            ais_core::ErrKind::Conflict,
                            format!("{id} aborted"),
                        ));
                    }
                    after = last.name.clone();
                    let smap = self.smap();
                    let moves: Vec<(String, ais_meta::Snode)> = page
                        .into_iter()
                        .filter_map(|e| {
                            let owner = smap.hrw_target(&bck.uname(&e.name)).ok()?;
                            (owner.daemon_id != self.id()).then(|| (e.name, owner.clone()))
                        })
                        .collect();
                    futures_util::stream::iter(moves)
                        .for_each_concurrent(REB_CONCURRENCY, |(name, owner)| {
                            let bck = bck.clone();
                            let mp = &mp;
                            async move {
                                if self.is_aborted(id) {
                                    return;
                                }
                                match self.migrate(&bck, mp, &name, &owner).await {
                                    Ok(n) => self.reb_add(id, 1, n as i64, None),
                                    // Gone since the walk: deleted, or moved by a rebalance
                                    // this one superseded.
                                    Err(e) if e.kind == ais_core::ErrKind::NotFound => {}
                                    Err(e) => {
                                        tracing::warn!(obj = %bck.cname_obj(&name), to = %owner.name(), err = %e, "rebalance: send failed");
                                        self.reb_add(id, 0, 0, Some(format!("{}: {e}", bck.cname_obj(&name))));
                                    }
                                }
                            }
                        })
                        .await;
                }
            }
        }
        Ok(())
    }

    /// Sends object `name` of `bck` to `owner` over the intra-cluster transport, to be stored
    /// as `dst_name` in `dst` (with its version, atime, custom metadata; verified against its
    /// checksum). Returns its metadata once the owner has committed it. A broken stream is
    /// retried once (on a new stream).
    pub(super) async fn send_object(
        &self,
        bck: &Bck,
        name: &str,
        dst: &Bck,
        dst_name: &str,
        owner: &ais_meta::Snode,
    ) -> Result<ais_fs::Lom, Error> {
        let loc = self.mps().locate(bck, name);
        self.send_from(&loc, bck, name, dst, dst_name, owner).await
    }

    /// [`Target::send_object`] of the copy at `loc`.
    async fn send_from(
        &self,
        loc: &ais_fs::Location,
        bck: &Bck,
        name: &str,
        dst: &Bck,
        dst_name: &str,
        owner: &ais_meta::Snode,
    ) -> Result<ais_fs::Lom, Error> {
        let cname = bck.cname_obj(name);
        let url = format!("{}{STREAM_PATH}", owner.intra_data_net.direct_url);
        let mut attempt = 0;
        loop {
            attempt += 1;
            // Small objects are read here, in the same blocking call: the stream then never
            // waits on a file read (it serializes the payloads of one destination).
            let (lom, body) = {
                let (fqn, c) = (loc.fqn.clone(), cname.clone());
                tokio::task::spawn_blocking(move || -> Result<_, ais_fs::Error> {
                    let lom = ais_fs::load_lom(&fqn, &c)?;
                    let io = |e| ais_fs::Error::Io(c.clone(), e);
                    let body = if lom.size <= SEND_INLINE_MAX {
                        let b = std::fs::read(&fqn).map_err(io)?;
                        if b.len() as u64 != lom.size {
                            return Err(io(std::io::Error::new(
                                std::io::ErrorKind::InvalidData,
                                format!("{} bytes on disk, {} in metadata", b.len(), lom.size),
                            )));
                        }
                        ais_transport::SendBody::Bytes(b.into())
                    } else {
                        let f = std::fs::File::open(&fqn).map_err(io)?;
                        ais_transport::SendBody::from(tokio::fs::File::from_std(f))
                    };
                    Ok((lom, body))
                })
                .await
                .map_err(crate::err::join_err)?
                .map_err(|e| self.fs_err(e))?
            };
            let hdr = ais_transport::ObjHdr {
                size: lom.size,
                kind: ais_transport::kind::OBJECT,
                atime_ns: lom.atime_ns,
                provider: dst.provider.as_str().to_string(),
                namespace: dst.namespace.uname(),
                bucket: dst.name.clone(),
                name: dst_name.to_string(),
                cksum_type: lom
                    .cksum
                    .as_ref()
                    .map(|c| c.ty.as_str().to_string())
                    .unwrap_or_default(),
                cksum_value: lom
                    .cksum
                    .as_ref()
                    .map(|c| c.value.clone())
                    .unwrap_or_default(),
                version: lom.version.clone(),
                custom: lom
                    .custom
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                ..Default::default()
            };
            match self.xport.send(&url, hdr, body).await {
                Ok(()) => {
                    self.ctl.stats.stream_out_n.inc();
                    self.ctl.stats.stream_out_size.inc_by(lom.size);
                    return Ok(lom);
                }
                Err(ais_transport::Error::Refused(m)) => {
                    return Err(Error::internal(format!(
                        "{} refused {cname}: {m}",
                        owner.name()
                    )));
                }
                Err(e) if attempt < 2 => {
                    tracing::debug!(obj = %cname, to = %owner.name(), err = %e, "transport: retrying");
                }
                Err(e) => {
                    return Err(Error::new(
                        ais_core::ErrKind::Unavailable,
                        format!("{cname} to {}: {e}", owner.name()),
                    ));
                }
            }
        }
    }

    /// Sends object `name`, found on mountpath `mp`, to `owner`; removes the local copy once
    /// the owner has it.
    async fn migrate(
        &self,
        bck: &Bck,
        mp: &str,
        name: &str,
        owner: &ais_meta::Snode,
    ) -> Result<u64, Error> {
        let loc = ais_fs::location(mp, bck, name, ais_fs::CT_OBJ);
        let lom = self.send_from(&loc, bck, name, bck, name, owner).await?;
        let cname = bck.cname_obj(name);
        // The owner has committed it: drop ours (unless it changed meanwhile).
        let digest = ais_placement::digest(bck.uname(name).as_bytes());
        let locks = self.locks.clone();
        let version = lom.version.clone();
        let size = lom.size;
        let copies = super::mirror::copy_candidates(&self.mps(), bck, name);
        tokio::task::spawn_blocking(move || {
            let _g = Target::lock_for(&locks, digest)
                .lock()
                .expect("object lock");
            match ais_fs::load_lom(&loc.fqn, &cname) {
                Ok(now) if now.version == version => {
                    let r = ais_fs::delete_object(&loc, &cname);
                    super::mirror::remove_copies(&copies, &cname);
                    r
                }
                _ => Ok(()),
            }
        })
        .await
        .map_err(crate::err::join_err)?
        .map_err(|e| self.fs_err(e))?;
        Ok(size)
    }

    /// `PUT /v1/intra/stream`: a transport stream from another target (objects moved by
    /// rebalance and copies, EC slices). Payloads are read in order; each object is then
    /// committed in the background (up to [`STORE_CONCURRENCY`] at once, while the next
    /// payload streams in) and acknowledged once stored, or refused with the reason.
    pub(super) async fn recv_stream(self: &Arc<Self>, req: &mut Req) -> Result<Resp, Error> {
        let body = req
            .body
            .take()
            .ok_or_else(|| Error::internal("request body already consumed"))?;
        let (acks, reply) = ais_transport::acks(256);
        let me = self.clone();
        let from = req.header(hdr::CALLER_ID).unwrap_or("?").to_string();
        tokio::spawn(async move {
            let mut rd = ais_transport::ObjReader::new(body);
            let slots = Arc::new(tokio::sync::Semaphore::new(STORE_CONCURRENCY));
            loop {
                let h = match rd.next_hdr().await {
                    Ok(Some(h)) => h,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(%from, err = %e, "transport stream ended");
                        break;
                    }
                };
                let slot = slots.clone().acquire_owned().await.expect("never closed");
                let seq = h.seq;
                match me.recv_read(&h, rd.payload()).await {
                    Ok(commit) => {
                        let (me, acks) = (me.clone(), acks.clone());
                        tokio::spawn(async move {
                            let r = me.recv_commit(commit).await.map_err(|e| e.msg);
                            drop(slot);
                            acks.send(seq, r).await;
                        });
                    }
                    Err(e) => {
                        acks.send(seq, Err(e.msg)).await;
                    }
                }
            }
        });
        Ok(http::Response::new(BodyExt::boxed(reply)))
    }

    /// Reads one received object's payload (into a work file, checksummed).
    async fn recv_read(
        self: &Arc<Self>,
        h: &ais_transport::ObjHdr,
        payload: ais_transport::Payload<'_, hyper::body::Incoming>,
    ) -> Result<Received, Error> {
        let bck = Bck {
            name: h.bucket.clone(),
            provider: ais_core::Provider::parse(&h.provider)?,
            namespace: ais_core::bck::Namespace::parse(&h.namespace)?,
        };
        if h.kind == ais_transport::kind::EC_SLICE {
            if h.size > super::ec::EC_MAX_OBJECT + (1 << 20) {
                return Err(Error::bad_request(format!("slice of {} bytes", h.size)));
            }
            let bytes = BodyExt::collect(payload)
                .await
                .map_err(|e| Error::bad_request(format!("slice body: {e}")))?
                .to_bytes();
            let js = String::from_utf8(h.opaque.to_vec())
                .map_err(|_| Error::bad_request("slice metadata is not UTF-8"))?;
            return Ok(Received::Slice(bck, h.name.clone(), js, bytes));
        }
        let props = self.bprops(&bck)?;
        ais_core::name::validate_obj_name(&h.name, false)?;
        let verify = if h.cksum_type.is_empty() || h.cksum_type == "none" {
            None
        } else {
            Some(ais_core::Cksum {
                ty: ais_core::CksumType::parse(&h.cksum_type)?,
                value: h.cksum_value.to_ascii_lowercase(),
            })
        };
        let custom = h.custom.iter().cloned().collect();
        let digest = ais_placement::digest(bck.uname(&h.name).as_bytes());
        let loc = self.mps().locate_digest(&bck, &h.name, digest);
        let cname = bck.cname_obj(&h.name);
        let streamed = self
            .stream_body(payload, &loc, props.checksum.ty, verify, &cname)
            .await?;
        let copies = self.copy_locations(&bck, &h.name, digest, super::mirror::copies_of(&props));
        Ok(Received::Object(Box::new(ReceivedObj {
            streamed,
            digest,
            loc,
            cname,
            copies,
            lom: ais_fs::Lom {
                atime_ns: if h.atime_ns == 0 {
                    ais_core::time::now_nanos()
                } else {
                    h.atime_ns
                },
                version: h.version.clone(),
                custom,
                ..Default::default()
            },
        })))
    }

    /// Commits a received object: kept with its version, atime and custom metadata (an
    /// as-new-or-newer local version wins: a PUT landed here first).
    async fn recv_commit(self: &Arc<Self>, r: Received) -> Result<(), Error> {
        let o = match r {
            Received::Slice(bck, obj, js, bytes) => {
                return self.store_slice(bck, obj, js, bytes).await;
            }
            Received::Object(o) => o,
        };
        let ReceivedObj {
            streamed,
            digest,
            loc,
            cname,
            copies,
            lom,
        } = *o;
        let locks = self.locks.clone();
        let c2 = cname.clone();
        let stored = tokio::task::spawn_blocking(move || -> Result<u64, ais_fs::Error> {
            let w = streamed.into_writer()?;
            let _g = Target::lock_for(&locks, digest)
                .lock()
                .expect("object lock");
            if let Ok(have) = ais_fs::load_lom(&loc.fqn, &c2)
                && have.version.parse::<u64>().unwrap_or(0)
                    >= lom.version.parse::<u64>().unwrap_or(0)
            {
                return Ok(have.size);
            }
            let lom = w.commit(lom, None)?;
            super::mirror::write_copies(&loc, &copies, &c2)?;
            Ok(lom.size)
        })
        .await
        .map_err(crate::err::join_err)?
        .map_err(|e| self.fs_err(e))?;
        self.ctl.stats.stream_in_n.inc();
        self.ctl.stats.stream_in_size.inc_by(stored);
        Ok(())
    }

    /// `GET /v1/intra/status/<id>`: this target's snapshot of rebalance `id`.
    pub(super) fn reb_status(&self, id: &str) -> Resp {
        let snap = self.reb.lock().expect("reb lock").get(id).cloned();
        web::json(&snap)
    }

    /// Whether GETs that miss should ask the neighbors (a rebalance may be moving objects).
    pub(super) fn gfn_active(&self) -> bool {
        self.last_target_change.lock().expect("lock").elapsed() < GFN_WINDOW
            || self.reb_marker().is_some()
            || self
                .reb
                .lock()
                .expect("reb lock")
                .values()
                .any(|s| s.running)
    }

    /// Get from neighbor: asks every other target for the object; relays the first that has it.
    pub(super) async fn gfn(&self, req: &Req, bck: &Bck, obj: &str) -> Option<Resp> {
        let smap = self.smap();
        let head = req.method == http::Method::HEAD;
        let mut path = format!(
            "/v1/intra/gfn/{}/{}?provider={}",
            bck.name,
            percent_encoding::utf8_percent_encode(obj, crate::common::PATH_SEGMENT),
            bck.provider.as_str()
        );
        if head {
            let props = req.q(ais_core::wire::qparam::PROPS);
            path.push_str("&props=");
            path.push_str(
                &percent_encoding::utf8_percent_encode(props, percent_encoding::NON_ALPHANUMERIC)
                    .to_string(),
            );
        }
        let mut headers = http::HeaderMap::new();
        if let Some(r) = req.headers.get("range") {
            headers.insert("range", r.clone());
        }
        for t in smap.tmap.values().filter(|t| t.daemon_id != self.id()) {
            let url = format!("{}{path}", t.intra_data_net.direct_url);
            let method = if head {
                reqwest::Method::HEAD
            } else {
                reqwest::Method::GET
            };
            let mut rb = self.ctl.intra.request(method, &url);
            for (k, v) in &headers {
                rb = rb.header(k, v);
            }
            let Ok(r) = rb.send().await else { continue };
            if !r.status().is_success() {
                continue;
            }
            let mut resp = http::Response::builder().status(r.status());
            for (k, v) in r.headers() {
                if k != http::header::TRANSFER_ENCODING && k != http::header::CONNECTION {
                    resp = resp.header(k, v);
                }
            }
            let body = http_body_util::StreamBody::new(
                r.bytes_stream()
                    .map_ok(hyper::body::Frame::data)
                    .map_err(std::io::Error::other),
            );
            let body = BodyExt::boxed(body);
            tracing::debug!(obj = %bck.cname_obj(obj), from = %t.name(), "get from neighbor");
            return resp.body(body).ok();
        }
        None
    }
}
