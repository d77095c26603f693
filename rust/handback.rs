//! What records kept alive, on its way back from the encoder to be dropped where that is safe.
//!
//! Two kinds, two roads:
//! - owners (references to the caller's objects: cheap to drop, but only attached to the
//!   interpreter) are dropped a few per `collect()`;
//! - Arrow data is dropped by the thread that reads the outputs, woken for it: the producer's
//!   release runs the producer's own code (~1 µs for a small pyarrow table, a third of its
//!   `collect()`), which the scoring thread should not pay. `collect()` helps only when that
//!   thread falls behind (it is busy storing, or waits for the interpreter), so that what is
//!   held stays bounded.
//!
//! Never the encoder: a producer's release may take the interpreter's lock itself (pyarrow
//! does for numpy-backed buffers).

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

use crossbeam_channel::{bounded, Receiver, Sender};
use crossbeam_queue::SegQueue;

use crate::arrow::ArrowInput;
use crate::record::Released;

/// Arrow data waiting beyond which `collect()` drops some too: records, and bytes as the ring
/// counts them.
const BEHIND_RECORDS: usize = 1024;
const BEHIND_BYTES: usize = 16 << 20;
/// Within a long burst, the output reader is woken every this many records.
const WAKE_EVERY: usize = 64;

pub struct Handback<O> {
    owners: SegQueue<O>,
    arrow: SegQueue<(Vec<ArrowInput>, usize)>,
    arrow_records: AtomicUsize,
    arrow_bytes: AtomicUsize,
    /// A token whenever Arrow data arrives: what the output reader waits on beside the outputs.
    wake_tx: Sender<()>,
    wake_rx: Receiver<()>,
}

impl<O> Default for Handback<O> {
    fn default() -> Self {
        let (wake_tx, wake_rx) = bounded(1);
        Handback {
            owners: SegQueue::new(),
            arrow: SegQueue::new(),
            arrow_records: AtomicUsize::new(0),
            arrow_bytes: AtomicUsize::new(0),
            wake_tx,
            wake_rx,
        }
    }
}

impl<O> Handback<O> {
    pub fn push(&self, kept: Released<O>) {
        let Released { owner, arrow, bytes } = kept;
        if let Some(owner) = owner {
            self.owners.push(owner);
        }
        if !arrow.is_empty() {
            // Counted before it is queued: the counts never fall below what is queued.
            let waiting = self.arrow_records.fetch_add(1, Relaxed) + 1;
            self.arrow_bytes.fetch_add(bytes, Relaxed);
            self.arrow.push((arrow, bytes));
            if waiting.is_multiple_of(WAKE_EVERY) {
                self.wake();
            }
        }
    }

    /// Wakes the output reader if Arrow data waits: the encoder calls it when it has nothing
    /// more to do for now, so that a burst of records wakes the reader once, not per record (a
    /// context switch each).
    pub fn wake(&self) {
        if self.arrow_records.load(Relaxed) > 0 {
            let _ = self.wake_tx.try_send(());
        }
    }

    /// For a scoring thread: an owner to drop, else Arrow data if the output reader is behind.
    pub fn pop_for_caller(&self) -> Option<Released<O>> {
        let behind =
            || self.arrow_records.load(Relaxed) > BEHIND_RECORDS || self.arrow_bytes.load(Relaxed) > BEHIND_BYTES;
        self.pop_owner().or_else(|| behind().then(|| self.pop_arrow_released()).flatten())
    }

    /// Everything waiting, owners first, then Arrow data.
    pub fn pop_any(&self) -> Option<Released<O>> {
        self.pop_owner().or_else(|| self.pop_arrow_released())
    }

    fn pop_owner(&self) -> Option<Released<O>> {
        self.owners.pop().map(|owner| Released { owner: Some(owner), arrow: Vec::new(), bytes: 0 })
    }

    fn pop_arrow_released(&self) -> Option<Released<O>> {
        self.pop_arrow().map(|arrow| Released { owner: None, arrow, bytes: 0 })
    }

    /// Arrow data waiting, if any: safe to drop on any thread but the encoder.
    pub fn pop_arrow(&self) -> Option<Vec<ArrowInput>> {
        let (arrow, bytes) = self.arrow.pop()?;
        self.arrow_records.fetch_sub(1, Relaxed);
        self.arrow_bytes.fetch_sub(bytes, Relaxed);
        Some(arrow)
    }

    /// Receives a token when Arrow data has arrived since the last one was taken.
    pub fn arrow_arrived(&self) -> &Receiver<()> {
        &self.wake_rx
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::{Array, Int64Array};

    use super::*;
    use crate::testing::arrow_input;

    fn tiny_input() -> ArrowInput {
        arrow_input(&Int64Array::from(vec![1]).to_data())
    }

    fn owner(n: u32) -> Released<u32> {
        Released { owner: Some(n), arrow: Vec::new(), bytes: 0 }
    }

    fn arrow(bytes: usize) -> Released<u32> {
        Released { owner: None, arrow: vec![tiny_input()], bytes }
    }

    #[test]
    fn owners_go_to_callers_and_arrow_data_to_the_output_reader_who_is_woken() {
        let h = Handback::default();
        h.push(owner(1));
        h.push(arrow(10));
        h.push(Released { owner: Some(2), arrow: vec![tiny_input()], bytes: 10 });
        assert!(h.arrow_arrived().try_recv().is_err(), "not woken per record");
        h.wake();
        h.wake();
        assert_eq!(h.arrow_arrived().try_recv(), Ok(()), "woken once");
        assert!(h.arrow_arrived().try_recv().is_err());
        let mut owners = Vec::new();
        while let Some(r) = h.pop_for_caller() {
            assert!(r.arrow.is_empty(), "a caller is not handed Arrow data while the reader keeps up");
            owners.extend(r.owner);
        }
        assert_eq!(owners, [1, 2]);
        assert_eq!(std::iter::from_fn(|| h.pop_arrow()).count(), 2);
        assert!(h.pop_any().is_none());
    }

    #[test]
    fn a_long_burst_wakes_the_reader_along_the_way_and_nothing_wakes_it_for_nothing() {
        let h = Handback::<u32>::default();
        h.wake();
        assert!(h.arrow_arrived().try_recv().is_err());
        for _ in 0..WAKE_EVERY + 1 {
            h.push(arrow(1));
        }
        assert_eq!(h.arrow_arrived().try_recv(), Ok(()));
    }

    #[test]
    fn callers_help_once_the_reader_is_behind_by_records_or_bytes() {
        let h = Handback::<u32>::default();
        for _ in 0..=BEHIND_RECORDS {
            h.push(arrow(1));
        }
        let helped = std::iter::from_fn(|| h.pop_for_caller()).count();
        assert_eq!(helped, 1, "down to the bound, not below");
        h.push(arrow(BEHIND_BYTES + 1));
        assert!(h.pop_for_caller().is_some_and(|r| !r.arrow.is_empty()));
    }
}
