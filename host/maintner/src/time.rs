//! Time as the corpus keeps it: nanoseconds since the Unix epoch, UTC.

use crate::maintpb::Timestamp;

/// An instant, in nanoseconds since 1970-01-01T00:00:00Z.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Time(pub i64);

impl Time {
    pub fn from_unix(secs: i64) -> Time {
        Time(secs.saturating_mul(1_000_000_000))
    }

    pub fn from_timestamp(ts: &Timestamp) -> Time {
        Time(
            ts.seconds
                .saturating_mul(1_000_000_000)
                .saturating_add(i64::from(ts.nanos)),
        )
    }

    pub fn unix(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    /// RFC 3339 in UTC, as Go's `time.Time.Format(time.RFC3339)` prints a UTC time
    /// (`2017-07-01T13:00:00Z`; sub-second digits only when non-zero).
    pub fn rfc3339(self) -> String {
        let secs = self.unix();
        let nanos = self.0.rem_euclid(1_000_000_000);
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        let mut s = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        );
        if nanos != 0 {
            let frac = format!("{nanos:09}");
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
        s.push('Z');
        s
    }
}

/// Days since the epoch to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(Time::from_unix(0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Time::from_unix(1498914000).rfc3339(),
            "2017-07-01T13:00:00Z"
        );
        assert_eq!(Time::from_unix(951782400).rfc3339(), "2000-02-29T00:00:00Z");
        assert_eq!(
            Time(1_500_000_000_250_000_000).rfc3339(),
            "2017-07-14T02:40:00.25Z"
        );
        assert_eq!(Time::from_unix(-1).rfc3339(), "1969-12-31T23:59:59Z");
    }
}
