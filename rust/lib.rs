//! modeltap's native core, in the order a row travels:
//! `ring` (bounded MPSC of records, by count and by bytes) → `encoder` (the thread) using
//! `encode` (values to CSV fields) and `chunk` (open chunks per stream and partition, sealed on
//! size, age, partition end, flush) → `pipeline` (the handle scoring and upload threads use);
//! `handback` takes what records kept alive back to where it can be dropped.
//! `stream` is the one home of a stream's contract and admission, `switch` the process switch,
//! `error` the core's one error type, `schema` the column types recorded with each file. `clock` decides partitions; `python` is the thin pyo3
//! layer.

pub mod arrow;
pub mod batch;
pub mod chunk;
pub mod clock;
pub mod encode;
mod encoder;
pub mod error;
pub mod handback;
pub mod pipeline;
pub mod record;
pub mod ring;
pub mod schema;
pub mod stats;
pub mod stream;
pub mod switch;
#[cfg(test)]
mod testing;
pub mod values;

#[cfg(feature = "python")]
mod python;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
