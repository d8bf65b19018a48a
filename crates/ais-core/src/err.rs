//! Error kinds shared by all crates, their HTTP status, and AIS's JSON error body.

use serde::{Deserialize, Serialize};

/// What went wrong, as a caller branches on it. Each kind has one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrKind {
    /// Malformed or invalid request (400).
    BadRequest,
    /// Bucket does not exist (404).
    BckNotFound,
    /// Object (or other named thing) does not exist (404).
    NotFound,
    /// Bucket already exists (409).
    BckAlreadyExists,
    /// Conflicting concurrent operation (409).
    Conflict,
    /// Data does not match its checksum (400).
    BadChecksum,
    /// Range not satisfiable (416).
    RangeNotSatisfiable,
    /// Not implemented or not supported (501).
    NotImplemented,
    /// Method not allowed (405).
    MethodNotAllowed,
    /// Access denied (403).
    Forbidden,
    /// Out of space (507).
    OutOfSpace,
    /// Node is starting or otherwise temporarily unable to serve (503).
    Unavailable,
    /// Internal failure: I/O, bug, peer failure (500).
    Internal,
}

impl ErrKind {
    /// The HTTP status code for this kind.
    pub fn status(self) -> u16 {
        match self {
            ErrKind::BadRequest | ErrKind::BadChecksum => 400,
            ErrKind::Forbidden => 403,
            ErrKind::BckNotFound | ErrKind::NotFound => 404,
            ErrKind::MethodNotAllowed => 405,
            ErrKind::BckAlreadyExists | ErrKind::Conflict => 409,
            ErrKind::RangeNotSatisfiable => 416,
            ErrKind::Internal => 500,
            ErrKind::NotImplemented => 501,
            ErrKind::Unavailable => 503,
            ErrKind::OutOfSpace => 507,
        }
    }

    /// AIS's `tcode` (Go error type name) for this kind, when it has one.
    pub fn tcode(self) -> &'static str {
        match self {
            ErrKind::BckNotFound => "ErrBckNotFound",
            ErrKind::NotFound => "ErrNotFound",
            ErrKind::BckAlreadyExists => "ErrBucketAlreadyExists",
            ErrKind::BadChecksum => "ErrInvalidCksum",
            ErrKind::RangeNotSatisfiable => "ErrRangeNotSatisfiable",
            ErrKind::NotImplemented => "ErrNotImpl",
            ErrKind::Conflict => "ErrBusy",
            _ => "",
        }
    }

    /// Whether retrying the same request may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrKind::Unavailable | ErrKind::Conflict)
    }
}

/// The error type of `ais-core`: a kind plus a human message that already names what failed
/// (AIS clients parse `ais://bucket[/object]` out of the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{msg}")]
#[non_exhaustive]
pub struct Error {
    /// What kind of failure.
    pub kind: ErrKind,
    /// Message shown to the client.
    pub msg: String,
}

impl Error {
    /// A new error of `kind` with message `msg`.
    pub fn new(kind: ErrKind, msg: impl Into<String>) -> Self {
        Error {
            kind,
            msg: msg.into(),
        }
    }
    /// Shorthand for a [`ErrKind::BadRequest`] error.
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(ErrKind::BadRequest, msg)
    }
    /// Shorthand for an [`ErrKind::Internal`] error.
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(ErrKind::Internal, msg)
    }
    /// The kind of failure.
    pub fn kind(&self) -> ErrKind {
        self.kind
    }
    /// Whether retrying may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

/// AIS's JSON error body (`cmn.ErrHTTP`): sent as the body of non-HEAD error replies and in the
/// `Hdr-Error` header of HEAD error replies. `status` always equals the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ErrorBody {
    /// Go error type name, may be empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tcode: String,
    /// Human-readable message.
    pub message: String,
    /// Request method.
    #[serde(default)]
    pub method: String,
    /// Request path.
    #[serde(default)]
    pub url_path: String,
    /// Client address `ip:port`.
    #[serde(default)]
    pub remote_addr: String,
    /// Calling node, if any.
    #[serde(default)]
    pub caller: String,
    /// Node that produced the error, e.g. `t[TaXkLmNo]`.
    #[serde(default)]
    pub node: String,
    /// HTTP status code.
    pub status: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(ErrKind::BckNotFound.status(), 404);
        assert_eq!(ErrKind::BckAlreadyExists.status(), 409);
        assert_eq!(ErrKind::BadChecksum.status(), 400);
        assert_eq!(ErrKind::RangeNotSatisfiable.status(), 416);
    }

    #[test]
    fn body_shape() {
        let b = ErrorBody {
            message: "bucket \"ais://x\" does not exist".into(),
            status: 404,
            ..Default::default()
        };
        let s = serde_json::to_string(&b).unwrap();
        assert!(s.contains("\"status\":404"), "{s}");
        assert!(!s.contains("tcode"), "{s}");
    }
}
