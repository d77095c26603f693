//! Python values laid out as a scoring script's decoded JSON lays them out: lists of rows, a
//! flat row, records (dicts, one a row) and dicts of columns or of one row's values. The common
//! shapes are rendered here, column by column, typed as `modeltap.tabular` types a list's column
//! (`values::Seen`); anything else (other container types, ragged rows, keys that are not the
//! stream's names in order) is left to the Python side, which converts, places or refuses it by
//! name.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::convert::{render_column, scalars, Converted};
use crate::batch::{Batch, Column};

/// A value JSON holds: the one kind a flat row or a dict of one row's values is made of.
fn plain(v: &Bound<'_, PyAny>) -> bool {
    v.is_none()
        || v.is_exact_instance_of::<PyFloat>()
        || v.is_exact_instance_of::<PyInt>()
        || v.is_exact_instance_of::<PyString>()
        || v.is_exact_instance_of::<PyBool>()
}

/// The items of an exact list or tuple.
fn items_of<'py>(v: &Bound<'py, PyAny>) -> Option<Vec<Bound<'py, PyAny>>> {
    if let Ok(list) = v.cast_exact::<PyList>() {
        Some(list.iter().collect())
    } else {
        v.cast_exact::<PyTuple>().ok().map(|t| t.iter().collect())
    }
}

/// The items of each of `values` when every one is an exact list or tuple and all have one
/// length, not zero: a table's rows, or a dict's columns.
fn equal_lengths<'py>(values: &[Bound<'py, PyAny>]) -> Option<Vec<Vec<Bound<'py, PyAny>>>> {
    let lists = values.iter().map(items_of).collect::<Option<Vec<_>>>()?;
    let n = lists.first()?.len();
    (n != 0 && lists.iter().all(|l| l.len() == n)).then_some(lists)
}

/// `columns` (each a column's values, all of one length) rendered as a batch.
fn render(py: Python<'_>, columns: Vec<Vec<Bound<'_, PyAny>>>) -> PyResult<Converted> {
    let sc = scalars(py)?;
    let rows = columns.first().map_or(0, Vec::len);
    let columns = columns
        .into_iter()
        .enumerate()
        .map(|(j, values)| {
            let values: Vec<_> = values.into_iter().map(Some).collect();
            Ok(Column::Rendered(render_column(&values, j, sc)?))
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(Converted { batch: Batch::Columns { rows, columns }, owner: None })
}

/// Rows `table[r][j]` as columns `[j][r]`.
fn transpose<'py>(table: Vec<Vec<Bound<'py, PyAny>>>) -> Vec<Vec<Bound<'py, PyAny>>> {
    let width = table.first().map_or(0, Vec::len);
    let mut columns: Vec<Vec<_>> = (0..width).map(|_| Vec::with_capacity(table.len())).collect();
    for row in table {
        for (column, v) in columns.iter_mut().zip(row) {
            column.push(v);
        }
    }
    columns
}

/// A list or tuple of rows (each a list or tuple, all of one width), or a flat one of plain
/// values (one row; one value per row when the stream has a single column). `None` for
/// anything else.
pub fn rows(data: &Bound<'_, PyAny>, ncols: usize) -> PyResult<Option<Converted>> {
    let items = match items_of(data) {
        Some(items) if !items.is_empty() => items,
        _ => return Ok(None),
    };
    let table: Vec<Vec<Bound<'_, PyAny>>> = if items.iter().all(plain) {
        if ncols == 1 && items.len() != 1 {
            items.into_iter().map(|v| vec![v]).collect()
        } else {
            vec![items]
        }
    } else {
        let Some(table) = equal_lengths(&items) else { return Ok(None) };
        table
    };
    Ok(Some(render(data.py(), transpose(table))?))
}

/// A dict's `keys` as text when every one is a str and they are the stream's `names` in their
/// order (or no names are fixed yet); `None` otherwise, for the Python side to place.
fn keys_of(keys: &Bound<'_, PyList>, names: Option<&[String]>) -> Option<Vec<String>> {
    if keys.is_empty() || names.is_some_and(|n| n.len() != keys.len()) {
        return None;
    }
    let mut text = Vec::with_capacity(keys.len());
    for (j, key) in keys.iter().enumerate() {
        let key = key.cast_exact::<PyString>().ok()?.to_str().ok()?;
        if names.is_some_and(|n| n[j] != key) {
            return None;
        }
        text.push(key.to_owned());
    }
    Some(text)
}

/// A dict of plain values (one row) or of lists or tuples of one length (its columns), or a
/// list or tuple of dicts with the same keys (records), when the keys are as `keys_of` takes
/// them: its batch, and its labels while the stream's names are not fixed. `None` for anything
/// else.
pub fn mapping(
    data: &Bound<'_, PyAny>,
    names: Option<&[String]>,
) -> PyResult<Option<(Converted, Option<Vec<String>>)>> {
    let labels = |keys: Vec<String>| names.is_none().then_some(keys);
    if let Ok(dict) = data.cast_exact::<PyDict>() {
        let Some(keys) = keys_of(&dict.keys(), names) else { return Ok(None) };
        let values: Vec<_> = dict.values().iter().collect();
        let columns = if values.iter().all(plain) {
            values.into_iter().map(|v| vec![v]).collect()
        } else {
            let Some(columns) = equal_lengths(&values) else { return Ok(None) };
            columns
        };
        return Ok(Some((render(data.py(), columns)?, labels(keys))));
    }
    let Some(records) = items_of(data) else { return Ok(None) };
    let Some(first) = records.first().and_then(|r| r.cast_exact::<PyDict>().ok()) else { return Ok(None) };
    let key_objects = first.keys();
    let Some(keys) = keys_of(&key_objects, names) else { return Ok(None) };
    let mut table = Vec::with_capacity(records.len());
    for record in &records {
        let Ok(record) = record.cast_exact::<PyDict>() else { return Ok(None) };
        if record.len() != key_objects.len() {
            return Ok(None);
        }
        let mut row = Vec::with_capacity(key_objects.len());
        for key in key_objects.iter() {
            let Some(v) = record.get_item(key)? else { return Ok(None) };
            row.push(v);
        }
        table.push(row);
    }
    Ok(Some((render(data.py(), transpose(table))?, labels(keys))))
}
