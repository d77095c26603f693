//! `Core` (the process's pipeline) and `StreamHandle` (one collector's handle): convert, delegate.

use std::sync::Arc;
use std::time::Duration;

use numpy::{PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use super::arrow;
use super::convert::{self, Converted};
use super::frame;
use super::rows;
use super::types::{PyChunk, PyCorrelation, PyManualClock};
use crate::clock::{Clock, Partitioning};
use crate::error::Error;
use crate::pipeline::{Abandoned, Config, Input, Output, Owner, Pipeline};
use crate::stream::{MetaColumn, StreamConfig};
use crate::switch;

type Core = Pipeline<Py<PyAny>>;

/// The last reference to a core goes with a Python object (a `PyCore`, a bound `PyStream`), so
/// a core dropped without `close()` is abandoned attached: the wait for its encoder runs
/// detached, then every owner is dropped here. None is ever dropped on the encoder thread, where
/// an array's reference would wait for whoever attaches next and pyarrow's release takes the
/// GIL itself (at interpreter exit: a crash or a hang).
impl Owner for Py<PyAny> {
    fn detached<R: Send>(f: impl FnOnce() -> R + Send) -> R {
        let mut f = Some(f);
        let r = Python::try_attach(|py| py.detach(|| f.take().map(|f| f())));
        match r.flatten() {
            Some(r) => r,
            None => f.take().map(|f| f()).expect("ran once"),
        }
    }

    fn abandoned(gone: Abandoned<Self>) {
        let Abandoned { owners, rows_lost } = gone;
        let mut owners = Some(owners);
        let logged = Python::try_attach(|py| {
            drop(owners.take());
            // Nothing silent: the counters go with the core, so the loss goes to the log.
            rows_lost == 0 || log_lost(py, rows_lost).is_ok()
        });
        if logged != Some(true) {
            // At interpreter exit logging may be gone already: stderr is what is left.
            eprintln!("{}", lost_message(rows_lost));
        }
        // The interpreter is gone or going (3.13+ says so): what the core held is leaked rather
        // than released without it.
        std::mem::forget(owners);
    }
}

/// modeltap's logger, taken when the first core starts: at interpreter exit, when a core left
/// alive goes, `logging` can no longer be imported.
static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn lost_message(rows: u64) -> String {
    format!("modeltap: {rows} rows were still queued or unwritten when a pipeline was dropped without close()")
}

fn log_lost(py: Python<'_>, rows: u64) -> PyResult<()> {
    let logger = LOGGER.get(py).ok_or_else(|| PyTypeError::new_err("no logger"))?;
    logger.bind(py).call_method1(intern!(py, "error"), (lost_message(rows),))?;
    Ok(())
}

/// Owners the encoder is done with, released a few per `collect()` so none pile up.
const RELEASE_PER_COLLECT: usize = 4;

fn seconds(name: &'static str, s: f64) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(s).map_err(|_| Error::BadSeconds { name, value: s })
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
        py: Python<'_>,
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
                return Err(Error::NotPositive(name).into());
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
            switch: &switch::PROCESS,
        };
        LOGGER.get_or_try_init(py, || -> PyResult<_> {
            Ok(py.import("logging")?.call_method1("getLogger", ("modeltap",))?.unbind())
        })?;
        let core = Pipeline::start(config).map_err(|e| Error::Spawn(e.to_string()))?;
        Ok(PyCore { core: Arc::new(core) })
    }

    /// Seals everything collected so far; returns the ticket `next_output` reports when done,
    /// or None if the ring stayed full for `timeout` seconds or the core is closed.
    fn flush(&self, py: Python<'_>, timeout: f64) -> PyResult<Option<u64>> {
        let timeout = seconds("timeout", timeout)?;
        let core = &self.core;
        Ok(py.detach(|| core.flush(timeout)))
    }

    /// Sends what is offered to this core after it closed to `successor` instead: call before
    /// `close()` when `configure()` replaces a pipeline, once collectors moved.
    fn retire_into(&self, successor: &PyCore) {
        self.core.retire_into(successor.core.clone())
    }

    /// Stops taking rows and asks the encoder to seal everything and stop.
    fn close(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let timeout = seconds("timeout", timeout)?;
        let core = &self.core;
        Ok(py.detach(|| core.close(timeout)))
    }

    /// Waits up to `timeout` seconds, without the GIL, for the encoder's next output:
    /// `("chunk", Chunk)`, `("flushed", ticket)`, `("closed", None)`, or None. Meanwhile it
    /// releases the Arrow data the encoder is done with, so that `collect()` does not.
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

    /// Why the last Arrow data dropped by the encoder could not be imported, if any was.
    #[getter]
    fn last_arrow_error(&self) -> Option<String> {
        self.core.last_arrow_error()
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

impl PyCore {
    /// Drops the references the encoder is done with (called attached).
    fn release(&self) {
        while let Some(owner) = self.core.pop_any_released() {
            drop(owner);
        }
    }
}

/// One collector's handle on the core; `modeltap.Collector` subclasses it, so `collect()` is a
/// single native call.
#[pyclass(subclass, name = "StreamHandle", module = "modeltap._native")]
pub struct PyStream {
    stream: Option<Arc<StreamConfig>>,
    /// `Some` under `policy="block"`: how long `collect()` waits for room.
    wait: Option<Duration>,
    // Shared so `collect()` can let go of its borrow of the handle before it waits (policy
    // "block"), leaving `_bind` free to run meanwhile.
    bound: Option<Arc<Binding>>,
}

struct Binding {
    core: Arc<Core>,
    stream: Arc<StreamConfig>,
    wait: Option<Duration>,
    /// What the Arrow schemas collected lately meant (names, types): a cache, kept per binding.
    shapes: arrow::Shapes,
    labels: frame::LabelsSeen,
}

/// The pure Python function that turns frames, dicts and lists into columns; imported once.
static TO_COLUMNS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
/// ... and the one that counts their rows, for calls that are not admitted.
static ROWS_IN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Where each of a stream's fixed `names` is among the `labels` of a frame or dict the Python
/// side converts (`stream::place`); a `ValueError` when by position a column would land under
/// another of the names. A label that is not text (a lone surrogate) matches no name.
#[pyfunction]
pub fn place_columns(names: Vec<String>, labels: Vec<Bound<'_, PyString>>) -> PyResult<Vec<usize>> {
    let labels: Vec<_> = labels.iter().map(|l| l.to_string_lossy()).collect();
    Ok(crate::stream::place(&names, &labels)?)
}

/// Names given by Python: each a str that is valid Unicode.
fn names_of(obj: &Bound<'_, PyAny>, what: &'static str) -> PyResult<Vec<String>> {
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!("{what} must be a sequence of str, not one str")));
    }
    obj.try_iter()?
        .enumerate()
        .map(|(index, item)| {
            let item = item?;
            let s = item
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err(format!("{what}[{index}] is a {}, not a str", type_name(&item))))?;
            Ok(s.to_str().map_err(|_| Error::NameNotText { index, what })?.to_owned())
        })
        .collect()
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

impl Binding {
    /// Hands an accepted record to the core: at once, or waiting (without the GIL) for room.
    fn submit(&self, py: Python<'_>, rec: crate::record::Record<Py<PyAny>>) {
        let refused = match self.wait {
            None => self.core.submit(rec, None).err(),
            Some(t) => py.detach(|| self.core.submit(rec, Some(t)).err()),
        };
        // A refused record is released here, attached; the loss is already counted.
        drop(refused);
    }

    /// Arrow data, a frame, a dict or a list as columns: Arrow data and pandas frames read
    /// here, the rest converted by one call of the Python function.
    fn other_input(&self, data: &Bound<'_, PyAny>, ncols: usize, copy: bool) -> PyResult<Input<Py<PyAny>>> {
        let py = data.py();
        // Arrow memory is immutable: held by reference under `copy` too.
        if let Some(input) = arrow::input(data, &self.shapes, self.stream.contract().map(|c| c.names.as_slice()))? {
            return Ok(input);
        }
        let names = self.stream.contract().map(|c| c.names.as_slice());
        let fixed = names.is_some();
        if let Some((Converted { batch, owner }, labels)) =
            frame::blocks(data, names, &self.labels, self.shapes.cache(), copy)?
        {
            return Ok(Input { batch, owner, labels });
        }
        if let Some(Converted { batch, owner }) = rows::rows(data, ncols)? {
            return Ok(Input { batch, owner, labels: None });
        }
        if let Some((Converted { batch, owner }, labels)) = rows::mapping(data, names)? {
            return Ok(Input { batch, owner, labels });
        }
        let out = TO_COLUMNS.import(py, "modeltap.tabular", "to_columns")?.call1((data, names, ncols, copy))?;
        let (columns, labels): (Bound<'_, PyList>, Option<Bound<'_, PyAny>>) = out.extract()?;
        // Labels only matter while the names are not fixed.
        let labels = labels.filter(|_| !fixed).map(|l| names_of(&l, "column names")).transpose()?;
        let Converted { batch, owner } = convert::columns(py, &columns, self.shapes.cache())?;
        Ok(Input { batch, owner, labels })
    }
}

impl PyStream {
    fn binding(&self) -> Result<&Arc<Binding>, Error> {
        self.bound.as_ref().ok_or(Error::Unbound)
    }

    fn stream(&self) -> PyResult<&Arc<StreamConfig>> {
        self.stream.as_ref().ok_or_else(|| PyTypeError::new_err("this handle's stream is not defined yet"))
    }
}

#[pymethods]
impl PyStream {
    /// Undefined until `_define`; the subclass's `__init__` takes its own arguments.
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        PyStream { stream: None, wait: None, bound: None }
    }

    /// Defines this handle's stream, once: its columns and policy. `meta` lists the columns
    /// after the values, each `(kind, title, value)`: kinds `correlation_id`, `timestamp`,
    /// `request_id`, `row`, or `constant` with its text. `names` fixes the header now.
    #[pyo3(signature = (*, partition, meta, stem, names=None, block_timeout=None))]
    fn _define(
        &mut self,
        partition: &str,
        meta: Vec<(String, String, Option<String>)>,
        stem: &str,
        names: Option<&Bound<'_, PyAny>>,
        block_timeout: Option<f64>,
    ) -> PyResult<()> {
        if self.stream.is_some() {
            return Err(PyTypeError::new_err("this handle's stream is already defined"));
        }
        let partitioning = Partitioning::parse(partition).ok_or_else(|| Error::BadPartition(partition.into()))?;
        let wait = block_timeout.map(|t| seconds("timeout", t)).transpose()?;
        let meta = meta
            .into_iter()
            .map(|(kind, title, value)| Ok((MetaColumn::parse(&kind, value.as_deref())?, title)))
            .collect::<Result<Vec<_>, Error>>()?;
        let names = names.map(|n| names_of(n, "feature_names")).transpose()?;
        self.stream = Some(Arc::new(StreamConfig::new(partitioning, meta, stem, names)?));
        self.wait = wait;
        Ok(())
    }

    /// Moves this handle to `core`; its stream (contract, switches) moves whole.
    fn _bind(&mut self, core: &PyCore) -> PyResult<()> {
        let stream = self.stream()?.clone();
        self.bound = Some(Arc::new(Binding {
            core: core.core.clone(),
            stream,
            wait: self.wait,
            shapes: Default::default(),
            labels: Default::default(),
        }));
        Ok(())
    }

    /// Queues rows for writing and returns their Correlation.
    ///
    ///     corr = inputs.collect(np.array([[1.0, 2.0]]), correlation_id="LoanNumber-123")
    ///
    /// Pass `correlation=corr` to another collector's collect() to put the same ids on its
    /// rows. numpy arrays are read in place: the rows are encoded from the array's memory on a
    /// background thread shortly after this returns, so an array changed in place afterwards
    /// may be written changed; pass copy=True then. Data frames, dicts and lists are converted
    /// to columns during the call.
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
        let binding = slf.borrow().binding()?.clone();
        let core = &binding.core;
        for _ in 0..RELEASE_PER_COLLECT {
            match core.pop_released() {
                Some(owner) => drop(owner),
                None => break,
            }
        }
        let corr = core.correlation_for(correlation.as_ref().map(|c| &c.get().inner), correlation_id, request_id)?;
        let rec = match data.cast::<PyUntypedArray>() {
            Ok(arr) => core.prepare(
                &binding.stream,
                &corr,
                |ncols| convert::layout(arr.shape(), ncols).map_or(1, |(rows, _)| rows),
                |ncols| {
                    let Converted { batch, owner } =
                        convert::array(data, ncols, copy)?.expect("checked to be an array");
                    Ok::<_, PyErr>(Input { batch, owner, labels: None })
                },
            )?,
            Err(_) => core.prepare(
                &binding.stream,
                &corr,
                |ncols| {
                    let rows_in = ROWS_IN.import(py, "modeltap.tabular", "rows_in");
                    rows_in.and_then(|f| f.call1((data, ncols))?.extract()).unwrap_or(1)
                },
                |ncols| binding.other_input(data, ncols, copy),
            )?,
        };
        if let Some(rec) = rec {
            binding.submit(py, rec);
        }
        Bound::new(py, PyCorrelation { inner: corr })
    }

    /// The value columns' names, once fixed: by `feature_names`, else by the first accepted
    /// `collect()` (a frame's column names, or `col_0`, `col_1`, ...).
    #[getter]
    fn feature_names<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.stream()?.contract().map(|c| PyTuple::new(py, &c.names)).transpose()
    }

    /// The collector's own switch: when False, `collect()` only counts the rows it skips.
    /// Rows are written while it and the process's switch are both on.
    #[getter]
    fn enabled(&self) -> PyResult<bool> {
        Ok(self.stream()?.enabled())
    }

    #[setter]
    fn set_enabled(&self, on: bool) -> PyResult<()> {
        self.stream()?.set_enabled(on);
        Ok(())
    }

    /// Fraction of requests kept (1.0 keeps all), decided per request.
    #[getter]
    fn sample_rate(&self) -> PyResult<f64> {
        Ok(self.stream()?.sample_rate())
    }

    #[setter]
    fn set_sample_rate(&self, rate: f64) -> PyResult<()> {
        Ok(self.stream()?.set_sample_rate(rate)?)
    }

    #[getter]
    fn _stream_id(&self) -> PyResult<u32> {
        Ok(self.stream()?.id)
    }
}

/// Whether collection is on for the whole process.
#[pyfunction]
pub fn process_enabled() -> bool {
    switch::PROCESS.is_on()
}

/// Switches collection on or off for every stream of the process, at once.
#[pyfunction]
pub fn set_process_enabled(on: bool) {
    switch::PROCESS.set(on)
}
