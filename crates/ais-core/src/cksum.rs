//! Checksums: the types AIS supports, their wire names and value formats, and a streaming hasher.

use crate::err::{ErrKind, Error};
use md5::Digest as _;
use std::fmt::Write as _;
use std::hash::Hasher as _;

/// Checksum algorithm, named as on the wire (`Ais-Checksum-Type`, bucket `checksum.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CksumType {
    /// No checksum.
    None,
    /// XXH64 seed 0, 16 hex chars (the default).
    #[default]
    Xxhash,
    /// Same digest as `xxhash` (a different Go library in AIS).
    Xxhash2,
    /// MD5, 32 hex chars.
    Md5,
    /// CRC-32C (Castagnoli), 8 hex chars.
    Crc32c,
    /// SHA-256, 64 hex chars.
    Sha256,
    /// SHA-512, 128 hex chars.
    Sha512,
}

impl CksumType {
    /// Parses a wire name; empty means `none`.
    pub fn parse(s: &str) -> Result<CksumType, Error> {
        Ok(match s {
            "" | "none" => CksumType::None,
            "xxhash" => CksumType::Xxhash,
            "xxhash2" => CksumType::Xxhash2,
            "md5" => CksumType::Md5,
            "crc32c" => CksumType::Crc32c,
            "sha256" => CksumType::Sha256,
            "sha512" => CksumType::Sha512,
            _ => {
                return Err(Error::bad_request(format!(
                    "invalid checksum type \"{s}\" (expecting one of none, xxhash, xxhash2, md5, crc32c, sha256, sha512)"
                )));
            }
        })
    }
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CksumType::None => "none",
            CksumType::Xxhash => "xxhash",
            CksumType::Xxhash2 => "xxhash2",
            CksumType::Md5 => "md5",
            CksumType::Crc32c => "crc32c",
            CksumType::Sha256 => "sha256",
            CksumType::Sha512 => "sha512",
        }
    }
    /// Stable one-byte code used in on-disk metadata.
    pub fn code(self) -> u8 {
        match self {
            CksumType::None => 0,
            CksumType::Xxhash => 1,
            CksumType::Xxhash2 => 2,
            CksumType::Md5 => 3,
            CksumType::Crc32c => 4,
            CksumType::Sha256 => 5,
            CksumType::Sha512 => 6,
        }
    }
    /// Inverse of [`CksumType::code`].
    pub fn from_code(c: u8) -> Option<CksumType> {
        Some(match c {
            0 => CksumType::None,
            1 => CksumType::Xxhash,
            2 => CksumType::Xxhash2,
            3 => CksumType::Md5,
            4 => CksumType::Crc32c,
            5 => CksumType::Sha256,
            6 => CksumType::Sha512,
            _ => return None,
        })
    }
}

impl serde::Serialize for CksumType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for CksumType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CksumType::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A checksum value with its type. `value` is lower-case hex as AIS formats it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cksum {
    /// Algorithm.
    pub ty: CksumType,
    /// Lower-case hex digest.
    pub value: String,
}

impl Cksum {
    /// Checksum of a whole buffer.
    pub fn of(ty: CksumType, data: &[u8]) -> Option<Cksum> {
        let mut h = CksumHasher::new(ty)?;
        h.update(data);
        Some(h.finish())
    }

    /// Compares with `other` (same type required); the error names `what` (e.g. `ais://b/o`).
    pub fn verify(&self, other: &Cksum, what: &str) -> Result<(), Error> {
        if self.ty == other.ty && self.value.eq_ignore_ascii_case(&other.value) {
            return Ok(());
        }
        Err(Error::new(
            ErrKind::BadChecksum,
            format!(
                "BAD DATA CHECKSUM: {what}: {}({}) != {}({})",
                other.ty.as_str(),
                other.value,
                self.ty.as_str(),
                self.value
            ),
        ))
    }
}

enum State {
    Xx(twox_hash::XxHash64),
    Md5(md5::Md5),
    Crc(u32),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

/// Streaming checksum computation.
pub struct CksumHasher {
    ty: CksumType,
    st: State,
}

impl CksumHasher {
    /// A hasher for `ty`; `None` for [`CksumType::None`].
    pub fn new(ty: CksumType) -> Option<CksumHasher> {
        let st = match ty {
            CksumType::None => return None,
            CksumType::Xxhash | CksumType::Xxhash2 => State::Xx(twox_hash::XxHash64::with_seed(0)),
            CksumType::Md5 => State::Md5(md5::Md5::new()),
            CksumType::Crc32c => State::Crc(0),
            CksumType::Sha256 => State::Sha256(sha2::Sha256::new()),
            CksumType::Sha512 => State::Sha512(sha2::Sha512::new()),
        };
        Some(CksumHasher { ty, st })
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.st {
            State::Xx(h) => h.write(data),
            State::Md5(h) => h.update(data),
            State::Crc(c) => *c = crc32c::crc32c_append(*c, data),
            State::Sha256(h) => h.update(data),
            State::Sha512(h) => h.update(data),
        }
    }

    /// The final checksum.
    pub fn finish(self) -> Cksum {
        let value = match self.st {
            State::Xx(h) => format!("{:016x}", h.finish()),
            State::Md5(h) => hex(&h.finalize()),
            State::Crc(c) => format!("{c:08x}"),
            State::Sha256(h) => hex(&h.finalize()),
            State::Sha512(h) => hex(&h.finalize()),
        };
        Cksum { ty: self.ty, value }
    }
}

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors() {
        let c = |t| Cksum::of(t, b"hello").unwrap().value;
        assert_eq!(c(CksumType::Xxhash), "26c7827d889f6da3");
        assert_eq!(c(CksumType::Md5), "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(c(CksumType::Crc32c), "9a71bb4c");
        assert_eq!(
            c(CksumType::Sha256),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(c(CksumType::Sha512).len(), 128);
        assert!(Cksum::of(CksumType::None, b"x").is_none());
    }

    #[test]
    fn streaming_equals_oneshot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        for t in [
            CksumType::Xxhash,
            CksumType::Md5,
            CksumType::Crc32c,
            CksumType::Sha256,
        ] {
            let mut h = CksumHasher::new(t).unwrap();
            for ch in data.chunks(333) {
                h.update(ch);
            }
            assert_eq!(h.finish(), Cksum::of(t, &data).unwrap());
        }
    }

    #[test]
    fn verify() {
        let a = Cksum::of(CksumType::Xxhash, b"a").unwrap();
        let b = Cksum::of(CksumType::Xxhash, b"b").unwrap();
        assert!(a.verify(&a, "x").is_ok());
        let e = a.verify(&b, "ais://b/o").unwrap_err();
        assert_eq!(e.kind(), ErrKind::BadChecksum);
        assert!(e.msg.starts_with("BAD DATA CHECKSUM"));
    }
}
