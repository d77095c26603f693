//! Arrow input: `import` takes Arrow data from another library through the C interfaces (on
//! the scoring thread) and imports it (on the encoder thread); `encode` writes its columns with
//! the same field writers as numpy values.

pub mod encode;
pub mod import;
pub mod shape;
pub mod stream;
pub mod strings;

pub use encode::{column_type, supported, ArrowColumn, ArrowInputError, ArrowRows};
pub use import::ArrowInput;
pub use shape::{Shape, ShapeCache};
