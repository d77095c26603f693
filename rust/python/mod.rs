//! The `modeltap._native` module: converts Python arguments and delegates to the core.

mod arrow;
mod convert;
mod core;
mod error;
mod frame;
mod rows;
mod types;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// The module `name` once something else imported it, else `None`: collect() never imports a
/// library of its own accord (pandas, polars, pyarrow).
fn loaded<'py>(py: Python<'py>, name: &str) -> Option<Bound<'py, PyAny>> {
    static MODULES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
    let modules = MODULES
        .get_or_try_init(py, || -> PyResult<_> {
            Ok(py.import("sys")?.getattr(intern!(py, "modules"))?.cast_into::<PyDict>()?.unbind())
        })
        .ok()?;
    modules.bind(py).get_item(name).ok()?
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<core::PyCore>()?;
    m.add_class::<core::PyStream>()?;
    m.add_class::<types::PyCorrelation>()?;
    m.add_class::<types::PyChunk>()?;
    m.add_class::<types::PyManualClock>()?;
    m.add_function(wrap_pyfunction!(core::process_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(core::set_process_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(frame::_set_frame_blocks, m)?)?;
    m.add_function(wrap_pyfunction!(core::place_columns, m)?)?;
    Ok(())
}
