//! Reads a server certificate's `notAfter` from its DER bytes, for `[CERTIFICATE_EXPIRATION]`.
//! A small DER walker rather than an X.509 crate: shipit needs one field, and the path to it is
//! fixed by RFC 5280:
//!
//! ```text
//! Certificate ::= SEQUENCE { tbsCertificate SEQUENCE {
//!     [0] version OPTIONAL, serialNumber INTEGER, signature SEQUENCE, issuer SEQUENCE,
//!     validity SEQUENCE { notBefore Time, notAfter Time }, ... }, ... }
//! Time ::= UTCTime "YYMMDDHHMMSSZ" | GeneralizedTime "YYYYMMDDHHMMSSZ"
//! ```

const SEQUENCE: u8 = 0x30;
const VERSION: u8 = 0xA0;
const INTEGER: u8 = 0x02;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// One DER element: its tag, its content, and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    // Multi-byte tags (low bits all set) never occur on the path to notAfter.
    if tag & 0x1F == 0x1F {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The certificate's `notAfter`, in seconds since the Unix epoch.
pub(crate) fn not_after(der: &[u8]) -> Option<i64> {
    let (tag, cert, _) = element(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, mut tbs, _) = element(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut next = element(tbs)?;
    if next.0 == VERSION {
        tbs = next.2;
        next = element(tbs)?;
    }
    if next.0 != INTEGER {
        return None;
    }
    // serialNumber, then the signature algorithm and the issuer.
    let (_, _, rest) = element(next.2)?;
    let (_, _, rest) = element(rest)?;
    let (tag, validity, _) = element(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (_, _, rest) = element(validity)?;
    let (tag, time, _) = element(rest)?;
    parse_time(tag, std::str::from_utf8(time).ok()?)
}

/// A `UTCTime` or `GeneralizedTime` in the `Z` form RFC 5280 requires, to Unix seconds.
fn parse_time(tag: u8, text: &str) -> Option<i64> {
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |range: std::ops::Range<usize>| digits.get(range).and_then(|s| s.parse::<i64>().ok());
    let (year, rest) = match (tag, digits.len()) {
        // RFC 5280 4.1.2.5.1: YY >= 50 is 19YY, else 20YY.
        (UTC_TIME, 12) => {
            let yy = num(0..2)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (GENERALIZED_TIME, 14) => (num(0..4)?, 4),
        _ => return None,
    };
    let month = num(rest..rest + 2)?;
    let day = num(rest + 2..rest + 4)?;
    let hour = num(rest + 4..rest + 6)?;
    let minute = num(rest + 6..rest + 8)?;
    let second = num(rest + 8..rest + 10)?;
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 for a date in the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`, the inverse of the one in `timefmt`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ISRG Root X1 (Let's Encrypt's root), as shipped in /etc/ssl/certs. `openssl x509
    /// -noout -enddate` says `notAfter=Jun  4 11:04:38 2035 GMT`, which is 2064567878.
    const ISRG_ROOT_X1: &[u8] = include_bytes!("testdata/isrg-root-x1.der");

    #[test]
    fn reads_not_after_from_a_real_certificate() {
        assert_eq!(not_after(ISRG_ROOT_X1), Some(2_064_567_878));
    }

    #[test]
    fn garbage_and_truncated_input_are_none_not_panics() {
        assert_eq!(not_after(&[]), None);
        assert_eq!(not_after(b"not a certificate at all"), None);
        for cut in [1, 2, 4, 10, 100, 200, ISRG_ROOT_X1.len() - 1] {
            // Cutting the outer SEQUENCE short makes its length lie; the walker must notice.
            assert_eq!(not_after(&ISRG_ROOT_X1[..cut]), None, "cut at {cut}");
        }
        let mut flipped = ISRG_ROOT_X1.to_vec();
        flipped[0] = 0x31;
        assert_eq!(not_after(&flipped), None);
    }

    #[test]
    fn both_time_forms_and_the_century_rule() {
        assert_eq!(parse_time(UTC_TIME, "350604110438Z"), Some(2_064_567_878));
        assert_eq!(
            parse_time(GENERALIZED_TIME, "20350604110438Z"),
            Some(2_064_567_878)
        );
        assert_eq!(parse_time(UTC_TIME, "700101000000Z"), Some(0));
        assert_eq!(parse_time(UTC_TIME, "491231235959Z"), Some(2_524_607_999));
        assert_eq!(
            parse_time(GENERALIZED_TIME, "20000229000000Z"),
            Some(951_782_400)
        );
        assert_eq!(
            parse_time(GENERALIZED_TIME, "20500101000000Z"),
            Some(2_524_608_000)
        );
        assert_eq!(parse_time(UTC_TIME, "350604110438"), None, "no Z");
        assert_eq!(parse_time(UTC_TIME, "351304110438Z"), None, "month 13");
        assert_eq!(
            parse_time(UTC_TIME, "20350604110438Z"),
            None,
            "wrong length for the tag"
        );
    }

    #[test]
    fn a_hand_built_certificate_with_generalized_time() {
        // SEQUENCE { SEQUENCE { INTEGER 1, SEQUENCE {}, SEQUENCE {}, SEQUENCE { notBefore, notAfter } } }
        let time = |tag: u8, s: &str| [&[tag, s.len() as u8], s.as_bytes()].concat();
        let validity = [
            time(UTC_TIME, "200101000000Z"),
            time(GENERALIZED_TIME, "20600101000000Z"),
        ]
        .concat();
        let tbs = [
            &[INTEGER, 1, 1][..],
            &[SEQUENCE, 0][..],
            &[SEQUENCE, 0][..],
            &[SEQUENCE, validity.len() as u8][..],
            &validity[..],
        ]
        .concat();
        let tbs = [&[SEQUENCE, tbs.len() as u8][..], &tbs[..]].concat();
        let cert = [&[SEQUENCE, 0x81, tbs.len() as u8][..], &tbs[..]].concat();
        assert_eq!(not_after(&cert), Some(2_840_140_800));
    }
}
