//! Node configuration, shaped like AIS's JSON: a cluster-wide part (the same on every node) and a
//! node-local part (addresses, mountpaths). Defaults live here, in one place; `validate()` names
//! the offending field.

use crate::cksum::CksumType;
use crate::err::Error;
use crate::serde_util::str_int;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Cluster-wide configuration (`cmn.ClusterConfig`, subset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ClusterConfig {
    /// Backends: remote AIS clusters attached by alias.
    pub backend: BackendConf,
    /// Proxy settings (primary URL).
    pub proxy: ProxyConf,
    /// Default checksum for new buckets.
    pub checksum: CksumConf,
    /// Default versioning for new buckets.
    pub versioning: VersioningConf,
    /// Default mirroring for new buckets.
    pub mirror: MirrorConf,
    /// Default erasure coding for new buckets.
    pub ec: EcConf,
    /// Logging.
    pub log: LogConf,
    /// Timeouts.
    pub timeout: TimeoutConf,
    /// Keepalive and election timing.
    pub keepalivetracker: KeepaliveConf,
    /// Cluster secrets.
    pub auth: AuthConf,
    /// Request metrics.
    pub metrics: MetricsConf,
    /// StatsD export.
    pub statsd: StatsdConf,
    /// Cluster-wide feature flags.
    #[serde(with = "str_int")]
    pub features: u64,
    /// Cluster uuid (assigned by the primary when empty).
    pub uuid: String,
    /// Config version.
    #[serde(with = "str_int")]
    pub config_version: i64,
}

/// `backend` section: `conf` holds per-provider settings as AIS does; `conf.ais` maps the
/// alias of each attached remote AIS cluster to its proxies' URLs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct BackendConf {
    /// Settings by provider.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub conf: BTreeMap<String, serde_json::Value>,
}

impl BackendConf {
    /// Attached remote AIS clusters: alias → proxy URLs.
    pub fn remote_ais(&self) -> BTreeMap<String, Vec<String>> {
        self.conf
            .get("ais")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    /// Whether remote AIS cluster `alias` is attached (no allocation: asked on every request
    /// to its buckets).
    pub fn has_remote_ais(&self, alias: &str) -> bool {
        self.conf
            .get("ais")
            .and_then(|v| v.get(alias))
            .is_some_and(|urls| urls.as_array().is_some_and(|a| !a.is_empty()))
    }

    /// Attaches (`Some(url)`) or detaches (`None`) remote cluster `alias`; `false` when
    /// detaching an alias that is not attached.
    pub fn set_remote_ais(&mut self, alias: &str, url: Option<&str>) -> bool {
        let mut m = self.remote_ais();
        let changed = match url {
            Some(u) => {
                m.insert(alias.to_string(), vec![u.to_string()]);
                true
            }
            None => m.remove(alias).is_some(),
        };
        if m.is_empty() {
            self.conf.remove("ais");
        } else {
            self.conf.insert(
                "ais".into(),
                serde_json::to_value(m).expect("a map of strings serializes"),
            );
        }
        changed
    }
}

/// `proxy` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ProxyConf {
    /// Public URL of the primary proxy; the proxy listening at it starts as primary.
    pub primary_url: String,
    /// URL of the original primary.
    pub original_url: String,
    /// Discovery URL.
    pub discovery_url: String,
    /// Whether this proxy may never become primary.
    pub non_electable: bool,
}

/// `checksum` section (also a bucket property).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CksumConf {
    /// Algorithm for stored checksums.
    #[serde(rename = "type")]
    pub ty: CksumType,
    /// Validate objects fetched from a backend.
    pub validate_cold_get: bool,
    /// Re-validate on every GET.
    pub validate_warm_get: bool,
    /// Validate when objects move (rebalance).
    pub validate_obj_move: bool,
    /// Range GETs carry the checksum of the range.
    pub enable_read_range: bool,
}

impl Default for CksumConf {
    fn default() -> Self {
        CksumConf {
            ty: CksumType::Xxhash,
            validate_cold_get: true,
            validate_warm_get: false,
            validate_obj_move: false,
            enable_read_range: false,
        }
    }
}

/// `versioning` section (also a bucket property).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VersioningConf {
    /// Keep a version number per object.
    pub enabled: bool,
    /// Check remote versions on warm GET.
    pub validate_warm_get: bool,
    /// Sync deletions from the backend.
    pub synchronize: bool,
}

impl Default for VersioningConf {
    fn default() -> Self {
        VersioningConf {
            enabled: true,
            validate_warm_get: false,
            synchronize: false,
        }
    }
}

/// `mirror` section (also a bucket property).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MirrorConf {
    /// Number of copies.
    pub copies: i64,
    /// Work-queue length.
    pub burst_buffer: i64,
    /// Whether mirroring is on.
    pub enabled: bool,
}

impl Default for MirrorConf {
    fn default() -> Self {
        MirrorConf {
            copies: 2,
            burst_buffer: 128,
            enabled: false,
        }
    }
}

/// `ec` section (also a bucket property).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EcConf {
    /// Objects smaller than this are replicated instead of encoded.
    pub objsize_limit: i64,
    /// Compression of slices in flight.
    pub compression: String,
    /// Stream bundle multiplier.
    pub bundle_multiplier: i64,
    /// Data slices.
    pub data_slices: i64,
    /// Parity slices.
    pub parity_slices: i64,
    /// Work-queue length.
    pub burst_buffer: i64,
    /// Whether EC is on.
    pub enabled: bool,
    /// Keep slices on disk only.
    pub disk_only: bool,
}

impl Default for EcConf {
    fn default() -> Self {
        EcConf {
            objsize_limit: 262_144,
            compression: "never".into(),
            bundle_multiplier: 2,
            data_slices: 2,
            parity_slices: 2,
            burst_buffer: 128,
            enabled: false,
            disk_only: false,
        }
    }
}

/// `log` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConf {
    /// `tracing` filter directive, e.g. `info` or `info,ais_node=debug`.
    pub level: String,
}

impl Default for LogConf {
    fn default() -> Self {
        LogConf {
            level: "info".into(),
        }
    }
}

/// `timeout` section (milliseconds, unlike AIS's Go durations, on input both are accepted as ms ints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeoutConf {
    /// Intra-cluster control requests.
    pub cplane_operation_ms: u64,
    /// Long intra-cluster requests (listing pages, batch deletes).
    pub max_host_busy_ms: u64,
    /// How long a node waits for the primary at start-up.
    pub startup_ms: u64,
}

impl Default for TimeoutConf {
    fn default() -> Self {
        TimeoutConf {
            cplane_operation_ms: 2_000,
            max_host_busy_ms: 20_000,
            startup_ms: 60_000,
        }
    }
}

/// `keepalivetracker` section: how often nodes report to the primary and when silence counts
/// as death (milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeepaliveConf {
    /// Heartbeat period of every node.
    pub interval_ms: u64,
    /// A node silent for this long is removed from the cluster map by the primary.
    pub timeout_ms: u64,
    /// Proxies start an election when the primary has been unreachable for this long.
    pub primary_timeout_ms: u64,
}

impl Default for KeepaliveConf {
    fn default() -> Self {
        KeepaliveConf {
            interval_ms: 500,
            timeout_ms: 3_000,
            primary_timeout_ms: 2_000,
        }
    }
}

/// `metrics` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricsConf {
    /// Count requests (on by default; off only to measure the cost of counting).
    pub enabled: bool,
}

impl Default for MetricsConf {
    fn default() -> Self {
        MetricsConf { enabled: true }
    }
}

/// `statsd` section: periodic UDP export of the node's metrics (off by default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatsdConf {
    /// Whether to send.
    pub enabled: bool,
    /// StatsD host.
    pub host: String,
    /// StatsD UDP port (AIS default 8125).
    pub port: u16,
    /// Send period.
    pub interval_ms: u64,
}

impl Default for StatsdConf {
    fn default() -> Self {
        StatsdConf {
            enabled: false,
            host: "127.0.0.1".into(),
            port: 8125,
            interval_ms: 10_000,
        }
    }
}

/// `auth` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AuthConf {
    /// Shared secret a node must present to join and to take part in the control protocol.
    /// Empty means no check. Never shown by config queries.
    pub join_secret: String,
    /// S3 access keys: access key id → secret key. When any is set, every `/s3` request must
    /// carry a valid AWS Signature V4 (headers, presigned URL or chunked payload); when empty,
    /// signatures are not checked and anonymous requests are served (as AIS does). Secrets are
    /// never shown by config queries.
    pub s3_keys: BTreeMap<String, String>,
}

/// Node-local configuration (`cmn.LocalConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LocalConfig {
    /// Directory for this node's metadata (Smap, BMD, node id).
    pub confdir: String,
    /// Directory for logs.
    pub log_dir: String,
    /// Network addresses and ports.
    pub host_net: HostNet,
    /// Mountpaths (targets): absolute path → label.
    pub fspaths: BTreeMap<String, String>,
    /// Testing mountpaths: `root/mp1..mpN`.
    pub test_fspaths: Option<TestFspaths>,
}

/// `host_net` section: public, intra-control and intra-data addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct HostNet {
    /// Public hostname or IP.
    pub hostname: String,
    /// Intra-cluster control hostname (defaults to `hostname`).
    pub hostname_intra_control: String,
    /// Intra-cluster data hostname (defaults to `hostname`).
    pub hostname_intra_data: String,
    /// Public port.
    #[serde(with = "str_int")]
    pub port: u16,
    /// Intra-cluster control port.
    #[serde(with = "str_int")]
    pub port_intra_control: u16,
    /// Intra-cluster data port.
    #[serde(with = "str_int")]
    pub port_intra_data: u16,
}

/// `test_fspaths` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TestFspaths {
    /// Root directory.
    pub root: String,
    /// Number of mountpaths.
    pub count: u32,
    /// Instance suffix (0 = none).
    pub instance: u32,
}

impl LocalConfig {
    /// The mountpaths this config names, cleaned, sorted.
    pub fn mountpaths(&self) -> Vec<String> {
        let mut v: Vec<String> = self.fspaths.keys().map(|p| clean_path(p)).collect();
        if let Some(t) = &self.test_fspaths {
            for i in 1..=t.count {
                let mut p = format!("{}/mp{}", t.root, i);
                if t.instance > 0 {
                    p.push_str(&format!("/{}", t.instance));
                }
                v.push(clean_path(&p));
            }
        }
        v.sort();
        v.dedup();
        v
    }

    /// Checks the fields a node needs; `is_target` requires at least one mountpath.
    pub fn validate(&self, is_target: bool) -> Result<(), Error> {
        if self.host_net.port == 0 {
            return Err(Error::bad_request(
                "local config: host_net.port must be set",
            ));
        }
        if self.confdir.is_empty() {
            return Err(Error::bad_request("local config: confdir must be set"));
        }
        if is_target {
            let mps = self.mountpaths();
            if mps.is_empty() {
                return Err(Error::bad_request(
                    "local config: a target needs at least one mountpath (fspaths or test_fspaths)",
                ));
            }
            for m in &mps {
                if !m.starts_with('/') {
                    return Err(Error::bad_request(format!(
                        "local config: fspaths: mountpath \"{m}\" must be an absolute path"
                    )));
                }
            }
            for (i, a) in mps.iter().enumerate() {
                for b in &mps[i + 1..] {
                    if b.starts_with(&format!("{a}/")) {
                        return Err(Error::bad_request(format!(
                            "local config: fspaths: mountpath \"{b}\" is nested in \"{a}\""
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

impl ClusterConfig {
    /// Applies `name=value` settings by dotted path (`log.level=debug`,
    /// `keepalivetracker.timeout_ms=5000`); values are parsed as JSON when they can be, else
    /// taken as strings. The result is validated; nothing changes on error.
    pub fn set_by_path(&mut self, kvs: &[(String, String)]) -> Result<(), Error> {
        let mut v = serde_json::to_value(&*self).map_err(|e| Error::internal(e.to_string()))?;
        for (k, val) in kvs {
            if k == "auth.join_secret" || k.starts_with("auth.") {
                return Err(Error::bad_request(format!(
                    "config: \"{k}\" cannot be set at runtime"
                )));
            }
            let mut cur = &mut v;
            for part in k.split('.') {
                cur = cur
                    .get_mut(part)
                    .ok_or_else(|| Error::bad_request(format!("config: unknown key \"{k}\"")))?;
            }
            let parsed = serde_json::from_str::<serde_json::Value>(val)
                .unwrap_or_else(|_| serde_json::Value::String(val.clone()));
            // Keep strings strings (e.g. log.level=5 stays "5").
            *cur = match (&*cur, parsed) {
                (serde_json::Value::String(_), p) if !p.is_string() => {
                    serde_json::Value::String(val.clone())
                }
                (_, p) => p,
            };
        }
        let next: ClusterConfig =
            serde_json::from_value(v).map_err(|e| Error::bad_request(format!("config: {e}")))?;
        next.validate()?;
        *self = next;
        Ok(())
    }

    /// A copy safe to show to clients: secrets blanked.
    pub fn redacted(&self) -> ClusterConfig {
        let mut c = self.clone();
        if !c.auth.join_secret.is_empty() {
            c.auth.join_secret = "********".into();
        }
        for v in c.auth.s3_keys.values_mut() {
            *v = "********".into();
        }
        c
    }

    /// Checks the cluster config.
    pub fn validate(&self) -> Result<(), Error> {
        if self.proxy.primary_url.is_empty() {
            return Err(Error::bad_request(
                "cluster config: proxy.primary_url must be set",
            ));
        }
        if !(1..=32).contains(&self.mirror.copies) {
            return Err(Error::bad_request(
                "cluster config: mirror.copies must be in 1..32",
            ));
        }
        let k = &self.keepalivetracker;
        if k.interval_ms == 0
            || k.timeout_ms <= k.interval_ms
            || k.primary_timeout_ms <= k.interval_ms
        {
            return Err(Error::bad_request(
                "cluster config: keepalivetracker: interval_ms must be > 0 and smaller than timeout_ms and primary_timeout_ms",
            ));
        }
        if !self.auth.join_secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::bad_request(
                "cluster config: auth.join_secret must be printable ASCII without spaces",
            ));
        }
        Ok(())
    }
}

/// Cleans a path like Go's `filepath.Clean` for absolute paths: no `//`, no `.`, resolves `..`,
/// no trailing `/`.
pub fn clean_path(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !abs {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let j = parts.join("/");
    match (abs, j.is_empty()) {
        (true, _) => format!("/{j}"),
        (false, true) => ".".into(),
        (false, false) => j,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_ais_attach_detach() {
        let mut b = BackendConf::default();
        assert!(b.remote_ais().is_empty());
        b.set_remote_ais("rem", Some("http://10.0.0.1:8080"));
        b.set_remote_ais("two", Some("http://10.0.0.2:8080"));
        assert_eq!(
            b.remote_ais()["rem"],
            vec!["http://10.0.0.1:8080".to_string()]
        );
        let js = serde_json::to_value(&b).unwrap();
        assert_eq!(js["conf"]["ais"]["two"][0], "http://10.0.0.2:8080");
        assert!(b.has_remote_ais("rem") && b.has_remote_ais("two") && !b.has_remote_ais("x"));
        assert!(b.set_remote_ais("rem", None));
        assert!(!b.has_remote_ais("rem"));
        assert!(!b.set_remote_ais("rem", None), "not attached");
        assert!(b.set_remote_ais("two", None));
        assert_eq!(serde_json::to_string(&b).unwrap(), "{}");
    }

    #[test]
    fn clean() {
        assert_eq!(clean_path("/ais/mp1/"), "/ais/mp1");
        assert_eq!(clean_path("/ais//./mp1/../mp2"), "/ais/mp2");
        assert_eq!(clean_path("/"), "/");
    }

    #[test]
    fn local() {
        let j = r#"{"confdir":"/c","host_net":{"hostname":"127.0.0.1","port":"8081"},
                    "fspaths":{"/d/mp2/":"","/d/mp1":"ssd"}}"#;
        let c: LocalConfig = serde_json::from_str(j).unwrap();
        assert_eq!(c.host_net.port, 8081);
        assert_eq!(c.mountpaths(), ["/d/mp1", "/d/mp2"]);
        assert!(c.validate(true).is_ok());
        let mut n = c.clone();
        n.fspaths.insert("/d/mp1/x".into(), String::new());
        assert!(n.validate(true).is_err());
        let t: LocalConfig = serde_json::from_str(
            r#"{"confdir":"/c","host_net":{"port":"1"},"test_fspaths":{"root":"/r","count":2,"instance":3}}"#,
        )
        .unwrap();
        assert_eq!(t.mountpaths(), ["/r/mp1/3", "/r/mp2/3"]);
    }

    #[test]
    fn set_by_path() {
        let mut c: ClusterConfig =
            serde_json::from_str(r#"{"proxy":{"primary_url":"http://x"}}"#).unwrap();
        c.set_by_path(&[
            ("log.level".into(), "debug".into()),
            ("keepalivetracker.timeout_ms".into(), "5000".into()),
        ])
        .unwrap();
        assert_eq!(c.log.level, "debug");
        assert_eq!(c.keepalivetracker.timeout_ms, 5000);
        let before = c.clone();
        assert!(c.set_by_path(&[("no.such".into(), "1".into())]).is_err());
        assert!(
            c.set_by_path(&[("keepalivetracker.timeout_ms".into(), "x".into())])
                .is_err()
        );
        assert!(
            c.set_by_path(&[("keepalivetracker.timeout_ms".into(), "1".into())])
                .is_err(),
            "validated"
        );
        assert!(
            c.set_by_path(&[("auth.join_secret".into(), "x".into())])
                .is_err()
        );
        assert_eq!(c, before);
    }

    #[test]
    fn cluster_defaults() {
        let c: ClusterConfig =
            serde_json::from_str(r#"{"proxy":{"primary_url":"http://x"}}"#).unwrap();
        assert_eq!(c.checksum.ty, CksumType::Xxhash);
        assert!(c.versioning.enabled);
        assert!(c.validate().is_ok());
        assert!(ClusterConfig::default().validate().is_err());
    }
}
