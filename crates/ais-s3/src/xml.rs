//! S3 XML: rendering replies and parsing the few request bodies S3 has.
//!
//! Replies are written with a small escaping [`Writer`]; request bodies (DeleteObjects,
//! CompleteMultipartUpload, PutBucketVersioning) are parsed into a bounded element tree.
//! Callers bound the body size before parsing ([`MAX_BODY`]).

use crate::{S3Error, S3ErrorCode};

/// The namespace of S3 replies.
pub const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
/// Largest XML request body accepted (S3 allows 1000 keys of up to 1 KiB in DeleteObjects).
pub const MAX_BODY: usize = 2 << 20;
/// Most keys in one DeleteObjects request.
pub const MAX_DELETE_KEYS: usize = 1000;
/// Most parts in one multipart upload.
pub const MAX_PARTS: u32 = 10_000;

const MAX_DEPTH: usize = 8;
const MAX_ELEMENTS: usize = 50_000;

/// Appends `s` with XML escaping to `out`.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry literally: as character references.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                out.push_str(&format!("&#{};", c as u32));
            }
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// A minimal XML writer: declaration, nested elements, escaped text.
#[derive(Debug)]
pub struct Writer {
    out: String,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    /// A document with the XML declaration written.
    pub fn new() -> Self {
        Writer {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        }
    }

    /// `<tag>`.
    pub fn open(&mut self, tag: &str) {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
    }

    /// `<tag xmlns="NS">`.
    pub fn open_ns(&mut self, tag: &str) {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push_str(" xmlns=\"");
        self.out.push_str(NS);
        self.out.push_str("\">");
    }

    /// `</tag>`.
    pub fn close(&mut self, tag: &str) {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
    }

    /// `<tag>text</tag>`, text escaped.
    pub fn elem(&mut self, tag: &str, text: &str) {
        self.open(tag);
        escape_into(&mut self.out, text);
        self.close(tag);
    }

    /// The document.
    pub fn finish(self) -> String {
        self.out
    }
}

/// One bucket of a ListBuckets reply.
#[derive(Debug, Clone)]
pub struct BucketEntry {
    /// Bucket name.
    pub name: String,
    /// Creation time, ISO 8601 (`2006-01-02T15:04:05.000Z`).
    pub created: String,
}

/// `ListAllMyBucketsResult`.
pub fn list_buckets(buckets: &[BucketEntry]) -> String {
    let mut x = Writer::new();
    x.open_ns("ListAllMyBucketsResult");
    x.open("Owner");
    x.elem("ID", "1");
    x.elem("DisplayName", "ais");
    x.close("Owner");
    x.open("Buckets");
    for b in buckets {
        x.open("Bucket");
        x.elem("Name", &b.name);
        x.elem("CreationDate", &b.created);
        x.close("Bucket");
    }
    x.close("Buckets");
    x.close("ListAllMyBucketsResult");
    x.finish()
}

/// One object of a listing.
#[derive(Debug, Clone)]
pub struct ObjectEntry {
    /// Key.
    pub key: String,
    /// Last modified, ISO 8601.
    pub last_modified: String,
    /// ETag without quotes (may be empty).
    pub etag: String,
    /// Size in bytes.
    pub size: u64,
}

/// A ListObjects (v1 or v2) reply.
#[derive(Debug, Clone, Default)]
pub struct ListResult {
    /// Bucket name.
    pub bucket: String,
    /// `prefix` as requested.
    pub prefix: String,
    /// `delimiter` as requested (empty: none).
    pub delimiter: String,
    /// `max-keys` in effect.
    pub max_keys: usize,
    /// Keys (and prefixes) are URL-encoded (`encoding-type=url`).
    pub url_encoded: bool,
    /// More entries follow.
    pub truncated: bool,
    /// Objects in key order.
    pub contents: Vec<ObjectEntry>,
    /// Common prefixes (each ends with the delimiter).
    pub common_prefixes: Vec<String>,
    /// V2: the request's continuation token, the next token, `start-after`, `KeyCount`.
    /// V1: `marker` in `start_after`, `NextMarker` in `next_token`.
    pub v2: bool,
    /// V2: `continuation-token` echoed.
    pub continuation_token: String,
    /// V2: `NextContinuationToken`; V1: `NextMarker`.
    pub next_token: String,
    /// V2: `start-after`; V1: `marker`.
    pub start_after: String,
}

/// URL-encodes a key for `encoding-type=url` (as S3 does: like a query value, `/` kept).
pub fn url_encode_key(k: &str) -> String {
    let mut s = String::with_capacity(k.len());
    for b in k.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

impl ListResult {
    /// `ListBucketResult` XML.
    pub fn to_xml(&self) -> String {
        let enc = |s: &str| {
            if self.url_encoded {
                url_encode_key(s)
            } else {
                s.to_string()
            }
        };
        let mut x = Writer::new();
        x.open_ns("ListBucketResult");
        x.elem("Name", &self.bucket);
        x.elem("Prefix", &enc(&self.prefix));
        if self.v2 {
            if !self.continuation_token.is_empty() {
                x.elem("ContinuationToken", &self.continuation_token);
            }
            if !self.next_token.is_empty() {
                x.elem("NextContinuationToken", &self.next_token);
            }
            if !self.start_after.is_empty() {
                x.elem("StartAfter", &enc(&self.start_after));
            }
            x.elem(
                "KeyCount",
                &(self.contents.len() + self.common_prefixes.len()).to_string(),
            );
        } else {
            x.elem("Marker", &enc(&self.start_after));
            if !self.next_token.is_empty() {
                x.elem("NextMarker", &enc(&self.next_token));
            }
        }
        x.elem("MaxKeys", &self.max_keys.to_string());
        if !self.delimiter.is_empty() {
            x.elem("Delimiter", &enc(&self.delimiter));
        }
        if self.url_encoded {
            x.elem("EncodingType", "url");
        }
        x.elem("IsTruncated", if self.truncated { "true" } else { "false" });
        for o in &self.contents {
            x.open("Contents");
            x.elem("Key", &enc(&o.key));
            x.elem("LastModified", &o.last_modified);
            if !o.etag.is_empty() {
                x.elem("ETag", &format!("\"{}\"", o.etag));
            }
            x.elem("Size", &o.size.to_string());
            x.elem("StorageClass", "STANDARD");
            x.close("Contents");
        }
        for p in &self.common_prefixes {
            x.open("CommonPrefixes");
            x.elem("Prefix", &enc(p));
            x.close("CommonPrefixes");
        }
        x.close("ListBucketResult");
        x.finish()
    }
}

/// `CopyObjectResult` (also `CopyPartResult` with `tag`).
pub fn copy_result(tag: &str, etag: &str, last_modified: &str) -> String {
    let mut x = Writer::new();
    x.open_ns(tag);
    x.elem("LastModified", last_modified);
    x.elem("ETag", &format!("\"{etag}\""));
    x.close(tag);
    x.finish()
}

/// `InitiateMultipartUploadResult`.
pub fn initiate_multipart(bucket: &str, key: &str, upload_id: &str) -> String {
    let mut x = Writer::new();
    x.open_ns("InitiateMultipartUploadResult");
    x.elem("Bucket", bucket);
    x.elem("Key", key);
    x.elem("UploadId", upload_id);
    x.close("InitiateMultipartUploadResult");
    x.finish()
}

/// `CompleteMultipartUploadResult`.
pub fn complete_multipart(location: &str, bucket: &str, key: &str, etag: &str) -> String {
    let mut x = Writer::new();
    x.open_ns("CompleteMultipartUploadResult");
    x.elem("Location", location);
    x.elem("Bucket", bucket);
    x.elem("Key", key);
    x.elem("ETag", &format!("\"{etag}\""));
    x.close("CompleteMultipartUploadResult");
    x.finish()
}

/// One part of a ListParts reply.
#[derive(Debug, Clone)]
pub struct PartEntry {
    /// Part number (1..=10000).
    pub number: u32,
    /// ETag without quotes.
    pub etag: String,
    /// Size in bytes.
    pub size: u64,
    /// Upload time, ISO 8601.
    pub last_modified: String,
}

/// `ListPartsResult`.
#[allow(clippy::too_many_arguments)]
pub fn list_parts(
    bucket: &str,
    key: &str,
    upload_id: &str,
    marker: u32,
    max_parts: usize,
    truncated: bool,
    parts: &[PartEntry],
) -> String {
    let mut x = Writer::new();
    x.open_ns("ListPartsResult");
    x.elem("Bucket", bucket);
    x.elem("Key", key);
    x.elem("UploadId", upload_id);
    x.elem("PartNumberMarker", &marker.to_string());
    if let Some(last) = parts.last() {
        x.elem("NextPartNumberMarker", &last.number.to_string());
    }
    x.elem("MaxParts", &max_parts.to_string());
    x.elem("IsTruncated", if truncated { "true" } else { "false" });
    x.elem("StorageClass", "STANDARD");
    for p in parts {
        x.open("Part");
        x.elem("PartNumber", &p.number.to_string());
        x.elem("LastModified", &p.last_modified);
        x.elem("ETag", &format!("\"{}\"", p.etag));
        x.elem("Size", &p.size.to_string());
        x.close("Part");
    }
    x.close("ListPartsResult");
    x.finish()
}

/// One upload of a ListMultipartUploads reply.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UploadEntry {
    /// Object key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// Start time, ISO 8601.
    pub initiated: String,
}

/// `ListMultipartUploadsResult` (entries sorted by key, then upload id).
pub fn list_uploads(bucket: &str, prefix: &str, max: usize, uploads: &[UploadEntry]) -> String {
    let mut x = Writer::new();
    x.open_ns("ListMultipartUploadsResult");
    x.elem("Bucket", bucket);
    x.elem("KeyMarker", "");
    x.elem("UploadIdMarker", "");
    x.elem("Prefix", prefix);
    x.elem("MaxUploads", &max.to_string());
    x.elem(
        "IsTruncated",
        if uploads.len() > max { "true" } else { "false" },
    );
    for u in uploads.iter().take(max) {
        x.open("Upload");
        x.elem("Key", &u.key);
        x.elem("UploadId", &u.upload_id);
        x.elem("StorageClass", "STANDARD");
        x.elem("Initiated", &u.initiated);
        x.close("Upload");
    }
    x.close("ListMultipartUploadsResult");
    x.finish()
}

/// `DeleteResult`: deleted keys (omitted when `quiet`) and per-key errors.
pub fn delete_result(quiet: bool, deleted: &[String], errors: &[(String, S3Error)]) -> String {
    let mut x = Writer::new();
    x.open_ns("DeleteResult");
    if !quiet {
        for k in deleted {
            x.open("Deleted");
            x.elem("Key", k);
            x.close("Deleted");
        }
    }
    for (k, e) in errors {
        x.open("Error");
        x.elem("Key", k);
        x.elem("Code", e.code.as_str());
        x.elem("Message", &e.message);
        x.close("Error");
    }
    x.close("DeleteResult");
    x.finish()
}

/// `VersioningConfiguration`; `None` = never enabled (empty element, as S3 answers).
pub fn versioning(enabled: Option<bool>) -> String {
    let mut x = Writer::new();
    x.open_ns("VersioningConfiguration");
    if let Some(e) = enabled {
        x.elem("Status", if e { "Enabled" } else { "Suspended" });
    }
    x.close("VersioningConfiguration");
    x.finish()
}

/// `AccessControlPolicy`: the owner with `FULL_CONTROL`.
pub fn owner_full_control() -> String {
    let mut x = Writer::new();
    x.open_ns("AccessControlPolicy");
    x.open("Owner");
    x.elem("ID", "1");
    x.elem("DisplayName", "ais");
    x.close("Owner");
    x.open("AccessControlList");
    x.out.push_str(
        "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">",
    );
    x.elem("ID", "1");
    x.elem("DisplayName", "ais");
    x.close("Grantee");
    x.elem("Permission", "FULL_CONTROL");
    x.close("Grant");
    x.close("AccessControlList");
    x.close("AccessControlPolicy");
    x.finish()
}

/// `LocationConstraint` (GetBucketLocation).
pub fn location(region: &str) -> String {
    let mut x = Writer::new();
    x.open_ns("LocationConstraint");
    escape_into(&mut x.out, region);
    x.close("LocationConstraint");
    x.finish()
}

/// An element of a parsed request body: local name (namespace prefix dropped), text, children.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Elem {
    /// Local name.
    pub name: String,
    /// Concatenated text content (entities resolved).
    pub text: String,
    /// Child elements in order.
    pub children: Vec<Elem>,
}

impl Elem {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Elem> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The text of the first child named `name`, trimmed.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }
}

fn malformed(why: impl std::fmt::Display) -> S3Error {
    S3Error::new(
        S3ErrorCode::MalformedXML,
        format!(
            "The XML you provided was not well-formed or did not validate against our published schema: {why}"
        ),
    )
}

/// Parses a request body into its root element, within depth and element-count bounds.
pub fn parse(body: &[u8]) -> Result<Elem, S3Error> {
    use quick_xml::events::Event;
    if body.len() > MAX_BODY {
        return Err(S3Error::new(
            S3ErrorCode::MaxMessageLengthExceeded,
            format!("request body larger than {MAX_BODY} bytes"),
        ));
    }
    let s = std::str::from_utf8(body).map_err(|_| malformed("not UTF-8"))?;
    let mut r = quick_xml::Reader::from_str(s);
    let mut stack: Vec<Elem> = Vec::new();
    let mut root: Option<Elem> = None;
    let mut count = 0usize;
    let name_of = |raw: &[u8]| -> Result<String, S3Error> {
        let n = std::str::from_utf8(raw).map_err(|_| malformed("bad element name"))?;
        Ok(n.rsplit(':').next().unwrap_or(n).to_string())
    };
    loop {
        let ev = r.read_event().map_err(malformed)?;
        match ev {
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(malformed("content after the root element"));
            }
            Event::Start(e) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(malformed("document too deep or too large"));
                }
                stack.push(Elem {
                    name: name_of(e.local_name().as_ref())?,
                    ..Default::default()
                });
            }
            Event::Empty(e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(malformed("document too large"));
                }
                let el = Elem {
                    name: name_of(e.local_name().as_ref())?,
                    ..Default::default()
                };
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(e) => {
                let el = stack.pop().ok_or_else(|| malformed("unbalanced end tag"))?;
                if el.name != name_of(e.local_name().as_ref())? {
                    return Err(malformed("mismatched end tag"));
                }
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let txt = t.decode().map_err(malformed)?;
                match stack.last_mut() {
                    Some(p) => p.text.push_str(&txt),
                    None if txt.trim().is_empty() => {}
                    None => return Err(malformed("text outside the root element")),
                }
            }
            Event::CData(t) => {
                let txt = t.decode().map_err(malformed)?;
                if let Some(p) = stack.last_mut() {
                    p.text.push_str(&txt);
                }
            }
            Event::GeneralRef(g) => {
                let ch = if g.is_char_ref() {
                    g.resolve_char_ref()
                        .map_err(malformed)?
                        .map(String::from)
                        .ok_or_else(|| malformed("bad character reference"))?
                } else {
                    let n = g.decode().map_err(malformed)?;
                    quick_xml::escape::resolve_xml_entity(&n)
                        .ok_or_else(|| malformed(format!("unknown entity &{n};")))?
                        .to_string()
                };
                if let Some(p) = stack.last_mut() {
                    p.text.push_str(&ch);
                }
            }
            Event::DocType(_) => return Err(malformed("DTDs are not allowed")),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed("unexpected end of document"));
    }
    root.ok_or_else(|| malformed("empty document"))
}

/// A DeleteObjects request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRequest {
    /// Keys to delete, in request order.
    pub keys: Vec<String>,
    /// Report only errors.
    pub quiet: bool,
}

/// Parses `<Delete><Quiet/>?<Object><Key/></Object>*</Delete>` (1..=1000 keys).
pub fn parse_delete(body: &[u8]) -> Result<DeleteRequest, S3Error> {
    let root = parse(body)?;
    if root.name != "Delete" {
        return Err(malformed("root element must be Delete"));
    }
    let quiet = root.child_text("Quiet").is_some_and(|q| q == "true");
    let mut keys = Vec::new();
    for o in root.children.iter().filter(|c| c.name == "Object") {
        let k = o
            .child("Key")
            .ok_or_else(|| malformed("Object without Key"))?;
        keys.push(k.text.clone());
    }
    if keys.is_empty() || keys.len() > MAX_DELETE_KEYS {
        return Err(malformed(format!(
            "Delete must list 1 to {MAX_DELETE_KEYS} objects"
        )));
    }
    Ok(DeleteRequest { keys, quiet })
}

/// A part as listed in CompleteMultipartUpload: number and ETag (quotes removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    /// Part number.
    pub number: u32,
    /// ETag, unquoted.
    pub etag: String,
}

/// Parses `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>+</...>`; parts must be
/// in ascending order.
pub fn parse_complete(body: &[u8]) -> Result<Vec<CompletedPart>, S3Error> {
    let root = parse(body)?;
    if root.name != "CompleteMultipartUpload" {
        return Err(malformed("root element must be CompleteMultipartUpload"));
    }
    let mut parts = Vec::new();
    for p in root.children.iter().filter(|c| c.name == "Part") {
        let number: u32 = p
            .child_text("PartNumber")
            .and_then(|n| n.parse().ok())
            .filter(|n| (1..=MAX_PARTS).contains(n))
            .ok_or_else(|| malformed("Part needs a PartNumber in 1..=10000"))?;
        let etag = p
            .child_text("ETag")
            .ok_or_else(|| malformed("Part without ETag"))?
            .trim_matches('"')
            .to_string();
        if let Some(prev) = parts.last().map(|x: &CompletedPart| x.number)
            && number <= prev
        {
            return Err(S3Error::new(
                S3ErrorCode::InvalidPartOrder,
                "The list of parts was not in ascending order. Parts must be ordered by part number.",
            ));
        }
        parts.push(CompletedPart { number, etag });
    }
    if parts.is_empty() {
        return Err(malformed("CompleteMultipartUpload lists no parts"));
    }
    Ok(parts)
}

/// Parses `<VersioningConfiguration><Status>Enabled|Suspended</Status>`: `Some(true)` for
/// Enabled, `Some(false)` for Suspended, `None` when absent.
pub fn parse_versioning(body: &[u8]) -> Result<Option<bool>, S3Error> {
    let root = parse(body)?;
    if root.name != "VersioningConfiguration" {
        return Err(malformed("root element must be VersioningConfiguration"));
    }
    match root.child_text("Status") {
        None => Ok(None),
        Some("Enabled") => Ok(Some(true)),
        Some("Suspended") => Ok(Some(false)),
        Some(s) => Err(malformed(format!("invalid versioning status {s:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_bodies() {
        let b = br#"<?xml version="1.0" encoding="UTF-8"?>
<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a&amp;b</Key></Object>
<Object><Key>d/&#x4e2d;.txt</Key><VersionId>x</VersionId></Object><Quiet>true</Quiet></Delete>"#;
        let d = parse_delete(b).unwrap();
        assert_eq!(
            d.keys,
            vec!["a&b".to_string(), "d/\u{4e2d}.txt".to_string()]
        );
        assert!(d.quiet);
        for bad in [
            &b"<Delete>"[..],
            b"<Delete></Delete>",
            b"<Delete><Object></Object></Delete>",
            b"<Other/>",
            b"not xml",
            b"<Delete><Object><Key>a</Key></Object></Delete><x/>",
            b"<!DOCTYPE x [<!ENTITY a 'b'>]><Delete/>",
            b"<Delete><Object><Key>&bogus;</Key></Object></Delete>",
            b"",
        ] {
            let e = parse_delete(bad).unwrap_err();
            assert_eq!(
                e.code,
                S3ErrorCode::MalformedXML,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let mut many = String::from("<Delete>");
        for i in 0..1001 {
            many.push_str(&format!("<Object><Key>{i}</Key></Object>"));
        }
        many.push_str("</Delete>");
        assert!(parse_delete(many.as_bytes()).is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(deep.as_bytes()).is_err());
        let big = vec![b' '; MAX_BODY + 1];
        assert_eq!(
            parse(&big).unwrap_err().code,
            S3ErrorCode::MaxMessageLengthExceeded
        );
    }

    #[test]
    fn complete_bodies() {
        let b = br#"<CompleteMultipartUpload><Part><ETag>"aa"</ETag><PartNumber>1</PartNumber></Part>
<Part><PartNumber>3</PartNumber><ETag>bb</ETag><ChecksumCRC32>x</ChecksumCRC32></Part></CompleteMultipartUpload>"#;
        let p = parse_complete(b).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].number, p[0].etag.as_str()), (1, "aa"));
        assert_eq!((p[1].number, p[1].etag.as_str()), (3, "bb"));
        let unordered = b"<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>a</ETag></Part><Part><PartNumber>1</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>";
        assert_eq!(
            parse_complete(unordered).unwrap_err().code,
            S3ErrorCode::InvalidPartOrder
        );
        assert!(parse_complete(b"<CompleteMultipartUpload/>").is_err());
    }

    #[test]
    fn versioning_bodies() {
        let on = br#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#;
        assert_eq!(parse_versioning(on).unwrap(), Some(true));
        assert!(versioning(Some(false)).contains("<Status>Suspended</Status>"));
        assert!(!versioning(None).contains("Status"));
    }

    #[test]
    fn listing_xml() {
        let l = ListResult {
            bucket: "b".into(),
            prefix: "d ir/".into(),
            delimiter: "/".into(),
            max_keys: 2,
            url_encoded: true,
            truncated: true,
            contents: vec![ObjectEntry {
                key: "d ir/a+b".into(),
                last_modified: "2026-01-01T00:00:00.000Z".into(),
                etag: "abc".into(),
                size: 3,
            }],
            common_prefixes: vec!["d ir/sub/".into()],
            v2: true,
            next_token: "tok".into(),
            ..Default::default()
        };
        let x = l.to_xml();
        assert!(x.contains("<Key>d%20ir/a%2Bb</Key>"), "{x}");
        assert!(x.contains("<Prefix>d%20ir/sub/</Prefix>"));
        assert!(x.contains("<KeyCount>2</KeyCount>"));
        assert!(x.contains("<NextContinuationToken>tok</NextContinuationToken>"));
        assert!(x.contains("<ETag>&quot;abc&quot;</ETag>"));
        assert!(x.contains("<IsTruncated>true</IsTruncated>"));
        // The writer's output parses back.
        let root = parse(x.as_bytes()).unwrap();
        assert_eq!(root.child_text("Name"), Some("b"));
    }
}
