//! The Arrow C stream interface's `ArrowArrayStream`, taken over from a producer's capsule.
//! arrow-rs keeps its own copy's callbacks private, and the schema and batches must be pulled
//! without importing them (see `import` and `strings`), so this is ours.

use std::ffi::{c_char, c_int, c_void, CStr};

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};

use super::encode::ArrowInputError;

/// A producer's stream, released once when dropped.
#[repr(C)]
pub struct CStream {
    pub(crate) get_schema: Option<unsafe extern "C" fn(*mut CStream, *mut FFI_ArrowSchema) -> c_int>,
    pub(crate) get_next: Option<unsafe extern "C" fn(*mut CStream, *mut FFI_ArrowArray) -> c_int>,
    pub(crate) get_last_error: Option<unsafe extern "C" fn(*mut CStream) -> *const c_char>,
    pub(crate) release: Option<unsafe extern "C" fn(*mut CStream)>,
    pub(crate) private_data: *mut c_void,
}

// SAFETY: a C stream may be used from any thread, one thread at a time; `ArrowInput` is moved
// between threads, never shared.
unsafe impl Send for CStream {}

impl CStream {
    /// Takes over the stream at `ptr` (an `arrow_array_stream` capsule's pointer), leaving it
    /// released so that the capsule's destructor does nothing.
    ///
    /// # Safety
    /// `ptr` points to a valid `ArrowArrayStream` that no one else uses meanwhile.
    pub unsafe fn take(ptr: *mut c_void) -> Option<CStream> {
        let source = ptr as *mut CStream;
        if source.is_null() || (*source).release.is_none() {
            return None;
        }
        let stream = std::ptr::read(source);
        (*source).release = None;
        Some(stream)
    }

    /// The producer's message for its last error, if it has one.
    pub fn last_error(&mut self) -> Option<String> {
        let f = self.get_last_error?;
        // SAFETY: the stream is live; the message lives until the next call on it.
        let p = unsafe { f(self) };
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }

    pub(crate) fn error(&mut self, what: &str, code: c_int) -> ArrowInputError {
        let message = self
            .get_last_error
            // SAFETY: the stream is live; the message lives until the next call on it.
            .map(|f| unsafe { f(self) })
            .filter(|p| !p.is_null())
            .map(|p| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned());
        ArrowInputError::Producer(match message {
            Some(m) => format!("{what}: {m}"),
            None => format!("{what} returned error code {code}"),
        })
    }
}

impl Drop for CStream {
    fn drop(&mut self) {
        if let Some(release) = self.release {
            // SAFETY: a live stream is released exactly once, by its owner.
            unsafe { release(self) };
        }
    }
}
