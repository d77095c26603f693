//! Open chunks, one per (stream, partition), and the rules that seal them.
//!
//! A chunk is sealed when it reaches `chunk_bytes` (at a row boundary, so a chunk always ends
//! with a whole row), when it has been open `max_age`, when its partition's UTC day or hour is
//! over, and on flush or close. Rows that arrive for a partition after it was sealed open a new
//! chunk for that same partition: they still land in the file of the day they were collected.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_queue::SegQueue;

use crate::clock::Partition;
use crate::encode::batch::write_row;
use crate::encode::{write_int, write_text, write_timestamp_utc};
use crate::record::{Correlation, Record};
use crate::stream::MetaColumn;

/// Finished CSV rows (no header) for one stream and partition, with what a store needs to
/// start a file: the stream's header, its column types' record (`schema`) and file stem.
///
/// When a chunk is dropped (once the uploader has copied it out), its buffer goes back to the
/// chunker that filled it, so the next chunk is written into memory that is already mapped:
/// fresh pages cost the encoder a page fault and a zeroed page every 4 KiB.
#[derive(Debug)]
pub struct Chunk {
    pub stream: u32,
    pub partition: Partition,
    pub data: Vec<u8>,
    pub rows: u64,
    pub header: Arc<[u8]>,
    pub schema: Arc<str>,
    pub stem: Arc<str>,
    spare: Option<Arc<Spare>>,
}

impl Drop for Chunk {
    fn drop(&mut self) {
        if let Some(spare) = self.spare.take() {
            spare.give(std::mem::take(&mut self.data));
        }
    }
}

/// Buffers of delivered chunks, kept for the next chunks: at most `SPARE_BUFFERS` of them,
/// so what is kept is bounded by a few chunks' worth of memory.
#[derive(Debug, Default)]
struct Spare(SegQueue<Vec<u8>>);

/// Enough for the chunk being filled while the last one is uploaded, and one in between.
const SPARE_BUFFERS: usize = 2;

impl Spare {
    fn give(&self, mut buffer: Vec<u8>) {
        // Small buffers are cheap to allocate anew; big ones are what the pool is for.
        if buffer.capacity() >= SMALL && self.0.len() < SPARE_BUFFERS {
            buffer.clear();
            self.0.push(buffer);
        }
    }

    /// A buffer with room for `bytes`: a spare one if there is one, else a new one.
    fn take(&self, bytes: usize) -> Vec<u8> {
        match self.0.pop() {
            Some(mut buffer) => {
                buffer.reserve_exact(bytes);
                buffer
            }
            None => Vec::with_capacity(bytes),
        }
    }
}

/// The first capacity of a chunk that starts with a small record (one request's rows).
const SMALL: usize = 1 << 16;

/// Room past a chunk's planned size: the row that crosses `chunk_bytes`, a longer one, and the
/// headroom field writers reserve ahead of a field.
fn slack(row_bytes: usize) -> usize {
    row_bytes.saturating_mul(2).saturating_add(128)
}

struct Open {
    data: Vec<u8>,
    rows: u64,
    header: Arc<[u8]>,
    schema: Arc<str>,
    stem: Arc<str>,
    opened: Instant,
}

pub struct Chunker {
    open: HashMap<(u32, Partition), Open>,
    chunk_bytes: usize,
    max_age: Duration,
    spare: Arc<Spare>,
    /// Rows of the record being appended that are already in a chunk (open or handed on).
    written: usize,
    // The meta columns of the record being encoded, split around the row index.
    before_row: Vec<u8>,
    after_row: Vec<u8>,
    last: LastCorrelation,
}

/// The correlation fields last rendered, kept for the next record: a request's inputs and
/// predictions share one correlation, so every other record finds its fields here.
#[derive(Default)]
struct LastCorrelation {
    id_of: Option<(u64, u64, Option<Arc<str>>)>,
    id: Vec<u8>,
    timestamp_of: Option<i64>,
    timestamp: Vec<u8>,
}

impl LastCorrelation {
    /// The correlation id field (the caller's prefix, if any, then the generated id).
    fn id(&mut self, c: &Correlation) -> &[u8] {
        let matches = |(nonce, counter, prefix): &(u64, u64, Option<Arc<str>>)| {
            *nonce == c.nonce && *counter == c.counter && *prefix == c.prefix
        };
        if !self.id_of.as_ref().is_some_and(matches) {
            self.id.clear();
            match &c.prefix {
                // The generated part is hex digits and dashes: never quoted.
                None => c.write_generated(&mut self.id),
                Some(p) => {
                    let mut id = Vec::with_capacity(p.len() + 37);
                    id.extend_from_slice(p.as_bytes());
                    id.push(b'-');
                    c.write_generated(&mut id);
                    write_text(&mut self.id, std::str::from_utf8(&id).expect("ids are UTF-8"));
                }
            }
            self.id_of = Some((c.nonce, c.counter, c.prefix.clone()));
        }
        &self.id
    }

    fn timestamp(&mut self, ts_ns: i64) -> &[u8] {
        if self.timestamp_of != Some(ts_ns) {
            self.timestamp.clear();
            write_timestamp_utc(&mut self.timestamp, ts_ns);
            self.timestamp_of = Some(ts_ns);
        }
        &self.timestamp
    }
}

impl Chunker {
    pub fn new(chunk_bytes: usize, max_age: Duration) -> Self {
        Chunker {
            open: HashMap::new(),
            chunk_bytes: chunk_bytes.max(1),
            max_age,
            spare: Arc::default(),
            written: 0,
            before_row: Vec::new(),
            after_row: Vec::new(),
            last: LastCorrelation::default(),
        }
    }

    /// Encodes every row of `rec`. Each chunk that fills up is handed to `sealed` at once, so
    /// a large record flows on while it is encoded (and `sealed` may block: the uploader's
    /// pace then holds the encoder back, and memory stays bounded).
    pub fn append<O>(&mut self, rec: &Record<O>, now: Instant, sealed: &mut impl FnMut(Chunk)) {
        self.written = 0;
        let rows = rec.rows();
        if rows == 0 {
            return;
        }
        let has_row_index = self.render_meta(rec);
        let key = (rec.stream.id, rec.stream.partitioning.of(rec.correlation.ts_ns));
        let header =
            &rec.stream.contract().expect("a record is accepted only once its stream's contract is fixed").header;
        let schema = &rec.stream.types().expect("a record with rows is accepted only once its types are fixed").schema;
        let (chunk_bytes, spare) = (self.chunk_bytes, &self.spare);
        let fresh = |bytes: usize| Open {
            data: spare.take(bytes),
            rows: 0,
            header: header.clone(),
            schema: schema.clone(),
            stem: rec.stream.stem.clone(),
            opened: now,
        };
        // One map lookup per record, not per row. The chunk stays in the map while rows go
        // in, so that what it holds is counted if encoding fails.
        let open = self.open.entry(key).or_insert_with(|| fresh(chunk_bytes.min(SMALL)));
        let mut full = false;
        for row in 0..rows {
            let start = open.data.len();
            // SAFETY: the record's owner keeps the batch's memory alive while we hold `rec`.
            unsafe { write_row(&mut open.data, &rec.batch, row) };
            open.data.extend_from_slice(&self.before_row);
            if has_row_index {
                write_int(&mut open.data, row);
                open.data.extend_from_slice(&self.after_row);
            }
            open.data.push(b'\n');
            open.rows += 1;
            self.written += 1;
            let left = rows - row - 1;
            if row == 0 && left > 0 {
                // Room for the rest of the record, or the rest of this chunk, at once: the
                // chunk grows by one allocation instead of a doubling copy after another.
                let row_bytes = open.data.len() - start;
                let room = chunk_bytes.saturating_sub(open.data.len()).min(left.saturating_mul(row_bytes));
                open.data.reserve_exact(room.saturating_add(slack(row_bytes)));
            }
            if open.data.len() >= chunk_bytes {
                if left == 0 {
                    full = true;
                    break;
                }
                // Rows still to come start the next chunk, sized for them (by the rows just
                // written, a quarter more for rows that grow).
                let row_bytes = open.data.len() / open.rows as usize;
                let next = left.saturating_mul(row_bytes);
                let next = chunk_bytes.min(next.saturating_add(next / 4)).saturating_add(slack(row_bytes));
                sealed(seal(key, std::mem::replace(open, fresh(next)), spare));
            }
        }
        if full {
            let open = self.open.remove(&key).expect("the chunk just filled");
            sealed(seal(key, open, spare));
        }
        self.written = 0;
    }

    /// Rows of the record being appended that are in a chunk: if encoding fails, the rest of
    /// it were not encoded. Zero outside `append`.
    pub fn written(&self) -> usize {
        self.written
    }

    /// The meta fields of `rec` into `before_row` / `after_row`; true when a row index sits
    /// between them.
    fn render_meta<O>(&mut self, rec: &Record<O>) -> bool {
        self.before_row.clear();
        self.after_row.clear();
        let mut split = false;
        let c = &rec.correlation;
        for meta in &rec.stream.meta {
            let out = if split { &mut self.after_row } else { &mut self.before_row };
            out.push(b',');
            match meta {
                MetaColumn::CorrelationId => out.extend_from_slice(self.last.id(c)),
                MetaColumn::Timestamp => out.extend_from_slice(self.last.timestamp(c.ts_ns)),
                MetaColumn::RequestId => {
                    if let Some(r) = &c.request_id {
                        write_text(out, r);
                    }
                }
                MetaColumn::Row => split = true,
                MetaColumn::Constant(field) => out.extend_from_slice(field),
            }
        }
        split
    }

    /// Seals chunks that are too old or whose partition has ended.
    pub fn seal_due(&mut self, now: Instant, now_ns: i64, sealed: &mut Vec<Chunk>) {
        let max_age = self.max_age;
        let due: Vec<_> = self
            .open
            .iter()
            .filter(|(key, open)| now.duration_since(open.opened) >= max_age || key.1.end_ns() <= now_ns)
            .map(|(key, _)| *key)
            .collect();
        for key in due {
            let open = self.open.remove(&key).expect("listed above");
            sealed.push(seal(key, open, &self.spare));
        }
    }

    pub fn seal_all(&mut self, sealed: &mut Vec<Chunk>) {
        let mut all: Vec<_> = self.open.drain().collect();
        // Oldest partition first, so files fill in time order.
        all.sort_by_key(|((stream, p), _)| (p.index, *stream));
        sealed.extend(all.into_iter().map(|(key, open)| seal(key, open, &self.spare)));
    }

    /// When the oldest open chunk comes of age.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.open.values().map(|o| o.opened + self.max_age).min()
    }

    pub fn open_chunks(&self) -> usize {
        self.open.len()
    }

    pub fn open_rows(&self) -> u64 {
        self.open.values().map(|o| o.rows).sum()
    }

    pub fn open_bytes(&self) -> usize {
        self.open.values().map(|o| o.data.len()).sum()
    }
}

fn seal((stream, partition): (u32, Partition), open: Open, spare: &Arc<Spare>) -> Chunk {
    Chunk {
        spare: Some(spare.clone()),
        stream,
        partition,
        data: open.data,
        rows: open.rows,
        header: open.header,
        schema: open.schema,
        stem: open.stem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{Batch, Kind};
    use crate::clock::Partitioning;
    use crate::record::Correlation;
    use crate::stream::StreamConfig;

    const MIDNIGHT: i64 = 1_709_251_200_000_000_000; // 2024-03-01T00:00:00Z

    fn stream(meta: Vec<MetaColumn>) -> Arc<StreamConfig> {
        let meta = meta.into_iter().enumerate().map(|(i, m)| (m, format!("m{i}"))).collect();
        let s = StreamConfig::new(Partitioning::Day, meta, "data", Some(vec!["a".into(), "b".into()])).unwrap();
        s.accept(1, 2, None, |_| Some(crate::schema::ColumnType::Float64)).unwrap();
        Arc::new(s)
    }

    fn record(stream: &Arc<StreamConfig>, values: &[f64], ts_ns: i64, counter: u64) -> Record<()> {
        Record {
            stream: stream.clone(),
            correlation: Correlation { nonce: 1, counter, ts_ns, prefix: None, request_id: None },
            batch: Batch::from_slice(values, Kind::F64, values.len() / 2, 2),
            owner: None,
        }
    }

    fn text(c: &Chunk) -> &str {
        std::str::from_utf8(&c.data).unwrap()
    }

    #[test]
    fn meta_columns_follow_the_values_with_the_row_index() {
        let s = stream(vec![
            MetaColumn::CorrelationId,
            MetaColumn::Timestamp,
            MetaColumn::RequestId,
            MetaColumn::Row,
            MetaColumn::Constant(b"k".to_vec()),
        ]);
        let mut r = record(&s, &[1.0, 2.0, 3.0, 4.0], MIDNIGHT, 2);
        r.correlation.prefix = Some("Loan,7".into());
        r.correlation.request_id = Some("req-1".into());
        let mut ch = Chunker::new(1 << 20, Duration::from_secs(60));
        let mut sealed = Vec::new();
        ch.append(&r, Instant::now(), &mut |c| sealed.push(c));
        ch.seal_all(&mut sealed);
        assert_eq!(
            text(&sealed[0]),
            "1.0,2.0,\"Loan,7-00000000-0000-0001-0000-000000000002\",2024-03-01T00:00:00.000000Z,req-1,0,k\n\
             3.0,4.0,\"Loan,7-00000000-0000-0001-0000-000000000002\",2024-03-01T00:00:00.000000Z,req-1,1,k\n"
        );
        assert_eq!(sealed[0].rows, 2);
        assert_eq!(&*sealed[0].header, b"a,b,m0,m1,m2,m3,m4\n", "the stream's header travels with its chunks");
        assert_eq!(&*sealed[0].stem, "data");
        assert_eq!(&*sealed[0].schema, "1:f2szsis", "and the record of its column types");
    }

    #[test]
    fn a_batch_at_the_last_millisecond_and_the_next_at_midnight_land_in_two_days() {
        let s = stream(vec![]);
        let mut ch = Chunker::new(1 << 20, Duration::from_secs(60));
        let mut sealed = Vec::new();
        let now = Instant::now();
        ch.append(&record(&s, &[1.0, 1.0], MIDNIGHT - 1_000_000, 0), now, &mut |c| sealed.push(c));
        ch.append(&record(&s, &[2.0, 2.0], MIDNIGHT, 1), now, &mut |c| sealed.push(c));
        assert_eq!(ch.open_chunks(), 2);
        ch.seal_all(&mut sealed);
        let days: Vec<_> = sealed.iter().map(|c| c.partition.civil()).collect();
        assert_eq!(days, [(2024, 2, 29, None), (2024, 3, 1, None)]);
        assert_eq!(text(&sealed[0]), "1.0,1.0\n");
        assert_eq!(text(&sealed[1]), "2.0,2.0\n");
    }

    #[test]
    fn size_seals_at_row_boundaries_and_loses_nothing() {
        let s = stream(vec![MetaColumn::Row]);
        let values: Vec<f64> = (0..2000).map(|i| i as f64).collect();
        let mut ch = Chunker::new(100, Duration::from_secs(60));
        let mut sealed = Vec::new();
        ch.append(&record(&s, &values, 0, 0), Instant::now(), &mut |c| sealed.push(c));
        assert!(sealed.len() > 10);
        ch.seal_all(&mut sealed);
        let mut all = String::new();
        for c in &sealed {
            assert!(text(c).ends_with('\n'));
            assert!(c.data.len() < 100 + 30, "at most one row past the limit");
            all.push_str(text(c));
        }
        let lines: Vec<_> = all.lines().collect();
        assert_eq!(lines.len(), 1000);
        assert_eq!(lines[999], "1998.0,1999.0,999");
        assert_eq!(sealed.iter().map(|c| c.rows).sum::<u64>(), 1000);
    }

    #[test]
    fn age_and_partition_end_seal() {
        let s = stream(vec![]);
        let mut ch = Chunker::new(1 << 20, Duration::from_millis(500));
        let mut sealed = Vec::new();
        let t0 = Instant::now();
        ch.append(&record(&s, &[1.0, 1.0], MIDNIGHT - 5, 0), t0, &mut |c| sealed.push(c));
        ch.seal_due(t0 + Duration::from_millis(100), MIDNIGHT - 1, &mut sealed);
        assert!(sealed.is_empty());
        assert_eq!(ch.next_deadline(), Some(t0 + Duration::from_millis(500)));
        ch.seal_due(t0 + Duration::from_millis(100), MIDNIGHT, &mut sealed);
        assert_eq!(sealed.len(), 1, "the day is over");
        ch.append(&record(&s, &[1.0, 1.0], MIDNIGHT, 1), t0, &mut |c| sealed.push(c));
        ch.seal_due(t0 + Duration::from_millis(500), MIDNIGHT, &mut sealed);
        assert_eq!(sealed.len(), 2, "old enough");
        assert_eq!(ch.open_chunks(), 0);
    }

    #[test]
    fn empty_batches_open_nothing() {
        let s = stream(vec![MetaColumn::Row]);
        let mut ch = Chunker::new(100, Duration::from_secs(1));
        let mut sealed = Vec::new();
        ch.append(&record(&s, &[], 0, 0), Instant::now(), &mut |c| sealed.push(c));
        assert_eq!(ch.open_chunks(), 0);
    }

    #[test]
    fn correlation_fields_follow_each_record_when_kept_for_the_next() {
        let s = stream(vec![MetaColumn::CorrelationId, MetaColumn::Timestamp]);
        let mut ch = Chunker::new(1 << 20, Duration::from_secs(60));
        let mut sealed = Vec::new();
        let shared = record(&s, &[1.0, 1.0], MIDNIGHT, 1);
        let same = record(&s, &[2.0, 2.0], MIDNIGHT, 1);
        let mut prefixed = record(&s, &[3.0, 3.0], MIDNIGHT, 1);
        prefixed.correlation.prefix = Some("Loan 7".into());
        let mut quoted = record(&s, &[4.0, 4.0], MIDNIGHT, 1);
        quoted.correlation.prefix = Some("Loan,7".into());
        let next = record(&s, &[5.0, 5.0], MIDNIGHT + 1_000, 2);
        for r in [&shared, &same, &prefixed, &quoted, &next, &shared] {
            ch.append(r, Instant::now(), &mut |c| sealed.push(c));
        }
        ch.seal_all(&mut sealed);
        let id = "00000000-0000-0001-0000-00000000000";
        assert_eq!(
            text(&sealed[0]),
            format!(
                "1.0,1.0,{id}1,2024-03-01T00:00:00.000000Z\n\
                 2.0,2.0,{id}1,2024-03-01T00:00:00.000000Z\n\
                 3.0,3.0,Loan 7-{id}1,2024-03-01T00:00:00.000000Z\n\
                 4.0,4.0,\"Loan,7-{id}1\",2024-03-01T00:00:00.000000Z\n\
                 5.0,5.0,{id}2,2024-03-01T00:00:00.000001Z\n\
                 1.0,1.0,{id}1,2024-03-01T00:00:00.000000Z\n"
            )
        );
    }

    #[test]
    fn a_large_record_hands_each_chunk_on_as_it_fills_in_one_allocation() {
        let s = stream(vec![MetaColumn::Row]);
        let values: Vec<f64> = (0..40_000).map(|i| i as f64).collect();
        let chunk_bytes = 100_000;
        let mut ch = Chunker::new(chunk_bytes, Duration::from_secs(60));
        let mut sealed = Vec::new();
        ch.append(&record(&s, &values, 0, 0), Instant::now(), &mut |c| {
            // Still inside append: the chunk comes while later rows wait to be written.
            assert!(c.data.capacity() < chunk_bytes + 200, "sized once, not doubled: {}", c.data.capacity());
            sealed.push(c);
        });
        assert_eq!(ch.written(), 0, "no record is being appended");
        assert!(sealed.len() >= 3);
        assert_eq!(ch.open_chunks(), 1, "the tail stays open for the next record");
        ch.seal_all(&mut sealed);
        assert_eq!(sealed.iter().map(|c| c.rows).sum::<u64>(), 20_000);
        let all: String = sealed.iter().map(text).collect();
        assert_eq!(all.lines().nth(12_345), Some("24690.0,24691.0,12345"));
    }

    #[test]
    fn a_delivered_chunk_lends_its_buffer_to_a_later_one() {
        let s = stream(vec![]);
        let values = vec![0.5; 2000];
        let mut ch = Chunker::new(1000, Duration::from_secs(60));
        let mut sealed = Vec::new();
        ch.append(&record(&s, &values, 0, 0), Instant::now(), &mut |c| sealed.push(c));
        ch.seal_all(&mut sealed);
        // Small buffers are not worth keeping.
        let small = sealed.pop().unwrap();
        let small_at = small.data.as_ptr();
        drop(small);
        assert!(ch.spare.0.is_empty());
        // A big one is, and the next chunk is written into it.
        let mut big = Chunker::new(1 << 20, Duration::from_secs(60));
        let many = vec![0.5; 2 * (1 << 17)];
        let mut first = Vec::new();
        big.append(&record(&s, &many, 0, 0), Instant::now(), &mut |c| first.push(c));
        big.seal_all(&mut first);
        let at = first[0].data.as_ptr();
        assert_ne!(at, small_at);
        drop(first);
        let mut second = Vec::new();
        big.append(&record(&s, &many, 0, 1), Instant::now(), &mut |c| second.push(c));
        assert_eq!(second[0].data.as_ptr(), at);
        assert!(second[0].data.starts_with(b"0.5,0.5\n"), "and starts empty");
    }
}

/// How fast rows become chunks: the encoder thread's whole per-row work (values, meta columns,
/// sealing), on the suite's tables. Figures only, no assertion (the machine is shared).
#[cfg(test)]
mod speed {
    use super::*;
    use crate::batch::{Batch, Column, Kind, View};
    use crate::clock::Partitioning;
    use crate::encode::DateUnit;
    use crate::record::Correlation;
    use crate::stream::StreamConfig;

    use crate::testing::XorShift;

    fn stream(cols: usize) -> Arc<StreamConfig> {
        let meta = [MetaColumn::CorrelationId, MetaColumn::Timestamp, MetaColumn::RequestId, MetaColumn::Row];
        let meta = meta.into_iter().map(|m| (m, "m".to_string())).collect();
        let names = (0..cols).map(|j| format!("c{j}")).collect();
        Arc::new(StreamConfig::new(Partitioning::Day, meta, "data", Some(names)).unwrap())
    }

    /// Best of five: ns per row and MB/s, in chunks of 4 MiB.
    fn best(stream: &Arc<StreamConfig>, batch: Batch) -> (f64, f64) {
        let rows = batch.rows();
        stream.accept(rows, batch.cols(), None, |j| batch.column_type(j)).unwrap();
        let rec = Record::<()> {
            stream: stream.clone(),
            correlation: Correlation {
                nonce: 7,
                counter: 1,
                ts_ns: 1_795_521_600_123_456_789,
                prefix: None,
                request_id: None,
            },
            batch,
            owner: None,
        };
        let mut chunker = Chunker::new(4 << 20, Duration::from_secs(60));
        let (mut best, mut bytes) = (f64::MAX, 0);
        for _ in 0..5 {
            // Chunks dropped as they come, as the uploader does once it has copied them.
            bytes = 0;
            let mut take = |c: Chunk| bytes += c.data.len();
            let t = Instant::now();
            chunker.append(&rec, Instant::now(), &mut take);
            let mut rest = Vec::new();
            chunker.seal_all(&mut rest);
            rest.into_iter().for_each(&mut take);
            best = best.min(t.elapsed().as_nanos() as f64 / rows as f64);
        }
        (best, bytes as f64 / rows as f64 / best * 1e3)
    }

    #[test]
    #[ignore = "a measurement: cargo test --release --lib chunk::speed -- --ignored --nocapture"]
    fn rows_to_chunks() {
        const ROWS: usize = 1_000_000;
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let matrix: Vec<f64> = (0..ROWS * 6).map(|_| rng.unit()).collect();
        let (ns, mbs) = best(&stream(6), Batch::from_slice(&matrix, Kind::F64, ROWS, 6));
        println!("float64 x6 + meta: {ns:.1} ns/row ({mbs:.0} MB/s)");
        if std::env::var_os("FLOAT_ONLY").is_some() {
            return;
        }
        if std::env::var_os("FLOAT_ONLY").is_some() {
            return;
        }

        // The mixed table of benches/test_encoder.py, as numpy columns read in place.
        let count: Vec<i64> = (0..ROWS).map(|_| (rng.next() % 2_000_000_000) as i64 - 1_000_000_000).collect();
        let amount: Vec<f64> = (0..ROWS).map(|_| ((rng.unit() - 0.5) * 4e6).round() / 100.0).collect();
        let ucs4 = |texts: &mut dyn Iterator<Item = String>, width: usize| {
            let mut cells = vec![0u8; ROWS * width * 4];
            for (r, text) in texts.enumerate() {
                for (k, ch) in text.chars().enumerate() {
                    let at = (r * width + k) * 4;
                    cells[at..at + 4].copy_from_slice(&(ch as u32).to_ne_bytes());
                }
            }
            cells
        };
        let words = ["north", "south, east", "say \"hi\"", "west", "Zürich", "a \"b\", c", "", " padded"];
        let region = ucs4(&mut (0..ROWS).map(|_| words[(rng.next() % 8) as usize].to_string()), 11);
        let code = ucs4(&mut (0..ROWS).map(|_| format!("sku-{}", rng.next() % 1_000_000)), 10);
        let seen: Vec<i64> =
            (0..ROWS).map(|_| 1_767_225_600_000_000_000 + (rng.next() % 31_536_000_000_000_000) as i64).collect();
        let view = |ptr: *const u8, kind: Kind| {
            Column::View(View { ptr, kind, row_stride: kind.item_size() as isize, col_stride: 0 })
        };
        let mixed = Batch::Columns {
            rows: ROWS,
            columns: vec![
                view(count.as_ptr().cast(), Kind::I64),
                view(matrix.as_ptr().cast(), Kind::F64),
                view(amount.as_ptr().cast(), Kind::F64),
                view(region.as_ptr(), Kind::Unicode(11)),
                view(code.as_ptr(), Kind::Unicode(10)),
                view(seen.as_ptr().cast(), Kind::DateTime(DateUnit::Nano)),
            ],
        };
        let (ns, mbs) = best(&stream(6), mixed);
        println!("mixed x6 (i64, 2 f64, 2 <U text with quotes, datetime64[ns]) + meta: {ns:.1} ns/row ({mbs:.0} MB/s)");
    }
}
