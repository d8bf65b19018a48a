//! LOM ("local object metadata"): what we persist beside each object's bytes, and its compact,
//! self-checking binary encoding stored in the `user.ais.lom` extended attribute.
//!
//! Encoding (all integers big-endian):
//! `u8 format(=1) | u64 xxh64(payload, SEED) | payload`, payload =
//! `u64 size | i64 atime_ns | u8 cksum_type | str cksum | str version | u16 n | n x (str key, str value) | str long_name`
//! where `str` = `u16 len | bytes`.

use ais_core::{Cksum, CksumType};
use std::collections::BTreeMap;

/// Name of the extended attribute holding the encoded [`Lom`].
pub const LOM_XATTR: &str = "user.ais.lom";

const FORMAT: u8 = 1;

/// Object metadata persisted with the object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lom {
    /// Size in bytes.
    pub size: u64,
    /// Last access (or write) time, unix ns.
    pub atime_ns: i64,
    /// Checksum of the whole object, if the bucket keeps one.
    pub cksum: Option<Cksum>,
    /// Version (`"1"`, `"2"`, ... for versioned ais buckets), empty if none.
    pub version: String,
    /// Custom metadata.
    pub custom: BTreeMap<String, String>,
    /// The object's name, kept only when it is stored under a hashed on-disk name.
    pub long_name: Option<String>,
}

impl Lom {
    /// Encodes for storage.
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(64 + self.version.len());
        p.extend_from_slice(&self.size.to_be_bytes());
        p.extend_from_slice(&self.atime_ns.to_be_bytes());
        match &self.cksum {
            Some(c) => {
                p.push(c.ty.code());
                put_str(&mut p, &c.value);
            }
            None => {
                p.push(CksumType::None.code());
                put_str(&mut p, "");
            }
        }
        put_str(&mut p, &self.version);
        p.extend_from_slice(&(self.custom.len() as u16).to_be_bytes());
        for (k, v) in &self.custom {
            put_str(&mut p, k);
            put_str(&mut p, v);
        }
        put_str(&mut p, self.long_name.as_deref().unwrap_or(""));
        let mut out = Vec::with_capacity(9 + p.len());
        out.push(FORMAT);
        out.extend_from_slice(&ais_placement::digest(&p).to_be_bytes());
        out.extend_from_slice(&p);
        out
    }

    /// Decodes and verifies stored metadata.
    pub fn decode(b: &[u8]) -> Result<Lom, &'static str> {
        if b.len() < 9 {
            return Err("too short");
        }
        if b[0] != FORMAT {
            return Err("unknown format");
        }
        let sum = u64::from_be_bytes(b[1..9].try_into().expect("8 bytes"));
        let p = &b[9..];
        if ais_placement::digest(p) != sum {
            return Err("checksum mismatch");
        }
        let mut r = Reader { b: p };
        let size = r.u64()?;
        let atime_ns = r.u64()? as i64;
        let ty = CksumType::from_code(r.u8()?).ok_or("bad checksum type")?;
        let value = r.str()?;
        let cksum = (ty != CksumType::None).then_some(Cksum { ty, value });
        let version = r.str()?;
        let n = r.u16()?;
        let mut custom = BTreeMap::new();
        for _ in 0..n {
            let k = r.str()?;
            let v = r.str()?;
            custom.insert(k, v);
        }
        let long_name = Some(r.str()?).filter(|s| !s.is_empty());
        Ok(Lom {
            long_name,
            size,
            atime_ns,
            cksum,
            version,
            custom,
        })
    }

    /// Custom metadata as listings show it: `[k1:v1 k2:v2]`.
    pub fn custom_str(&self) -> String {
        if self.custom.is_empty() {
            return String::new();
        }
        let inner: Vec<String> = self
            .custom
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect();
        format!("[{}]", inner.join(" "))
    }
}

fn put_str(p: &mut Vec<u8>, s: &str) {
    let n = s.len().min(u16::MAX as usize);
    p.extend_from_slice(&(n as u16).to_be_bytes());
    p.extend_from_slice(&s.as_bytes()[..n]);
}

struct Reader<'a> {
    b: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], &'static str> {
        if self.b.len() < n {
            return Err("truncated");
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, &'static str> {
        Ok(u16::from_be_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u64(&mut self) -> Result<u64, &'static str> {
        Ok(u64::from_be_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn str(&mut self) -> Result<String, &'static str> {
        let n = self.u16()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| "invalid utf-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn roundtrip(size in any::<u64>(), at in any::<i64>(), v in ".{0,20}",
                     kv in proptest::collection::btree_map(".{1,10}", ".{0,10}", 0..5), ck in proptest::option::of("[0-9a-f]{16}")) {
            let l = Lom { size, atime_ns: at, cksum: ck.map(|value| Cksum { ty: CksumType::Xxhash, value }), version: v, custom: kv, long_name: None };
            prop_assert_eq!(Lom::decode(&l.encode()).unwrap(), l);
        }

        #[test]
        fn corruption_detected(flip in 9usize..40, bit in 0u8..8) {
            let l = Lom { size: 1234, atime_ns: 5, cksum: Some(Cksum { ty: CksumType::Md5, value: "ab".repeat(16) }), version: "3".into(), custom: Default::default(), long_name: Some("x".repeat(1000)) };
            let mut e = l.encode();
            let i = flip.min(e.len() - 1);
            e[i] ^= 1 << bit;
            prop_assert!(Lom::decode(&e).is_err());
        }
    }

    #[test]
    fn custom_str() {
        let mut l = Lom::default();
        assert_eq!(l.custom_str(), "");
        l.custom.insert("a".into(), "1".into());
        l.custom.insert("b".into(), "2".into());
        assert_eq!(l.custom_str(), "[a:1 b:2]");
    }
}
