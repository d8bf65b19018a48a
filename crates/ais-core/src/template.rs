//! Bash-brace range templates (`prefix{0001..0100..2}suffix`) as used by multi-object operations.

use crate::err::Error;

/// Upper bound on the names one template may expand to.
pub const TEMPLATE_NAMES_MAX: usize = 10_000_000;

#[derive(Debug, Clone)]
struct Range {
    start: u64,
    end: u64,
    step: u64,
    width: usize,
}

/// A parsed template: literal parts interleaved with numeric ranges.
#[derive(Debug, Clone)]
pub struct Template {
    prefix: String,
    ranges: Vec<(Range, String)>,
}

impl Template {
    /// Parses a template; a string with no braces is a single name.
    pub fn parse(s: &str) -> Result<Template, Error> {
        let bad = |why: &str| Error::bad_request(format!("invalid template \"{s}\": {why}"));
        let mut rest = s;
        let mut prefix = None;
        let mut ranges = Vec::new();
        let mut lit = String::new();
        loop {
            match rest.find('{') {
                None => {
                    lit.push_str(rest);
                    break;
                }
                Some(i) => {
                    lit.push_str(&rest[..i]);
                    let close = rest[i..].find('}').ok_or_else(|| bad("missing '}'"))? + i;
                    let inner = &rest[i + 1..close];
                    let parts: Vec<&str> = inner.split("..").collect();
                    if !(2..=3).contains(&parts.len()) {
                        return Err(bad("expecting {start..end[..step]}"));
                    }
                    let num = |p: &str| {
                        p.parse::<u64>()
                            .map_err(|_| bad("range bounds must be non-negative integers"))
                    };
                    let start = num(parts[0])?;
                    let end = num(parts[1])?;
                    let step = if parts.len() == 3 { num(parts[2])? } else { 1 };
                    if step == 0 || end < start {
                        return Err(bad("range must have start <= end and a positive step"));
                    }
                    let width = if parts[0].len() > 1 && parts[0].starts_with('0') {
                        parts[0].len()
                    } else {
                        0
                    };
                    let r = Range {
                        start,
                        end,
                        step,
                        width,
                    };
                    match prefix {
                        None => prefix = Some(std::mem::take(&mut lit)),
                        Some(_) => {
                            let last: &mut (Range, String) =
                                ranges.last_mut().expect("a range precedes");
                            last.1 = std::mem::take(&mut lit);
                        }
                    }
                    ranges.push((r, String::new()));
                    rest = &rest[close + 1..];
                }
            }
        }
        match prefix {
            None => Ok(Template {
                prefix: lit,
                ranges,
            }),
            Some(p) => {
                ranges.last_mut().expect("a range exists").1 = lit;
                let t = Template { prefix: p, ranges };
                if t.count() > TEMPLATE_NAMES_MAX as u128 {
                    return Err(bad("expands to too many names"));
                }
                Ok(t)
            }
        }
    }

    /// How many names the template expands to.
    pub fn count(&self) -> u128 {
        self.ranges
            .iter()
            .map(|(r, _)| ((r.end - r.start) / r.step + 1) as u128)
            .product()
    }

    /// Expands into names, in order.
    pub fn expand(&self) -> Vec<String> {
        let mut out = vec![self.prefix.clone()];
        for (r, suffix) in &self.ranges {
            let mut next =
                Vec::with_capacity(out.len() * (((r.end - r.start) / r.step + 1) as usize));
            for base in &out {
                let mut i = r.start;
                while i <= r.end {
                    next.push(format!("{base}{i:0w$}{suffix}", w = r.width));
                    match i.checked_add(r.step) {
                        Some(n) => i = n,
                        None => break,
                    }
                }
            }
            out = next;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand() {
        let t = Template::parse("tmpl-{000..049}").unwrap();
        let v = t.expand();
        assert_eq!(v.len(), 50);
        assert_eq!(v[0], "tmpl-000");
        assert_eq!(v[49], "tmpl-049");
        let v = Template::parse("a{1..5..2}b{0..1}.tar").unwrap().expand();
        assert_eq!(
            v,
            [
                "a1b0.tar", "a1b1.tar", "a3b0.tar", "a3b1.tar", "a5b0.tar", "a5b1.tar"
            ]
        );
        assert_eq!(Template::parse("plain").unwrap().expand(), ["plain"]);
        assert!(Template::parse("x{5..1}").is_err());
        assert!(Template::parse("x{1..}").is_err());
        assert!(Template::parse("x{1..3").is_err());
        assert!(Template::parse("x{0..99999999999}").is_err());
    }
}
