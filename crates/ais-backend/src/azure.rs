//! The Azure Blob Storage backend (`azure://`, `az://`): the Blob REST API, authenticated
//! with SharedKey.
//!
//! Containers are buckets, block blobs are objects: Get Container Properties, List Blobs
//! (`restype=container&comp=list`, `marker`/`NextMarker`, at most 5000 a page), Get Blob,
//! Get Blob Properties, Put Blob (`x-ms-blob-type: BlockBlob`: one request, up to 5000 MiB
//! with the service version used here; larger objects would need Put Block / Put Block List,
//! not implemented) and Delete Blob.
//!
//! Every request carries `x-ms-date` and `x-ms-version` and is signed with the account key:
//! `Authorization: SharedKey {account}:{base64(HMAC-SHA256(key, string-to-sign))}`, where the
//! string to sign is built by [`string_to_sign`] as the service specifies ("Authorize with
//! Shared Key").
//!
//! Configuration (the variables AIS and the `az` CLI use): `AZURE_STORAGE_ACCOUNT`,
//! `AZURE_STORAGE_KEY`, `AIS_AZURE_URL` (the account's blob endpoint; default
//! `https://{account}.blob.core.windows.net`; for Azurite the path-style
//! `http://127.0.0.1:10000/devstoreaccount1`), or `AZURE_STORAGE_CONNECTION_STRING`
//! (`AccountName=`, `AccountKey=`, `BlobEndpoint=`).

use crate::{Error, ListPage, RemoteObject};
use base64::Engine as _;
use hmac::Mac as _;

/// The service version requested (`x-ms-version`).
pub const API_VERSION: &str = "2021-12-02";

/// Azurite's well-known development account.
pub const DEV_ACCOUNT: &str = "devstoreaccount1";

/// Azurite's well-known development account key (published by Microsoft).
pub const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// An Azure Blob Storage account (or an emulator of one).
#[derive(Debug, Clone)]
pub struct AzureBackend {
    client: reqwest::Client,
    /// `scheme://host[:port]`.
    origin: String,
    /// The endpoint's path (`/devstoreaccount1` for path-style emulators), else empty.
    base_path: String,
    account: String,
    key: Vec<u8>,
}

/// Percent-encodes a blob name for the URL path (each segment; `/` kept).
fn encode_blob(name: &str) -> String {
    crate::s3::encode_key(name)
}

/// The string to sign of a request (SharedKey, service versions 2015-02-21 and later):
/// the verb, the standard headers in their fixed order (`Content-Length` empty when zero),
/// the `x-ms-*` headers (lower-cased, sorted, `name:value`), then the canonicalized resource:
/// `/{account}{encoded path}` followed by each query parameter as `\nname:value` (names
/// lower-cased and sorted, values decoded).
pub fn string_to_sign(
    method: &str,
    headers: &http::HeaderMap,
    account: &str,
    path: &str,
    query: &[(&str, &str)],
) -> String {
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let mut s = String::with_capacity(256);
    s.push_str(method);
    s.push('\n');
    for k in [
        "content-encoding",
        "content-language",
        "content-length",
        "content-md5",
        "content-type",
        "date",
        "if-modified-since",
        "if-match",
        "if-none-match",
        "if-unmodified-since",
        "range",
    ] {
        let v = h(k);
        if !(k == "content-length" && v == "0") {
            s.push_str(&v);
        }
        s.push('\n');
    }
    let mut ms: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("x-ms-"))
        .map(|(k, v)| {
            let v = v.to_str().unwrap_or("");
            // Folded whitespace collapses to one space.
            let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
            (k.as_str().to_string(), v)
        })
        .collect();
    ms.sort();
    for (k, v) in ms {
        s.push_str(&k);
        s.push(':');
        s.push_str(&v);
        s.push('\n');
    }
    s.push('/');
    s.push_str(account);
    s.push_str(if path.is_empty() { "/" } else { path });
    let mut q: Vec<(String, &str)> = query
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), *v))
        .collect();
    q.sort();
    let mut i = 0;
    while i < q.len() {
        // Repeated names: values sorted, comma-separated.
        let name = q[i].0.clone();
        let mut vals = Vec::new();
        while i < q.len() && q[i].0 == name {
            vals.push(q[i].1);
            i += 1;
        }
        s.push('\n');
        s.push_str(&name);
        s.push(':');
        s.push_str(&vals.join(","));
    }
    s
}

/// `base64(HMAC-SHA256(key, string_to_sign))`.
pub fn sign(key: &[u8], string_to_sign: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The fields of a connection string (`Name=value;...`) this backend reads.
fn parse_connection_string(cs: &str) -> (Option<String>, Option<String>, Option<String>) {
    let (mut account, mut key, mut endpoint) = (None, None, None);
    for part in cs.split(';') {
        if let Some((k, v)) = part.split_once('=') {
            let v = Some(v.trim().to_string());
            match k.trim() {
                "AccountName" => account = v,
                "AccountKey" => key = v,
                "BlobEndpoint" => endpoint = v,
                _ => {}
            }
        }
    }
    (account, key, endpoint)
}

impl AzureBackend {
    /// The backend of `account` (key in base64, as the portal shows it) at `endpoint` (the
    /// account's blob endpoint URL, path-style for emulators).
    pub fn new(endpoint: &str, account: &str, key_b64: &str) -> Result<AzureBackend, Error> {
        let endpoint = endpoint.trim_end_matches('/');
        let (scheme, rest) = endpoint
            .split_once("://")
            .ok_or_else(|| Error::Config(format!("invalid Azure endpoint {endpoint:?}")))?;
        let (host, base_path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if account.is_empty() {
            return Err(Error::Config("no Azure storage account".into()));
        }
        let key = base64::engine::general_purpose::STANDARD
            .decode(key_b64.trim())
            .map_err(|e| Error::Config(format!("Azure storage key is not base64: {e}")))?;
        Ok(AzureBackend {
            client: crate::http_client()?,
            origin: format!("{scheme}://{host}"),
            base_path: base_path.to_string(),
            account: account.to_string(),
            key,
        })
    }

    /// The backend the environment configures, if any (see the module docs).
    pub fn from_env() -> Option<Result<AzureBackend, Error>> {
        use crate::env;
        let (mut account, mut key, mut endpoint) = (None, None, None);
        if let Some(cs) = env("AZURE_STORAGE_CONNECTION_STRING") {
            (account, key, endpoint) = parse_connection_string(&cs);
        }
        let account = env("AZURE_STORAGE_ACCOUNT").or(account);
        let key = env("AZURE_STORAGE_KEY").or(key);
        let endpoint = env("AIS_AZURE_URL").or(endpoint);
        if account.is_none() && endpoint.is_none() {
            return None;
        }
        let account = account.unwrap_or_else(|| DEV_ACCOUNT.to_string());
        let key = match key {
            Some(k) => k,
            None if account == DEV_ACCOUNT => DEV_KEY.to_string(),
            None => {
                return Some(Err(Error::Config(format!(
                    "AZURE_STORAGE_KEY is not set for account {account}"
                ))));
            }
        };
        let endpoint = match endpoint {
            Some(e) => crate::endpoint_url(&e),
            None => format!("https://{account}.blob.core.windows.net"),
        };
        Some(AzureBackend::new(&endpoint, &account, &key))
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("{}{}", self.origin, self.base_path)
    }

    /// A signed request for `/{container}[/{blob}]` (`rel`, encoded) with `query` (decoded
    /// pairs) and the extra `headers` (signed too).
    fn request(
        &self,
        method: reqwest::Method,
        rel: &str,
        query: &[(&str, &str)],
        mut headers: http::HeaderMap,
        content_length: u64,
    ) -> reqwest::RequestBuilder {
        let path = format!("{}{rel}", self.base_path);
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        if let Ok(v) = http::HeaderValue::from_str(&date) {
            headers.insert("x-ms-date", v);
        }
        headers.insert("x-ms-version", http::HeaderValue::from_static(API_VERSION));
        if content_length > 0 || method == reqwest::Method::PUT {
            headers.insert(http::header::CONTENT_LENGTH, content_length.into());
        }
        let sts = string_to_sign(method.as_str(), &headers, &self.account, &path, query);
        let auth = format!("SharedKey {}:{}", self.account, sign(&self.key, &sts));
        if let Ok(v) = http::HeaderValue::from_str(&auth) {
            headers.insert(http::header::AUTHORIZATION, v);
        }
        let mut url = format!("{}{path}", self.origin);
        for (i, (k, v)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(k);
            url.push('=');
            url.push_str(&ais_s3::sigv4::uri_encode(v.as_bytes()));
        }
        self.client.request(method, url).headers(headers)
    }

    async fn send(
        &self,
        what: &str,
        rb: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        crate::send(what, rb, crate::s3::xml_error_message).await
    }

    fn describe(name: &str, h: &http::HeaderMap) -> RemoteObject {
        let s = |k: &str| {
            h.get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let etag = s("etag").trim_matches('"').to_string();
        let version = match s("x-ms-version-id") {
            v if v.is_empty() => etag.clone(),
            v => v,
        };
        RemoteObject {
            name: name.to_string(),
            size: s("content-length").parse().unwrap_or(0),
            etag,
            version,
            last_modified: s("last-modified"),
        }
    }

    /// Creates a container (tests and tools; a cache tier does not create cloud buckets).
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), Error> {
        let rb = self.request(
            reqwest::Method::PUT,
            &format!("/{bucket}"),
            &[("restype", "container")],
            http::HeaderMap::new(),
            0,
        );
        self.send(&format!("az://{bucket}"), rb).await.map(|_| ())
    }

    /// Whether the container exists and is accessible.
    pub async fn head_bucket(&self, bucket: &str) -> Result<(), Error> {
        let rb = self.request(
            reqwest::Method::HEAD,
            &format!("/{bucket}"),
            &[("restype", "container")],
            http::HeaderMap::new(),
            0,
        );
        self.send(&format!("az://{bucket}"), rb).await.map(|_| ())
    }

    /// One page of List Blobs (`max` ≤ 1000 here, to keep a page's XML small).
    pub async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        token: &str,
        max: usize,
    ) -> Result<ListPage, Error> {
        let max = max.clamp(1, 1000).to_string();
        let mut q = vec![
            ("restype", "container"),
            ("comp", "list"),
            ("maxresults", max.as_str()),
        ];
        if !prefix.is_empty() {
            q.push(("prefix", prefix));
        }
        if !token.is_empty() {
            q.push(("marker", token));
        }
        let what = format!("az://{bucket}");
        let rb = self.request(
            reqwest::Method::GET,
            &format!("/{bucket}"),
            &q,
            http::HeaderMap::new(),
            0,
        );
        let body = self
            .send(&what, rb)
            .await?
            .bytes()
            .await
            .map_err(|e| Error::Unreachable(format!("{what}: {e}")))?;
        let root = ais_s3::xml::parse(&body).map_err(|e| Error::Other {
            what: what.clone(),
            status: 200,
            msg: format!("bad listing: {e}"),
        })?;
        let objects = root
            .child("Blobs")
            .map(|b| {
                b.children
                    .iter()
                    .filter(|c| c.name == "Blob")
                    .map(|c| {
                        let p = c.child("Properties");
                        let pt = |k: &str| p.and_then(|p| p.child_text(k)).unwrap_or("");
                        let etag = pt("Etag").trim_matches('"').to_string();
                        let version = match c.child_text("VersionId") {
                            Some(v) if !v.is_empty() => v.to_string(),
                            _ => etag.clone(),
                        };
                        RemoteObject {
                            name: c.child_text("Name").unwrap_or("").to_string(),
                            size: pt("Content-Length").parse().unwrap_or(0),
                            etag,
                            version,
                            last_modified: pt("Last-Modified").to_string(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(ListPage {
            objects,
            next: root.child_text("NextMarker").unwrap_or("").to_string(),
        })
    }

    /// The blob's attributes (Get Blob Properties).
    pub async fn head(&self, bucket: &str, key: &str) -> Result<RemoteObject, Error> {
        let rb = self.request(
            reqwest::Method::HEAD,
            &format!("/{bucket}/{}", encode_blob(key)),
            &[],
            http::HeaderMap::new(),
            0,
        );
        let r = self.send(&format!("az://{bucket}/{key}"), rb).await?;
        Ok(Self::describe(key, r.headers()))
    }

    /// Starts a GET: the attributes and the response whose body streams the bytes.
    pub async fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(RemoteObject, reqwest::Response), Error> {
        let rb = self.request(
            reqwest::Method::GET,
            &format!("/{bucket}/{}", encode_blob(key)),
            &[],
            http::HeaderMap::new(),
            0,
        );
        let r = self.send(&format!("az://{bucket}/{key}"), rb).await?;
        Ok((Self::describe(key, r.headers()), r))
    }

    /// Put Blob: uploads `len` bytes streamed from `body` as a block blob in one request.
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: reqwest::Body,
        len: u64,
    ) -> Result<RemoteObject, Error> {
        let mut h = http::HeaderMap::new();
        h.insert(
            "x-ms-blob-type",
            http::HeaderValue::from_static("BlockBlob"),
        );
        h.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/octet-stream"),
        );
        let rb = self
            .request(
                reqwest::Method::PUT,
                &format!("/{bucket}/{}", encode_blob(key)),
                &[],
                h,
                len,
            )
            .body(body);
        let r = self.send(&format!("az://{bucket}/{key}"), rb).await?;
        let mut o = Self::describe(key, r.headers());
        o.size = len;
        Ok(o)
    }

    /// Deletes the blob (a missing one is not an error).
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), Error> {
        let rb = self.request(
            reqwest::Method::DELETE,
            &format!("/{bucket}/{}", encode_blob(key)),
            &[],
            http::HeaderMap::new(),
            0,
        );
        match self.send(&format!("az://{bucket}/{key}"), rb).await {
            Ok(_) | Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdrs(kv: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in kv {
            h.insert(*k, http::HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn documented_string_to_sign() {
        // The example of Microsoft's "Authorize with Shared Key" page (Get Container
        // Metadata, service version 2015-02-21), reproduced byte for byte.
        let h = hdrs(&[
            ("x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT"),
            ("x-ms-version", "2015-02-21"),
        ]);
        let s = string_to_sign(
            "GET",
            &h,
            "myaccount",
            "/mycontainer",
            &[
                ("restype", "container"),
                ("comp", "metadata"),
                ("timeout", "20"),
            ],
        );
        assert_eq!(
            s,
            "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\n\
             x-ms-version:2015-02-21\n/myaccount/mycontainer\ncomp:metadata\nrestype:container\n\
             timeout:20"
        );
    }

    #[test]
    fn canonical_string() {
        // A Put Blob: standard headers in their order (Content-Length and Content-Type set),
        // x-ms-* sorted, the resource with its encoded path.
        let h = hdrs(&[
            ("x-ms-version", "2021-12-02"),
            ("x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT"),
            ("x-ms-blob-type", "BlockBlob"),
            ("content-type", "application/octet-stream"),
            ("content-length", "11"),
        ]);
        let s = string_to_sign("PUT", &h, "myaccount", "/mycontainer/a%20b", &[]);
        assert_eq!(
            s,
            "PUT\n\n\n11\n\napplication/octet-stream\n\n\n\n\n\n\n\
             x-ms-blob-type:BlockBlob\nx-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\n\
             x-ms-version:2021-12-02\n/myaccount/mycontainer/a%20b"
        );
        // The documented canonicalized resource of a List Blobs-like query: names lower-cased
        // and sorted, values decoded, repeated names comma-joined in order.
        let h = hdrs(&[("content-length", "0")]);
        let s = string_to_sign(
            "GET",
            &h,
            "myaccount",
            "/mycontainer",
            &[
                ("restype", "container"),
                ("comp", "metadata"),
                ("include", "snapshots"),
                ("include", "metadata"),
                ("Prefix", "a b"),
            ],
        );
        assert_eq!(
            s,
            "GET\n\n\n\n\n\n\n\n\n\n\n\n/myaccount/mycontainer\ncomp:metadata\n\
             include:metadata,snapshots\nprefix:a b\nrestype:container"
        );
    }

    #[test]
    fn signature() {
        // HMAC-SHA256 of the RFC 4231 test case 2 ("Jefe" / "what do ya want for nothing?"),
        // base64 of its published hex digest.
        assert_eq!(
            sign(b"Jefe", "what do ya want for nothing?"),
            base64::engine::general_purpose::STANDARD.encode([
                0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95,
                0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9,
                0x64, 0xec, 0x38, 0x43,
            ])
        );
    }

    #[test]
    fn config() {
        let b = AzureBackend::new(
            "http://127.0.0.1:10000/devstoreaccount1/",
            DEV_ACCOUNT,
            DEV_KEY,
        )
        .unwrap();
        assert_eq!(b.origin, "http://127.0.0.1:10000");
        assert_eq!(b.base_path, "/devstoreaccount1");
        assert_eq!(b.endpoint(), "http://127.0.0.1:10000/devstoreaccount1");
        assert!(AzureBackend::new("http://h", "acc", "not base64!").is_err());
        assert!(AzureBackend::new("h", "acc", DEV_KEY).is_err());
        let (a, k, e) = parse_connection_string(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8==;\
             BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
        );
        assert_eq!(a.as_deref(), Some(DEV_ACCOUNT));
        assert_eq!(k.as_deref(), Some("Eby8=="));
        assert_eq!(
            e.as_deref(),
            Some("http://127.0.0.1:10000/devstoreaccount1")
        );
    }
}
