//! The proxy (gateway) role: cluster map and bucket metadata owner when primary; control plane;
//! listing fan-out; redirects of object requests to their HRW target.

mod bucket;
mod cluster;

use crate::common::{self, bad_path, method_not_allowed};
use crate::intra::{Intra, MetasyncMsg};
use crate::jobs::Jobs;
use crate::metastore;
use crate::web::{self, Handler, Req, Resp};
use crate::{Error as NodeError, NodeConfig};
use ais_core::{ErrKind, Error};
use ais_meta::{Bmd, NodeRole, Smap, Snode};
use http::{Method, StatusCode};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub(crate) struct Proxy {
    cfg: Arc<NodeConfig>,
    si: Snode,
    confdir: PathBuf,
    smap: RwLock<Arc<Smap>>,
    bmd: RwLock<Arc<Bmd>>,
    /// Serializes metadata changes on the primary (held across the push to all nodes, so
    /// versions are distributed in order).
    meta_lock: tokio::sync::Mutex<()>,
    primary: bool,
    started: AtomicBool,
    start: Instant,
    intra: Intra,
    pub(crate) jobs: Jobs,
    bid_seq: std::sync::atomic::AtomicU64,
}

impl Proxy {
    pub(crate) async fn init(
        cfg: Arc<NodeConfig>,
        host: &str,
        port: u16,
    ) -> Result<Arc<Self>, NodeError> {
        let confdir = PathBuf::from(&cfg.local.confdir);
        std::fs::create_dir_all(&confdir)
            .map_err(|e| NodeError::Storage(format!("{}: {e}", confdir.display())))?;
        let id = crate::ids::proxy_id(cfg.daemon_id.as_deref(), &confdir)?;
        let si = crate::target::make_snode(&cfg, &id, NodeRole::Proxy, host, port);
        let primary_url = std::env::var("AIS_PRIMARY_EP")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| cfg.cluster.proxy.primary_url.clone());
        let primary = primary_url.trim_end_matches('/') == si.public_net.direct_url;
        let mut smap = Smap::new(String::new());
        let mut bmd = Bmd::default();
        if primary {
            if let Some(s) = metastore::load::<Smap>(&confdir, metastore::SMAP_FILE)? {
                smap = s;
            }
            if let Some(b) = metastore::load::<Bmd>(&confdir, metastore::BMD_FILE)? {
                bmd = b;
            }
            if smap.uuid.is_empty() {
                smap.uuid = if cfg.cluster.uuid.is_empty() {
                    let mut b = [0u8; 10];
                    getrandom::fill(&mut b).expect("OS random source available");
                    ais_core::id::gen_job_id(&b)
                } else {
                    cfg.cluster.uuid.clone()
                };
                smap.creation_time = creation_time();
            }
            bmd.uuid = smap.uuid.clone();
        }
        let timeout = Duration::from_millis(cfg.cluster.timeout.max_host_busy_ms);
        Ok(Arc::new(Proxy {
            intra: Intra::new(&id, timeout),
            cfg,
            si,
            confdir,
            smap: RwLock::new(Arc::new(smap)),
            bmd: RwLock::new(Arc::new(bmd)),
            meta_lock: tokio::sync::Mutex::new(()),
            primary,
            started: AtomicBool::new(false),
            start: Instant::now(),
            jobs: Jobs::default(),
            bid_seq: std::sync::atomic::AtomicU64::new(0),
        }))
    }

    pub(crate) fn id(&self) -> &str {
        &self.si.daemon_id
    }

    pub(crate) fn smap(&self) -> Arc<Smap> {
        self.smap.read().expect("smap lock").clone()
    }

    pub(crate) fn bmd(&self) -> Arc<Bmd> {
        self.bmd.read().expect("bmd lock").clone()
    }

    /// Becomes primary (or joins the primary) and starts serving.
    pub(crate) async fn start(self: &Arc<Self>) -> Result<(), NodeError> {
        if self.primary {
            let _g = self.meta_lock.lock().await;
            let mut smap = (*self.smap()).clone();
            smap.add(self.si.clone());
            smap.proxy_si = Some(self.si.clone());
            smap.version += 1;
            let bmd = self.bmd();
            self.commit(Some(smap), None)?;
            // Tell nodes from a previous run (if any) about the new map; they re-join anyway.
            let me = self.clone();
            tokio::spawn(async move {
                me.push(MetasyncMsg {
                    smap: Some((*me.smap()).clone()),
                    bmd: Some((*bmd).clone()),
                })
                .await;
            });
        } else {
            let primary = self
                .cfg
                .cluster
                .proxy
                .primary_url
                .trim_end_matches('/')
                .to_string();
            let msg = join_with_retry(&self.intra, &primary, &self.si, &self.cfg).await?;
            self.apply(msg).map_err(|e| NodeError::Join(e.msg))?;
        }
        self.started.store(true, Ordering::Release);
        Ok(())
    }

    /// Installs new metadata locally and persists it (primary: after a change; others: on push).
    fn commit(&self, smap: Option<Smap>, bmd: Option<Bmd>) -> Result<(), NodeError> {
        if let Some(s) = smap {
            metastore::save(&self.confdir, metastore::SMAP_FILE, &s)?;
            *self.smap.write().expect("smap lock") = Arc::new(s);
        }
        if let Some(b) = bmd {
            metastore::save(&self.confdir, metastore::BMD_FILE, &b)?;
            *self.bmd.write().expect("bmd lock") = Arc::new(b);
        }
        Ok(())
    }

    /// Applies a push from the primary; never moves backwards.
    fn apply(&self, msg: MetasyncMsg) -> Result<(), Error> {
        let mut smap = None;
        let mut bmd = None;
        if let Some(s) = msg.smap
            && self.smap().check_newer(&s).map_err(crate::err::from_meta)?
        {
            smap = Some(s);
        }
        if let Some(b) = msg.bmd
            && self.bmd().check_newer(&b).map_err(crate::err::from_meta)?
        {
            bmd = Some(b);
        }
        self.commit(smap, bmd)
            .map_err(|e| Error::internal(e.to_string()))
    }

    /// Pushes metadata to every other node, concurrently; logs (does not fail on) stragglers.
    pub(crate) async fn push(&self, msg: MetasyncMsg) {
        let smap = self.smap();
        let nodes: Vec<Snode> = smap
            .tmap
            .values()
            .chain(smap.pmap.values())
            .filter(|n| n.daemon_id != self.si.daemon_id)
            .cloned()
            .collect();
        let futs = nodes.iter().map(|n| {
            let msg = &msg;
            async move { (n, self.intra.metasync(n, msg).await) }
        });
        for (n, r) in futures_util::future::join_all(futs).await {
            if let Err(e) = r {
                tracing::warn!(node = %n.name(), err = %e, "metasync push failed");
            }
        }
    }

    /// Primary: changes the BMD under the metadata lock, persists, pushes to all nodes.
    pub(crate) async fn modify_bmd<F>(&self, f: F) -> Result<Arc<Bmd>, Error>
    where
        F: FnOnce(&mut Bmd) -> Result<(), Error>,
    {
        if !self.primary {
            return Err(Error::new(ErrKind::Unavailable, "not the primary proxy"));
        }
        let _g = self.meta_lock.lock().await;
        let mut bmd = (*self.bmd()).clone();
        f(&mut bmd)?;
        self.commit(None, Some(bmd.clone()))
            .map_err(|e| Error::internal(e.to_string()))?;
        self.push(MetasyncMsg {
            smap: None,
            bmd: Some(bmd),
        })
        .await;
        Ok(self.bmd())
    }

    /// Primary: adds or updates a node in the Smap and pushes the new map to everyone.
    async fn handle_join(&self, mut node: Snode) -> Result<MetasyncMsg, Error> {
        if !self.primary {
            return Err(Error::new(
                ErrKind::Unavailable,
                format!("{} is not the primary proxy", self.si.name()),
            ));
        }
        ais_core::id::validate_node_id(&node.daemon_id)?;
        node.fix_digest();
        let _g = self.meta_lock.lock().await;
        let mut smap = (*self.smap()).clone();
        if smap.add(node.clone()) {
            tracing::info!(node = %node.name(), url = %node.public_net.direct_url, version = smap.version, "node joined");
            self.commit(Some(smap), None)
                .map_err(|e| Error::internal(e.to_string()))?;
            self.push(MetasyncMsg {
                smap: Some((*self.smap()).clone()),
                bmd: None,
            })
            .await;
        }
        Ok(MetasyncMsg {
            smap: Some((*self.smap()).clone()),
            bmd: Some((*self.bmd()).clone()),
        })
    }

    fn node_flags(&self) -> u64 {
        if self.started.load(Ordering::Acquire) {
            common::NODE_STARTED_FLAGS
        } else {
            0
        }
    }

    fn ready(&self) -> bool {
        self.started.load(Ordering::Acquire)
            && (!self.primary || self.smap().count_active_targets() > 0)
    }

    async fn health(&self, req: &Req) -> Result<Resp, Error> {
        if !self.started.load(Ordering::Acquire) {
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
        let up = self.start.elapsed().as_nanos();
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
                self.cfg.cluster.config_version,
                self.node_flags(),
            ))
        } else if !self.primary {
            if ciiapr || apr {
                return Err(Error::bad_request("misdirected health-of-primary request"));
            }
            // prr: ask the primary
            let url = match self.smap().proxy_si.as_ref() {
                Some(p) => format!("{}/v1/health?prr=true", p.public_net.direct_url),
                None => return Ok(web::status(web::ok(), StatusCode::SERVICE_UNAVAILABLE)),
            };
            return self
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
                self.cfg.cluster.config_version,
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
        if bck.is_ais() {
            self.bmd().need(&bck)?;
        } else {
            return Err(Error::new(
                ErrKind::NotImplemented,
                format!(
                    "bucket \"{}\": remote backends are not configured",
                    bck.cname()
                ),
            ));
        }
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
            self.si.daemon_id,
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

    async fn metasync(&self, req: &mut Req) -> Result<Resp, Error> {
        let b = req.read_body().await?;
        let msg: MetasyncMsg =
            serde_json::from_slice(&b).map_err(|e| Error::bad_request(format!("metasync: {e}")))?;
        self.apply(msg)?;
        Ok(web::json(&serde_json::json!({})))
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
        self.intra
            .forward(req.method.clone(), url, &req.headers, body)
            .await
    }
}

pub(crate) async fn join_with_retry(
    intra: &Intra,
    primary: &str,
    me: &Snode,
    cfg: &NodeConfig,
) -> Result<MetasyncMsg, NodeError> {
    let deadline = Instant::now() + Duration::from_millis(cfg.cluster.timeout.startup_ms);
    let mut delay = Duration::from_millis(50);
    loop {
        match intra.join(primary, me).await {
            Ok(m) => return Ok(m),
            Err(e) if Instant::now() + delay < deadline => {
                tracing::debug!(err = %e, "join: primary not ready, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
            Err(e) => return Err(NodeError::Join(format!("primary {primary}: {e}"))),
        }
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

impl Handler for Proxy {
    fn node_name(&self) -> String {
        self.si.name()
    }

    async fn handle(self: Arc<Self>, mut req: Req) -> Result<Resp, Error> {
        let first = req.items.first().map(String::as_str).unwrap_or("");
        match first {
            "objects" => match req.method {
                Method::GET
                | Method::PUT
                | Method::HEAD
                | Method::DELETE
                | Method::PATCH
                | Method::POST => self.redirect(&mut req),
                _ => Err(method_not_allowed(&req)),
            },
            "buckets" => self.handle_buckets(&mut req).await,
            "health" => self.health(&req).await,
            "daemon" => self.handle_daemon(&mut req).await,
            "cluster" => self.handle_cluster(&mut req).await,
            "reverse" => self.handle_reverse(&mut req).await,
            "metasync" if req.method == Method::PUT => self.metasync(&mut req).await,
            _ => Err(bad_path(&req)),
        }
    }
}
