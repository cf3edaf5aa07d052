//! Durations as users write them in shipit.yml and on the command line: `200ms`, `2s`, `5m`, `1h`,
//! `1m30s`. A unit is always required, so `5` is an error rather than a guess.

use std::fmt;
use std::fmt::Write as _;
use std::time::Duration;

/// The longest duration shipit accepts anywhere (about 14 months). Far past any deadline or
/// window a deploy needs, and small enough that adding it to an `Instant` cannot overflow.
pub(crate) const MAX: Duration = Duration::from_secs(10_000 * 3600);

/// Parses `200ms`, `2s`, `1.5s`, `5m`, `1h`, `1h30m`, `0s`. Units: ms, s, m, h.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration: write a number with a unit, e.g. 2s, 500ms, 5m".into());
    }
    if s.starts_with('-') {
        return Err(format!("`{s}` is negative: a duration must be 0 or more"));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!(
                "`{s}` is not a duration: expected a number, e.g. 2s, 500ms, 5m, 1h"
            ));
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| {
            format!(
                "`{s}` is not a duration: `{}` is not a number",
                &rest[..num_len]
            )
        })?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let seconds_per_unit = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => {
                return Err(format!(
                    "`{s}` has no unit: write e.g. {number}s or {number}ms (units: ms, s, m, h)"
                ));
            }
            other => {
                return Err(format!(
                    "`{s}` has an unknown unit `{other}`: use ms, s, m or h"
                ));
            }
        };
        // `from_secs_f64` panics on a value past `Duration::MAX`; a typo like
        // `99999999999999999999h` must be an error naming the text, never an abort.
        let part = Duration::try_from_secs_f64(number * seconds_per_unit)
            .ok()
            .filter(|d| *d <= MAX);
        total = part
            .and_then(|d| total.checked_add(d))
            .filter(|d| *d <= MAX)
            .ok_or_else(|| format!("`{s}` is too long: a duration may be at most 10000h"))?;
    }
    Ok(total)
}

/// Formats a duration the way it is written in config: `250ms`, `2s`, `1.5s`, `5m`, `1h30m`.
pub(crate) fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if !ms.is_multiple_of(1000) || ms < 60_000 {
        let secs = d.as_secs_f64();
        let text = format!("{secs:.3}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        return format!("{text}s");
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if m > 0 {
        let _ = write!(out, "{m}m");
    }
    if s > 0 {
        let _ = write!(out, "{s}s");
    }
    out
}

/// Formats a measured latency for people: `12ms`, `1.24s`.
pub(crate) fn human(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        if ms < 10.0 {
            format!("{ms:.1}ms")
        } else {
            format!("{ms:.0}ms")
        }
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

/// A duration that deserializes from the config's text form and prints back the same way.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dur(pub Duration);

impl fmt::Debug for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format(self.0))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format(self.0))
    }
}

impl<'de> serde::Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration with a unit, e.g. 500ms, 2s, 5m, 1h")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Dur, E> {
                parse(v).map(Dur).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "`{v}` has no unit: write e.g. {v}s or {v}ms (units: ms, s, m, h)"
                )))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "`{v}` is not a duration: write a number with a unit, e.g. 2s"
                )))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "`{v}` has no unit: write e.g. {v}s (units: ms, s, m, h)"
                )))
            }
        }
        de.deserialize_any(Visitor)
    }
}

impl serde::Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(self.0))
    }
}

impl std::str::FromStr for Dur {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse(s).map(Dur)
    }
}

/// Serde `with` for a duration in JSON as users write it (`15m`): `plan`, `--show-settings`
/// and the records show durations the way the config spells them.
pub(crate) mod text {
    pub(crate) fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*d))
    }
}

/// [`text`] for an optional duration (`null` when unset).
pub(crate) mod opt_text {
    #[allow(
        clippy::ref_option,
        reason = "serde's `with` passes the field by reference"
    )]
    pub(crate) fn serialize<S: serde::Serializer>(
        d: &Option<std::time::Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::format(*d)),
            None => s.serialize_none(),
        }
    }
}

/// A latency or a short duration the way probe lines and conditions show it: `0.8ms`, `12ms`,
/// `2.4s`, `61s`.
pub fn short(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        let text = format!("{ms:.1}");
        format!("{}ms", text.trim_end_matches('0').trim_end_matches('.'))
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        let text = format!("{:.2}", ms / 1000.0);
        format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// Serde helpers: a [`Duration`] as a number of milliseconds (fractions allowed).
pub(crate) mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        let ms = d.as_secs_f64() * 1000.0;
        s.serialize_f64((ms * 1000.0).round() / 1000.0)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let ms = f64::deserialize(d)?;
        if !(ms.is_finite() && ms >= 0.0) {
            return Err(serde::de::Error::custom(format!(
                "`{ms}` is not a duration in milliseconds"
            )));
        }
        Ok(Duration::from_secs_f64(ms / 1000.0))
    }

    pub(crate) mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        #[allow(clippy::ref_option)]
        pub(crate) fn serialize<S: Serializer>(
            d: &Option<Duration>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Duration>, D::Error> {
            let ms = Option::<f64>::deserialize(d)?;
            match ms {
                Some(ms) if ms.is_finite() && ms >= 0.0 => {
                    Ok(Some(Duration::from_secs_f64(ms / 1000.0)))
                }
                Some(ms) => Err(serde::de::Error::custom(format!(
                    "`{ms}` is not a duration in milliseconds"
                ))),
                None => Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_and_compounds() {
        assert_eq!(parse("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(parse("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        assert!(parse("5").unwrap_err().contains("no unit"));
        assert!(parse("-3s").unwrap_err().contains("negative"));
        assert!(parse("2 weeks").is_err());
        assert!(parse("3d").unwrap_err().contains("unknown unit `d`"));
        assert!(parse("").is_err());
        assert!(parse("fast").is_err());
    }

    #[test]
    fn formats_round_trip() {
        for text in ["250ms", "2s", "1.5s", "5m", "1h30m", "0s", "90s"] {
            let d = parse(text).unwrap();
            assert_eq!(parse(&format(d)).unwrap(), d, "{text}");
        }
        assert_eq!(format(Duration::from_secs(300)), "5m");
        assert_eq!(human(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(human(Duration::from_millis(2400)), "2.40s");
    }
}
