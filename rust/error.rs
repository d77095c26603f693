//! The core's one error type: what a caller did that the core refuses. The pyo3 layer maps it
//! to Python exceptions in one place (`python/error.rs`).

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    /// A batch of another width than the stream's.
    ColumnMismatch {
        expected: usize,
        got: usize,
    },
    /// A column whose values are of a type its fixed type does not take.
    TypeConflict {
        column: String,
        fixed: &'static str,
        got: &'static str,
    },
    /// A named column the stream's names would put under another name (placed by position
    /// because the data's names are not all among the stream's).
    Misplaced {
        column: String,
        under: String,
        labels: Vec<String>,
        names: Vec<String>,
    },
    /// Rows without a single column.
    NoColumns {
        rows: usize,
    },
    /// An empty list of feature names.
    NoNames,
    /// Feature names (or a frame's labels) that repeat.
    DuplicateNames(Vec<String>),
    /// A feature name that is one of the columns modeltap adds.
    ReservedName {
        index: usize,
        name: String,
    },
    /// A name that cannot be written as text (a str holding a lone surrogate).
    NameNotText {
        index: usize,
        what: &'static str,
    },
    /// A frame's labels that do not match its columns (a bug in the conversion).
    LabelCount {
        labels: usize,
        cols: usize,
    },
    /// A meta column kind the core does not know.
    UnknownMeta(String),
    /// `correlation=` together with `correlation_id=` or `request_id=`.
    CorrelationTwice,
    BadPartition(String),
    BadSampleRate(f64),
    BadSeconds {
        name: &'static str,
        value: f64,
    },
    NotPositive(&'static str),
    /// A handle used before it was bound to a pipeline.
    Unbound,
    /// The encoder thread could not be started.
    Spawn(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ColumnMismatch { expected, got } => write!(
                f,
                "the data has {got} columns but this collector takes {expected} (its feature_names, or the first collect())"
            ),
            Error::TypeConflict { column, fixed, got } => write!(
                f,
                "column {column:?} holds {got} values but this collector's first collect() fixed it as {fixed}; \
                 convert them, or collect them under another collector (nothing of this call was taken)"
            ),
            Error::Misplaced { column, under, labels, names } => write!(
                f,
                "column {column:?} would be written under {under:?}: the data's columns {labels:?} are not this \
                 collector's names {names:?}, so they would be placed by position; name them alike, or pass the \
                 values without names (nothing of this call was taken)"
            ),
            Error::NoColumns { rows } => write!(f, "the data has {rows} rows but no columns"),
            Error::NoNames => write!(f, "feature_names is empty"),
            Error::DuplicateNames(names) => write!(f, "feature_names has duplicates: {names:?}"),
            Error::ReservedName { index, name } => {
                write!(f, "feature_names[{index}] is {name:?}, a column modeltap adds itself")
            }
            Error::NameNotText { index, what } => {
                write!(f, "{what}[{index}] is not valid Unicode text (it holds a lone surrogate)")
            }
            Error::LabelCount { labels, cols } => write!(f, "the data has {cols} columns but {labels} column names"),
            Error::UnknownMeta(kind) => write!(f, "unknown meta column {kind:?}"),
            Error::CorrelationTwice => write!(
                f,
                "pass either correlation= or correlation_id=/request_id=, not both: the correlation already carries its ids"
            ),
            Error::BadPartition(p) => write!(f, "partition must be 'day' or 'hour', got {p:?}"),
            Error::BadSampleRate(r) => write!(f, "sample_rate must be between 0 and 1, got {r}"),
            Error::BadSeconds { name, value } => {
                write!(f, "{name} must be a non-negative number of seconds, got {value}")
            }
            Error::NotPositive(name) => write!(f, "{name} must be positive"),
            Error::Unbound => write!(f, "this collector is not bound to a pipeline"),
            Error::Spawn(e) => write!(f, "cannot start the encoder thread: {e}"),
        }
    }
}

impl std::error::Error for Error {}
