//! Cluster membership shared by both roles: joining, heartbeats to the primary, pushing
//! revisions (primary), catching up, and the node's own stop request.

use crate::intra::Intra;
use crate::meta::{Installed, NodeMeta};
use crate::{Error as NodeError, NodeConfig};
use ais_core::Error;
use ais_meta::Snode;
use ais_metasync::{Peers, Revs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Outcome of one heartbeat.
pub(crate) enum Beat {
    /// We are the primary: nothing to report to.
    Primary,
    /// The primary knows us and we are up to date.
    Fine,
    /// The primary does not have us in its map: join again.
    Unknown,
    /// We were behind and installed newer revisions.
    CaughtUp(Installed),
}

pub(crate) struct Ctl {
    pub(crate) me: Snode,
    pub(crate) meta: NodeMeta,
    pub(crate) peers: Peers,
    pub(crate) intra: Intra,
    pub(crate) cfg: Arc<NodeConfig>,
    pub(crate) started: AtomicBool,
    pub(crate) start: Instant,
    pub(crate) stop: tokio::sync::watch::Sender<bool>,
    pub(crate) stats: ais_stats::Stats,
    /// Set when the node was told to leave (shutdown, decommission): no more heartbeats or joins.
    leaving: AtomicBool,
    /// Domains of S3 virtual-hosted addressing (see `s3::vhost_domains_from_env`).
    pub(crate) s3_vhost_domains: Vec<String>,
}

impl Ctl {
    pub(crate) fn new(me: Snode, meta: NodeMeta, cfg: Arc<NodeConfig>) -> Result<Self, NodeError> {
        let c = meta.config();
        let peers = Peers::new(
            &cfg.cluster.auth.join_secret,
            Duration::from_millis(c.timeout.cplane_operation_ms),
        )
        .map_err(|e| NodeError::Config(e.to_string()))?;
        let intra = Intra::new(
            &me.daemon_id,
            &cfg.cluster.auth.join_secret,
            Duration::from_millis(c.timeout.max_host_busy_ms),
        );
        let role = match me.daemon_type {
            ais_meta::NodeRole::Proxy => ais_stats::Role::Proxy,
            ais_meta::NodeRole::Target => ais_stats::Role::Target,
        };
        let stats = ais_stats::Stats::new(role, &me.daemon_id);
        stats.set_enabled(c.metrics.enabled);
        Ok(Ctl {
            leaving: AtomicBool::new(false),
            s3_vhost_domains: crate::s3::vhost_domains_from_env(),
            stats,
            me,
            meta,
            peers,
            intra,
            cfg,
            started: AtomicBool::new(false),
            start: Instant::now(),
            stop: tokio::sync::watch::channel(false).0,
        })
    }

    pub(crate) fn id(&self) -> &str {
        &self.me.daemon_id
    }

    pub(crate) fn is_primary(&self) -> bool {
        self.meta.smap().is_primary(&self.me.daemon_id)
    }

    /// Whether the node was told to leave the cluster.
    pub(crate) fn is_leaving(&self) -> bool {
        self.leaving.load(Ordering::Acquire)
    }

    pub(crate) fn is_started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    pub(crate) fn interval(&self) -> Duration {
        Duration::from_millis(self.meta.config().keepalivetracker.interval_ms)
    }

    /// How long the primary may stay silent before it is suspected.
    pub(crate) fn primary_timeout(&self) -> Duration {
        Duration::from_millis(self.meta.config().keepalivetracker.primary_timeout_ms)
    }

    /// Waits one keepalive interval; false when the node is stopping or leaving (the loop ends).
    pub(crate) async fn keepalive_tick(
        &self,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(self.interval()) => !self.is_leaving(),
            _ = stop.changed() => false,
        }
    }

    /// Resolves when the node asked to stop.
    pub(crate) fn stopped(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Pushes `revs` to every other node in the current Smap, concurrently; returns how many
    /// nodes acknowledged. Failures are logged: a node that misses a push catches up on its
    /// next heartbeat.
    pub(crate) async fn push_all(&self, revs: &Revs) -> usize {
        let smap = self.meta.smap();
        let pb = revs.to_pb();
        let nodes: Vec<&Snode> = smap
            .tmap
            .values()
            .chain(smap.pmap.values())
            .filter(|n| n.daemon_id != self.me.daemon_id)
            .collect();
        let futs = nodes.iter().map(|n| {
            let pb = &pb;
            async move {
                (
                    n,
                    self.peers.push(&n.intra_control_net.direct_url, pb).await,
                )
            }
        });
        let mut ok = 0;
        for (n, r) in futures_util::future::join_all(futs).await {
            match r {
                Ok(_) => ok += 1,
                Err(e) => tracing::warn!(node = %n.name(), err = %e, "metasync push failed"),
            }
        }
        ok
    }

    /// Joins the cluster: asks the known primary, then the configured primary URL, then any
    /// other proxy we know of (they forward to the primary), until the start-up timeout.
    pub(crate) async fn join(&self) -> Result<Installed, NodeError> {
        if self.is_leaving() {
            return Err(NodeError::Join("this node is leaving the cluster".into()));
        }
        let deadline =
            Instant::now() + Duration::from_millis(self.meta.config().timeout.startup_ms);
        let mut delay = Duration::from_millis(50);
        loop {
            let smap = self.meta.smap();
            let mut urls: Vec<String> = Vec::new();
            if let Some(p) = smap
                .proxy_si
                .as_ref()
                .filter(|p| p.daemon_id != self.me.daemon_id)
            {
                urls.push(p.public_net.direct_url.clone());
            }
            let cfg_primary = self
                .cfg
                .cluster
                .proxy
                .primary_url
                .trim_end_matches('/')
                .to_string();
            if !cfg_primary.is_empty() && cfg_primary != self.me.public_net.direct_url {
                urls.push(cfg_primary);
            }
            urls.extend(
                smap.pmap
                    .values()
                    .filter(|p| p.daemon_id != self.me.daemon_id)
                    .map(|p| p.public_net.direct_url.clone()),
            );
            urls.dedup();
            let mut last = String::from("no proxy to join");
            for url in &urls {
                match self.intra.join(url, &self.me).await {
                    Ok(revs) => {
                        let inst = self
                            .meta
                            .install(revs)
                            .map_err(|e| NodeError::Join(e.msg))?;
                        tracing::info!(via = %url, smap = self.meta.smap().version, "joined the cluster");
                        return Ok(inst);
                    }
                    Err(e) => {
                        tracing::debug!(%url, err = %e, "join attempt failed");
                        last = format!("{url}: {e}");
                    }
                }
            }
            if Instant::now() + delay >= deadline {
                return Err(NodeError::Join(last));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(500));
        }
    }

    /// One heartbeat to the current primary (and a catch-up pull when behind).
    pub(crate) async fn heartbeat(&self) -> Result<Beat, ais_metasync::Error> {
        let smap = self.meta.smap();
        let Some(p) = smap.proxy_si.as_ref() else {
            return Err(ais_metasync::Error::Unreachable {
                peer: String::new(),
                msg: "no primary in the cluster map".into(),
            });
        };
        if p.daemon_id == self.me.daemon_id {
            return Ok(Beat::Primary);
        }
        let url = &p.intra_control_net.direct_url;
        let reply = self
            .peers
            .keepalive(url, &self.me.daemon_id, self.meta.versions())
            .await?;
        if !reply.known {
            return Ok(Beat::Unknown);
        }
        let theirs = reply
            .versions
            .map(ais_metasync::Versions::from)
            .unwrap_or_default();
        if self.meta.versions().behind(&theirs) {
            let revs = self.peers.pull(url).await?;
            let inst = self.meta.install(revs)?;
            return Ok(Beat::CaughtUp(inst));
        }
        Ok(Beat::Fine)
    }

    /// Pulls from every proxy we know (short timeout) and installs anything newer; returns
    /// what changed. Used when the primary is unreachable, to learn about a new one.
    pub(crate) async fn catch_up_from_proxies(&self) -> Installed {
        let smap = self.meta.smap();
        let quick = self.peers.with_timeout(Duration::from_millis(500));
        let futs = smap
            .pmap
            .values()
            .filter(|p| p.daemon_id != self.me.daemon_id)
            .map(|p| quick.pull(&p.intra_control_net.direct_url));
        let mut all = Installed::default();
        for r in futures_util::future::join_all(futs)
            .await
            .into_iter()
            .flatten()
        {
            if let Ok(i) = self.meta.install(r) {
                all.old_smap = all.old_smap.or(i.old_smap);
                all.old_bmd = all.old_bmd.or(i.old_bmd);
            }
        }
        all
    }

    /// Whether the proxy at control URL `url` answers within a short time.
    pub(crate) async fn probe(&self, url: &str) -> bool {
        self.peers
            .with_timeout(Duration::from_millis(1000))
            .pull(url)
            .await
            .is_ok()
    }

    /// Checks a join secret presented over HTTP.
    pub(crate) fn check_secret(&self, got: Option<&str>) -> Result<(), Error> {
        let want = self.cfg.cluster.auth.join_secret.as_bytes();
        let got = got.unwrap_or("").as_bytes();
        let same =
            want.len() == got.len() && want.iter().zip(got).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0;
        if same {
            Ok(())
        } else {
            Err(Error::new(
                ais_core::ErrKind::Forbidden,
                "join refused: missing or wrong cluster secret",
            ))
        }
    }
}

/// Stops the node shortly (after the current reply has gone out).
pub(crate) fn stop_soon(ctl: &Ctl) {
    let tx = ctl.stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = tx.send(true);
    });
}

/// Lifecycle actions a node takes when the primary asks: `shutdown`, or `decommission` (forget
/// the cluster; with `rm_user_data`, `wipe_data` removes the node's objects), then stop.
pub(crate) fn node_control(
    ctl: &Ctl,
    action: &str,
    value: &serde_json::Value,
    wipe_data: impl FnOnce(),
) -> Result<(), Error> {
    if matches!(action, "shutdown" | "decommission") {
        ctl.leaving.store(true, Ordering::Release);
    }
    match action {
        "shutdown" => {
            tracing::info!("shutdown requested by the primary");
        }
        "decommission" => {
            tracing::info!("decommissioned: forgetting cluster metadata");
            ctl.meta.wipe();
            if value
                .get("rm_user_data")
                .and_then(|v| v.as_bool())
                .unwrap_or(false)
            {
                wipe_data();
            }
        }
        a => {
            return Err(Error::bad_request(format!(
                "unknown node control action \"{a}\""
            )));
        }
    }
    stop_soon(ctl);
    Ok(())
}

/// Resident memory of this process in bytes (from `/proc/self/statm`), 0 if unknown.
pub(crate) fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map(|pages| pages * rustix::param::page_size() as u64)
        .unwrap_or(0)
}

impl Ctl {
    /// Node-state flags: started (cluster and node), plus `extra`.
    pub(crate) fn state_flags(&self, extra: u64) -> u64 {
        (if self.is_started() {
            crate::common::NODE_STARTED_FLAGS
        } else {
            0
        }) | extra
    }

    /// Refreshes process gauges before a scrape.
    pub(crate) fn refresh_stats(&self, flags: u64) {
        self.stats.set_process(self.start.elapsed(), rss_bytes());
        self.stats.state_flags.set(flags as i64);
    }

    /// The `tracker` of `node_status`: internal metric name → `{"v": "<int>"}`.
    pub(crate) fn tracker(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (k, v) in self.stats.snapshot() {
            m.insert(k.to_string(), serde_json::json!({"v": v.to_string()}));
        }
        m.insert(
            "up.ns.time".into(),
            serde_json::json!({"v": (self.start.elapsed().as_nanos() as i64).to_string()}),
        );
        serde_json::Value::Object(m)
    }

    /// `what=node_status` (metadata.md §6) with this node's `capacity` and state `flags`.
    pub(crate) fn node_status(&self, capacity: serde_json::Value, flags: u64) -> serde_json::Value {
        serde_json::json!({
            "snode": self.me,
            "status": "",
            "deployment": "dev",
            "ais_version": crate::VERSION,
            "build_time": "",
            "k8s_pod_name": "",
            "tracker": self.tracker(),
            "capacity": capacity,
            "cluster": {"flags": flags},
            "sys_info": {},
            "smap_version": self.meta.smap().version.to_string(),
        })
    }

    /// `/debug/vars`: counters, latencies, memory, runtime tasks, and `extra` (e.g. mountpaths).
    pub(crate) fn debug_vars(&self, extra: serde_json::Value) -> serde_json::Value {
        let snap: serde_json::Map<String, serde_json::Value> = self
            .stats
            .snapshot()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into()))
            .collect();
        let avg = |n: &str, t: &str| {
            let (n, t) = (
                snap.get(n).and_then(|v| v.as_i64()).unwrap_or(0),
                snap.get(t).and_then(|v| v.as_i64()).unwrap_or(0),
            );
            if n == 0 { 0 } else { t / n }
        };
        let rt = tokio::runtime::Handle::current().metrics();
        serde_json::json!({
            "node": {"id": self.me.daemon_id, "role": self.stats.role().as_str(), "smap_version": self.meta.smap().version, "primary": self.is_primary()},
            "stats": snap,
            "latency_avg_ns": {"get": avg("get.n", "get.ns.total"), "put": avg("put.n", "put.ns.total"), "head": avg("head.n", "head.ns.total"), "del": avg("del.n", "del.ns.total"), "lst": avg("lst.n", "lst.ns.total")},
            "memstats": {"rss_bytes": rss_bytes()},
            "runtime": {"workers": rt.num_workers(), "alive_tasks": rt.num_alive_tasks(), "global_queue_depth": rt.global_queue_depth()},
            "uptime_ns": self.start.elapsed().as_nanos() as u64,
            "extra": extra,
        })
    }
}

/// Sends the node's metrics to StatsD (UDP) every `statsd.interval_ms` while enabled.
pub(crate) async fn statsd_loop<N: AsRef<Ctl> + Send + Sync + 'static>(node: std::sync::Arc<N>) {
    let ctl: &Ctl = (*node).as_ref();
    let mut prev = std::collections::HashMap::new();
    let mut stop = ctl.stopped();
    let mut sock: Option<(String, tokio::net::UdpSocket)> = None;
    let mut last_sent = Instant::now();
    loop {
        // Wake at least every second, so a config change (enable, new interval) applies soon.
        let every = Duration::from_millis(ctl.meta.config().statsd.interval_ms.max(100));
        tokio::select! {
            _ = tokio::time::sleep(every.min(Duration::from_secs(1))) => {}
            _ = stop.changed() => return,
        }
        let conf = ctl.meta.config().statsd.clone();
        if !conf.enabled || last_sent.elapsed() < Duration::from_millis(conf.interval_ms.max(100)) {
            continue;
        }
        last_sent = Instant::now();
        let addr = format!("{}:{}", conf.host, conf.port);
        if sock.as_ref().is_none_or(|(a, _)| *a != addr) {
            match tokio::net::UdpSocket::bind("0.0.0.0:0").await {
                Ok(s) => sock = Some((addr.clone(), s)),
                Err(e) => {
                    tracing::warn!(err = %e, "statsd: cannot open a UDP socket");
                    continue;
                }
            }
        }
        let Some((addr, s)) = sock.as_ref() else {
            continue;
        };
        let lines = ctl.stats.statsd_lines(&mut prev);
        // Keep datagrams under a typical MTU.
        let mut pkt = String::new();
        for l in lines {
            if pkt.len() + l.len() + 1 > 1400 {
                let _ = s.send_to(pkt.as_bytes(), addr.as_str()).await;
                pkt.clear();
            }
            pkt.push_str(&l);
            pkt.push('\n');
        }
        if !pkt.is_empty()
            && let Err(e) = s.send_to(pkt.as_bytes(), addr.as_str()).await
        {
            tracing::debug!(err = %e, %addr, "statsd send failed");
        }
    }
}
