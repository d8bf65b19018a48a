//! AWS Signature Version 4 for S3: verifying header-signed and presigned requests, and the
//! client side (signing requests, presigning URLs, signing `aws-chunked` chunks).
//!
//! The canonical request follows S3's rules (which differ from the other AWS services): the
//! path is used as received, neither normalized nor encoded twice; only bytes that SigV4 would
//! have encoded and that the client sent raw (e.g. UTF-8) are encoded. The query is decoded and
//! re-encoded with the AWS URI encoding and sorted.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};

use crate::{S3Error, S3ErrorCode};

/// The only supported signing algorithm.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// `x-amz-content-sha256` value: the body is not signed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// `x-amz-content-sha256` value: `aws-chunked` body with signed chunks.
pub const STREAMING_PAYLOAD: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// `x-amz-content-sha256` value: `aws-chunked` body with signed chunks and signed trailers.
pub const STREAMING_PAYLOAD_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
/// `x-amz-content-sha256` value: `aws-chunked` body without signatures, checksum trailer.
pub const STREAMING_UNSIGNED_PAYLOAD_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
/// Hex SHA-256 of the empty string.
pub const EMPTY_SHA256_HEX: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// How far the request time of a header-signed request may be from the server's clock.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// The longest validity of a presigned URL (`X-Amz-Expires`), one week.
pub const MAX_PRESIGNED_EXPIRES: u64 = 604_800;

const STREAMING_ECDSA_PAYLOAD: &str = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD";
const STREAMING_ECDSA_PAYLOAD_TRAILER: &str = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER";

type HmacSha256 = Hmac<Sha256>;

/// What the server received, as received (path and query still percent-encoded exactly as on
/// the wire).
///
/// `headers` must hold `host` (for HTTP/2, the caller copies `:authority` into it).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The HTTP method, e.g. `GET`.
    pub method: &'a str,
    /// The path as on the wire, e.g. `/bucket/a%20b`.
    pub path: &'a str,
    /// The query as on the wire, without the `?` (empty when none).
    pub query: &'a str,
    /// The request headers.
    pub headers: &'a HeaderMap,
}

/// How the payload is protected, once the signature is verified.
#[derive(Debug, Clone)]
pub enum Payload {
    /// No signature over the body (UNSIGNED-PAYLOAD, presigned URLs, anonymous).
    Unsigned,
    /// The body must hash (SHA-256) to this value; the caller checks at the end of the body.
    Sha256([u8; 32]),
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` (and `...-PAYLOAD-TRAILER`): aws-chunked body,
    /// every chunk signed.
    Streaming {
        /// Verifies the chunk signatures (a no-op one when authentication is off).
        signer: ChunkSigner,
        /// Whether signed trailers follow the last chunk (`...-PAYLOAD-TRAILER`).
        trailer: bool,
    },
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: aws-chunked body without chunk signatures,
    /// checksum trailer.
    StreamingUnsignedTrailer,
}

impl Payload {
    /// Whether the body is `aws-chunked` (and must go through [`crate::chunked::Decoder`]).
    pub fn is_chunked(&self) -> bool {
        matches!(
            self,
            Payload::Streaming { .. } | Payload::StreamingUnsignedTrailer
        )
    }
}

/// Result of authentication.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No signature at all (only when authentication is not required).
    Anonymous,
    /// A signed request (verified when authentication is required).
    Signed {
        /// The access key from the credential (empty if it could not be parsed and
        /// authentication is not required).
        access_key: String,
        /// How the body is protected.
        payload: Payload,
    },
}

impl Auth {
    /// The payload protection, `None` for anonymous requests (see [`payload_of`]).
    pub fn payload(&self) -> Option<&Payload> {
        match self {
            Auth::Anonymous => None,
            Auth::Signed { payload, .. } => Some(payload),
        }
    }

    /// The access key, `None` for anonymous requests.
    pub fn access_key(&self) -> Option<&str> {
        match self {
            Auth::Anonymous => None,
            Auth::Signed { access_key, .. } => Some(access_key),
        }
    }
}

/// Signs (client) or verifies (server) the chunks of an `aws-chunked` body: each chunk's
/// signature chains on the previous one, starting from the request's seed signature.
#[derive(Clone)]
pub struct ChunkSigner {
    key: [u8; 32],
    amz_date: String,
    scope: String,
    prev: String,
    verify: bool,
}

impl std::fmt::Debug for ChunkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkSigner")
            .field("amz_date", &self.amz_date)
            .field("scope", &self.scope)
            .field("prev", &self.prev)
            .field("verify", &self.verify)
            .finish_non_exhaustive()
    }
}

impl ChunkSigner {
    /// Client side ChunkSigner for a request signed with [`sign`] using the STREAMING payload:
    /// `seed_signature` is what `sign` returned, `amz_date` the `x-amz-date` it set.
    pub fn for_client(
        seed_signature: &str,
        secret: &str,
        region: &str,
        amz_date: &str,
    ) -> ChunkSigner {
        let day = amz_date.get(..8).unwrap_or(amz_date);
        ChunkSigner {
            key: signing_key(secret, day, region, "s3"),
            amz_date: amz_date.to_owned(),
            scope: format!("{day}/{region}/s3/aws4_request"),
            prev: seed_signature.to_ascii_lowercase(),
            verify: true,
        }
    }

    /// A signer that checks nothing (authentication off): chunks are decoded, not verified.
    pub fn unverified() -> ChunkSigner {
        ChunkSigner {
            key: [0; 32],
            amz_date: String::new(),
            scope: String::new(),
            prev: String::new(),
            verify: false,
        }
    }

    /// Whether signatures are actually checked.
    pub fn verifies(&self) -> bool {
        self.verify
    }

    /// The signature the next chunk chains on (the seed, then the last chunk's).
    pub fn previous_signature(&self) -> &str {
        &self.prev
    }

    /// The signature of a chunk whose data hashes to `chunk_sha256`, without advancing.
    pub fn chunk_signature(&self, chunk_sha256: &[u8; 32]) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{}\n{}",
            self.amz_date,
            self.scope,
            self.prev,
            EMPTY_SHA256_HEX,
            hex(chunk_sha256)
        );
        hex(&hmac(&self.key, sts.as_bytes()))
    }

    /// Checks the signature of the next chunk (data hashing to `chunk_sha256`) and advances:
    /// `SignatureDoesNotMatch` if it is wrong. When not verifying, only advances.
    pub fn verify_chunk(
        &mut self,
        chunk_sha256: &[u8; 32],
        signature_hex: &str,
    ) -> Result<(), S3Error> {
        let want = self.verify.then(|| self.chunk_signature(chunk_sha256));
        self.check_and_advance(want, signature_hex, "chunk")
    }

    /// Compares `want` (none when not verifying) with the given signature, then advances.
    fn check_and_advance(
        &mut self,
        want: Option<String>,
        signature_hex: &str,
        what: &str,
    ) -> Result<(), S3Error> {
        if let Some(want) = want
            && !ct_eq_hex(&want, signature_hex)
        {
            return Err(S3Error::new(
                S3ErrorCode::SignatureDoesNotMatch,
                format!(
                    "The {what} signature we calculated does not match the signature you provided."
                ),
            ));
        }
        self.prev = signature_hex.to_ascii_lowercase();
        Ok(())
    }

    /// Client side (and tests): the signature of the next chunk `chunk` (empty for the final
    /// chunk); advances.
    pub fn next_signature(&mut self, chunk: &[u8]) -> String {
        let sig = self.chunk_signature(&Sha256::digest(chunk).into());
        self.prev.clone_from(&sig);
        sig
    }

    /// The signature over the trailers (`x-amz-trailer-signature`), without advancing.
    /// `canonical_trailers` is each trailer as `name:value\n`, in the order sent.
    pub fn trailer_signature(&self, canonical_trailers: &[u8]) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            self.amz_date,
            self.scope,
            self.prev,
            hex(&Sha256::digest(canonical_trailers))
        );
        hex(&hmac(&self.key, sts.as_bytes()))
    }

    /// Checks `x-amz-trailer-signature` (see [`ChunkSigner::trailer_signature`]) and advances.
    pub fn verify_trailer(
        &mut self,
        canonical_trailers: &[u8],
        signature_hex: &str,
    ) -> Result<(), S3Error> {
        let want = self
            .verify
            .then(|| self.trailer_signature(canonical_trailers));
        self.check_and_advance(want, signature_hex, "trailer")
    }
}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

/// Verifies header-signed (`Authorization: AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,
/// SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=hex`) and presigned (query
/// `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
/// `X-Amz-Signature`) requests.
///
/// `secret_of(access_key)` returns the secret or `None` (-> `InvalidAccessKeyId`, 403).
///
/// When `required` is false nothing is checked (any key, any signature, any date), but the
/// payload kind is still derived from `x-amz-content-sha256` so `aws-chunked` bodies can be
/// decoded (a streaming payload carries a [`ChunkSigner`] that does not verify); the result is
/// [`Auth::Signed`] with the claimed access key, or [`Auth::Anonymous`] if there is no signature.
///
/// When `required` is true: no signature -> `AccessDenied`; wrong signature ->
/// `SignatureDoesNotMatch`; request time more than 15 minutes from `now` (header form) ->
/// `RequestTimeTooSkewed`; presigned URL past `X-Amz-Date + X-Amz-Expires` -> `AccessDenied`;
/// `X-Amz-Expires` above a week or malformed authorization -> `AuthorizationHeaderMalformed`.
pub fn verify(
    req: &Request<'_>,
    now: SystemTime,
    required: bool,
    secret_of: &dyn Fn(&str) -> Option<String>,
) -> Result<Auth, S3Error> {
    let query = parse_query(req.query);
    let has = |k: &str| query.iter().any(|(n, _)| n == k);
    let authz = req.headers.get(header::AUTHORIZATION);
    let presigned_v4 = has("X-Amz-Algorithm") || has("X-Amz-Credential") || has("X-Amz-Signature");
    let presigned_v2 = has("AWSAccessKeyId") && has("Signature");

    if authz.is_none() && !presigned_v4 && !presigned_v2 {
        if required {
            return Err(S3Error::new(S3ErrorCode::AccessDenied, "Access Denied"));
        }
        return Ok(Auth::Anonymous);
    }
    if !required {
        return lenient(req, authz, &query);
    }
    if authz.is_some() && (presigned_v4 || presigned_v2) {
        return Err(S3Error::new(
            S3ErrorCode::InvalidArgument,
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
             Signature query string parameter or the Authorization header should be specified",
        ));
    }

    let parsed = match authz {
        Some(v) => parse_header_auth(v)?,
        None if presigned_v4 => parse_presigned(&query)?,
        None => return Err(unsupported()),
    };

    let secret = secret_of(&parsed.access_key).ok_or_else(|| {
        S3Error::new(
            S3ErrorCode::InvalidAccessKeyId,
            "The AWS Access Key Id you provided does not exist in our records.",
        )
    })?;

    // Request time.
    let amz_date;
    if let Some(expires) = parsed.expires {
        amz_date = parsed.amz_date.clone().unwrap_or_default();
        let t = parse_amz_date(&amz_date).ok_or_else(|| {
            malformed_query(
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
            )
        })?;
        if expires > MAX_PRESIGNED_EXPIRES {
            return Err(S3Error::new(
                S3ErrorCode::AuthorizationHeaderMalformed,
                "X-Amz-Expires must be less than a week (in seconds) that is 604800",
            ));
        }
        if t > now + MAX_SKEW {
            return Err(S3Error::new(
                S3ErrorCode::AccessDenied,
                "Request is not valid yet",
            ));
        }
        if now > t + Duration::from_secs(expires) {
            return Err(S3Error::new(
                S3ErrorCode::AccessDenied,
                "Request has expired",
            ));
        }
    } else {
        let t;
        (amz_date, t) = header_time(req.headers)?;
        let skew = match now.duration_since(t) {
            Ok(d) => d,
            Err(e) => e.duration(),
        };
        if skew > MAX_SKEW {
            return Err(S3Error::new(
                S3ErrorCode::RequestTimeTooSkewed,
                "The difference between the request time and the current time is too large.",
            ));
        }
    }
    if amz_date.get(..8) != Some(parsed.day.as_str()) {
        return Err(S3Error::new(
            S3ErrorCode::AuthorizationHeaderMalformed,
            format!(
                "Invalid credential date \"{}\". This date is not the same as X-Amz-Date: \"{}\".",
                parsed.day,
                amz_date.get(..8).unwrap_or(&amz_date)
            ),
        ));
    }

    // Payload hash as signed.
    let content_sha = req.headers.get("x-amz-content-sha256");
    let payload_hash: String = match content_sha {
        Some(v) => String::from_utf8_lossy(v.as_bytes()).trim().to_owned(),
        None if parsed.expires.is_some() => UNSIGNED_PAYLOAD.to_owned(),
        None => {
            return Err(S3Error::new(
                S3ErrorCode::InvalidRequest,
                "Missing required header for this request: x-amz-content-sha256",
            ));
        }
    };
    let kind = classify(&payload_hash)?;
    if let Kind::StreamingEcdsa { .. } = kind {
        return Err(unsupported());
    }

    let key = signing_key(&secret, &parsed.day, &parsed.region, &parsed.service);
    let scope = format!(
        "{}/{}/{}/aws4_request",
        parsed.day, parsed.region, parsed.service
    );
    let signed: Vec<&str> = parsed.signed_headers.iter().map(String::as_str).collect();
    let exclude_sig = parsed.expires.is_some();
    // As S3: `host` must be signed, and so must every `x-amz-*` header present (an unsigned
    // one — e.g. `x-amz-copy-source` added to a presigned PUT — would change the operation).
    if !signed.contains(&"host") {
        return Err(S3Error::new(
            S3ErrorCode::AccessDenied,
            "The host header must be signed",
        ));
    }
    for name in req.headers.keys() {
        let n = name.as_str();
        if n.starts_with("x-amz-")
            && !signed.contains(&n)
            && !(exclude_sig && n == "x-amz-content-sha256")
        {
            return Err(S3Error::new(
                S3ErrorCode::AccessDenied,
                format!("There were headers present in the request which were not signed: {n}"),
            ));
        }
    }

    let try_sig = |plus_is_space: bool| {
        let canonical = canonical_request(
            req.method,
            req.path,
            &canonical_query(req.query, exclude_sig, plus_is_space),
            req.headers,
            &signed,
            &payload_hash,
        );
        let sts = string_to_sign(&amz_date, &scope, &canonical);
        hex(&hmac(&key, sts.as_bytes()))
    };
    let mut want = try_sig(false);
    let mut ok = ct_eq_hex(&want, &parsed.signature);
    if !ok && req.query.contains('+') {
        want = try_sig(true);
        ok = ct_eq_hex(&want, &parsed.signature);
    }
    if !ok {
        return Err(S3Error::new(
            S3ErrorCode::SignatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided. \
             Check your key and signing method.",
        ));
    }

    let payload = match kind {
        Kind::Unsigned => Payload::Unsigned,
        Kind::Sha256(h) => Payload::Sha256(h),
        Kind::Streaming { trailer } => Payload::Streaming {
            signer: ChunkSigner {
                key,
                amz_date,
                scope,
                prev: want,
                verify: true,
            },
            trailer,
        },
        Kind::StreamingEcdsa { .. } => return Err(unsupported()),
        Kind::StreamingUnsignedTrailer => Payload::StreamingUnsignedTrailer,
    };
    Ok(Auth::Signed {
        access_key: parsed.access_key,
        payload,
    })
}

/// The payload protection announced by `x-amz-content-sha256`, without checking any signature
/// (a streaming payload gets a [`ChunkSigner`] that verifies nothing). Absent header ->
/// [`Payload::Unsigned`]. Useful for anonymous requests with `aws-chunked` bodies.
pub fn payload_of(headers: &HeaderMap) -> Result<Payload, S3Error> {
    let Some(v) = headers.get("x-amz-content-sha256") else {
        return Ok(Payload::Unsigned);
    };
    let v = String::from_utf8_lossy(v.as_bytes());
    Ok(match classify(v.trim())? {
        Kind::Unsigned => Payload::Unsigned,
        Kind::Sha256(h) => Payload::Sha256(h),
        Kind::Streaming { trailer } | Kind::StreamingEcdsa { trailer } => Payload::Streaming {
            signer: ChunkSigner::unverified(),
            trailer,
        },
        Kind::StreamingUnsignedTrailer => Payload::StreamingUnsignedTrailer,
    })
}

fn lenient(
    req: &Request<'_>,
    authz: Option<&HeaderValue>,
    query: &[(String, String)],
) -> Result<Auth, S3Error> {
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let access_key = match authz {
        Some(v) => {
            let s = String::from_utf8_lossy(v.as_bytes());
            let s = s.trim();
            if let Some(rest) = s.strip_prefix("AWS ") {
                // Signature Version 2: "AWS AK:signature".
                rest.trim().split(':').next().unwrap_or("").to_owned()
            } else {
                auth_params(s)
                    .find(|(k, _)| *k == "Credential")
                    .map(|(_, v)| credential_key(v))
                    .unwrap_or_default()
            }
        }
        None => get("X-Amz-Credential")
            .map(credential_key)
            .or_else(|| get("AWSAccessKeyId").map(str::to_owned))
            .unwrap_or_default(),
    };
    let mut payload = payload_of(req.headers)?;
    if let Payload::Streaming { signer, .. } = &mut payload {
        // Not verified, but keep the chain's start for completeness.
        let sig = match authz {
            Some(v) => auth_params(&String::from_utf8_lossy(v.as_bytes()))
                .find(|(k, _)| *k == "Signature")
                .map(|(_, v)| v.to_ascii_lowercase()),
            None => get("X-Amz-Signature").map(str::to_ascii_lowercase),
        };
        signer.prev = sig.unwrap_or_default();
    }
    Ok(Auth::Signed {
        access_key,
        payload,
    })
}

/// The access key part of a credential `AK/day/region/service/aws4_request`.
fn credential_key(cred: &str) -> String {
    let parts: Vec<&str> = cred.rsplitn(5, '/').collect();
    if parts.len() == 5 {
        parts[4].to_owned()
    } else {
        cred.split('/').next().unwrap_or("").to_owned()
    }
}

struct Parsed {
    access_key: String,
    day: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
    signature: String,
    /// Presigned only.
    amz_date: Option<String>,
    /// Presigned only.
    expires: Option<u64>,
}

fn malformed(msg: impl Into<String>) -> S3Error {
    S3Error::new(S3ErrorCode::AuthorizationHeaderMalformed, msg)
}

fn malformed_query(msg: impl Into<String>) -> S3Error {
    S3Error::new(S3ErrorCode::AuthorizationHeaderMalformed, msg)
}

fn unsupported() -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidRequest,
        "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
    )
}

/// `Key=Value` pairs of an `Authorization` header after the algorithm.
fn auth_params(s: &str) -> impl Iterator<Item = (&str, &str)> {
    let rest = s.split_once(char::is_whitespace).map_or("", |(_, r)| r);
    rest.split(',').filter_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        Some((k.trim(), v.trim()))
    })
}

fn parse_credential(cred: &str, p: &mut Parsed) -> Result<(), S3Error> {
    let parts: Vec<&str> = cred.rsplitn(5, '/').collect();
    if parts.len() != 5 || parts[4].is_empty() {
        return Err(malformed(format!(
            "The credential is malformed: \"{cred}\""
        )));
    }
    let (term, service, region, day, ak) = (parts[0], parts[1], parts[2], parts[3], parts[4]);
    if term != "aws4_request" {
        return Err(malformed(format!(
            "The credential is mal-formed; expecting \"aws4_request\" but got \"{term}\""
        )));
    }
    if service != "s3" {
        return Err(malformed(format!(
            "The credential is mal-formed; incorrect service \"{service}\". This endpoint belongs to \"s3\"."
        )));
    }
    if day.len() != 8 || !day.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(format!(
            "The credential is mal-formed; invalid date \"{day}\""
        )));
    }
    if region.is_empty() {
        return Err(malformed("The credential is mal-formed; empty region"));
    }
    p.access_key = ak.to_owned();
    p.day = day.to_owned();
    p.region = region.to_owned();
    p.service = service.to_owned();
    Ok(())
}

fn parse_signed_headers(s: &str) -> Result<Vec<String>, S3Error> {
    let v: Vec<String> = s
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    if v.is_empty() {
        return Err(malformed("SignedHeaders is empty"));
    }
    Ok(v)
}

fn empty_parsed() -> Parsed {
    Parsed {
        access_key: String::new(),
        day: String::new(),
        region: String::new(),
        service: String::new(),
        signed_headers: Vec::new(),
        signature: String::new(),
        amz_date: None,
        expires: None,
    }
}

fn parse_header_auth(v: &HeaderValue) -> Result<Parsed, S3Error> {
    let s = v
        .to_str()
        .map_err(|_| malformed("The authorization header is malformed"))?
        .trim();
    let algo = s.split(char::is_whitespace).next().unwrap_or("");
    if algo != ALGORITHM {
        return Err(unsupported());
    }
    let mut p = empty_parsed();
    let (mut cred, mut sh, mut sig) = (None, None, None);
    for (k, v) in auth_params(s) {
        match k {
            "Credential" => cred = Some(v),
            "SignedHeaders" => sh = Some(v),
            "Signature" => sig = Some(v),
            _ => {}
        }
    }
    let (Some(cred), Some(sh), Some(sig)) = (cred, sh, sig) else {
        return Err(malformed(
            "The authorization header is malformed; it must contain Credential, SignedHeaders and Signature",
        ));
    };
    parse_credential(cred, &mut p)?;
    p.signed_headers = parse_signed_headers(sh)?;
    p.signature = sig.to_owned();
    Ok(p)
}

fn parse_presigned(query: &[(String, String)]) -> Result<Parsed, S3Error> {
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let need = |k: &str| {
        get(k).ok_or_else(|| {
            malformed_query(format!(
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, \
                 X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters (missing {k})."
            ))
        })
    };
    if need("X-Amz-Algorithm")? != ALGORITHM {
        return Err(unsupported());
    }
    let mut p = empty_parsed();
    parse_credential(need("X-Amz-Credential")?, &mut p)?;
    p.signed_headers = parse_signed_headers(need("X-Amz-SignedHeaders")?)?;
    p.signature = need("X-Amz-Signature")?.to_owned();
    p.amz_date = Some(need("X-Amz-Date")?.to_owned());
    let exp = need("X-Amz-Expires")?;
    p.expires = Some(
        exp.trim()
            .parse::<u64>()
            .map_err(|_| malformed_query("X-Amz-Expires should be a number"))?,
    );
    Ok(p)
}

/// The request time of a header-signed request: `x-amz-date`, else `Date` (RFC 1123).
/// Returns the ISO 8601 basic form used in the string to sign, and the time.
fn header_time(h: &HeaderMap) -> Result<(String, SystemTime), S3Error> {
    let bad = || {
        S3Error::new(
            S3ErrorCode::AccessDenied,
            "AWS authentication requires a valid Date or x-amz-date header",
        )
    };
    if let Some(v) = h.get("x-amz-date") {
        let s = v.to_str().map_err(|_| bad())?.trim();
        let t = parse_amz_date(s).ok_or_else(bad)?;
        return Ok((s.to_owned(), t));
    }
    if let Some(v) = h.get(header::DATE) {
        let s = v.to_str().map_err(|_| bad())?.trim();
        let t = httpdate::parse_http_date(s).map_err(|_| bad())?;
        return Ok((format_amz_date(t), t));
    }
    Err(bad())
}

enum Kind {
    Unsigned,
    Sha256([u8; 32]),
    Streaming { trailer: bool },
    StreamingEcdsa { trailer: bool },
    StreamingUnsignedTrailer,
}

fn classify(v: &str) -> Result<Kind, S3Error> {
    Ok(match v {
        UNSIGNED_PAYLOAD => Kind::Unsigned,
        STREAMING_PAYLOAD => Kind::Streaming { trailer: false },
        STREAMING_PAYLOAD_TRAILER => Kind::Streaming { trailer: true },
        STREAMING_UNSIGNED_PAYLOAD_TRAILER => Kind::StreamingUnsignedTrailer,
        STREAMING_ECDSA_PAYLOAD => Kind::StreamingEcdsa { trailer: false },
        STREAMING_ECDSA_PAYLOAD_TRAILER => Kind::StreamingEcdsa { trailer: true },
        _ => match unhex32(v) {
            Some(h) => Kind::Sha256(h),
            None => {
                return Err(S3Error::new(
                    S3ErrorCode::InvalidArgument,
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, \
                     STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER \
                     or a valid sha256 value.",
                ));
            }
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Client side
// ---------------------------------------------------------------------------------------------

/// Whether a client signs this header (everything a proxy or HTTP client is unlikely to rewrite).
fn client_signs(name: &str) -> bool {
    name == "host"
        || name == "range"
        || name == "date"
        || name == "cache-control"
        || name == "expires"
        || name.starts_with("content-")
        || name.starts_with("if-")
        || name.starts_with("x-amz-")
}

/// Client side (used by our aisloader and tests): signs a request in place by adding
/// `x-amz-date`, `x-amz-content-sha256` and `Authorization` headers. `payload_sha256_hex` may
/// be `UNSIGNED-PAYLOAD` or `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` (or any other
/// `x-amz-content-sha256` value). Returns the seed signature hex.
///
/// `path` and `query` are as they will be sent (percent-encoded); `headers` should already hold
/// `host` and every other header to sign (`host`, `range`, `date`, `cache-control`, `expires`,
/// `content-*`, `if-*` and `x-amz-*` are signed).
#[allow(clippy::too_many_arguments)]
pub fn sign(
    method: &str,
    path: &str,
    query: &str,
    headers: &mut HeaderMap,
    payload_sha256_hex: &str,
    access_key: &str,
    secret: &str,
    region: &str,
    now: SystemTime,
) -> String {
    let amz_date = format_amz_date(now);
    let day = &amz_date[..8];
    headers.remove(header::AUTHORIZATION);
    if let Ok(v) = HeaderValue::from_str(&amz_date) {
        headers.insert("x-amz-date", v);
    }
    if let Ok(v) = HeaderValue::from_str(payload_sha256_hex) {
        headers.insert("x-amz-content-sha256", v);
    }
    let mut names: Vec<&str> = headers
        .keys()
        .map(|k| k.as_str())
        .filter(|k| client_signs(k))
        .collect();
    names.sort_unstable();
    names.dedup();
    let scope = format!("{day}/{region}/s3/aws4_request");
    let canonical = canonical_request(
        method,
        path,
        &canonical_query(query, false, false),
        headers,
        &names,
        payload_sha256_hex,
    );
    let sts = string_to_sign(&amz_date, &scope, &canonical);
    let sig = hex(&hmac(
        &signing_key(secret, day, region, "s3"),
        sts.as_bytes(),
    ));
    let authz = format!(
        "{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={}, Signature={sig}",
        names.join(";")
    );
    if let Ok(v) = HeaderValue::from_str(&authz) {
        headers.insert(header::AUTHORIZATION, v);
    }
    sig
}

/// Client side: a presigned URL query string (to append after `?`), for `expires_secs`.
/// It holds the given `query` (as given, already encoded) followed by the `X-Amz-*`
/// parameters; only `host` is signed and the payload is `UNSIGNED-PAYLOAD`.
#[allow(clippy::too_many_arguments)]
pub fn presign_query(
    method: &str,
    host: &str,
    path: &str,
    query: &str,
    access_key: &str,
    secret: &str,
    region: &str,
    now: SystemTime,
    expires_secs: u64,
) -> String {
    let amz_date = format_amz_date(now);
    let day = &amz_date[..8];
    let scope = format!("{day}/{region}/s3/aws4_request");
    let mut q = String::from(query.trim_start_matches('?'));
    if !q.is_empty() && !q.ends_with('&') {
        q.push('&');
    }
    q.push_str(&format!(
        "X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={}&X-Amz-Date={amz_date}&X-Amz-Expires={expires_secs}&X-Amz-SignedHeaders=host",
        uri_encode(format!("{access_key}/{scope}").as_bytes())
    ));
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(host) {
        h.insert(header::HOST, v);
    }
    let canonical = canonical_request(
        method,
        path,
        &canonical_query(&q, true, false),
        &h,
        &["host"],
        UNSIGNED_PAYLOAD,
    );
    let sts = string_to_sign(&amz_date, &scope, &canonical);
    let sig = hex(&hmac(
        &signing_key(secret, day, region, "s3"),
        sts.as_bytes(),
    ));
    q.push_str("&X-Amz-Signature=");
    q.push_str(&sig);
    q
}

// ---------------------------------------------------------------------------------------------
// Canonical request
// ---------------------------------------------------------------------------------------------

fn string_to_sign(amz_date: &str, scope: &str, canonical: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical))
    )
}

/// The canonical request (bytes: header values need not be UTF-8).
fn canonical_request(
    method: &str,
    path: &str,
    canonical_query: &str,
    headers: &HeaderMap,
    signed: &[&str],
    payload_hash: &str,
) -> Vec<u8> {
    let mut c = Vec::with_capacity(512);
    c.extend_from_slice(method.as_bytes());
    c.push(b'\n');
    c.extend_from_slice(canonical_uri(path).as_bytes());
    c.push(b'\n');
    c.extend_from_slice(canonical_query.as_bytes());
    c.push(b'\n');
    for name in signed {
        c.extend_from_slice(name.as_bytes());
        c.push(b':');
        let mut first = true;
        for v in headers.get_all(*name) {
            if !first {
                c.push(b',');
            }
            first = false;
            let mut word = false;
            for w in v
                .as_bytes()
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
            {
                if word {
                    c.push(b' ');
                }
                c.extend_from_slice(w);
                word = true;
            }
        }
        c.push(b'\n');
    }
    c.push(b'\n');
    c.extend_from_slice(signed.join(";").as_bytes());
    c.push(b'\n');
    c.extend_from_slice(payload_hash.as_bytes());
    c
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn push_pct(out: &mut String, b: u8) {
    out.push('%');
    out.push(HEX_UPPER[(b >> 4) as usize] as char);
    out.push(HEX_UPPER[(b & 15) as usize] as char);
}

/// The AWS URI encoding: every byte but the unreserved ones as `%XX` (space is `%20`).
pub fn uri_encode(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for &b in s {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            push_pct(&mut out, b);
        }
    }
    out
}

/// The canonical URI of a path as received: used verbatim, except that bytes SigV4 would have
/// encoded are encoded and existing `%xx` escapes get uppercase hex.
pub fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    let b = path.as_bytes();
    let mut out = String::with_capacity(b.len() + 8);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            out.push('%');
            out.push(b[i + 1].to_ascii_uppercase() as char);
            out.push(b[i + 2].to_ascii_uppercase() as char);
            i += 3;
            continue;
        }
        if is_unreserved(c) || c == b'/' {
            out.push(c as char);
        } else {
            push_pct(&mut out, c);
        }
        i += 1;
    }
    out
}

fn pct_decode(s: &str, plus_is_space: bool) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            out.push((hexval(b[i + 1]) << 4) | hexval(b[i + 2]));
            i += 3;
            continue;
        }
        out.push(if plus_is_space && c == b'+' { b' ' } else { c });
        i += 1;
    }
    out
}

/// The canonical query string of a raw query: pairs decoded, re-encoded with [`uri_encode`],
/// sorted by key then value; `exclude_signature` drops `X-Amz-Signature` (presigned).
fn canonical_query(raw: &str, exclude_signature: bool, plus_is_space: bool) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for part in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let k = pct_decode(k, plus_is_space);
        if exclude_signature && k == b"X-Amz-Signature" {
            continue;
        }
        pairs.push((uri_encode(&k), uri_encode(&pct_decode(v, plus_is_space))));
    }
    pairs.sort_unstable();
    let mut out = String::with_capacity(raw.len() + 16);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// The query's pairs, percent-decoded (`+` kept as is), for looking up `X-Amz-*` parameters.
fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (
                String::from_utf8_lossy(&pct_decode(k, false)).into_owned(),
                String::from_utf8_lossy(&pct_decode(v, false)).into_owned(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Crypto and encoding helpers
// ---------------------------------------------------------------------------------------------

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(data);
    m.finalize().into_bytes().into()
}

/// The SigV4 signing key for `day` (`yyyymmdd`), `region` and `service`.
pub fn signing_key(secret: &str, day: &str, region: &str, service: &str) -> [u8; 32] {
    let k = hmac(format!("AWS4{secret}").as_bytes(), day.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, service.as_bytes());
    hmac(&k, b"aws4_request")
}

fn hex(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(H[(x >> 4) as usize] as char);
        s.push(H[(x & 15) as usize] as char);
    }
    s
}

fn hexval(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 || !b.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (hexval(b[2 * i]) << 4) | hexval(b[2 * i + 1]);
    }
    Some(out)
}

/// Constant-time comparison of our lowercase hex `want` with a client's hex (any case).
fn ct_eq_hex(want: &str, got: &str) -> bool {
    let (a, b) = (want.as_bytes(), got.trim().as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | (x ^ y.to_ascii_lowercase()))
        == 0
}

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Parses an `X-Amz-Date` (`20130524T000000Z`).
pub fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let mut n = 0u32;
        for &c in &b[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u32::from(c - b'0');
        }
        Some(n)
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
    let mdays = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if d == 0 || d > mdays || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let secs = days_from_civil(i64::from(y), mo, d) * 86_400
        + i64::from(h) * 3600
        + i64::from(mi) * 60
        + i64::from(se);
    let secs = u64::try_from(secs).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Formats a time as an `X-Amz-Date` (`20130524T000000Z`).
pub fn format_amz_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let secs = i64::try_from(secs).unwrap_or(0);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const AK: &str = "AKIAIOSFODNN7EXAMPLE";
    const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const HOST: &str = "examplebucket.s3.amazonaws.com";

    fn t2013() -> SystemTime {
        parse_amz_date("20130524T000000Z").unwrap()
    }

    fn secrets(ak: &str) -> Option<String> {
        (ak == AK).then(|| SK.to_owned())
    }

    fn hm(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn authz(signed: &str, sig: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders={signed},Signature={sig}"
        )
    }

    fn check(
        method: &str,
        path: &str,
        query: &str,
        mut h: HeaderMap,
        signed: &str,
        sig: &str,
    ) -> Auth {
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&authz(signed, sig)).unwrap(),
        );
        let req = Request {
            method,
            path,
            query,
            headers: &h,
        };
        let r = verify(&req, t2013(), true, &secrets);
        // And a flipped signature must fail.
        let mut bad = sig.to_owned();
        bad.replace_range(0..1, if sig.starts_with('0') { "1" } else { "0" });
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&authz(signed, &bad)).unwrap(),
        );
        let req2 = Request {
            method,
            path,
            query,
            headers: &h,
        };
        let e = verify(&req2, t2013(), true, &secrets).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
        r.unwrap()
    }

    #[test]
    fn dates() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(UNIX_EPOCH));
        let t = parse_amz_date("20130524T000000Z").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_369_353_600
        );
        assert_eq!(format_amz_date(t), "20130524T000000Z");
        let t = parse_amz_date("20240229T235958Z").unwrap();
        assert_eq!(format_amz_date(t), "20240229T235958Z");
        assert_eq!(
            httpdate::parse_http_date("Fri, 24 May 2013 00:00:00 GMT").unwrap(),
            t2013()
        );
        for bad in [
            "20130230T000000Z",
            "20130524T240000Z",
            "20130524 000000Z",
            "2013052T000000Z",
            "",
        ] {
            assert!(parse_amz_date(bad).is_none(), "{bad}");
        }
        for days in [-1000i64, 0, 1, 59, 365, 11_000, 20_000, 100_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn uri_encoding() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/test%24file.text"), "/test%24file.text");
        assert_eq!(canonical_uri("/a%2fb c"), "/a%2Fb%20c");
        assert_eq!(canonical_uri("/caf\u{e9}$"), "/caf%C3%A9%24");
        assert_eq!(canonical_uri("/100%"), "/100%25");
        assert_eq!(canonical_query("lifecycle", false, false), "lifecycle=");
        assert_eq!(
            canonical_query("prefix=J&max-keys=2", false, false),
            "max-keys=2&prefix=J"
        );
        assert_eq!(
            canonical_query("a=x+y&b=%7e%2a", false, false),
            "a=x%2By&b=~%2A"
        );
        assert_eq!(canonical_query("a=x+y", false, true), "a=x%20y");
    }

    #[test]
    fn aws_get_object() {
        let h = hm(&[
            ("host", HOST),
            ("range", "bytes=0-9"),
            ("x-amz-content-sha256", EMPTY_SHA256_HEX),
            ("x-amz-date", "20130524T000000Z"),
        ]);
        let a = check(
            "GET",
            "/test.txt",
            "",
            h,
            "host;range;x-amz-content-sha256;x-amz-date",
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        );
        match a {
            Auth::Signed {
                access_key,
                payload: Payload::Sha256(s),
            } => {
                assert_eq!(access_key, AK);
                assert_eq!(hex(&s), EMPTY_SHA256_HEX);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn aws_put_object() {
        let body_sha = hex(&Sha256::digest(b"Welcome to Amazon S3."));
        assert_eq!(
            body_sha,
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        );
        let h = hm(&[
            ("host", HOST),
            ("date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", &body_sha),
        ]);
        check(
            "PUT",
            "/test%24file.text",
            "",
            h,
            "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
        );
    }

    fn bucket_get(query: &str, sig: &str) {
        let h = hm(&[
            ("host", HOST),
            ("x-amz-content-sha256", EMPTY_SHA256_HEX),
            ("x-amz-date", "20130524T000000Z"),
        ]);
        check(
            "GET",
            "/",
            query,
            h,
            "host;x-amz-content-sha256;x-amz-date",
            sig,
        );
    }

    #[test]
    fn aws_get_lifecycle() {
        bucket_get(
            "lifecycle",
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
        );
    }

    #[test]
    fn aws_list_objects() {
        bucket_get(
            "max-keys=2&prefix=J",
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
        );
        // Order on the wire does not matter.
        bucket_get(
            "prefix=J&max-keys=2",
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
        );
    }

    #[test]
    fn aws_presigned() {
        let q = presign_query(
            "GET",
            HOST,
            "/test.txt",
            "",
            AK,
            SK,
            "us-east-1",
            t2013(),
            86400,
        );
        let sig = q.rsplit_once("X-Amz-Signature=").unwrap().1;
        assert_eq!(
            sig,
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
        assert!(q.contains(
            "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        ));
        let h = hm(&[("host", HOST)]);
        let req = Request {
            method: "GET",
            path: "/test.txt",
            query: &q,
            headers: &h,
        };
        let later = t2013() + Duration::from_secs(3600);
        match verify(&req, later, true, &secrets).unwrap() {
            Auth::Signed {
                access_key,
                payload: Payload::Unsigned,
            } => assert_eq!(access_key, AK),
            other => panic!("{other:?}"),
        }
        // Expired.
        let e = verify(&req, t2013() + Duration::from_secs(86401), true, &secrets).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::AccessDenied);
        assert!(e.message.contains("expired"));
        // Tampered path.
        let req2 = Request {
            path: "/test2.txt",
            ..req
        };
        let e = verify(&req2, later, true, &secrets).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
        // Unknown key.
        let e = verify(&req, later, true, &|_| None).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::InvalidAccessKeyId);
    }

    #[test]
    fn presigned_round_trip_and_limits() {
        let now = SystemTime::now();
        let q = presign_query(
            "PUT",
            "localhost:8080",
            "/b/k%20x",
            "partNumber=1&uploadId=a+b",
            AK,
            SK,
            "eu-west-9",
            now,
            600,
        );
        let h = hm(&[("host", "localhost:8080")]);
        let req = Request {
            method: "PUT",
            path: "/b/k%20x",
            query: &q,
            headers: &h,
        };
        assert!(matches!(
            verify(&req, now, true, &secrets).unwrap(),
            Auth::Signed {
                payload: Payload::Unsigned,
                ..
            }
        ));
        let e = verify(&req, now + Duration::from_secs(601), true, &secrets).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::AccessDenied);
        // More than a week.
        let q = presign_query(
            "GET",
            "h",
            "/b/k",
            "",
            AK,
            SK,
            "us-east-1",
            now,
            MAX_PRESIGNED_EXPIRES + 1,
        );
        let h = hm(&[("host", "h")]);
        let req = Request {
            method: "GET",
            path: "/b/k",
            query: &q,
            headers: &h,
        };
        let e = verify(&req, now, true, &secrets).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::AuthorizationHeaderMalformed);
        // Missing parameter.
        let q2 = q.replace("X-Amz-Expires", "X-Amz-Whatever");
        let req = Request { query: &q2, ..req };
        let e = verify(&req, now, true, &secrets).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::AuthorizationHeaderMalformed);
    }

    #[test]
    fn aws_streaming_seed() {
        let h = hm(&[
            ("host", "s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", STREAMING_PAYLOAD),
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"),
            ("content-length", "66824"),
        ]);
        let a = check(
            "PUT",
            "/examplebucket/chunkObject.txt",
            "",
            h,
            "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
            "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        );
        let Auth::Signed {
            payload:
                Payload::Streaming {
                    mut signer,
                    trailer: false,
                },
            ..
        } = a
        else {
            panic!("{a:?}")
        };
        assert!(signer.verifies());
        let mut client = ChunkSigner::for_client(
            "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
            SK,
            "us-east-1",
            "20130524T000000Z",
        );
        let data = vec![b'a'; 65536 + 1024];
        let sigs = [
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
        ];
        let chunks: [&[u8]; 3] = [&data[..65536], &data[65536..], b""];
        for (c, s) in chunks.iter().zip(sigs) {
            assert_eq!(client.next_signature(c), s);
        }
        // Server side: wrong chunk data fails, right one passes.
        let e = signer
            .clone()
            .verify_chunk(&Sha256::digest(b"x").into(), sigs[0])
            .unwrap_err();
        assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
        for (c, s) in chunks.iter().zip(sigs) {
            signer.verify_chunk(&Sha256::digest(c).into(), s).unwrap();
        }
    }

    #[test]
    fn sign_round_trip() {
        let now = SystemTime::now();
        let mut h = hm(&[
            ("host", "127.0.0.1:51080"),
            ("content-type", "text/plain"),
            ("x-amz-meta-a", "  two   words "),
            ("user-agent", "test"),
        ]);
        let body = b"hello";
        let sha = hex(&Sha256::digest(body));
        let sig = sign(
            "PUT",
            "/bucket/obj%20%E2%82%AC",
            "tagging&versionId=3",
            &mut h,
            &sha,
            AK,
            SK,
            "us-east-1",
            now,
        );
        assert_eq!(sig.len(), 64);
        let req = Request {
            method: "PUT",
            path: "/bucket/obj%20%E2%82%AC",
            query: "versionId=3&tagging",
            headers: &h,
        };
        match verify(&req, now, true, &secrets).unwrap() {
            Auth::Signed {
                access_key,
                payload: Payload::Sha256(s),
            } => {
                assert_eq!(access_key, AK);
                assert_eq!(hex(&s), sha);
            }
            other => panic!("{other:?}"),
        }
        // user-agent is not signed: changing it is fine.
        let mut h2 = h.clone();
        h2.insert("user-agent", HeaderValue::from_static("other"));
        assert!(
            verify(
                &Request {
                    headers: &h2,
                    ..req
                },
                now,
                true,
                &secrets
            )
            .is_ok()
        );
        // Tampered signed header.
        let mut h3 = h.clone();
        h3.insert("x-amz-meta-a", HeaderValue::from_static("three words"));
        let e = verify(
            &Request {
                headers: &h3,
                ..req
            },
            now,
            true,
            &secrets,
        )
        .unwrap_err();
        assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
        // Whitespace normalisation keeps it valid.
        let mut h4 = h.clone();
        h4.insert("x-amz-meta-a", HeaderValue::from_static("two words"));
        assert!(
            verify(
                &Request {
                    headers: &h4,
                    ..req
                },
                now,
                true,
                &secrets
            )
            .is_ok()
        );
        // Tampered method / query.
        let e = verify(
            &Request {
                method: "POST",
                ..req
            },
            now,
            true,
            &secrets,
        )
        .unwrap_err();
        assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
        let e = verify(
            &Request {
                query: "versionId=4&tagging",
                ..req
            },
            now,
            true,
            &secrets,
        )
        .unwrap_err();
        assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
        // Unknown key / wrong secret.
        let e = verify(&req, now, true, &|_| None).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::InvalidAccessKeyId);
        let e = verify(&req, now, true, &|_| Some("nope".into())).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
        // Skew.
        let e = verify(&req, now + Duration::from_secs(16 * 60), true, &secrets).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::RequestTimeTooSkewed);
        let e = verify(&req, now - Duration::from_secs(16 * 60), true, &secrets).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::RequestTimeTooSkewed);
        assert!(verify(&req, now + Duration::from_secs(14 * 60), true, &secrets).is_ok());
    }

    #[test]
    fn sign_streaming_and_plus_in_query() {
        let now = SystemTime::now();
        let mut h = hm(&[("host", "h:1"), ("content-encoding", "aws-chunked")]);
        let seed = sign(
            "PUT",
            "/b/o",
            "",
            &mut h,
            STREAMING_PAYLOAD_TRAILER,
            AK,
            SK,
            "r1",
            now,
        );
        let req = Request {
            method: "PUT",
            path: "/b/o",
            query: "",
            headers: &h,
        };
        let Auth::Signed {
            payload:
                Payload::Streaming {
                    mut signer,
                    trailer: true,
                },
            ..
        } = verify(&req, now, true, &secrets).unwrap()
        else {
            panic!()
        };
        let amz = h.get("x-amz-date").unwrap().to_str().unwrap();
        let mut c = ChunkSigner::for_client(&seed, SK, "r1", amz);
        let s = c.next_signature(b"abc");
        signer
            .verify_chunk(&Sha256::digest(b"abc").into(), &s)
            .unwrap();
        let s = c.next_signature(b"");
        signer
            .verify_chunk(&Sha256::digest(b"").into(), &s.to_uppercase())
            .unwrap();
        let ts = c.trailer_signature(b"x-amz-checksum-crc32:AAAAAA==\n");
        signer
            .verify_trailer(b"x-amz-checksum-crc32:AAAAAA==\n", &ts)
            .unwrap();

        // A client that sent '+' meaning a space.
        let mut h = hm(&[("host", "h:1")]);
        sign(
            "GET",
            "/b",
            "prefix=a%20b",
            &mut h,
            UNSIGNED_PAYLOAD,
            AK,
            SK,
            "r1",
            now,
        );
        let req = Request {
            method: "GET",
            path: "/b",
            query: "prefix=a+b",
            headers: &h,
        };
        assert!(matches!(
            verify(&req, now, true, &secrets).unwrap(),
            Auth::Signed {
                payload: Payload::Unsigned,
                ..
            }
        ));
    }

    #[test]
    fn required_and_not_required() {
        let now = SystemTime::now();
        let h = hm(&[("host", "h")]);
        let req = Request {
            method: "GET",
            path: "/b/o",
            query: "",
            headers: &h,
        };
        assert_eq!(
            verify(&req, now, true, &secrets).unwrap_err().code,
            S3ErrorCode::AccessDenied
        );
        assert!(matches!(
            verify(&req, now, false, &secrets).unwrap(),
            Auth::Anonymous
        ));

        // Garbage signature, unknown key, ancient date: all fine when not required.
        let h = hm(&[
            ("host", "h"),
            ("x-amz-date", "19990101T000000Z"),
            ("x-amz-content-sha256", STREAMING_PAYLOAD),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=whoever/19990101/nowhere/s3/aws4_request, SignedHeaders=host, Signature=zzz",
            ),
        ]);
        let req = Request { headers: &h, ..req };
        match verify(&req, now, false, &|_| None).unwrap() {
            Auth::Signed {
                access_key,
                payload:
                    Payload::Streaming {
                        mut signer,
                        trailer: false,
                    },
            } => {
                assert_eq!(access_key, "whoever");
                assert!(!signer.verifies());
                signer.verify_chunk(&[0; 32], "garbage").unwrap();
            }
            other => panic!("{other:?}"),
        }
        let e = verify(&req, now, true, &|_| Some("x".into())).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::RequestTimeTooSkewed);

        // Malformed header.
        let h = hm(&[
            ("host", "h"),
            ("x-amz-date", &format_amz_date(now)),
            ("x-amz-content-sha256", UNSIGNED_PAYLOAD),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=ak/2013/us-east-1/s3",
            ),
        ]);
        let req = Request { headers: &h, ..req };
        assert_eq!(
            verify(&req, now, true, &secrets).unwrap_err().code,
            S3ErrorCode::AuthorizationHeaderMalformed
        );
        assert!(matches!(
            verify(&req, now, false, &secrets).unwrap(),
            Auth::Signed {
                payload: Payload::Unsigned,
                ..
            }
        ));
        // Bad x-amz-content-sha256.
        let mut h2 = h.clone();
        h2.insert("x-amz-content-sha256", HeaderValue::from_static("nope"));
        assert_eq!(
            verify(
                &Request {
                    headers: &h2,
                    ..req
                },
                now,
                false,
                &secrets
            )
            .unwrap_err()
            .code,
            S3ErrorCode::InvalidArgument
        );
        // Credential date differs from x-amz-date.
        let mut h3 = h.clone();
        h3.insert(
            "authorization",
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20000101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
            ),
        );
        assert_eq!(
            verify(
                &Request {
                    headers: &h3,
                    ..req
                },
                now,
                true,
                &secrets
            )
            .unwrap_err()
            .code,
            S3ErrorCode::AuthorizationHeaderMalformed
        );
        // Signature V2 is not supported when required.
        let mut h4 = h.clone();
        h4.insert(
            "authorization",
            HeaderValue::from_static("AWS AKIAIOSFODNN7EXAMPLE:abc="),
        );
        assert_eq!(
            verify(
                &Request {
                    headers: &h4,
                    ..req
                },
                now,
                true,
                &secrets
            )
            .unwrap_err()
            .code,
            S3ErrorCode::InvalidRequest
        );
        match verify(
            &Request {
                headers: &h4,
                ..req
            },
            now,
            false,
            &secrets,
        )
        .unwrap()
        {
            Auth::Signed { access_key, .. } => assert_eq!(access_key, AK),
            other => panic!("{other:?}"),
        }
        // payload_of for anonymous chunked bodies.
        let h5 = hm(&[("x-amz-content-sha256", STREAMING_UNSIGNED_PAYLOAD_TRAILER)]);
        assert!(matches!(
            payload_of(&h5).unwrap(),
            Payload::StreamingUnsignedTrailer
        ));
        assert!(payload_of(&h5).unwrap().is_chunked());
    }
}
