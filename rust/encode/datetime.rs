//! numpy datetime64 values and the scoring timestamp as ISO 8601 text.
//!
//! Civil dates come from Howard Hinnant's `civil_from_days`: in i64 for any day a sub-second
//! unit can reach (the common case, a few multiplications), in i128 beyond, so that every i64
//! count of every numpy unit converts without overflow (chrono stops at ±262,143 years). A
//! value is composed on the stack and appended in one short copy.

use super::append::push_short;

/// numpy's not-a-time: written as an empty field (missing).
pub const NAT: i64 = i64::MIN;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateUnit {
    Year,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Milli,
    Micro,
    Nano,
    Pico,
    Femto,
    Atto,
}

impl DateUnit {
    /// From numpy's unit code (`"ns"`, `"D"`, ...).
    pub fn from_numpy(code: &str) -> Option<DateUnit> {
        Some(match code {
            "Y" => DateUnit::Year,
            "M" => DateUnit::Month,
            "W" => DateUnit::Week,
            "D" => DateUnit::Day,
            "h" => DateUnit::Hour,
            "m" => DateUnit::Minute,
            "s" => DateUnit::Second,
            "ms" => DateUnit::Milli,
            "us" | "μs" => DateUnit::Micro,
            "ns" => DateUnit::Nano,
            "ps" => DateUnit::Pico,
            "fs" => DateUnit::Femto,
            "as" => DateUnit::Atto,
            _ => return None,
        })
    }

    /// Units per second and fraction digits, for the units finer than a minute. Every one
    /// fits an i64 (an attosecond count per second is 10^18 < 2^63).
    fn sub_second(self) -> Option<(i64, usize)> {
        Some(match self {
            DateUnit::Second => (1, 0),
            DateUnit::Milli => (1_000, 3),
            DateUnit::Micro => (1_000_000, 6),
            DateUnit::Nano => (1_000_000_000, 9),
            DateUnit::Pico => (1_000_000_000_000, 12),
            DateUnit::Femto => (1_000_000_000_000_000, 15),
            DateUnit::Atto => (1_000_000_000_000_000_000, 18),
            _ => return None,
        })
    }
}

/// (year, month 1–12, day 1–31) of a count of days since 1970-01-01.
#[inline]
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // i64 holds every intermediate for |days| < 2^40 (three billion years).
    if days.unsigned_abs() < 1 << 40 {
        civil_from_days_in::<i64>(days)
    } else {
        civil_from_days_in::<i128>(days)
    }
}

/// Hinnant's algorithm in the integer type `T`.
#[inline(always)]
fn civil_from_days_in<T>(days: i64) -> (i64, u32, u32)
where
    T: Copy
        + From<i64>
        + TryInto<i64>
        + std::ops::Add<Output = T>
        + std::ops::Sub<Output = T>
        + std::ops::Mul<Output = T>
        + std::ops::Div<Output = T>
        + PartialOrd,
    T: Euclid,
{
    let c = |v: i64| T::from(v);
    let z = c(days) + c(719_468);
    let era = z.div_e(c(146_097));
    let doe = z - era * c(146_097);
    let yoe = (doe - doe / c(1460) + doe / c(36_524) - doe / c(146_096)) / c(365);
    let doy = doe - (c(365) * yoe + yoe / c(4) - yoe / c(100));
    let mp = (c(5) * doy + c(2)) / c(153);
    let narrow = |v: T| v.try_into().ok().expect("within i64");
    let d = narrow(doy - (c(153) * mp + c(2)) / c(5) + c(1)) as u32;
    let mp = narrow(mp);
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = narrow(yoe + era * c(400)) + i64::from(m <= 2);
    (y, m, d)
}

/// Floor division, which Hinnant's eras need for days before 0000-03-01.
trait Euclid {
    fn div_e(self, rhs: Self) -> Self;
}

impl Euclid for i64 {
    #[inline(always)]
    fn div_e(self, rhs: i64) -> i64 {
        self.div_euclid(rhs)
    }
}

impl Euclid for i128 {
    #[inline(always)]
    fn div_e(self, rhs: i128) -> i128 {
        self.div_euclid(rhs)
    }
}

/// A datetime64 value of `unit` as numpy's `str()` prints it; NaT writes nothing.
#[inline]
pub fn write_datetime64(out: &mut Vec<u8>, value: i64, unit: DateUnit) {
    if value == NAT {
        return;
    }
    let mut text = Text::new();
    if let Some((per_second, digits)) = unit.sub_second() {
        let secs = value.div_euclid(per_second);
        text.date(secs.div_euclid(86_400));
        text.push(b'T');
        text.clock(secs.rem_euclid(86_400) as u32);
        if digits > 0 {
            text.push(b'.');
            text.digits(value.rem_euclid(per_second) as u64, digits);
        }
        return push_short(out, text.as_bytes());
    }
    let v = value as i128;
    match unit {
        DateUnit::Year => text.year(1970 + v),
        DateUnit::Month => {
            text.year(1970 + v.div_euclid(12));
            text.push(b'-');
            text.two((v.rem_euclid(12) + 1) as u32);
        }
        // Beyond i64 days only for weeks past ±1.3e18 days; clamp to stay total.
        DateUnit::Week => text.date((v * 7).clamp(i64::MIN as i128, i64::MAX as i128) as i64),
        DateUnit::Day => text.date(value),
        DateUnit::Hour => {
            text.date(value.div_euclid(24));
            text.push(b'T');
            text.two(value.rem_euclid(24) as u32);
        }
        DateUnit::Minute => {
            text.date(value.div_euclid(1440));
            let m = value.rem_euclid(1440) as u32;
            text.push(b'T');
            text.two(m / 60);
            text.push(b':');
            text.two(m % 60);
        }
        _ => unreachable!("finer than a minute is handled above"),
    }
    push_short(out, text.as_bytes())
}

/// An instant stored as UTC: as `write_datetime64`, then `Z`, the suffix of every aware value
/// modeltap writes (the scoring timestamp's too); NaT writes nothing.
#[inline]
pub fn write_datetime64_utc(out: &mut Vec<u8>, value: i64, unit: DateUnit) {
    if value != NAT {
        write_datetime64(out, value, unit);
        out.push(b'Z');
    }
}

/// The scoring timestamp: `YYYY-MM-DDTHH:MM:SS.ffffffZ`, microseconds, UTC.
pub fn write_timestamp_utc(out: &mut Vec<u8>, ns: i64) {
    let us = ns.div_euclid(1000);
    let secs = us.div_euclid(1_000_000);
    let mut text = Text::new();
    text.date(secs.div_euclid(86_400));
    text.push(b'T');
    text.clock(secs.rem_euclid(86_400) as u32);
    text.push(b'.');
    text.digits(us.rem_euclid(1_000_000) as u64, 6);
    text.push(b'Z');
    push_short(out, text.as_bytes())
}

/// "00" to "99".
static PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        pairs[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    pairs
};

/// One value's text, composed on the stack. The longest is 64 bytes: a sign and a 40-digit
/// year (an i64 count of years, in i128), or a 12-digit year with 18 fraction digits (47).
struct Text {
    buf: [u8; 64],
    len: usize,
}

impl Text {
    #[inline(always)]
    fn new() -> Self {
        Text { buf: [0; 64], len: 0 }
    }

    #[inline(always)]
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    #[inline(always)]
    fn push(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    #[inline(always)]
    fn two(&mut self, v: u32) {
        self.buf[self.len..self.len + 2].copy_from_slice(&PAIRS[v as usize % 100]);
        self.len += 2;
    }

    /// `v` in exactly `width` digits, zero-padded (the high digits of a wider `v` are dropped).
    #[inline(always)]
    fn digits(&mut self, mut v: u64, width: usize) {
        let end = self.len + width;
        let mut at = end;
        while at >= self.len + 2 {
            at -= 2;
            self.buf[at..at + 2].copy_from_slice(&PAIRS[(v % 100) as usize]);
            v /= 100;
        }
        if at > self.len {
            self.buf[self.len] = b'0' + (v % 10) as u8;
        }
        self.len = end;
    }

    #[inline(always)]
    fn date(&mut self, days: i64) {
        let (y, m, d) = civil_from_days(days);
        if (0..10_000).contains(&y) {
            self.digits(y as u64, 4);
        } else {
            self.year(y as i128);
        }
        self.push(b'-');
        self.two(m);
        self.push(b'-');
        self.two(d);
    }

    /// Four digits at least, a sign for years before year 0, as numpy prints them.
    fn year(&mut self, y: i128) {
        if y < 0 {
            self.push(b'-');
        }
        let a = y.unsigned_abs();
        if a < 10_000 {
            self.digits(a as u64, 4);
        } else {
            let digits = a.to_string();
            self.buf[self.len..self.len + digits.len()].copy_from_slice(digits.as_bytes());
            self.len += digits.len();
        }
    }

    #[inline(always)]
    fn clock(&mut self, secs: u32) {
        self.two(secs / 3600);
        self.push(b':');
        self.two(secs / 60 % 60);
        self.push(b':');
        self.two(secs % 60);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(v: i64, unit: DateUnit) -> String {
        let mut out = Vec::new();
        write_datetime64(&mut out, v, unit);
        String::from_utf8(out).unwrap()
    }

    fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = (m as i64 + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    #[test]
    fn civil_inverts_days_from_civil() {
        let mut expected = days_from_civil(-1000, 1, 1);
        for y in -1000..=3000i64 {
            for m in 1..=12u32 {
                let leap = y.rem_euclid(4) == 0 && (y.rem_euclid(100) != 0 || y.rem_euclid(400) == 0);
                let len = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m as usize - 1];
                for d in 1..=len {
                    assert_eq!(days_from_civil(y, m, d), expected);
                    assert_eq!(civil_from_days(expected), (y, m, d));
                    expected += 1;
                }
            }
        }
    }

    #[test]
    fn the_i64_fast_path_agrees_with_i128_up_to_its_limit() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let limit = (1i64 << 40) - 1;
        for days in [-limit, limit, -719_469, -719_468, -1, 0, 1, 2_932_896] {
            assert_eq!(civil_from_days_in::<i64>(days), civil_from_days_in::<i128>(days), "{days}");
        }
        for _ in 0..1_000_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let days = (state as i64) >> 23; // within ±2^40
            assert_eq!(civil_from_days_in::<i64>(days), civil_from_days_in::<i128>(days), "{days}");
        }
    }

    #[test]
    fn units_as_numpy_prints_them() {
        // Expected strings are numpy's str(np.datetime64(v, unit)).
        assert_eq!(dt(54, DateUnit::Year), "2024");
        assert_eq!(dt(650, DateUnit::Month), "2024-03");
        assert_eq!(dt(2850, DateUnit::Week), "2024-08-15");
        assert_eq!(dt(19_782, DateUnit::Day), "2024-02-29");
        assert_eq!(dt(-1, DateUnit::Day), "1969-12-31");
        assert_eq!(dt(474_775, DateUnit::Hour), "2024-02-29T07");
        assert_eq!(dt(-1, DateUnit::Minute), "1969-12-31T23:59");
        assert_eq!(dt(1_709_251_199, DateUnit::Second), "2024-02-29T23:59:59");
        assert_eq!(dt(-1, DateUnit::Milli), "1969-12-31T23:59:59.999");
        assert_eq!(dt(1, DateUnit::Micro), "1970-01-01T00:00:00.000001");
        assert_eq!(dt(-1, DateUnit::Nano), "1969-12-31T23:59:59.999999999");
        assert_eq!(dt(1, DateUnit::Pico), "1970-01-01T00:00:00.000000000001");
        assert_eq!(dt(1, DateUnit::Femto), "1970-01-01T00:00:00.000000000000001");
        assert_eq!(dt(1, DateUnit::Atto), "1970-01-01T00:00:00.000000000000000001");
        assert_eq!(dt(-1971, DateUnit::Year), "-0001");
        assert_eq!(dt(8031, DateUnit::Year), "10001");
        assert_eq!(dt(2_932_896, DateUnit::Day), "9999-12-31");
        assert_eq!(dt(-25_567, DateUnit::Day), "1900-01-01");
        assert_eq!(dt(-25_508, DateUnit::Day), "1900-03-01");
        assert_eq!(dt(11_016, DateUnit::Day), "2000-02-29");
        assert_eq!(dt(NAT, DateUnit::Nano), "");
    }

    #[test]
    fn no_value_panics() {
        let units = [
            DateUnit::Year,
            DateUnit::Month,
            DateUnit::Week,
            DateUnit::Day,
            DateUnit::Hour,
            DateUnit::Minute,
            DateUnit::Second,
            DateUnit::Milli,
            DateUnit::Micro,
            DateUnit::Nano,
            DateUnit::Pico,
            DateUnit::Femto,
            DateUnit::Atto,
        ];
        for unit in units {
            for v in [i64::MIN + 1, i64::MAX, -1, 0, 1] {
                assert!(!dt(v, unit).is_empty());
            }
        }
        for code in ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"] {
            assert!(DateUnit::from_numpy(code).is_some());
        }
        assert_eq!(DateUnit::from_numpy("generic"), None);
    }

    #[test]
    fn utc_instants_end_in_z_and_keep_their_digits() {
        let mut out = Vec::new();
        write_datetime64_utc(&mut out, 1_704_067_200_000_000_001, DateUnit::Nano);
        out.push(b' ');
        write_datetime64_utc(&mut out, 1_704_067_200, DateUnit::Second);
        write_datetime64_utc(&mut out, NAT, DateUnit::Nano);
        assert_eq!(String::from_utf8(out).unwrap(), "2024-01-01T00:00:00.000000001Z 2024-01-01T00:00:00Z");
    }

    #[test]
    fn scoring_timestamps() {
        let mut out = Vec::new();
        write_timestamp_utc(&mut out, 1_709_251_199_999_000_000);
        write_timestamp_utc(&mut out, -1);
        write_timestamp_utc(&mut out, 0);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2024-02-29T23:59:59.999000Z1969-12-31T23:59:59.999999Z1970-01-01T00:00:00.000000Z"
        );
    }
}
