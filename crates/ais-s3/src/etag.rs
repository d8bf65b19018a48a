//! ETags and payload checks: MD5 ETags (single and multipart form), `Content-MD5`,
//! `x-amz-checksum-*` (CRC-32, CRC-32C, CRC-64/NVME, SHA-1, SHA-256) and the SigV4 payload
//! SHA-256 — all computed in one pass over the body by [`PayloadCheck`].

use crate::{S3Error, S3ErrorCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use crc::{CRC_32_ISO_HDLC, CRC_64_NVME, Crc, Table};
use http::HeaderMap;
use md5::Digest as _;

static CRC32: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISO_HDLC);
static CRC64NVME: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_NVME);

/// Lowercase hex of `b`.
pub fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(D[(x >> 4) as usize] as char);
        s.push(D[(x & 15) as usize] as char);
    }
    s
}

/// Parses lowercase or uppercase hex of exactly `N` bytes.
pub fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let v = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (v(b[2 * i])? << 4) | v(b[2 * i + 1])?;
    }
    Some(out)
}

/// The ETag of a multipart object: MD5 over the parts' binary MD5s, `-` and the part count.
/// Part ETags that are not 32 hex digits are hashed as given.
pub fn multipart_etag<'a>(part_etags: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = md5::Md5::new();
    let mut n = 0usize;
    for e in part_etags {
        match unhex::<16>(e) {
            Some(b) => h.update(b),
            None => h.update(e.as_bytes()),
        }
        n += 1;
    }
    format!("{}-{n}", hex(&h.finalize()))
}

/// Decodes `Content-MD5` (base64 of 16 bytes).
pub fn content_md5(v: &str) -> Result<[u8; 16], S3Error> {
    B64.decode(v.trim())
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| {
            S3Error::new(
                S3ErrorCode::InvalidDigest,
                "The Content-MD5 you specified was invalid",
            )
        })
}

/// An `x-amz-checksum-*` algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumAlgo {
    /// CRC-32 (ISO-HDLC), 4 bytes big-endian.
    Crc32,
    /// CRC-32C (Castagnoli), 4 bytes big-endian.
    Crc32c,
    /// CRC-64/NVME, 8 bytes big-endian.
    Crc64Nvme,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl ChecksumAlgo {
    /// All algorithms.
    pub const ALL: [ChecksumAlgo; 5] = [
        ChecksumAlgo::Crc32,
        ChecksumAlgo::Crc32c,
        ChecksumAlgo::Crc64Nvme,
        ChecksumAlgo::Sha1,
        ChecksumAlgo::Sha256,
    ];

    /// The header carrying the value (`x-amz-checksum-crc32` ...).
    pub fn header(self) -> &'static str {
        match self {
            ChecksumAlgo::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgo::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgo::Crc64Nvme => "x-amz-checksum-crc64nvme",
            ChecksumAlgo::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgo::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The name as in `x-amz-checksum-algorithm` (`CRC32` ...).
    pub fn name(self) -> &'static str {
        match self {
            ChecksumAlgo::Crc32 => "CRC32",
            ChecksumAlgo::Crc32c => "CRC32C",
            ChecksumAlgo::Crc64Nvme => "CRC64NVME",
            ChecksumAlgo::Sha1 => "SHA1",
            ChecksumAlgo::Sha256 => "SHA256",
        }
    }

    /// Parses a name (`CRC32`, case-insensitive).
    pub fn parse(s: &str) -> Result<ChecksumAlgo, S3Error> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                S3Error::new(
                    S3ErrorCode::InvalidRequest,
                    format!("unsupported checksum algorithm {s:?}"),
                )
            })
    }
}

enum AlgoHasher {
    Crc32(crc::Digest<'static, u32, Table<16>>),
    Crc32c(u32),
    Crc64(crc::Digest<'static, u64, Table<16>>),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl AlgoHasher {
    fn new(a: ChecksumAlgo) -> Self {
        match a {
            ChecksumAlgo::Crc32 => AlgoHasher::Crc32(CRC32.digest()),
            ChecksumAlgo::Crc32c => AlgoHasher::Crc32c(0),
            ChecksumAlgo::Crc64Nvme => AlgoHasher::Crc64(CRC64NVME.digest()),
            ChecksumAlgo::Sha1 => AlgoHasher::Sha1(sha1::Sha1::new()),
            ChecksumAlgo::Sha256 => AlgoHasher::Sha256(sha2::Sha256::new()),
        }
    }

    fn update(&mut self, b: &[u8]) {
        match self {
            AlgoHasher::Crc32(d) => d.update(b),
            AlgoHasher::Crc32c(c) => *c = crc32c::crc32c_append(*c, b),
            AlgoHasher::Crc64(d) => d.update(b),
            AlgoHasher::Sha1(h) => h.update(b),
            AlgoHasher::Sha256(h) => h.update(b),
        }
    }

    fn finish_b64(self) -> String {
        match self {
            AlgoHasher::Crc32(d) => B64.encode(d.finalize().to_be_bytes()),
            AlgoHasher::Crc32c(c) => B64.encode(c.to_be_bytes()),
            AlgoHasher::Crc64(d) => B64.encode(d.finalize().to_be_bytes()),
            AlgoHasher::Sha1(h) => B64.encode(h.finalize()),
            AlgoHasher::Sha256(h) => B64.encode(h.finalize()),
        }
    }
}

/// The `x-amz-checksum-*` a request carries in its headers, or announces for its trailer
/// (`x-amz-trailer`, or `x-amz-sdk-checksum-algorithm` with aws-chunked bodies).
pub fn requested_checksum(
    h: &HeaderMap,
) -> Result<Option<(ChecksumAlgo, Option<String>)>, S3Error> {
    for a in ChecksumAlgo::ALL {
        if let Some(v) = h.get(a.header()) {
            let v = v.to_str().map_err(|_| {
                S3Error::new(
                    S3ErrorCode::InvalidHeader,
                    format!("invalid {}", a.header()),
                )
            })?;
            return Ok(Some((a, Some(v.trim().to_string()))));
        }
    }
    if let Some(t) = h.get("x-amz-trailer").and_then(|v| v.to_str().ok()) {
        let t = t.trim().to_ascii_lowercase();
        let a = ChecksumAlgo::ALL
            .into_iter()
            .find(|a| a.header() == t)
            .ok_or_else(|| {
                S3Error::new(
                    S3ErrorCode::InvalidRequest,
                    format!("unsupported trailer {t:?}"),
                )
            })?;
        return Ok(Some((a, None)));
    }
    Ok(None)
}

/// Everything a PUT body must satisfy, checked in one pass: the MD5 (ETag; `Content-MD5`),
/// the SigV4 payload SHA-256, and an `x-amz-checksum-*` value.
pub struct PayloadCheck {
    md5: md5::Md5,
    content_md5: Option<[u8; 16]>,
    sha256: Option<(sha2::Sha256, [u8; 32])>,
    algo: Option<(ChecksumAlgo, AlgoHasher, Option<String>)>,
    len: u64,
}

/// What a verified body hashed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadSums {
    /// MD5, lowercase hex (the S3 ETag of a single PUT).
    pub md5_hex: String,
    /// The `x-amz-checksum-*` algorithm and its base64 value, if one was requested.
    pub checksum: Option<(ChecksumAlgo, String)>,
    /// Bytes hashed.
    pub len: u64,
}

impl PayloadCheck {
    /// `content_md5`: from the header; `payload_sha256`: from SigV4 (`Payload::Sha256`);
    /// `checksum`: from [`requested_checksum`] (value `None` = expected in a trailer).
    pub fn new(
        content_md5: Option<[u8; 16]>,
        payload_sha256: Option<[u8; 32]>,
        checksum: Option<(ChecksumAlgo, Option<String>)>,
    ) -> Self {
        PayloadCheck {
            md5: md5::Md5::new(),
            content_md5,
            sha256: payload_sha256.map(|want| (sha2::Sha256::new(), want)),
            algo: checksum.map(|(a, v)| (a, AlgoHasher::new(a), v)),
            len: 0,
        }
    }

    /// Hashes the next piece of the body.
    pub fn update(&mut self, b: &[u8]) {
        self.md5.update(b);
        if let Some((h, _)) = &mut self.sha256 {
            h.update(b);
        }
        if let Some((_, h, _)) = &mut self.algo {
            h.update(b);
        }
        self.len += b.len() as u64;
    }

    /// At the end of the body: checks every expectation. `trailers` are those of an
    /// aws-chunked body (lowercase names).
    pub fn finish(self, trailers: &[(String, String)]) -> Result<PayloadSums, S3Error> {
        let md5 = self.md5.finalize();
        if let Some(want) = self.content_md5
            && want[..] != md5[..]
        {
            return Err(S3Error::new(
                S3ErrorCode::BadDigest,
                "The Content-MD5 you specified did not match what we received",
            ));
        }
        if let Some((h, want)) = self.sha256
            && h.finalize()[..] != want[..]
        {
            return Err(S3Error::new(
                S3ErrorCode::XAmzContentSHA256Mismatch,
                "The provided 'x-amz-content-sha256' header does not match what was computed",
            ));
        }
        let checksum = match self.algo {
            None => None,
            Some((a, h, v)) => {
                let got = h.finish_b64();
                let want = match v {
                    Some(v) => Some(v),
                    None => Some(
                        trailers
                            .iter()
                            .find(|(k, _)| k == a.header())
                            .map(|(_, v)| v.trim().to_string())
                            .ok_or_else(|| {
                                S3Error::new(
                                    S3ErrorCode::InvalidRequest,
                                    format!("the announced trailer {} is missing", a.header()),
                                )
                            })?,
                    ),
                };
                match want {
                    Some(w) if w != got => {
                        return Err(S3Error::new(
                            S3ErrorCode::XAmzChecksumMismatch,
                            format!(
                                "Value for {} header is invalid: computed {got}, given {w}",
                                a.header()
                            ),
                        ));
                    }
                    _ => Some((a, got)),
                }
            }
        };
        Ok(PayloadSums {
            md5_hex: hex(&md5),
            checksum,
            len: self.len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hm(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn etags_and_digests() {
        // md5("") and the multipart form over two parts.
        let mut p = PayloadCheck::new(None, None, None);
        p.update(b"");
        assert_eq!(
            p.finish(&[]).unwrap().md5_hex,
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        let e = multipart_etag([
            "d41d8cd98f00b204e9800998ecf8427e",
            "d41d8cd98f00b204e9800998ecf8427e",
        ]);
        assert!(e.ends_with("-2") && e.len() == 34, "{e}");
        assert_eq!(content_md5("1B2M2Y8AsgTpgAmY7PhCfg==").unwrap()[0], 0xd4);
        assert_eq!(
            content_md5("xx").unwrap_err().code,
            S3ErrorCode::InvalidDigest
        );
        assert_eq!(unhex::<2>("0aFf"), Some([0x0a, 0xff]));
        assert_eq!(unhex::<2>("0aF"), None);
    }

    #[test]
    fn checks() {
        // Known values for "hello": crc32 0x3610a686, crc32c 0x9a71bb4c, sha256 2cf24d...
        let cases = [
            ("x-amz-checksum-crc32", "NhCmhg=="),
            ("x-amz-checksum-crc32c", "mnG7TA=="),
            (
                "x-amz-checksum-sha256",
                "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
            ),
            ("x-amz-checksum-sha1", "qvTGHdzF6KLavt4PO0gs2a6pQ00="),
        ];
        for (h, v) in cases {
            let req = requested_checksum(&hm(&[(h, v)])).unwrap();
            let mut p = PayloadCheck::new(None, None, req.clone());
            p.update(b"hel");
            p.update(b"lo");
            let s = p.finish(&[]).unwrap();
            assert_eq!(s.checksum.unwrap().1, v, "{h}");
            let mut bad = PayloadCheck::new(None, None, req);
            bad.update(b"hellO");
            assert_eq!(
                bad.finish(&[]).unwrap_err().code,
                S3ErrorCode::XAmzChecksumMismatch
            );
        }
        // CRC-64/NVME check value of "123456789" is 0xae8b14860a799888.
        let want = B64.encode(0xae8b14860a799888u64.to_be_bytes());
        let mut p = PayloadCheck::new(None, None, Some((ChecksumAlgo::Crc64Nvme, None)));
        p.update(b"123456789");
        let tr = vec![("x-amz-checksum-crc64nvme".to_string(), want.clone())];
        assert_eq!(p.finish(&tr).unwrap().checksum.unwrap().1, want);
        // A trailer announced but never sent is an error, not an unchecked upload.
        let mut p = PayloadCheck::new(None, None, Some((ChecksumAlgo::Crc64Nvme, None)));
        p.update(b"123456789");
        assert_eq!(p.finish(&[]).unwrap_err().code, S3ErrorCode::InvalidRequest);
        // Trailer-announced checksum verified from the trailers.
        let req = requested_checksum(&hm(&[("x-amz-trailer", "x-amz-checksum-crc32")])).unwrap();
        let mut p = PayloadCheck::new(None, None, req.clone());
        p.update(b"hello");
        let tr = vec![("x-amz-checksum-crc32".to_string(), "NhCmhg==".to_string())];
        assert!(p.finish(&tr).is_ok());
        let mut p = PayloadCheck::new(None, None, req);
        p.update(b"hello!");
        assert!(p.finish(&tr).is_err());
        // Content-MD5 and payload SHA-256.
        let md5 = content_md5("XUFAKrxLKna5cZ2REBfFkg==").unwrap(); // md5("hello")
        let sha = unhex::<32>("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
            .unwrap();
        let mut p = PayloadCheck::new(Some(md5), Some(sha), None);
        p.update(b"hello");
        assert_eq!(
            p.finish(&[]).unwrap().md5_hex,
            "5d41402abc4b2a76b9719d911017c592"
        );
        let mut p = PayloadCheck::new(Some(md5), None, None);
        p.update(b"hellx");
        assert_eq!(p.finish(&[]).unwrap_err().code, S3ErrorCode::BadDigest);
        let mut p = PayloadCheck::new(None, Some(sha), None);
        p.update(b"hellx");
        assert_eq!(
            p.finish(&[]).unwrap_err().code,
            S3ErrorCode::XAmzContentSHA256Mismatch
        );
    }
}
