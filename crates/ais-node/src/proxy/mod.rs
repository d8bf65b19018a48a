//! The proxy (gateway) role: cluster map and bucket metadata owner when primary; control plane;
//! listing fan-out; redirects of object requests to their HRW target.

mod bucket;
mod cluster;
mod ctl;
mod reb;
mod remais;
mod s3;

use crate::common::{self, bad_path, method_not_allowed};
use crate::ctl::Ctl;
use crate::meta::NodeMeta;
use crate::web::{self, Handler, Req, Resp};
use crate::{Error as NodeError, NodeConfig};
use ais_core::{ErrKind, Error};
use ais_meta::{Bmd, Smap, Snode};
use ais_metasync::Revs;
use ais_metasync::keepalive::Tracker;
use ais_xact::Jobs;
use http::{Method, StatusCode};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) struct Proxy {
    pub(crate) ctl: Ctl,
    /// Serializes metadata changes on the primary (held across persist and push, so versions
    /// are distributed in order).
    meta_lock: tokio::sync::Mutex<()>,
    /// Primary: when each node last sent a heartbeat.
    tracker: Mutex<Tracker>,
    /// An election is running on this proxy.
    electing: AtomicBool,
    pub(crate) jobs: Jobs,
    bid_seq: AtomicU64,
    /// Relays S3 object requests to targets (streams; no overall timeout).
    s3_relay: reqwest::Client,
    /// The backends of remote (`aws://`, `gcp://`, `azure://`) buckets, from the environment.
    pub(crate) backends: ais_backend::Backends,
    weak: std::sync::Weak<Proxy>,
}

impl Proxy {
    pub(crate) fn new(
        cfg: Arc<NodeConfig>,
        si_of: impl FnOnce(&str) -> Snode,
    ) -> Result<Arc<Self>, NodeError> {
        let confdir = PathBuf::from(&cfg.local.confdir);
        let meta = NodeMeta::load(confdir.clone(), &cfg.cluster, cfg.log_level.clone())?;
        let id = crate::ids::proxy_id(cfg.daemon_id.as_deref(), &confdir)?;
        let si = si_of(&id);
        let ctl = Ctl::new(si, meta, cfg)?;
        Ok(Arc::new_cyclic(|weak| Proxy {
            weak: weak.clone(),
            ctl,
            meta_lock: tokio::sync::Mutex::new(()),
            tracker: Mutex::new(Tracker::default()),
            electing: AtomicBool::new(false),
            jobs: Jobs::default(),
            bid_seq: AtomicU64::new(0),
            s3_relay: s3::relay_client(),
            backends: crate::common::backends_from_env(),
        }))
    }

    pub(crate) fn id(&self) -> &str {
        self.ctl.id()
    }

    pub(crate) fn smap(&self) -> Arc<Smap> {
        self.ctl.meta.smap()
    }

    pub(crate) fn bmd(&self) -> Arc<Bmd> {
        self.ctl.meta.bmd()
    }

    /// Whether this proxy starts as primary: its public URL is the configured primary URL (or
    /// env `AIS_PRIMARY_EP`).
    fn designated_primary(&self) -> bool {
        let url = std::env::var("AIS_PRIMARY_EP")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| self.ctl.cfg.cluster.proxy.primary_url.clone());
        url.trim_end_matches('/') == self.ctl.me.public_net.direct_url
    }

    /// Start-up: find out whether a primary is already running (ask every node of the persisted
    /// map); join it if so, else become primary if designated (or primary before), else join
    /// the configured primary.
    pub(crate) async fn start(self: &Arc<Self>) -> Result<(), NodeError> {
        let persisted = self.smap();
        let mut live_primary: Option<Snode> = None;
        if persisted.version > 0 {
            self.ctl.catch_up_from_proxies().await;
            let best = self.smap();
            if let Some(p) = best.proxy_si.as_ref().filter(|p| p.daemon_id != self.id())
                && self.ctl.probe(&p.intra_control_net.direct_url).await
            {
                live_primary = Some(p.clone());
            }
        }
        let was_primary = persisted.is_primary(self.id());
        if live_primary.is_none() && (self.designated_primary() || was_primary) {
            self.become_primary(None)
                .await
                .map_err(|e| NodeError::Join(e.msg))?;
        } else {
            self.ctl.join().await?;
        }
        self.ctl
            .started
            .store(true, std::sync::atomic::Ordering::Release);
        let me = self.clone();
        tokio::spawn(async move { me.keepalive_loop().await });
        tokio::spawn(crate::ctl::statsd_loop(self.clone()));
        Ok(())
    }

    /// Installs a Smap with this proxy as primary (after start-up, an election or a handover)
    /// and tells everyone. `old` is a primary to drop from the map.
    pub(crate) async fn become_primary(&self, old: Option<&str>) -> Result<(), Error> {
        let _g = self.meta_lock.lock().await;
        let mut smap = (*self.smap()).clone();
        if smap.uuid.is_empty() {
            smap.uuid = if self.ctl.cfg.cluster.uuid.is_empty() {
                let mut b = [0u8; 10];
                getrandom::fill(&mut b).expect("OS random source available");
                ais_core::id::gen_job_id(&b)
            } else {
                self.ctl.cfg.cluster.uuid.clone()
            };
            smap.creation_time = creation_time();
        }
        if let Some(old) = old {
            smap.pmap.remove(old);
        }
        smap.pmap.insert(self.id().to_string(), self.ctl.me.clone());
        smap.proxy_si = Some(self.ctl.me.clone());
        smap.version += 1;
        self.ctl.meta.set_smap(smap)?;
        let mut bmd = (*self.bmd()).clone();
        if bmd.uuid.is_empty() {
            bmd.uuid = self.smap().uuid.clone();
            bmd.version += 1;
            self.ctl.meta.set_bmd(bmd)?;
        }
        self.reset_tracker();
        tracing::info!(smap = self.smap().version, "primary");
        let revs = self.ctl.meta.revs(self.id());
        self.ctl.push_all(&revs).await;
        Ok(())
    }

    fn reset_tracker(&self) {
        let smap = self.smap();
        let ids: Vec<&str> = smap
            .tmap
            .keys()
            .chain(smap.pmap.keys())
            .map(String::as_str)
            .collect();
        self.tracker
            .lock()
            .expect("tracker lock")
            .reset(ids, Instant::now());
        // A new primary takes over tracking the jobs its predecessor started.
        if let Some(me) = self.weak.upgrade() {
            tokio::spawn(async move {
                me.adopt_jobs().await;
            });
        }
    }

    /// Primary: changes the BMD under the metadata lock, persists, pushes to all nodes.
    pub(crate) async fn modify_bmd<F>(&self, f: F) -> Result<Arc<Bmd>, Error>
    where
        F: FnOnce(&mut Bmd) -> Result<(), Error>,
    {
        let _g = self.meta_lock.lock().await;
        if !self.ctl.is_primary() {
            return Err(Error::new(ErrKind::Unavailable, "not the primary proxy"));
        }
        let mut bmd = (*self.bmd()).clone();
        f(&mut bmd)?;
        self.ctl.meta.set_bmd(bmd)?;
        let revs = Revs {
            bmd: Some((*self.bmd()).clone()),
            sender: self.id().to_string(),
            ..Default::default()
        };
        self.ctl.push_all(&revs).await;
        Ok(self.bmd())
    }

    /// Primary: changes the Smap under the metadata lock, persists, pushes to all nodes
    /// (including those `f` removed, so they learn it). `f` returns whether anything changed.
    pub(crate) async fn modify_smap<F>(&self, f: F) -> Result<Arc<Smap>, Error>
    where
        F: FnOnce(&mut Smap) -> Result<bool, Error>,
    {
        let _g = self.meta_lock.lock().await;
        if !self.ctl.is_primary() {
            return Err(Error::new(ErrKind::Unavailable, "not the primary proxy"));
        }
        let before = self.smap();
        let mut smap = (*before).clone();
        if !f(&mut smap)? {
            return Ok(before);
        }
        smap.version = before.version + 1;
        // Joining nodes get everything (Smap, BMD, config) before anyone can route to them.
        let newcomers: Vec<Snode> = smap
            .tmap
            .values()
            .chain(smap.pmap.values())
            .filter(|n| n.daemon_id != self.id() && before.get(&n.daemon_id).is_none())
            .cloned()
            .collect();
        if !newcomers.is_empty() {
            let mut full = self.ctl.meta.revs(self.id());
            full.smap = Some(smap.clone());
            let pb = full.to_pb();
            for n in &newcomers {
                if let Err(e) = self
                    .ctl
                    .peers
                    .push(&n.intra_control_net.direct_url, &pb)
                    .await
                {
                    tracing::warn!(node = %n.name(), err = %e, "push to a joining node failed");
                }
            }
        }
        self.ctl.meta.set_smap(smap)?;
        let revs = Revs {
            smap: Some((*self.smap()).clone()),
            sender: self.id().to_string(),
            ..Default::default()
        };
        self.ctl.push_all(&revs).await;
        let now = self.smap();
        if let Some(me) = self.weak.upgrade() {
            me.maybe_rebalance(&before, &now);
        }
        // nodes that were dropped also get the news (they stop heartbeating as members)
        let pb = revs.to_pb();
        for n in before.tmap.values().chain(before.pmap.values()) {
            if now.get(&n.daemon_id).is_none() && n.daemon_id != self.id() {
                let _ = self
                    .ctl
                    .peers
                    .push(&n.intra_control_net.direct_url, &pb)
                    .await;
            }
        }
        Ok(now)
    }

    /// Primary: changes the cluster config by dotted paths, bumps its version, pushes it.
    pub(crate) async fn set_cluster_config(&self, kvs: &[(String, String)]) -> Result<Resp, Error> {
        self.modify_config(|c| c.set_by_path(kvs)).await?;
        tracing::info!(
            version = self.ctl.meta.config().config_version,
            ?kvs,
            "cluster config changed"
        );
        Ok(web::ok())
    }

    /// Primary: changes the cluster config with `f`, bumps its version, persists, pushes it.
    pub(crate) async fn modify_config<F>(&self, f: F) -> Result<(), Error>
    where
        F: FnOnce(&mut ais_core::config::ClusterConfig) -> Result<(), Error>,
    {
        let _g = self.meta_lock.lock().await;
        let mut c = (*self.ctl.meta.config()).clone();
        f(&mut c)?;
        c.config_version += 1;
        self.ctl.meta.set_config(c)?;
        let mut revs = self.ctl.meta.revs(self.id());
        revs.smap = None;
        revs.bmd = None;
        self.ctl.push_all(&revs).await;
        Ok(())
    }

    /// Adds (or updates) a node: on the primary directly, elsewhere forwarded to the primary.
    pub(crate) async fn handle_join(&self, mut node: Snode) -> Result<Revs, Error> {
        ais_core::id::validate_node_id(&node.daemon_id)?;
        node.fix_digest();
        if !self.ctl.is_primary() {
            let smap = self.smap();
            let p = smap
                .proxy_si
                .as_ref()
                .ok_or_else(|| Error::new(ErrKind::Unavailable, "primary proxy unknown"))?;
            return self
                .ctl
                .peers
                .join(&p.intra_control_net.direct_url, &node)
                .await
                .map_err(|e| Error::new(e.kind(), e.to_string()));
        }
        let id = node.daemon_id.clone();
        let n2 = node.clone();
        self.modify_smap(move |smap| {
            // another node id at the same address is a previous incarnation: drop it
            let stale: Vec<String> = smap
                .tmap
                .values()
                .chain(smap.pmap.values())
                .filter(|x| {
                    x.daemon_id != n2.daemon_id
                        && x.public_net.direct_url == n2.public_net.direct_url
                })
                .map(|x| x.daemon_id.clone())
                .collect();
            for s in &stale {
                smap.tmap.remove(s);
                smap.pmap.remove(s);
            }
            let existed = smap.get(&n2.daemon_id).cloned();
            let mut n = n2;
            if let Some(old) = &existed {
                n.flags = old.flags; // keep maintenance state across restarts
            }
            let changed = existed.as_ref() != Some(&n) || !stale.is_empty();
            if changed {
                let map = match n.daemon_type {
                    ais_meta::NodeRole::Proxy => &mut smap.pmap,
                    ais_meta::NodeRole::Target => &mut smap.tmap,
                };
                map.insert(n.daemon_id.clone(), n);
            }
            Ok(changed)
        })
        .await?;
        self.tracker
            .lock()
            .expect("tracker lock")
            .touch(&id, Instant::now());
        tracing::info!(node = %node.name(), url = %node.public_net.direct_url, smap = self.smap().version, "node joined");
        Ok(self.ctl.meta.revs(self.id()))
    }

    fn node_flags(&self) -> u64 {
        let mut f = if self.ctl.is_started() {
            common::NODE_STARTED_FLAGS
        } else {
            0
        };
        if self.electing.load(std::sync::atomic::Ordering::Acquire) {
            f |= 1; // VoteInProgress
        }
        f
    }

    fn ready(&self) -> bool {
        self.ctl.is_started() && (!self.ctl.is_primary() || self.smap().count_active_targets() > 0)
    }

    async fn health(&self, req: &Req) -> Result<Resp, Error> {
        if !self.ctl.is_started() {
            return Ok(web::status(web::ok(), StatusCode::SERVICE_UNAVAILABLE));
        }
        let (cii, apr, ciiapr, prr) = (
            req.q_bool("cii"),
            req.q_bool("apr"),
            req.q_bool("cii-apr"),
            req.q_bool("prr"),
        );
        if ciiapr && (cii || apr) {
            return Err(Error::bad_request(
                "invalid health query: cii-apr with cii or apr",
            ));
        }
        if prr && (cii || ciiapr) {
            return Err(Error::bad_request("invalid health query: prr with cii"));
        }
        let up = self.ctl.start.elapsed().as_nanos();
        let mut r = if !prr && !cii && !ciiapr {
            if req.raw_query.contains("readiness=true") && !self.ready() {
                web::status(web::ok(), StatusCode::SERVICE_UNAVAILABLE)
            } else {
                web::ok()
            }
        } else if cii && !apr {
            web::json(&common::node_state_info(
                &self.smap(),
                &self.bmd(),
                self.ctl.meta.config().config_version,
                self.node_flags(),
            ))
        } else if !self.ctl.is_primary() {
            if ciiapr || apr {
                return Err(Error::bad_request("misdirected health-of-primary request"));
            }
            // prr: ask the primary
            let url = match self.smap().proxy_si.as_ref() {
                Some(p) => format!("{}/v1/health?prr=true", p.public_net.direct_url),
                None => return Ok(web::status(web::ok(), StatusCode::SERVICE_UNAVAILABLE)),
            };
            return self
                .ctl
                .intra
                .forward(
                    Method::GET,
                    url,
                    &http::HeaderMap::new(),
                    bytes::Bytes::new(),
                )
                .await;
        } else if prr {
            if self.ready() {
                web::ok()
            } else {
                web::status(web::ok(), StatusCode::SERVICE_UNAVAILABLE)
            }
        } else {
            web::json(&common::node_state_info(
                &self.smap(),
                &self.bmd(),
                self.ctl.meta.config().config_version,
                self.node_flags(),
            ))
        };
        common::uptime_headers(&mut r, up, up);
        Ok(r)
    }

    /// Redirects an object request to its HRW target: 301 for GET, 307 otherwise.
    fn redirect(&self, req: &mut Req) -> Result<Resp, Error> {
        let bname = req.items.get(1).map(String::as_str).unwrap_or("");
        if bname.is_empty() {
            return Err(Error::bad_request("missing bucket name"));
        }
        let bck = common::req_bck(req, bname)?;
        let obj = common::obj_name(req, 2);
        if obj.is_empty() {
            return Err(Error::new(
                ErrKind::NotImplemented,
                format!(
                    "{} {} (object name is empty): not supported",
                    req.method, req.raw_path
                ),
            ));
        }
        ais_core::name::validate_obj_name(&obj, req.method == Method::HEAD)?;
        self.bmd().need(&bck)?;
        let smap = self.smap();
        let t = smap
            .hrw_target(&bck.uname(&obj))
            .map_err(crate::err::from_meta)?;
        let mut loc = String::with_capacity(
            t.public_net.direct_url.len() + req.raw_path.len() + req.raw_query.len() + 48,
        );
        loc.push_str(&t.public_net.direct_url);
        loc.push_str(&req.raw_path);
        loc.push('?');
        if !req.raw_query.is_empty() {
            loc.push_str(&req.raw_query);
            loc.push('&');
        }
        loc.push_str(&format!(
            "pid={}&utm={}",
            self.ctl.me.daemon_id,
            ais_core::time::now_nanos()
        ));
        let code = if req.method == Method::GET {
            StatusCode::MOVED_PERMANENTLY
        } else {
            StatusCode::TEMPORARY_REDIRECT
        };
        if matches!(req.method, Method::PUT | Method::POST | Method::PATCH) {
            drain(req.body.take());
        }
        let mut r = web::status(web::ok(), code);
        r.headers_mut().insert(
            http::header::LOCATION,
            http::HeaderValue::from_str(&loc)
                .map_err(|_| Error::bad_request("invalid redirect location"))?,
        );
        Ok(r)
    }

    /// Object requests on a remote bucket: make sure it is in the BMD (first access adds it).
    async fn ensure_remote_of(self: &Arc<Self>, req: &Req) -> Result<(), Error> {
        let bname = req.items.get(1).map(String::as_str).unwrap_or("");
        if bname.is_empty() {
            return Ok(());
        }
        let bck = common::req_bck(req, bname)?;
        self.ensure_bucket(&bck).await
    }

    /// A bucket must be in the BMD: `ais://` ones are created explicitly; a remote one the
    /// backend has is added on first access (by the primary, which pushes the new BMD before
    /// answering; other proxies ask it).
    pub(crate) async fn ensure_bucket(self: &Arc<Self>, bck: &ais_core::Bck) -> Result<(), Error> {
        if bck.is_ais() || self.bmd().get(bck).is_some() {
            self.bmd().need(bck)?;
            return Ok(());
        }
        let Some(be) = common::bucket_backend(&self.ctl, &self.backends, bck, None)? else {
            return Err(crate::common::no_backend(bck));
        };
        if !self.ctl.is_primary() {
            let smap = self.smap();
            let p = smap
                .proxy_si
                .as_ref()
                .ok_or_else(|| Error::new(ErrKind::Unavailable, "primary proxy unknown"))?;
            let mut url = format!(
                "{}/v1/buckets/{}?provider={}",
                p.public_net.direct_url,
                bck.name,
                bck.provider.as_str()
            );
            if !bck.namespace.is_global() {
                url.push_str("&namespace=");
                url.push_str(
                    &percent_encoding::utf8_percent_encode(
                        &bck.namespace.uname(),
                        percent_encoding::NON_ALPHANUMERIC,
                    )
                    .to_string(),
                );
            }
            let r = self
                .ctl
                .intra
                .request(reqwest::Method::HEAD, &url)
                .send()
                .await
                .map_err(|e| Error::new(ErrKind::Unavailable, format!("{url}: {e}")))?;
            if !r.status().is_success() {
                return Err(Error::new(
                    ErrKind::BckNotFound,
                    format!("bucket \"{}\" does not exist", bck.cname()),
                ));
            }
            self.bmd().need(bck)?;
            return Ok(());
        }
        be.head_bucket(&bck.name)
            .await
            .map_err(|e| match crate::err::backend_err(e) {
                e if e.kind() == ErrKind::NotFound => Error::new(
                    ErrKind::BckNotFound,
                    format!("bucket \"{}\" does not exist", bck.cname()),
                ),
                e => e,
            })?;
        let now = ais_core::time::now_nanos();
        let bid = (now as u64)
            ^ self
                .bid_seq
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let props = ais_meta::Bprops::new(bck.provider, &self.ctl.meta.config(), now, bid);
        let b = bck.clone();
        self.modify_bmd(move |bmd| {
            if bmd.get(&b).is_some() {
                return Ok(());
            }
            bmd.add(&b, props).map_err(crate::err::from_meta)
        })
        .await?;
        tracing::info!(bck = %bck, "remote bucket added");
        Ok(())
    }

    /// Forwards a control request to the primary (non-primary proxies).
    async fn to_primary(&self, req: &mut Req) -> Result<Resp, Error> {
        let smap = self.smap();
        let p = smap
            .proxy_si
            .as_ref()
            .ok_or_else(|| Error::new(ErrKind::Unavailable, "primary proxy unknown"))?;
        let body = req.read_body().await?;
        let mut url = format!("{}{}", p.public_net.direct_url, req.raw_path);
        if !req.raw_query.is_empty() {
            url.push('?');
            url.push_str(&req.raw_query);
        }
        self.ctl
            .intra
            .forward(req.method.clone(), url, &req.headers, body)
            .await
    }
}

/// Longest time the proxy keeps reading (and discarding) a body it redirected.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(300);

/// Reads and discards a request body in the background. Clients such as Python `requests`
/// send the whole PUT body before reading the 307; leaving it unread would make the connection
/// reset under them (and break keep-alive). Bounded by [`DRAIN_TIMEOUT`]; nothing is buffered.
fn drain(body: Option<hyper::body::Incoming>) {
    use http_body_util::BodyExt;
    let Some(mut body) = body else { return };
    if http_body::Body::is_end_stream(&body) {
        return;
    }
    tokio::spawn(async move {
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
            while let Some(Ok(_)) = body.frame().await {}
        })
        .await;
    });
}

fn creation_time() -> String {
    let s = ais_core::time::rfc3339_nanos(ais_core::time::now_nanos());
    // "2006-01-02 15:04:05"
    s.get(..19).map(|x| x.replace('T', " ")).unwrap_or_default()
}

impl AsRef<Ctl> for Proxy {
    fn as_ref(&self) -> &Ctl {
        &self.ctl
    }
}

impl Handler for Proxy {
    fn node_name(&self) -> String {
        self.ctl.me.name()
    }

    async fn handle_s3(
        self: Arc<Self>,
        req: http::Request<hyper::body::Incoming>,
        remote: std::net::SocketAddr,
    ) -> Resp {
        self.serve_s3(req, remote).await
    }

    fn metrics_text(&self) -> String {
        self.ctl.refresh_stats(self.node_flags());
        self.ctl.stats.prometheus_text()
    }

    fn debug_vars(&self) -> serde_json::Value {
        self.ctl.refresh_stats(self.node_flags());
        let jobs = self.jobs.find("", true).len();
        self.ctl
            .debug_vars(serde_json::json!({"running_jobs": jobs}))
    }

    async fn handle(self: Arc<Self>, mut req: Req) -> Result<Resp, Error> {
        let first = req.items.first().map(String::as_str).unwrap_or("");
        match first {
            "objects" => {
                let t0 = Instant::now();
                let st = &self.ctl.stats;
                let op = match req.method {
                    Method::GET => Some(&st.get),
                    Method::PUT => Some(&st.put),
                    Method::HEAD => Some(&st.head),
                    Method::DELETE => Some(&st.del),
                    Method::PATCH | Method::POST => None,
                    _ => return Err(method_not_allowed(&req)),
                };
                let r = match self.ensure_remote_of(&req).await {
                    Ok(()) => self.redirect(&mut req),
                    Err(e) => Err(e),
                };
                if let (Some(op), true) = (op, st.enabled()) {
                    common::account(op, &r, t0, 0);
                }
                r
            }
            "buckets" => self.handle_buckets(&mut req).await,
            "health" => self.health(&req).await,
            "daemon" => self.handle_daemon(&mut req).await,
            "cluster" => self.handle_cluster(&mut req).await,
            "reverse" => self.handle_reverse(&mut req).await,
            _ => Err(bad_path(&req)),
        }
    }
}
