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
mod err;
mod ids;
mod intra;
mod jobs;
mod metastore;
mod proxy;
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
    /// Node id.
    pub id: String,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningNode {
    /// Public URL `http://ip:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// Stops serving and waits for the accept loop to end.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// Binds, initializes and starts serving in the background. A port of 0 in the local config
/// picks a free port (reflected in the node's Smap entry). Targets return once registered with
/// the primary proxy.
pub async fn start(cfg: NodeConfig) -> Result<RunningNode, Error> {
    let host = if cfg.local.host_net.hostname.is_empty() {
        "127.0.0.1".to_string()
    } else {
        cfg.local.host_net.hostname.clone()
    };
    let listener = tokio::net::TcpListener::bind((host.as_str(), cfg.local.host_net.port))
        .await
        .map_err(|e| Error::Config(format!("listen on {host}:{}: {e}", cfg.local.host_net.port)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Config(format!("local address: {e}")))?;
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let cfg = Arc::new(cfg);
    let (id, task) = match cfg.role {
        Role::Proxy => {
            let p = proxy::Proxy::init(cfg.clone(), &host, addr.port()).await?;
            let id = p.id().to_string();
            let task = tokio::spawn(web::serve(listener, p.clone(), shutdown));
            p.start().await?;
            (id, task)
        }
        Role::Target => {
            let t = target::Target::init(cfg.clone(), &host, addr.port()).await?;
            let id = t.id().to_string();
            let task = tokio::spawn(web::serve(listener, t.clone(), shutdown));
            t.join_cluster().await?;
            (id, task)
        }
    };
    tracing::info!(%id, %addr, role = ?cfg.role, version = VERSION, "node started");
    Ok(RunningNode {
        addr,
        id,
        shutdown: tx,
        task,
    })
}

/// Starts the node and serves until `shutdown` resolves.
pub async fn run(cfg: NodeConfig, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let node = start(cfg).await?;
    shutdown.await;
    tracing::info!(id = %node.id, "shutting down");
    node.stop().await;
    Ok(())
}
