//! Small value classes the Python side sees: Correlation, Chunk, ManualClock.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::chunk::Chunk;
use crate::clock::Clock;
use crate::record::Correlation;

/// The ids of one request; pass it to another collector's `collect(..., correlation=...)` so
/// both files carry the same ids and join row by row.
// A free list: every collect() makes one; allocating and freeing it was ~100 ns of ~450.
#[pyclass(frozen, freelist = 64, name = "Correlation", module = "modeltap._native")]
pub struct PyCorrelation {
    pub inner: Correlation,
}

#[pymethods]
impl PyCorrelation {
    /// The correlation id written on every row: the caller's prefix, if any, then a generated id.
    #[getter]
    fn id(&self) -> String {
        self.inner.id()
    }

    #[getter]
    fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// UTC time of the `collect()` call, in nanoseconds since the epoch.
    #[getter]
    fn timestamp_ns(&self) -> i64 {
        self.inner.ts_ns
    }

    /// UTC time of the `collect()` call as an aware `datetime` (microsecond precision).
    #[getter]
    fn timestamp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let dt = py.import("datetime")?;
        let epoch = dt.getattr("datetime")?.call1((1970, 1, 1, 0, 0, 0, 0, dt.getattr("timezone")?.getattr("utc")?))?;
        let delta = dt.getattr("timedelta")?.call1((0, 0, self.inner.ts_ns.div_euclid(1000)))?;
        epoch.call_method1("__add__", (delta,))
    }

    fn __repr__(&self) -> String {
        format!("Correlation(id={:?}, timestamp_ns={})", self.inner.id(), self.inner.ts_ns)
    }
}

/// Sealed CSV rows (no header) for one stream and one UTC day or hour.
#[pyclass(frozen, name = "Chunk", module = "modeltap._native")]
pub struct PyChunk {
    #[pyo3(get)]
    stream: u32,
    #[pyo3(get)]
    year: i64,
    #[pyo3(get)]
    month: u32,
    #[pyo3(get)]
    day: u32,
    #[pyo3(get)]
    hour: Option<u32>,
    #[pyo3(get)]
    rows: u64,
    #[pyo3(get)]
    data: Py<PyBytes>,
    /// The stream's header line, fixed before any of its rows was accepted.
    #[pyo3(get)]
    header: Py<PyBytes>,
    /// The record of every column's type (see `modeltap.columns.parse_schema`), which stores
    /// keep with each file they start.
    #[pyo3(get)]
    schema: String,
    /// The stream's file stem: files are `<stem>.csv`, `<stem>.1.csv`, ...
    #[pyo3(get)]
    stem: String,
}

impl PyChunk {
    pub fn new(py: Python<'_>, chunk: Chunk) -> Self {
        let (year, month, day, hour) = chunk.partition.civil();
        PyChunk {
            stream: chunk.stream,
            year,
            month,
            day,
            hour,
            rows: chunk.rows,
            data: PyBytes::new(py, &chunk.data).unbind(),
            header: PyBytes::new(py, &chunk.header).unbind(),
            schema: chunk.schema.to_string(),
            stem: chunk.stem.to_string(),
        }
    }
}

#[pymethods]
impl PyChunk {
    fn __repr__(&self) -> String {
        let hour = self.hour.map(|h| format!(" {h:02}h")).unwrap_or_default();
        format!(
            "Chunk(stream={}, {}-{:02}-{:02}{hour}, rows={})",
            self.stream, self.year, self.month, self.day, self.rows
        )
    }
}

/// A clock a test sets by hand, in nanoseconds since the epoch (UTC).
#[pyclass(frozen, name = "ManualClock", module = "modeltap._native")]
pub struct PyManualClock {
    pub clock: Clock,
}

#[pymethods]
impl PyManualClock {
    #[new]
    fn new(ns: i64) -> Self {
        PyManualClock { clock: Clock::manual(ns) }
    }

    fn set_ns(&self, ns: i64) {
        self.clock.set_ns(ns)
    }

    #[getter]
    fn now_ns(&self) -> i64 {
        self.clock.now_ns()
    }
}
