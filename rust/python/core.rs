//! `Core` (the process's pipeline) and `StreamHandle` (one collector's handle): convert, delegate.

use std::sync::Arc;
use std::time::Duration;

use numpy::{PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::convert::{self, Converted};
use super::types::{PyChunk, PyCorrelation, PyManualClock};
use crate::clock::{Clock, Partitioning};
use crate::pipeline::{Config, Output, Pipeline};
use crate::stats::Stats;
use crate::stream::{MetaColumn, StreamConfig};

type Core = Pipeline<Py<PyAny>>;

/// Owners the encoder is done with, released a few per `collect()` so none pile up.
const RELEASE_PER_COLLECT: usize = 4;

fn seconds(name: &str, s: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| PyValueError::new_err(format!("{name} must be a non-negative number of seconds, got {s}")))
}

#[pyclass(frozen, name = "Core", module = "modeltap._native")]
pub struct PyCore {
    pub(super) core: Arc<Core>,
}

#[pymethods]
impl PyCore {
    #[new]
    #[pyo3(signature = (*, capacity, max_queue_bytes, chunk_bytes, flush_interval, max_sealed, nonce, clock=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        capacity: usize,
        max_queue_bytes: usize,
        chunk_bytes: usize,
        flush_interval: f64,
        max_sealed: usize,
        nonce: u64,
        clock: Option<PyRef<'_, PyManualClock>>,
    ) -> PyResult<Self> {
        for (name, v) in [
            ("capacity", capacity),
            ("max_queue_bytes", max_queue_bytes),
            ("chunk_bytes", chunk_bytes),
            ("max_sealed", max_sealed),
        ] {
            if v == 0 {
                return Err(PyValueError::new_err(format!("{name} must be positive")));
            }
        }
        let config = Config {
            capacity,
            max_queue_bytes,
            chunk_bytes,
            flush_interval: seconds("flush_interval", flush_interval)?,
            max_sealed,
            clock: clock.map_or(Clock::System, |c| c.clock.clone()),
            nonce,
        };
        let core = Pipeline::start(config)
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the encoder thread: {e}")))?;
        Ok(PyCore { core: Arc::new(core) })
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

    /// Why the encoder thread failed, if it did (a bug: please report it).
    #[getter]
    fn failure(&self) -> Option<String> {
        self.core.failure()
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

/// One collector's handle on the core; `modeltap.Collector` subclasses it, so `collect()` is a
/// single native call.
#[pyclass(subclass, name = "StreamHandle", module = "modeltap._native")]
pub struct PyStream {
    // Shared so `collect()` can let go of its borrow of the handle before it waits (policy
    // "block"), leaving `_bind` free to run meanwhile.
    bound: Option<Arc<Binding>>,
}

struct Binding {
    core: Arc<Core>,
    config: Arc<StreamConfig>,
    /// `Some` under `policy="block"`: how long `collect()` waits for room.
    wait: Option<Duration>,
}

fn parse_meta(meta: Vec<(String, Option<String>)>) -> PyResult<Vec<MetaColumn>> {
    meta.into_iter()
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
        .collect()
}

impl Binding {
    #[allow(clippy::too_many_arguments)]
    fn collect_with<'py>(
        &self,
        py: Python<'py>,
        rows_hint: usize,
        convert: impl FnOnce(usize) -> PyResult<Converted>,
        correlation: Option<Bound<'py, PyCorrelation>>,
        correlation_id: Option<String>,
        request_id: Option<String>,
    ) -> PyResult<Bound<'py, PyCorrelation>> {
        let Binding { core, config, wait } = self;
        for _ in 0..RELEASE_PER_COLLECT {
            match core.pop_released() {
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
            None => core.correlation(correlation_id.map(Arc::from), request_id.map(Arc::from)),
        };
        if !config.enabled() {
            Stats::add(&core.stats_ref().rows_disabled, rows_hint);
            return Bound::new(py, PyCorrelation { inner: corr });
        }
        if !config.samples(corr.nonce, corr.counter) {
            Stats::add(&core.stats_ref().rows_sampled_out, rows_hint);
            return Bound::new(py, PyCorrelation { inner: corr });
        }
        let Converted { batch, owner } = convert(config.ncols())?;
        if batch.rows() == 0 && batch.cols() == 0 {
            // An empty list: no rows, and no columns to check.
            return Bound::new(py, PyCorrelation { inner: corr });
        }
        if batch.rows() > 0 && batch.cols() == 0 {
            return Err(PyValueError::new_err(format!("the data has {} rows but no columns", batch.rows())));
        }
        if let Err(e) = config.check_cols(batch.cols()) {
            return Err(PyValueError::new_err(format!(
                "the data has {} columns but this collector takes {} (its feature_names, or the first collect())",
                e.got, e.expected
            )));
        }
        if batch.rows() > 0 {
            let rec = crate::record::Record { stream: config.clone(), correlation: corr.clone(), batch, owner };
            let refused = match wait {
                None => core.submit(rec, None).err(),
                Some(t) => py.detach(|| core.submit(rec, Some(*t)).err()),
            };
            // A refused record is released here, attached; the loss is already counted.
            drop(refused);
        }
        Bound::new(py, PyCorrelation { inner: corr })
    }
}

impl PyStream {
    fn binding(&self) -> PyResult<&Arc<Binding>> {
        self.bound.as_ref().ok_or_else(|| PyRuntimeError::new_err("this collector is not bound to a pipeline"))
    }
}

#[pymethods]
impl PyStream {
    /// Unbound until `_bind`; the subclass's `__init__` takes its own arguments.
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, pyo3::types::PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        PyStream { bound: None }
    }

    /// Registers this handle's stream on `core`, keeping the switches and the column count of a
    /// previous binding. `meta` lists the columns after the values, each `(kind, value)`: kinds
    /// `correlation_id`, `timestamp`, `request_id`, `row`, or `constant` with its text.
    #[pyo3(signature = (core, *, partition, meta, ncols, block_timeout=None))]
    fn _bind(
        &mut self,
        core: &PyCore,
        partition: &str,
        meta: Vec<(String, Option<String>)>,
        ncols: usize,
        block_timeout: Option<f64>,
    ) -> PyResult<()> {
        let partitioning = Partitioning::parse(partition)
            .ok_or_else(|| PyValueError::new_err(format!("partition must be 'day' or 'hour', got {partition:?}")))?;
        let wait = block_timeout.map(|t| seconds("timeout", t)).transpose()?;
        let ncols = match &self.bound {
            Some(old) if ncols == 0 => old.config.ncols(),
            _ => ncols,
        };
        let config = core.core.register(partitioning, parse_meta(meta)?, ncols);
        if let Some(old) = &self.bound {
            config.set_enabled(old.config.enabled());
            config.set_sample_rate(old.config.sample_rate());
        }
        self.bound = Some(Arc::new(Binding { core: core.core.clone(), config, wait }));
        Ok(())
    }

    /// Queues rows for writing and returns their Correlation.
    ///
    ///     corr = inputs.collect(np.array([[1.0, 2.0]]), correlation_id="LoanNumber-123")
    ///
    /// Pass `correlation=corr` to another collector's collect() to put the same ids on its
    /// rows. numpy arrays are read in place: the rows are encoded from the array's memory on a
    /// background thread shortly after this returns, so an array changed in place afterwards
    /// may be written changed; pass copy=True then. Other inputs go through
    /// `_collect_other` (data frames, dicts, lists).
    #[pyo3(signature = (data, correlation=None, *, correlation_id=None, request_id=None, copy=false))]
    fn collect<'py>(
        slf: &Bound<'py, Self>,
        data: &Bound<'py, PyAny>,
        correlation: Option<Bound<'py, PyCorrelation>>,
        correlation_id: Option<String>,
        request_id: Option<String>,
        copy: bool,
    ) -> PyResult<Bound<'py, PyCorrelation>> {
        let py = slf.py();
        let Ok(arr) = data.cast::<PyUntypedArray>() else {
            let out = slf.call_method1("_collect_other", (data, correlation, correlation_id, request_id, copy))?;
            return Ok(out.cast_into::<PyCorrelation>()?);
        };
        let binding = slf.borrow().binding()?.clone();
        let rows = convert::layout(arr.shape(), binding.config.ncols()).map_or(1, |(rows, _)| rows);
        let data = if copy { data.call_method0("copy")? } else { data.clone() };
        binding.collect_with(
            py,
            rows,
            |ncols| Ok(convert::array(&data, ncols)?.expect("checked to be an array above")),
            correlation,
            correlation_id,
            request_id,
        )
    }

    /// Collects columns: a list of 1-D numpy arrays of equal length.
    #[pyo3(signature = (columns, correlation=None, correlation_id=None, request_id=None))]
    fn _collect_columns<'py>(
        slf: &Bound<'py, Self>,
        columns: &Bound<'py, PyList>,
        correlation: Option<Bound<'py, PyCorrelation>>,
        correlation_id: Option<String>,
        request_id: Option<String>,
    ) -> PyResult<Bound<'py, PyCorrelation>> {
        let py = slf.py();
        let binding = slf.borrow().binding()?.clone();
        let rows = match columns.iter().next() {
            Some(c) => c.len().unwrap_or(1),
            None => 0,
        };
        binding.collect_with(py, rows, |_| convert::columns(py, columns), correlation, correlation_id, request_id)
    }

    /// Value columns; 0 until the first `collect()` fixes it.
    #[getter]
    fn _ncols(&self) -> PyResult<usize> {
        Ok(self.binding()?.config.ncols())
    }

    /// The runtime switch: when False, `collect()` only counts the rows it skips.
    #[getter]
    fn enabled(&self) -> PyResult<bool> {
        Ok(self.binding()?.config.enabled())
    }

    #[setter]
    fn set_enabled(&self, on: bool) -> PyResult<()> {
        self.binding()?.config.set_enabled(on);
        Ok(())
    }

    /// Fraction of requests kept (1.0 keeps all), decided per request.
    #[getter]
    fn sample_rate(&self) -> PyResult<f64> {
        Ok(self.binding()?.config.sample_rate())
    }

    #[setter]
    fn set_sample_rate(&self, rate: f64) -> PyResult<()> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(PyValueError::new_err(format!("sample_rate must be between 0 and 1, got {rate}")));
        }
        self.binding()?.config.set_sample_rate(rate);
        Ok(())
    }

    #[getter]
    fn _stream_id(&self) -> PyResult<u32> {
        Ok(self.binding()?.config.id)
    }
}

/// `text` as one CSV field, quoted as the encoder quotes values (for header names).
#[pyfunction]
pub fn csv_field(text: &str) -> String {
    let mut out = Vec::new();
    crate::encode::write_text(&mut out, text);
    String::from_utf8(out).expect("quoting keeps UTF-8")
}
