//! The Amazon S3 protocol as AIStore serves it, without I/O.
//!
//! A node hands this crate what it received (method, raw path and query, headers, body bytes)
//! and gets back decisions and bytes to send: which S3 operation a request is ([`route`]),
//! whether its signature holds ([`sigv4`]), the payload of an `aws-chunked` body
//! ([`chunked`]), parsed XML request bodies and rendered XML replies ([`xml`]), S3's error
//! codes ([`S3Error`]), ETags and checksums ([`etag`]) and conditional requests
//! ([`cond`]). Nothing here touches sockets, disks or global state.

pub mod chunked;
pub mod cond;
mod error;
pub mod etag;
pub mod route;
pub mod sigv2;
pub mod sigv4;
pub mod xml;

pub use error::{S3Error, S3ErrorCode};
