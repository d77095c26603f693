//! Counters a scoring service can scrape: every accepted, dropped and encoded row.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use parking_lot::Mutex;

/// Why rows were not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drop {
    /// The ring was full under `policy="drop"`.
    RingFull,
    /// The ring stayed full for the whole wait under `policy="block"`.
    Timeout,
    /// `collect()` after `close()`.
    Closed,
    /// The encoder thread failed (a bug); rows accepted after that are counted here.
    Encoder,
    /// Arrow data failed to import on the encoder thread: its producer failed, or the data
    /// broke its own schema.
    ArrowImport,
}

#[derive(Default, Debug)]
pub struct Stats {
    pub records_collected: AtomicU64,
    pub rows_collected: AtomicU64,
    pub rows_dropped_ring_full: AtomicU64,
    pub rows_dropped_timeout: AtomicU64,
    pub rows_dropped_closed: AtomicU64,
    pub rows_dropped_encoder: AtomicU64,
    pub rows_dropped_arrow_import: AtomicU64,
    /// Why the last `ArrowImport` drop happened, for the log.
    pub last_arrow_error: Mutex<Option<String>>,
    /// `collect()` on a disabled collector: not a loss, the switch was off.
    pub rows_disabled: AtomicU64,
    /// Requests left out by `sample_rate`: not a loss either.
    pub rows_sampled_out: AtomicU64,
    pub rows_encoded: AtomicU64,
    pub bytes_encoded: AtomicU64,
    pub chunks_sealed: AtomicU64,
}

impl Stats {
    pub fn dropped(&self, why: Drop, rows: usize) {
        let counter = match why {
            Drop::RingFull => &self.rows_dropped_ring_full,
            Drop::Timeout => &self.rows_dropped_timeout,
            Drop::Closed => &self.rows_dropped_closed,
            Drop::Encoder => &self.rows_dropped_encoder,
            Drop::ArrowImport => &self.rows_dropped_arrow_import,
        };
        counter.fetch_add(rows as u64, Relaxed);
    }

    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Relaxed);
    }

    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("records_collected", self.records_collected.load(Relaxed)),
            ("rows_collected", self.rows_collected.load(Relaxed)),
            ("rows_dropped_ring_full", self.rows_dropped_ring_full.load(Relaxed)),
            ("rows_dropped_timeout", self.rows_dropped_timeout.load(Relaxed)),
            ("rows_dropped_closed", self.rows_dropped_closed.load(Relaxed)),
            ("rows_dropped_encoder", self.rows_dropped_encoder.load(Relaxed)),
            ("rows_dropped_arrow_import", self.rows_dropped_arrow_import.load(Relaxed)),
            ("rows_disabled", self.rows_disabled.load(Relaxed)),
            ("rows_sampled_out", self.rows_sampled_out.load(Relaxed)),
            ("rows_encoded", self.rows_encoded.load(Relaxed)),
            ("bytes_encoded", self.bytes_encoded.load(Relaxed)),
            ("chunks_sealed", self.chunks_sealed.load(Relaxed)),
        ]
    }
}
