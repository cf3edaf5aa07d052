//! UTC timestamps without a calendar dependency: `2026-11-27T10:23:00Z` for evidence and
//! receipts, and a run id that sorts by time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `YYYY-MM-DDTHH:MM:SSZ` for a point in time.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let (y, mo, d) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2));
    let rem = secs % 86_400;
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now() -> String {
    rfc3339(SystemTime::now())
}

/// `HH:MM:SS` (UTC), the prefix of plain progress lines in CI logs.
pub fn clock(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
        % 86_400;
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// A run id: `YYYYMMDDTHHMMSSZ-<pid hex>`: sortable by time, unique per process.
pub fn run_id(t: SystemTime) -> String {
    let stamp: String = rfc3339(t)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let nanos = t
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .subsec_nanos();
    format!("{stamp}-{:x}{:03x}", std::process::id(), nanos >> 20)
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.fff]Z` (what `rfc3339` writes, and flyctl's timestamps) back
/// into a point in time; `None` for anything else.
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b'T'
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let rest = &text[19..];
    let (frac, zone) = match rest.strip_prefix('.') {
        Some(f) => {
            let digits = f.find(|c: char| !c.is_ascii_digit()).unwrap_or(f.len());
            (&f[..digits], &f[digits..])
        }
        None => ("", rest),
    };
    if zone != "Z"
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Howard Hinnant's `days_from_civil`, the inverse of `civil_from_days`.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + hour * 3600 + minute * 60 + second).ok()?;
    let nanos = if frac.is_empty() {
        0
    } else {
        let f: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
        f.parse::<u32>().ok()?
    };
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_writes_and_flyctls_fractions() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_775_000);
        assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(leap));
        assert_eq!(
            parse_rfc3339("2026-08-21T12:00:30.123Z"),
            Some(UNIX_EPOCH + Duration::new(1_787_313_630, 123_000_000))
        );
        for bad in [
            "",
            "2026-11-27",
            "2026-11-27T10:23:20+02:00",
            "2026-13-01T00:00:00Z",
            "yesterday",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_775_000);
        assert_eq!(rfc3339(t), "2026-11-27T10:23:20Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
        assert_eq!(clock(t), "10:23:20");
        assert!(run_id(t).starts_with("20261127T102320Z-"));
    }
}
