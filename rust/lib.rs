//! modeltap's native core, in the order a row travels:
//! `ring` (bounded MPSC of records) → `encode` (values to CSV) → `chunk` (open chunks per
//! stream and partition, sealed on size, age, partition end, flush) → `pipeline` (the encoder
//! thread tying them together). `python` is the thin pyo3 layer.

pub mod batch;
pub mod chunk;
pub mod clock;
pub mod encode;
pub mod pipeline;
pub mod record;
pub mod ring;
pub mod stats;
pub mod stream;

#[cfg(feature = "python")]
mod python;
