//! The bounded queue between scoring threads and the encoder thread.
//!
//! crossbeam's array channel is a lock-free bounded MPMC queue with blocking waits built in:
//! `try_push` never blocks (the `drop` policy), `push_timeout` waits (the `block` policy).

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, SendTimeoutError, Sender, TrySendError};
use parking_lot::{Condvar, Mutex};

use crate::record::Record;

pub enum Message<O> {
    Record(Record<O>),
    /// Seal everything open and report this ticket once it is handed on.
    Flush(u64),
    /// Seal everything and stop.
    Close,
}

pub struct Ring<O> {
    tx: Sender<Message<O>>,
    rx: Receiver<Message<O>>,
}

/// What came back from a push that did not go in.
pub enum Refused<O> {
    Full(Message<O>),
    /// The encoder is gone; nothing will ever be taken.
    Disconnected(Message<O>),
}

impl<O> Ring<O> {
    pub fn new(capacity: usize) -> Self {
        let (tx, rx) = bounded(capacity.max(1));
        Ring { tx, rx }
    }

    #[inline]
    pub fn try_push(&self, msg: Message<O>) -> Result<(), Refused<O>> {
        self.tx.try_send(msg).map_err(|e| match e {
            TrySendError::Full(m) => Refused::Full(m),
            TrySendError::Disconnected(m) => Refused::Disconnected(m),
        })
    }

    pub fn push_timeout(&self, msg: Message<O>, timeout: Duration) -> Result<(), Refused<O>> {
        self.tx.send_timeout(msg, timeout).map_err(|e| match e {
            SendTimeoutError::Timeout(m) => Refused::Full(m),
            SendTimeoutError::Disconnected(m) => Refused::Disconnected(m),
        })
    }

    /// The next message, or `None` at the deadline.
    pub fn pop_until(&self, deadline: Instant) -> Option<Message<O>> {
        self.rx.recv_deadline(deadline).ok()
    }

    pub fn try_pop(&self) -> Option<Message<O>> {
        self.rx.try_recv().ok()
    }

    pub fn len(&self) -> usize {
        self.tx.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tx.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.tx.capacity().unwrap_or(usize::MAX)
    }
}

/// The bytes queued records keep alive (callers' arrays, not copies), and a way to wait for
/// them to go down: the ring's second bound, beside its count of records.
#[derive(Default)]
pub struct ByteBudget {
    used: AtomicUsize,
    limit: usize,
    waiters: AtomicUsize,
    lock: Mutex<()>,
    freed: Condvar,
}

impl ByteBudget {
    pub fn new(limit: usize) -> Self {
        ByteBudget { limit, ..ByteBudget::default() }
    }

    pub fn used(&self) -> usize {
        self.used.load(SeqCst)
    }

    /// Reserves `n` bytes if they fit; a batch larger than the limit fits an empty ring.
    pub fn try_reserve(&self, n: usize) -> bool {
        let mut used = self.used.load(SeqCst);
        loop {
            if used != 0 && used.saturating_add(n) > self.limit {
                return false;
            }
            match self.used.compare_exchange_weak(used, used + n, SeqCst, SeqCst) {
                Ok(_) => return true,
                Err(now) => used = now,
            }
        }
    }

    /// Reserves `n` bytes, waiting until `deadline` for room.
    pub fn reserve_until(&self, n: usize, deadline: Instant) -> bool {
        if self.try_reserve(n) {
            return true;
        }
        // Announce the wait before checking again, so that a release in between notifies us.
        self.waiters.fetch_add(1, SeqCst);
        let mut guard = self.lock.lock();
        let reserved = loop {
            if self.try_reserve(n) {
                break true;
            }
            if self.freed.wait_until(&mut guard, deadline).timed_out() {
                break self.try_reserve(n);
            }
        };
        drop(guard);
        self.waiters.fetch_sub(1, SeqCst);
        reserved
    }

    pub fn release(&self, n: usize) {
        self.used.fetch_sub(n, SeqCst);
        if self.waiters.load(SeqCst) > 0 {
            let _guard = self.lock.lock();
            self.freed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flush(n: u64) -> Message<()> {
        Message::Flush(n)
    }

    #[test]
    fn full_ring_refuses_at_once_and_gives_the_message_back() {
        let ring = Ring::new(2);
        assert!(ring.try_push(flush(1)).is_ok());
        assert!(ring.try_push(flush(2)).is_ok());
        let started = Instant::now();
        match ring.try_push(flush(3)) {
            Err(Refused::Full(Message::Flush(3))) => {}
            _ => panic!("expected the third message back"),
        }
        assert!(started.elapsed() < Duration::from_millis(50));
        assert_eq!(ring.len(), 2);
    }

    #[test]
    fn block_waits_for_room_then_gives_up() {
        let ring = Ring::new(1);
        ring.try_push(flush(1)).ok().unwrap();
        let t0 = Instant::now();
        assert!(matches!(ring.push_timeout(flush(2), Duration::from_millis(30)), Err(Refused::Full(_))));
        assert!(t0.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn fifo_across_producers() {
        let ring = std::sync::Arc::new(Ring::<()>::new(1024));
        let handles: Vec<_> = (0..4u64)
            .map(|p| {
                let ring = ring.clone();
                std::thread::spawn(move || {
                    for i in 0..200u64 {
                        ring.push_timeout(Message::Flush(p * 1000 + i), Duration::from_secs(5)).ok().unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let mut last = [None::<u64>; 4];
        let mut n = 0;
        while let Some(Message::Flush(v)) = ring.try_pop() {
            let p = (v / 1000) as usize;
            assert!(last[p].is_none_or(|l| l < v), "per-producer order kept");
            last[p] = Some(v);
            n += 1;
        }
        assert_eq!(n, 800);
    }

    #[test]
    fn byte_budget_holds_back_but_takes_a_large_batch_when_empty() {
        let b = ByteBudget::new(100);
        assert!(b.try_reserve(1_000), "an empty ring takes any batch");
        assert!(!b.try_reserve(1));
        b.release(1_000);
        assert!(b.try_reserve(60));
        assert!(b.try_reserve(40));
        assert!(!b.try_reserve(1));
        assert_eq!(b.used(), 100);
    }

    #[test]
    fn a_release_wakes_a_waiter() {
        let b = std::sync::Arc::new(ByteBudget::new(10));
        assert!(b.try_reserve(10));
        let waiter = {
            let b = b.clone();
            std::thread::spawn(move || b.reserve_until(5, Instant::now() + Duration::from_secs(10)))
        };
        std::thread::sleep(Duration::from_millis(50));
        let t0 = Instant::now();
        b.release(10);
        assert!(waiter.join().unwrap());
        assert!(t0.elapsed() < Duration::from_secs(5), "woken, not timed out");
        assert_eq!(b.used(), 5);
    }
}
