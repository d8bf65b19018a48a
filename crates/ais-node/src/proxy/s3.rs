//! The S3 API on a proxy. Bucket-level operations are answered here (listing, create,
//! delete, versioning, multi-object delete, multipart uploads in progress); object-level
//! ones are relayed to the object's HRW target over the intra-data network and the reply is
//! streamed back — S3 clients do not follow AIS's redirects, so none is sent.

use super::Proxy;
use crate::intra::{DeleteReq, ListUploadsReq};
use crate::s3::{self, S3Req};
use crate::web::{self, Req, Resp};
use ais_core::wire::{LsoMsg, act};
use ais_s3::route::Op;
use ais_s3::xml::{self, BucketEntry, ListResult, ObjectEntry};
use ais_s3::{S3Error, S3ErrorCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use http::{HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Most keys listed in one ListObjects reply (S3's limit).
const MAX_KEYS: usize = 1000;
/// Most target pages one ListObjects reply reads (common prefixes skip whole subtrees, so
/// a reply may need more pages than keys).
const MAX_PAGES: usize = 100_000;
/// Go's `time.RFC3339Nano` layout: asks targets for RFC 3339 access times.
const RFC3339_LAYOUT: &str = "2006-01-02T15:04:05.999999999Z07:00";
/// Sorts after every key that starts with a given prefix (U+10FFFF is the largest scalar).
const AFTER_ALL: char = '\u{10FFFF}';

/// The client that relays S3 requests: no overall timeout (objects may be large), a bound on
/// connect and on each read.
pub(crate) fn relay_client() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(3))
        .read_timeout(Duration::from_secs(300))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client builds without TLS")
}

/// Headers not relayed: hop-by-hop ones, and `Expect` (the client's `100-continue` was
/// answered by this proxy when the relay started reading the body).
fn hop_by_hop(k: &http::HeaderName) -> bool {
    k == http::header::EXPECT
        || k == http::header::CONNECTION
        || k == http::header::TRANSFER_ENCODING
        || k == "keep-alive"
        || k == http::header::UPGRADE
        || k == http::header::TE
}

impl Proxy {
    /// Serves one S3 request.
    pub(crate) async fn serve_s3(
        self: Arc<Self>,
        req: http::Request<Incoming>,
        remote: SocketAddr,
    ) -> Resp {
        let sr = match S3Req::parse_for(&self.ctl, req, remote) {
            Ok(s) => s,
            Err(resp) => return *resp,
        };
        let method = sr.req.method.clone();
        let res = sr.resource();
        match self.s3_dispatch(sr).await {
            Ok(r) => r,
            Err(e) => s3::error_resp(&e, &method, &res),
        }
    }

    async fn s3_dispatch(self: &Arc<Self>, mut sr: S3Req) -> Result<Resp, S3Error> {
        let cfg = self.ctl.meta.config();
        sr.authenticate(&cfg.auth.s3_keys)?;
        if sr.op.is_object() {
            let bck = sr.bck()?;
            let key = sr.key()?.to_string();
            self.bmd().need(&bck).map_err(|e| s3::from_ais(&e))?;
            let smap = self.smap();
            let base = smap
                .hrw_target(&bck.uname(&key))
                .map_err(|e| s3::from_ais(&crate::err::from_meta(e)))?
                .intra_data_net
                .direct_url
                .clone();
            return self.relay(sr, &base).await;
        }
        let modifies = matches!(
            sr.op,
            Op::CreateBucket | Op::DeleteBucket | Op::PutBucketVersioning
        );
        if modifies && !self.ctl.is_primary() {
            let p = self
                .smap()
                .proxy_si
                .as_ref()
                .map(|p| p.public_net.direct_url.clone())
                .ok_or_else(|| {
                    S3Error::new(S3ErrorCode::ServiceUnavailable, "primary proxy unknown")
                })?;
            return self.relay(sr, &p).await;
        }
        match sr.op {
            Op::ListBuckets => {
                let bmd = self.bmd();
                let list: Vec<BucketEntry> = bmd
                    .list(Some(ais_core::Provider::Ais))
                    .into_iter()
                    .filter(|b| b.namespace.is_global())
                    .map(|b| BucketEntry {
                        created: s3::iso8601(bmd.get(&b).map_or(0, |p| p.created)),
                        name: b.name,
                    })
                    .collect();
                Ok(s3::xml(xml::list_buckets(&list)))
            }
            Op::HeadBucket => {
                let bck = sr.bck()?;
                self.bmd().need(&bck).map_err(|e| s3::from_ais(&e))?;
                let mut r = web::ok();
                r.headers_mut()
                    .insert("x-amz-bucket-region", HeaderValue::from_static(s3::REGION));
                Ok(r)
            }
            Op::GetBucketAcl => {
                let bck = sr.bck()?;
                self.bmd().need(&bck).map_err(|e| s3::from_ais(&e))?;
                Ok(s3::xml(xml::owner_full_control()))
            }
            Op::GetBucketLocation => {
                let bck = sr.bck()?;
                self.bmd().need(&bck).map_err(|e| s3::from_ais(&e))?;
                // us-east-1 is the empty constraint.
                Ok(s3::xml(xml::location("")))
            }
            Op::GetBucketVersioning => {
                let bck = sr.bck()?;
                let on = self
                    .bmd()
                    .need(&bck)
                    .map_err(|e| s3::from_ais(&e))?
                    .versioning
                    .enabled;
                Ok(s3::xml(xml::versioning(Some(on))))
            }
            Op::PutBucketVersioning => {
                let bck = sr.bck()?;
                let body = s3::read_xml_body(&mut sr.req).await?;
                let Some(on) = xml::parse_versioning(&body)? else {
                    return Ok(web::ok());
                };
                let mut msg = ais_core::wire::ActMsg::new(act::SET_BPROPS);
                msg.value = serde_json::json!({"versioning": {"enabled": on}});
                self.bucket_action(&Req::internal(Method::PATCH, sr.req.remote), bck, msg)
                    .await
                    .map_err(|e| s3::from_ais(&e))?;
                Ok(web::ok())
            }
            Op::CreateBucket => {
                let bck = sr.bck()?;
                // A CreateBucketConfiguration body (location constraint) is read and ignored.
                s3::read_xml_body(&mut sr.req).await?;
                self.bucket_action(
                    &Req::internal(Method::POST, sr.req.remote),
                    bck.clone(),
                    ais_core::wire::ActMsg::new(act::CREATE_BCK),
                )
                .await
                .map_err(|e| s3::from_ais(&e))?;
                let mut r = web::ok();
                if let Ok(v) = HeaderValue::from_str(&format!("/{}", bck.name)) {
                    r.headers_mut().insert(http::header::LOCATION, v);
                }
                Ok(r)
            }
            Op::DeleteBucket => {
                let bck = sr.bck()?;
                let msg = LsoMsg {
                    pagesize: 1,
                    ..Default::default()
                };
                let page = self
                    .list_page(&bck, msg)
                    .await
                    .map_err(|e| s3::from_ais(&e))?;
                if !page.entries.is_empty() {
                    return Err(S3Error::new(
                        S3ErrorCode::BucketNotEmpty,
                        "The bucket you tried to delete is not empty",
                    ));
                }
                self.bucket_action(
                    &Req::internal(Method::DELETE, sr.req.remote),
                    bck,
                    ais_core::wire::ActMsg::new(act::DESTROY_BCK),
                )
                .await
                .map_err(|e| s3::from_ais(&e))?;
                Ok(web::status(web::ok(), StatusCode::NO_CONTENT))
            }
            Op::ListObjects { v2 } => self.s3_list(&sr, v2).await,
            Op::DeleteObjects => self.s3_delete_objects(&mut sr).await,
            Op::ListMultipartUploads => self.s3_list_uploads(&sr).await,
            _ => Err(S3Error::new(S3ErrorCode::NotImplemented, "not implemented")),
        }
    }

    /// Relays the request as is (method, path, query, headers incl. `Host`, streamed body) to
    /// `base` and streams the reply back.
    async fn relay(&self, mut sr: S3Req, base: &str) -> Result<Resp, S3Error> {
        let req = &mut sr.req;
        let mut url =
            String::with_capacity(base.len() + req.raw_path.len() + req.raw_query.len() + 1);
        url.push_str(base);
        url.push_str(&req.raw_path);
        if !req.raw_query.is_empty() {
            url.push('?');
            url.push_str(&req.raw_query);
        }
        let mut rb = self.s3_relay.request(req.method.clone(), &url);
        for (k, v) in &req.headers {
            if !hop_by_hop(k) {
                rb = rb.header(k, v);
            }
        }
        if let Some(body) = req.body.take()
            && !http_body::Body::is_end_stream(&body)
        {
            rb = rb.body(reqwest::Body::wrap(body));
        }
        let r = rb.send().await.map_err(|e| {
            S3Error::new(
                S3ErrorCode::ServiceUnavailable,
                format!("{}: relay to {base} failed: {e}", self.ctl.me.name()),
            )
        })?;
        let mut resp: http::Response<reqwest::Body> = r.into();
        resp.headers_mut().retain_hop_by_hop();
        Ok(resp.map(|b| b.map_err(std::io::Error::other).boxed()))
    }

    async fn s3_list(&self, sr: &S3Req, v2: bool) -> Result<Resp, S3Error> {
        let bck = sr.bck()?;
        let q = &sr.q;
        let invalid = |m: &str| S3Error::new(S3ErrorCode::InvalidArgument, m.to_string());
        let max_keys = match q.get("max-keys") {
            None => MAX_KEYS,
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| invalid("max-keys must be a non-negative integer"))?
                .min(MAX_KEYS),
        };
        let url_encoded = match q.get("encoding-type") {
            None | Some("") => false,
            Some("url") => true,
            Some(_) => return Err(invalid("Invalid Encoding Method specified in Request")),
        };
        let prefix = q.get("prefix").unwrap_or("").to_string();
        let delimiter = q.get("delimiter").unwrap_or("").to_string();
        let token = q.get("continuation-token").unwrap_or("");
        let start = if v2 && !token.is_empty() {
            B64URL
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid("The continuation token provided is incorrect"))?
        } else if v2 {
            q.get("start-after").unwrap_or("").to_string()
        } else {
            q.get("marker").unwrap_or("").to_string()
        };
        let mut res = ListResult {
            bucket: bck.name.clone(),
            prefix: prefix.clone(),
            delimiter: delimiter.clone(),
            max_keys,
            url_encoded,
            v2,
            continuation_token: token.to_string(),
            start_after: if v2 {
                q.get("start-after").unwrap_or("").to_string()
            } else {
                start.clone()
            },
            ..Default::default()
        };
        self.bmd().need(&bck).map_err(|e| s3::from_ais(&e))?;
        // Where the next target page starts (strictly after).
        let mut cursor = start.clone();
        if !v2
            && !delimiter.is_empty()
            && cursor.ends_with(&delimiter)
            && cursor.len() > prefix.len()
            && cursor.starts_with(&prefix)
        {
            // A v1 marker naming a common prefix (our NextMarker) continues after everything
            // under it. (A v2 token already holds the exact cursor; start-after is literal.)
            cursor.push(AFTER_ALL);
        }
        if cursor.as_str() < prefix.as_str() && !prefix.is_empty() {
            cursor.clear();
        }
        let mut last_emitted = String::new();
        let mut count = 0usize;
        let page_size = (max_keys + 1).clamp(2, MAX_KEYS + 1) as i64;
        // Every page moves the cursor forward; the bound only guards against a bug looping.
        let max_pages = if max_keys == 0 { 0 } else { MAX_PAGES };
        'pages: for _ in 0..max_pages {
            let msg = LsoMsg {
                props: "size,checksum,atime,custom".into(),
                time_format: RFC3339_LAYOUT.into(),
                prefix: prefix.clone(),
                start_after: cursor.clone(),
                pagesize: page_size,
                ..Default::default()
            };
            let page = self
                .list_page(&bck, msg)
                .await
                .map_err(|e| s3::from_ais(&e))?;
            let more = !page.continuation_token.is_empty();
            for e in page.entries {
                if e.name.as_str() <= cursor.as_str() {
                    continue;
                }
                let rest = &e.name[prefix.len().min(e.name.len())..];
                if !delimiter.is_empty()
                    && let Some(i) = rest.find(&delimiter)
                {
                    let cp = format!("{prefix}{}", &rest[..i + delimiter.len()]);
                    if count == max_keys {
                        res.truncated = true;
                        break 'pages;
                    }
                    count += 1;
                    res.common_prefixes.push(cp.clone());
                    last_emitted = cp.clone();
                    cursor = cp;
                    cursor.push(AFTER_ALL);
                    continue;
                }
                if count == max_keys {
                    res.truncated = true;
                    break 'pages;
                }
                count += 1;
                last_emitted = e.name.clone();
                cursor = e.name.clone();
                res.contents.push(ObjectEntry {
                    etag: etag_of(&e.custom, &e.checksum),
                    last_modified: s3::iso8601_from_rfc3339(&e.atime),
                    size: e.size.max(0) as u64,
                    key: e.name,
                });
            }
            if !more {
                break;
            }
        }
        if res.truncated {
            if v2 {
                res.next_token = B64URL.encode(cursor.as_bytes());
            } else {
                res.next_token = last_emitted;
            }
        }
        Ok(s3::xml(res.to_xml()))
    }

    async fn s3_delete_objects(&self, sr: &mut S3Req) -> Result<Resp, S3Error> {
        let bck = sr.bck()?;
        let body = s3::read_xml_body(&mut sr.req).await?;
        if let Some(m) = sr.req.header("content-md5") {
            let want = ais_s3::etag::content_md5(m)?;
            let got = ais_core::Cksum::of(ais_core::CksumType::Md5, &body)
                .ok_or_else(|| S3Error::new(S3ErrorCode::InternalError, "no MD5 hasher"))?;
            if ais_s3::etag::hex(&want) != got.value {
                return Err(S3Error::new(
                    S3ErrorCode::BadDigest,
                    "The Content-MD5 you specified did not match what we received",
                ));
            }
        }
        let d = xml::parse_delete(&body)?;
        self.bmd().need(&bck).map_err(|e| s3::from_ais(&e))?;
        let dr = DeleteReq {
            bck: bck.clone(),
            sel: ais_core::wire::ListRange {
                objnames: d.keys.clone(),
                ..Default::default()
            },
        };
        let smap = self.smap();
        let futs = smap.tmap.values().map(|t| self.ctl.intra.delete(t, &dr));
        let mut errs: Vec<String> = Vec::new();
        for r in futures_util::future::join_all(futs).await {
            match r {
                Ok(b) => errs.extend(b.errs),
                Err(e) => errs.push(e.msg),
            }
        }
        let mut deleted = Vec::new();
        let mut failed = Vec::new();
        for k in d.keys {
            let cname = bck.cname_obj(&k);
            let tag = format!("{cname}:");
            match errs
                .iter()
                .find(|e| e.starts_with(&tag) || e.contains(&format!(" {tag}")))
            {
                Some(e) => failed.push((k, S3Error::new(S3ErrorCode::InternalError, e.clone()))),
                None => deleted.push(k),
            }
        }
        // A target we could not reach fails every key it may own.
        if let Some(e) = errs
            .iter()
            .find(|e| !e.contains(&format!("{}/", bck.cname())))
        {
            failed.extend(
                deleted
                    .drain(..)
                    .map(|k| (k, S3Error::new(S3ErrorCode::InternalError, e.clone()))),
            );
        }
        Ok(s3::xml(xml::delete_result(d.quiet, &deleted, &failed)))
    }

    async fn s3_list_uploads(&self, sr: &S3Req) -> Result<Resp, S3Error> {
        let bck = sr.bck()?;
        self.bmd().need(&bck).map_err(|e| s3::from_ais(&e))?;
        let prefix = sr.q.get("prefix").unwrap_or("").to_string();
        let max = match sr.q.get("max-uploads") {
            None => 1000,
            Some(v) => v.parse::<usize>().map_err(|_| {
                S3Error::new(
                    S3ErrorCode::InvalidArgument,
                    "max-uploads must be an integer",
                )
            })?,
        }
        .min(1000);
        let lr = ListUploadsReq {
            bck: bck.clone(),
            prefix: prefix.clone(),
        };
        let smap = self.smap();
        let futs = smap
            .tmap
            .values()
            .map(|t| self.ctl.intra.list_uploads(t, &lr));
        let mut all = Vec::new();
        for r in futures_util::future::join_all(futs).await {
            all.extend(
                r.map_err(|e| s3::from_ais(&e))?
                    .into_iter()
                    .map(|u| xml::UploadEntry {
                        key: u.key,
                        upload_id: u.upload_id,
                        initiated: s3::iso8601(u.initiated),
                    }),
            );
        }
        all.sort();
        Ok(s3::xml(xml::list_uploads(&bck.name, &prefix, max, &all)))
    }
}

/// Removes hop-by-hop headers.
trait RetainHop {
    fn retain_hop_by_hop(&mut self);
}

impl RetainHop for http::HeaderMap {
    fn retain_hop_by_hop(&mut self) {
        for k in [
            http::header::CONNECTION,
            http::header::TRANSFER_ENCODING,
            http::header::UPGRADE,
            http::header::TE,
        ] {
            self.remove(k);
        }
        self.remove("keep-alive");
    }
}

/// The S3 ETag of a listed object: its stored `ETag`, else empty (computing one would need
/// the object's modification time).
fn etag_of(custom: &str, _cksum: &str) -> String {
    custom
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(' ')
        .find_map(|kv| kv.strip_prefix("ETag:"))
        .unwrap_or("")
        .to_string()
}
