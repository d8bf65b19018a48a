//! BMD: the versioned bucket metadata, provider → namespace → bucket → props.

use crate::Error;
use crate::bprops::Bprops;
use ais_core::serde_util::str_int;
use ais_core::{Bck, ErrKind, Namespace, Provider};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

type Buckets = BTreeMap<String, Bprops>;

/// Bucket metadata (`meta.BMD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Bmd {
    /// provider → namespace uname → bucket name → props.
    #[serde(default)]
    pub providers: BTreeMap<String, BTreeMap<String, Buckets>>,
    /// BMD uuid (= cluster uuid).
    #[serde(default)]
    pub uuid: String,
    /// Version; only grows.
    #[serde(with = "str_int", default)]
    pub version: i64,
}

impl Bmd {
    /// Props of `bck`, if it exists.
    pub fn get(&self, bck: &Bck) -> Option<&Bprops> {
        self.providers
            .get(bck.provider.as_str())?
            .get(&bck.namespace.uname())?
            .get(&bck.name)
    }

    /// Props of `bck`, or a not-found error naming `ais://bck`.
    pub fn need(&self, bck: &Bck) -> Result<&Bprops, ais_core::Error> {
        self.get(bck).ok_or_else(|| not_found(bck))
    }

    /// Adds a bucket and bumps the version; 409 if it exists.
    pub fn add(&mut self, bck: &Bck, props: Bprops) -> Result<(), Error> {
        let m = self
            .providers
            .entry(bck.provider.as_str().to_string())
            .or_default()
            .entry(bck.namespace.uname())
            .or_default();
        if m.contains_key(&bck.name) {
            return Err(ais_core::Error::new(
                ErrKind::BckAlreadyExists,
                format!("bucket \"{}\" already exists", bck.cname()),
            )
            .into());
        }
        m.insert(bck.name.clone(), props);
        self.version += 1;
        Ok(())
    }

    /// Removes a bucket and bumps the version; 404 if missing.
    pub fn remove(&mut self, bck: &Bck) -> Result<Bprops, Error> {
        let prov = bck.provider.as_str();
        let ns = bck.namespace.uname();
        let props = self
            .providers
            .get_mut(prov)
            .and_then(|p| p.get_mut(&ns))
            .and_then(|m| m.remove(&bck.name))
            .ok_or_else(|| not_found(bck))?;
        if self.providers[prov][&ns].is_empty() {
            self.providers.get_mut(prov).map(|p| p.remove(&ns));
        }
        if self.providers[prov].is_empty() {
            self.providers.remove(prov);
        }
        self.version += 1;
        Ok(props)
    }

    /// Replaces a bucket's props and bumps the version; 404 if missing.
    pub fn set(&mut self, bck: &Bck, props: Bprops) -> Result<(), Error> {
        let slot = self
            .providers
            .get_mut(bck.provider.as_str())
            .and_then(|p| p.get_mut(&bck.namespace.uname()))
            .and_then(|m| m.get_mut(&bck.name))
            .ok_or_else(|| not_found(bck))?;
        *slot = props;
        self.version += 1;
        Ok(())
    }

    /// All buckets, optionally of one provider, sorted.
    pub fn list(&self, provider: Option<Provider>) -> Vec<Bck> {
        let mut v = Vec::new();
        for (p, nss) in &self.providers {
            let Ok(prov) = Provider::parse(p) else {
                continue;
            };
            if provider.is_some_and(|want| want != prov) {
                continue;
            }
            for (ns, bs) in nss {
                let namespace = Namespace::parse(ns).unwrap_or_default();
                for name in bs.keys() {
                    v.push(Bck {
                        name: name.clone(),
                        provider: prov,
                        namespace: namespace.clone(),
                    });
                }
            }
        }
        v
    }

    /// Accepts `newer` if not older; errors on a downgrade.
    pub fn check_newer(&self, newer: &Bmd) -> Result<bool, Error> {
        if newer.version < self.version {
            return Err(Error::Downgrade {
                what: "BMD",
                cur: self.version,
                new: newer.version,
            });
        }
        Ok(newer.version > self.version)
    }
}

fn not_found(bck: &Bck) -> ais_core::Error {
    ais_core::Error::new(
        ErrKind::BckNotFound,
        format!("bucket \"{}\" does not exist", bck.cname()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ais_core::config::ClusterConfig;

    #[test]
    fn add_remove() {
        let cfg = ClusterConfig::default();
        let mut bmd = Bmd::default();
        let b = Bck::new("b1", Provider::Ais).unwrap();
        bmd.add(&b, Bprops::new(Provider::Ais, &cfg, 1, 1)).unwrap();
        assert_eq!(bmd.version, 1);
        let e = bmd
            .add(&b, Bprops::new(Provider::Ais, &cfg, 1, 1))
            .unwrap_err();
        assert_eq!(e.kind(), ErrKind::BckAlreadyExists);
        assert!(e.to_string().contains("ais://b1"));
        assert_eq!(bmd.list(None), vec![b.clone()]);
        let j = serde_json::to_value(&bmd).unwrap();
        assert!(j["providers"]["ais"]["@#"]["b1"].is_object());
        assert_eq!(j["version"], "1");
        bmd.remove(&b).unwrap();
        assert!(bmd.providers.is_empty());
        let e = bmd.remove(&b).unwrap_err();
        assert_eq!(e.kind(), ErrKind::BckNotFound);
        assert_eq!(bmd.version, 2);
    }
}
