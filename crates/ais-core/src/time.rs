//! Time formats AIS puts on the wire: unix nanoseconds, Go's RFC822 for listings, RFC3339.

/// Nanoseconds since the unix epoch of `t` (0 for times before it).
pub fn unix_nanos(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Now, in unix nanoseconds.
pub fn now_nanos() -> i64 {
    unix_nanos(std::time::SystemTime::now())
}

/// Civil date (y, m, d, hh, mm, ss) in UTC for unix seconds.
fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        m,
        d,
        (sod / 3600) as u32,
        ((sod % 3600) / 60) as u32,
        (sod % 60) as u32,
    )
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Go's `time.RFC822` in UTC: `02 Jan 06 15:04 UTC` (AIS's default listing time format).
pub fn rfc822(nanos: i64) -> String {
    let (y, m, d, hh, mm, _) = civil(nanos.div_euclid(1_000_000_000));
    format!(
        "{d:02} {} {:02} {hh:02}:{mm:02} UTC",
        MONTHS[(m - 1) as usize],
        y.rem_euclid(100)
    )
}

/// RFC3339 with nanoseconds in UTC, e.g. `2024-05-01T10:00:00.123456789Z`; 0 is Go's zero time.
pub fn rfc3339_nanos(nanos: i64) -> String {
    if nanos == 0 {
        return "0001-01-01T00:00:00Z".to_string();
    }
    let (y, m, d, hh, mm, ss) = civil(nanos.div_euclid(1_000_000_000));
    let frac = nanos.rem_euclid(1_000_000_000);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac:09}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        // 2024-02-29T13:45:07Z
        let n = 1_709_214_307_000_000_123;
        assert_eq!(rfc822(n), "29 Feb 24 13:45 UTC");
        assert_eq!(rfc3339_nanos(n), "2024-02-29T13:45:07.000000123Z");
        assert_eq!(rfc3339_nanos(0), "0001-01-01T00:00:00Z");
        assert_eq!(rfc822(0), "01 Jan 70 00:00 UTC");
    }
}
