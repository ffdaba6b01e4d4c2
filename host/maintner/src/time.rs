//! Time as the corpus keeps it: nanoseconds since the Unix epoch, UTC.

use std::fmt;
use std::num::NonZeroU64;

use crate::maintpb::Timestamp;

/// An instant, in nanoseconds since 1970-01-01T00:00:00Z.
///
/// Held with its sign bit flipped in a `NonZeroU64`, so that an `Option<Time>` takes 8
/// bytes instead of 16 (the corpus keeps several for each of its hundreds of thousands of
/// comments, events and issues), and the derived order is still the order of time. The one
/// instant it cannot hold, `i64::MIN` nanoseconds (in 1677), reads as the next one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(NonZeroU64);

const SIGN: u64 = 1 << 63;

impl Time {
    pub const fn from_nanos(nanos: i64) -> Time {
        let nanos = if nanos == i64::MIN { nanos + 1 } else { nanos };
        match NonZeroU64::new(nanos as u64 ^ SIGN) {
            Some(v) => Time(v),
            None => unreachable!(),
        }
    }

    /// Nanoseconds since the epoch.
    pub const fn nanos(self) -> i64 {
        (self.0.get() ^ SIGN) as i64
    }

    pub fn from_unix(secs: i64) -> Time {
        Time::from_nanos(secs.saturating_mul(1_000_000_000))
    }

    pub fn from_timestamp(ts: &Timestamp) -> Time {
        Time::from_nanos(
            ts.seconds
                .saturating_mul(1_000_000_000)
                .saturating_add(i64::from(ts.nanos)),
        )
    }

    pub fn unix(self) -> i64 {
        self.nanos().div_euclid(1_000_000_000)
    }

    /// RFC 3339 in UTC, as Go's `time.Time.Format(time.RFC3339)` prints a UTC time
    /// (`2017-07-01T13:00:00Z`; sub-second digits only when non-zero).
    pub fn rfc3339(self) -> String {
        let secs = self.unix();
        let nanos = self.nanos().rem_euclid(1_000_000_000);
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

impl Default for Time {
    /// The epoch.
    fn default() -> Time {
        Time::from_nanos(0)
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Time").field(&self.nanos()).finish()
    }
}

/// As its nanoseconds.
impl serde::Serialize for Time {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.nanos())
    }
}

impl<'de> serde::Deserialize<'de> for Time {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        i64::deserialize(d).map(Time::from_nanos)
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
    fn an_optional_time_is_one_word_and_times_order_as_instants() {
        assert_eq!(std::mem::size_of::<Option<Time>>(), 8);
        let instants = [
            i64::MIN + 1,
            -1_000_000_000,
            -1,
            0,
            1,
            1_500_000_000_250_000_000,
            i64::MAX,
        ];
        for (i, &a) in instants.iter().enumerate() {
            assert_eq!(Time::from_nanos(a).nanos(), a);
            for &b in &instants[i + 1..] {
                assert!(Time::from_nanos(a) < Time::from_nanos(b), "{a} < {b}");
            }
        }
        assert_eq!(Time::from_nanos(i64::MIN), Time::from_nanos(i64::MIN + 1));
        assert_eq!(Time::default().nanos(), 0);
        assert!(None < Some(Time::from_nanos(i64::MIN + 1)));
        let t = Time::from_nanos(-42);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "-42");
        assert_eq!(serde_json::from_str::<Time>(&json).unwrap(), t);
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(Time::from_unix(0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Time::from_unix(1498914000).rfc3339(),
            "2017-07-01T13:00:00Z"
        );
        assert_eq!(Time::from_unix(951782400).rfc3339(), "2000-02-29T00:00:00Z");
        assert_eq!(
            Time::from_nanos(1_500_000_000_250_000_000).rfc3339(),
            "2017-07-14T02:40:00.25Z"
        );
        assert_eq!(Time::from_unix(-1).rfc3339(), "1969-12-31T23:59:59Z");
    }
}
