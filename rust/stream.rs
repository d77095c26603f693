//! A stream: one (model, version, designation) file series, and the one home of its contract:
//! feature names, meta columns, file stem, header bytes, column count, `enabled` and
//! `sample_rate`. A stream outlives pipelines: `configure()` and forks move it, whole.
//!
//! Names and width are fixed together, once: at registration when the caller names the
//! columns, else by the first call that is admitted and accepted. Column types are fixed by
//! the first accepted call with rows; a later call whose values a column does not take is
//! refused. A call that is refused fixes nothing.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::clock::Partitioning;
use crate::encode::write_text;
use crate::error::Error;
use crate::schema::{self, ColumnType};
use crate::switch::Switch;

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

impl MetaColumn {
    /// `kind` as the Python side names it; `value` is a constant's text.
    pub fn parse(kind: &str, value: Option<&str>) -> Result<Self, Error> {
        Ok(match (kind, value) {
            ("correlation_id", None) => MetaColumn::CorrelationId,
            ("timestamp", None) => MetaColumn::Timestamp,
            ("request_id", None) => MetaColumn::RequestId,
            ("row", None) => MetaColumn::Row,
            ("constant", Some(v)) => {
                let mut field = Vec::new();
                write_text(&mut field, v);
                MetaColumn::Constant(field)
            }
            (k, _) => return Err(Error::UnknownMeta(k.to_string())),
        })
    }
}

/// Names and header, fixed together.
#[derive(Debug)]
pub struct Contract {
    pub names: Vec<String>,
    /// The file's first line: names, then the meta columns' titles, CSV-quoted, `\n`-ended.
    pub header: Arc<[u8]>,
}

/// Where each of a stream's fixed `names` is among the columns of data that carries its own
/// `labels` (a frame's, a dict's, an Arrow schema's): by name when every name is among the labels
/// (a frame with its columns in another order, or more of them), else in their own order, by
/// position. Refused when placing by position would write a column under another of the
/// stream's names: a label that is a name, at another name's place.
pub fn place<L: AsRef<str>>(names: &[String], labels: &[L]) -> Result<Vec<usize>, Error> {
    let own = || (0..labels.len()).collect();
    if labels.len() == names.len() && labels.iter().zip(names).all(|(l, n)| l.as_ref() == n) {
        return Ok(own());
    }
    let mut unique = std::collections::HashSet::with_capacity(labels.len());
    if labels.iter().all(|l| unique.insert(l.as_ref())) {
        if let Some(positions) = names.iter().map(|n| labels.iter().position(|l| l.as_ref() == n)).collect() {
            return Ok(positions);
        }
    }
    // Another width is the contract's to refuse, naming both counts.
    if labels.len() == names.len() {
        let misplaced =
            labels.iter().zip(names).find(|(l, n)| l.as_ref() != *n && names.iter().any(|m| m == l.as_ref()));
        if let Some((label, under)) = misplaced {
            return Err(Error::Misplaced {
                column: label.as_ref().to_owned(),
                under: under.clone(),
                labels: labels.iter().map(|l| l.as_ref().to_owned()).collect(),
                names: names.to_vec(),
            });
        }
    }
    Ok(own())
}

/// The value columns' types and the record of every column's type (meta columns included)
/// that stores keep with each file.
#[derive(Debug)]
pub struct Types {
    pub columns: Vec<ColumnType>,
    /// The one type of every value column, when they share one (the common numeric matrix):
    /// a block of one kind is then checked once, not per column.
    pub uniform: Option<ColumnType>,
    pub schema: Arc<str>,
}

impl MetaColumn {
    fn column_type(&self) -> ColumnType {
        match self {
            MetaColumn::Timestamp => ColumnType::TimestampUtc,
            MetaColumn::Row => ColumnType::Int64,
            MetaColumn::CorrelationId | MetaColumn::RequestId | MetaColumn::Constant(_) => ColumnType::String,
        }
    }
}

/// Whether a call goes on to be converted and queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// The process's or the stream's switch is off.
    Disabled,
    /// Left out by `sample_rate`.
    SampledOut,
}

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

#[derive(Debug)]
pub struct StreamConfig {
    /// Unique in the process, so a stream keeps its id in every pipeline it moves to.
    pub id: u32,
    pub partitioning: Partitioning,
    pub meta: Vec<MetaColumn>,
    meta_titles: Vec<String>,
    /// Files are `<stem>.csv`, `<stem>.1.csv`, ...
    pub stem: Arc<str>,
    contract: OnceLock<Contract>,
    types: OnceLock<Types>,
    enabled: AtomicBool,
    /// A request is kept when its hash is below this (u64::MAX keeps all).
    sample_below: AtomicU64,
}

impl StreamConfig {
    /// A stream with its meta columns `(kind, title)`; `names` fixes the contract now.
    pub fn new(
        partitioning: Partitioning,
        meta: Vec<(MetaColumn, String)>,
        stem: &str,
        names: Option<Vec<String>>,
    ) -> Result<Self, Error> {
        let (meta, meta_titles) = meta.into_iter().unzip();
        let s = StreamConfig {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            partitioning,
            meta,
            meta_titles,
            stem: stem.into(),
            contract: OnceLock::new(),
            types: OnceLock::new(),
            enabled: AtomicBool::new(true),
            sample_below: AtomicU64::new(u64::MAX),
        };
        if let Some(names) = names {
            let c = s.contract_of(names)?;
            s.contract.set(c).expect("a new stream has no contract yet");
        }
        Ok(s)
    }

    pub fn contract(&self) -> Option<&Contract> {
        self.contract.get()
    }

    /// Column types, once the first accepted call with rows fixed them.
    pub fn types(&self) -> Option<&Types> {
        self.types.get()
    }

    /// Value columns; 0 until the contract is fixed.
    #[inline]
    pub fn ncols(&self) -> usize {
        self.contract.get().map_or(0, |c| c.names.len())
    }

    fn contract_of(&self, names: Vec<String>) -> Result<Contract, Error> {
        if names.is_empty() {
            return Err(Error::NoNames);
        }
        if let Some((index, name)) = names.iter().enumerate().find(|(_, n)| self.meta_titles.contains(n)) {
            return Err(Error::ReservedName { index, name: name.clone() });
        }
        let mut seen = HashSet::with_capacity(names.len());
        let mut twice: Vec<String> = names.iter().filter(|n| !seen.insert(n.as_str())).cloned().collect();
        if !twice.is_empty() {
            twice.sort();
            twice.dedup();
            return Err(Error::DuplicateNames(twice));
        }
        let mut header = Vec::new();
        for (i, field) in names.iter().chain(&self.meta_titles).enumerate() {
            if i > 0 {
                header.push(b',');
            }
            write_text(&mut header, field);
        }
        header.push(b'\n');
        Ok(Contract { names, header: header.into() })
    }

    /// Whether a call of the request `(nonce, counter)` (its correlation) goes on: the process
    /// switch, the stream's switch, then sampling.
    #[inline]
    pub fn admit(&self, process: &Switch, nonce: u64, counter: u64) -> Admission {
        if !process.is_on() || !self.enabled() {
            Admission::Disabled
        } else if !self.samples(nonce, counter) {
            Admission::SampledOut
        } else {
            Admission::Admitted
        }
    }

    /// Checks a converted batch against the contract; the first batch with rows fixes it, with
    /// `labels` (a frame's column names) as the names, else `col_0`, `col_1`, ..., and its
    /// column types (`type_of(j)`; `None` for a column of missing values only, which fixes
    /// `string` and fits any type; `type_of(usize::MAX)` is the type of every column when they
    /// share one, else `None`). An empty batch (no rows) is checked but fixes nothing; a
    /// refused one changes nothing.
    #[inline]
    pub fn accept(
        &self,
        rows: usize,
        cols: usize,
        labels: Option<Vec<String>>,
        type_of: impl Fn(usize) -> Option<ColumnType>,
    ) -> Result<(), Error> {
        if rows == 0 && cols == 0 {
            return Ok(());
        }
        if cols == 0 {
            return Err(Error::NoColumns { rows });
        }
        let fixed = match self.contract.get() {
            Some(c) => c,
            None if rows == 0 => return Ok(()),
            None => {
                let names = match labels {
                    Some(l) if l.len() != cols => return Err(Error::LabelCount { labels: l.len(), cols }),
                    Some(l) => l,
                    None => (0..cols).map(|i| format!("col_{i}")).collect(),
                };
                let c = self.contract_of(names)?;
                // Another thread may have fixed it meanwhile: then its width decides.
                let _ = self.contract.set(c);
                self.contract.get().expect("set above or by another thread")
            }
        };
        if fixed.names.len() != cols {
            return Err(Error::ColumnMismatch { expected: fixed.names.len(), got: cols });
        }
        if rows == 0 {
            return Ok(());
        }
        // Another thread may fix them meanwhile: then its types decide, and are checked here.
        let types = self.types.get_or_init(|| self.types_of(cols, &type_of));
        if let (Some(fixed), Some(got)) = (types.uniform, type_of(usize::MAX)) {
            if fixed.takes(got) {
                return Ok(());
            }
        }
        for (j, fixed_type) in types.columns.iter().enumerate() {
            match type_of(j) {
                Some(got) if !fixed_type.takes(got) => {
                    return Err(Error::TypeConflict {
                        column: fixed.names[j].clone(),
                        fixed: fixed_type.name(),
                        got: got.name(),
                    })
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn types_of(&self, cols: usize, type_of: &impl Fn(usize) -> Option<ColumnType>) -> Types {
        let columns: Vec<_> = (0..cols).map(|j| type_of(j).unwrap_or(ColumnType::String)).collect();
        let uniform = columns.iter().all(|t| *t == columns[0]).then(|| columns[0]);
        let schema = schema::encode(columns.iter().copied().chain(self.meta.iter().map(MetaColumn::column_type)));
        Types { columns, uniform, schema: schema.into() }
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed)
    }

    /// Sets the fraction of requests kept.
    pub fn set_sample_rate(&self, rate: f64) -> Result<(), Error> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(Error::BadSampleRate(rate));
        }
        let below = if rate >= 1.0 { u64::MAX } else { (rate * u64::MAX as f64) as u64 };
        self.sample_below.store(below, Ordering::Relaxed);
        Ok(())
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
    use ColumnType::{Bool, Float64, Int64, Timestamp, TimestampUtc};
    const STRING: ColumnType = ColumnType::String;

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn columns_are_placed_by_name_or_else_by_position_unless_that_bends_a_named_one() {
        let names = strings(&["a", "b", "c"]);
        assert_eq!(place(&names, &["a", "b", "c"]), Ok(vec![0, 1, 2]));
        // Another order, or more columns: by name.
        assert_eq!(place(&names, &["c", "a", "b"]), Ok(vec![1, 2, 0]));
        assert_eq!(place(&names, &["x", "c", "b", "a"]), Ok(vec![3, 2, 1]));
        // None of the names: by position (numbered frames, v1 scripts' own labels).
        assert_eq!(place(&names, &["0", "1", "2"]), Ok(vec![0, 1, 2]));
        // Some names where others belong: refused, naming the first.
        let bent = place(&names, &["c", "b", "x"]).unwrap_err();
        assert!(matches!(&bent, Error::Misplaced { column, under, .. } if column == "c" && under == "a"));
        assert!(bent.to_string().contains(r#"column "c" would be written under "a""#));
        // Names at their own places, the rest new: by position, as before.
        assert_eq!(place(&names, &["a", "x", "c"]), Ok(vec![0, 1, 2]));
        // Another width: left to the contract, which names both counts.
        assert_eq!(place(&names, &["c", "b"]), Ok(vec![0, 1]));
        // Repeated labels are never placed by name.
        assert!(place(&names, &["b", "a", "b"]).is_err());
    }

    impl StreamConfig {
        /// A batch of float64 columns.
        fn accept_f(&self, rows: usize, cols: usize, labels: Option<Vec<String>>) -> Result<(), Error> {
            self.accept(rows, cols, labels, |_| Some(Float64))
        }
    }

    fn stream(names: Option<&[&str]>) -> StreamConfig {
        let meta = vec![(MetaColumn::Row, "$row".to_string())];
        StreamConfig::new(Partitioning::Day, meta, "data", names.map(|n| n.iter().map(|s| s.to_string()).collect()))
            .unwrap()
    }

    #[test]
    fn names_fix_the_header_at_registration() {
        let s = stream(Some(&["a", "b,c"]));
        assert_eq!(s.ncols(), 2);
        assert_eq!(&*s.contract().unwrap().header, b"a,\"b,c\",$row\n");
        assert_eq!(s.accept_f(1, 3, None), Err(Error::ColumnMismatch { expected: 2, got: 3 }));
        assert_eq!(s.accept_f(1, 2, Some(vec!["x".into(), "y".into()])), Ok(()));
        assert_eq!(s.contract().unwrap().names, ["a", "b,c"], "labels do not rename a fixed stream");
    }

    #[test]
    fn bad_names_are_refused_when_given() {
        let new = |names: &[&str]| {
            StreamConfig::new(
                Partitioning::Day,
                vec![(MetaColumn::Row, "$row".into())],
                "data",
                Some(names.iter().map(|s| s.to_string()).collect()),
            )
            .map(|_| ())
        };
        assert_eq!(new(&[]), Err(Error::NoNames));
        assert_eq!(new(&["a", "b", "a"]), Err(Error::DuplicateNames(vec!["a".into()])));
        assert_eq!(new(&["a", "$row"]), Err(Error::ReservedName { index: 1, name: "$row".into() }));
    }

    #[test]
    fn the_first_accepted_batch_fixes_names_and_width_together() {
        let s = stream(None);
        assert_eq!(s.ncols(), 0);
        // Refused calls fix nothing.
        assert_eq!(s.accept_f(2, 0, None), Err(Error::NoColumns { rows: 2 }));
        assert!(matches!(s.accept_f(1, 2, Some(vec!["a".into(), "a".into()])), Err(Error::DuplicateNames(_))));
        assert_eq!(s.accept_f(1, 2, Some(vec!["a".into()])), Err(Error::LabelCount { labels: 1, cols: 2 }));
        // Nor does a call without rows.
        assert_eq!(s.accept_f(0, 5, None), Ok(()));
        assert!(s.contract().is_none());
        assert_eq!(s.accept_f(1, 2, Some(vec!["x".into(), "y".into()])), Ok(()));
        assert_eq!(&*s.contract().unwrap().header, b"x,y,$row\n");
        assert_eq!(s.accept_f(3, 3, None), Err(Error::ColumnMismatch { expected: 2, got: 3 }));
        assert_eq!(s.accept_f(0, 0, None), Ok(()), "an empty list has no columns to check");
    }

    #[test]
    fn the_first_batch_with_rows_fixes_the_types_and_later_ones_must_fit() {
        let s = stream(Some(&["when", "n", "code"]));
        assert!(s.types().is_none());
        let first = [Some(Timestamp), Some(Float64), None];
        assert_eq!(s.accept(0, 3, None, |j| Some([Bool, Bool, Bool][j])), Ok(()), "no rows: no types");
        assert!(s.types().is_none());
        s.accept(2, 3, None, |j| first.get(j).copied().flatten()).unwrap();
        let t = s.types().unwrap();
        assert_eq!(t.columns, [Timestamp, Float64, STRING], "all missing fixes string");
        assert_eq!(&*t.schema, "1:tfsi", "the meta column $row is an int64");
        assert_eq!(
            s.accept(1, 3, None, |j| [Some(Timestamp), Some(Int64), Some(Int64)].get(j).copied().flatten()),
            Ok(())
        );
        assert_eq!(
            s.accept(1, 3, None, |j| [Some(TimestampUtc), Some(Float64), None].get(j).copied().flatten()),
            Err(Error::TypeConflict { column: "when".into(), fixed: "timestamp", got: "timestamp_utc" })
        );
        assert_eq!(
            s.accept(1, 3, None, |j| [None, Some(STRING), None].get(j).copied().flatten()),
            Err(Error::TypeConflict { column: "n".into(), fixed: "float64", got: "string" })
        );
        assert_eq!(s.types().unwrap().columns, [Timestamp, Float64, STRING], "a refused call changes nothing");
        assert_eq!(s.types().unwrap().uniform, None);
    }

    #[test]
    fn a_block_of_one_kind_is_checked_once() {
        let s = stream(None);
        s.accept(1, 3, None, |_| Some(Float64)).unwrap();
        assert_eq!(s.types().unwrap().uniform, Some(Float64));
        assert_eq!(s.accept(1, 3, None, |_| Some(Int64)), Ok(()));
        assert_eq!(
            s.accept(1, 3, None, |_| Some(Bool)),
            Err(Error::TypeConflict { column: "col_0".into(), fixed: "float64", got: "bool" })
        );
    }

    #[test]
    fn a_refused_first_batch_fixes_no_types() {
        let s = stream(None);
        assert!(s.accept(1, 2, Some(vec!["a".into(), "a".into()]), |_| Some(STRING)).is_err());
        assert!(s.types().is_none());
        s.accept(1, 2, None, |_| Some(Bool)).unwrap();
        assert_eq!(&*s.types().unwrap().schema, "1:b2i");
    }

    #[test]
    fn without_labels_the_names_are_generated() {
        let s = stream(None);
        s.accept_f(1, 3, None).unwrap();
        assert_eq!(&*s.contract().unwrap().header, b"col_0,col_1,col_2,$row\n");
    }

    #[test]
    fn racing_first_batches_agree_on_one_width() {
        let s = Arc::new(stream(None));
        let results: Vec<_> = (1..=4)
            .map(|w| {
                let s = s.clone();
                std::thread::spawn(move || (w, s.accept_f(1, w, None)))
            })
            .map(|h| h.join().unwrap())
            .collect();
        let width = s.ncols();
        for (w, r) in results {
            assert_eq!(r.is_ok(), w == width, "width {w}: {r:?}");
        }
    }

    #[test]
    fn admission_reads_both_switches_then_samples() {
        let process = Switch::new(true);
        let s = stream(Some(&["a"]));
        assert_eq!(s.admit(&process, 7, 1), Admission::Admitted);
        process.set(false);
        assert_eq!(s.admit(&process, 7, 1), Admission::Disabled);
        process.set(true);
        s.set_enabled(false);
        assert_eq!(s.admit(&process, 7, 1), Admission::Disabled);
        s.set_enabled(true);
        s.set_sample_rate(0.0).unwrap();
        assert_eq!(s.admit(&process, 7, 1), Admission::SampledOut);
        process.set(false);
        assert_eq!(s.admit(&process, 7, 1), Admission::Disabled, "the switch is read before sampling");
    }

    #[test]
    fn ids_are_unique_across_streams() {
        assert_ne!(stream(None).id, stream(None).id);
    }

    #[test]
    fn sampling_keeps_about_the_rate_and_nests() {
        let half = stream(None);
        half.set_sample_rate(0.5).unwrap();
        let tenth = stream(None);
        tenth.set_sample_rate(0.1).unwrap();
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
        let s = stream(None);
        s.set_sample_rate(0.0).unwrap();
        assert!(!(0..1000).any(|c| s.samples(1, c)));
        s.set_sample_rate(1.0).unwrap();
        assert!((0..1000).all(|c| s.samples(1, c)));
        assert_eq!(s.sample_rate(), 1.0);
        assert_eq!(s.set_sample_rate(1.5), Err(Error::BadSampleRate(1.5)));
        assert!(s.set_sample_rate(f64::NAN).is_err());
        assert_eq!(s.sample_rate(), 1.0, "a refused rate changes nothing");
    }
}
