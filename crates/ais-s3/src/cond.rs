//! Conditional requests: `If-Match`, `If-None-Match`, `If-Modified-Since`,
//! `If-Unmodified-Since`, evaluated as RFC 9110 §13.2.2 orders them (which is what S3 does).

use crate::{S3Error, S3ErrorCode};
use http::HeaderMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The conditions of a request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Conditions {
    /// `If-Match`: ETags (unquoted) or `*`.
    pub if_match: Option<Vec<String>>,
    /// `If-None-Match`: ETags (unquoted) or `*`.
    pub if_none_match: Option<Vec<String>>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<SystemTime>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<SystemTime>,
}

fn etags(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| {
            s.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_string()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

fn matches(list: &[String], etag: Option<&str>) -> bool {
    match etag {
        None => false,
        Some(e) => list.iter().any(|x| x == "*" || x == e),
    }
}

/// Truncates to whole seconds (HTTP dates carry no fractions).
fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

impl Conditions {
    /// Reads the four headers; unparsable dates are ignored, as HTTP requires.
    pub fn from_headers(h: &HeaderMap) -> Conditions {
        let s = |n: &str| h.get(n).and_then(|v| v.to_str().ok());
        let date = |n: &str| s(n).and_then(|v| httpdate::parse_http_date(v).ok());
        Conditions {
            if_match: s("if-match").map(etags),
            if_none_match: s("if-none-match").map(etags),
            if_modified_since: date("if-modified-since"),
            if_unmodified_since: date("if-unmodified-since"),
        }
    }

    /// Whether any condition is present.
    pub fn any(&self) -> bool {
        self.if_match.is_some()
            || self.if_none_match.is_some()
            || self.if_modified_since.is_some()
            || self.if_unmodified_since.is_some()
    }

    /// Evaluates against an existing object (`etag` unquoted, `None` if it has none).
    /// `read`: GET or HEAD (a failed `If-None-Match`/`If-Modified-Since` is then 304, else 412).
    pub fn check(
        &self,
        etag: Option<&str>,
        modified: SystemTime,
        read: bool,
    ) -> Result<(), S3Error> {
        let failed = || {
            Err(S3Error::new(
                S3ErrorCode::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold",
            ))
        };
        let not_modified = || {
            if read {
                Err(S3Error::new(S3ErrorCode::NotModified, "Not Modified"))
            } else {
                failed()
            }
        };
        match &self.if_match {
            Some(l) if !matches(l, etag) => return failed(),
            Some(_) => {}
            None => {
                if let Some(t) = self.if_unmodified_since
                    && secs(modified) > secs(t)
                {
                    return failed();
                }
            }
        }
        match &self.if_none_match {
            Some(l) if matches(l, etag) => return not_modified(),
            Some(_) => {}
            None => {
                if read
                    && let Some(t) = self.if_modified_since
                    && secs(modified) <= secs(t)
                {
                    return not_modified();
                }
            }
        }
        Ok(())
    }

    /// Evaluates when the object does not exist: `If-Match` fails (412); the rest hold.
    pub fn check_absent(&self) -> Result<(), S3Error> {
        if self.if_match.is_some() {
            return Err(S3Error::new(
                S3ErrorCode::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(pairs: &[(&'static str, &str)]) -> Conditions {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        Conditions::from_headers(&h)
    }

    #[test]
    fn evaluation_order() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let before = httpdate::fmt_http_date(t - Duration::from_secs(10));
        let after = httpdate::fmt_http_date(t + Duration::from_secs(10));
        let at = httpdate::fmt_http_date(t);
        let code = |r: Result<(), S3Error>| r.err().map(|e| e.code);
        assert_eq!(
            code(c(&[("if-match", "\"abc\"")]).check(Some("abc"), t, true)),
            None
        );
        assert_eq!(
            code(c(&[("if-match", "\"x\", \"abc\"")]).check(Some("abc"), t, true)),
            None
        );
        assert_eq!(
            code(c(&[("if-match", "*")]).check(Some("abc"), t, true)),
            None
        );
        assert_eq!(
            code(c(&[("if-match", "\"x\"")]).check(Some("abc"), t, true)),
            Some(S3ErrorCode::PreconditionFailed)
        );
        assert_eq!(
            code(c(&[("if-none-match", "\"abc\"")]).check(Some("abc"), t, true)),
            Some(S3ErrorCode::NotModified)
        );
        assert_eq!(
            code(c(&[("if-none-match", "*")]).check(Some("abc"), t, false)),
            Some(S3ErrorCode::PreconditionFailed)
        );
        assert_eq!(
            code(c(&[("if-modified-since", &at)]).check(Some("abc"), t, true)),
            Some(S3ErrorCode::NotModified)
        );
        assert_eq!(
            code(c(&[("if-modified-since", &before)]).check(Some("abc"), t, true)),
            None
        );
        assert_eq!(
            code(c(&[("if-unmodified-since", &before)]).check(Some("abc"), t, true)),
            Some(S3ErrorCode::PreconditionFailed)
        );
        assert_eq!(
            code(c(&[("if-unmodified-since", &after)]).check(Some("abc"), t, true)),
            None
        );
        // If-Match true wins over If-Unmodified-Since false (S3 documents this).
        assert_eq!(
            code(
                c(&[("if-match", "abc"), ("if-unmodified-since", &before)]).check(
                    Some("abc"),
                    t,
                    true
                )
            ),
            None
        );
        // If-None-Match false (no match) wins over If-Modified-Since.
        assert_eq!(
            code(
                c(&[("if-none-match", "zzz"), ("if-modified-since", &after)]).check(
                    Some("abc"),
                    t,
                    true
                )
            ),
            None
        );
        assert!(c(&[("if-match", "abc")]).check_absent().is_err());
        assert!(c(&[("if-none-match", "*")]).check_absent().is_ok());
        assert!(!c(&[("if-modified-since", "garbage")]).any());
    }
}
