//! The `modeltap._native` module: converts Python arguments and delegates to the core.

mod arrow;
mod convert;
mod core;
mod error;
mod frame;
mod types;

use pyo3::prelude::*;

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
    Ok(())
}
