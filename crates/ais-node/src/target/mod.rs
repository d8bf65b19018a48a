//! The target (storage) role: mountpaths, object data path, per-target listing pages and batch
//! deletes, and metadata received from the primary.

mod cloud;
mod copy;
mod ec;
mod fshc;
mod list;
mod mirror;
mod mp;
mod object;
mod reb;
mod s3;
mod s3mpt;

pub(crate) use cloud::SelJobReq;
pub(crate) use copy::CopyReq;
pub(crate) use mirror::BckJobReq;
pub(crate) use reb::RebSnap;

use crate::common::{self, bad_path, method_not_allowed};
use crate::ctl::{Beat, Ctl};
use crate::meta::{Installed, NodeMeta};
use crate::web::{self, Handler, Req, Resp};
use crate::{Error as NodeError, NodeConfig};
use ais_core::{Bck, ErrKind, Error};
use ais_fs::Mountpaths;
use ais_meta::{Bmd, Bprops, Smap, Snode};
use ais_metasync::{Revs, Versions, pb};
use http::{Method, StatusCode};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Mountpath administration state.
#[derive(Default)]
pub(crate) struct MpAdmin {
    /// Taken out of service but still holding objects that resilver moves away.
    pub(crate) draining: Vec<String>,
    /// Disabled (kept in the node's volume list, not used).
    pub(crate) disabled: Vec<String>,
    /// Objects may be off their HRW mountpath (a resilver runs, or one is needed: aborted,
    /// interrupted, or postponed with `dntres`): reads look on the other mountpaths too.
    pub(crate) resilvering: bool,
    /// The running resilver job.
    pub(crate) current: Option<String>,
    /// Bumped by every mountpath change.
    pub(crate) generation: u64,
}

/// Number of per-object lock stripes (serialize read-modify-write of one object's metadata).
const LOCK_STRIPES: usize = 256;

pub(crate) struct Target {
    ctl: Ctl,
    name: String,
    /// Available mountpaths; replaced as a whole on attach/detach/enable/disable.
    mps: std::sync::RwLock<Arc<Mountpaths>>,
    /// Mountpaths being emptied (detached or disabled) and the ones disabled, by path.
    mp_admin: Mutex<MpAdmin>,
    /// Serializes mountpath changes.
    mp_change_lock: tokio::sync::Mutex<()>,
    /// Serializes writes of the volume list (`.ais.vmd`).
    vmd_write: Mutex<()>,
    /// Held by the running resilver pass.
    resilver_run: tokio::sync::Mutex<()>,
    locks: Arc<Vec<Mutex<()>>>,
    /// Rebalances this target ran or runs, by id.
    reb: Mutex<std::collections::HashMap<String, reb::RebSnap>>,
    /// The rebalance not yet completed here (persisted in `reb::REB_MARKER`).
    reb_pending: Mutex<Option<String>>,
    /// Serializes updates of that marker (the file is written under it, not under the above).
    reb_marker_write: Mutex<()>,
    /// When the set of placeable targets last changed (GETs that miss then ask the neighbors).
    last_target_change: Mutex<Instant>,
    /// When each mountpath was last probed by the filesystem health checker.
    fshc: Mutex<std::collections::HashMap<String, Instant>>,
    /// The backends of remote (`aws://`, `gcp://`, `azure://`) buckets, from the environment.
    backends: ais_backend::Backends,
    /// Reads in flight per mountpath (slot: mountpath digest mod length): mirrored objects are
    /// read from the least busy of their mountpaths.
    mp_busy: Arc<Vec<std::sync::atomic::AtomicU32>>,
    /// Until when (unix ns) reads go to the blocking pool (a recent read was slow).
    pool_reads_until: std::sync::atomic::AtomicI64,
    /// Serializes cold GETs of one object (striped by name digest): it is fetched once.
    cold: Arc<Vec<Arc<tokio::sync::Mutex<()>>>>,
    /// Streams of objects to other targets (rebalance, copies, EC slices).
    xport: ais_transport::Sender,
    /// This target itself, for tasks started from `&self` handlers.
    weak: std::sync::Weak<Target>,
}

impl Target {
    pub(crate) async fn new(
        cfg: Arc<NodeConfig>,
        si_of: impl FnOnce(&str) -> Snode,
    ) -> Result<Arc<Self>, NodeError> {
        let vmd = mp::startup_mountpaths(&cfg)?;
        let paths = vmd.mountpaths.clone();
        let mps = {
            let paths = paths.clone();
            tokio::task::spawn_blocking(move || Mountpaths::new(&paths))
                .await
                .map_err(|e| NodeError::Storage(e.to_string()))?
                .map_err(|e| NodeError::Storage(e.to_string()))?
        };
        let id = crate::ids::target_id(cfg.daemon_id.as_deref(), &paths)?;
        let si = si_of(&id);
        let meta = NodeMeta::load(
            std::path::PathBuf::from(&cfg.local.confdir),
            &cfg.cluster,
            cfg.log_level.clone(),
        )?;
        let name = si.name();
        let xport = {
            let mut h = http::HeaderMap::new();
            let v = |s: &str| {
                http::HeaderValue::from_str(s).map_err(|e| NodeError::Config(e.to_string()))
            };
            h.insert(ais_core::wire::hdr::CALLER_ID, v(&id)?);
            h.insert(crate::intra::SECRET_HDR, v(&cfg.cluster.auth.join_secret)?);
            ais_transport::Sender::new(ais_transport::Config::default(), h)
                .map_err(|e| NodeError::Config(e.to_string()))?
        };
        let reb_pending = crate::metastore::load::<reb::RebMarker>(
            std::path::Path::new(&cfg.local.confdir),
            reb::REB_MARKER,
        )?
        .map(|m| m.id);
        let ctl = Ctl::new(si, meta, cfg)?;
        Ok(Arc::new_cyclic(|weak| Target {
            xport,
            weak: weak.clone(),
            name,
            ctl,
            mps: std::sync::RwLock::new(Arc::new(mps)),
            mp_admin: Mutex::new(MpAdmin {
                disabled: vmd.disabled,
                draining: vmd.draining,
                resilvering: vmd.resilver_needed,
                current: None,
                generation: 0,
            }),
            mp_change_lock: tokio::sync::Mutex::new(()),
            vmd_write: Mutex::new(()),
            resilver_run: tokio::sync::Mutex::new(()),
            locks: Arc::new((0..LOCK_STRIPES).map(|_| Mutex::new(())).collect()),
            reb: Mutex::new(std::collections::HashMap::new()),
            reb_pending: Mutex::new(reb_pending),
            reb_marker_write: Mutex::new(()),
            last_target_change: Mutex::new(
                Instant::now()
                    .checked_sub(reb::GFN_WINDOW)
                    .unwrap_or_else(Instant::now),
            ),
            fshc: Mutex::new(std::collections::HashMap::new()),
            backends: crate::common::backends_from_env(),
            pool_reads_until: std::sync::atomic::AtomicI64::new(0),
            mp_busy: Arc::new(
                (0..64)
                    .map(|_| std::sync::atomic::AtomicU32::new(0))
                    .collect(),
            ),
            cold: Arc::new(
                (0..LOCK_STRIPES)
                    .map(|_| Arc::new(tokio::sync::Mutex::new(())))
                    .collect(),
            ),
        }))
    }

    pub(crate) fn id(&self) -> &str {
        self.ctl.id()
    }

    /// The current mountpaths.
    fn mps(&self) -> Arc<Mountpaths> {
        self.mps.read().expect("mountpaths lock").clone()
    }

    fn self_arc(&self) -> Option<Arc<Target>> {
        self.weak.upgrade()
    }

    pub(crate) fn ctl(&self) -> &Ctl {
        &self.ctl
    }

    /// Joins the cluster and starts the keepalive loop.
    pub(crate) async fn start(self: &Arc<Self>) -> Result<(), NodeError> {
        let inst = self.ctl.join().await?;
        self.after_install(inst).await;
        // Work cut short by a restart (or an abort) resumes: a rebalance not completed here, a
        // resilver not finished.
        if let Some(id) = self.reb_marker() {
            tracing::info!(%id, "resuming an interrupted rebalance");
            self.start_rebalance(id);
            // The primary tracks it again (the jobs API shows it; it can be stopped).
            self.announce_jobs().await;
        }
        self.resume_resilver().await;
        self.ctl
            .started
            .store(true, std::sync::atomic::Ordering::Release);
        let me = self.clone();
        tokio::spawn(async move { me.keepalive_loop().await });
        tokio::spawn(crate::ctl::statsd_loop(self.clone()));
        Ok(())
    }

    async fn keepalive_loop(self: Arc<Self>) {
        let mut stop = self.ctl.stopped();
        let mut last_ok = Instant::now();
        while self.ctl.keepalive_tick(&mut stop).await {
            match self.ctl.heartbeat().await {
                Ok(Beat::Unknown) => {
                    tracing::warn!("the primary does not know this target: joining again");
                    match self.ctl.join().await {
                        Ok(inst) => self.after_install(inst).await,
                        Err(e) => tracing::warn!(err = %e, "re-join failed"),
                    }
                    last_ok = Instant::now();
                }
                Ok(Beat::CaughtUp(inst)) => {
                    self.after_install(inst).await;
                    last_ok = Instant::now();
                }
                Ok(_) => last_ok = Instant::now(),
                Err(e) => {
                    tracing::debug!(err = %e, "heartbeat to the primary failed");
                    let limit = self.ctl.primary_timeout();
                    if last_ok.elapsed() >= limit {
                        // the primary may have changed while we missed the push
                        let inst = self.ctl.catch_up_from_proxies().await;
                        if inst.old_smap.is_some() {
                            last_ok = Instant::now();
                        }
                        self.after_install(inst).await;
                    }
                }
            }
        }
    }

    fn smap(&self) -> Arc<Smap> {
        self.ctl.meta.smap()
    }

    fn bmd(&self) -> Arc<Bmd> {
        self.ctl.meta.bmd()
    }

    /// Props of an ais bucket (a clone), or 404.
    fn bprops(&self, bck: &Bck) -> Result<Bprops, Error> {
        self.with_props(bck, Bprops::clone)
    }

    /// Reads what it needs from a bucket's props without cloning them; 404 if missing.
    fn with_props<T>(&self, bck: &Bck, f: impl FnOnce(&Bprops) -> T) -> Result<T, Error> {
        if !bck.is_ais() && !self.has_backend(bck) {
            return Err(crate::common::no_backend(bck));
        }
        let bmd = self.bmd();
        Ok(f(bmd.need(bck)?))
    }

    /// After new revisions were installed: destroys the data of buckets that disappeared from
    /// the BMD.
    async fn after_install(&self, inst: Installed) {
        if let Some(old) = &inst.old_smap {
            let placeable = |s: &Smap| -> Vec<String> {
                s.tmap
                    .values()
                    .filter(|t| t.is_placeable())
                    .map(|t| t.daemon_id.clone())
                    .collect()
            };
            let now = self.smap();
            if placeable(old) != placeable(&now) {
                *self.last_target_change.lock().expect("lock") = Instant::now();
                // Every target starts the rebalance of the new map itself (the primary also
                // asks; starts are idempotent per id): it runs even if the primary dies
                // before asking, and a new primary adopts it from the targets.
                if !placeable(&now).is_empty()
                    && !self.bmd().list(None).is_empty()
                    && let Some(me) = self.self_arc()
                {
                    me.start_rebalance(format!("g{}", now.version));
                }
            }
        }
        let Some(old) = inst.old_bmd else { return };
        let now = self.bmd();
        for bck in old.list(None).into_iter().filter(|b| now.get(b).is_none()) {
            let mps = self.mps();
            let name = bck.cname();
            match tokio::task::spawn_blocking(move || ais_fs::destroy_bucket(&mps, &bck)).await {
                Ok(Ok(())) => tracing::info!(bck = %name, "bucket data destroyed"),
                Ok(Err(e)) => tracing::error!(bck = %name, err = %e, "destroy bucket data"),
                Err(e) => tracing::error!(bck = %name, err = %e, "destroy bucket task"),
            }
        }
    }

    fn health(&self, req: &Req) -> Resp {
        if !self.ctl.is_started() {
            return web::status(web::ok(), StatusCode::SERVICE_UNAVAILABLE);
        }
        let up = self.ctl.start.elapsed().as_nanos();
        let mut r = if req.q_bool("cii") {
            web::json(&common::node_state_info(
                &self.smap(),
                &self.bmd(),
                self.ctl.meta.config().config_version,
                common::NODE_STARTED_FLAGS,
            ))
        } else {
            web::ok()
        };
        common::uptime_headers(&mut r, up, up);
        r
    }

    fn daemon_get(&self, req: &Req) -> Result<Resp, Error> {
        let what = req.q("what");
        Ok(match what {
            "smap" => web::json(&*self.smap()),
            "bmd" => web::json(&*self.bmd()),
            "snode" => web::json(&self.ctl.me),
            "software_version" => web::text(crate::VERSION),
            "mountpaths" => {
                let mps = self.mps();
                let v: Vec<&str> = mps.all().iter().map(|m| m.path.as_str()).collect();
                let a = self.mp_admin.lock().expect("mountpath admin lock");
                web::json(
                    &serde_json::json!({"available": v, "waiting_dd": a.draining, "disabled": a.disabled}),
                )
            }
            "config" | "cluster_config" => web::json(&self.ctl.meta.config().redacted()),
            "node_status" => web::json(&self.node_status()),
            _ => {
                return Err(Error::new(
                    ErrKind::NotImplemented,
                    format!("target query what={what}: not supported yet"),
                ));
            }
        })
    }

    /// Updates the mountpath capacity gauges.
    fn refresh_capacity(&self) {
        for m in self.mps().all() {
            if let Ok(st) = rustix::fs::statvfs(m.path.as_str()) {
                let total = st.f_blocks.saturating_mul(st.f_frsize);
                let avail = st.f_bavail.saturating_mul(st.f_frsize);
                let used = total.saturating_sub(st.f_bfree.saturating_mul(st.f_frsize));
                let pct = (used * 100).checked_div(total).unwrap_or(0) as i64;
                self.ctl.stats.set_mountpath(&m.path, used, avail, pct);
            }
        }
    }

    /// Capacity of every mountpath (`Tcdf` shape), from `statvfs`.
    fn capacity(&self) -> serde_json::Value {
        let mut mps = serde_json::Map::new();
        let (mut used_all, mut avail_all) = (0u64, 0u64);
        let mut pcts = Vec::new();
        for m in self.mps().all() {
            let Ok(st) = rustix::fs::statvfs(m.path.as_str()) else {
                continue;
            };
            let total = st.f_blocks.saturating_mul(st.f_frsize);
            let avail = st.f_bavail.saturating_mul(st.f_frsize);
            let used = total.saturating_sub(st.f_bfree.saturating_mul(st.f_frsize));
            let pct = (used * 100).checked_div(total).unwrap_or(0) as i32;
            used_all += used;
            avail_all += avail;
            pcts.push(pct);
            let label = self
                .ctl
                .cfg
                .local
                .fspaths
                .get(&m.path)
                .cloned()
                .unwrap_or_default();
            mps.insert(
                m.path.clone(),
                serde_json::json!({
                    "mountpath_label": label,
                    "fs": {"Fs": "", "FsType": "", "FsID": format!("{},{}", st.f_fsid as u32, (st.f_fsid >> 32) as u32)},
                    "disks": [],
                    "used": used.to_string(),
                    "avail": avail.to_string(),
                    "pct_used": pct,
                }),
            );
        }
        let n = pcts.len().max(1) as i32;
        serde_json::json!({
            "mountpaths": mps,
            "cs_err": "",
            "total_used": used_all.to_string(),
            "total_avail": avail_all.to_string(),
            "pct_max": pcts.iter().copied().max().unwrap_or(0),
            "pct_avg": pcts.iter().sum::<i32>() / n,
            "pct_min": pcts.iter().copied().min().unwrap_or(0),
        })
    }

    fn node_status(&self) -> serde_json::Value {
        self.ctl
            .node_status(self.capacity(), self.ctl.state_flags(0))
    }

    /// The stripe lock of an object.
    fn lock_for(locks: &[Mutex<()>], digest: u64) -> &Mutex<()> {
        &locks[(digest as usize) % locks.len()]
    }
}

impl AsRef<Ctl> for Target {
    fn as_ref(&self) -> &Ctl {
        &self.ctl
    }
}

impl Handler for Target {
    fn node_name(&self) -> String {
        self.name.clone()
    }

    async fn handle_s3(
        self: Arc<Self>,
        req: http::Request<hyper::body::Incoming>,
        remote: std::net::SocketAddr,
    ) -> Resp {
        self.serve_s3(req, remote).await
    }

    fn metrics_text(&self) -> String {
        self.refresh_capacity();
        self.ctl.refresh_stats(self.ctl.state_flags(0));
        self.ctl.stats.prometheus_text()
    }

    fn debug_vars(&self) -> serde_json::Value {
        self.ctl.refresh_stats(self.ctl.state_flags(0));
        self.ctl
            .debug_vars(serde_json::json!({"capacity": self.capacity()}))
    }

    async fn handle(self: Arc<Self>, mut req: Req) -> Result<Resp, Error> {
        let first = req.items.first().map(String::as_str).unwrap_or("");
        match first {
            "objects" => {
                let bname = req.items.get(1).map_or("", String::as_str);
                if bname.is_empty() {
                    return Err(Error::bad_request("missing bucket name"));
                }
                let bck = common::req_bck(&req, bname)?;
                let obj = common::obj_name(&req, 2);
                let st = &self.ctl.stats;
                let on = st.enabled();
                let t0 = Instant::now();
                match req.method {
                    Method::GET => {
                        let r = self.get_obj(&req, &bck, &obj).await;
                        if on {
                            common::account(&st.get, &r, t0, common::resp_len(&r));
                        }
                        r
                    }
                    Method::HEAD => {
                        let r = self.head_obj(&req, &bck, &obj).await;
                        if on {
                            common::account(&st.head, &r, t0, 0);
                        }
                        r
                    }
                    Method::PUT => {
                        let r = self.put_obj(&mut req, bck, obj).await;
                        if on {
                            let stored = r
                                .as_ref()
                                .ok()
                                .and_then(|resp| resp.extensions().get::<object::Stored>())
                                .map_or(0, |s| s.0);
                            common::account(&st.put, &r, t0, stored);
                            if matches!(&r, Err(e) if e.kind() == ErrKind::BadChecksum) {
                                st.err_cksum.inc();
                            }
                        }
                        r
                    }
                    Method::DELETE => {
                        let r = self.delete_obj(&req, bck, obj).await;
                        if on {
                            common::account(&st.del, &r, t0, 0);
                        }
                        r
                    }
                    Method::PATCH => self.patch_obj(&mut req, bck, obj).await,
                    Method::POST => Err(Error::new(
                        ErrKind::NotImplemented,
                        "object actions are not supported yet",
                    )),
                    _ => Err(method_not_allowed(&req)),
                }
            }
            "health" => Ok(self.health(&req)),
            "daemon" if req.method == Method::GET => self.daemon_get(&req),
            "daemon" if req.items.get(1).map(String::as_str) == Some("mountpaths") => {
                self.mountpath_action(&mut req).await
            }
            "daemon"
                if req.method == Method::PUT
                    && req.items.get(1).map(String::as_str) == Some("set-config") =>
            {
                common::daemon_set_config(&self.ctl, &req)
            }
            "intra" => {
                self.ctl
                    .check_secret(req.header(crate::intra::SECRET_HDR))?;
                let sub = req.items.get(1).cloned().unwrap_or_default();
                match (&req.method, sub.as_str()) {
                    (&Method::POST, "list") => {
                        let t0 = Instant::now();
                        let r = self.list_page(&mut req).await;
                        if self.ctl.stats.enabled() {
                            common::account(&self.ctl.stats.lst, &r, t0, 0);
                        }
                        r
                    }
                    (&Method::POST, "delete") => self.batch_delete(&mut req).await,
                    (&Method::POST, "s3-uploads") => self.list_uploads(&mut req).await,
                    (_, "ec") => {
                        let bname = req.items.get(2).map_or("", String::as_str);
                        let bck = common::req_bck(&req, bname)?;
                        let obj = common::obj_name(&req, 3);
                        match req.method {
                            Method::GET => self.ec_get_slice(bck, obj).await,
                            Method::DELETE => self.ec_delete_slice(bck, obj).await,
                            _ => Err(method_not_allowed(&req)),
                        }
                    }
                    (&Method::POST, "summary") => self.summary(&mut req).await,
                    (&Method::PUT, "stream") => self.recv_stream(&mut req).await,
                    (&Method::GET, "gfn") | (&Method::HEAD, "gfn") => {
                        let bname = req.items.get(2).map_or("", String::as_str);
                        let bck = common::req_bck(&req, bname)?;
                        let obj = common::obj_name(&req, 3);
                        match req.method {
                            Method::HEAD => self.head_obj_local(&req, &bck, &obj).await,
                            _ => self.get_obj_local(&req, &bck, &obj).await,
                        }
                    }
                    (&Method::GET, "jobs") => Ok(self.jobs_snap()),
                    (&Method::GET, "status") => {
                        Ok(self.reb_status(req.items.get(2).map(String::as_str).unwrap_or("")))
                    }
                    _ => Err(bad_path(&req)),
                }
            }
            _ => Err(bad_path(&req)),
        }
    }
}

impl ais_metasync::Handler for Target {
    async fn push(&self, revs: Revs) -> Result<Versions, Error> {
        let inst = self.ctl.meta.install(revs)?;
        self.after_install(inst).await;
        Ok(self.ctl.meta.versions())
    }

    async fn pull(&self) -> Revs {
        self.ctl.meta.revs(self.id())
    }

    async fn join(&self, _node: Snode) -> Result<Revs, Error> {
        Err(Error::bad_request(format!(
            "{} is a target: join through a proxy",
            self.name
        )))
    }

    async fn keepalive(&self, _id: String, _v: Versions) -> Result<pb::HeartbeatReply, Error> {
        Err(Error::new(
            ErrKind::Unavailable,
            format!("{} is a target, not the primary", self.name),
        ))
    }

    async fn vote(&self, _req: pb::VoteRequest) -> pb::VoteReply {
        pb::VoteReply {
            yes: false,
            reason: "targets do not vote".into(),
        }
    }

    async fn control(&self, action: String, value: serde_json::Value) -> Result<(), Error> {
        if action == "abort" {
            let id = value.get("id").and_then(|v| v.as_str()).unwrap_or("");
            if self.abort_job(id) {
                tracing::info!(job = %id, "aborted");
            }
            return Ok(());
        }
        if action == "copy-bck" {
            let req: CopyReq = serde_json::from_value(value)
                .map_err(|e| Error::bad_request(format!("copy-bck: {e}")))?;
            let me = self
                .self_arc()
                .ok_or_else(|| Error::internal("target is shutting down"))?;
            me.start_copy(req);
            return Ok(());
        }
        if matches!(
            action.as_str(),
            "prefetch-listrange" | "evict-listrange" | "evict-remote-bck"
        ) {
            let req: SelJobReq = serde_json::from_value(value)
                .map_err(|e| Error::bad_request(format!("{action}: {e}")))?;
            let me = self
                .self_arc()
                .ok_or_else(|| Error::internal("target is shutting down"))?;
            me.start_sel_job(&action, req);
            return Ok(());
        }
        if action == "make-n-copies" || action == "ec-encode" {
            let req: BckJobReq = serde_json::from_value(value)
                .map_err(|e| Error::bad_request(format!("{action}: {e}")))?;
            let me = self
                .self_arc()
                .ok_or_else(|| Error::internal("target is shutting down"))?;
            me.start_bck_job(action == "ec-encode", req);
            return Ok(());
        }
        if action == "rebalance" || action == "resilver" {
            let id = value
                .get("id")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string();
            if id.is_empty() {
                return Err(Error::bad_request(format!("{action}: missing id")));
            }
            let me = self
                .self_arc()
                .ok_or_else(|| Error::internal("target is shutting down"))?;
            if action == "rebalance" {
                me.start_rebalance(id);
            } else {
                me.start_resilver(Some(id));
            }
            return Ok(());
        }
        let mps = self.mps();
        crate::ctl::node_control(&self.ctl, &action, &value, move || {
            for mp in mps.all() {
                for prov in ais_core::Provider::ALL {
                    let _ = std::fs::remove_dir_all(
                        std::path::Path::new(&mp.path).join(format!("@{}", prov.as_str())),
                    );
                }
            }
        })
    }
}
