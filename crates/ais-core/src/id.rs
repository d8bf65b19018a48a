//! Node ids and job ids: validation and generation from caller-supplied randomness.

use crate::err::Error;

/// Validates a node (daemon) id: 8..32 chars, starts with a letter, then letters/digits, with `-`
/// and `_` allowed only inside.
pub fn validate_node_id(id: &str) -> Result<(), Error> {
    let b = id.as_bytes();
    let ok = (8..32).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
        && b[b.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "node id \"{id}\" is invalid: must be 8..31 letters or digits, start with a letter, \
             and may contain '-' or '_' only inside"
        )))
    }
}

/// Generates a node id of 8 letters from `rand` bytes (production form).
pub fn gen_node_id(rand: &[u8; 8]) -> String {
    const LETTERS: &[u8; 52] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    rand.iter()
        .map(|r| LETTERS[(*r as usize) % LETTERS.len()] as char)
        .collect()
}

/// Generates a job (xaction) id: 10 chars of `[A-Za-z0-9]`, starting with a letter.
pub fn gen_job_id(rand: &[u8; 10]) -> String {
    const ALNUM: &[u8; 62] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    rand.iter()
        .enumerate()
        .map(|(i, r)| {
            let n = if i == 0 { 52 } else { 62 };
            ALNUM[(*r as usize) % n] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(validate_node_id("TaXkLmNo").is_ok());
        assert!(validate_node_id("xYzt51081").is_ok());
        assert!(validate_node_id("a-b_c123").is_ok());
        for bad in [
            "short",
            "1abcdefgh",
            "abcdefg-",
            "abc defgh",
            &"a".repeat(32),
        ] {
            assert!(validate_node_id(bad).is_err(), "{bad}");
        }
        let id = gen_node_id(&[0, 51, 52, 200, 7, 9, 100, 255]);
        assert!(validate_node_id(&id).is_ok(), "{id}");
        let j = gen_job_id(&[255; 10]);
        assert!(j.as_bytes()[0].is_ascii_alphabetic());
        assert_eq!(j.len(), 10);
    }
}
