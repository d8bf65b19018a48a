//! `ais-metasync`: the intra-cluster control protocol.
//!
//! - **Revisions** ([`Revs`]): the cluster map (Smap), bucket metadata (BMD) and cluster config,
//!   each versioned; a node installs only newer versions and never moves backwards.
//! - **Keepalive** ([`keepalive::Tracker`]): the primary's record of when each node last reported;
//!   nodes silent for longer than the timeout are taken out of the Smap.
//! - **Election** ([`election`]): when the primary is gone, the electable proxy with the largest
//!   raw `id_digest` becomes the candidate (as AIS's `HrwProxy`) and asks the others to agree.
//!
//! The sans-IO parts above take time and maps as arguments, so they are unit-tested without a
//! network. The tonic shell ([`serve`], [`Peers`]) carries them over gRPC on the intra-control
//! network; every call carries the cluster secret in the [`SECRET_HEADER`] metadata and is
//! refused without it.
//!
//! The generated prost/tonic code in `src/pb/` is committed; `cargo xtask codegen` regenerates it
//! from `proto/metasync.proto` with the pure-Rust `protox` (no `protoc` needed to build).

pub mod election;
pub mod keepalive;
mod rpc;

pub use rpc::{Handler, Peers, serve};

/// Generated protocol types and tonic client/server.
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod pb {
    include!("pb/ais.metasync.v1.rs");
}

use ais_core::config::ClusterConfig;
use ais_meta::{Bmd, Smap};

/// gRPC metadata key of the cluster secret.
pub const SECRET_HEADER: &str = "ais-secret";

/// Errors of the control protocol.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer could not be reached or did not answer in time.
    #[error("{peer}: {msg}")]
    Unreachable {
        /// Peer URL.
        peer: String,
        /// What failed.
        msg: String,
    },
    /// The peer refused the request.
    #[error("{peer}: {code}: {msg}")]
    Refused {
        /// Peer URL.
        peer: String,
        /// gRPC status code name.
        code: String,
        /// Message from the peer.
        msg: String,
    },
    /// A payload could not be decoded.
    #[error("decode {what}: {msg}")]
    Decode {
        /// Which payload.
        what: &'static str,
        /// Why.
        msg: String,
    },
    /// An error from the handler, passed to the caller.
    #[error(transparent)]
    Core(#[from] ais_core::Error),
}

impl Error {
    /// The error kind.
    pub fn kind(&self) -> ais_core::ErrKind {
        match self {
            Error::Unreachable { .. } => ais_core::ErrKind::Unavailable,
            Error::Refused { .. } => ais_core::ErrKind::Conflict,
            Error::Decode { .. } => ais_core::ErrKind::Internal,
            Error::Core(e) => e.kind(),
        }
    }
    /// Whether retrying may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Unreachable { .. }) || self.kind().is_retryable()
    }
}

/// The versions of the three revisions a node holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Versions {
    /// Smap version.
    pub smap: i64,
    /// BMD version.
    pub bmd: i64,
    /// Cluster config version.
    pub config: i64,
}

impl Versions {
    /// Whether any of `other`'s versions is newer than ours.
    pub fn behind(&self, other: &Versions) -> bool {
        other.smap > self.smap || other.bmd > self.bmd || other.config > self.config
    }
}

impl From<pb::Versions> for Versions {
    fn from(v: pb::Versions) -> Self {
        Versions {
            smap: v.smap_version,
            bmd: v.bmd_version,
            config: v.config_version,
        }
    }
}

impl From<Versions> for pb::Versions {
    fn from(v: Versions) -> Self {
        pb::Versions {
            smap_version: v.smap,
            bmd_version: v.bmd,
            config_version: v.config,
        }
    }
}

/// A set of metadata revisions; `None` means "not included".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Revs {
    /// Cluster map.
    pub smap: Option<Smap>,
    /// Bucket metadata.
    pub bmd: Option<Bmd>,
    /// Cluster config (its version is `config_version`).
    pub config: Option<ClusterConfig>,
    /// Sending node.
    pub sender: String,
}

fn enc<T: serde::Serialize>(v: &Option<T>) -> Vec<u8> {
    v.as_ref()
        .map(|v| serde_json::to_vec(v).expect("metadata serializes"))
        .unwrap_or_default()
}

fn dec<T: serde::de::DeserializeOwned>(b: &[u8], what: &'static str) -> Result<Option<T>, Error> {
    if b.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(b)
        .map(Some)
        .map_err(|e| Error::Decode {
            what,
            msg: e.to_string(),
        })
}

impl Revs {
    /// Versions of the included revisions (0 for absent ones).
    pub fn versions(&self) -> Versions {
        Versions {
            smap: self.smap.as_ref().map_or(0, |s| s.version),
            bmd: self.bmd.as_ref().map_or(0, |b| b.version),
            config: self.config.as_ref().map_or(0, |c| c.config_version),
        }
    }

    /// Wire form.
    pub fn to_pb(&self) -> pb::Revs {
        let v = self.versions();
        pb::Revs {
            smap_version: v.smap,
            smap: enc(&self.smap),
            bmd_version: v.bmd,
            bmd: enc(&self.bmd),
            config_version: v.config,
            config: enc(&self.config),
            sender: self.sender.clone(),
        }
    }

    /// Decodes the wire form, checking that each payload's version matches its envelope.
    pub fn from_pb(p: &pb::Revs) -> Result<Revs, Error> {
        let r = Revs {
            smap: dec(&p.smap, "smap")?,
            bmd: dec(&p.bmd, "bmd")?,
            config: dec(&p.config, "config")?,
            sender: p.sender.clone(),
        };
        let v = r.versions();
        if (r.smap.is_some() && v.smap != p.smap_version)
            || (r.bmd.is_some() && v.bmd != p.bmd_version)
            || (r.config.is_some() && v.config != p.config_version)
        {
            return Err(Error::Decode {
                what: "revs",
                msg: "payload version differs from envelope".into(),
            });
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ais_meta::{NodeRole, Snode};

    #[test]
    fn revs_roundtrip() {
        let mut smap = Smap::new("u".into());
        smap.add(Snode::new("TaXkLmNo", NodeRole::Target, "127.0.0.1", 1));
        let r = Revs {
            smap: Some(smap),
            bmd: None,
            config: Some(ClusterConfig::default()),
            sender: "p1".into(),
        };
        let p = r.to_pb();
        assert!(p.bmd.is_empty());
        assert_eq!(Revs::from_pb(&p).unwrap(), r);
        let mut bad = p.clone();
        bad.smap_version = 99;
        assert!(Revs::from_pb(&bad).is_err());
        assert!(Versions::default().behind(&r.versions()));
        assert!(!r.versions().behind(&Versions::default()));
    }
}
