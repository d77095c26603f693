//! pandas DataFrames read block by block, without a call into Python code: numeric and naive
//! datetime blocks are 2-D numpy arrays (one row per column, each column contiguous), so each
//! column becomes a view into the frame's own memory.
//!
//! `DataFrame._mgr` is private, so this path is taken only where its shape is the one checked
//! here (pandas 2 and 3, a plain `DataFrame`, numpy blocks whose locations cover every column
//! once, string labels). Anything else returns `None` and goes through `modeltap.tabular`,
//! the public path, which gives the same values.

use std::sync::atomic::{AtomicBool, Ordering};

use numpy::{PyArray1, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCapsule, PyCapsuleMethods, PyList, PyString, PyTuple, PyType};

use super::convert::{kind_of, Converted};
use crate::arrow::shape::is_text;
use crate::arrow::ArrowInput;
use crate::batch::{ArrowField, Batch, Column, View};
use crate::schema::ColumnType;

/// Off only in tests, to run the public path on the same frames.
static ENABLED: AtomicBool = AtomicBool::new(true);

/// pandas' `DataFrame` type, when the loaded pandas is a version whose blocks are read here.
static FRAME_TYPE: PyOnceLock<Option<Py<PyType>>> = PyOnceLock::new();

/// pandas major versions whose `_mgr.blocks` / `mgr_locs.as_array` / `values` were checked.
const PANDAS_MAJORS: [&str; 2] = ["2", "3"];

/// Turns the block path on or off (tests force the public path with it).
#[pyfunction]
pub fn _set_frame_blocks(on: bool) {
    ENABLED.store(on, Ordering::Relaxed)
}

fn frame_type(py: Python<'_>) -> Option<&Bound<'_, PyType>> {
    let ty = FRAME_TYPE.get(py).or_else(|| {
        // Only once pandas is loaded: collect() never imports it.
        let loaded = py.import("sys").ok()?.getattr(intern!(py, "modules")).ok()?.get_item("pandas").ok()?;
        let version: String = loaded.getattr(intern!(py, "__version__")).ok()?.extract().ok()?;
        let major = version.split('.').next().unwrap_or("");
        let ty = PANDAS_MAJORS
            .contains(&major)
            .then(|| loaded.getattr("DataFrame").ok()?.cast_into::<PyType>().ok().map(Bound::unbind))
            .flatten();
        Some(FRAME_TYPE.get_or_init(py, || ty))
    })?;
    ty.as_ref().map(|t| t.bind(py))
}

/// A frame's columns as views of its numpy blocks, with its column labels; `None` when the
/// frame is not one this path reads, or its labels differ from the stream's `names` (the
/// public path reorders or reports those). Under `copy`, each block is copied first.
pub fn blocks<'py>(
    data: &Bound<'py, PyAny>,
    names: Option<&[String]>,
    copy: bool,
) -> PyResult<Option<(Converted, Option<Vec<String>>)>> {
    let py = data.py();
    if !ENABLED.load(Ordering::Relaxed) {
        return Ok(None);
    }
    match frame_type(py) {
        Some(ty) if data.get_type().is(ty) => {}
        _ => return Ok(None),
    }
    // Any attribute missing or of another type: not the layout checked here.
    let Ok(Some(read)) = read_blocks(data, names, copy) else {
        return Ok(None);
    };
    Ok(Some(read))
}

fn read_blocks<'py>(
    data: &Bound<'py, PyAny>,
    names: Option<&[String]>,
    copy: bool,
) -> PyResult<Option<(Converted, Option<Vec<String>>)>> {
    let py = data.py();
    let Some(labels) = labels_of(&data.getattr(intern!(py, "columns"))?)? else {
        return Ok(None);
    };
    let ncols = labels.len();
    if ncols == 0 {
        return Ok(None);
    }
    let labels_out = match names {
        Some(names) if names != labels.as_slice() => return Ok(None),
        Some(_) => None,
        None => Some(labels),
    };
    let blocks = data.getattr(intern!(py, "_mgr"))?.getattr(intern!(py, "blocks"))?.cast_into::<PyTuple>()?;
    let mut columns: Vec<Option<Column>> = vec![None; ncols];
    let mut rows = None;
    let owners = PyList::empty(py);
    let mut inputs = Vec::new();
    for block in blocks.iter() {
        let values = block.getattr(intern!(py, "values"))?;
        let values = match values.cast_into::<PyUntypedArray>() {
            Ok(array) => array,
            Err(e) => {
                // An extension array: Arrow strings are taken here, to be imported on the
                // encoder thread; nullable, categorical and tz-aware columns go the public way.
                let Some((n, input)) = arrow_strings(&e.into_inner())? else { return Ok(None) };
                let locs = block.getattr(intern!(py, "mgr_locs"))?.getattr(intern!(py, "as_array"))?;
                let locs = locs.cast::<PyArray1<isize>>()?;
                // SAFETY: as below.
                let [loc] = *unsafe { locs.as_slice() }.map_err(PyErr::from)? else { return Ok(None) };
                let slot = usize::try_from(loc).ok().and_then(|l| columns.get_mut(l));
                let Some(slot @ None) = slot else { return Ok(None) };
                if rows.is_some_and(|r| r != n) {
                    return Ok(None);
                }
                rows = Some(n);
                *slot = Some(Column::Arrow(ArrowField::new(inputs.len(), 0, Some(ColumnType::String))));
                inputs.push(input);
                continue;
            }
        };
        let dtype = values.dtype();
        if !matches!(dtype.kind(), b'b' | b'i' | b'u' | b'f' | b'M') || dtype.is_native_byteorder() == Some(false) {
            return Ok(None);
        }
        if dtype.kind() == b'M' && !dtype.getattr(intern!(py, "metadata"))?.is_none() {
            return Ok(None);
        }
        let Ok(kind) = kind_of(&values) else { return Ok(None) };
        let locs = block.getattr(intern!(py, "mgr_locs"))?.getattr(intern!(py, "as_array"))?;
        let locs = locs.cast::<PyArray1<isize>>()?;
        // SAFETY: read while attached, before any Python code runs that could change it; a
        // non-contiguous array is refused by `as_slice`.
        let locs = unsafe { locs.as_slice() }.map_err(PyErr::from)?.to_vec();
        let values =
            if copy { values.call_method0(intern!(py, "copy"))?.cast_into::<PyUntypedArray>()? } else { values };
        let [k, n] = *values.shape() else { return Ok(None) };
        let [s0, s1] = *values.strides() else { return Ok(None) };
        if k != locs.len() || rows.is_some_and(|r| r != n) {
            return Ok(None);
        }
        rows = Some(n);
        let base = unsafe { (*values.as_array_ptr()).data as *const u8 };
        for (i, &loc) in locs.iter().enumerate() {
            let slot = usize::try_from(loc).ok().and_then(|l| columns.get_mut(l));
            let Some(slot @ None) = slot else { return Ok(None) }; // out of range or twice
                                                                   // The column's first cell: in the block, which `owners` keeps alive.
            let ptr = base.wrapping_offset(i as isize * s0);
            *slot = Some(Column::View(View { ptr, kind, row_stride: s1, col_stride: 0 }));
        }
        owners.append(values)?;
    }
    let Some(columns) = columns.into_iter().collect::<Option<Vec<_>>>() else {
        return Ok(None); // a column no block holds
    };
    let rows = rows.unwrap_or(0);
    let batch = match inputs.is_empty() {
        true => Batch::Columns { rows, columns },
        false => Batch::Arrow { rows, columns, inputs: inputs.into() },
    };
    Ok(Some((Converted { batch, owner: Some(owners.into_any().unbind()) }, labels_out)))
}

/// A pandas `str` column held in Arrow memory (`ArrowStringArray`): its row count and its
/// ChunkedArray's C stream, taken over (~0.2 µs; imported on the encoder thread), or `None` for
/// any other extension array.
fn arrow_strings(values: &Bound<'_, PyAny>) -> PyResult<Option<(usize, ArrowInput)>> {
    let py = values.py();
    let Ok(chunked) = values.getattr(intern!(py, "_pa_array")) else { return Ok(None) };
    let mut input = super::arrow::take_stream(&chunked)?;
    if !is_text(input.schema()?) {
        return Ok(None);
    }
    Ok(Some((chunked.len()?, input)))
}

/// The values of a pyarrow ChunkedArray of text, through its C stream; `None` for other types.
fn texts_of(chunked: &Bound<'_, PyAny>) -> PyResult<Option<Vec<Option<String>>>> {
    let py = chunked.py();
    let capsule = chunked.call_method0(intern!(py, "__arrow_c_stream__"))?.cast_into::<PyCapsule>()?;
    let ptr = capsule.pointer_checked(Some(c"arrow_array_stream"))?;
    // SAFETY: a live stream capsule, used by no one else during this call.
    let Ok(mut input) = (unsafe { ArrowInput::take_stream(ptr.as_ptr()) }) else { return Ok(None) };
    Ok(input.texts().ok().flatten())
}

/// A pandas Index's labels when every one is a str: read from its Arrow memory (pandas 3's
/// `str` dtype) or its object array; `None` for any other index (ints, a MultiIndex, missing
/// labels), whose labels the public path spells.
fn labels_of(index: &Bound<'_, PyAny>) -> PyResult<Option<Vec<String>>> {
    let py = index.py();
    let values = index.getattr(intern!(py, "_data"))?;
    if let Ok(chunked) = values.getattr(intern!(py, "_pa_array")) {
        return Ok(texts_of(&chunked)?.and_then(|texts| texts.into_iter().collect()));
    }
    let Ok(array) = values.cast::<PyUntypedArray>() else { return Ok(None) };
    if array.dtype().kind() != b'O' || array.ndim() != 1 {
        return Ok(None);
    }
    let str_type = py.get_type::<PyString>();
    let mut out = Vec::with_capacity(array.len());
    for label in array.try_iter()? {
        let label = label?;
        // Exactly str: the public path spells other labels with str().
        if !label.get_type().is(&str_type) {
            return Ok(None);
        }
        out.push(label.cast::<PyString>()?.to_str()?.to_owned());
    }
    Ok(Some(out))
}
