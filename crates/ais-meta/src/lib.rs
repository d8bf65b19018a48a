//! `ais-meta`: cluster metadata as AIStore puts it on the wire — the cluster map ([`Smap`]) of
//! proxies and targets ([`Snode`]), bucket metadata ([`Bmd`]) with bucket properties
//! ([`Bprops`]) — and their version rules: a revision only ever moves forward.
//!
//! No I/O and no runtime: persistence and distribution belong to the node and metasync crates.
//!
//! ```
//! use ais_meta::{Smap, Snode, NodeRole};
//! let mut smap = Smap::new("cluster-uuid".into());
//! smap.add(Snode::new("TaXkLmNo", NodeRole::Target, "127.0.0.1", 8081));
//! assert_eq!(smap.version, 1);
//! let owner = smap.hrw_target("ais/@#/bck/obj1").unwrap();
//! assert_eq!(owner.daemon_id, "TaXkLmNo");
//! ```

mod bmd;
mod bprops;
mod smap;

pub use bmd::Bmd;
pub use bprops::{
    ACCESS_ALL, Bprops, BpropsToSet, CksumToSet, EcToSet, MirrorToSet, VersioningToSet, WritePolicy,
};
pub use smap::{NetInfo, NodeRole, Smap, Snode, snode_flag};

/// Errors of metadata operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No target is eligible for placement.
    #[error("no targets in the cluster map (Smap v{0})")]
    NoTargets(i64),
    /// An update would move a revision backwards.
    #[error("{what}: version v{new} is older than the current v{cur}")]
    Downgrade {
        /// Which metadata.
        what: &'static str,
        /// Current version.
        cur: i64,
        /// Offered version.
        new: i64,
    },
    /// A core error (bucket exists, not found, bad props).
    #[error(transparent)]
    Core(#[from] ais_core::Error),
}

impl Error {
    /// The error kind (and so HTTP status) of this error.
    pub fn kind(&self) -> ais_core::ErrKind {
        match self {
            Error::NoTargets(_) => ais_core::ErrKind::Unavailable,
            Error::Downgrade { .. } => ais_core::ErrKind::Conflict,
            Error::Core(e) => e.kind(),
        }
    }
}
