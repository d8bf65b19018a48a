//! Object-name and prefix validation (AIS `ValidateOname` / `ValidatePrefix`).

use crate::err::Error;

/// Longest object name accepted, in bytes. AIS has no wire limit; we bound it so a request can
/// never make us build unbounded paths (S3 allows 1024; on-disk names longer than this are refused).
pub const OBJ_NAME_LEN_MAX: usize = 3072;

/// Longest path component stored as-is on disk (a file-system limit); objects with a longer
/// component are stored under a hashed name (see `ais-fs`).
pub const OBJ_NAME_COMPONENT_LEN_MAX: usize = 255;

/// Validates an object name for GET/PUT/DELETE/PATCH (a trailing `/` is refused) or, with
/// `allow_trailing_slash`, for HEAD.
pub fn validate_obj_name(name: &str, allow_trailing_slash: bool) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::bad_request("object name is empty"));
    }
    if name.len() > OBJ_NAME_LEN_MAX {
        return Err(Error::bad_request(format!(
            "object name is too long ({} bytes > {OBJ_NAME_LEN_MAX})",
            name.len()
        )));
    }
    if !allow_trailing_slash && name.ends_with('/') {
        return Err(Error::bad_request(format!(
            "object name \"{name}\" must not end with '/'"
        )));
    }
    check_components(name, "object name")?;
    if name.bytes().any(|b| b == 0) {
        return Err(Error::bad_request("object name must not contain NUL bytes"));
    }
    Ok(())
}

/// Validates a listing prefix; a trailing `*` wildcard is trimmed and the cleaned prefix returned.
pub fn validate_prefix(prefix: &str) -> Result<&str, Error> {
    let p = prefix.strip_suffix('*').unwrap_or(prefix);
    if p.is_empty() {
        return Ok(p);
    }
    check_components(p, "prefix")?;
    Ok(p)
}

fn check_components(name: &str, what: &str) -> Result<(), Error> {
    if name.starts_with("~/") {
        return Err(Error::bad_request(format!(
            "{what} \"{name}\" must not start with \"~/\""
        )));
    }
    for c in name.split('/') {
        if c == "." || c == ".." {
            return Err(Error::bad_request(format!(
                "{what} \"{name}\" is invalid: must not contain \".\" or \"..\" path components"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check() {
        let ok = [
            "a",
            "a/b/c",
            "ünï/çødé",
            "with space",
            "a./.b",
            "x/.hidden",
            "...",
            "a//b",
        ];
        for n in ok {
            assert!(validate_obj_name(n, false).is_ok(), "{n}");
        }
        let bad = [
            "", ".", "..", "a/../b", "a/./b", "../x", "~/x", "a/", "a\0b",
        ];
        for n in bad {
            assert!(validate_obj_name(n, false).is_err(), "{n:?}");
        }
        assert!(validate_obj_name("dir/", true).is_ok());
        assert!(validate_obj_name(&"a".repeat(1024), false).is_ok());
        assert!(validate_obj_name(&"a".repeat(OBJ_NAME_LEN_MAX + 1), false).is_err());
        assert!(validate_obj_name(&"a/".repeat(2000), false).is_err());
        assert_eq!(validate_prefix("abc*").unwrap(), "abc");
        assert!(validate_prefix("a/../").is_err());
    }
}
