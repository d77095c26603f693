//! Arrow containers `collect()` takes (polars DataFrame and Series; pyarrow Table, RecordBatch,
//! ChunkedArray and Array), known by their type. The scoring thread only moves the C
//! structures out of the container's capsules and reads the schema (its meaning cached per
//! stream); the encoder thread imports the data.
//!
//! Arrow memory is immutable in both libraries: the batch holds it by reference through the C
//! structures, with or without `copy=True`.

use std::sync::Arc;

use arrow_array::ffi::FFI_ArrowArray;
use parking_lot::Mutex;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCapsule, PyCapsuleMethods, PyString, PyTuple, PyType};

use crate::arrow::stream::CStream;
use crate::arrow::{ArrowInput, Shape, ShapeCache};
use crate::batch::{ArrowField, Batch, Column};
use crate::pipeline::Input;
use crate::schema::ColumnType;

/// How a container's data is taken.
#[derive(Clone, Copy)]
enum Door {
    /// Through `__arrow_c_stream__`: the batches are exported when the encoder pulls them,
    /// not during the call. Types taken exactly.
    Stream,
    /// As one array: pyarrow's `Array` (the base of one class per Arrow type) has no stream,
    /// and a RecordBatch's stream costs ~12 µs (pyarrow makes a Table of it first), its array
    /// ~3. Types taken with their subclasses.
    Array,
}

/// One known Arrow container type, and what is known of its kind.
struct Container {
    name: &'static str,
    door: Door,
    /// The attribute that describes the schema as an object `equals` compares (pyarrow's
    /// `schema` or `type`, cheap to read); `None` where reading one costs more than the
    /// producer's export (polars).
    described_by: Option<Described>,
    /// One column (a Series, an array) rather than a table: a struct column is taken as a
    /// table, but unlike a table's its rows may be missing as a whole.
    one_column: bool,
}

/// pyarrow's attribute that describes a container's schema.
#[derive(Clone, Copy)]
enum Described {
    Schema,
    Type,
}

impl Described {
    /// The attribute's name, interned: read on every call.
    fn name(self, py: Python<'_>) -> &Bound<'_, PyString> {
        match self {
            Described::Schema => intern!(py, "schema"),
            Described::Type => intern!(py, "type"),
        }
    }
}

const POLARS_CONTAINERS: &[Container] = &[
    Container { name: "DataFrame", door: Door::Stream, described_by: None, one_column: false },
    Container { name: "Series", door: Door::Stream, described_by: None, one_column: true },
];
const PYARROW_CONTAINERS: &[Container] = &[
    Container { name: "Table", door: Door::Stream, described_by: Some(Described::Schema), one_column: false },
    Container { name: "ChunkedArray", door: Door::Stream, described_by: Some(Described::Type), one_column: true },
    Container { name: "RecordBatch", door: Door::Array, described_by: Some(Described::Schema), one_column: false },
    Container { name: "Array", door: Door::Array, described_by: Some(Described::Type), one_column: true },
];

/// A library's container types, once the library is loaded (collect() never imports it), in
/// the order of its `Container`s.
struct Types(Vec<Py<PyType>>);

static POLARS: PyOnceLock<Option<Types>> = PyOnceLock::new();
static PYARROW: PyOnceLock<Option<Types>> = PyOnceLock::new();

/// `module`'s types of `containers`, once `module` is in `sys.modules`; `None` until then
/// (asked again next call), and for good when a type is missing.
fn types<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Option<Types>>,
    module: &str,
    containers: &[Container],
) -> Option<&'static Types> {
    if let Some(t) = cell.get(py) {
        return t.as_ref();
    }
    let loaded = super::loaded(py, module)?;
    let ty = |c: &Container| -> Option<Py<PyType>> {
        loaded.getattr(c.name).ok()?.cast_into::<PyType>().ok().map(Bound::unbind)
    };
    let found = containers.iter().map(ty).collect::<Option<_>>().map(Types);
    cell.get_or_init(py, || found).as_ref()
}

/// The known container `data` is, if it is one.
fn container(data: &Bound<'_, PyAny>) -> Option<&'static Container> {
    let py = data.py();
    let ty = data.get_type();
    let libraries = [
        (types(py, &POLARS, "polars", POLARS_CONTAINERS), POLARS_CONTAINERS),
        (types(py, &PYARROW, "pyarrow", PYARROW_CONTAINERS), PYARROW_CONTAINERS),
    ];
    for (types, containers) in libraries {
        let Some(Types(types)) = types else { continue };
        for (t, c) in types.iter().zip(containers) {
            let t = t.bind(py);
            let known = match c.door {
                Door::Stream => ty.is(t),
                Door::Array => ty.is_subclass(t).unwrap_or(false),
            };
            if known {
                return Some(c);
            }
        }
    }
    None
}

/// What one stream's Arrow schemas meant: by the C schema's fingerprint, and the last pyarrow
/// schema object seen with its meaning, so that a schema equal to it is not exported again
/// (~2 µs for six columns, more than the rest of the call).
#[derive(Default)]
pub struct Shapes {
    cache: ShapeCache,
    last: Mutex<Option<(Py<PyAny>, Arc<Shape>)>>,
}

impl Shapes {
    /// The shapes known by their C schema's fingerprint.
    pub fn cache(&self) -> &ShapeCache {
        &self.cache
    }

    /// The meaning of `described` when it equals the last schema seen.
    fn recognised(&self, described: &Bound<'_, PyAny>) -> Option<Arc<Shape>> {
        let py = described.py();
        // The lock is never held while Python code runs (another thread could take the GIL).
        let (seen, shape) = self.last.lock().as_ref().map(|(seen, shape)| (seen.clone_ref(py), shape.clone()))?;
        let seen = seen.bind(py);
        let same = seen.get_type().is(described.get_type())
            && seen.call_method1(intern!(py, "equals"), (described,)).and_then(|b| b.is_truthy()).unwrap_or(false);
        same.then_some(shape)
    }

    fn remember(&self, described: Bound<'_, PyAny>, shape: Arc<Shape>) {
        let before = self.last.lock().replace((described.unbind(), shape));
        drop(before); // released after the lock
    }
}

fn capsule_pointer(capsule: &Bound<'_, PyAny>, name: &std::ffi::CStr) -> PyResult<*mut std::ffi::c_void> {
    Ok(capsule.cast::<PyCapsule>()?.pointer_checked(Some(name))?.as_ptr())
}

/// Calls `take` with the stream in the capsule `data.__arrow_c_stream__()` returns, while the
/// capsule lives (its destructor releases a stream not taken).
fn with_stream<T>(data: &Bound<'_, PyAny>, take: impl FnOnce(*mut std::ffi::c_void) -> T) -> PyResult<T> {
    let capsule = data.call_method0(intern!(data.py(), "__arrow_c_stream__"))?;
    Ok(take(capsule_pointer(&capsule, c"arrow_array_stream")?))
}

/// The C stream of `data` (a pyarrow `ChunkedArray`, say), taken over; cheap (a bitwise move).
pub fn take_stream(data: &Bound<'_, PyAny>) -> PyResult<ArrowInput> {
    // SAFETY: a live stream capsule that no one else uses during this call.
    Ok(with_stream(data, |ptr| unsafe { ArrowInput::take_stream(ptr) })??)
}

/// The bare C stream of `data`, taken over, for reading it in place (`arrow::strings`); `None`
/// when the producer gave a released one.
pub fn take_c_stream(data: &Bound<'_, PyAny>) -> PyResult<Option<CStream>> {
    // SAFETY: as for `take_stream`.
    with_stream(data, |ptr| unsafe { CStream::take(ptr) })
}

fn take_array(data: &Bound<'_, PyAny>) -> PyResult<ArrowInput> {
    let pair = data.call_method0(intern!(data.py(), "__arrow_c_array__"))?.cast_into::<PyTuple>()?;
    let schema = capsule_pointer(&pair.get_item(0)?, c"arrow_schema")?;
    let array = capsule_pointer(&pair.get_item(1)?, c"arrow_array")?;
    // SAFETY: live capsules that no one else uses during this call.
    Ok(unsafe { ArrowInput::take_array(array, schema) }?)
}

/// `data`'s array alone, its schema known to mean `shape`: pyarrow's `_export_to_c` (public,
/// for "expert users") exports it without the schema; the schema is exported too where a
/// pyarrow has no such method.
fn take_known_array(data: &Bound<'_, PyAny>, shape: Arc<Shape>) -> PyResult<ArrowInput> {
    let py = data.py();
    let Ok(export) = data.getattr(intern!(py, "_export_to_c")) else {
        return Ok(take_array(data)?.with_shape(shape));
    };
    let mut array = FFI_ArrowArray::empty();
    export.call1(((&raw mut array) as usize,))?;
    Ok(ArrowInput::from_array(array, shape)?)
}

/// `data` as a batch of Arrow columns when it is a known Arrow container, else `None`. Its
/// schema is checked here (names, types), so that a call the stream cannot take raises; the
/// data itself is imported on the encoder thread. `names` are the stream's, once fixed:
/// columns are placed by them, as a frame's are.
pub fn input(data: &Bound<'_, PyAny>, shapes: &Shapes, names: Option<&[String]>) -> PyResult<Option<Input<Py<PyAny>>>> {
    let Some(container) = container(data) else { return Ok(None) };
    let rows = data.len()?;
    let described = container.described_by.map(|attr| data.getattr(attr.name(data.py()))).transpose()?;
    let (input, shape) = match described.as_ref().and_then(|d| shapes.recognised(d)) {
        Some(shape) => match container.door {
            Door::Stream => (take_stream(data)?, shape),
            Door::Array => (take_known_array(data, shape.clone())?, shape),
        },
        None => {
            let mut input = match container.door {
                Door::Stream => take_stream(data)?,
                Door::Array => take_array(data)?,
            };
            let shape = shapes.cache.shape(input.schema()?)?;
            if let Some(described) = described {
                shapes.remember(described, shape.clone());
            }
            (input, shape)
        }
    };
    if container.one_column && shape.is_table() && missing_rows(data)? > 0 {
        return Err(PyValueError::new_err(format!(
            "a {} of structs with missing rows (null structs) cannot be collected as rows: fill or drop them first",
            container.name
        )));
    }
    let column = |j: usize| Column::Arrow(ArrowField::new(0, j, shape.types[j]));
    let columns = match names {
        Some(names) => shape.positions(names)?.iter().map(|&j| column(j)).collect(),
        None => (0..shape.names.len()).map(column).collect(),
    };
    // A nameless single column (a pyarrow array) is named as a numpy column is.
    let labels = (names.is_none() && shape.names != [""]).then(|| shape.names.clone());
    let batch = Batch::Arrow { rows, columns, inputs: vec![input.with_shape(shape)].into() };
    Ok(Some(Input { batch, owner: None, labels }))
}

/// One named column of Arrow data, as the public path hands it over (a pandas `ArrowDtype`
/// column or a dict's pyarrow array as a pyarrow Table of one column, a dict's polars Series
/// named by its key): its row count, type and C stream, its schema's meaning kept in `shapes`.
/// `None` when `data` is neither; an error naming the column when it cannot be written.
pub fn column(
    data: &Bound<'_, PyAny>,
    shapes: &ShapeCache,
) -> PyResult<Option<(usize, Option<ColumnType>, ArrowInput)>> {
    let Some(container) = container(data).filter(|c| matches!(c.name, "Table" | "Series")) else {
        return Ok(None);
    };
    let (input, shape) = take_shaped_stream(data, shapes)?;
    if container.one_column && shape.is_table() {
        let name: String = data.getattr(intern!(data.py(), "name"))?.extract()?;
        return Err(PyTypeError::new_err(format!(
            "column {name:?} holds structs, which modeltap cannot write: pass their fields as columns"
        )));
    }
    if shape.names.len() != 1 {
        return Err(PyValueError::new_err(format!(
            "an Arrow column must be a table of one column, not {}",
            shape.names.len()
        )));
    }
    Ok(Some((data.len()?, shape.types[0], input)))
}

/// The C stream of `data`, with what its schema means (kept in `shapes`) given to it: how an
/// Arrow column handed over on its own is taken. An error for a schema modeltap cannot write.
pub fn take_shaped_stream(data: &Bound<'_, PyAny>, shapes: &ShapeCache) -> PyResult<(ArrowInput, Arc<Shape>)> {
    let mut input = take_stream(data)?;
    let shape = shapes.shape(input.schema()?)?;
    Ok((input.with_shape(shape.clone()), shape))
}

/// A column's count of missing values: pyarrow's `null_count` attribute, polars' method.
fn missing_rows(data: &Bound<'_, PyAny>) -> PyResult<usize> {
    let count = data.getattr(intern!(data.py(), "null_count"))?;
    let count = if count.is_callable() { count.call0()? } else { count };
    count.extract()
}
