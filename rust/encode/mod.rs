//! Values to CSV fields. Every writer appends to a `Vec<u8>` and allocates nothing per value:
//! this is the encoder thread's inner loop.

mod append;
pub mod batch;
mod datetime;
mod float;
mod int;
mod text;

pub use datetime::{civil_from_days, write_datetime64, write_datetime64_utc, write_timestamp_utc, DateUnit, NAT};
pub use float::{write_f16, write_f32, write_f64};
pub use int::{write_bool, write_int};
pub use text::{needs_quoting, write_text, write_ucs4};
