//! `ais-node`: an AIStore node — the proxy (gateway) role and the target (storage) role — serving
//! the AIS native HTTP API so the official clients work unchanged.
//!
//! - A **proxy** never touches object data: it owns the cluster map (Smap) and bucket metadata
//!   (BMD) when primary, answers control-plane requests, fans listings out to targets, and
//!   redirects every object request to the HRW target (301 for GET, 307 otherwise).
//! - A **target** owns mountpaths and serves object GET/PUT/HEAD/DELETE straight from disk.
//!
//! Entry points: [`start`] (returns a [`RunningNode`] handle, used by tests and benches) and
//! [`run`] (serves until a shutdown future resolves; used by `aisnode`).
//!
//! Never holds global state: everything a node needs hangs off its own `Arc`.
//!
//! ```no_run
//! # async fn f() -> Result<(), ais_node::Error> {
//! use ais_node::{NodeConfig, Role};
//! let cfg = NodeConfig::from_files(Role::Proxy, "cluster.json".as_ref(), "local.json".as_ref(), None)?;
//! ais_node::run(cfg, std::future::pending()).await
//! # }
//! ```

mod common;
mod ctl;
mod err;
mod ids;
mod intra;

mod meta;
mod metastore;
mod proxy;
mod s3;
mod target;
mod web;

pub use err::Error;

use ais_core::config::{ClusterConfig, LocalConfig};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// Software version reported to clients (`what=software_version`, `node_status`): the AIS
/// major.minor the clients expect, then ours.
pub const VERSION: &str = concat!("5.0.rs-", env!("CARGO_PKG_VERSION"));

/// A node's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Gateway.
    Proxy,
    /// Storage node.
    Target,
}

impl std::str::FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "proxy" => Ok(Role::Proxy),
            "target" => Ok(Role::Target),
            _ => Err(Error::Config(format!(
                "invalid role \"{s}\" (expecting proxy or target)"
            ))),
        }
    }
}

/// Applies a `tracing` filter directive (e.g. `info,ais_node=debug`) to the running process;
/// supplied by the binary that owns the subscriber. Called when `log.level` changes at runtime.
#[derive(Clone)]
pub struct LogLevelHook(pub Arc<SetLogLevel>);

/// The function behind a [`LogLevelHook`].
pub type SetLogLevel = dyn Fn(&str) -> Result<(), String> + Send + Sync;

impl std::fmt::Debug for LogLevelHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogLevelHook")
    }
}

/// Everything a node needs to start.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Proxy or target.
    pub role: Role,
    /// Cluster-wide config.
    pub cluster: ClusterConfig,
    /// Node-local config.
    pub local: LocalConfig,
    /// Explicit node id (`-daemon_id`), else from env `AIS_DAEMON_ID`, disk, or generated.
    pub daemon_id: Option<String>,
    /// How to change the log level at runtime (none: `log.level` changes are only stored).
    pub log_level: Option<LogLevelHook>,
}

impl NodeConfig {
    /// Loads and validates the two JSON config files.
    pub fn from_files(
        role: Role,
        cluster: &Path,
        local: &Path,
        daemon_id: Option<String>,
    ) -> Result<Self, Error> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| Error::Config(format!("read {}: {e}", p.display())))
        };
        let cluster: ClusterConfig = serde_json::from_slice(&read(cluster)?)
            .map_err(|e| Error::Config(format!("{}: {e}", cluster.display())))?;
        let local: LocalConfig = serde_json::from_slice(&read(local)?)
            .map_err(|e| Error::Config(format!("{}: {e}", local.display())))?;
        let c = NodeConfig {
            role,
            cluster,
            local,
            daemon_id,
            log_level: None,
        };
        c.validate()?;
        Ok(c)
    }

    /// Validates both configs.
    pub fn validate(&self) -> Result<(), Error> {
        self.cluster.validate().map_err(|e| Error::Config(e.msg))?;
        self.local
            .validate(self.role == Role::Target)
            .map_err(|e| Error::Config(e.msg))
    }
}

/// A started node.
pub struct RunningNode {
    /// Public listen address.
    pub addr: SocketAddr,
    /// Intra-cluster control listen address (gRPC).
    pub control_addr: SocketAddr,
    /// Intra-cluster data listen address.
    pub data_addr: SocketAddr,
    /// Node id.
    pub id: String,
    shutdown: tokio::sync::watch::Sender<bool>,
    stop_req: tokio::sync::watch::Receiver<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningNode {
    /// Public URL `http://ip:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Resolves when the cluster asked this node to stop (shutdown or decommission).
    pub async fn stop_requested(&mut self) {
        let _ = self.stop_req.wait_for(|v| *v).await;
    }

    /// Stops serving and waits for the servers to end.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

async fn bind(host: &str, port: u16, what: &str) -> Result<tokio::net::TcpListener, Error> {
    tokio::net::TcpListener::bind((host, port))
        .await
        .map_err(|e| Error::Config(format!("listen on {host}:{port} ({what}): {e}")))
}

fn or_host<'a>(h: &'a str, public: &'a str) -> &'a str {
    if h.is_empty() { public } else { h }
}

/// Binds the public, intra-control and intra-data listeners, initializes the node, starts
/// serving, and joins (or forms) the cluster. A port of 0 picks a free port (reflected in the
/// node's Smap entry); an intra-data address equal to the public one shares its listener.
pub async fn start(cfg: NodeConfig) -> Result<RunningNode, Error> {
    let hn = &cfg.local.host_net;
    let host = if hn.hostname.is_empty() {
        "127.0.0.1".to_string()
    } else {
        hn.hostname.clone()
    };
    let ctl_host = or_host(&hn.hostname_intra_control, &host).to_string();
    let data_host = or_host(&hn.hostname_intra_data, &host).to_string();
    let public = bind(&host, hn.port, "public").await?;
    let addr = public
        .local_addr()
        .map_err(|e| Error::Config(e.to_string()))?;
    if hn.port_intra_control != 0 && hn.port_intra_control == addr.port() && ctl_host == host {
        return Err(Error::Config(
            "host_net: the intra-control port must differ from the public port".into(),
        ));
    }
    let control = bind(&ctl_host, hn.port_intra_control, "intra-control").await?;
    let control_addr = control
        .local_addr()
        .map_err(|e| Error::Config(e.to_string()))?;
    let shared_data = (hn.port_intra_data == 0 && hn.port == 0 && data_host == host)
        || (hn.port_intra_data == addr.port() && data_host == host);
    let data = if shared_data {
        None
    } else {
        Some(bind(&data_host, hn.port_intra_data, "intra-data").await?)
    };
    let data_addr = match &data {
        Some(l) => l.local_addr().map_err(|e| Error::Config(e.to_string()))?,
        None => addr,
    };
    let si_of = |id: &str| {
        let mut s = ais_meta::Snode::new(id, ais_meta::NodeRole::Proxy, &host, addr.port());
        s.intra_control_net = ais_meta::NetInfo::new(&ctl_host, control_addr.port());
        s.intra_data_net = ais_meta::NetInfo::new(&data_host, data_addr.port());
        s
    };
    let (tx, rx) = tokio::sync::watch::channel(false);
    let shutdown = move || {
        let mut rx = rx.clone();
        async move {
            let _ = rx.wait_for(|v| *v).await;
        }
    };
    let cfg = Arc::new(cfg);
    let secret = cfg.cluster.auth.join_secret.clone();
    let mut tasks = Vec::new();
    let (id, stop_req) = match cfg.role {
        Role::Proxy => {
            let p = proxy::Proxy::new(cfg.clone(), si_of)?;
            tasks.push(tokio::spawn(web::serve(public, p.clone(), shutdown())));
            if let Some(d) = data {
                tasks.push(tokio::spawn(web::serve(d, p.clone(), shutdown())));
            }
            tasks.push(spawn_control(control, p.clone(), secret, shutdown()));
            p.start().await?;
            (p.id().to_string(), p.ctl.stopped())
        }
        Role::Target => {
            let t = target::Target::new(cfg.clone(), |id| {
                let mut s = si_of(id);
                s.daemon_type = ais_meta::NodeRole::Target;
                s
            })
            .await?;
            tasks.push(tokio::spawn(web::serve(public, t.clone(), shutdown())));
            if let Some(d) = data {
                tasks.push(tokio::spawn(web::serve(d, t.clone(), shutdown())));
            }
            tasks.push(spawn_control(control, t.clone(), secret, shutdown()));
            t.start().await?;
            (t.id().to_string(), t.ctl().stopped())
        }
    };
    tracing::info!(%id, %addr, %control_addr, %data_addr, role = ?cfg.role, version = VERSION, "node started");
    Ok(RunningNode {
        addr,
        control_addr,
        data_addr,
        id,
        shutdown: tx,
        stop_req,
        tasks,
    })
}

fn spawn_control<H: ais_metasync::Handler>(
    l: tokio::net::TcpListener,
    h: Arc<H>,
    secret: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = ais_metasync::serve(l, h, secret, shutdown).await {
            tracing::error!(err = %e, "control server failed");
        }
    })
}

/// Starts the node and serves until `shutdown` resolves or the cluster asks the node to stop.
pub async fn run(cfg: NodeConfig, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let mut node = start(cfg).await?;
    tokio::select! {
        _ = shutdown => {}
        _ = node.stop_requested() => tracing::info!("stopping at the cluster's request"),
    }
    tracing::info!(id = %node.id, "shutting down");
    node.stop().await;
    Ok(())
}
