//! Bucket identity: provider, namespace and name, with AIS's validation and naming forms.

use crate::err::{ErrKind, Error};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Maximum bucket name length in bytes.
pub const BCK_NAME_LEN_MAX: usize = 64;

/// Storage provider of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Provider {
    /// AIS-native bucket (also a remote AIS cluster when the namespace has a uuid).
    #[default]
    Ais,
    /// Amazon S3 and compatibles.
    Aws,
    /// Google Cloud Storage.
    Gcp,
    /// Azure Blob Storage.
    Azure,
    /// Oracle Cloud Infrastructure.
    Oci,
}

impl Provider {
    /// Parses a provider name or its scheme alias (`s3`, `gs`, `az`, `oc`); empty means `ais`.
    pub fn parse(s: &str) -> Result<Provider, Error> {
        Ok(match s {
            "" | "ais" => Provider::Ais,
            "aws" | "s3" => Provider::Aws,
            "gcp" | "gs" => Provider::Gcp,
            "azure" | "az" => Provider::Azure,
            "oci" | "oc" => Provider::Oci,
            _ => {
                return Err(Error::bad_request(format!(
                    "invalid bucket provider \"{s}\""
                )));
            }
        })
    }
    /// Normalized name used in unames and on the wire (`ais`, `aws`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Ais => "ais",
            Provider::Aws => "aws",
            Provider::Gcp => "gcp",
            Provider::Azure => "azure",
            Provider::Oci => "oci",
        }
    }
    /// URL scheme form used in messages (`ais://`, `s3://`, ...).
    pub fn scheme(self) -> &'static str {
        match self {
            Provider::Ais => "ais",
            Provider::Aws => "s3",
            Provider::Gcp => "gs",
            Provider::Azure => "az",
            Provider::Oci => "oc",
        }
    }
    /// All providers, in display order.
    pub const ALL: [Provider; 5] = [
        Provider::Ais,
        Provider::Aws,
        Provider::Gcp,
        Provider::Azure,
        Provider::Oci,
    ];
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Provider {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Provider {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        Provider::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Bucket namespace: global when both fields are empty; `uuid` names a remote cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Namespace {
    /// Remote cluster uuid (or alias); empty for this cluster.
    #[serde(default)]
    pub uuid: String,
    /// Namespace name; empty for the global namespace.
    #[serde(default)]
    pub name: String,
}

impl Namespace {
    /// Whether this is the global namespace.
    pub fn is_global(&self) -> bool {
        self.uuid.is_empty() && self.name.is_empty()
    }
    /// The namespace's uname: `@#` for global, else `@uuid#name`.
    pub fn uname(&self) -> String {
        format!("@{}#{}", self.uuid, self.name)
    }
    /// Parses the `namespace=` query form `@uuid#name` (or `#name`); empty means global.
    pub fn parse(s: &str) -> Result<Namespace, Error> {
        if s.is_empty() {
            return Ok(Namespace::default());
        }
        let s = s.strip_prefix('@').unwrap_or(s);
        let (uuid, name) = match s.split_once('#') {
            Some((u, n)) => (u, n),
            None => (s, ""),
        };
        let ns = Namespace {
            uuid: uuid.to_string(),
            name: name.to_string(),
        };
        for part in [&ns.uuid, &ns.name] {
            if !part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
            {
                return Err(Error::bad_request(format!("invalid namespace \"{s}\"")));
            }
        }
        Ok(ns)
    }
}

/// Bucket identity (`cmn.Bck`): name, provider and namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Bck {
    /// Bucket name.
    pub name: String,
    /// Provider.
    #[serde(default)]
    pub provider: Provider,
    /// Namespace; `null` or missing means global.
    #[serde(default, deserialize_with = "null_ns")]
    pub namespace: Namespace,
}

fn null_ns<'de, D: Deserializer<'de>>(d: D) -> Result<Namespace, D::Error> {
    Ok(Option::<Namespace>::deserialize(d)?.unwrap_or_default())
}

impl Bck {
    /// Parses the clients' bucket/object URI: `ais://bucket[/object]` (any provider scheme or
    /// alias: `s3://`, `gs://`, `az://`, …; no scheme means `ais`), and `ais://@alias/bucket[/obj]`
    /// (or `@uuid#ns`) for a bucket in a remote cluster's namespace. Returns the bucket and the
    /// rest of the path (the object name, or a prefix; may be empty).
    pub fn parse_uri(s: &str) -> Result<(Bck, &str), Error> {
        let (prov, rest) = s.split_once("://").unwrap_or(("ais", s));
        let (ns, rest) = match rest.strip_prefix('@') {
            Some(r) => {
                let (ns, r) = r.split_once('/').unwrap_or((r, ""));
                (Namespace::parse(ns)?, r)
            }
            None => (Namespace::default(), rest),
        };
        let (name, obj) = rest.split_once('/').unwrap_or((rest, ""));
        let mut bck = Bck::new(name, Provider::parse(prov)?)?;
        bck.namespace = ns;
        Ok((bck, obj))
    }

    /// A validated bucket in the global namespace.
    pub fn new(name: &str, provider: Provider) -> Result<Bck, Error> {
        let b = Bck {
            name: name.to_string(),
            provider,
            namespace: Namespace::default(),
        };
        b.validate()?;
        Ok(b)
    }

    /// Checks the bucket name: 1..=64 bytes of `[A-Za-z0-9_.-]`, no `..`.
    pub fn validate(&self) -> Result<(), Error> {
        let n = &self.name;
        let bad = n.is_empty()
            || n.len() > BCK_NAME_LEN_MAX
            || n.contains("..")
            || !n
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if bad {
            return Err(Error::new(
                ErrKind::BadRequest,
                format!(
                    "bucket name \"{}\" is invalid: may only contain letters, numbers, dashes (-), underscores (_), and dots (.), must not contain \"..\", and must be 1..{} characters long",
                    n, BCK_NAME_LEN_MAX
                ),
            ));
        }
        Ok(())
    }

    /// Whether this is an AIS bucket of this cluster (not remote, not cloud).
    pub fn is_ais(&self) -> bool {
        self.provider == Provider::Ais && self.namespace.uuid.is_empty()
    }

    /// The name used for hashing: `provider/@uuid#ns/bucket/objname`.
    pub fn uname(&self, obj: &str) -> String {
        let mut s = self.uname_prefix();
        s.push_str(obj);
        s
    }

    /// The uname of the bucket itself, with a trailing `/` (e.g. `ais/@#/bck/`).
    pub fn uname_prefix(&self) -> String {
        format!(
            "{}/{}/{}/",
            self.provider.as_str(),
            self.namespace.uname(),
            self.name
        )
    }

    /// The name shown in messages: `ais://bck` or `ais://@uuid#ns/bck`.
    pub fn cname(&self) -> String {
        if self.namespace.is_global() {
            format!("{}://{}", self.provider.scheme(), self.name)
        } else {
            format!(
                "{}://{}/{}",
                self.provider.scheme(),
                self.namespace.uname(),
                self.name
            )
        }
    }

    /// The name of an object in messages: `ais://bck/obj`.
    pub fn cname_obj(&self, obj: &str) -> String {
        format!("{}/{}", self.cname(), obj)
    }

    /// Parses a bucket path such as `ais/@#/dst/` (query `bck_to`).
    pub fn parse_path(s: &str) -> Result<Bck, Error> {
        let bad = || Error::bad_request(format!("invalid bucket path \"{s}\""));
        let s = s.trim_end_matches('/');
        let mut parts = s.splitn(3, '/');
        let prov = parts.next().ok_or_else(bad)?;
        let ns = parts.next().ok_or_else(bad)?;
        let name = parts.next().ok_or_else(bad)?;
        let b = Bck {
            name: name.to_string(),
            provider: Provider::parse(prov)?,
            namespace: Namespace::parse(ns)?,
        };
        b.validate()?;
        Ok(b)
    }
}

impl fmt::Display for Bck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cname())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        let (b, o) = Bck::parse_uri("ais://b/dir/obj").unwrap();
        assert_eq!(
            (b.name.as_str(), b.provider, o),
            ("b", Provider::Ais, "dir/obj")
        );
        assert!(b.namespace.is_global());
        let (b, o) = Bck::parse_uri("gs://data").unwrap();
        assert_eq!((b.provider, o), (Provider::Gcp, ""));
        let (b, o) = Bck::parse_uri("plain/x").unwrap();
        assert_eq!(
            (b.name.as_str(), b.provider, o),
            ("plain", Provider::Ais, "x")
        );
        let (b, o) = Bck::parse_uri("ais://@rem/b/o").unwrap();
        assert_eq!(
            (b.namespace.uuid.as_str(), b.name.as_str(), o),
            ("rem", "b", "o")
        );
        let (b, _) = Bck::parse_uri("ais://@rem#ns/b").unwrap();
        assert_eq!(b.namespace.uname(), "@rem#ns");
        for bad in [
            "ais://",
            "ftp://b",
            "ais://@r",
            "ais://@r/",
            "ais://@a b/x",
            "ais://../o",
        ] {
            assert!(Bck::parse_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        for ok in ["a", "my-bucket_1.x", &"a".repeat(64)] {
            assert!(Bck::new(ok, Provider::Ais).is_ok(), "{ok}");
        }
        for bad in ["", "..", "a..b", "bad name", "a/b", &"a".repeat(65), "ünï"] {
            let e = Bck::new(bad, Provider::Ais).unwrap_err();
            assert_eq!(e.kind(), ErrKind::BadRequest, "{bad}");
        }
    }

    #[test]
    fn unames() {
        let mut b = Bck::new("bck", Provider::Ais).unwrap();
        assert_eq!(b.uname("obj1"), "ais/@#/bck/obj1");
        b.namespace = Namespace::parse("@uuid1#ns1").unwrap();
        assert_eq!(b.uname("obj1"), "ais/@uuid1#ns1/bck/obj1");
        assert_eq!(b.cname(), "ais://@uuid1#ns1/bck");
        let s3 = Bck::new("s3bck", Provider::parse("s3").unwrap()).unwrap();
        assert_eq!(s3.uname("a/b/c.txt"), "aws/@#/s3bck/a/b/c.txt");
        assert_eq!(s3.cname(), "s3://s3bck");
    }

    #[test]
    fn wire() {
        let b: Bck =
            serde_json::from_str(r#"{"name":"x","provider":"ais","namespace":null}"#).unwrap();
        assert!(b.namespace.is_global());
        let b: Bck = serde_json::from_str(r#"{"name":"x"}"#).unwrap();
        assert_eq!(b.provider, Provider::Ais);
        assert_eq!(
            serde_json::to_string(&b).unwrap(),
            r#"{"name":"x","provider":"ais","namespace":{"uuid":"","name":""}}"#
        );
        assert_eq!(Bck::parse_path("ais/@#/dst/").unwrap().name, "dst");
    }
}
