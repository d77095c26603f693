//! numpy arrays and Python objects into `Batch`es: the one place that reads interpreter data.

use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{IntoPyDict, PyBool, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};

use crate::arrow::ShapeCache;
use crate::batch::{ArrowField, Batch, Categories, Column, Kind, Masked, Rendered, View};
use crate::encode::{write_bool, write_f16, write_f32, write_f64, write_int, write_text, DateUnit};
use crate::schema::ColumnType;
use crate::values::{Respell, Seen};

/// A batch and the array that owns its memory (`None` when everything was rendered).
pub struct Converted {
    pub batch: Batch,
    pub owner: Option<Py<PyAny>>,
}

/// A numpy array as a batch. `ncols` is the stream's column count (0 while unknown): a 1-D
/// array is one row, unless the stream has a single column, when it is one value per row.
/// Under `copy`, the batch reads a copy of the array, made only when the batch keeps one:
/// objects are rendered during the call, and an array in another layout is converted anyway.
pub fn array<'py>(data: &Bound<'py, PyAny>, ncols: usize, copy: bool) -> PyResult<Option<Converted>> {
    let Ok(given) = data.cast::<PyUntypedArray>() else {
        return Ok(None);
    };
    let mut arr = native_layout(given)?;
    if copy && arr.is(given) && arr.dtype().kind() != b'O' {
        arr = arr.call_method0(intern!(arr.py(), "copy"))?.cast_into::<PyUntypedArray>()?;
    }
    let shape = arr.shape();
    let strides = arr.strides();
    let Some((rows, cols)) = layout(shape, ncols) else {
        return Err(PyTypeError::new_err(format!(
            "collect() takes 1-D (one row) or 2-D arrays, got a {}-D array of shape {:?}",
            shape.len(),
            shape
        )));
    };
    let (row_stride, col_stride) = match *strides {
        [s] if cols == 1 => (s, 0),
        [s] => (0, s),
        [r, c] => (r, c),
        _ => unreachable!("layout() accepts 1-D and 2-D shapes only"),
    };
    let dtype = arr.dtype();
    if dtype.kind() == b'O' {
        let sc = scalars(arr.py())?;
        let columns = (0..cols)
            .map(|j| Ok(Column::Rendered(render_cells(&arr, j, rows, (row_stride, col_stride), sc)?)))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(Some(Converted { batch: Batch::Columns { rows, columns }, owner: None }));
    }
    let kind = kind_of(&arr)?;
    let ptr = unsafe { (*arr.as_array_ptr()).data as *const u8 };
    let view = View { ptr, kind, row_stride, col_stride };
    // SAFETY: the view addresses `arr`'s memory, alive and unchanged while attached.
    if let Some((r, c, u)) = unsafe { view.first_invalid_ucs4(rows, cols) } {
        return Err(invalid_code_point(c, Some(r), u));
    }
    Ok(Some(Converted { batch: Batch::Block { view, rows, cols }, owner: Some(arr.into_any().unbind()) }))
}

/// (rows, columns) of an array shape: a 1-D array is one row, unless the stream has a single
/// column (`ncols == 1`), when each value is a row. `None` for other dimensions.
pub fn layout(shape: &[usize], ncols: usize) -> Option<(usize, usize)> {
    match *shape {
        [n] if ncols == 1 && n != 1 => Some((n, 1)),
        [n] => Some((1, n)),
        [r, c] => Some((r, c)),
        _ => None,
    }
}

/// Columns (1-D arrays of equal length) as a batch; the Python side builds these from data
/// frames and lists.
pub fn columns<'py>(py: Python<'py>, list: &Bound<'py, PyList>, shapes: &ShapeCache) -> PyResult<Converted> {
    let mut rows = None;
    let mut columns = Vec::with_capacity(list.len());
    let mut inputs = Vec::new();
    let owners = PyList::empty(py);
    for (j, item) in list.iter().enumerate() {
        // A nullable column comes as (values, mask).
        let (item, mask) = match item.cast::<PyTuple>() {
            Ok(pair) if pair.len() == 2 => (pair.get_item(0)?, Some(pair.get_item(1)?)),
            _ => (item, None),
        };
        if let (None, Some((n, ty, input))) = (&mask, super::arrow::column(&item, shapes)?) {
            same_rows(&mut rows, j, n)?;
            columns.push(Column::Arrow(ArrowField::new(inputs.len(), 0, ty)));
            inputs.push(input);
            continue;
        }
        let arr = item
            .cast::<PyUntypedArray>()
            .map_err(|_| PyTypeError::new_err(format!("column {j} is a {}, not a numpy array", type_name(&item))))?;
        let arr = native_layout(arr)?;
        let [n] = *arr.shape() else {
            return Err(PyValueError::new_err(format!("column {j} is not 1-D: shape {:?}", arr.shape())));
        };
        same_rows(&mut rows, j, n)?;
        if let Some(mask) = mask {
            let mask = mask.cast_into::<PyUntypedArray>().ok().filter(|m| m.dtype().kind() == b'b' && m.shape() == [n]);
            let Some(mask) = mask else {
                return Err(PyValueError::new_err(format!("column {j}'s mask is not a 1-D bool array of {n} values")));
            };
            let kind = kind_of(&arr)?;
            if matches!(kind, Kind::Unicode(_)) {
                return Err(PyTypeError::new_err(format!("column {j}: only numbers and bools come with a mask")));
            }
            let view = |a: &Bound<'_, PyUntypedArray>, kind| View {
                ptr: unsafe { (*a.as_array_ptr()).data as *const u8 },
                kind,
                row_stride: a.strides()[0],
                col_stride: 0,
            };
            // SAFETY: both views address live arrays of n values, kept by `owners`.
            columns.push(Column::Masked(unsafe { Masked::new(view(&arr, kind), view(&mask, Kind::Bool), n) }));
            owners.append(arr)?;
            owners.append(mask)?;
        } else if arr.dtype().kind() == b'O' {
            columns.push(Column::Rendered(render_objects(arr.as_any(), j, n)?));
        } else {
            let kind = kind_of(&arr)?;
            let ptr = unsafe { (*arr.as_array_ptr()).data as *const u8 };
            let view = View { ptr, kind, row_stride: arr.strides()[0], col_stride: 0 };
            // SAFETY: the view addresses `arr`'s memory, alive and unchanged while attached.
            if let Some((r, _, u)) = unsafe { view.first_invalid_ucs4(n, 1) } {
                return Err(invalid_code_point(j, Some(r), u));
            }
            columns.push(Column::View(view));
            owners.append(arr)?;
        }
    }
    let rows = rows.unwrap_or(0);
    let owner = (!owners.is_empty()).then(|| owners.into_any().unbind());
    let batch = match inputs.is_empty() {
        true => Batch::Columns { rows, columns },
        false => Batch::Arrow { rows, columns, inputs: inputs.into() },
    };
    Ok(Converted { batch, owner })
}

/// Column `j`'s `n` rows, checked against the columns before it (the first sets `rows`).
fn same_rows(rows: &mut Option<usize>, j: usize, n: usize) -> PyResult<()> {
    match *rows {
        Some(r) if r != n => Err(PyValueError::new_err(format!("column {j} has {n} rows, column 0 has {r}"))),
        _ => {
            *rows = Some(n);
            Ok(())
        }
    }
}

/// The array itself, or a native-endian copy of it (rare: data read from files of other
/// machines, or datetimes in multiples of a unit such as `M8[5s]`).
fn native_layout<'py>(arr: &Bound<'py, PyUntypedArray>) -> PyResult<Bound<'py, PyUntypedArray>> {
    let dtype = arr.dtype();
    if dtype.is_native_byteorder() == Some(false) {
        let native = dtype.call_method1("newbyteorder", ("=",))?;
        return Ok(arr.call_method1("astype", (native,))?.cast_into::<PyUntypedArray>()?);
    }
    if dtype.kind() == b'M' {
        let (unit, count) = match datetime_meta(&dtype) {
            Some((unit, count)) => (unit.to_owned(), u64::try_from(count).unwrap_or(1)),
            None => datetime_unit(&dtype.getattr("str")?.extract::<String>()?),
        };
        if count != 1 && DateUnit::from_numpy(&unit).is_some() {
            let base = format!("M8[{unit}]");
            return Ok(arr.call_method1("astype", (base,))?.cast_into::<PyUntypedArray>()?);
        }
    }
    Ok(arr.clone())
}

/// The kind of an array read in place as it is (a pandas block): `None` for what would need a
/// conversion first (another byte order, datetimes in multiples of a unit) or is not numbers,
/// bools or datetimes.
pub(super) fn block_kind(arr: &Bound<'_, PyUntypedArray>) -> PyResult<Option<Kind>> {
    let dtype = arr.dtype();
    if !matches!(dtype.kind(), b'b' | b'i' | b'u' | b'f' | b'M') || dtype.is_native_byteorder() == Some(false) {
        return Ok(None);
    }
    if dtype.kind() == b'M' {
        if !dtype.getattr(intern!(arr.py(), "metadata"))?.is_none() {
            return Ok(None);
        }
        let unit = datetime_meta(&dtype).filter(|(_, count)| *count == 1).and_then(|(u, _)| DateUnit::from_numpy(u));
        return Ok(unit.map(Kind::DateTime));
    }
    Ok(kind_of(arr).ok())
}

/// A datetime64 dtype's unit code and count (`M8[5s]` → `("s", 5)`), read from the dtype's C
/// metadata: reading `dtype.str` costs ~0.4 us a call. `None` for other dtypes.
fn datetime_meta(dtype: &Bound<'_, PyArrayDescr>) -> Option<(&'static str, i32)> {
    use numpy::npyffi::{PyArray_DatetimeDTypeMetaData, PyDataType_C_METADATA, NPY_TYPES};
    /// numpy's `NPY_DATETIMEUNIT` values, in order (3 is unused).
    const CODES: [&str; 15] = ["Y", "M", "W", "", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as", "generic"];
    if dtype.num() != NPY_TYPES::NPY_DATETIME as std::ffi::c_int {
        return None;
    }
    // SAFETY: a datetime64 dtype's C metadata is a `PyArray_DatetimeDTypeMetaData`; the unit is
    // read as the int it is stored as, not as the enum (whose values it may not hold).
    unsafe {
        let meta = PyDataType_C_METADATA(dtype.py(), dtype.as_dtype_ptr()) as *const PyArray_DatetimeDTypeMetaData;
        if meta.is_null() {
            return None;
        }
        let base = std::ptr::read(std::ptr::addr_of!((*meta).meta.base) as *const i32);
        let code = CODES.get(usize::try_from(base).ok()?).filter(|c| !c.is_empty())?;
        Some((code, (*meta).meta.num))
    }
}

pub(super) fn kind_of(arr: &Bound<'_, PyUntypedArray>) -> PyResult<Kind> {
    let dtype = arr.dtype();
    let size = dtype.itemsize();
    let kind = match (dtype.kind(), size) {
        (b'b', 1) => Kind::Bool,
        (b'i', 1) => Kind::I8,
        (b'i', 2) => Kind::I16,
        (b'i', 4) => Kind::I32,
        (b'i', 8) => Kind::I64,
        (b'u', 1) => Kind::U8,
        (b'u', 2) => Kind::U16,
        (b'u', 4) => Kind::U32,
        (b'u', 8) => Kind::U64,
        (b'f', 2) => Kind::F16,
        (b'f', 4) => Kind::F32,
        (b'f', 8) => Kind::F64,
        (b'U', n) if n > 0 => Kind::Unicode(n / 4),
        (b'M', 8) => {
            let unit = match datetime_meta(&dtype) {
                Some((unit, _)) => DateUnit::from_numpy(unit),
                None => DateUnit::from_numpy(&datetime_unit(&dtype.getattr("str")?.extract::<String>()?).0),
            };
            match unit {
                Some(u) if is_utc(&dtype)? => Kind::UtcDateTime(u),
                Some(u) => Kind::DateTime(u),
                None => return Err(unsupported(&dtype.to_string(), "a datetime64 without a unit")),
            }
        }
        (b'm', _) => {
            return Err(PyTypeError::new_err(format!(
                "collect() cannot take timedeltas (dtype {dtype}); {TIMEDELTA_HINT}"
            )))
        }
        (b'c', _) => return Err(unsupported(&dtype.to_string(), "complex values")),
        (b'U', _) => return Err(unsupported(&dtype.to_string(), "zero-width strings")),
        _ => return Err(unsupported(&dtype.to_string(), "this dtype")),
    };
    Ok(kind)
}

/// Durations have no CSV spelling that readers parse back as durations, so they are refused in
/// every container alike.
const TIMEDELTA_HINT: &str = "convert them to numbers first, e.g. td / np.timedelta64(1, \"s\")";

/// The dtype metadata `modeltap.tabular` puts on the UTC view of a tz-aware column.
pub const UTC_METADATA: (&str, &str) = ("tz", "UTC");

fn is_utc(dtype: &Bound<'_, numpy::PyArrayDescr>) -> PyResult<bool> {
    let meta = dtype.getattr("metadata")?;
    if meta.is_none() {
        return Ok(false);
    }
    Ok(meta.call_method1("get", (UTC_METADATA.0,))?.extract::<Option<String>>().ok().flatten().as_deref()
        == Some(UTC_METADATA.1))
}

fn invalid_code_point(col: usize, row: Option<usize>, u: u32) -> PyErr {
    let at = row.map(|r| format!(" (row {r})")).unwrap_or_default();
    PyValueError::new_err(format!(
        "column {col}{at} holds a str that is not valid Unicode (code point {u:#x}: a lone surrogate or beyond U+10FFFF)"
    ))
}

fn unsupported(dtype: &str, what: &str) -> PyErr {
    PyTypeError::new_err(format!(
        "collect() cannot take {what} (dtype {dtype}); it takes bool, int, uint, float16/32/64, \
         datetime64, str and object arrays of str/None"
    ))
}

/// `"<M8[5s]"` → `("s", 5)`.
fn datetime_unit(dtype_str: &str) -> (String, u64) {
    let inner = dtype_str.split_once('[').and_then(|(_, r)| r.strip_suffix(']')).unwrap_or("");
    let digits = inner.chars().take_while(|c| c.is_ascii_digit()).count();
    let count = inner[..digits].parse().unwrap_or(1);
    (inner[digits..].to_string(), count)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

pub(super) struct NumpyScalars {
    bool_: Py<PyType>,
    integer: Py<PyType>,
    floating: Py<PyType>,
    datetime: Py<PyType>,
    date: Py<PyType>,
    timedelta: Py<PyType>,
    datetime64: Py<PyType>,
    timedelta64: Py<PyType>,
    float32: Py<PyType>,
    float16: Py<PyType>,
    int: Py<PyType>,
    utc: Py<PyAny>,
}

static SCALARS: PyOnceLock<NumpyScalars> = PyOnceLock::new();

pub(super) fn scalars(py: Python<'_>) -> PyResult<&NumpyScalars> {
    SCALARS.get_or_try_init(py, || {
        let np = py.import("numpy")?;
        let dt = py.import("datetime")?;
        let ty = |m: &Bound<'_, PyModule>, name: &str| -> PyResult<Py<PyType>> {
            Ok(m.getattr(name)?.cast_into::<PyType>()?.unbind())
        };
        Ok(NumpyScalars {
            bool_: ty(&np, "bool_")?,
            integer: ty(&np, "integer")?,
            floating: ty(&np, "floating")?,
            datetime: ty(&dt, "datetime")?,
            date: ty(&dt, "date")?,
            timedelta: ty(&dt, "timedelta")?,
            datetime64: ty(&np, "datetime64")?,
            timedelta64: ty(&np, "timedelta64")?,
            float32: ty(&np, "float32")?,
            float16: ty(&np, "float16")?,
            int: py.get_type::<PyInt>().unbind(),
            utc: dt.getattr("timezone")?.getattr("utc")?.unbind(),
        })
    })
}

/// Column `j` of an object array rendered to CSV fields, read from its cells (object pointers)
/// rather than indexed through Python: `rows` cells, `strides` (row, column) bytes apart.
fn render_cells(
    arr: &Bound<'_, PyUntypedArray>,
    j: usize,
    rows: usize,
    (row_stride, col_stride): (isize, isize),
    sc: &NumpyScalars,
) -> PyResult<Rendered> {
    let py = arr.py();
    let base = unsafe { (*arr.as_array_ptr()).data as *const u8 };
    // Every cell taken as a new reference before any Python code runs (rendering may run some:
    // isoformat, say).
    let values: Vec<_> = (0..rows)
        .map(|r| {
            // SAFETY: the cell lies inside the array (its shape and strides), alive while
            // attached; it holds a reference, or null (numpy's None in an array never filled).
            unsafe {
                let cell = base.offset(r as isize * row_stride + j as isize * col_stride);
                let ptr = std::ptr::read_unaligned(cell as *const *mut pyo3::ffi::PyObject);
                (!ptr.is_null()).then(|| Bound::from_borrowed_ptr(py, ptr))
            }
        })
        .collect();
    render_column(&values, j, sc)
}

/// An object column rendered to CSV fields now, while attached: str, None, bool, int, float,
/// numpy scalars and datetimes; anything else is a `TypeError` naming its type.
fn render_objects(col: &Bound<'_, PyAny>, j: usize, rows: usize) -> PyResult<Rendered> {
    let sc = scalars(col.py())?;
    let mut values = Vec::with_capacity(rows);
    for v in col.try_iter()? {
        values.push(Some(v?));
    }
    render_column(&values, j, sc)
}

/// Column `j`'s values (`None`: an empty cell) rendered, typed as a list's column of the same
/// values is (`values::Seen`): one plain type makes a typed column.
pub(super) fn render_column(values: &[Option<Bound<'_, PyAny>>], j: usize, sc: &NumpyScalars) -> PyResult<Rendered> {
    let mut seen = Seen::default();
    let mut out = render_pass(values, j, sc, Respell::Keep, Some(&mut seen))?;
    match seen.respell() {
        Respell::Keep => {}
        Respell::Unsigned => out.ty = Some(ColumnType::UInt64),
        respell => out = render_pass(values, j, sc, respell, None)?,
    }
    Ok(out)
}

fn render_pass(
    values: &[Option<Bound<'_, PyAny>>],
    j: usize,
    sc: &NumpyScalars,
    spelling: Respell,
    mut seen: Option<&mut Seen>,
) -> PyResult<Rendered> {
    let mut out =
        Rendered { bytes: Vec::with_capacity(values.len() * 8), ends: Vec::with_capacity(values.len()), ty: None };
    let mut aware = None;
    for v in values {
        match v {
            Some(v) => {
                if let Some(seen) = seen.as_deref_mut() {
                    note(seen, v, sc);
                }
                if let Some(t) = render_object(v, j, sc, spelling, &mut aware, &mut out.bytes)? {
                    out.ty = Some(out.ty.map_or(t, |was| was.merge(t)));
                }
            }
            None => seen.iter_mut().for_each(|s| s.missing = true),
        }
        out.end_field();
    }
    Ok(out)
}

/// Notes `v`'s exact type (and an int's value) in `seen`.
fn note(seen: &mut Seen, v: &Bound<'_, PyAny>, sc: &NumpyScalars) {
    let py = v.py();
    let ty = v.get_type();
    if v.is_none() {
        seen.missing = true;
    } else if ty.is(py.get_type::<PyInt>()) {
        let value = v.extract::<i64>().map(i128::from).or_else(|_| v.extract::<u64>().map(i128::from));
        seen.int(value.ok());
    } else if ty.is(py.get_type::<PyFloat>()) {
        seen.floats = true;
    } else if ty.is(sc.float32.bind(py)) {
        seen.float32s = true;
    } else if ty.is(sc.float16.bind(py)) {
        seen.float16s = true;
    } else {
        seen.other = true;
    }
}

/// The values of a 1-D object array each rendered to its own field with its own type (a
/// categorical's categories): the fields and types their rows would have in an object column.
pub(super) fn render_each(col: &Bound<'_, PyAny>) -> PyResult<Categories> {
    let sc = scalars(col.py())?;
    let mut out = Categories::default();
    let mut aware = None;
    for v in col.try_iter()? {
        out.types.push(render_object(&v?, 0, sc, Respell::Keep, &mut aware, &mut out.fields.bytes)?);
        out.fields.end_field();
    }
    Ok(out)
}

/// One value as a CSV field, and the type it was written as (`None` for a missing value).
/// `spelling` is how its column's other values retype it (`render_column`). `aware` is whether
/// the column's datetimes so far were aware: a column never mixes aware and naive instants.
fn render_object(
    v: &Bound<'_, PyAny>,
    j: usize,
    sc: &NumpyScalars,
    spelling: Respell,
    aware: &mut Option<bool>,
    out: &mut Vec<u8>,
) -> PyResult<Option<ColumnType>> {
    let py = v.py();
    if v.is_none() {
        return Ok(None);
    }
    let ty;
    if let Ok(s) = v.cast::<PyString>() {
        // The str's own code points, not its `__str__` (a subclass may say otherwise).
        let s = s.to_str().map_err(|_| {
            PyValueError::new_err(format!("column {j} holds a str that is not valid Unicode (a lone surrogate)"))
        })?;
        write_text(out, s);
        ty = ColumnType::String;
    } else if v.is_instance_of::<PyBool>() || v.is_instance(sc.bool_.bind(py))? {
        write_bool(out, v.is_truthy()?);
        ty = ColumnType::Bool;
    } else if v.is_instance_of::<PyFloat>() {
        write_f64(out, v.extract::<f64>()?);
        ty = ColumnType::Float64;
    } else if v.is_instance(sc.timedelta64.bind(py))? || v.is_instance(sc.timedelta.bind(py))? {
        // Before the ints: numpy's timedelta64 is a signed integer type.
        return Err(PyTypeError::new_err(format!(
            "column {j} holds a {}: collect() does not take timedeltas; {TIMEDELTA_HINT}",
            type_name(v)
        )));
    } else if v.is_instance_of::<PyInt>() || v.is_instance(sc.integer.bind(py))? {
        if spelling == Respell::IntsAsFloats {
            // Exact as a float (`values::Seen` checked): written as the float column's floats.
            let f = v.extract::<i64>().map(|i| i as f64).or_else(|_| v.extract::<u64>().map(|u| u as f64))?;
            write_f64(out, f);
            ty = ColumnType::Float64;
        } else if let Ok(i) = v.extract::<i64>() {
            write_int(out, i);
            ty = ColumnType::Int64;
        } else if let Ok(u) = v.extract::<u64>() {
            write_int(out, u);
            ty = ColumnType::UInt64;
        } else {
            // Beyond 64 bits: int's own digits (a subclass's `__str__` is not the value), quoted
            // as any text is.
            let digits = sc.int.bind(py).call_method1("__repr__", (v,))?;
            write_text(out, digits.cast::<PyString>()?.to_str()?);
            ty = ColumnType::String;
        }
    } else if v.is_instance(sc.floating.bind(py))? {
        match spelling {
            // A float32 scalar's value exactly, in float32's shortest form.
            Respell::Float32 => write_f32(out, v.extract::<f64>()? as f32),
            Respell::Float16 => write_f16(out, half::f16::from_f64(v.extract::<f64>()?).to_bits()),
            _ => write_f64(out, v.extract::<f64>()?),
        }
        ty = ColumnType::Float64;
    } else if type_name(v) == "NaTType" {
        // pandas' NaT subclasses datetime but is a missing value.
        return Ok(None);
    } else if v.is_instance(sc.datetime.bind(py))? {
        let offset = v.call_method0("utcoffset")?;
        let is_aware = !offset.is_none();
        match aware {
            Some(was) if *was != is_aware => {
                return Err(PyValueError::new_err(format!(
                    "column {j} mixes timezone-aware and naive datetimes; make them all aware (they are \
                     written in UTC) or all naive"
                )));
            }
            _ => *aware = Some(is_aware),
        }
        if is_aware {
            // In UTC, with the `Z` of every aware value modeltap writes; pandas' Timestamp keeps
            // its nanoseconds through astimezone and replace.
            let utc = v.call_method1("astimezone", (sc.utc.bind(py),)).map_err(|e| {
                PyValueError::new_err(format!("column {j} holds a datetime that has no UTC equivalent: {e}"))
            })?;
            let naive = utc.call_method("replace", (), Some(&[("tzinfo", py.None())].into_py_dict(py)?))?;
            let text = naive.call_method0("isoformat")?;
            write_text(out, &format!("{}Z", text.cast::<PyString>()?.to_str()?));
            ty = ColumnType::TimestampUtc;
        } else {
            write_text(out, v.call_method0("isoformat")?.cast::<PyString>()?.to_str()?);
            ty = ColumnType::Timestamp;
        }
    } else if v.is_instance(sc.date.bind(py))? {
        // A date has no type of its own in the record: its ISO text is a string.
        write_text(out, v.call_method0("isoformat")?.cast::<PyString>()?.to_str()?);
        ty = ColumnType::String;
    } else if v.is_instance(sc.datetime64.bind(py))? {
        // numpy's own spelling, as a datetime64 array is written; NaT is missing.
        let text = v.str()?;
        let text = text.to_str()?;
        if text == "NaT" {
            return Ok(None);
        }
        write_text(out, text);
        ty = ColumnType::Timestamp;
    } else if type_name(v) == "NAType" {
        // pandas' missing-value markers, matched by name so pandas stays optional.
        return Ok(None);
    } else {
        return Err(PyTypeError::new_err(format!(
            "column {j} holds a {}; collect() takes numbers, bool, str, None and datetimes",
            type_name(v)
        )));
    }
    Ok(Some(ty))
}

#[cfg(test)]
mod tests {
    use super::datetime_unit;

    #[test]
    fn units() {
        assert_eq!(datetime_unit("<M8[ns]"), ("ns".into(), 1));
        assert_eq!(datetime_unit("<M8[5s]"), ("s".into(), 5));
        assert_eq!(datetime_unit("<M8"), ("".into(), 1));
    }
}
