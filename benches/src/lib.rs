//! Shared set-up for the criterion benchmarks: an in-process cluster of one proxy and one
//! target on loopback, with its mountpath in a temporary directory.

use ais_core::config::{ClusterConfig, HostNet, LocalConfig};
use ais_node::{NodeConfig, Role, RunningNode};
use std::collections::BTreeMap;

/// A running in-process cluster; dropping the temp dir removes its data.
pub struct MiniCluster {
    /// The proxy.
    pub proxy: RunningNode,
    /// The target.
    pub target: RunningNode,
    /// Holds the data directory.
    pub dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Starts one proxy and one target with `mountpaths` mountpaths.
pub async fn mini_cluster(mountpaths: usize) -> MiniCluster {
    mini_cluster_with(mountpaths, true).await
}

/// Like [`mini_cluster`], with request metrics on or off.
pub async fn mini_cluster_with(mountpaths: usize, metrics: bool) -> MiniCluster {
    let dir = tempfile::tempdir().expect("temp dir");
    let pport = free_port();
    let mut cluster = ClusterConfig::default();
    cluster.proxy.primary_url = format!("http://127.0.0.1:{pport}");
    cluster.log.level = "warn".into();
    cluster.metrics.enabled = metrics;
    let local = |name: &str, port: u16, mps: usize| LocalConfig {
        confdir: dir.path().join(name).to_string_lossy().into_owned(),
        log_dir: String::new(),
        host_net: HostNet {
            hostname: "127.0.0.1".into(),
            port,
            ..Default::default()
        },
        fspaths: (1..=mps)
            .map(|i| {
                (
                    dir.path()
                        .join(name)
                        .join(format!("mp{i}"))
                        .to_string_lossy()
                        .into_owned(),
                    String::new(),
                )
            })
            .collect::<BTreeMap<_, _>>(),
        test_fspaths: None,
    };
    let proxy = ais_node::start(NodeConfig {
        role: Role::Proxy,
        cluster: cluster.clone(),
        local: local("proxy", pport, 0),
        daemon_id: Some("benchproxy".into()),
        log_level: None,
    })
    .await
    .expect("start proxy");
    let target = ais_node::start(NodeConfig {
        role: Role::Target,
        cluster,
        local: local("target", 0, mountpaths),
        daemon_id: Some("benchtarget".into()),
        log_level: None,
    })
    .await
    .expect("start target");
    MiniCluster { proxy, target, dir }
}
