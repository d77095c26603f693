//! The pipeline: scoring threads push records into the ring, one encoder thread turns them
//! into chunks, and whoever uploads takes the chunks from `next_output`.
//!
//! `O` is what keeps a record's memory alive (a reference to a numpy array in the Python
//! build). The encoder never drops one: it hands each back (`handback`): owners through
//! `pop_released`, so that the Python side can release them while attached to the interpreter,
//! Arrow data to `next_output`'s caller, which drops it while it waits for outputs. A pipeline
//! dropped without `close()` ends its encoder first (`abandon`), so that the thread that drops
//! the pipeline drops the last owners, never the encoder.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver};
use parking_lot::{Mutex, RwLock};

use crate::batch::Batch;
use crate::chunk::Chunker;
use crate::clock::Clock;
pub use crate::encoder::Output;
use crate::encoder::{self, Encoder, Gauges};
use crate::error::Error;
use crate::handback::Handback;
use crate::record::{Correlation, Record, Released};
use crate::ring::{ByteBudget, Message, Refused, Ring};
use crate::stats::{Drop, Stats};
use crate::stream::{Admission, StreamConfig};
use crate::switch::{self, Switch};

#[derive(Clone, Debug)]
pub struct Config {
    /// Records (collect calls) the ring holds before `collect()` drops or waits.
    pub capacity: usize,
    /// Bytes of collected values the ring may keep alive (they are the callers' arrays, not
    /// copies) before `collect()` drops or waits. A single larger batch is still taken when
    /// the ring is empty.
    pub max_queue_bytes: usize,
    /// A chunk is sealed once it holds this many bytes.
    pub chunk_bytes: usize,
    /// ... or once it has been open this long.
    pub flush_interval: Duration,
    /// Sealed chunks waiting for the uploader before the encoder pauses (and the ring fills).
    pub max_sealed: usize,
    pub clock: Clock,
    /// Random per process; the high half of every generated correlation id.
    pub nonce: u64,
    /// The process switch every admission reads (tests pass their own).
    pub switch: &'static Switch,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            capacity: 65_536,
            max_queue_bytes: 256 << 20,
            chunk_bytes: 4 << 20,
            flush_interval: Duration::from_secs(5),
            max_sealed: 64,
            clock: Clock::System,
            nonce: 0,
            switch: &switch::PROCESS,
        }
    }
}

/// What keeps a record's memory alive, and what a pipeline dropped without `close()` does with
/// the owners it gets back.
pub trait Owner: Send + Sized + 'static {
    /// Runs `f`, which waits for the encoder, so that other threads can go on meanwhile (in
    /// Python: detached from the interpreter).
    fn detached<R: Send>(f: impl FnOnce() -> R + Send) -> R {
        f()
    }

    /// Takes what an abandoned pipeline gave back: drops the owners where that is safe and
    /// reports the rows lost (its counters go with it).
    fn abandoned(gone: Abandoned<Self>) {
        drop(gone)
    }
}

/// A `collect()` call's data, converted: the batch, what keeps its memory alive, and the
/// column names it carries (a frame's labels), if any.
pub struct Input<O> {
    pub batch: Batch,
    pub owner: Option<O>,
    pub labels: Option<Vec<String>>,
}

pub struct Pipeline<O: Owner> {
    ring: Arc<Ring<O>>,
    queue_bytes: Arc<ByteBudget>,
    output: Receiver<Output>,
    released: Arc<Handback<O>>,
    stats: Arc<Stats>,
    gauges: Arc<Gauges>,
    clock: Clock,
    nonce: u64,
    switch: &'static Switch,
    counter: AtomicU64,
    tickets: AtomicU64,
    /// Where records go once this pipeline is closed, when `configure()` replaced it.
    successor: OnceLock<Arc<Pipeline<O>>>,
    /// `true` once closed. Producers hold it for reading while they push, so that nothing can
    /// slip into the ring behind the `Close` message.
    closed: RwLock<bool>,
    close_sent: AtomicBool,
    encoder: Mutex<Option<JoinHandle<()>>>,
    /// Why the encoder thread failed, if it did (a bug: it should not).
    failure: Arc<Mutex<Option<String>>>,
    /// The process that started the encoder: a forked child has none.
    pid: u32,
}

/// What an abandoned pipeline gave back: the owners of every record it still held, for the
/// caller to drop where that is safe, and the rows that will never be written (counted as
/// `rows_dropped_closed`), for the log.
pub struct Abandoned<O> {
    pub owners: Vec<Released<O>>,
    pub rows_lost: u64,
}

impl<O: Owner> Pipeline<O> {
    pub fn start(config: Config) -> std::io::Result<Self> {
        let ring = Arc::new(Ring::new(config.capacity));
        let queue_bytes = Arc::new(ByteBudget::new(config.max_queue_bytes));
        let (out_tx, out_rx) = bounded(config.max_sealed.max(1));
        let released = Arc::new(Handback::default());
        let stats = Arc::new(Stats::default());
        let gauges = Arc::new(Gauges::default());
        let failure = Arc::new(Mutex::new(None));
        let handle = encoder::spawn(
            Encoder {
                ring: ring.clone(),
                queue_bytes: queue_bytes.clone(),
                output: out_tx,
                released: released.clone(),
                stats: stats.clone(),
                gauges: gauges.clone(),
                clock: config.clock.clone(),
                chunker: Chunker::new(config.chunk_bytes, config.flush_interval),
                sealed: Vec::new(),
                current: None,
            },
            failure.clone(),
        )?;
        Ok(Pipeline {
            ring,
            queue_bytes,
            output: out_rx,
            released,
            stats,
            gauges,
            clock: config.clock,
            nonce: config.nonce,
            switch: config.switch,
            counter: AtomicU64::new(0),
            tickets: AtomicU64::new(0),
            successor: OnceLock::new(),
            closed: RwLock::new(false),
            close_sent: AtomicBool::new(false),
            encoder: Mutex::new(Some(handle)),
            failure,
            pid: std::process::id(),
        })
    }

    /// New ids and the current time for a request.
    pub fn correlation(&self, prefix: Option<Arc<str>>, request_id: Option<Arc<str>>) -> Correlation {
        Correlation {
            nonce: self.nonce,
            counter: self.counter.fetch_add(1, Relaxed),
            ts_ns: self.clock.now_ns(),
            prefix,
            request_id,
        }
    }

    /// The call's correlation: the one given (another collector's), else a new one.
    pub fn correlation_for(
        &self,
        given: Option<&Correlation>,
        prefix: Option<String>,
        request_id: Option<String>,
    ) -> Result<Correlation, Error> {
        match given {
            Some(_) if prefix.is_some() || request_id.is_some() => Err(Error::CorrelationTwice),
            Some(c) => Ok(c.clone()),
            None => Ok(self.correlation(prefix.map(Arc::from), request_id.map(Arc::from))),
        }
    }

    /// Decides a `collect()` call: admission (switches, sampling; `rows` counts what is left
    /// out), then `convert` (only when admitted) and the column check. The record to submit, or
    /// None when there is nothing to queue. A call that fails here changes nothing.
    pub fn prepare<E: From<Error>>(
        &self,
        stream: &Arc<StreamConfig>,
        corr: &Correlation,
        rows: impl FnOnce(usize) -> usize,
        convert: impl FnOnce(usize) -> Result<Input<O>, E>,
    ) -> Result<Option<Record<O>>, E> {
        match stream.admit(self.switch, corr.nonce, corr.counter) {
            Admission::Admitted => {}
            Admission::Disabled => {
                Stats::add(&self.stats.rows_disabled, rows(stream.ncols()));
                return Ok(None);
            }
            Admission::SampledOut => {
                Stats::add(&self.stats.rows_sampled_out, rows(stream.ncols()));
                return Ok(None);
            }
        }
        let Input { batch, owner, labels } = convert(stream.ncols())?;
        stream.accept(batch.rows(), batch.cols(), labels, |j| batch.column_type(j))?;
        if batch.rows() == 0 {
            return Ok(None);
        }
        Ok(Some(Record { stream: stream.clone(), correlation: corr.clone(), batch, owner }))
    }

    /// From now on, records offered to this pipeline after it closed go to `next`: threads
    /// that took this pipeline just before `configure()` moved their collector lose nothing.
    pub fn retire_into(&self, next: Arc<Pipeline<O>>) {
        let _ = self.successor.set(next);
    }

    /// Offers a record to the ring: at once (`wait: None`) or waiting up to `wait` for room.
    /// A refused record comes back with the reason, already counted.
    pub fn submit(&self, rec: Record<O>, wait: Option<Duration>) -> Result<(), (Drop, Record<O>)> {
        let rows = rec.rows();
        let bytes = rec.batch.nbytes();
        let deadline = wait.map(|w| Instant::now() + w);
        let closed = self.closed.read();
        if *closed {
            if let Some(next) = self.successor.get() {
                drop(closed);
                return next.submit(rec, wait);
            }
            self.stats.dropped(Drop::Closed, rows);
            return Err((Drop::Closed, rec));
        }
        let full = if wait.is_some() { Drop::Timeout } else { Drop::RingFull };
        let reserved = match deadline {
            None => self.queue_bytes.try_reserve(bytes),
            Some(d) => self.queue_bytes.reserve_until(bytes, d),
        };
        if !reserved {
            self.stats.dropped(full, rows);
            return Err((full, rec));
        }
        // Counted before the push so that `rows_encoded` never runs ahead of it.
        Stats::add(&self.stats.rows_collected, rows);
        let pushed = match deadline {
            None => self.ring.try_push(Message::Record(rec)),
            Some(d) => self.ring.push_timeout(Message::Record(rec), d.saturating_duration_since(Instant::now())),
        };
        drop(closed);
        match pushed {
            Ok(()) => {
                Stats::add(&self.stats.records_collected, 1);
                Ok(())
            }
            Err(refused) => {
                self.queue_bytes.release(bytes);
                self.stats.rows_collected.fetch_sub(rows as u64, Relaxed);
                let why = match refused {
                    Refused::Full(_) => full,
                    Refused::Disconnected(_) => Drop::Closed,
                };
                self.stats.dropped(why, rows);
                match refused {
                    Refused::Full(Message::Record(r)) | Refused::Disconnected(Message::Record(r)) => Err((why, r)),
                    _ => unreachable!("a record goes in, a record comes back"),
                }
            }
        }
    }

    /// Asks the encoder to seal everything collected so far; the returned ticket comes out of
    /// `next_output` as `Output::Flushed` after those chunks. `None` when the ring stayed full
    /// for `timeout` or the pipeline is closed.
    pub fn flush(&self, timeout: Duration) -> Option<u64> {
        if self.close_sent.load(Relaxed) {
            return None;
        }
        let ticket = self.tickets.fetch_add(1, Relaxed) + 1;
        self.ring.push_timeout(Message::Flush(ticket), timeout).ok().map(|_| ticket)
    }

    /// Refuses new records from now on and asks the encoder to seal everything and stop.
    /// False when the ring stayed full for `timeout` (call again to retry).
    pub fn close(&self, timeout: Duration) -> bool {
        *self.closed.write() = true;
        if self.close_sent.load(Relaxed) {
            return true;
        }
        let sent = self.ring.push_timeout(Message::Close, timeout).is_ok();
        self.close_sent.store(sent, Relaxed);
        sent
    }

    pub fn is_closed(&self) -> bool {
        *self.closed.read()
    }

    /// The encoder's next output, waiting up to `timeout`. Meanwhile drops the Arrow data the
    /// encoder is done with, as it arrives: call it on a thread that may wait for the
    /// interpreter (not the encoder), detached from it.
    pub fn next_output(&self, timeout: Duration) -> Option<Output> {
        let deadline = Instant::now() + timeout;
        let drop_arrow = || while self.released.pop_arrow().is_some() {};
        let out = loop {
            drop_arrow();
            crossbeam_channel::select! {
                recv(self.output) -> out => break out.ok(),
                recv(self.released.arrow_arrived()) -> _ => {}
                default(deadline.saturating_duration_since(Instant::now())) => break None,
            }
        };
        // What arrived with the output, so that the caller finds everything before it dropped.
        drop_arrow();
        out
    }

    /// What one record kept alive, which the encoder is done with, for a scoring thread: an
    /// owner, or Arrow data when `next_output`'s caller is behind.
    pub fn pop_released(&self) -> Option<Released<O>> {
        self.released.pop_for_caller()
    }

    /// Anything the encoder is done with.
    pub fn pop_any_released(&self) -> Option<Released<O>> {
        self.released.pop_any()
    }

    /// Waits for the encoder thread to end (after `Output::Closed`).
    pub fn join(&self) {
        if let Some(h) = self.encoder.lock().take() {
            let _ = h.join();
        }
    }

    pub fn stats(&self) -> Vec<(&'static str, u64)> {
        let mut s = self.stats.snapshot();
        s.push(("ring_depth", self.ring.len() as u64));
        s.push(("ring_capacity", self.ring.capacity() as u64));
        s.push(("queue_bytes", self.queue_bytes.used() as u64));
        s.push(("open_chunks", self.gauges.open_chunks.load(Relaxed)));
        s.push(("open_bytes", self.gauges.open_bytes.load(Relaxed)));
        s
    }

    /// Why the last record of Arrow data could not be imported, if one could not.
    pub fn last_arrow_error(&self) -> Option<String> {
        self.stats.last_arrow_error.lock().clone()
    }

    /// Why the encoder thread stopped early, if it did.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().clone()
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Ends a pipeline whose output no one will read any more (its owner is going away without
    /// `close()`): takes back the records still queued, stops the encoder and waits for it,
    /// reading its last chunks, so that afterwards no other thread holds an owner. Rows not
    /// handed out before are counted as `rows_dropped_closed`. Waits (for the record being
    /// encoded): call it detached from the interpreter. Again, or in a forked child, it does
    /// nothing.
    pub fn abandon(&self) -> Abandoned<O> {
        let mut gone = Abandoned { owners: Vec::new(), rows_lost: 0 };
        if std::process::id() != self.pid {
            // The encoder is the parent's: its queues and locks may have been mid-use at the
            // fork. Nothing is touched; the vanished thread's references keep them alive.
            return gone;
        }
        let Some(encoder) = self.encoder.lock().take() else { return gone };
        *self.closed.write() = true;
        let mut lose = |rows: usize| {
            self.stats.dropped(Drop::Closed, rows);
            gone.rows_lost += rows as u64;
        };
        // No one pushes any more: what is queued is taken back, not encoded for no reader.
        while let Some(msg) = self.ring.try_pop() {
            if let Message::Record(mut rec) = msg {
                lose(rec.rows());
                self.queue_bytes.release(rec.batch.nbytes());
                gone.owners.extend(rec.release());
            }
        }
        // A Close sent before may have just been taken back; the encoder answers every one.
        let _ = self.ring.try_push(Message::Close);
        loop {
            match self.output.recv_timeout(encoder::TICK) {
                Ok(Output::Chunk(c)) => lose(c.rows as usize),
                Ok(Output::Closed) => break,
                Ok(Output::Flushed(_)) => {}
                // An earlier close: its `Closed` went to a reader already.
                Err(_) if encoder.is_finished() => break,
                Err(_) => {}
            }
        }
        let _ = encoder.join();
        while let Ok(out) = self.output.try_recv() {
            if let Output::Chunk(c) = out {
                lose(c.rows as usize);
            }
        }
        while let Some(kept) = self.released.pop_any() {
            gone.owners.push(kept);
        }
        gone
    }
}

impl<O: Owner> std::ops::Drop for Pipeline<O> {
    fn drop(&mut self) {
        let this = &*self;
        O::abandoned(O::detached(|| this.abandon()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Kind;
    use crate::chunk::Chunk;
    use crate::clock::Partitioning;
    use crate::stream::MetaColumn;

    impl Owner for Arc<Vec<f64>> {}

    const MIDNIGHT: i64 = 1_709_251_200_000_000_000; // 2024-03-01T00:00:00Z

    fn pipeline(capacity: usize) -> Pipeline<Arc<Vec<f64>>> {
        Pipeline::start(Config { capacity, clock: Clock::manual(MIDNIGHT - 1_000_000), nonce: 9, ..Config::default() })
            .unwrap()
    }

    fn stream(meta: Vec<(MetaColumn, &str)>) -> Arc<StreamConfig> {
        let meta = meta.into_iter().map(|(m, t)| (m, t.to_string())).collect();
        let s = StreamConfig::new(Partitioning::Day, meta, "data", Some(vec!["x".into()])).unwrap();
        s.accept(1, 1, None, |_| Some(crate::schema::ColumnType::Float64)).unwrap();
        Arc::new(s)
    }

    fn record(p: &Pipeline<Arc<Vec<f64>>>, s: &Arc<StreamConfig>, values: Vec<f64>) -> Record<Arc<Vec<f64>>> {
        let values = Arc::new(values);
        Record {
            stream: s.clone(),
            correlation: p.correlation(None, None),
            batch: Batch::from_slice(&values, Kind::F64, values.len(), 1),
            owner: Some(values),
        }
    }

    fn drain(p: &Pipeline<Arc<Vec<f64>>>, until_ticket: Option<u64>) -> Vec<Chunk> {
        let mut chunks = Vec::new();
        loop {
            match p.next_output(Duration::from_secs(10)).expect("the encoder answers") {
                Output::Chunk(c) => chunks.push(c),
                Output::Flushed(t) if Some(t) == until_ticket => return chunks,
                Output::Flushed(_) => {}
                Output::Closed => return chunks,
            }
        }
    }

    /// A record of one float64 column "x" read from a C stream over `batches` (an `Err` makes
    /// the producer fail on `get_next`), as the Python layer makes one from pyarrow data. The
    /// producer holds `held` until its stream is released.
    fn arrow_record(
        p: &Pipeline<Arc<Vec<f64>>>,
        s: &Arc<StreamConfig>,
        rows: usize,
        batches: Vec<Result<Vec<f64>, &str>>,
        held: &Arc<()>,
    ) -> Record<Arc<Vec<f64>>> {
        use crate::arrow::ArrowInput;
        use arrow_array::ffi_stream::FFI_ArrowArrayStream;
        use arrow_array::{ArrayRef, Float64Array, RecordBatch, RecordBatchIterator};
        use arrow_schema::{ArrowError, DataType, Field, Schema};
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, true)]));
        let batches: Vec<_> = batches
            .into_iter()
            .map(|b| match b {
                Ok(v) => {
                    Ok(RecordBatch::try_new(schema.clone(), vec![Arc::new(Float64Array::from(v)) as ArrayRef]).unwrap())
                }
                Err(m) => Err(ArrowError::ComputeError(m.into())),
            })
            .collect::<Vec<_>>();
        let held = held.clone();
        let batches = batches.into_iter().inspect(move |_| {
            let _ = &held;
        });
        let mut stream = FFI_ArrowArrayStream::new(Box::new(RecordBatchIterator::new(batches, schema)));
        let input = unsafe { ArrowInput::take_stream((&mut stream as *mut FFI_ArrowArrayStream).cast()) }.unwrap();
        let column =
            crate::batch::Column::Arrow(crate::batch::ArrowField::new(0, 0, Some(crate::schema::ColumnType::Float64)));
        Record {
            stream: s.clone(),
            correlation: p.correlation(None, None),
            batch: Batch::Arrow { rows, columns: vec![column], inputs: vec![input].into() },
            owner: None,
        }
    }

    #[test]
    fn arrow_records_are_imported_by_the_encoder_or_dropped_whole_and_counted() {
        let p = pipeline(64);
        let s = stream(vec![(MetaColumn::Row, "$row")]);
        let held = Arc::new(());
        let batches = vec![Ok(vec![0.5, -0.0]), Ok(vec![]), Ok(vec![1e300])];
        p.submit(arrow_record(&p, &s, 3, batches, &held), None).ok().unwrap();
        // The producer fails part-way; a stream announcing 2 rows that holds 1.
        p.submit(arrow_record(&p, &s, 2, vec![Ok(vec![7.0]), Err("disk on fire")], &held), None).ok().unwrap();
        p.submit(arrow_record(&p, &s, 2, vec![Ok(vec![8.0])], &held), None).ok().unwrap();
        p.submit(record(&p, &s, vec![9.0]), None).ok().unwrap();
        let t = p.flush(Duration::from_secs(5));
        let text: String = drain(&p, t).iter().map(|c| String::from_utf8_lossy(&c.data).into_owned()).collect();
        assert_eq!(text, "0.5,0\n-0.0,1\n1e+300,2\n9.0,0\n");
        assert_eq!(counter(&p, "rows_dropped_arrow_import"), 4);
        assert_eq!(counter(&p, "rows_encoded"), 4);
        assert_eq!(counter(&p, "queue_bytes"), 0);
        assert!(p.last_arrow_error().is_some_and(|m| m.contains("1 rows, 2 when collect() took it")));
        // Every input comes back, imported or not, and the output reader released it.
        assert!(std::iter::from_fn(|| p.pop_any_released()).all(|kept| kept.arrow.is_empty()));
        assert_eq!(Arc::strong_count(&held), 1, "every producer's stream released");
        assert!(p.close(Duration::from_secs(5)));
    }

    #[test]
    fn flush_delivers_everything_before_it_across_midnight() {
        let p = pipeline(1024);
        let s = stream(vec![(MetaColumn::Row, "$row")]);
        p.submit(record(&p, &s, vec![1.0, 2.0]), None).ok().unwrap();
        p.clock().set_ns(MIDNIGHT);
        p.submit(record(&p, &s, vec![3.0]), None).ok().unwrap();
        let t = p.flush(Duration::from_secs(1));
        let chunks = drain(&p, t);
        let text: Vec<_> =
            chunks.iter().map(|c| (c.partition.civil().2, String::from_utf8_lossy(&c.data).into_owned())).collect();
        assert_eq!(text, [(29, "1.0,0\n2.0,1\n".to_string()), (1, "3.0,0\n".to_string())]);
        // Owners come back to be released where it is safe.
        let mut released = 0;
        while p.pop_any_released().is_some() {
            released += 1;
        }
        assert_eq!(released, 2);
        assert!(p.close(Duration::from_secs(1)));
        assert!(drain(&p, None).is_empty());
        p.join();
    }

    #[test]
    fn a_full_ring_drops_without_blocking_and_counts_every_row() {
        // A ring of 1 and an encoder held up by a full output channel.
        let p: Pipeline<Arc<Vec<f64>>> =
            Pipeline::start(Config { capacity: 1, chunk_bytes: 1, max_sealed: 1, ..Config::default() }).unwrap();
        let s = stream(vec![]);
        let t0 = Instant::now();
        let (mut ok, mut dropped) = (0u64, 0u64);
        for _ in 0..10_000 {
            match p.submit(record(&p, &s, vec![1.0, 2.0, 3.0]), None) {
                Ok(()) => ok += 3,
                Err((Drop::RingFull, _)) => dropped += 3,
                Err((why, _)) => panic!("{why:?}"),
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "never blocks");
        assert!(dropped > 0);
        let stats: std::collections::HashMap<_, _> = p.stats().into_iter().collect();
        assert_eq!(stats["rows_dropped_ring_full"], dropped);
        assert_eq!(stats["rows_collected"], ok);
        p.close(Duration::from_millis(1));
    }

    #[test]
    fn block_policy_waits_then_counts_a_timeout() {
        let p: Pipeline<Arc<Vec<f64>>> =
            Pipeline::start(Config { capacity: 1, chunk_bytes: 1, max_sealed: 1, ..Config::default() }).unwrap();
        let s = stream(vec![]);
        let mut timeouts = 0;
        for _ in 0..20 {
            if let Err((why, _)) = p.submit(record(&p, &s, vec![1.0]), Some(Duration::from_millis(5))) {
                assert_eq!(why, Drop::Timeout);
                timeouts += 1;
            }
        }
        assert!(timeouts > 0, "nobody drains the output, so the ring must stay full");
    }

    #[test]
    fn queued_bytes_are_bounded_and_waited_for() {
        // Nobody drains the output: the encoder stops after the first chunk, so bytes stay queued.
        let p: Pipeline<Arc<Vec<f64>>> =
            Pipeline::start(Config { max_queue_bytes: 8 * 10, chunk_bytes: 1, max_sealed: 1, ..Config::default() })
                .unwrap();
        let s = stream(vec![]);
        let mut accepted = 0;
        for _ in 0..50 {
            if p.submit(record(&p, &s, vec![0.0; 4]), None).is_ok() {
                accepted += 1;
            }
        }
        assert!(accepted < 10, "the byte limit holds back the ring: {accepted} accepted");
        // Once the encoder is stuck, top the ring up to the limit; then a wait must time out.
        std::thread::sleep(Duration::from_millis(100));
        while p.submit(record(&p, &s, vec![0.0; 4]), None).is_ok() {}
        let t0 = Instant::now();
        let r = p.submit(record(&p, &s, vec![0.0; 4]), Some(Duration::from_millis(50)));
        assert!(matches!(r, Err((Drop::Timeout, _))));
        assert!(t0.elapsed() >= Duration::from_millis(50));
        // A batch larger than the whole limit still goes in once the ring is empty.
        let q: Pipeline<Arc<Vec<f64>>> = Pipeline::start(Config { max_queue_bytes: 8, ..Config::default() }).unwrap();
        let s = stream(vec![]);
        assert!(q.submit(record(&q, &s, vec![0.0; 100]), None).is_ok());
    }

    #[test]
    fn a_blocked_producer_wakes_when_bytes_free_up() {
        let p = Arc::new(
            Pipeline::<Arc<Vec<f64>>>::start(Config { max_queue_bytes: 8 * 100, ..Config::default() }).unwrap(),
        );
        let s = stream(vec![]);
        let consumer = {
            let p = p.clone();
            std::thread::spawn(move || {
                let mut rows = 0;
                while let Some(out) = p.next_output(Duration::from_secs(30)) {
                    match out {
                        Output::Chunk(c) => rows += c.rows,
                        Output::Closed => break,
                        Output::Flushed(_) => {}
                    }
                }
                rows
            })
        };
        for _ in 0..500 {
            p.submit(record(&p, &s, vec![1.0; 60]), Some(Duration::from_secs(30))).ok().unwrap();
        }
        assert!(p.close(Duration::from_secs(30)));
        assert_eq!(consumer.join().unwrap(), 500 * 60);
    }

    #[test]
    fn a_failed_encoder_counts_what_it_cannot_write_and_still_closes() {
        let p = pipeline(64);
        let s = stream(vec![]);
        // A malformed batch (a rendered column without its field ends) makes encoding panic.
        let bad = Record {
            stream: s.clone(),
            correlation: p.correlation(None, None),
            batch: Batch::Columns { rows: 1, columns: vec![crate::batch::Column::Rendered(Default::default())] },
            owner: Some(Arc::new(vec![])),
        };
        p.submit(bad, None).ok().unwrap();
        p.submit(record(&p, &s, vec![1.0, 2.0]), None).ok().unwrap();
        let t = p.flush(Duration::from_secs(5));
        assert!(drain(&p, t).is_empty());
        assert!(p.failure().is_some_and(|m| m.contains("index out of bounds")), "{:?}", p.failure());
        let stats: std::collections::HashMap<_, _> = p.stats().into_iter().collect();
        assert_eq!(stats["rows_dropped_encoder"], 3, "the bad record's row and the two after it");
        assert_eq!(stats["queue_bytes"], 0);
        let mut released = 0;
        while p.pop_any_released().is_some() {
            released += 1;
        }
        assert_eq!(released, 2, "owners still come back, the failed record's too");
        assert!(p.close(Duration::from_secs(5)));
        assert!(matches!(p.next_output(Duration::from_secs(5)), Some(Output::Closed)));
        p.join();
    }

    fn input(values: Vec<f64>, cols: usize, labels: Option<Vec<&str>>) -> Result<Input<Arc<Vec<f64>>>, Error> {
        let values = Arc::new(values);
        let rows = values.len().checked_div(cols).unwrap_or(0);
        Ok(Input {
            batch: Batch::from_slice(&values, Kind::F64, rows, cols),
            owner: Some(values),
            labels: labels.map(|l| l.into_iter().map(String::from).collect()),
        })
    }

    fn counter<O: Owner>(p: &Pipeline<O>, name: &str) -> u64 {
        p.stats().into_iter().find(|(k, _)| *k == name).unwrap().1
    }

    #[test]
    fn prepare_admits_converts_and_checks_and_counts_what_it_leaves_out() {
        static SWITCH: Switch = Switch::new(true);
        let p: Pipeline<Arc<Vec<f64>>> =
            Pipeline::start(Config { switch: &SWITCH, nonce: 3, ..Config::default() }).unwrap();
        let s = Arc::new(StreamConfig::new(Partitioning::Day, vec![], "data", None).unwrap());
        let corr = p.correlation(None, None);
        let never = |_: usize| -> Result<Input<Arc<Vec<f64>>>, Error> { panic!("not admitted: not converted") };

        SWITCH.set(false);
        assert!(p.prepare(&s, &corr, |_| 2, never).unwrap().is_none());
        assert_eq!(counter(&p, "rows_disabled"), 2);
        SWITCH.set(true);
        s.set_enabled(false);
        assert!(p.prepare(&s, &corr, |_| 3, never).unwrap().is_none());
        assert_eq!(counter(&p, "rows_disabled"), 5);
        s.set_enabled(true);
        s.set_sample_rate(0.0).unwrap();
        assert!(p.prepare(&s, &corr, |_| 4, never).unwrap().is_none());
        assert_eq!(counter(&p, "rows_sampled_out"), 4);
        assert!(s.contract().is_none(), "calls left out fix nothing");
        s.set_sample_rate(1.0).unwrap();

        // A conversion error and a refused batch change nothing either.
        let failed = p.prepare(&s, &corr, |_| 1, |_| Err::<Input<_>, _>(Error::NoNames));
        assert!(failed.is_err());
        assert!(p.prepare(&s, &corr, |_| 1, |_| input(vec![1.0, 2.0], 2, Some(vec!["a", "a"]))).is_err());
        assert!(s.contract().is_none());

        let rec = p.prepare(
            &s,
            &corr,
            |_| 1,
            |ncols| {
                assert_eq!(ncols, 0, "converted before anything fixed the width");
                input(vec![1.0, 2.0, 3.0, 4.0], 2, Some(vec!["a", "b"]))
            },
        );
        assert_eq!(rec.unwrap().unwrap().rows(), 2);
        assert_eq!(&*s.contract().unwrap().header, b"a,b\n");
        let wider = p.prepare(
            &s,
            &corr,
            |_| 1,
            |ncols| {
                assert_eq!(ncols, 2);
                input(vec![1.0, 2.0, 3.0], 3, None)
            },
        );
        assert_eq!(wider.err(), Some(Error::ColumnMismatch { expected: 2, got: 3 }));
        assert!(p.prepare(&s, &corr, |_| 0, |_| input(vec![], 0, None)).unwrap().is_none(), "nothing to queue");
        let both = p.correlation_for(Some(&corr), Some("loan".into()), None);
        assert_eq!(both.err(), Some(Error::CorrelationTwice));
        assert_eq!(p.correlation_for(Some(&corr), None, None).unwrap().counter, corr.counter);
    }

    #[test]
    fn a_retired_pipeline_forwards_to_its_successor() {
        let old = pipeline(16);
        let new = Arc::new(pipeline(16));
        let s = stream(vec![]);
        old.retire_into(new.clone());
        assert!(old.close(Duration::from_secs(1)));
        assert!(old.submit(record(&old, &s, vec![1.0, 2.0]), None).is_ok());
        assert_eq!(counter(&old, "rows_dropped_closed"), 0);
        assert_eq!(counter(&new, "rows_collected"), 2);
        let t = new.flush(Duration::from_secs(1));
        assert_eq!(drain(&new, t).iter().map(|c| c.rows).sum::<u64>(), 2);
        assert!(new.close(Duration::from_secs(1)));
    }

    #[test]
    fn nothing_is_accepted_after_close() {
        let p = pipeline(16);
        let s = stream(vec![]);
        assert!(p.close(Duration::from_secs(1)));
        match p.submit(record(&p, &s, vec![1.0, 2.0]), None) {
            Err((Drop::Closed, r)) => assert_eq!(r.rows(), 2),
            _ => panic!("accepted after close"),
        }
        assert!(p.flush(Duration::from_millis(10)).is_none());
        assert!(matches!(p.next_output(Duration::from_secs(5)), Some(Output::Closed)));
        p.join();
    }

    #[test]
    fn concurrent_producers_lose_nothing_under_block() {
        let p = Arc::new(pipeline(8));
        let s = stream(vec![]);
        let producers: Vec<_> = (0..4)
            .map(|_| {
                let (p, s) = (p.clone(), s.clone());
                std::thread::spawn(move || {
                    for i in 0..2_000 {
                        p.submit(record(&p, &s, vec![i as f64]), Some(Duration::from_secs(30))).ok().unwrap();
                    }
                })
            })
            .collect();
        let consumer = {
            let p = p.clone();
            std::thread::spawn(move || {
                let mut rows = 0;
                loop {
                    match p.next_output(Duration::from_secs(30)) {
                        Some(Output::Chunk(c)) => rows += c.rows,
                        Some(Output::Closed) | None => return rows,
                        Some(Output::Flushed(_)) => {}
                    }
                    while p.pop_any_released().is_some() {}
                }
            })
        };
        for h in producers {
            h.join().unwrap();
        }
        assert!(p.close(Duration::from_secs(30)));
        assert_eq!(consumer.join().unwrap(), 8_000);
    }

    /// An owner that notes the thread it is dropped on.
    struct Witness {
        values: Arc<Vec<f64>>,
        dropped_on: Arc<parking_lot::Mutex<Vec<std::thread::ThreadId>>>,
    }

    impl std::ops::Drop for Witness {
        fn drop(&mut self) {
            self.dropped_on.lock().push(std::thread::current().id());
        }
    }

    impl Owner for Witness {}

    #[test]
    fn a_pipeline_dropped_without_close_drops_every_owner_on_the_dropping_thread_and_counts_its_rows() {
        let dropped_on = Arc::new(parking_lot::Mutex::new(Vec::new()));
        // One record a chunk, two chunks waiting at most: the encoder blocks with records left.
        let p: Pipeline<Witness> =
            Pipeline::start(Config { chunk_bytes: 1, max_sealed: 2, ..Config::default() }).unwrap();
        let s = stream(vec![]);
        let (mut accepted, records) = (0, 200);
        for i in 0..records {
            let values = Arc::new(vec![i as f64; 3]);
            let rec = Record {
                stream: s.clone(),
                correlation: p.correlation(None, None),
                batch: Batch::from_slice(&values, Kind::F64, 3, 1),
                owner: Some(Witness { values: values.clone(), dropped_on: dropped_on.clone() }),
            };
            match p.submit(rec, None) {
                Ok(()) => accepted += 3,
                Err((_, refused)) => drop(refused),
            }
        }
        let mut read = 0;
        if let Some(Output::Chunk(c)) = p.next_output(Duration::from_secs(10)) {
            read += c.rows;
        }
        assert_eq!(dropped_on.lock().len(), records - accepted as usize / 3, "only the refused ones so far");
        let gone = p.abandon();
        assert!(p.encoder.lock().is_none(), "the encoder has ended");
        assert_eq!(read + gone.rows_lost, accepted, "every accepted row read or counted");
        assert_eq!(counter(&p, "rows_dropped_closed"), gone.rows_lost);
        assert_eq!(counter(&p, "queue_bytes"), 0);
        assert!(gone.owners.iter().all(|kept| kept.owner.as_ref().is_some_and(|w| w.values.len() == 3)));
        drop(gone);
        drop(p);
        let threads = dropped_on.lock();
        assert_eq!(threads.len(), records, "every owner dropped once");
        assert!(threads.iter().all(|t| *t == std::thread::current().id()), "none on the encoder thread");
    }

    #[test]
    fn abandoning_a_closed_pipeline_or_twice_waits_for_nothing() {
        let p = pipeline(16);
        let s = stream(vec![]);
        p.submit(record(&p, &s, vec![1.0]), None).ok().unwrap();
        assert!(p.close(Duration::from_secs(5)));
        let chunks = drain(&p, None);
        assert_eq!(chunks.iter().map(|c| c.rows).sum::<u64>(), 1);
        let gone = p.abandon();
        assert_eq!(gone.rows_lost, 0, "the close wrote everything");
        assert_eq!(gone.owners.len(), 1, "the owner the uploader did not take yet");
        assert_eq!(p.abandon().owners.len() + p.abandon().rows_lost as usize, 0);
    }
}
