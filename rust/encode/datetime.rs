//! numpy datetime64 values and the scoring timestamp as ISO 8601 text.
//!
//! Civil dates come from Howard Hinnant's `civil_from_days`, done in i128 so that every i64
//! count of every numpy unit converts without overflow (chrono stops at ±262,143 years).

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

    /// Units per second and fraction digits, for the units finer than a minute.
    fn sub_second(self) -> Option<(i128, usize)> {
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
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days as i128 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i128::from(m <= 2);
    (y as i64, m, d)
}

/// A datetime64 value of `unit` as numpy's `str()` prints it; NaT writes nothing.
pub fn write_datetime64(out: &mut Vec<u8>, value: i64, unit: DateUnit) {
    if value == NAT {
        return;
    }
    let v = value as i128;
    match unit {
        DateUnit::Year => write_year(out, 1970 + v),
        DateUnit::Month => {
            write_year(out, 1970 + v.div_euclid(12));
            out.push(b'-');
            push2(out, (v.rem_euclid(12) + 1) as u32);
        }
        DateUnit::Week => write_date(out, v * 7),
        DateUnit::Day => write_date(out, v),
        DateUnit::Hour => {
            write_date(out, v.div_euclid(24));
            out.push(b'T');
            push2(out, v.rem_euclid(24) as u32);
        }
        DateUnit::Minute => {
            write_date(out, v.div_euclid(1440));
            let m = v.rem_euclid(1440) as u32;
            out.push(b'T');
            push2(out, m / 60);
            out.push(b':');
            push2(out, m % 60);
        }
        _ => {
            let (per_second, digits) = unit.sub_second().expect("finer than a minute");
            let secs = v.div_euclid(per_second);
            write_date(out, secs.div_euclid(86_400));
            out.push(b'T');
            write_clock(out, secs.rem_euclid(86_400) as u32);
            if digits > 0 {
                out.push(b'.');
                push_digits(out, v.rem_euclid(per_second) as u64, digits);
            }
        }
    }
}

/// An instant stored as UTC: as `write_datetime64`, then `Z`, the suffix of every aware value
/// modeltap writes (the scoring timestamp's too); NaT writes nothing.
pub fn write_datetime64_utc(out: &mut Vec<u8>, value: i64, unit: DateUnit) {
    if value != NAT {
        write_datetime64(out, value, unit);
        out.push(b'Z');
    }
}

/// The scoring timestamp: `YYYY-MM-DDTHH:MM:SS.ffffffZ`, microseconds, UTC.
pub fn write_timestamp_utc(out: &mut Vec<u8>, ns: i64) {
    let us = (ns as i128).div_euclid(1000);
    let secs = us.div_euclid(1_000_000);
    write_date(out, secs.div_euclid(86_400));
    out.push(b'T');
    write_clock(out, secs.rem_euclid(86_400) as u32);
    out.push(b'.');
    push_digits(out, us.rem_euclid(1_000_000) as u64, 6);
    out.push(b'Z');
}

fn write_date(out: &mut Vec<u8>, days: i128) {
    // Beyond i64 days only for atto/femto extremes that never get there; clamp to stay total.
    let days = days.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
    let (y, m, d) = civil_from_days(days);
    write_year(out, y as i128);
    out.push(b'-');
    push2(out, m);
    out.push(b'-');
    push2(out, d);
}

/// Four digits at least, a sign for years before year 0, as numpy prints them.
fn write_year(out: &mut Vec<u8>, y: i128) {
    if y < 0 {
        out.push(b'-');
    }
    let a = y.unsigned_abs();
    if a < 10_000 {
        push_digits(out, a as u64, 4);
    } else {
        out.extend_from_slice(a.to_string().as_bytes());
    }
}

fn write_clock(out: &mut Vec<u8>, secs: u32) {
    push2(out, secs / 3600);
    out.push(b':');
    push2(out, secs / 60 % 60);
    out.push(b':');
    push2(out, secs % 60);
}

#[inline]
fn push2(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&[b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]);
}

fn push_digits(out: &mut Vec<u8>, mut v: u64, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for i in (start..start + width).rev() {
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
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
