//! Bucket properties (`cmn.Bprops`) and partial updates (`cmn.BpropsToSet`).

use ais_core::config::{CksumConf, ClusterConfig, EcConf, MirrorConf, VersioningConf};
use ais_core::serde_util::str_int;
use ais_core::{Bck, CksumType, Provider};
use serde::{Deserialize, Serialize};

/// Full-access bit mask (all access bits set).
pub const ACCESS_ALL: u64 = u64::MAX;

/// Properties of one bucket, as `Ais-Bucket-Props` and BMD entries carry them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bprops {
    /// Backend bucket (empty for plain ais buckets).
    #[serde(default = "empty_bck")]
    pub backend_bck: Bck,
    /// Write policy.
    #[serde(default)]
    pub write_policy: WritePolicy,
    /// Provider.
    pub provider: Provider,
    /// Checksum settings.
    #[serde(default)]
    pub checksum: CksumConf,
    /// Provider-specific extras.
    #[serde(default)]
    pub extra: serde_json::Value,
    /// Mirroring.
    #[serde(default)]
    pub mirror: MirrorConf,
    /// Erasure coding.
    #[serde(default)]
    pub ec: EcConf,
    /// Access bits.
    #[serde(with = "str_int", default = "access_all")]
    pub access: u64,
    /// Feature flags.
    #[serde(with = "str_int", default)]
    pub features: u64,
    /// Bucket id.
    #[serde(with = "str_int", default)]
    pub bid: u64,
    /// Creation time, unix ns.
    #[serde(with = "str_int", default)]
    pub created: i64,
    /// Versioning.
    #[serde(default)]
    pub versioning: VersioningConf,
}

fn empty_bck() -> Bck {
    Bck {
        name: String::new(),
        provider: Provider::Ais,
        namespace: Default::default(),
    }
}

fn access_all() -> u64 {
    ACCESS_ALL
}

/// Write policy (`data`, `md`): `""`/`immediate`, `delayed`, `never`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WritePolicy {
    /// Data write policy.
    #[serde(default)]
    pub data: String,
    /// Metadata write policy.
    #[serde(default)]
    pub md: String,
}

impl Bprops {
    /// Properties of a new bucket: cluster defaults, creation time and bucket id.
    pub fn new(provider: Provider, cfg: &ClusterConfig, created: i64, bid: u64) -> Self {
        Bprops {
            backend_bck: empty_bck(),
            write_policy: WritePolicy::default(),
            provider,
            checksum: cfg.checksum.clone(),
            extra: serde_json::json!({}),
            mirror: cfg.mirror.clone(),
            ec: cfg.ec.clone(),
            access: ACCESS_ALL,
            features: 0,
            bid,
            created,
            versioning: cfg.versioning.clone(),
        }
    }

    /// Applies a partial update, validating the result.
    pub fn apply(&mut self, u: &BpropsToSet) -> Result<(), ais_core::Error> {
        if let Some(c) = &u.checksum {
            if let Some(t) = &c.ty {
                self.checksum.ty = CksumType::parse(t)?;
            }
            set(&mut self.checksum.validate_cold_get, c.validate_cold_get);
            set(&mut self.checksum.validate_warm_get, c.validate_warm_get);
            set(&mut self.checksum.validate_obj_move, c.validate_obj_move);
            set(&mut self.checksum.enable_read_range, c.enable_read_range);
        }
        if let Some(v) = &u.versioning {
            set(&mut self.versioning.enabled, v.enabled);
            set(&mut self.versioning.validate_warm_get, v.validate_warm_get);
            set(&mut self.versioning.synchronize, v.synchronize);
        }
        if let Some(m) = &u.mirror {
            set(&mut self.mirror.enabled, m.enabled);
            set(&mut self.mirror.copies, m.copies);
            set(&mut self.mirror.burst_buffer, m.burst_buffer);
        }
        if let Some(e) = &u.ec {
            set(&mut self.ec.enabled, e.enabled);
            set(&mut self.ec.data_slices, e.data_slices);
            set(&mut self.ec.parity_slices, e.parity_slices);
            set(&mut self.ec.objsize_limit, e.objsize_limit);
        }
        if let Some(a) = u.access {
            self.access = a;
        }
        if let Some(x) = &u.extra {
            if !x.is_object() {
                return Err(ais_core::Error::bad_request(format!(
                    "invalid extra {x} (expecting an object)"
                )));
            }
            if let Some(aws) = x.get("aws")
                && let Some(ep) = aws.get("endpoint")
                && !(ep.is_null()
                    || ep.as_str().is_some_and(|s| {
                        s.is_empty() || s.starts_with("http://") || s.starts_with("https://")
                    }))
            {
                return Err(ais_core::Error::bad_request(format!(
                    "invalid extra.aws.endpoint {ep} (expecting an http:// or https:// URL)"
                )));
            }
            merge_json(&mut self.extra, x);
        }
        if self.ec.enabled
            && (!(1..=32).contains(&self.ec.data_slices)
                || !(1..=32).contains(&self.ec.parity_slices)
                || self.ec.objsize_limit < 0)
        {
            return Err(ais_core::Error::bad_request(format!(
                "invalid ec: data_slices {} and parity_slices {} must be 1..32, objsize_limit {} >= 0",
                self.ec.data_slices, self.ec.parity_slices, self.ec.objsize_limit
            )));
        }
        if !(1..=32).contains(&self.mirror.copies) {
            return Err(ais_core::Error::bad_request(format!(
                "invalid mirror.copies {} (expecting 1..32)",
                self.mirror.copies
            )));
        }
        Ok(())
    }
}

/// Merges `src` into `dst` object by object (`null` removes a key; other values replace).
fn merge_json(dst: &mut serde_json::Value, src: &serde_json::Value) {
    match (dst.as_object_mut(), src.as_object()) {
        (Some(d), Some(s)) => {
            for (k, v) in s {
                if v.is_null() {
                    d.remove(k);
                } else if v.is_object() && d.get(k).is_some_and(|x| x.is_object()) {
                    merge_json(d.get_mut(k).expect("checked"), v);
                } else {
                    d.insert(k.clone(), v.clone());
                }
            }
        }
        _ => *dst = src.clone(),
    }
}

fn set<T: Copy>(dst: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *dst = v;
    }
}

/// Partial bucket-props update; every field optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct BpropsToSet {
    /// Checksum changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<CksumToSet>,
    /// Versioning changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versioning: Option<VersioningToSet>,
    /// Mirror changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<MirrorToSet>,
    /// Erasure-coding changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ec: Option<EcToSet>,
    /// Access bits.
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_str_int")]
    pub access: Option<u64>,
    /// Provider-specific extras (e.g. `{"aws": {"endpoint": "http://..."}}`), merged key by key
    /// into the bucket's `extra`; a `null` value removes a key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra: Option<serde_json::Value>,
}

/// Checksum fields of [`BpropsToSet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CksumToSet {
    /// Algorithm name.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub ty: Option<String>,
    /// See [`CksumConf`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validate_cold_get: Option<bool>,
    /// See [`CksumConf`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validate_warm_get: Option<bool>,
    /// See [`CksumConf`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validate_obj_move: Option<bool>,
    /// See [`CksumConf`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_read_range: Option<bool>,
}

/// Versioning fields of [`BpropsToSet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct VersioningToSet {
    /// See [`VersioningConf`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// See [`VersioningConf`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validate_warm_get: Option<bool>,
    /// See [`VersioningConf`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synchronize: Option<bool>,
}

/// Mirror fields of [`BpropsToSet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct MirrorToSet {
    /// See [`MirrorConf`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// See [`MirrorConf`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copies: Option<i64>,
    /// See [`MirrorConf`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst_buffer: Option<i64>,
}

/// Erasure-coding fields of [`BpropsToSet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct EcToSet {
    /// See [`EcConf`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// See [`EcConf`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_slices: Option<i64>,
    /// See [`EcConf`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parity_slices: Option<i64>,
    /// See [`EcConf`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objsize_limit: Option<i64>,
}

mod opt_str_int {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum E {
            U(u64),
            S(String),
        }
        match Option::<E>::deserialize(d)? {
            None => Ok(None),
            Some(E::U(u)) => Ok(Some(u)),
            Some(E::S(s)) => s.parse().map(Some).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_merge() {
        let cfg = ClusterConfig::default();
        let mut p = Bprops::new(Provider::Aws, &cfg, 1, 1);
        let u: BpropsToSet = serde_json::from_str(
            r#"{"extra":{"aws":{"endpoint":"http://127.0.0.1:9000","cloud_region":"eu"}}}"#,
        )
        .unwrap();
        p.apply(&u).unwrap();
        let u: BpropsToSet =
            serde_json::from_str(r#"{"extra":{"aws":{"cloud_region":null}}}"#).unwrap();
        p.apply(&u).unwrap();
        assert_eq!(
            p.extra,
            serde_json::json!({"aws": {"endpoint": "http://127.0.0.1:9000"}})
        );
        let bad: BpropsToSet =
            serde_json::from_str(r#"{"extra":{"aws":{"endpoint":"ftp://x"}}}"#).unwrap();
        assert!(p.apply(&bad).is_err());
    }

    #[test]
    fn shape_and_update() {
        let cfg = ClusterConfig::default();
        let mut p = Bprops::new(Provider::Ais, &cfg, 1_717_171_717_000_000_000, 7);
        let j = serde_json::to_value(&p).unwrap();
        assert_eq!(j["checksum"]["type"], "xxhash");
        assert_eq!(j["access"], "18446744073709551615");
        assert_eq!(j["created"], "1717171717000000000");
        assert_eq!(j["provider"], "ais");
        let u: BpropsToSet = serde_json::from_str(
            r#"{"mirror":{"enabled":true,"copies":3},"checksum":{"type":"md5"}}"#,
        )
        .unwrap();
        p.apply(&u).unwrap();
        assert_eq!(p.checksum.ty, CksumType::Md5);
        assert_eq!(p.mirror.copies, 3);
        let bad: BpropsToSet = serde_json::from_str(r#"{"checksum":{"type":"nope"}}"#).unwrap();
        assert!(p.apply(&bad).is_err());
        let back: Bprops = serde_json::from_value(j).unwrap();
        assert_eq!(back.bid, 7);
    }
}
