//! RFC 3339 timestamps for the lock-file heartbeat (`formats.md §5.1`): written as UTC with
//! nanoseconds (Go's `time.RFC3339Nano` shape, which charon parses), read with any offset
//! (charon writes local time, e.g. `2024-06-15T14:00:00.5+02:00`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time as seconds and nanoseconds since the Unix epoch (may be negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct UnixTime {
    pub(crate) secs: i64,
    pub(crate) nanos: u32,
}

impl UnixTime {
    /// Converts a `SystemTime` (times before 1970 clamp to the epoch).
    pub(crate) fn from_system(t: SystemTime) -> Self {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        Self {
            secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: d.subsec_nanos(),
        }
    }

    /// Seconds from `self` to `later` (negative if `later` is earlier), rounded down.
    pub(crate) fn secs_until(self, later: Self) -> i64 {
        let mut s = later.secs.saturating_sub(self.secs);
        if later.nanos < self.nanos {
            s = s.saturating_sub(1);
        }
        s
    }
}

/// Formats as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
pub(crate) fn format_rfc3339(t: UnixTime) -> String {
    let days = t.secs.div_euclid(86_400);
    let sod = t.secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        t.nanos
    )
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ` (second precision, UTC), the form a
/// definition's `timestamp` takes.
pub fn now_rfc3339_seconds() -> String {
    rfc3339_seconds(UnixTime::from_system(SystemTime::now()).secs)
}

/// `unix_secs` as `YYYY-MM-DDTHH:MM:SSZ` (UTC, proleptic Gregorian).
pub fn rfc3339_seconds(unix_secs: i64) -> String {
    let full = format_rfc3339(UnixTime {
        secs: unix_secs,
        nanos: 0,
    });
    // Drop the ".000000000" fraction.
    format!("{}Z", full.get(..19).unwrap_or(&full))
}

/// Parses an RFC 3339 date-time (`T` separator, optional fraction, `Z` or `±HH:MM`).
pub(crate) fn parse_rfc3339(s: &str) -> Option<UnixTime> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from.checked_add(len)?)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        part.iter().try_fold(0i64, |acc, d| {
            acc.checked_mul(10)?.checked_add(i64::from(d - b'0'))
        })
    };
    let sep = |at: usize, c: &[u8]| b.get(at).is_some_and(|x| c.contains(x));
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, min, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if sep(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b.get(i).copied().unwrap_or(b'0') - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..9 {
            nanos *= 10;
        }
    }
    let offset_secs = match b.get(i) {
        Some(b'Z' | b'z') if b.len() == i + 1 => 0,
        Some(sign @ (b'+' | b'-')) if b.len() == i + 6 && sep(i + 3, b":") => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + hour * 3600 + min * 60 + sec.min(59);
    Some(UnixTime {
        secs: local - offset_secs,
        nanos,
    })
}

/// Days since 1970-01-01 of a proleptic-Gregorian date (era arithmetic, 400-year cycles).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let t = |secs, nanos| format_rfc3339(UnixTime { secs, nanos });
        assert_eq!(t(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(t(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
        assert_eq!(
            t(1_718_452_800, 123_000_000),
            "2024-06-15T12:00:00.123000000Z"
        );
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let p = |s| parse_rfc3339(s);
        let noon = UnixTime {
            secs: 1_718_452_800,
            nanos: 0,
        };
        assert_eq!(p("2024-06-15T12:00:00Z"), Some(noon));
        assert_eq!(p("2024-06-15T14:00:00+02:00"), Some(noon));
        assert_eq!(p("2024-06-15T07:30:00-04:30"), Some(noon));
        assert_eq!(
            p("2024-06-15T12:00:00.5Z"),
            Some(UnixTime {
                nanos: 500_000_000,
                ..noon
            })
        );
        assert_eq!(
            p("2024-06-15T12:00:00.123456789123Z").map(|t| t.nanos),
            Some(123_456_789)
        );
        for bad in [
            "",
            "2024-06-15",
            "2024-06-15T12:00:00",
            "2024-06-15 12:00:00Z",
            "2024-13-15T12:00:00Z",
            "2024-06-15T12:00:00.Z",
            "2024-06-15T12:00:00Zjunk",
            "2024-06-15T12:00:00+0200",
            "２０24-06-15T12:00:00Z",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips_and_measures_age() {
        let now = UnixTime::from_system(SystemTime::now());
        assert_eq!(parse_rfc3339(&format_rfc3339(now)), Some(now));
        let later = UnixTime {
            secs: now.secs + 5,
            nanos: now.nanos,
        };
        assert_eq!(now.secs_until(later), 5);
        assert_eq!(later.secs_until(now), -5);
    }
}
