//! Serde helpers for AIS's JSON quirks: 64-bit integers as strings, case-insensitive keys.

use serde::{Deserialize, Deserializer, Serializer};

/// (De)serializes an integer as a JSON string (`"17"`), accepting a number or a string on input.
pub mod str_int {
    use super::*;

    /// Writes `v` as a decimal string.
    pub fn serialize<T: std::fmt::Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    /// Reads a number or a numeric string; empty string and null mean zero.
    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: std::str::FromStr + Default + TryFrom<i128>,
        D: Deserializer<'de>,
    {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            I(i64),
            U(u64),
            S(String),
            N(()),
        }
        match Either::deserialize(d)? {
            Either::I(i) => {
                T::try_from(i as i128).map_err(|_| serde::de::Error::custom("integer out of range"))
            }
            Either::U(u) => {
                T::try_from(u as i128).map_err(|_| serde::de::Error::custom("integer out of range"))
            }
            Either::S(s) if s.is_empty() => Ok(T::default()),
            Either::S(s) => s
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("invalid integer string \"{s}\""))),
            Either::N(_) => Ok(T::default()),
        }
    }
}

/// Looks up `key` in a JSON object ignoring ASCII case (Go's JSON decoding is case-insensitive and
/// clients rely on it, e.g. the Python SDK sends `ID`/`Kind` where the schema says `id`/`kind`).
pub fn get_ci<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    let obj = v.as_object()?;
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Like [`get_ci`] for a string field; `None` when missing, null or not a string.
pub fn get_ci_str<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    get_ci(v, key).and_then(|x| x.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct V {
        #[serde(with = "str_int")]
        v: i64,
    }

    #[test]
    fn str_ints() {
        assert_eq!(
            serde_json::to_string(&V { v: 17 }).unwrap(),
            r#"{"v":"17"}"#
        );
        for s in [r#"{"v":"17"}"#, r#"{"v":17}"#] {
            assert_eq!(serde_json::from_str::<V>(s).unwrap(), V { v: 17 });
        }
        assert!(serde_json::from_str::<V>(r#"{"v":"x"}"#).is_err());
    }

    #[test]
    fn ci() {
        let v: serde_json::Value = serde_json::from_str(r#"{"ID":"x","kind":"y"}"#).unwrap();
        assert_eq!(get_ci_str(&v, "id"), Some("x"));
        assert_eq!(get_ci_str(&v, "Kind"), Some("y"));
        assert_eq!(get_ci_str(&v, "bck"), None);
    }
}
