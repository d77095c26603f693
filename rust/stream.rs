//! A stream: one (model, version, designation) file series with a fixed column count.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::clock::Partitioning;

/// A column the pipeline adds after the collected values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetaColumn {
    /// The caller's id prefix, if any, then the generated id.
    CorrelationId,
    /// UTC time of the `collect()` call, ISO 8601.
    Timestamp,
    /// The request id the caller passed, empty if none.
    RequestId,
    /// The row's index within its batch.
    Row,
    /// The same CSV-escaped field on every row.
    Constant(Vec<u8>),
}

/// What the encoder needs to know about a stream; fixed at registration but for the switches.
#[derive(Debug)]
pub struct StreamConfig {
    pub id: u32,
    pub partitioning: Partitioning,
    pub meta: Vec<MetaColumn>,
    /// Value columns; 0 until the first batch fixes it.
    ncols: AtomicUsize,
    enabled: AtomicBool,
    /// A request is kept when its hash is below this (u64::MAX keeps all).
    sample_below: AtomicU64,
}

/// Why a batch was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub struct ColumnMismatch {
    pub expected: usize,
    pub got: usize,
}

impl StreamConfig {
    pub fn new(id: u32, partitioning: Partitioning, meta: Vec<MetaColumn>, ncols: usize) -> Self {
        StreamConfig {
            id,
            partitioning,
            meta,
            ncols: AtomicUsize::new(ncols),
            enabled: AtomicBool::new(true),
            sample_below: AtomicU64::new(u64::MAX),
        }
    }

    pub fn ncols(&self) -> usize {
        self.ncols.load(Ordering::Acquire)
    }

    /// Fixes the column count on first use; later batches must match it.
    pub fn check_cols(&self, got: usize) -> Result<(), ColumnMismatch> {
        match self.ncols.compare_exchange(0, got, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => Ok(()),
            Err(expected) if expected == got => Ok(()),
            Err(expected) => Err(ColumnMismatch { expected, got }),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed)
    }

    /// Sets the fraction of requests kept, clamped to [0, 1].
    pub fn set_sample_rate(&self, rate: f64) {
        let below = if rate >= 1.0 || rate.is_nan() {
            u64::MAX
        } else if rate <= 0.0 {
            0
        } else {
            (rate * u64::MAX as f64) as u64
        };
        self.sample_below.store(below, Ordering::Relaxed)
    }

    pub fn sample_rate(&self) -> f64 {
        match self.sample_below.load(Ordering::Relaxed) {
            u64::MAX => 1.0,
            b => b as f64 / u64::MAX as f64,
        }
    }

    /// Whether the request with this correlation counter is kept. The decision depends only on
    /// the request, so streams with the same rate keep the same requests, and a stream with a
    /// lower rate keeps a subset: inputs and predictions of a request stay together.
    #[inline]
    pub fn samples(&self, nonce: u64, counter: u64) -> bool {
        let below = self.sample_below.load(Ordering::Relaxed);
        below == u64::MAX || splitmix64(nonce ^ counter) < below
    }
}

#[inline]
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(ncols: usize) -> StreamConfig {
        StreamConfig::new(0, Partitioning::Day, vec![], ncols)
    }

    #[test]
    fn first_batch_fixes_the_column_count() {
        let s = stream(0);
        assert_eq!(s.check_cols(3), Ok(()));
        assert_eq!(s.check_cols(3), Ok(()));
        assert_eq!(s.check_cols(4), Err(ColumnMismatch { expected: 3, got: 4 }));
    }

    #[test]
    fn sampling_keeps_about_the_rate_and_nests() {
        let half = stream(1);
        half.set_sample_rate(0.5);
        let tenth = stream(1);
        tenth.set_sample_rate(0.1);
        let n = 100_000u64;
        let kept_half = (0..n).filter(|&c| half.samples(7, c)).count() as f64 / n as f64;
        assert!((kept_half - 0.5).abs() < 0.01, "{kept_half}");
        for c in 0..n {
            if tenth.samples(7, c) {
                assert!(half.samples(7, c), "a lower rate keeps a subset");
            }
        }
    }

    #[test]
    fn rate_bounds() {
        let s = stream(1);
        s.set_sample_rate(0.0);
        assert!(!(0..1000).any(|c| s.samples(1, c)));
        s.set_sample_rate(1.0);
        assert!((0..1000).all(|c| s.samples(1, c)));
        assert_eq!(s.sample_rate(), 1.0);
    }
}
