//! `ais-core`: the vocabulary every other AIStore crate speaks.
//!
//! Owns bucket identity ([`Bck`], [`Provider`], [`Namespace`]), name validation ([`name`]),
//! node and job ids ([`id`]), checksums ([`cksum`]), the error kind that maps to an HTTP status and
//! AIS's JSON error body ([`err`]), node configuration ([`config`]) and the JSON/msgpack wire types
//! of the native API ([`wire`]).
//!
//! It must never do I/O, spawn tasks or hold global state: everything here is plain data and pure
//! functions, so it can be embedded anywhere.
//!
//! ```
//! use ais_core::{Bck, Provider};
//! let bck = Bck::new("imagenet", Provider::Ais).unwrap();
//! assert_eq!(bck.cname(), "ais://imagenet");
//! assert_eq!(bck.uname("train/0001.jpg"), "ais/@#/imagenet/train/0001.jpg");
//! ```

pub mod bck;
pub mod cksum;
pub mod config;
pub mod err;
pub mod id;
pub mod name;
pub mod serde_util;
pub mod template;
pub mod time;
pub mod wire;

pub use bck::{Bck, Namespace, Provider};
pub use cksum::{Cksum, CksumHasher, CksumType};
pub use err::{ErrKind, Error, ErrorBody};
