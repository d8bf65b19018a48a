//! The S3 API on a target: object GET/HEAD/PUT/DELETE and CopyObject with S3 semantics
//! (MD5 ETags, `Content-MD5`, `x-amz-checksum-*`, SigV4 payload hashes and `aws-chunked`
//! bodies, conditional requests, `x-amz-meta-*`). Multipart uploads are in `s3mpt`.
//! Requests arrive relayed by a proxy, or directly; either way the signature is verified here.

use super::Target;
use super::object::{Stored, hv};
use crate::common;
use crate::err::join_err;
use crate::s3::{self, S3Req};
use crate::web::{self, Req, Resp};
use ais_core::{Bck, CksumType, ErrKind};
use ais_fs::{Lom, ObjWriter};
use ais_s3::chunked::Decoder;
use ais_s3::cond::Conditions;
use ais_s3::etag::{self, PayloadCheck, PayloadSums};
use ais_s3::route::Op;
use ais_s3::sigv4::{Auth, Payload};
use ais_s3::{S3Error, S3ErrorCode};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// Bodies are written in batches of about this many bytes (one blocking call each).
const FLUSH_BYTES: usize = 1 << 20;
/// Largest `aws-chunked` chunk accepted.
const MAX_CHUNK: usize = 16 << 20;
/// Prefix of user metadata headers.
const META_PREFIX: &str = "x-amz-meta-";
/// Standard headers stored with the object (custom metadata under the same, capitalized,
/// names) and returned on GET and HEAD.
const STORED_HEADERS: [(&str, &str); 6] = [
    ("content-type", "Content-Type"),
    ("content-encoding", "Content-Encoding"),
    ("content-disposition", "Content-Disposition"),
    ("content-language", "Content-Language"),
    ("cache-control", "Cache-Control"),
    ("expires", "Expires"),
];
/// Custom metadata keys that are not user metadata.
const RESERVED: [&str; 7] = [
    "ETag",
    "Content-Type",
    "Content-Encoding",
    "Content-Disposition",
    "Content-Language",
    "Cache-Control",
    "Expires",
];

pub(super) fn s3e(e: ais_core::Error) -> S3Error {
    s3::from_ais(&e)
}

/// S3 metadata of a PUT (or a REPLACE copy): `x-amz-meta-*` and the stored standard headers.
pub(super) fn metadata_from(h: &HeaderMap) -> Result<BTreeMap<String, String>, S3Error> {
    let mut m = BTreeMap::new();
    let mut total = 0usize;
    for (k, v) in h {
        let name = k.as_str();
        let stored = if let Some(user) = name.strip_prefix(META_PREFIX) {
            user.to_string()
        } else if let Some((_, cap)) = STORED_HEADERS.iter().find(|(n, _)| *n == name) {
            (*cap).to_string()
        } else {
            continue;
        };
        let v = v.to_str().map_err(|_| {
            S3Error::new(
                S3ErrorCode::InvalidArgument,
                format!("header {name} must be ASCII"),
            )
        })?;
        total += stored.len() + v.len();
        if total > 2048 {
            return Err(S3Error::new(
                S3ErrorCode::InvalidArgument,
                "Your metadata headers exceed the maximum allowed metadata size (2 KiB)",
            ));
        }
        m.insert(stored, v.to_string());
    }
    Ok(m)
}

/// Turns a native GET/HEAD reply into an S3 one: user metadata as `x-amz-meta-*`, stored
/// standard headers, no AIS-internal headers.
fn s3_headers(h: &mut HeaderMap) -> Result<(), S3Error> {
    let custom: Vec<String> = h
        .get_all(ais_core::wire::hdr::CUSTOM_MD)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    h.remove(ais_core::wire::hdr::CUSTOM_MD);
    for kv in custom {
        let (k, v) = kv.split_once('=').unwrap_or((&kv, ""));
        if let Some((hname, _)) = STORED_HEADERS.iter().find(|(_, cap)| *cap == k) {
            if let Ok(v) = HeaderValue::from_str(v) {
                h.insert(*hname, v);
            }
        } else if !RESERVED.contains(&k)
            && let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(format!("{META_PREFIX}{k}").as_bytes()),
                HeaderValue::from_str(v),
            )
        {
            h.append(n, v);
        }
    }
    Ok(())
}

fn etag_of(h: &HeaderMap) -> Option<String> {
    h.get(http::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim_matches('"').to_string())
}

fn mtime_of(h: &HeaderMap) -> std::time::SystemTime {
    h.get(http::header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| httpdate::parse_http_date(s).ok())
        .unwrap_or(std::time::UNIX_EPOCH)
}

/// `response-content-type` and friends (presigned GETs use them) override reply headers.
fn response_overrides(q: &ais_s3::route::Query, h: &mut HeaderMap) {
    for (param, name) in [
        ("response-content-type", "content-type"),
        ("response-content-disposition", "content-disposition"),
        ("response-content-encoding", "content-encoding"),
        ("response-content-language", "content-language"),
        ("response-cache-control", "cache-control"),
        ("response-expires", "expires"),
    ] {
        if let Some(v) = q.get(param).and_then(|v| HeaderValue::from_str(v).ok()) {
            h.insert(name, v);
        }
    }
}

/// A body being written to a work file: pieces are batched and written, with every check
/// of [`PayloadCheck`] computed, on the blocking pool.
pub(super) struct BodyWriter {
    w: Option<ObjWriter>,
    check: Option<PayloadCheck>,
    pending: Vec<Bytes>,
    pending_len: usize,
    loc: ais_fs::Location,
    ty: CksumType,
}

impl BodyWriter {
    pub(super) fn new(loc: ais_fs::Location, ty: CksumType, check: PayloadCheck) -> Self {
        BodyWriter {
            w: None,
            check: Some(check),
            pending: Vec::new(),
            pending_len: 0,
            loc,
            ty,
        }
    }

    pub(super) async fn push(&mut self, b: Bytes) -> Result<(), S3Error> {
        self.pending_len += b.len();
        self.pending.push(b);
        if self.pending_len >= FLUSH_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), S3Error> {
        let bufs = std::mem::take(&mut self.pending);
        self.pending_len = 0;
        let (w, check, loc, ty) = (self.w.take(), self.check.take(), self.loc.clone(), self.ty);
        let (w, check) = tokio::task::spawn_blocking(
            move || -> Result<(ObjWriter, PayloadCheck), ais_fs::Error> {
                let mut w = match w {
                    Some(w) => w,
                    None => ObjWriter::create(&loc, ty)?,
                };
                let mut check = check.expect("payload check present between flushes");
                for b in &bufs {
                    w.write(b)?;
                    check.update(b);
                }
                Ok((w, check))
            },
        )
        .await
        .map_err(|e| s3e(join_err(e)))?
        .map_err(|e| s3e(crate::err::from_fs(e, "")))?;
        self.w = Some(w);
        self.check = Some(check);
        Ok(())
    }

    /// The body is complete: what is left is written (with the commit, in one blocking call).
    pub(super) fn received(self, trailers: Vec<(String, String)>, expect: Option<u64>) -> Received {
        Received {
            bw: self,
            trailers,
            expect,
        }
    }
}

/// A body read to its end, its tail not yet written: see [`Received::complete`].
pub(super) struct Received {
    bw: BodyWriter,
    trailers: Vec<(String, String)>,
    expect: Option<u64>,
}

impl Received {
    /// Blocking: writes the tail and checks the body (length, digests, checksums, trailers).
    pub(super) fn complete(self) -> Result<(ObjWriter, PayloadSums), S3Error> {
        let mut bw = self.bw;
        let mut w = match bw.w.take() {
            Some(w) => w,
            None => ObjWriter::create(&bw.loc, bw.ty)
                .map_err(|e| s3e(crate::err::from_fs(e, &bw.loc.obj_name)))?,
        };
        let mut check = bw.check.take().expect("payload check present");
        for b in &bw.pending {
            w.write(b)
                .map_err(|e| s3e(crate::err::from_fs(e, &bw.loc.obj_name)))?;
            check.update(b);
        }
        let sums = check.finish(&self.trailers)?;
        if let Some(n) = self.expect
            && n != sums.len
        {
            return Err(S3Error::new(
                S3ErrorCode::IncompleteBody,
                format!("received {} bytes, expected {n}", sums.len),
            ));
        }
        Ok((w, sums))
    }
}

/// What a commit stores: a received body (ETag = its MD5), or a written object with its ETag.
// One value per request, moved once into the blocking commit: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Staged {
    Received(Received),
    Written(ObjWriter, String),
}

impl Target {
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
        let st = &self.ctl.stats;
        let t0 = Instant::now();
        let op = sr.op.clone();
        let r = self.s3_dispatch(sr).await;
        if st.enabled() {
            let counted = r.as_ref().map(|_| web::ok()).map_err(|e| {
                let kind = if e.status() == 404 {
                    ErrKind::NotFound
                } else {
                    ErrKind::BadRequest
                };
                ais_core::Error::new(kind, e.message.clone())
            });
            match op {
                Op::GetObject => common::account(
                    &st.get,
                    &counted,
                    t0,
                    r.as_ref().map_or(0, |r| {
                        r.headers()
                            .get(http::header::CONTENT_LENGTH)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0)
                    }),
                ),
                Op::PutObject | Op::CopyObject | Op::CompleteMultipartUpload => {
                    let stored = r
                        .as_ref()
                        .ok()
                        .and_then(|r| r.extensions().get::<Stored>())
                        .map_or(0, |s| s.0);
                    common::account(&st.put, &counted, t0, stored)
                }
                Op::HeadObject => common::account(&st.head, &counted, t0, 0),
                Op::DeleteObject => common::account(&st.del, &counted, t0, 0),
                _ => {}
            }
        }
        match r {
            Ok(r) => r,
            Err(e) => s3::error_resp(&e, &method, &res),
        }
    }

    async fn s3_dispatch(self: &Arc<Self>, mut sr: S3Req) -> Result<Resp, S3Error> {
        let cfg = self.ctl.meta.config();
        let auth = sr.authenticate(&cfg.auth.s3_keys)?;
        if !sr.op.is_object() {
            return Err(S3Error::new(
                S3ErrorCode::InvalidRequest,
                format!("{}: bucket operations are served by proxies", self.name),
            ));
        }
        let bck = sr.bck()?;
        let key = sr.key()?.to_string();
        self.with_props(&bck, |_| ()).map_err(s3e)?;
        match sr.op {
            Op::GetObject => self.s3_get(&sr, &bck, &key).await,
            Op::HeadObject => self.s3_head(&sr, &bck, &key).await,
            Op::PutObject => self.s3_put(&mut sr, &auth, &bck, &key).await,
            Op::CopyObject => self.s3_copy(&mut sr, &bck, &key).await,
            Op::DeleteObject => self.s3_delete(&bck, &key).await,
            Op::CreateMultipartUpload => self.mpt_create(&sr, &bck, &key).await,
            Op::UploadPart => self.mpt_part(&mut sr, &auth, &bck, &key).await,
            Op::UploadPartCopy => self.mpt_part_copy(&sr, &bck, &key).await,
            Op::CompleteMultipartUpload => self.mpt_complete(&mut sr, &bck, &key).await,
            Op::AbortMultipartUpload => self.mpt_abort(&sr, &bck, &key).await,
            Op::ListParts => self.mpt_list_parts(&sr, &bck, &key).await,
            Op::GetObjectAcl => {
                self.s3_head(&sr, &bck, &key).await?;
                Ok(s3::xml(ais_s3::xml::owner_full_control()))
            }
            _ => Err(S3Error::new(
                S3ErrorCode::NotImplemented,
                "this S3 operation is not implemented",
            )),
        }
    }

    async fn s3_get(self: &Arc<Self>, sr: &S3Req, bck: &Bck, key: &str) -> Result<Resp, S3Error> {
        if sr.q.get("partNumber").is_some_and(|n| n != "1") {
            return Err(S3Error::new(
                S3ErrorCode::NotImplemented,
                "GET of a part other than 1 is not implemented",
            ));
        }
        let mut r = self.get_obj(&sr.req, bck, key).await.map_err(s3e)?;
        if r.status() == StatusCode::RANGE_NOT_SATISFIABLE {
            return Err(S3Error::new(
                S3ErrorCode::InvalidRange,
                "The requested range is not satisfiable",
            ));
        }
        let cond = Conditions::from_headers(&sr.req.headers);
        if cond.any() {
            cond.check(etag_of(r.headers()).as_deref(), mtime_of(r.headers()), true)?;
        }
        let h = r.headers_mut();
        s3_headers(h)?;
        response_overrides(&sr.q, h);
        Ok(r)
    }

    async fn s3_head(self: &Arc<Self>, sr: &S3Req, bck: &Bck, key: &str) -> Result<Resp, S3Error> {
        let mut native = Req::internal(Method::HEAD, sr.req.remote);
        native.query.insert(
            ais_core::wire::qparam::PROPS.to_string(),
            "size,checksum,atime,version,custom,etag,last-modified".to_string(),
        );
        let mut r = self.head_obj(&native, bck, key).await.map_err(s3e)?;
        let cond = Conditions::from_headers(&sr.req.headers);
        if cond.any() {
            cond.check(etag_of(r.headers()).as_deref(), mtime_of(r.headers()), true)?;
        }
        let h = r.headers_mut();
        s3_headers(h)?;
        if !h.contains_key(http::header::CONTENT_TYPE) {
            h.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
        }
        h.insert(
            http::header::ACCEPT_RANGES,
            HeaderValue::from_static("bytes"),
        );
        response_overrides(&sr.q, h);
        Ok(r)
    }

    async fn s3_delete(self: &Arc<Self>, bck: &Bck, key: &str) -> Result<Resp, S3Error> {
        let digest = ais_placement::digest(bck.uname(key).as_bytes());
        let loc = self.mps().locate_digest(bck, key, digest);
        let cname = bck.cname_obj(key);
        let locks = self.locks.clone();
        let copies = super::mirror::copy_candidates(&self.mps(), bck, key);
        let r = tokio::task::spawn_blocking(move || {
            let _g = Target::lock_for(&locks, digest)
                .lock()
                .expect("object lock");
            let r = ais_fs::delete_object(&loc, &cname);
            super::mirror::remove_copies(&copies, &cname);
            r
        })
        .await
        .map_err(|e| s3e(join_err(e)))?;
        match r {
            // S3 deletes are idempotent: a missing key is not an error.
            Ok(()) | Err(ais_fs::Error::NotFound(_)) => {
                if self
                    .with_props(bck, super::ec::ec_of)
                    .map_err(s3e)?
                    .is_some()
                {
                    self.ec_delete_all(bck, key).await;
                }
                Ok(web::status(web::ok(), StatusCode::NO_CONTENT))
            }
            Err(e) => Err(s3e(self.fs_err(e))),
        }
    }

    /// Streams a request body (decoding `aws-chunked`) into a [`BodyWriter`]; returns it
    /// finished with the body's sums. `expect` is the announced payload length.
    pub(super) async fn s3_receive(
        &self,
        req: &mut Req,
        auth: &Auth,
        loc: ais_fs::Location,
        ty: CksumType,
    ) -> Result<Received, S3Error> {
        let h = &req.headers;
        let content_md5 = match h.get("content-md5").and_then(|v| v.to_str().ok()) {
            Some(v) => Some(etag::content_md5(v)?),
            None => None,
        };
        let payload = auth.payload();
        let sha = match payload {
            Some(Payload::Sha256(x)) => Some(*x),
            _ => None,
        };
        let mut decoder = match payload {
            Some(Payload::Streaming { signer, .. }) => {
                Some(Decoder::new(Some(signer.clone()), MAX_CHUNK))
            }
            Some(Payload::StreamingUnsignedTrailer) => Some(Decoder::new(None, MAX_CHUNK)),
            _ => None,
        };
        let len_hdr = if decoder.is_some() {
            "x-amz-decoded-content-length"
        } else {
            "content-length"
        };
        let expect = match h.get(len_hdr).and_then(|v| v.to_str().ok()) {
            Some(v) => Some(v.trim().parse::<u64>().map_err(|_| {
                S3Error::new(S3ErrorCode::InvalidArgument, format!("invalid {len_hdr}"))
            })?),
            None => None,
        };
        let checksum = etag::requested_checksum(h)?;
        let mut bw = BodyWriter::new(loc, ty, PayloadCheck::new(content_md5, sha, checksum));
        let mut body = req.body.take().ok_or_else(|| {
            S3Error::new(S3ErrorCode::InternalError, "request body already consumed")
        })?;
        let mut out = Vec::new();
        while let Some(f) = body.frame().await {
            let f = f.map_err(|e| {
                S3Error::new(
                    S3ErrorCode::IncompleteBody,
                    format!("reading request body: {e}"),
                )
            })?;
            let Ok(d) = f.into_data() else { continue };
            match &mut decoder {
                Some(dec) => {
                    dec.push(d, &mut out)?;
                    for b in out.drain(..) {
                        bw.push(b).await?;
                    }
                }
                None => bw.push(d).await?,
            }
        }
        let trailers = match &mut decoder {
            Some(dec) => {
                dec.finish()?;
                dec.trailers().to_vec()
            }
            None => Vec::new(),
        };
        Ok(bw.received(trailers, expect))
    }

    async fn s3_put(
        self: &Arc<Self>,
        sr: &mut S3Req,
        auth: &Auth,
        bck: &Bck,
        key: &str,
    ) -> Result<Resp, S3Error> {
        let ty = self.with_props(bck, |p| p.checksum.ty).map_err(s3e)?;
        let custom = metadata_from(&sr.req.headers)?;
        let cond = Conditions::from_headers(&sr.req.headers);
        let digest = ais_placement::digest(bck.uname(key).as_bytes());
        let loc = self.mps().locate_digest(bck, key, digest);
        let rcv = self.s3_receive(&mut sr.req, auth, loc.clone(), ty).await?;
        let (lom, sums) = self
            .s3_commit(Staged::Received(rcv), loc, bck, key, digest, custom, cond)
            .await?;
        let sums = sums.expect("a received body has sums");
        let mut r = put_reply(&sums)?;
        r.extensions_mut().insert(Stored(lom.size));
        Ok(r)
    }

    /// Finishes a staged object and commits it under its lock, after the write conditions
    /// (`If-Match`, `If-None-Match: *`) hold against what is stored now — all in one blocking
    /// call. `custom` gets the `ETag`. Returns the metadata and the sums of a received body.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn s3_commit(
        self: &Arc<Self>,
        staged: Staged,
        loc: ais_fs::Location,
        bck: &Bck,
        key: &str,
        digest: u64,
        mut custom: BTreeMap<String, String>,
        cond: Conditions,
    ) -> Result<(Lom, Option<PayloadSums>), S3Error> {
        let locks = self.locks.clone();
        let cname = bck.cname_obj(key);
        let (versioning, n, ec) = self
            .with_props(bck, |p| {
                (
                    p.versioning.enabled,
                    super::mirror::copies_of(p),
                    super::ec::ec_of(p).is_some(),
                )
            })
            .map_err(s3e)?;
        let copies = self.copy_locations(bck, key, digest, n);
        let res =
            tokio::task::spawn_blocking(move || -> Result<(Lom, Option<PayloadSums>), S3Error> {
                let (w, sums) = match staged {
                    Staged::Received(r) => {
                        let (w, sums) = r.complete()?;
                        custom.insert("ETag".into(), sums.md5_hex.clone());
                        (w, Some(sums))
                    }
                    Staged::Written(w, etag) => {
                        custom.insert("ETag".into(), etag);
                        (w, None)
                    }
                };
                let _g = Target::lock_for(&locks, digest)
                    .lock()
                    .expect("object lock");
                let old = ais_fs::load_lom(&loc.fqn, &cname).ok();
                if cond.any() {
                    match &old {
                        Some(o) => {
                            let mt = std::fs::metadata(&loc.fqn)
                                .and_then(|m| m.modified())
                                .unwrap_or(std::time::UNIX_EPOCH);
                            let et = super::object::etag_value(o, ais_core::time::unix_nanos(mt));
                            cond.check(et.as_deref(), mt, false)?;
                        }
                        None => cond.check_absent()?,
                    }
                }
                let version = if versioning {
                    match &old {
                        Some(o) => (o.version.parse::<u64>().unwrap_or(0) + 1).to_string(),
                        None => "1".to_string(),
                    }
                } else {
                    String::new()
                };
                let lom = w
                    .commit(
                        Lom {
                            atime_ns: ais_core::time::now_nanos(),
                            version,
                            custom,
                            ..Default::default()
                        },
                        None,
                    )
                    .map_err(|e| s3e(crate::err::from_fs(e, &cname)))?;
                super::mirror::write_copies(&loc, &copies, &cname)
                    .map_err(|e| s3e(crate::err::from_fs(e, &cname)))?;
                Ok((lom, sums))
            })
            .await
            .map_err(|e| s3e(join_err(e)))??;
        if ec {
            self.ec_encode_later(bck.clone(), key.to_string());
        }
        Ok(res)
    }

    /// Opens the `x-amz-copy-source` object (optionally a byte `range`) at its owner — possibly
    /// this target — over the intra-data network, after `check(source bucket, key)` and the
    /// `x-amz-copy-source-if-*` conditions.
    pub(super) async fn copy_source(
        &self,
        sr: &S3Req,
        range: Option<&str>,
        check: impl FnOnce(&Bck, &str) -> Result<(), S3Error>,
    ) -> Result<reqwest::Response, S3Error> {
        let src = sr.req.header("x-amz-copy-source").ok_or_else(|| {
            S3Error::new(S3ErrorCode::InvalidArgument, "x-amz-copy-source missing")
        })?;
        let (sb, sk) = ais_s3::route::parse_copy_source(src)?;
        let sbck = Bck::new(&sb, ais_core::Provider::Ais)
            .map_err(|e| S3Error::new(S3ErrorCode::InvalidBucketName, e.msg))?;
        ais_core::name::validate_obj_name(&sk, false)
            .map_err(|e| S3Error::new(S3ErrorCode::InvalidArgument, e.msg))?;
        self.with_props(&sbck, |_| ()).map_err(s3e)?;
        check(&sbck, &sk)?;
        let owner = self
            .smap()
            .hrw_target(&sbck.uname(&sk))
            .map_err(|e| s3e(crate::err::from_meta(e)))?
            .clone();
        let url = format!(
            "{}/v1/intra/gfn/{sb}/{}",
            owner.intra_data_net.direct_url,
            percent_encoding::utf8_percent_encode(&sk, common::PATH_SEGMENT),
        );
        let mut rb = self.ctl.intra.request(reqwest::Method::GET, &url);
        if let Some(r) = range {
            rb = rb.header(http::header::RANGE, r);
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| S3Error::new(S3ErrorCode::InternalError, format!("copy source: {e}")))?;
        match resp.status() {
            s if s.is_success() => {}
            reqwest::StatusCode::NOT_FOUND => {
                return Err(S3Error::new(
                    S3ErrorCode::NoSuchKey,
                    format!("The specified key does not exist: {sb}/{sk}"),
                ));
            }
            reqwest::StatusCode::RANGE_NOT_SATISFIABLE => {
                return Err(S3Error::new(
                    S3ErrorCode::InvalidRange,
                    "The x-amz-copy-source-range is not satisfiable",
                ));
            }
            s => {
                return Err(S3Error::new(
                    S3ErrorCode::InternalError,
                    format!("copy source: {s}"),
                ));
            }
        }
        let cond = copy_source_conditions(&sr.req.headers);
        if cond.any() {
            cond.check(
                etag_of(resp.headers()).as_deref(),
                mtime_of(resp.headers()),
                false,
            )?;
        }
        Ok(resp)
    }

    /// Streams a copy source into a new work file at `loc`.
    pub(super) async fn receive_source(
        &self,
        resp: reqwest::Response,
        loc: ais_fs::Location,
        ty: CksumType,
    ) -> Result<Received, S3Error> {
        use futures_util::StreamExt;
        let mut bw = BodyWriter::new(loc, ty, PayloadCheck::new(None, None, None));
        let mut stream = resp.bytes_stream();
        while let Some(b) = stream.next().await {
            let b = b.map_err(|e| {
                S3Error::new(S3ErrorCode::InternalError, format!("copy source: {e}"))
            })?;
            bw.push(b).await?;
        }
        Ok(bw.received(Vec::new(), None))
    }

    async fn s3_copy(
        self: &Arc<Self>,
        sr: &mut S3Req,
        bck: &Bck,
        key: &str,
    ) -> Result<Resp, S3Error> {
        let replace = match sr.req.header("x-amz-metadata-directive") {
            None | Some("COPY") => false,
            Some("REPLACE") => true,
            Some(_) => {
                return Err(S3Error::new(
                    S3ErrorCode::InvalidArgument,
                    "Unknown metadata directive.",
                ));
            }
        };
        let ty = self.with_props(bck, |p| p.checksum.ty).map_err(s3e)?;
        let resp = self
            .copy_source(sr, None, |sbck, sk| {
                if sbck == bck && sk == key && !replace {
                    return Err(S3Error::new(
                        S3ErrorCode::InvalidRequest,
                        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
                    ));
                }
                Ok(())
            })
            .await?;
        let custom = if replace {
            metadata_from(&sr.req.headers)?
        } else {
            let mut m = BTreeMap::new();
            for v in resp.headers().get_all(ais_core::wire::hdr::CUSTOM_MD) {
                if let Some((k, v)) = v.to_str().ok().and_then(|s| s.split_once('=')) {
                    m.insert(k.to_string(), v.to_string());
                }
            }
            m
        };
        let digest = ais_placement::digest(bck.uname(key).as_bytes());
        let loc = self.mps().locate_digest(bck, key, digest);
        let rcv = self.receive_source(resp, loc.clone(), ty).await?;
        let (lom, sums) = self
            .s3_commit(
                Staged::Received(rcv),
                loc,
                bck,
                key,
                digest,
                custom,
                Conditions::default(),
            )
            .await?;
        let sums = sums.expect("a received body has sums");
        let mtime = s3::iso8601(lom.atime_ns);
        let mut r = s3::xml(ais_s3::xml::copy_result(
            "CopyObjectResult",
            &sums.md5_hex,
            &mtime,
        ));
        r.extensions_mut().insert(Stored(lom.size));
        Ok(r)
    }
}

/// The reply to a PUT of an object or part: its `ETag` and the `x-amz-checksum-*` checked.
pub(super) fn put_reply(sums: &PayloadSums) -> Result<Resp, S3Error> {
    let mut r = web::ok();
    let h = r.headers_mut();
    h.insert(
        http::header::ETAG,
        hv(&format!("\"{}\"", sums.md5_hex)).map_err(s3e)?,
    );
    if let Some((a, v)) = &sums.checksum
        && let Ok(v) = HeaderValue::from_str(v)
    {
        h.insert(a.header(), v);
    }
    Ok(r)
}

/// `x-amz-copy-source-if-*` as conditions on the source.
fn copy_source_conditions(h: &HeaderMap) -> Conditions {
    let mut m = HeaderMap::new();
    for (from, to) in [
        ("x-amz-copy-source-if-match", "if-match"),
        ("x-amz-copy-source-if-none-match", "if-none-match"),
        ("x-amz-copy-source-if-modified-since", "if-modified-since"),
        (
            "x-amz-copy-source-if-unmodified-since",
            "if-unmodified-since",
        ),
    ] {
        if let Some(v) = h.get(from) {
            m.insert(to, v.clone());
        }
    }
    Conditions::from_headers(&m)
}
