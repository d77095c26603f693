//! The encoder thread: takes records off the ring, encodes them into chunks, hands sealed
//! chunks on. It never touches the interpreter and never drops an owner: the owners of every
//! record it takes, encoded, refused or lost to a panic, go back through `released` for the
//! Python side to drop.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use parking_lot::Mutex;

use crate::chunk::{Chunk, Chunker};
use crate::clock::Clock;
use crate::handback::Handback;
use crate::record::Record;
use crate::ring::{ByteBudget, Message, Ring};
use crate::stats::{Drop, Stats};

/// How often an idle encoder looks at the clock, for partition ends.
pub(crate) const TICK: Duration = Duration::from_millis(100);
/// How long the encoder naps between looks at the ring while rows keep coming.
const NAP: Duration = Duration::from_micros(500);
/// How long after the last row it keeps napping before it blocks on the ring again.
const STAY_AWAKE: Duration = Duration::from_millis(50);

/// What the encoder hands on, in order.
#[derive(Debug)]
pub enum Output {
    Chunk(Chunk),
    /// Every record pushed before `flush()` returned this ticket is in a chunk handed on above.
    Flushed(u64),
    /// The encoder has stopped; nothing follows.
    Closed,
}

/// What the encoder reports about work in progress.
#[derive(Default, Debug)]
pub struct Gauges {
    pub open_chunks: AtomicU64,
    pub open_bytes: AtomicU64,
}

/// Starts the thread. If encoding panics (a bug), the panic is caught, its message stored in
/// `failure`, and a `Survivor` keeps the pipeline answering.
pub(crate) fn spawn<O: Send + 'static>(
    mut encoder: Encoder<O>,
    failure: Arc<Mutex<Option<String>>>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("modeltap-encoder".into()).spawn(move || {
        let survivor = encoder.survivor();
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| encoder.run())) {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            *failure.lock() = Some(message);
            // What the failed encoder held: its record (whose rows already in a chunk are
            // counted with it), open chunks and unsent chunks.
            let held = encoder.chunker.open_rows() + encoder.sealed.iter().map(|c| c.rows).sum::<u64>();
            survivor.stats.dropped(Drop::Encoder, held as usize);
            if let Some(rec) = encoder.current.take() {
                let written = encoder.chunker.written();
                survivor.lose(rec, written);
            }
            survivor.drain();
        }
    })
}

pub(crate) struct Encoder<O> {
    pub(crate) ring: Arc<Ring<O>>,
    pub(crate) queue_bytes: Arc<ByteBudget>,
    pub(crate) output: Sender<Output>,
    pub(crate) released: Arc<Handback<O>>,
    pub(crate) stats: Arc<Stats>,
    pub(crate) gauges: Arc<Gauges>,
    pub(crate) clock: Clock,
    pub(crate) chunker: Chunker,
    pub(crate) sealed: Vec<Chunk>,
    /// The record being encoded: kept here, not on the stack, so that a panic does not drop
    /// its owners on this thread.
    pub(crate) current: Option<Record<O>>,
}

/// What keeps answering after the encoder failed: every record is counted as lost and
/// released, flushes and close are acknowledged, so nothing hangs and nothing is lost silently.
struct Survivor<O> {
    ring: Arc<Ring<O>>,
    queue_bytes: Arc<ByteBudget>,
    output: Sender<Output>,
    released: Arc<Handback<O>>,
    stats: Arc<Stats>,
}

impl<O> Survivor<O> {
    /// Counts `rec` as lost (but for `written` rows, already in a chunk) and hands its owners
    /// back.
    fn lose(&self, mut rec: Record<O>, written: usize) {
        self.stats.dropped(Drop::Encoder, rec.rows().saturating_sub(written));
        self.queue_bytes.release(rec.batch.nbytes());
        if let Some(kept) = rec.release() {
            self.released.push(kept);
        }
    }

    fn drain(self) {
        loop {
            match self.ring.pop_until(Instant::now() + TICK) {
                Some(Message::Record(rec)) => {
                    self.lose(rec, 0);
                    self.released.wake();
                }
                Some(Message::Flush(ticket)) => {
                    let _ = self.output.send(Output::Flushed(ticket));
                }
                Some(Message::Close) => {
                    let _ = self.output.send(Output::Closed);
                    return;
                }
                None => {}
            }
        }
    }
}

/// Counts a sealed chunk and hands it on. Blocks while the uploader is behind: the ring then
/// fills and drops are counted. Once the receiver is gone (the pipeline was dropped) nothing
/// is delivered any more, so there is no one left to count for.
fn hand_on(output: &Sender<Output>, stats: &Stats, chunk: Chunk) {
    Stats::add(&stats.bytes_encoded, chunk.data.len());
    Stats::add(&stats.chunks_sealed, 1);
    let _ = output.send(Output::Chunk(chunk));
}

impl<O> Encoder<O> {
    fn survivor(&self) -> Survivor<O> {
        Survivor {
            ring: self.ring.clone(),
            queue_bytes: self.queue_bytes.clone(),
            output: self.output.clone(),
            released: self.released.clone(),
            stats: self.stats.clone(),
        }
    }

    fn run(&mut self) {
        let mut next_check = Instant::now() + TICK;
        let mut awake_until = Instant::now();
        loop {
            let deadline = self.chunker.next_deadline().map_or(next_check, |d| d.min(next_check));
            let msg = match self.ring.try_pop() {
                Some(m) => Some(m),
                // While rows keep coming, nap rather than block: a receiver blocked on the ring
                // must be woken by each collect(), a futex call on the scoring thread.
                None if Instant::now() < awake_until => {
                    std::thread::sleep(NAP);
                    self.ring.try_pop()
                }
                None => self.ring.pop_until(deadline),
            };
            let idle = msg.is_none();
            let now = Instant::now();
            if !idle {
                awake_until = now + STAY_AWAKE;
            }
            match msg {
                Some(Message::Record(rec)) => {
                    let (rows, bytes) = (rec.rows(), rec.batch.nbytes());
                    let rec = self.current.insert(rec);
                    match rec.batch.import_arrow() {
                        Ok(()) => {
                            let (output, stats) = (&self.output, &self.stats);
                            self.chunker.append(rec, now, &mut |chunk| hand_on(output, stats, chunk));
                            Stats::add(&self.stats.rows_encoded, rows);
                        }
                        Err(e) => {
                            // The record is not written, whole: counted and its reason kept
                            // for the log. Its Arrow data still goes back to be released.
                            *self.stats.last_arrow_error.lock() = Some(e.to_string());
                            self.stats.dropped(Drop::ArrowImport, rows);
                        }
                    }
                    let mut rec = self.current.take().expect("set above");
                    self.queue_bytes.release(bytes);
                    if let Some(kept) = rec.release() {
                        self.released.push(kept);
                    }
                }
                Some(Message::Flush(ticket)) => {
                    self.chunker.seal_all(&mut self.sealed);
                    self.emit();
                    let _ = self.output.send(Output::Flushed(ticket));
                }
                Some(Message::Close) => {
                    self.chunker.seal_all(&mut self.sealed);
                    self.emit();
                    self.update_gauges();
                    let _ = self.output.send(Output::Closed);
                    return;
                }
                None => {}
            }
            if idle || self.ring.is_empty() {
                self.released.wake();
            }
            if now >= next_check || idle {
                self.chunker.seal_due(now, self.clock.now_ns(), &mut self.sealed);
                self.update_gauges();
                next_check = now + TICK;
            }
            self.emit();
        }
    }

    fn emit(&mut self) {
        for chunk in std::mem::take(&mut self.sealed) {
            hand_on(&self.output, &self.stats, chunk);
        }
    }

    fn update_gauges(&self) {
        self.gauges.open_chunks.store(self.chunker.open_chunks() as u64, Relaxed);
        self.gauges.open_bytes.store(self.chunker.open_bytes() as u64, Relaxed);
    }
}
