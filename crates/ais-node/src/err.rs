//! Node errors, and the one place where library errors become an HTTP status plus AIS's JSON
//! error body (the body itself is built in `http::error_resp`).

use ais_core::ErrKind;

/// Errors that stop a node from starting or running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Invalid or unreadable configuration.
    #[error("config: {0}")]
    Config(String),
    /// Mountpath or metadata I/O at start-up.
    #[error("storage: {0}")]
    Storage(String),
    /// Could not join the cluster.
    #[error("join: {0}")]
    Join(String),
}

impl Error {
    /// The error kind.
    pub fn kind(&self) -> ErrKind {
        match self {
            Error::Config(_) => ErrKind::BadRequest,
            Error::Storage(_) => ErrKind::Internal,
            Error::Join(_) => ErrKind::Unavailable,
        }
    }
}

/// A blocking task that panicked or was cancelled.
pub(crate) fn join_err(e: tokio::task::JoinError) -> ais_core::Error {
    ais_core::Error::internal(format!("blocking task failed: {e}"))
}

/// Converts a disk error into the request-level error; `cname` names the object
/// (`ais://bck/obj`) so clients can classify a 404.
pub(crate) fn from_fs(e: ais_fs::Error, node: &str) -> ais_core::Error {
    let kind = e.kind();
    let msg = match &e {
        ais_fs::Error::Checksum(inner) => inner.msg.clone(),
        _ => format!("{node}: {e}"),
    };
    ais_core::Error::new(kind, msg)
}

/// Converts a metadata error.
pub(crate) fn from_meta(e: ais_meta::Error) -> ais_core::Error {
    match e {
        ais_meta::Error::Core(c) => c,
        other => ais_core::Error::new(other.kind(), other.to_string()),
    }
}

/// Converts a cloud-backend error (404 → not found, 401/403 → forbidden, unreachable → 503).
pub(crate) fn backend_err(e: ais_backend::Error) -> ais_core::Error {
    let kind = match &e {
        ais_backend::Error::NotFound(_) => ais_core::ErrKind::NotFound,
        ais_backend::Error::Forbidden(..) => ais_core::ErrKind::Forbidden,
        ais_backend::Error::Unreachable(_) => ais_core::ErrKind::Unavailable,
        _ => ais_core::ErrKind::Internal,
    };
    ais_core::Error::new(kind, e.to_string())
}
