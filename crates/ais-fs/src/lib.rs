//! `ais-fs`: a target's mountpaths and AIStore's open on-disk layout.
//!
//! Every object is a plain file at
//! `<mountpath>/@<provider>[/<ns>]/<bucket>/%ob/<object name>` — the object name keeps its `/`
//! structure as directories, so data can be copied out with `tar` or `rsync`. Object metadata
//! ([`Lom`]: size, checksum, version, atime, custom metadata) lives in the file's extended
//! attribute `user.ais.lom`, so it travels with the data.
//!
//! Writes are atomic: [`ObjWriter`] fills a work file under `%wk/`, fsyncs it, attaches the
//! metadata, then renames it into place and fsyncs the directory. Readers never see a partial
//! object, and an acknowledged object survives a crash. A dropped, uncommitted writer removes
//! its work file.
//!
//! Synchronous by design: callers on an async runtime run these calls on a blocking pool, one
//! call per object or per MiB.
//!
//! ```
//! # let dir = tempfile::tempdir().unwrap();
//! use ais_fs::{Mountpaths, ObjWriter, Lom};
//! use ais_core::{Bck, Provider, CksumType};
//! let mps = Mountpaths::new(&[dir.path().join("mp1").to_string_lossy().into_owned()]).unwrap();
//! let bck = Bck::new("bck", Provider::Ais).unwrap();
//! let loc = mps.locate(&bck, "dir/obj1");
//! let mut w = ObjWriter::create(&loc, CksumType::Xxhash).unwrap();
//! w.write(b"hello").unwrap();
//! let lom = w.commit(Lom::default(), None).unwrap();
//! assert_eq!(lom.cksum.unwrap().value, "26c7827d889f6da3");
//! assert_eq!(std::fs::read(&loc.fqn).unwrap(), b"hello");
//! ```

mod layout;
mod lom;
mod walk;
mod write;

pub use layout::{
    CT_COPY, CT_EC, CT_OBJ, CT_UPLOADS, CT_WORK, HASHED_NAME_PREFIX, Location, Mountpath,
    Mountpaths, bucket_dir, hashed_name, location, needs_hashed_name,
};
pub use lom::{LOM_XATTR, Lom};
pub use walk::{WalkEntry, walk_bucket};
pub use write::{
    ObjWriter, copy_object, delete_object, destroy_bucket, load_lom, move_object, store_lom,
};

use ais_core::ErrKind;

/// Errors of disk operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The object does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// The name clashes with an existing object or directory (e.g. `a` and `a/b`).
    #[error("{0}: name conflicts with an existing object or virtual directory")]
    NameConflict(String),
    /// Stored metadata is unreadable or fails its checksum.
    #[error("{0}: corrupted object metadata: {1}")]
    CorruptMeta(String, &'static str),
    /// Data failed checksum validation.
    #[error(transparent)]
    Checksum(ais_core::Error),
    /// A mountpath configuration problem.
    #[error("mountpath {0}: {1}")]
    Mountpath(String, String),
    /// Any other I/O error.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

impl Error {
    /// Kind (and so HTTP status) of this error.
    pub fn kind(&self) -> ErrKind {
        match self {
            Error::NotFound(_) => ErrKind::NotFound,
            Error::NameConflict(_) => ErrKind::Conflict,
            Error::Checksum(e) => e.kind(),
            Error::Io(_, e) if e.raw_os_error() == Some(28) => ErrKind::OutOfSpace,
            _ => ErrKind::Internal,
        }
    }

    pub(crate) fn io(what: impl std::fmt::Display, e: std::io::Error) -> Self {
        Error::Io(what.to_string(), e)
    }
}
