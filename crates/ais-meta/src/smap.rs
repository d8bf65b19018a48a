//! Smap: the versioned cluster map of proxies and targets.

use crate::Error;
use ais_core::serde_util::str_int;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Snode flag bits.
pub mod snode_flag {
    /// Proxy may not become primary.
    pub const NON_ELECTABLE: u64 = 1;
    /// Information-center member.
    pub const IC: u64 = 2;
    /// In maintenance.
    pub const MAINTENANCE: u64 = 4;
    /// Being decommissioned.
    pub const DECOMMISSION: u64 = 8;
    /// Skipped by HRW placement.
    pub const NOT_PLACEABLE: u64 = MAINTENANCE | DECOMMISSION;
}

/// A node's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    /// Gateway.
    Proxy,
    /// Storage node.
    Target,
}

impl NodeRole {
    /// `p` or `t`, as in `p[ID]`.
    pub fn letter(self) -> char {
        match self {
            NodeRole::Proxy => 'p',
            NodeRole::Target => 't',
        }
    }
}

/// One network endpoint of a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NetInfo {
    /// Host name or IP.
    pub node_ip_addr: String,
    /// Port, as a string.
    pub daemon_port: String,
    /// `http://host:port`.
    pub direct_url: String,
}

impl NetInfo {
    /// Endpoint for `host:port`.
    pub fn new(host: &str, port: u16) -> Self {
        NetInfo {
            node_ip_addr: host.into(),
            daemon_port: port.to_string(),
            direct_url: format!("http://{host}:{port}"),
        }
    }
}

/// A cluster node (`meta.Snode`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snode {
    /// Public network.
    pub public_net: NetInfo,
    /// Intra-cluster data network.
    pub intra_data_net: NetInfo,
    /// Intra-cluster control network.
    pub intra_control_net: NetInfo,
    /// Role.
    pub daemon_type: NodeRole,
    /// Node id.
    pub daemon_id: String,
    /// Flag bits ([`snode_flag`]).
    #[serde(default)]
    pub flags: u64,
    /// XXH64 of the id (seed [`ais_placement::SEED`]); clients use it for HRW.
    #[serde(default)]
    pub id_digest: u64,
}

impl Snode {
    /// A node with all three networks at `host:port`.
    pub fn new(id: &str, role: NodeRole, host: &str, port: u16) -> Self {
        let n = NetInfo::new(host, port);
        Snode {
            public_net: n.clone(),
            intra_data_net: n.clone(),
            intra_control_net: n,
            daemon_type: role,
            daemon_id: id.into(),
            flags: 0,
            id_digest: ais_placement::digest(id.as_bytes()),
        }
    }
    /// Display name `t[ID]` / `p[ID]`.
    pub fn name(&self) -> String {
        format!("{}[{}]", self.daemon_type.letter(), self.daemon_id)
    }
    /// Whether HRW may place objects on this node.
    pub fn is_placeable(&self) -> bool {
        self.flags & snode_flag::NOT_PLACEABLE == 0
    }
    /// Recomputes `id_digest` (after deserializing from an untrusted peer).
    pub fn fix_digest(&mut self) {
        self.id_digest = ais_placement::digest(self.daemon_id.as_bytes());
    }
}

/// The cluster map (`meta.Smap`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Smap {
    /// Proxies by id (never `null` on the wire).
    #[serde(default)]
    pub pmap: BTreeMap<String, Snode>,
    /// The primary proxy.
    pub proxy_si: Option<Snode>,
    /// Targets by id (never `null` on the wire).
    #[serde(default)]
    pub tmap: BTreeMap<String, Snode>,
    /// Cluster uuid.
    #[serde(default)]
    pub uuid: String,
    /// Creation time `2006-01-02 15:04:05`.
    #[serde(default)]
    pub creation_time: String,
    /// Version; only grows.
    #[serde(with = "str_int", default)]
    pub version: i64,
}

impl Smap {
    /// An empty map (version 0) of cluster `uuid`.
    pub fn new(uuid: String) -> Self {
        Smap {
            pmap: BTreeMap::new(),
            proxy_si: None,
            tmap: BTreeMap::new(),
            uuid,
            creation_time: String::new(),
            version: 0,
        }
    }

    /// Adds or replaces a node and bumps the version; returns whether anything changed.
    pub fn add(&mut self, node: Snode) -> bool {
        let map = match node.daemon_type {
            NodeRole::Proxy => &mut self.pmap,
            NodeRole::Target => &mut self.tmap,
        };
        if map.get(&node.daemon_id) == Some(&node) {
            return false;
        }
        if self
            .proxy_si
            .as_ref()
            .is_some_and(|p| p.daemon_id == node.daemon_id)
        {
            self.proxy_si = Some(node.clone());
        }
        map.insert(node.daemon_id.clone(), node);
        self.version += 1;
        true
    }

    /// Looks a node up by id.
    pub fn get(&self, id: &str) -> Option<&Snode> {
        self.tmap.get(id).or_else(|| self.pmap.get(id))
    }

    /// Whether `id` is the primary proxy.
    pub fn is_primary(&self, id: &str) -> bool {
        self.proxy_si.as_ref().is_some_and(|p| p.daemon_id == id)
    }

    /// The target that owns object `uname` by HRW, skipping maintenance/decommission.
    pub fn hrw_target(&self, uname: &str) -> Result<&Snode, Error> {
        let d = ais_placement::digest(uname.as_bytes());
        self.hrw_target_digest(d)
    }

    /// Like [`Smap::hrw_target`] for a precomputed uname digest.
    pub fn hrw_target_digest(&self, d: u64) -> Result<&Snode, Error> {
        let mut best: Option<(&Snode, u64)> = None;
        for t in self.tmap.values().filter(|t| t.is_placeable()) {
            let w = ais_placement::weight(t.id_digest, d);
            if best.is_none_or(|(_, bw)| w > bw) {
                best = Some((t, w));
            }
        }
        best.map(|(t, _)| t).ok_or(Error::NoTargets(self.version))
    }

    /// Number of targets that take placements.
    pub fn count_active_targets(&self) -> usize {
        self.tmap.values().filter(|t| t.is_placeable()).count()
    }

    /// Accepts `newer` if its version is not older; errors on a downgrade.
    pub fn check_newer(&self, newer: &Smap) -> Result<bool, Error> {
        if newer.version < self.version {
            return Err(Error::Downgrade {
                what: "Smap",
                cur: self.version,
                new: newer.version,
            });
        }
        Ok(newer.version > self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape() {
        let mut s = Smap::new("u".into());
        let p = Snode::new("PrOxYiDx", NodeRole::Proxy, "127.0.0.1", 8080);
        s.add(p.clone());
        s.proxy_si = Some(p);
        s.add(Snode::new("TaXkLmNo", NodeRole::Target, "127.0.0.1", 8081));
        let j = serde_json::to_string(&s).unwrap();
        assert!(j.contains(r#""version":"2""#), "{j}");
        assert!(j.contains(r#""id_digest":18171183732999992660"#), "{j}");
        assert!(j.contains(r#""daemon_port":"8081""#), "{j}");
        assert!(j.contains(r#""daemon_type":"target""#), "{j}");
        let back: Smap = serde_json::from_str(&j).unwrap();
        assert_eq!(back, s);
        let empty = serde_json::to_string(&Smap::new("x".into())).unwrap();
        assert!(empty.contains(r#""tmap":{}"#) && empty.contains(r#""pmap":{}"#));
    }

    #[test]
    fn placement_skips_maintenance() {
        let mut s = Smap::new("u".into());
        for id in ["TaXkLmNo", "TbYpQrSt", "TcZuVwXy"] {
            s.add(Snode::new(id, NodeRole::Target, "h", 1));
        }
        assert_eq!(
            s.hrw_target("ais/@#/imagenet/train/0001.jpg")
                .unwrap()
                .daemon_id,
            "TcZuVwXy"
        );
        s.tmap.get_mut("TcZuVwXy").unwrap().flags = snode_flag::MAINTENANCE;
        assert_ne!(
            s.hrw_target("ais/@#/imagenet/train/0001.jpg")
                .unwrap()
                .daemon_id,
            "TcZuVwXy"
        );
        assert!(Smap::new("e".into()).hrw_target("x").is_err());
        let mut older = s.clone();
        older.version -= 1;
        assert!(s.check_newer(&older).is_err());
    }
}
