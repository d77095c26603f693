//! The process switch: collection on or off for every stream of the process, at once.
//!
//! One atomic that every admission reads; `modeltap.set_enabled` sets it. A forked child
//! inherits its value with the memory.

use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug)]
pub struct Switch(AtomicBool);

/// The switch of this process.
pub static PROCESS: Switch = Switch::new(true);

impl Switch {
    pub const fn new(on: bool) -> Self {
        Switch(AtomicBool::new(on))
    }

    #[inline]
    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    pub fn set(&self, on: bool) {
        self.0.store(on, Ordering::Relaxed)
    }
}
