//! The bounded queue between scoring threads and the encoder thread.
//!
//! crossbeam's array channel is a lock-free bounded MPMC queue with blocking waits built in:
//! `try_push` never blocks (the `drop` policy), `push_timeout` waits (the `block` policy).

use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, SendTimeoutError, Sender, TrySendError};

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
}
