//! Cloud backends of remote buckets.
//!
//! A node that serves remote buckets talks to each bucket's home through a [`Backend`], chosen
//! by the bucket's provider from the node's [`Backends`] (built from the environment):
//!
//! - `aws://` (`s3://`): [`S3Backend`], an S3 client that signs with SigV4 (`ais-s3`, verified
//!   against AWS's published vectors); AWS and S3-compatible endpoints (path-style).
//!   `S3_ENDPOINT` (or `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`), `AWS_ACCESS_KEY_ID`,
//!   `AWS_SECRET_ACCESS_KEY`, `AWS_REGION` (or `AWS_DEFAULT_REGION`).
//! - `gcp://` (`gs://`): [`GcsBackend`], the Cloud Storage JSON API. `STORAGE_EMULATOR_HOST`
//!   (as Google's own clients read it: an emulator, no authentication), or
//!   `GOOGLE_OAUTH_ACCESS_TOKEN` (a bearer token) for `storage.googleapis.com`.
//! - `azure://` (`az://`): [`AzureBackend`], the Blob REST API with SharedKey authentication.
//!   `AZURE_STORAGE_ACCOUNT`, `AZURE_STORAGE_KEY`, `AIS_AZURE_URL` (the account's blob
//!   endpoint, e.g. `http://127.0.0.1:10000/devstoreaccount1` for Azurite), or
//!   `AZURE_STORAGE_CONNECTION_STRING` (`AccountName=`, `AccountKey=`, `BlobEndpoint=`).
//!
//! All of them stream GETs and PUTs (a GET returns the response whose body is read as it
//! arrives) and page listings; errors are one [`Error`] type whatever the provider.
//!
//! Why not `object_store` or the cloud SDKs: they would add a second HTTP/TLS stack, async
//! runtimes' worth of dependencies and MSRVs to track, for the six calls a cache tier needs;
//! the signers (SigV4 here, SharedKey in [`azure`]), the XML and the streaming already exist.

pub mod azure;
pub mod gcs;
mod remais;
mod s3;

pub use azure::AzureBackend;
pub use gcs::GcsBackend;
pub use remais::AisBackend;
pub use s3::{S3Backend, aws_endpoint};

use ais_core::Provider;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What went wrong talking to a backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bucket or object does not exist in the backend (404).
    #[error("{0}: not found in the backend")]
    NotFound(String),
    /// The backend refused the credentials or the access (401/403).
    #[error("{0}: access denied by the backend ({1})")]
    Forbidden(String, String),
    /// The backend could not be reached (connect, timeout, reset).
    #[error("backend unreachable: {0}")]
    Unreachable(String),
    /// Any other reply.
    #[error("{what}: backend replied {status}: {msg}")]
    Other {
        /// The resource.
        what: String,
        /// HTTP status.
        status: u16,
        /// The backend's message (its error code and message when present).
        msg: String,
    },
    /// The backend's configuration (endpoint, key) is invalid.
    #[error("invalid backend configuration: {0}")]
    Config(String),
}

/// An object as the backend describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteObject {
    /// Key.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Content tag without quotes: S3 and Azure `ETag`; GCS `md5Hash` (base64; `crc32c` for
    /// composite objects, which have no MD5). It changes when the content is replaced.
    pub etag: String,
    /// Version: S3 `x-amz-version-id` (empty when the bucket is not versioned); GCS
    /// `generation`; Azure `x-ms-version-id` when blob versioning is on, else the ETag (as AIS
    /// does: every overwrite changes it).
    pub version: String,
    /// Last modified, as the backend formats it.
    pub last_modified: String,
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    /// Objects in key order.
    pub objects: Vec<RemoteObject>,
    /// Token of the next page; empty when done.
    pub next: String,
}

/// The HTTP client every backend uses: bounded connect and read waits; `http://` and
/// `https://` (rustls; the system's CA certificates, or `SSL_CERT_FILE` / `SSL_CERT_DIR`).
pub(crate) fn http_client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| Error::Config(e.to_string()))
}

/// Sends `rb`; a non-2xx reply becomes an [`Error`] (404 → not found, 401/403 → forbidden),
/// with the message `msg` extracts from the error body (else the body's start).
pub(crate) async fn send(
    what: &str,
    rb: reqwest::RequestBuilder,
    msg: fn(&str) -> Option<String>,
) -> Result<reqwest::Response, Error> {
    let r = rb
        .send()
        .await
        .map_err(|e| Error::Unreachable(format!("{what}: {e}")))?;
    check(what, r, msg).await
}

/// A reply: itself when 2xx, else its [`Error`] (see [`send`]).
pub(crate) async fn check(
    what: &str,
    r: reqwest::Response,
    msg: fn(&str) -> Option<String>,
) -> Result<reqwest::Response, Error> {
    let status = r.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(r);
    }
    let code = r
        .headers()
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = r.text().await.unwrap_or_default();
    let msg = msg(&body)
        .or(code)
        .unwrap_or_else(|| body.chars().take(200).collect());
    Err(match status {
        404 => Error::NotFound(what.to_string()),
        401 | 403 => Error::Forbidden(what.to_string(), msg),
        _ => Error::Other {
            what: what.to_string(),
            status,
            msg,
        },
    })
}

/// Reads an endpoint variable: `http://` is added when the value has no scheme.
pub(crate) fn endpoint_url(v: &str) -> String {
    let v = v.trim().trim_end_matches('/');
    if v.contains("://") {
        v.to_string()
    } else {
        format!("http://{v}")
    }
}

/// A non-empty environment variable.
pub(crate) fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

/// The backend of one cloud provider.
#[derive(Debug, Clone)]
pub enum Backend {
    /// `aws://`.
    S3(S3Backend),
    /// `gcp://`.
    Gcs(GcsBackend),
    /// `azure://`.
    Azure(AzureBackend),
    /// `ais://@alias/...`: a remote AIS cluster.
    Ais(AisBackend),
}

macro_rules! each {
    ($self:ident, $b:ident => $e:expr) => {
        match $self {
            Backend::S3($b) => $e,
            Backend::Gcs($b) => $e,
            Backend::Azure($b) => $e,
            Backend::Ais($b) => $e,
        }
    };
}

impl Backend {
    /// The provider this backend serves.
    pub fn provider(&self) -> Provider {
        match self {
            Backend::S3(_) => Provider::Aws,
            Backend::Gcs(_) => Provider::Gcp,
            Backend::Azure(_) => Provider::Azure,
            Backend::Ais(_) => Provider::Ais,
        }
    }

    /// Creates a bucket (tests and tools; a cache tier does not create cloud buckets).
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), Error> {
        each!(self, b => b.create_bucket(bucket).await)
    }

    /// Whether the bucket exists and is accessible.
    pub async fn head_bucket(&self, bucket: &str) -> Result<(), Error> {
        each!(self, b => b.head_bucket(bucket).await)
    }

    /// One page of the bucket's objects under `prefix` (`token` from the previous page; at
    /// most `max` objects, bounded by the provider's own limit).
    pub async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        token: &str,
        max: usize,
    ) -> Result<ListPage, Error> {
        each!(self, b => b.list(bucket, prefix, token, max).await)
    }

    /// The object's attributes.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<RemoteObject, Error> {
        each!(self, b => b.head(bucket, key).await)
    }

    /// Starts a GET: the attributes and the response whose body streams the bytes.
    pub async fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(RemoteObject, reqwest::Response), Error> {
        each!(self, b => b.get(bucket, key).await)
    }

    /// Uploads `len` bytes streamed from `body` in one request; returns the new attributes.
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: reqwest::Body,
        len: u64,
    ) -> Result<RemoteObject, Error> {
        each!(self, b => b.put(bucket, key, body, len).await)
    }

    /// Uploads a small body held in memory.
    pub async fn put_bytes(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
    ) -> Result<RemoteObject, Error> {
        let len = body.len() as u64;
        self.put(bucket, key, reqwest::Body::from(body), len).await
    }

    /// Deletes the object (a missing one is not an error).
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), Error> {
        each!(self, b => b.delete(bucket, key).await)
    }
}

/// The backends a node has, one per cloud provider at most, and the S3 backends of buckets
/// with an endpoint of their own (made on first use, kept).
#[derive(Debug, Clone, Default)]
pub struct Backends {
    s3: Option<Backend>,
    gcs: Option<Backend>,
    azure: Option<Backend>,
    /// By (endpoint, region).
    s3_at: Arc<Mutex<HashMap<(String, String), Backend>>>,
    /// Remote AIS clusters by (alias, URL).
    ais_at: Arc<Mutex<HashMap<(String, String), Backend>>>,
}

impl Backends {
    /// The backends the environment configures (see the crate docs); a provider whose
    /// variables are absent or invalid has none (an invalid one is logged to stderr by the
    /// caller through [`Backends::from_env_checked`]).
    pub fn from_env() -> Backends {
        Self::from_env_checked().0
    }

    /// Like [`Backends::from_env`], also returning the configuration errors found.
    pub fn from_env_checked() -> (Backends, Vec<Error>) {
        let mut errs = Vec::new();
        let mut keep = |r: Option<Result<Backend, Error>>| match r {
            Some(Ok(b)) => Some(b),
            Some(Err(e)) => {
                errs.push(e);
                None
            }
            None => None,
        };
        let s3 = keep(S3Backend::from_env().map(|r| r.map(Backend::S3)));
        let gcs = keep(GcsBackend::from_env().map(|r| r.map(Backend::Gcs)));
        let azure = keep(AzureBackend::from_env().map(|r| r.map(Backend::Azure)));
        (
            Backends {
                s3,
                gcs,
                azure,
                ..Default::default()
            },
            errs,
        )
    }

    /// A set with the given backends (a later one replaces an earlier one of its provider).
    pub fn with(backends: impl IntoIterator<Item = Backend>) -> Backends {
        let mut s = Backends::default();
        for b in backends {
            match b.provider() {
                Provider::Aws => s.s3 = Some(b),
                Provider::Gcp => s.gcs = Some(b),
                Provider::Azure => s.azure = Some(b),
                _ => {}
            }
        }
        s
    }

    /// The backend of `provider`'s buckets, if configured.
    pub fn get(&self, provider: Provider) -> Option<&Backend> {
        match provider {
            Provider::Aws => self.s3.as_ref(),
            Provider::Gcp => self.gcs.as_ref(),
            Provider::Azure => self.azure.as_ref(),
            _ => None,
        }
    }

    /// The backend of a bucket of `provider` whose props' `extra` is `extra`: an `aws://`
    /// bucket with `extra.aws.endpoint` (and optionally `extra.aws.cloud_region`) has an S3
    /// backend of its own at that endpoint (the configured S3 credentials, else the `AWS_*`
    /// variables); any other bucket the provider's backend.
    pub fn for_bucket(
        &self,
        provider: Provider,
        extra: Option<&serde_json::Value>,
    ) -> Result<Option<Backend>, Error> {
        let aws = extra.and_then(|x| x.get("aws"));
        let field = |k: &str| {
            aws.and_then(|a| a.get(k))
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let endpoint = field("endpoint");
        if provider != Provider::Aws || endpoint.is_empty() {
            return Ok(self.get(provider).cloned());
        }
        let key = (
            endpoint.trim_end_matches('/').to_string(),
            field("cloud_region"),
        );
        let mut at = self.s3_at.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = at.get(&key) {
            return Ok(Some(b.clone()));
        }
        let b = match &self.s3 {
            Some(Backend::S3(s3)) => s3.with_endpoint(&key.0, &key.1)?,
            _ => S3Backend::new(
                &key.0,
                &key.1,
                &env("AWS_ACCESS_KEY_ID").unwrap_or_default(),
                &env("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
            )?,
        };
        let b = Backend::S3(b);
        at.insert(key, b.clone());
        Ok(Some(b))
    }

    /// The remote AIS cluster attached as `alias` at `url` (made on first use, kept).
    pub fn remote_ais(&self, alias: &str, url: &str) -> Result<Backend, Error> {
        let key = (alias.to_string(), url.to_string());
        let mut at = self.ais_at.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = at.get(&key) {
            return Ok(b.clone());
        }
        let b = Backend::Ais(AisBackend::new(alias, url)?);
        at.insert(key, b.clone());
        Ok(b)
    }

    /// Whether [`Backends::for_bucket`] has a backend for such a bucket (without making one).
    pub fn serves(&self, provider: Provider, extra: Option<&serde_json::Value>) -> bool {
        self.get(provider).is_some()
            || (provider == Provider::Aws
                && extra
                    .and_then(|x| x.get("aws"))
                    .and_then(|a| a.get("endpoint"))
                    .and_then(|v| v.as_str())
                    .is_some_and(|s| !s.is_empty()))
    }

    /// The providers that have a backend.
    pub fn providers(&self) -> Vec<Provider> {
        [&self.s3, &self.gcs, &self.azure]
            .into_iter()
            .flatten()
            .map(Backend::provider)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_by_provider() {
        let s3 = S3Backend::new("http://127.0.0.1:5000", "", "", "").unwrap();
        let gcs = GcsBackend::new("http://127.0.0.1:5001", None).unwrap();
        let set = Backends::with([Backend::S3(s3), Backend::Gcs(gcs)]);
        assert!(matches!(set.get(Provider::Aws), Some(Backend::S3(_))));
        assert!(matches!(set.get(Provider::Gcp), Some(Backend::Gcs(_))));
        assert!(set.get(Provider::Azure).is_none());
        assert!(set.get(Provider::Ais).is_none());
        assert_eq!(set.providers(), vec![Provider::Aws, Provider::Gcp]);
        // A bucket's own S3 endpoint: same credentials, its endpoint, made once.
        let x = serde_json::json!({"aws": {"endpoint": "http://127.0.0.1:7000/"}});
        let Some(Backend::S3(b)) = set.for_bucket(Provider::Aws, Some(&x)).unwrap() else {
            panic!("an S3 backend");
        };
        assert_eq!(b.endpoint(), "http://127.0.0.1:7000");
        assert_eq!(set.s3_at.lock().unwrap().len(), 1);
        set.for_bucket(Provider::Aws, Some(&x)).unwrap();
        assert_eq!(set.s3_at.lock().unwrap().len(), 1);
        let Some(Backend::S3(d)) = set.for_bucket(Provider::Aws, None).unwrap() else {
            panic!("the default S3 backend");
        };
        assert_eq!(d.endpoint(), "http://127.0.0.1:5000");
        assert!(set.for_bucket(Provider::Azure, Some(&x)).unwrap().is_none());
        assert!(set.serves(Provider::Aws, None) && set.serves(Provider::Gcp, Some(&x)));
        assert!(!set.serves(Provider::Azure, Some(&x)));
        assert!(Backends::default().serves(Provider::Aws, Some(&x)));
        assert!(!Backends::default().serves(Provider::Aws, None));
        assert_eq!(endpoint_url("127.0.0.1:9/"), "http://127.0.0.1:9");
        assert_eq!(endpoint_url("https://h"), "https://h");
    }
}
