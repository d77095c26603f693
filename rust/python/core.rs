//! `Core` (the process's pipeline) and `Stream` (one collector's handle): convert, delegate.

use std::sync::Arc;
use std::time::Duration;

use numpy::{PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::convert::{self, Converted};
use super::types::{PyChunk, PyCorrelation, PyManualClock};
use crate::clock::{Clock, Partitioning};
use crate::encode::needs_quoting;
use crate::pipeline::{Config, Output, Pipeline};
use crate::stats::Stats;
use crate::stream::{MetaColumn, StreamConfig};

type Core = Pipeline<Py<PyAny>>;

/// Owners the encoder is done with, released a few per `collect()` so none pile up.
const RELEASE_PER_COLLECT: usize = 4;

fn seconds(name: &str, s: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s).map_err(|_| PyValueError::new_err(format!("{name} must be a non-negative number of seconds, got {s}")))
}

#[pyclass(frozen, name = "Core", module = "modeltap._native")]
pub struct PyCore {
    core: Arc<Core>,
}

#[pymethods]
impl PyCore {
    #[new]
    #[pyo3(signature = (*, capacity, chunk_bytes, flush_interval, max_sealed, nonce, clock=None))]
    fn new(
        capacity: usize,
        chunk_bytes: usize,
        flush_interval: f64,
        max_sealed: usize,
        nonce: u64,
        clock: Option<PyRef<'_, PyManualClock>>,
    ) -> PyResult<Self> {
        for (name, v) in [("capacity", capacity), ("chunk_bytes", chunk_bytes), ("max_sealed", max_sealed)] {
            if v == 0 {
                return Err(PyValueError::new_err(format!("{name} must be positive")));
            }
        }
        let config = Config {
            capacity,
            chunk_bytes,
            flush_interval: seconds("flush_interval", flush_interval)?,
            max_sealed,
            clock: clock.map_or(Clock::System, |c| c.clock.clone()),
            nonce,
        };
        let core = Pipeline::start(config).map_err(|e| PyRuntimeError::new_err(format!("cannot start the encoder thread: {e}")))?;
        Ok(PyCore { core: Arc::new(core) })
    }

    /// Registers a stream. `meta` lists the columns after the values, each `(kind, value)`:
    /// kinds `correlation_id`, `timestamp`, `request_id`, `row`, or `constant` with its text.
    #[pyo3(signature = (*, partition, meta, ncols, block_timeout=None))]
    fn stream(&self, partition: &str, meta: Vec<(String, Option<String>)>, ncols: usize, block_timeout: Option<f64>) -> PyResult<PyStream> {
        let partitioning = Partitioning::parse(partition)
            .ok_or_else(|| PyValueError::new_err(format!("partition must be 'day' or 'hour', got {partition:?}")))?;
        let meta = meta
            .into_iter()
            .map(|(kind, value)| match (kind.as_str(), value) {
                ("correlation_id", None) => Ok(MetaColumn::CorrelationId),
                ("timestamp", None) => Ok(MetaColumn::Timestamp),
                ("request_id", None) => Ok(MetaColumn::RequestId),
                ("row", None) => Ok(MetaColumn::Row),
                ("constant", Some(v)) => {
                    let mut field = Vec::new();
                    crate::encode::write_text(&mut field, &v);
                    Ok(MetaColumn::Constant(field))
                }
                (k, _) => Err(PyValueError::new_err(format!("unknown meta column {k:?}"))),
            })
            .collect::<PyResult<Vec<_>>>()?;
        let wait = block_timeout.map(|t| seconds("timeout", t)).transpose()?;
        Ok(PyStream { core: self.core.clone(), config: self.core.register(partitioning, meta, ncols), wait })
    }

    /// Seals everything collected so far; returns the ticket `next_output` reports when done,
    /// or None if the ring stayed full for `timeout` seconds or the core is closed.
    fn flush(&self, py: Python<'_>, timeout: f64) -> PyResult<Option<u64>> {
        let timeout = seconds("timeout", timeout)?;
        let core = &self.core;
        Ok(py.detach(|| core.flush(timeout)))
    }

    /// Stops taking rows and asks the encoder to seal everything and stop.
    fn close(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let timeout = seconds("timeout", timeout)?;
        let core = &self.core;
        Ok(py.detach(|| core.close(timeout)))
    }

    /// Waits up to `timeout` seconds, without the GIL, for the encoder's next output:
    /// `("chunk", Chunk)`, `("flushed", ticket)`, `("closed", None)`, or None.
    fn next_output(&self, py: Python<'_>, timeout: f64) -> PyResult<Option<(&'static str, Py<PyAny>)>> {
        let timeout = seconds("timeout", timeout)?;
        let core = &self.core;
        let out = py.detach(|| core.next_output(timeout));
        self.release();
        Ok(match out {
            None => None,
            Some(Output::Chunk(c)) => Some(("chunk", Py::new(py, PyChunk::new(py, c))?.into_any())),
            Some(Output::Flushed(t)) => Some(("flushed", t.into_pyobject(py)?.into_any().unbind())),
            Some(Output::Closed) => Some(("closed", py.None())),
        })
    }

    /// Drops the references the encoder is done with; returns how many.
    fn release(&self) -> usize {
        let mut n = 0;
        while let Some(owner) = self.core.pop_released() {
            drop(owner);
            n += 1;
        }
        n
    }

    /// Waits for the encoder thread to end, after `("closed", None)`.
    fn join(&self, py: Python<'_>) {
        let core = &self.core;
        py.detach(|| core.join())
    }

    #[getter]
    fn closed(&self) -> bool {
        self.core.is_closed()
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.core.stats() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }
}

/// One collector's handle on the core.
#[pyclass(frozen, name = "Stream", module = "modeltap._native")]
pub struct PyStream {
    core: Arc<Core>,
    config: Arc<StreamConfig>,
    /// `Some` under `policy="block"`: how long `collect()` waits for room.
    wait: Option<Duration>,
}

impl PyStream {
    fn collect_with<'py>(
        &self,
        py: Python<'py>,
        rows_hint: usize,
        convert: impl FnOnce(usize) -> PyResult<Converted>,
        correlation: Option<Bound<'py, PyCorrelation>>,
        correlation_id: Option<String>,
        request_id: Option<String>,
    ) -> PyResult<Bound<'py, PyCorrelation>> {
        for _ in 0..RELEASE_PER_COLLECT {
            match self.core.pop_released() {
                Some(owner) => drop(owner),
                None => break,
            }
        }
        let corr = match correlation {
            Some(c) => {
                if correlation_id.is_some() || request_id.is_some() {
                    return Err(PyValueError::new_err(
                        "pass either correlation= or correlation_id=/request_id=, not both: the correlation already carries its ids",
                    ));
                }
                c.get().inner.clone()
            }
            None => self.core.correlation(correlation_id.map(Arc::from), request_id.map(Arc::from)),
        };
        if !self.config.enabled() {
            Stats::add(&self.core_stats().rows_disabled, rows_hint);
            return Bound::new(py, PyCorrelation { inner: corr });
        }
        if !self.config.samples(corr.nonce, corr.counter) {
            Stats::add(&self.core_stats().rows_sampled_out, rows_hint);
            return Bound::new(py, PyCorrelation { inner: corr });
        }
        let Converted { batch, owner } = convert(self.config.ncols())?;
        if batch.rows() > 0 && batch.cols() == 0 {
            return Err(PyValueError::new_err(format!("the data has {} rows but no columns", batch.rows())));
        }
        if let Err(e) = self.config.check_cols(batch.cols()) {
            return Err(PyValueError::new_err(format!(
                "the data has {} columns but this collector takes {} (its feature_names, or the first collect())",
                e.got, e.expected
            )));
        }
        if batch.rows() > 0 {
            let rec = crate::record::Record { stream: self.config.clone(), correlation: corr.clone(), batch, owner };
            let refused = match self.wait {
                None => self.core.submit(rec, None).err(),
                Some(t) => {
                    let core = &self.core;
                    py.detach(|| core.submit(rec, Some(t)).err())
                }
            };
            // A refused record is released here, attached; the loss is already counted.
            drop(refused);
        }
        Bound::new(py, PyCorrelation { inner: corr })
    }

    fn core_stats(&self) -> &Stats {
        self.core.stats_ref()
    }
}

#[pymethods]
impl PyStream {
    /// Collects a numpy array: 1-D is one row, 2-D is rows × columns. Read in place, not copied.
    #[pyo3(signature = (data, correlation=None, correlation_id=None, request_id=None, copy=false))]
    fn collect<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        correlation: Option<Bound<'py, PyCorrelation>>,
        correlation_id: Option<String>,
        request_id: Option<String>,
        copy: bool,
    ) -> PyResult<Bound<'py, PyCorrelation>> {
        let data = if copy { data.call_method0("copy")? } else { data.clone() };
        let rows = match data.cast::<PyUntypedArray>() {
            Ok(a) => match *a.shape() {
                [n] if self.config.ncols() == 1 => n,
                [_] => 1,
                [r, ..] => r,
                [] => 1,
            },
            Err(_) => 1,
        };
        self.collect_with(
            py,
            rows,
            |ncols| {
                convert::array(&data, ncols)?.ok_or_else(|| {
                    pyo3::exceptions::PyTypeError::new_err(format!(
                        "collect() takes numpy arrays here, got {}",
                        data.get_type().name().map(|n| n.to_string()).unwrap_or_default()
                    ))
                })
            },
            correlation,
            correlation_id,
            request_id,
        )
    }

    /// Collects columns: a list of 1-D numpy arrays of equal length.
    #[pyo3(signature = (columns, correlation=None, correlation_id=None, request_id=None))]
    fn collect_columns<'py>(
        &self,
        py: Python<'py>,
        columns: &Bound<'py, PyList>,
        correlation: Option<Bound<'py, PyCorrelation>>,
        correlation_id: Option<String>,
        request_id: Option<String>,
    ) -> PyResult<Bound<'py, PyCorrelation>> {
        let rows = match columns.iter().next() {
            Some(c) => c.len().unwrap_or(1),
            None => 0,
        };
        self.collect_with(py, rows, |_| convert::columns(py, columns), correlation, correlation_id, request_id)
    }

    #[getter]
    fn id(&self) -> u32 {
        self.config.id
    }

    /// Value columns; 0 until the first `collect()` fixes it.
    #[getter]
    fn ncols(&self) -> usize {
        self.config.ncols()
    }

    #[getter]
    fn enabled(&self) -> bool {
        self.config.enabled()
    }

    #[setter]
    fn set_enabled(&self, on: bool) {
        self.config.set_enabled(on)
    }

    #[getter]
    fn sample_rate(&self) -> f64 {
        self.config.sample_rate()
    }

    #[setter]
    fn set_sample_rate(&self, rate: f64) -> PyResult<()> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(PyValueError::new_err(format!("sample_rate must be between 0 and 1, got {rate}")));
        }
        self.config.set_sample_rate(rate);
        Ok(())
    }
}

/// Whether a header name must be quoted in CSV (exposed so Python quotes exactly as Rust does).
#[pyfunction]
pub fn csv_field(text: &str) -> String {
    if needs_quoting(text.as_bytes()) {
        let mut out = Vec::new();
        crate::encode::write_text(&mut out, text);
        String::from_utf8(out).expect("quoting keeps UTF-8")
    } else {
        text.to_string()
    }
}
