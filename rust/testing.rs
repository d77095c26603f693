//! What the unit tests share: a seeded generator for their tables, and Arrow data handed over
//! through the C data interface as a producer would hand it.

use arrow_array::ffi::{to_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use arrow_data::ArrayData;

use crate::arrow::ArrowInput;

/// xorshift64: reproducible values without a dependency.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `data` exported through the C data interface and taken over, as `collect()` takes it.
pub fn arrow_input(data: &ArrayData) -> ArrowInput {
    let (mut array, mut schema) = to_ffi(data).unwrap();
    // SAFETY: live structures just exported, used by no one else.
    unsafe {
        ArrowInput::take_array((&mut array as *mut FFI_ArrowArray).cast(), (&mut schema as *mut FFI_ArrowSchema).cast())
    }
    .unwrap()
}
