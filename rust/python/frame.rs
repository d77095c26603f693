//! pandas DataFrames and Series read block by block, without a call into Python code: numeric,
//! bool and datetime blocks are numpy arrays (2-D in a frame: one row per column, each column
//! contiguous), so each column becomes a view into the frame's own memory; nullable columns a
//! view beside their mask; categoricals their codes, naming categories rendered once.
//!
//! `DataFrame._mgr` is private, so this path is taken only where its shape is the one checked
//! here (pandas 2 and 3, a plain `DataFrame` or `Series`, blocks whose locations cover every
//! column once, string labels). Anything else returns `None` and goes through
//! `modeltap.tabular`, the public path, which gives the same values.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use numpy::{PyArray1, PyArrayDescr, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

use super::convert::{block_kind, render_each, Converted};
use crate::arrow::strings;
use crate::arrow::{ArrowInput, ShapeCache};
use crate::batch::{ArrowField, Batch, Categories, Coded, Column, Kind, Masked, View};
use crate::encode::{write_bool, write_f64, write_int, write_text};
use crate::schema::ColumnType;

/// Off only in tests, to run the public path on the same frames.
static ENABLED: AtomicBool = AtomicBool::new(true);

/// pandas' types whose layout is read here, when the loaded pandas is a version checked.
struct Pandas {
    frame: Py<PyType>,
    series: Py<PyType>,
    datetimes: Py<PyType>,
    /// `IntegerArray`, `FloatingArray`, `BooleanArray`: `_data` and `_mask`.
    masked: [Py<PyType>; 3],
    categorical: Py<PyType>,
    /// `ArrowStringArray`: a `str` column whose `_pa_array` is a ChunkedArray of text.
    strings: Py<PyType>,
    /// `ArrowExtensionArray`: a column of an `ArrowDtype`, its `_pa_array` a ChunkedArray.
    arrow: Py<PyType>,
}

static PANDAS: PyOnceLock<Option<Pandas>> = PyOnceLock::new();

/// pandas major versions whose `_mgr.blocks` / `mgr_locs.as_array` / `values` were checked.
const PANDAS_MAJORS: [&str; 2] = ["2", "3"];

/// Turns the block path on or off (tests force the public path with it).
#[pyfunction]
pub fn _set_frame_blocks(on: bool) {
    ENABLED.store(on, Ordering::Relaxed)
}

fn pandas(py: Python<'_>) -> Option<&Pandas> {
    PANDAS
        .get(py)
        .or_else(|| {
            let loaded = super::loaded(py, "pandas")?;
            let version: String = loaded.getattr(intern!(py, "__version__")).ok()?.extract().ok()?;
            let major = version.split('.').next().unwrap_or("");
            let types = || -> Option<Pandas> {
                let ty = |m: &Bound<'_, PyAny>, name: &str| {
                    m.getattr(name).ok()?.cast_into::<PyType>().ok().map(Bound::unbind)
                };
                let arrays = loaded.getattr("arrays").ok()?;
                Some(Pandas {
                    frame: ty(&loaded, "DataFrame")?,
                    series: ty(&loaded, "Series")?,
                    datetimes: ty(&arrays, "DatetimeArray")?,
                    masked: [ty(&arrays, "IntegerArray")?, ty(&arrays, "FloatingArray")?, ty(&arrays, "BooleanArray")?],
                    categorical: ty(&loaded, "Categorical")?,
                    strings: ty(&arrays, "ArrowStringArray")?,
                    arrow: ty(&arrays, "ArrowExtensionArray")?,
                })
            };
            let found = PANDAS_MAJORS.contains(&major).then(types).flatten();
            Some(PANDAS.get_or_init(py, || found))
        })?
        .as_ref()
}

/// The Arrow labels last found equal to one stream's names (pandas 3's `str` Index holds them as
/// an immutable pyarrow ChunkedArray): frames that share their columns Index (built with one
/// `columns=` Index, or copies of one frame) are then not compared again. Held, so that its
/// address is not reused.
#[derive(Default)]
pub struct LabelsSeen(Mutex<Option<Py<PyAny>>>);

/// A frame's (or a Series') columns read in place, with its column labels when the stream's
/// `names` are not fixed yet; `None` when it is not one this path reads, or its labels differ
/// from `names` (the public path reorders or reports those). Under `copy`, each array is copied
/// first.
pub fn blocks<'py>(
    data: &Bound<'py, PyAny>,
    names: Option<&[String]>,
    seen: &LabelsSeen,
    shapes: &ShapeCache,
    copy: bool,
) -> PyResult<Option<(Converted, Option<Vec<String>>)>> {
    let py = data.py();
    if !ENABLED.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let Some(pd) = pandas(py) else { return Ok(None) };
    let ty = data.get_type();
    let frame = if ty.is(pd.frame.bind(py)) {
        true
    } else if ty.is(pd.series.bind(py)) {
        false
    } else {
        return Ok(None);
    };
    // Any attribute missing or of another type: not the layout checked here.
    let read = |copy| {
        let read = match frame {
            true => read_frame(pd, data, names, seen, shapes, copy),
            false => read_series(pd, data, names, shapes, copy),
        };
        read.ok().flatten()
    };
    // Under `copy`, a frame is read once without copying first: one that goes the public way
    // (an object column, say) is not copied here only to be converted there.
    if copy && read(false).is_none() {
        return Ok(None);
    }
    Ok(read(copy))
}

/// A frame's labels: the stream's names (when equal to them) or its own.
enum Labels {
    Same(usize),
    Own(Vec<String>),
}

impl Labels {
    fn len(&self) -> usize {
        match self {
            Labels::Same(n) => *n,
            Labels::Own(l) => l.len(),
        }
    }

    fn into_own(self) -> Option<Vec<String>> {
        match self {
            Labels::Same(_) => None,
            Labels::Own(l) => Some(l),
        }
    }
}

/// The columns read so far, each at its place, and what keeps their memory alive.
struct Reading<'py, 's> {
    /// What the stream's Arrow column types meant (`ArrowDtype` columns).
    shapes: &'s ShapeCache,
    columns: Vec<Option<Column>>,
    rows: Option<usize>,
    owners: Vec<Bound<'py, PyAny>>,
    /// Arrow columns' C streams, imported on the encoder thread.
    inputs: Vec<ArrowInput>,
}

impl<'py> Reading<'py, '_> {
    /// Puts `column` at `loc`; `false` when that is out of range, taken, or of another length.
    fn place(&mut self, loc: isize, rows: usize, column: Column) -> bool {
        let slot = usize::try_from(loc).ok().and_then(|l| self.columns.get_mut(l));
        let Some(slot @ None) = slot else { return false };
        if self.rows.is_some_and(|r| r != rows) {
            return false;
        }
        self.rows = Some(rows);
        *slot = Some(column);
        true
    }

    fn finish(self, labels: Labels) -> PyResult<Option<(Converted, Option<Vec<String>>)>> {
        let py_owner = match self.owners.len() {
            0 => None,
            1 => self.owners.into_iter().next().map(Bound::unbind),
            _ => Some(PyTuple::new(self.owners[0].py(), &self.owners)?.into_any().unbind()),
        };
        let Some(columns) = self.columns.into_iter().collect::<Option<Vec<_>>>() else {
            return Ok(None); // a column no block holds
        };
        let rows = self.rows.unwrap_or(0);
        let batch = match self.inputs.is_empty() {
            true => Batch::Columns { rows, columns },
            false => Batch::Arrow { rows, columns, inputs: self.inputs.into() },
        };
        Ok(Some((Converted { batch, owner: py_owner }, labels.into_own())))
    }
}

fn read_frame<'py>(
    pd: &Pandas,
    data: &Bound<'py, PyAny>,
    names: Option<&[String]>,
    seen: &LabelsSeen,
    shapes: &ShapeCache,
    copy: bool,
) -> PyResult<Option<(Converted, Option<Vec<String>>)>> {
    let py = data.py();
    let Some(labels) = labels_of(&data.getattr(intern!(py, "columns"))?, names, seen)? else {
        return Ok(None);
    };
    if labels.len() == 0 {
        return Ok(None);
    }
    let blocks = data.getattr(intern!(py, "_mgr"))?.getattr(intern!(py, "blocks"))?.cast_into::<PyTuple>()?;
    if blocks.len() == 1 {
        // One block holding every column in order (a frame made from a 2-D array): one view,
        // which the encoder writes as it writes a numpy array.
        if let Some(whole) = whole_block(pd, &blocks.get_item(0)?, labels.len(), copy)? {
            return Ok(Some((whole, labels.into_own())));
        }
    }
    let mut reading =
        Reading { shapes, columns: vec![None; labels.len()], rows: None, owners: Vec::new(), inputs: Vec::new() };
    for block in blocks.iter() {
        let values = block.getattr(intern!(py, "values"))?;
        let locs = block.getattr(intern!(py, "mgr_locs"))?.getattr(intern!(py, "as_array"))?;
        let locs = locs.cast::<PyArray1<isize>>()?;
        // SAFETY: read while attached, before any Python code runs that could change it; a
        // non-contiguous array is refused by `as_slice`.
        let locs = unsafe { locs.as_slice() }.map_err(PyErr::from)?.to_vec();
        if !read_values(pd, &values, &locs, copy, &mut reading)? {
            return Ok(None);
        }
    }
    reading.finish(labels)
}

/// A Series as a one-column frame: its name is the label (`"0"` without one, as `to_frame()`
/// names it).
fn read_series<'py>(
    pd: &Pandas,
    data: &Bound<'py, PyAny>,
    names: Option<&[String]>,
    shapes: &ShapeCache,
    copy: bool,
) -> PyResult<Option<(Converted, Option<Vec<String>>)>> {
    let py = data.py();
    let name = data.getattr(intern!(py, "name"))?;
    let label = if name.is_none() {
        "0".to_owned()
    } else if name.get_type().is(py.get_type::<PyString>()) {
        let Ok(text) = name.cast::<PyString>()?.to_str() else { return Ok(None) };
        text.to_owned()
    } else {
        return Ok(None);
    };
    let labels = match names {
        Some([only]) if *only == label => Labels::Same(1),
        Some(_) => return Ok(None),
        None => Labels::Own(vec![label]),
    };
    let blocks = data.getattr(intern!(py, "_mgr"))?.getattr(intern!(py, "blocks"))?.cast_into::<PyTuple>()?;
    if blocks.len() != 1 {
        return Ok(None);
    }
    let values = blocks.get_item(0)?.getattr(intern!(py, "values"))?;
    let mut reading = Reading { shapes, columns: vec![None], rows: None, owners: Vec::new(), inputs: Vec::new() };
    if !read_values(pd, &values, &[0], copy, &mut reading)? {
        return Ok(None);
    }
    reading.finish(labels)
}

/// Reads one block's values (one column per entry of `locs`) into `reading`: `false` when they
/// are not of a kind read here.
fn read_values<'py>(
    pd: &Pandas,
    values: &Bound<'py, PyAny>,
    locs: &[isize],
    copy: bool,
    reading: &mut Reading<'py, '_>,
) -> PyResult<bool> {
    let py = values.py();
    let copied = |a: Bound<'py, PyAny>| -> PyResult<Bound<'py, PyUntypedArray>> {
        let a = if copy { a.call_method0(intern!(py, "copy"))? } else { a };
        Ok(a.cast_into::<PyUntypedArray>()?)
    };
    let ty = values.get_type();
    if values.cast::<PyUntypedArray>().is_ok() {
        return numpy_columns(copied(values.clone())?, locs, false, reading);
    }
    if ty.is(pd.datetimes.bind(py)) {
        // Naive: the datetimes themselves; tz-aware: their UTC values, written with a `Z`.
        let aware = values.getattr(intern!(py, "dtype"))?.cast::<PyArrayDescr>().is_err();
        return numpy_columns(copied(values.getattr(intern!(py, "_ndarray"))?)?, locs, aware, reading);
    }
    let [loc] = *locs else { return Ok(false) };
    if pd.masked.iter().any(|m| ty.is(m.bind(py))) {
        let data = copied(values.getattr(intern!(py, "_data"))?)?;
        let mask = copied(values.getattr(intern!(py, "_mask"))?)?;
        let (Some(kind), &[n]) = (block_kind(&data)?, data.shape()) else { return Ok(false) };
        if matches!(kind, Kind::DateTime(_)) || mask.dtype().kind() != b'b' || mask.shape() != [n] {
            return Ok(false);
        }
        // SAFETY: both views address live arrays of n values, kept by the owners.
        let column = unsafe { Masked::new(view(&data, kind), view(&mask, Kind::Bool), n) };
        reading.owners.extend([data.into_any(), mask.into_any()]);
        return Ok(reading.place(loc, n, Column::Masked(column)));
    }
    if ty.is(pd.categorical.bind(py)) {
        let codes = copied(values.getattr(intern!(py, "_codes"))?)?;
        let (Some(kind), &[n]) = (block_kind(&codes)?, codes.shape()) else { return Ok(false) };
        let Some(categories) =
            categories_of(&values.getattr(intern!(py, "_dtype"))?.getattr(intern!(py, "categories"))?)?
        else {
            return Ok(false);
        };
        // SAFETY: the view addresses a live array of n codes, kept by the owners.
        let Some(column) = (unsafe { Coded::new(view(&codes, kind), categories, n) }) else { return Ok(false) };
        reading.owners.push(codes.into_any());
        return Ok(reading.place(loc, n, Column::Coded(column)));
    }
    // Arrow columns are taken here, to be imported on the encoder thread; other extension
    // arrays go the public way.
    let taken = if ty.is(pd.strings.bind(py)) {
        arrow_text_column(values)?
    } else if ty.is(pd.arrow.bind(py)) {
        arrow_column(values, reading.shapes)?
    } else {
        None
    };
    let Some((n, ty, input)) = taken else { return Ok(false) };
    if !reading.place(loc, n, Column::Arrow(ArrowField::new(reading.inputs.len(), 0, ty))) {
        return Ok(false);
    }
    reading.inputs.push(input);
    Ok(true)
}

/// A block of numbers, bools or datetimes whose locations are `0..cols` in order, as one
/// view; `None` for any other block.
fn whole_block(pd: &Pandas, block: &Bound<'_, PyAny>, cols: usize, copy: bool) -> PyResult<Option<Converted>> {
    let py = block.py();
    let locs = block.getattr(intern!(py, "mgr_locs"))?.getattr(intern!(py, "as_array"))?;
    let locs = locs.cast::<PyArray1<isize>>()?;
    // SAFETY: as in `read_frame`.
    let locs = unsafe { locs.as_slice() }.map_err(PyErr::from)?;
    if locs.len() != cols || locs.iter().enumerate().any(|(i, &l)| l != i as isize) {
        return Ok(None);
    }
    let values = block.getattr(intern!(py, "values"))?;
    let (values, utc) = if values.cast::<PyUntypedArray>().is_ok() {
        (values, false)
    } else if values.get_type().is(pd.datetimes.bind(py)) {
        let utc = values.getattr(intern!(py, "dtype"))?.cast::<PyArrayDescr>().is_err();
        (values.getattr(intern!(py, "_ndarray"))?, utc)
    } else {
        return Ok(None);
    };
    let values = if copy { values.call_method0(intern!(py, "copy"))? } else { values };
    let values = values.cast_into::<PyUntypedArray>()?;
    let Some(kind) = numpy_kind(&values, utc)? else { return Ok(None) };
    let (&[k, rows], &[s0, s1]) = (values.shape(), values.strides()) else { return Ok(None) };
    if k != cols {
        return Ok(None);
    }
    let ptr = unsafe { (*values.as_array_ptr()).data as *const u8 };
    let view = View { ptr, kind, row_stride: s1, col_stride: s0 };
    Ok(Some(Converted { batch: Batch::Block { view, rows, cols }, owner: Some(values.into_any().unbind()) }))
}

/// The kind of a numpy block's values; datetimes marked `utc` are UTC instants.
fn numpy_kind(values: &Bound<'_, PyUntypedArray>, utc: bool) -> PyResult<Option<Kind>> {
    Ok(match block_kind(values)? {
        Some(Kind::DateTime(unit)) if utc => Some(Kind::UtcDateTime(unit)),
        _ if utc => None,
        k => k,
    })
}

/// A 1-D array as a view of its values.
fn view(arr: &Bound<'_, PyUntypedArray>, kind: Kind) -> View {
    // SAFETY: the array's data pointer, read while attached.
    let ptr = unsafe { (*arr.as_array_ptr()).data as *const u8 };
    View { ptr, kind, row_stride: arr.strides()[0], col_stride: 0 }
}

/// The columns of a numpy block (`locs.len()` × rows, or one 1-D column) as views; datetimes
/// marked `utc` are UTC instants.
fn numpy_columns<'py>(
    values: Bound<'py, PyUntypedArray>,
    locs: &[isize],
    utc: bool,
    reading: &mut Reading<'py, '_>,
) -> PyResult<bool> {
    let Some(kind) = numpy_kind(&values, utc)? else { return Ok(false) };
    let (k, n, s0, s1) = match (values.shape(), values.strides()) {
        (&[k, n], &[s0, s1]) => (k, n, s0, s1),
        (&[n], &[s1]) => (1, n, 0, s1),
        _ => return Ok(false),
    };
    if k != locs.len() {
        return Ok(false);
    }
    let base = unsafe { (*values.as_array_ptr()).data as *const u8 };
    for (i, &loc) in locs.iter().enumerate() {
        // The column's first cell: in the block, which the owners keep alive.
        let ptr = base.wrapping_offset(i as isize * s0);
        if !reading.place(loc, n, Column::View(View { ptr, kind, row_stride: s1, col_stride: 0 })) {
            return Ok(false);
        }
    }
    reading.owners.push(values.into_any());
    Ok(true)
}

/// Categories rendered lately, by identity (a pandas Index is immutable; holding it keeps its
/// address from being reused): frames of one `CategoricalDtype` share its categories.
static CATEGORIES: PyOnceLock<Mutex<VecDeque<KeptCategories>>> = PyOnceLock::new();
/// Categories (the pandas Index) and their rendering.
type KeptCategories = (Py<PyAny>, Arc<Categories>);
const CATEGORIES_KEPT: usize = 16;
/// Larger categories are rendered on each call rather than kept.
const CATEGORIES_KEPT_BYTES: usize = 1 << 20;

/// A categorical's categories rendered as its values would be in an object column; `None` when
/// they cannot be (the public path then reports why, if it must).
fn categories_of(categories: &Bound<'_, PyAny>) -> PyResult<Option<Arc<Categories>>> {
    let py = categories.py();
    let cache = CATEGORIES.get_or_init(py, || Mutex::new(VecDeque::new()));
    let found = {
        let kept = cache.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter().find(|(c, _)| c.is(categories)).map(|(_, r)| r.clone())
    };
    if found.is_some() {
        return Ok(found);
    }
    let Ok(rendered) = render_categories(categories) else { return Ok(None) };
    let Some(rendered) = rendered.map(Arc::new) else { return Ok(None) };
    if rendered.fields.bytes.len() <= CATEGORIES_KEPT_BYTES {
        let evicted = {
            let mut kept = cache.lock().unwrap_or_else(|e| e.into_inner());
            kept.push_front((categories.clone().unbind(), rendered.clone()));
            let over = kept.len().saturating_sub(CATEGORIES_KEPT);
            (0..over).filter_map(|_| kept.pop_back()).collect::<Vec<_>>()
        };
        drop(evicted); // released after the lock
    }
    Ok(Some(rendered))
}

/// Categories in Arrow memory or a numpy array of ints, floats or bools are rendered here;
/// others (objects, datetimes, uint64, float32) as the public path renders them, from the
/// Python objects `to_numpy(dtype=object)` gives.
fn render_categories(categories: &Bound<'_, PyAny>) -> PyResult<Option<Categories>> {
    let py = categories.py();
    let values = categories.getattr(intern!(py, "_data"))?;
    let mut out = Categories::default();
    if let Ok(chunked) = values.getattr(intern!(py, "_pa_array")) {
        let Some(mut stream) = super::arrow::take_c_stream(&chunked)? else { return Ok(None) };
        let read = stream.each_string(|s| match s.map(std::str::from_utf8) {
            Some(Ok(s)) => {
                write_text(&mut out.fields.bytes, s);
                out.fields.end_field();
                out.types.push(Some(ColumnType::String));
                true
            }
            _ => false, // categories are never missing: not what was checked
        });
        return Ok(read.then_some(out));
    }
    if let Ok(array) = values.cast::<PyUntypedArray>() {
        let kind = block_kind(array)?;
        if let (
            Some(
                kind @ (Kind::Bool
                | Kind::I8
                | Kind::I16
                | Kind::I32
                | Kind::I64
                | Kind::U8
                | Kind::U16
                | Kind::U32
                | Kind::F64),
            ),
            [n],
        ) = (kind, array.shape())
        {
            // Written as the Python ints, floats and bools these become in an object column.
            let v = view(array, kind);
            for r in 0..*n {
                // SAFETY: row r of a live 1-D array of this kind, read while attached.
                let p = unsafe { v.ptr.offset(r as isize * v.row_stride) };
                let b = &mut out.fields.bytes;
                unsafe {
                    match kind {
                        Kind::Bool => write_bool(b, *p != 0),
                        Kind::I8 => write_int(b, *(p as *const i8)),
                        Kind::I16 => write_int(b, std::ptr::read_unaligned(p as *const i16)),
                        Kind::I32 => write_int(b, std::ptr::read_unaligned(p as *const i32)),
                        Kind::I64 => write_int(b, std::ptr::read_unaligned(p as *const i64)),
                        Kind::U8 => write_int(b, *p),
                        Kind::U16 => write_int(b, std::ptr::read_unaligned(p as *const u16)),
                        Kind::U32 => write_int(b, std::ptr::read_unaligned(p as *const u32)),
                        _ => write_f64(b, std::ptr::read_unaligned(p as *const f64)),
                    }
                }
                out.fields.end_field();
                out.types.push(Some(kind.column_type()));
            }
            return Ok(Some(out));
        }
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", "object")?;
    kwargs.set_item("na_value", py.None())?;
    let objects = categories.call_method(intern!(py, "to_numpy"), (), Some(&kwargs))?;
    Ok(Some(render_each(&objects)?))
}

/// An Arrow column's row count, its type in the contract, and its C stream.
type ArrowColumnTaken = (usize, Option<ColumnType>, ArrowInput);

/// A pandas `str` column held in Arrow memory (an `ArrowStringArray`, whose type vouches for
/// text: its schema is not exported here): its ChunkedArray's C stream, taken over (~0.2 µs;
/// imported on the encoder thread).
fn arrow_text_column(values: &Bound<'_, PyAny>) -> PyResult<Option<ArrowColumnTaken>> {
    let py = values.py();
    let Ok(chunked) = values.getattr(intern!(py, "_pa_array")) else { return Ok(None) };
    let input = super::arrow::take_stream(&chunked)?;
    Ok(Some((chunked.len()?, Some(ColumnType::String), input)))
}

/// A column of an `ArrowDtype` (`int64[pyarrow]`, a `read_parquet(dtype_backend="pyarrow")`
/// frame's): its ChunkedArray taken as the Arrow containers are, its schema read and its
/// meaning kept in `shapes`. `None` for a type the Arrow path does not write as one column (a
/// struct, a list, a duration): the public path refuses or converts those as it always did.
fn arrow_column(values: &Bound<'_, PyAny>, shapes: &ShapeCache) -> PyResult<Option<ArrowColumnTaken>> {
    let py = values.py();
    let Ok(chunked) = values.getattr(intern!(py, "_pa_array")) else { return Ok(None) };
    let Ok((input, shape)) = super::arrow::take_shaped_stream(&chunked, shapes) else { return Ok(None) };
    if shape.is_table() {
        return Ok(None);
    }
    Ok(Some((chunked.len()?, shape.types[0], input)))
}

/// A pandas Index's labels when every one is a str, compared with the stream's `names` when
/// those are fixed: read in place from its Arrow memory (pandas 3's `str` dtype) or its object
/// array. `None` for any other index (ints, a MultiIndex, missing labels), whose labels the
/// public path spells, or labels that differ from `names`.
fn labels_of(index: &Bound<'_, PyAny>, names: Option<&[String]>, seen: &LabelsSeen) -> PyResult<Option<Labels>> {
    let py = index.py();
    let mut values = index.getattr(intern!(py, "_data"))?;
    if let Ok(chunked) = values.getattr(intern!(py, "_pa_array")) {
        let Some(names) = names else {
            let Some(mut stream) = super::arrow::take_c_stream(&chunked)? else { return Ok(None) };
            return Ok(strings::strings(&mut stream).map(Labels::Own));
        };
        let same = Some(Labels::Same(names.len()));
        // The lock is never held while Python code runs (another thread could take the GIL).
        let lock = || seen.0.lock().unwrap_or_else(|e| e.into_inner());
        if lock().as_ref().is_some_and(|l| l.is(&chunked)) {
            return Ok(same);
        }
        let Some(mut stream) = super::arrow::take_c_stream(&chunked)? else { return Ok(None) };
        if strings::equals(&mut stream, names) != Some(true) {
            return Ok(None);
        }
        let before = lock().replace(chunked.unbind());
        drop(before); // released after the lock
        return Ok(same);
    }
    if let Ok(objects) = values.getattr(intern!(py, "_ndarray")) {
        values = objects; // a `str` index without pyarrow: objects in a NumpyExtensionArray
    }
    let Ok(array) = values.cast::<PyUntypedArray>() else { return Ok(None) };
    let ([n], [stride]) = (array.shape(), array.strides()) else { return Ok(None) };
    if array.dtype().kind() != b'O' || names.is_some_and(|names| names.len() != *n) {
        return Ok(None);
    }
    let str_type = py.get_type::<PyString>();
    let base = unsafe { (*array.as_array_ptr()).data as *const u8 };
    let mut own = Vec::new();
    for i in 0..*n {
        // SAFETY: cell i of a live 1-D object array, read while attached; it holds a reference
        // (or null), taken before any Python code runs.
        let label = unsafe {
            let ptr = std::ptr::read_unaligned(base.offset(i as isize * stride) as *const *mut pyo3::ffi::PyObject);
            if ptr.is_null() {
                return Ok(None);
            }
            Bound::from_borrowed_ptr(py, ptr)
        };
        // Exactly str: the public path spells other labels with str().
        if !label.get_type().is(&str_type) {
            return Ok(None);
        }
        let Ok(text) = label.cast::<PyString>()?.to_str() else { return Ok(None) };
        match names {
            Some(names) if names[i] != text => return Ok(None),
            Some(_) => {}
            None => own.push(text.to_owned()),
        }
    }
    Ok(Some(match names {
        Some(names) => Labels::Same(names.len()),
        None => Labels::Own(own),
    }))
}
