//! Wall-clock time for partitions, injectable so tests can cross midnight.
//!
//! The partition of a row is the UTC day (or hour) of its `collect()` call, so the clock is
//! read on the scoring thread and the timestamp travels with the record. Ages of open chunks
//! use `Instant` instead: a manual clock must not stall or rush sealing.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::encode::civil_from_days;

const HOUR_NS: i64 = 3_600_000_000_000;
const DAY_NS: i64 = 24 * HOUR_NS;

/// Where "now" comes from.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    /// Nanoseconds since the Unix epoch, set by a test.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    pub fn manual(start_ns: i64) -> Self {
        Clock::Manual(Arc::new(AtomicI64::new(start_ns)))
    }

    /// Nanoseconds since the Unix epoch, UTC.
    #[inline]
    pub fn now_ns(&self) -> i64 {
        match self {
            Clock::System => system_now_ns(),
            Clock::Manual(t) => t.load(Ordering::Relaxed),
        }
    }

    /// Sets a manual clock; a no-op on the system clock.
    pub fn set_ns(&self, ns: i64) {
        if let Clock::Manual(t) = self {
            t.store(ns, Ordering::Relaxed);
        }
    }
}

#[inline]
fn system_now_ns() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i64,
        Err(e) => -(e.duration().as_nanos() as i64),
    }
}

/// How rows are grouped into files: one per UTC day or per UTC hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Partitioning {
    Day,
    Hour,
}

impl Partitioning {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "day" => Some(Partitioning::Day),
            "hour" => Some(Partitioning::Hour),
            _ => None,
        }
    }

    fn len_ns(self) -> i64 {
        match self {
            Partitioning::Day => DAY_NS,
            Partitioning::Hour => HOUR_NS,
        }
    }

    /// The partition holding instant `ns`.
    #[inline]
    pub fn of(self, ns: i64) -> Partition {
        Partition { by: self, index: ns.div_euclid(self.len_ns()) }
    }
}

/// One UTC day or hour: the folder a row's file sits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Partition {
    pub by: Partitioning,
    /// Days (or hours) since 1970-01-01T00:00Z.
    pub index: i64,
}

impl Partition {
    /// First instant after this partition, in ns since the epoch.
    pub fn end_ns(self) -> i64 {
        self.index.saturating_add(1).saturating_mul(self.by.len_ns())
    }

    /// (year, month, day, hour); hour is `None` for day partitions.
    pub fn civil(self) -> (i64, u32, u32, Option<u32>) {
        let (days, hour) = match self.by {
            Partitioning::Day => (self.index, None),
            Partitioning::Hour => (self.index.div_euclid(24), Some(self.index.rem_euclid(24) as u32)),
        };
        let (y, m, d) = civil_from_days(days);
        (y, m, d, hour)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-02-29T23:59:59.999Z
    const LEAP_EVE: i64 = 1_709_251_199_999_000_000;

    #[test]
    fn last_millisecond_and_midnight_fall_in_two_days() {
        let a = Partitioning::Day.of(LEAP_EVE);
        let b = Partitioning::Day.of(LEAP_EVE + 1_000_000);
        assert_ne!(a, b);
        assert_eq!(a.civil(), (2024, 2, 29, None));
        assert_eq!(b.civil(), (2024, 3, 1, None));
        assert_eq!(a.end_ns(), LEAP_EVE + 1_000_000);
    }

    #[test]
    fn hours_carry_the_hour() {
        let p = Partitioning::Hour.of(LEAP_EVE);
        assert_eq!(p.civil(), (2024, 2, 29, Some(23)));
        assert_eq!(Partitioning::Hour.of(LEAP_EVE + 1_000_000).civil(), (2024, 3, 1, Some(0)));
    }

    #[test]
    fn before_the_epoch_floors() {
        assert_eq!(Partitioning::Day.of(-1).civil(), (1969, 12, 31, None));
        assert_eq!(Partitioning::Hour.of(-1).civil(), (1969, 12, 31, Some(23)));
    }

    #[test]
    fn manual_clock_is_shared_and_settable() {
        let c = Clock::manual(5);
        let c2 = c.clone();
        c.set_ns(LEAP_EVE);
        assert_eq!(c2.now_ns(), LEAP_EVE);
        assert!(Clock::System.now_ns() > LEAP_EVE);
    }

    #[test]
    fn parse() {
        assert_eq!(Partitioning::parse("day"), Some(Partitioning::Day));
        assert_eq!(Partitioning::parse("hour"), Some(Partitioning::Hour));
        assert_eq!(Partitioning::parse("week"), None);
    }
}
