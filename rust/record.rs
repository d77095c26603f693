//! A record: one accepted `collect()` call on its way to the encoder.

use std::sync::Arc;

use crate::arrow::ArrowInput;
use crate::batch::Batch;
use crate::stream::StreamConfig;

/// The ids that join inputs to predictions, made once per request.
#[derive(Clone, Debug)]
pub struct Correlation {
    /// Random per pipeline (and per forked child), so ids differ across processes.
    pub nonce: u64,
    /// Unique within the pipeline.
    pub counter: u64,
    /// UTC nanoseconds of the `collect()` call; picks the partition.
    pub ts_ns: i64,
    /// The caller's own id (a loan number, say), written before the generated one.
    pub prefix: Option<Arc<str>>,
    pub request_id: Option<Arc<str>>,
}

impl Correlation {
    /// The generated part: 128 bits shaped like a UUID, `nonce` then `counter`.
    pub fn write_generated(&self, out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let v = ((self.nonce as u128) << 64) | self.counter as u128;
        for i in 0..32 {
            if matches!(i, 8 | 12 | 16 | 20) {
                out.push(b'-');
            }
            out.push(HEX[((v >> (124 - 4 * i)) & 0xf) as usize]);
        }
    }

    /// `<prefix>-<generated>`, or the generated part alone.
    pub fn id(&self) -> String {
        let mut out = Vec::with_capacity(48);
        if let Some(p) = &self.prefix {
            out.extend_from_slice(p.as_bytes());
            out.push(b'-');
        }
        self.write_generated(&mut out);
        String::from_utf8(out).expect("ids are UTF-8")
    }
}

/// `O` keeps the batch's memory alive (a reference to the caller's array); the encoder hands
/// it back untouched so that it is released where that is safe, with the Arrow data the batch
/// holds (a producer may take the GIL to free its buffers).
pub struct Record<O> {
    pub stream: Arc<StreamConfig>,
    pub correlation: Correlation,
    pub batch: Batch,
    pub owner: Option<O>,
}

/// What a record kept alive, handed back once the encoder is done with it, to be dropped where
/// that is safe (attached to the interpreter, in the Python build).
pub struct Released<O> {
    pub owner: Option<O>,
    pub arrow: Vec<ArrowInput>,
    /// The record's bytes as the ring counted them, while its Arrow data waits to be dropped.
    pub bytes: usize,
}

impl<O> Record<O> {
    pub fn rows(&self) -> usize {
        self.batch.rows()
    }

    /// Takes what the record keeps alive; `None` when it keeps nothing.
    pub fn release(&mut self) -> Option<Released<O>> {
        let (owner, arrow) = (self.owner.take(), self.batch.take_arrow());
        // Counted only for Arrow data, the one kind that waits (`handback`).
        let bytes = if arrow.is_empty() { 0 } else { self.batch.nbytes() };
        (owner.is_some() || !arrow.is_empty()).then_some(Released { owner, arrow, bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_shaped_and_prefixed() {
        let c = Correlation {
            nonce: 0x0123_4567_89ab_cdef,
            counter: 42,
            ts_ns: 0,
            prefix: Some("LoanNumber-123".into()),
            request_id: None,
        };
        assert_eq!(c.id(), "LoanNumber-123-01234567-89ab-cdef-0000-00000000002a");
        let bare = Correlation { prefix: None, ..c };
        assert_eq!(bare.id().len(), 36);
    }
}
