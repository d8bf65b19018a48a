//! S3 error codes, their HTTP status, and the XML error body.

use std::fmt;

/// An S3 error code (the `<Code>` element) with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum S3ErrorCode {
    /// 403: signature or credentials refused, or anonymous access when auth is on.
    AccessDenied,
    /// 400: the `Authorization` header (or presigned query) is malformed.
    AuthorizationHeaderMalformed,
    /// 400: bucket name (or other argument) invalid.
    InvalidArgument,
    /// 400: invalid bucket name.
    InvalidBucketName,
    /// 400: the request is not valid as a whole.
    InvalidRequest,
    /// 400: `Content-MD5` is not valid base64 of 16 bytes.
    InvalidDigest,
    /// 400: `Content-MD5` does not match the body.
    BadDigest,
    /// 400: the `x-amz-checksum-*` value does not match the body.
    XAmzChecksumMismatch,
    /// 400: the body's SHA-256 differs from `x-amz-content-sha256`.
    XAmzContentSHA256Mismatch,
    /// 400: the body is shorter than announced.
    IncompleteBody,
    /// 400: malformed XML in the request body.
    MalformedXML,
    /// 400: the request body is larger than allowed for this operation.
    MaxMessageLengthExceeded,
    /// 400: an `x-amz-*` header is invalid.
    InvalidHeader,
    /// 400: a multipart part is smaller than the minimum (5 MiB) and not the last.
    EntityTooSmall,
    /// 400: a listed part is missing or its ETag differs.
    InvalidPart,
    /// 400: parts listed out of order.
    InvalidPartOrder,
    /// 403: the access key is not known.
    InvalidAccessKeyId,
    /// 403: the signature does not match.
    SignatureDoesNotMatch,
    /// 403: the request time is too far from the server's.
    RequestTimeTooSkewed,
    /// 404: no such bucket.
    NoSuchBucket,
    /// 404: no such key.
    NoSuchKey,
    /// 404: no such multipart upload.
    NoSuchUpload,
    /// 405: the method is not allowed on this resource.
    MethodNotAllowed,
    /// 409: the bucket already exists.
    BucketAlreadyExists,
    /// 409: the bucket already exists and is owned by the caller.
    BucketAlreadyOwnedByYou,
    /// 409: the bucket is not empty.
    BucketNotEmpty,
    /// 412: a precondition (`If-Match`, `If-Unmodified-Since`) failed.
    PreconditionFailed,
    /// 304: not modified (`If-None-Match`, `If-Modified-Since`); sent without a body.
    NotModified,
    /// 416: the range cannot be satisfied.
    InvalidRange,
    /// 500: internal error.
    InternalError,
    /// 501: not implemented.
    NotImplemented,
    /// 503: slow down / temporarily unavailable.
    ServiceUnavailable,
}

impl S3ErrorCode {
    /// The HTTP status of this code.
    pub fn status(self) -> u16 {
        use S3ErrorCode::*;
        match self {
            AccessDenied | InvalidAccessKeyId | SignatureDoesNotMatch | RequestTimeTooSkewed => 403,
            NoSuchBucket | NoSuchKey | NoSuchUpload => 404,
            MethodNotAllowed => 405,
            BucketAlreadyExists | BucketAlreadyOwnedByYou | BucketNotEmpty => 409,
            PreconditionFailed => 412,
            NotModified => 304,
            InvalidRange => 416,
            InternalError => 500,
            NotImplemented => 501,
            ServiceUnavailable => 503,
            _ => 400,
        }
    }

    /// The `<Code>` text.
    pub fn as_str(self) -> &'static str {
        use S3ErrorCode::*;
        match self {
            AccessDenied => "AccessDenied",
            AuthorizationHeaderMalformed => "AuthorizationHeaderMalformed",
            InvalidArgument => "InvalidArgument",
            InvalidBucketName => "InvalidBucketName",
            InvalidRequest => "InvalidRequest",
            InvalidDigest => "InvalidDigest",
            BadDigest => "BadDigest",
            XAmzChecksumMismatch => "XAmzChecksumMismatch",
            XAmzContentSHA256Mismatch => "XAmzContentSHA256Mismatch",
            IncompleteBody => "IncompleteBody",
            MalformedXML => "MalformedXML",
            MaxMessageLengthExceeded => "MaxMessageLengthExceeded",
            InvalidHeader => "InvalidHeader",
            EntityTooSmall => "EntityTooSmall",
            InvalidPart => "InvalidPart",
            InvalidPartOrder => "InvalidPartOrder",
            InvalidAccessKeyId => "InvalidAccessKeyId",
            SignatureDoesNotMatch => "SignatureDoesNotMatch",
            RequestTimeTooSkewed => "RequestTimeTooSkewed",
            NoSuchBucket => "NoSuchBucket",
            NoSuchKey => "NoSuchKey",
            NoSuchUpload => "NoSuchUpload",
            MethodNotAllowed => "MethodNotAllowed",
            BucketAlreadyExists => "BucketAlreadyExists",
            BucketAlreadyOwnedByYou => "BucketAlreadyOwnedByYou",
            BucketNotEmpty => "BucketNotEmpty",
            PreconditionFailed => "PreconditionFailed",
            NotModified => "NotModified",
            InvalidRange => "InvalidRange",
            InternalError => "InternalError",
            NotImplemented => "NotImplemented",
            ServiceUnavailable => "ServiceUnavailable",
        }
    }
}

/// An S3 error: code, human-readable message, and the resource it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Error {
    /// The code (and so the status).
    pub code: S3ErrorCode,
    /// What went wrong, for humans.
    pub message: String,
}

impl S3Error {
    /// An error with `code` and `message`.
    pub fn new(code: S3ErrorCode, message: impl Into<String>) -> Self {
        S3Error {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The XML body: `<Error><Code/><Message/><Resource/><RequestId/></Error>`.
    pub fn to_xml(&self, resource: &str, request_id: &str) -> String {
        let mut x = crate::xml::Writer::new();
        x.open("Error");
        x.elem("Code", self.code.as_str());
        x.elem("Message", &self.message);
        x.elem("Resource", resource);
        x.elem("RequestId", request_id);
        x.close("Error");
        x.finish()
    }
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for S3Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_body_escapes() {
        let e = S3Error::new(S3ErrorCode::NoSuchKey, "key <a&b> missing");
        let x = e.to_xml("/b/<a&b>", "r1");
        assert!(x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"));
        assert!(x.contains("<Code>NoSuchKey</Code>"));
        assert!(x.contains("<Message>key &lt;a&amp;b&gt; missing</Message>"));
        assert!(x.contains("<Resource>/b/&lt;a&amp;b&gt;</Resource>"));
        assert_eq!(e.status(), 404);
        assert_eq!(S3ErrorCode::SignatureDoesNotMatch.status(), 403);
    }
}
