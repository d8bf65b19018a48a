//! `ais-stats`: a node's metrics, named as AIStore names them.
//!
//! Every metric has an internal AIS name (`get.n`, `get.size`, `get.ns.total`, `err.get.n`, …:
//! what `node_status` trackers, `/debug/vars` and StatsD use) and a Prometheus name
//! (`ais_target_get_count`, `ais_target_get_bytes`, `ais_target_get_ns_total`, …, each with the
//! static label `node_id`).
//!
//! Updates on the request path are single relaxed atomic adds on pre-resolved handles: no lock,
//! no map lookup, no allocation. The registry belongs to the [`Stats`] value the node owns; there
//! is no global registry.
//!
//! ```
//! use ais_stats::{Role, Stats};
//! let s = Stats::new(Role::Target, "TaXkLmNo");
//! s.get.ok(1024, std::time::Duration::from_micros(50));
//! let text = s.prometheus_text();
//! assert!(text.contains(r#"ais_target_get_count{node_id="TaXkLmNo"} 1"#));
//! assert_eq!(s.snapshot().iter().find(|(k, _)| *k == "get.size").unwrap().1, 1024);
//! ```

use prometheus::{Encoder, IntCounter, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The node role, used as the Prometheus subsystem (`ais_target_…`, `ais_proxy_…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Gateway.
    Proxy,
    /// Storage node.
    Target,
}

impl Role {
    /// `proxy` / `target`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Proxy => "proxy",
            Role::Target => "target",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

/// Counters of one kind of request.
pub struct Op {
    n: IntCounter,
    size: Option<IntCounter>,
    ns_total: IntCounter,
    err: IntCounter,
}

impl Op {
    /// Records a successful request that moved `bytes` and took `elapsed`.
    #[inline]
    pub fn ok(&self, bytes: u64, elapsed: Duration) {
        self.n.inc();
        if let Some(s) = &self.size {
            s.inc_by(bytes);
        }
        self.ns_total.inc_by(elapsed.as_nanos() as u64);
    }

    /// Records a failed request.
    #[inline]
    pub fn err(&self) {
        self.err.inc();
    }
}

/// One node's metrics.
pub struct Stats {
    reg: Registry,
    role: Role,
    node_id: String,
    enabled: AtomicBool,
    /// Object GETs (proxies: GETs redirected).
    pub get: Op,
    /// Object PUTs (proxies: PUTs redirected).
    pub put: Op,
    /// Object HEADs.
    pub head: Op,
    /// Object DELETEs.
    pub del: Op,
    /// List-objects requests (targets: pages served).
    pub lst: Op,
    /// PUTs refused for a checksum mismatch.
    pub err_cksum: IntCounter,
    /// Mountpaths the filesystem health checker found failing (I/O errors).
    pub err_io: IntCounter,
    /// Objects fetched from a cloud backend (cold GETs).
    pub get_cold_n: IntCounter,
    /// Bytes fetched from a cloud backend.
    pub get_cold_size: IntCounter,
    /// Objects sent to other targets (rebalance, copies).
    pub stream_out_n: IntCounter,
    /// Bytes sent to other targets.
    pub stream_out_size: IntCounter,
    /// Objects received from other targets.
    pub stream_in_n: IntCounter,
    /// Bytes received from other targets.
    pub stream_in_size: IntCounter,
    /// Node-state flags (`cos.NodeStateFlags`).
    pub state_flags: IntGauge,
    uptime: IntGauge,
    mem_rss: IntGauge,
    mp_used: IntGaugeVec,
    mp_avail: IntGaugeVec,
    mp_util: IntGaugeVec,
    /// internal name, kind, handle — for snapshots and StatsD
    table: Vec<(&'static str, Kind, Handle)>,
}

#[derive(Clone)]
enum Handle {
    C(IntCounter),
    G(IntGauge),
}

impl Handle {
    fn get(&self) -> i64 {
        match self {
            Handle::C(c) => c.get() as i64,
            Handle::G(g) => g.get(),
        }
    }
}

impl Stats {
    /// Metrics of node `node_id` in `role`.
    pub fn new(role: Role, node_id: &str) -> Stats {
        let reg = Registry::new();
        let mut table = Vec::new();
        let opts = |name: &str, help: &str| {
            Opts::new(name, help)
                .namespace("ais")
                .subsystem(role.as_str())
                .const_label("node_id", node_id)
        };
        let mut counter = |internal: &'static str, prom: &str, help: &str| {
            let c = IntCounter::with_opts(opts(prom, help)).expect("valid metric options");
            reg.register(Box::new(c.clone()))
                .expect("unique metric name");
            table.push((internal, Kind::Counter, Handle::C(c.clone())));
            c
        };
        let mut op = |what: &'static str, names: [&'static str; 4], sized: bool| {
            let [n, size, ns, err] = names;
            Op {
                n: counter(
                    n,
                    &format!("{what}_count"),
                    &format!("total number of executed {what} requests"),
                ),
                size: sized.then(|| {
                    counter(
                        size,
                        &format!("{what}_bytes"),
                        &format!("{what}: total cumulative size (bytes)"),
                    )
                }),
                ns_total: counter(
                    ns,
                    &format!("{what}_ns_total"),
                    &format!("{what}: total cumulative time (nanoseconds)"),
                ),
                err: counter(
                    err,
                    &format!("err_{what}_count"),
                    &format!("total number of {what} errors"),
                ),
            }
        };
        let get = op(
            "get",
            ["get.n", "get.size", "get.ns.total", "err.get.n"],
            true,
        );
        let put = op(
            "put",
            ["put.n", "put.size", "put.ns.total", "err.put.n"],
            true,
        );
        let head = op("head", ["head.n", "", "head.ns.total", "err.head.n"], false);
        let del = op("del", ["del.n", "", "del.ns.total", "err.del.n"], false);
        let lst = op("lst", ["lst.n", "", "lst.ns.total", "err.lst.n"], false);
        let err_cksum = counter(
            "err.cksum.n",
            "err_cksum_count",
            "PUT: number of checksum errors",
        );
        let err_io = counter(
            "err.io.n",
            "err_io_count",
            "number of mountpaths that failed the filesystem health check",
        );
        let get_cold_n = counter(
            "get.cold.n",
            "get_cold_count",
            "number of objects fetched from a remote backend (cold GETs)",
        );
        let get_cold_size = counter(
            "get.cold.size",
            "get_cold_bytes",
            "bytes fetched from a remote backend (cold GETs)",
        );
        let stream_out_n = counter(
            "stream.out.n",
            "stream_out_count",
            "intra-cluster: number of objects sent to other targets",
        );
        let stream_out_size = counter(
            "stream.out.size",
            "stream_out_bytes",
            "intra-cluster: total size (bytes) of objects sent",
        );
        let stream_in_n = counter(
            "stream.in.n",
            "stream_in_count",
            "intra-cluster: number of objects received from other targets",
        );
        let stream_in_size = counter(
            "stream.in.size",
            "stream_in_bytes",
            "intra-cluster: total size (bytes) of objects received",
        );
        let mut gauge = |internal: &'static str, prom: &str, help: &str| {
            let g = IntGauge::with_opts(opts(prom, help)).expect("valid metric options");
            reg.register(Box::new(g.clone()))
                .expect("unique metric name");
            table.push((internal, Kind::Gauge, Handle::G(g.clone())));
            g
        };
        let state_flags = gauge(
            "state.flags",
            "state_flags",
            "node state and alert flags (bitwise)",
        );
        let uptime = gauge(
            "up.ns.time",
            "uptime",
            "this node's uptime since its startup (seconds)",
        );
        let mem_rss = gauge(
            "mem.rss",
            "mem_rss_bytes",
            "resident memory of the node process (bytes)",
        );
        let gvec = |name: &str, help: &str| {
            let v =
                IntGaugeVec::new(opts(name, help), &["mountpath"]).expect("valid metric options");
            reg.register(Box::new(v.clone()))
                .expect("unique metric name");
            v
        };
        let mp_used = gvec("capacity_used", "mountpath used capacity (bytes)");
        let mp_avail = gvec("capacity_avail", "mountpath available capacity (bytes)");
        let mp_util = gvec("capacity_util", "mountpath used capacity (percent)");
        Stats {
            reg,
            role,
            node_id: node_id.to_string(),
            enabled: AtomicBool::new(true),
            get,
            put,
            head,
            del,
            lst,
            err_cksum,
            err_io,
            get_cold_n,
            get_cold_size,
            stream_out_n,
            stream_out_size,
            stream_in_n,
            stream_in_size,
            state_flags,
            uptime,
            mem_rss,
            mp_used,
            mp_avail,
            mp_util,
            table,
        }
    }

    /// The node's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Turns request accounting on or off (to measure its cost); scrapes still work.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    /// Whether request accounting is on.
    #[inline]
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Sets uptime and resident memory (called before a scrape or snapshot).
    pub fn set_process(&self, uptime: Duration, rss_bytes: u64) {
        self.uptime.set(uptime.as_secs() as i64);
        self.mem_rss.set(rss_bytes as i64);
    }

    /// Sets one mountpath's capacity figures.
    pub fn set_mountpath(&self, mountpath: &str, used: u64, avail: u64, util_pct: i64) {
        self.mp_used
            .with_label_values(&[mountpath])
            .set(used as i64);
        self.mp_avail
            .with_label_values(&[mountpath])
            .set(avail as i64);
        self.mp_util.with_label_values(&[mountpath]).set(util_pct);
    }

    /// All metrics in the Prometheus text exposition format.
    pub fn prometheus_text(&self) -> String {
        let mut buf = Vec::with_capacity(8 << 10);
        TextEncoder::new()
            .encode(&self.reg.gather(), &mut buf)
            .expect("text encoding into a Vec cannot fail");
        String::from_utf8(buf).expect("the text format is UTF-8")
    }

    /// Every counter and gauge under its internal AIS name (`get.n`, …), in a fixed order.
    pub fn snapshot(&self) -> Vec<(&'static str, i64)> {
        self.table
            .iter()
            .filter(|(n, _, _)| !n.is_empty())
            .map(|(n, _, h)| (*n, h.get()))
            .collect()
    }

    /// StatsD lines (`aistarget<ID>.get.n:3|c`): counters as deltas since `prev` (which is
    /// updated), gauges as values. Counters that did not move are left out.
    pub fn statsd_lines(&self, prev: &mut HashMap<&'static str, i64>) -> Vec<String> {
        let prefix = format!("ais{}{}", self.role.as_str(), self.node_id);
        let mut out = Vec::new();
        for (name, kind, h) in &self.table {
            if name.is_empty() {
                continue;
            }
            let v = h.get();
            match kind {
                Kind::Counter => {
                    let last = prev.insert(name, v).unwrap_or(0);
                    if v != last {
                        out.push(format!("{prefix}.{name}:{}|c", v - last));
                    }
                }
                Kind::Gauge => out.push(format!("{prefix}.{name}:{v}|g")),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_counts() {
        let s = Stats::new(Role::Target, "t1");
        for _ in 0..3 {
            s.get.ok(10, Duration::from_nanos(100));
        }
        s.get.err();
        s.put.ok(5, Duration::from_nanos(7));
        s.set_mountpath("/mp1", 1, 2, 3);
        s.state_flags.set(6);
        let t = s.prometheus_text();
        for line in [
            "ais_target_get_count{node_id=\"t1\"} 3",
            "ais_target_get_bytes{node_id=\"t1\"} 30",
            "ais_target_get_ns_total{node_id=\"t1\"} 300",
            "ais_target_err_get_count{node_id=\"t1\"} 1",
            "ais_target_put_bytes{node_id=\"t1\"} 5",
            "ais_target_capacity_avail{mountpath=\"/mp1\",node_id=\"t1\"} 2",
            "ais_target_state_flags{node_id=\"t1\"} 6",
        ] {
            assert!(t.contains(line), "missing {line} in\n{t}");
        }
        let snap: HashMap<_, _> = s.snapshot().into_iter().collect();
        assert_eq!(snap["get.n"], 3);
        assert_eq!(snap["err.get.n"], 1);
        assert!(!snap.contains_key(""));
        let mut prev = HashMap::new();
        let l = s.statsd_lines(&mut prev);
        assert!(l.contains(&"aistargett1.get.n:3|c".to_string()), "{l:?}");
        s.get.ok(1, Duration::ZERO);
        let l = s.statsd_lines(&mut prev);
        assert!(l.contains(&"aistargett1.get.n:1|c".to_string()), "{l:?}");
        assert!(
            !l.iter().any(|x| x.starts_with("aistargett1.put.n")),
            "unchanged counters are not resent"
        );
        let p = Stats::new(Role::Proxy, "p1");
        p.lst.ok(0, Duration::ZERO);
        assert!(
            p.prometheus_text()
                .contains("ais_proxy_lst_count{node_id=\"p1\"} 1")
        );
    }
}
