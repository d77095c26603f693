//! Open chunks, one per (stream, partition), and the rules that seal them.
//!
//! A chunk is sealed when it reaches `chunk_bytes` (at a row boundary, so a chunk always ends
//! with a whole row), when it has been open `max_age`, when its partition's UTC day or hour is
//! over, and on flush or close. Rows that arrive for a partition after it was sealed open a new
//! chunk for that same partition: they still land in the file of the day they were collected.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::Partition;
use crate::encode::batch::write_row;
use crate::encode::{write_int, write_text, write_timestamp_utc};
use crate::record::Record;
use crate::stream::MetaColumn;

/// Finished CSV rows (no header) for one stream and partition, with what a store needs to
/// start a file: the stream's header, its column types' record (`schema`) and file stem.
#[derive(Debug)]
pub struct Chunk {
    pub stream: u32,
    pub partition: Partition,
    pub data: Vec<u8>,
    pub rows: u64,
    pub header: Arc<[u8]>,
    pub schema: Arc<str>,
    pub stem: Arc<str>,
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
    // The meta columns of the record being encoded, split around the row index.
    before_row: Vec<u8>,
    after_row: Vec<u8>,
    scratch: Vec<u8>,
}

impl Chunker {
    pub fn new(chunk_bytes: usize, max_age: Duration) -> Self {
        Chunker {
            open: HashMap::new(),
            chunk_bytes: chunk_bytes.max(1),
            max_age,
            before_row: Vec::new(),
            after_row: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Encodes every row of `rec`; chunks that fill up go to `sealed`.
    pub fn append<O>(&mut self, rec: &Record<O>, now: Instant, sealed: &mut Vec<Chunk>) {
        let rows = rec.rows();
        if rows == 0 {
            return;
        }
        let has_row_index = self.render_meta(rec);
        let key = (rec.stream.id, rec.stream.partitioning.of(rec.correlation.ts_ns));
        let hint = self.chunk_bytes.min(1 << 16);
        let header =
            &rec.stream.contract().expect("a record is accepted only once its stream's contract is fixed").header;
        let schema = &rec.stream.types().expect("a record with rows is accepted only once its types are fixed").schema;
        let stem = &rec.stream.stem;
        let fresh = || Open {
            data: Vec::with_capacity(hint),
            rows: 0,
            header: header.clone(),
            schema: schema.clone(),
            stem: stem.clone(),
            opened: now,
        };
        // One map lookup per record, not per row.
        let mut open = self.open.remove(&key).unwrap_or_else(fresh);
        for row in 0..rows {
            // SAFETY: the record's owner keeps the batch's memory alive while we hold `rec`.
            unsafe { write_row(&mut open.data, &rec.batch, row) };
            open.data.extend_from_slice(&self.before_row);
            if has_row_index {
                write_int(&mut open.data, row);
                open.data.extend_from_slice(&self.after_row);
            }
            open.data.push(b'\n');
            open.rows += 1;
            if open.data.len() >= self.chunk_bytes {
                sealed.push(seal(key, std::mem::replace(&mut open, fresh())));
            }
        }
        if open.rows > 0 {
            self.open.insert(key, open);
        }
    }

    /// The meta fields of `rec` into `before_row` / `after_row`; true when a row index sits
    /// between them.
    fn render_meta<O>(&mut self, rec: &Record<O>) -> bool {
        self.before_row.clear();
        self.after_row.clear();
        let mut split = false;
        for meta in &rec.stream.meta {
            let out = if split { &mut self.after_row } else { &mut self.before_row };
            out.push(b',');
            match meta {
                MetaColumn::CorrelationId => {
                    self.scratch.clear();
                    if let Some(p) = &rec.correlation.prefix {
                        self.scratch.extend_from_slice(p.as_bytes());
                        self.scratch.push(b'-');
                    }
                    rec.correlation.write_generated(&mut self.scratch);
                    let id = std::str::from_utf8(&self.scratch).expect("ids are UTF-8");
                    write_text(out, id);
                }
                MetaColumn::Timestamp => write_timestamp_utc(out, rec.correlation.ts_ns),
                MetaColumn::RequestId => {
                    if let Some(r) = &rec.correlation.request_id {
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
            sealed.push(seal(key, open));
        }
    }

    pub fn seal_all(&mut self, sealed: &mut Vec<Chunk>) {
        let mut all: Vec<_> = self.open.drain().collect();
        // Oldest partition first, so files fill in time order.
        all.sort_by_key(|((stream, p), _)| (p.index, *stream));
        sealed.extend(all.into_iter().map(|(key, open)| seal(key, open)));
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

fn seal((stream, partition): (u32, Partition), open: Open) -> Chunk {
    Chunk {
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
        ch.append(&r, Instant::now(), &mut sealed);
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
        ch.append(&record(&s, &[1.0, 1.0], MIDNIGHT - 1_000_000, 0), now, &mut sealed);
        ch.append(&record(&s, &[2.0, 2.0], MIDNIGHT, 1), now, &mut sealed);
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
        ch.append(&record(&s, &values, 0, 0), Instant::now(), &mut sealed);
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
        ch.append(&record(&s, &[1.0, 1.0], MIDNIGHT - 5, 0), t0, &mut sealed);
        ch.seal_due(t0 + Duration::from_millis(100), MIDNIGHT - 1, &mut sealed);
        assert!(sealed.is_empty());
        assert_eq!(ch.next_deadline(), Some(t0 + Duration::from_millis(500)));
        ch.seal_due(t0 + Duration::from_millis(100), MIDNIGHT, &mut sealed);
        assert_eq!(sealed.len(), 1, "the day is over");
        ch.append(&record(&s, &[1.0, 1.0], MIDNIGHT, 1), t0, &mut sealed);
        ch.seal_due(t0 + Duration::from_millis(500), MIDNIGHT, &mut sealed);
        assert_eq!(sealed.len(), 2, "old enough");
        assert_eq!(ch.open_chunks(), 0);
    }

    #[test]
    fn empty_batches_open_nothing() {
        let s = stream(vec![MetaColumn::Row]);
        let mut ch = Chunker::new(100, Duration::from_secs(1));
        let mut sealed = Vec::new();
        ch.append(&record(&s, &[], 0, 0), Instant::now(), &mut sealed);
        assert_eq!(ch.open_chunks(), 0);
    }
}
