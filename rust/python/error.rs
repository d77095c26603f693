//! The one place core errors become Python exceptions.

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::PyErr;

use crate::arrow::ArrowInputError;
use crate::error::Error;

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        match e {
            Error::Unbound | Error::Spawn(_) => PyRuntimeError::new_err(e.to_string()),
            _ => PyValueError::new_err(e.to_string()),
        }
    }
}

impl From<ArrowInputError> for PyErr {
    fn from(e: ArrowInputError) -> PyErr {
        match e {
            ArrowInputError::Unsupported { .. } => PyTypeError::new_err(e.to_string()),
            _ => PyValueError::new_err(e.to_string()),
        }
    }
}
