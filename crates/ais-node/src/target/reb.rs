//! Target side of global rebalance: after the set of placeable targets changes, every target
//! walks its objects and sends each one whose HRW owner is now another target to that owner
//! (`/v1/intra/recv`), deleting its copy once the owner has committed it. While objects move, a
//! GET that misses locally asks the other targets (`/v1/intra/gfn`, "get from neighbor"), so
//! reads never fail mid-move.

use super::Target;
use super::object::Stored;
use crate::web::{self, Req, Resp};
use ais_core::wire::hdr;
use ais_core::{Bck, Error};
use futures_util::{StreamExt, TryStreamExt};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Objects in flight per rebalancing target.
const REB_CONCURRENCY: usize = 8;
/// Objects listed per walk step.
const REB_PAGE: usize = 1000;
/// How long after a change of the target set GETs that miss ask the neighbors.
pub(super) const GFN_WINDOW: Duration = Duration::from_secs(600);

/// One target's view of a rebalance.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RebSnap {
    pub(crate) id: String,
    pub(crate) running: bool,
    pub(crate) objs: i64,
    pub(crate) bytes: i64,
    pub(crate) errs: Vec<String>,
    #[serde(default)]
    pub(crate) aborted: bool,
}

impl Target {
    /// Registers job `id` as running on this target; `false` if it already is (job starts are
    /// idempotent per id).
    pub(super) fn job_begin(&self, id: &str) -> bool {
        let mut m = self.reb.lock().expect("jobs lock");
        if m.contains_key(id) {
            return false;
        }
        m.insert(
            id.to_string(),
            RebSnap {
                id: id.to_string(),
                running: true,
                ..Default::default()
            },
        );
        true
    }

    /// Marks job `id` finished with its counters, or its error.
    pub(super) fn job_end(&self, id: &str, r: Result<(i64, i64, Vec<String>), Error>) {
        let mut m = self.reb.lock().expect("jobs lock");
        if let Some(s) = m.get_mut(id) {
            s.running = false;
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

    /// Starts rebalance `id` in the background (idempotent per id).
    pub(crate) fn start_rebalance(self: &Arc<Self>, id: String) {
        {
            let mut m = self.reb.lock().expect("reb lock");
            if m.contains_key(&id) {
                return;
            }
            m.insert(
                id.clone(),
                RebSnap {
                    id: id.clone(),
                    running: true,
                    ..Default::default()
                },
            );
        }
        *self.last_target_change.lock().expect("lock") = Instant::now();
        let me = self.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            let r = me.rebalance_pass(&id).await;
            let mut m = me.reb.lock().expect("reb lock");
            if let Some(s) = m.get_mut(&id) {
                s.running = false;
                if let Err(e) = r {
                    s.errs.push(e.msg);
                }
                tracing::info!(%id, objs = s.objs, bytes = s.bytes, errs = s.errs.len(), elapsed_ms = t0.elapsed().as_millis() as u64, "rebalance done");
            }
        });
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
            for (_, dir) in self.mps().obj_dirs(&bck) {
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
                            async move {
                                if self.is_aborted(id) {
                                    return;
                                }
                                match self.migrate(&bck, &name, &owner).await {
                                    Ok(n) => self.reb_add(id, 1, n as i64, None),
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

    /// Sends object `name` of `bck` to `owner`, to be stored as `dst_name` in `dst` (with its
    /// version, atime, custom metadata; verified against its checksum). Returns its metadata.
    pub(super) async fn send_object(
        &self,
        bck: &Bck,
        name: &str,
        dst: &Bck,
        dst_name: &str,
        owner: &ais_meta::Snode,
    ) -> Result<ais_fs::Lom, Error> {
        let loc = self.mps().locate(bck, name);
        let cname = bck.cname_obj(name);
        let (lom, file) = {
            let (fqn, c) = (loc.fqn.clone(), cname.clone());
            tokio::task::spawn_blocking(move || -> Result<_, ais_fs::Error> {
                let lom = ais_fs::load_lom(&fqn, &c)?;
                let f = std::fs::File::open(&fqn).map_err(|e| ais_fs::Error::Io(c, e))?;
                Ok((lom, f))
            })
            .await
            .map_err(crate::err::join_err)?
            .map_err(|e| self.fs_err(e))?
        };
        let url = format!(
            "{}/v1/intra/recv/{}/{}?provider={}",
            owner.intra_data_net.direct_url,
            dst.name,
            percent_encoding::utf8_percent_encode(dst_name, crate::common::PATH_SEGMENT),
            dst.provider.as_str()
        );
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
            tokio::fs::File::from_std(file),
            1 << 20,
        ));
        let mut rb = self
            .ctl
            .intra
            .request(reqwest::Method::PUT, &url)
            .body(body)
            .header("content-length", lom.size);
        if let Some(c) = &lom.cksum {
            rb = rb
                .header(hdr::CKSUM_TYPE, c.ty.as_str())
                .header(hdr::CKSUM_VALUE, &c.value);
        }
        rb = rb
            .header(hdr::ATIME, lom.atime_ns.to_string())
            .header(hdr::VERSION, &lom.version);
        for (k, v) in &lom.custom {
            rb = rb.header(hdr::CUSTOM_MD, format!("{k}={v}"));
        }
        let r = rb
            .send()
            .await
            .map_err(|e| Error::new(ais_core::ErrKind::Unavailable, format!("{url}: {e}")))?;
        if !r.status().is_success() {
            let st = r.status();
            let t = r.text().await.unwrap_or_default();
            return Err(Error::internal(format!(
                "{} refused {cname}: {st} {t}",
                owner.name()
            )));
        }
        self.ctl.stats.stream_out_n.inc();
        self.ctl.stats.stream_out_size.inc_by(lom.size);
        Ok(lom)
    }

    /// Sends one object to `owner`; removes the local copy once the owner has it.
    async fn migrate(&self, bck: &Bck, name: &str, owner: &ais_meta::Snode) -> Result<u64, Error> {
        let lom = self.send_object(bck, name, bck, name, owner).await?;
        let loc = self.mps().locate(bck, name);
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

    /// `PUT /v1/intra/recv/B/O`: an object moved here by rebalance, kept with its version,
    /// atime and custom metadata, and verified against the sender's checksum.
    pub(super) async fn recv(
        self: &Arc<Self>,
        req: &mut Req,
        bck: Bck,
        obj: String,
    ) -> Result<Resp, Error> {
        let props = self.bprops(&bck)?;
        ais_core::name::validate_obj_name(&obj, false)?;
        let version = req.header(hdr::VERSION).unwrap_or("").to_string();
        let atime: i64 = req
            .header(hdr::ATIME)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(ais_core::time::now_nanos);
        let verify = super::object::cksum_from_headers(req)?;
        let custom = super::object::parse_custom(&req.headers)?;
        let digest = ais_placement::digest(bck.uname(&obj).as_bytes());
        let loc = self.mps().locate_digest(&bck, &obj, digest);
        let body = req
            .body
            .take()
            .ok_or_else(|| Error::internal("request body already consumed"))?;
        let cname = bck.cname_obj(&obj);
        let ty = props.checksum.ty;
        let streamed = self.stream_body(body, &loc, ty, verify, &cname).await?;
        let locks = self.locks.clone();
        let copies = self.copy_locations(&bck, &obj, digest, super::mirror::copies_of(&props));
        let stored = tokio::task::spawn_blocking(move || -> Result<u64, ais_fs::Error> {
            let w = streamed.into_writer()?;
            let _g = Target::lock_for(&locks, digest)
                .lock()
                .expect("object lock");
            if let Ok(have) = ais_fs::load_lom(&loc.fqn, &cname)
                && have.version.parse::<u64>().unwrap_or(0) >= version.parse::<u64>().unwrap_or(0)
            {
                return Ok(have.size); // ours is as new or newer (a PUT landed here first)
            }
            let lom = w.commit(
                ais_fs::Lom {
                    atime_ns: atime,
                    version,
                    custom,
                    ..Default::default()
                },
                None,
            )?;
            super::mirror::write_copies(&loc, &copies, &cname)?;
            Ok(lom.size)
        })
        .await
        .map_err(crate::err::join_err)?
        .map_err(|e| self.fs_err(e))?;
        self.ctl.stats.stream_in_n.inc();
        self.ctl.stats.stream_in_size.inc_by(stored);
        let mut r = web::ok();
        r.extensions_mut().insert(Stored(stored));
        Ok(r)
    }

    /// `GET /v1/intra/status/<id>`: this target's snapshot of rebalance `id`.
    pub(super) fn reb_status(&self, id: &str) -> Resp {
        let snap = self.reb.lock().expect("reb lock").get(id).cloned();
        web::json(&snap)
    }

    /// Whether GETs that miss should ask the neighbors (a rebalance may be moving objects).
    pub(super) fn gfn_active(&self) -> bool {
        self.last_target_change.lock().expect("lock").elapsed() < GFN_WINDOW
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
