//! One column of Python values (an object array's column, a list of rows' column): which one
//! plain type makes it a typed column, the rule `modeltap.tabular` applies to a list's column
//! before numpy sees it. Object arrays follow the same rule, so that the same values write the
//! same whatever they came in.

/// The exact Python types a column's values had (subclasses count as other types).
#[derive(Default, Debug, Clone, Copy)]
pub struct Seen {
    pub missing: bool,
    pub other: bool,
    pub floats: bool,
    pub float32s: bool,
    pub float16s: bool,
    pub ints: bool,
    /// An int below zero.
    pub negative: bool,
    /// An int above `i64::MAX` that fits 64 bits unsigned.
    pub unsigned: bool,
    /// An int that floats do not hold exactly (beyond 2**53).
    pub inexact: bool,
    /// An int beyond 64 bits (written as its digits, as text).
    pub beyond_64: bool,
}

/// How a column rendered value by value is spelled anew, or typed anew.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Respell {
    /// As each value spells itself.
    Keep,
    /// Non-negative ints, some beyond int64: a uint64 column (the digits do not change).
    Unsigned,
    /// Ints among floats, every one exact as a float: a float column, its ints as floats.
    IntsAsFloats,
    /// numpy float32 scalars only: their own shortest form, as a float32 array writes them.
    Float32,
    /// numpy float16 scalars only: likewise.
    Float16,
}

/// Beyond this, an int is not exact as a float64.
pub const EXACT_INT: u64 = 1 << 53;

impl Seen {
    /// An exact int's value, as far as it fits 64 bits (`None`: beyond).
    pub fn int(&mut self, value: Option<i128>) {
        self.ints = true;
        match value {
            Some(v) => {
                self.negative |= v < 0;
                self.unsigned |= v > i64::MAX as i128;
                self.inexact |= v.unsigned_abs() > EXACT_INT as u128;
            }
            None => (self.inexact, self.beyond_64) = (true, true),
        }
    }

    pub fn respell(&self) -> Respell {
        // One plain type, nothing missing: typed. Anything else stays objects, spelled each.
        if self.missing || self.other {
            return Respell::Keep;
        }
        match (self.ints, self.floats, self.float32s, self.float16s) {
            (true, false, false, false) if self.unsigned && !self.negative && !self.beyond_64 => Respell::Unsigned,
            (true, true, false, false) if !self.inexact => Respell::IntsAsFloats,
            (false, false, true, false) => Respell::Float32,
            (false, false, false, true) => Respell::Float16,
            _ => Respell::Keep,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(values: &[Option<i128>]) -> Seen {
        let mut s = Seen::default();
        values.iter().for_each(|&v| s.int(v));
        s
    }

    #[test]
    fn ints_beyond_int64_all_non_negative_make_uint64() {
        assert_eq!(ints(&[Some(1), Some(1 << 63)]).respell(), Respell::Unsigned);
        assert_eq!(ints(&[Some(-1), Some(1 << 63)]).respell(), Respell::Keep, "no 64-bit type holds both");
        assert_eq!(ints(&[Some(1), Some(2)]).respell(), Respell::Keep, "int64 already");
        assert_eq!(ints(&[Some(1 << 63), None]).respell(), Respell::Keep, "beyond 64 bits: text");
        let mut missing = ints(&[Some(1 << 63)]);
        missing.missing = true;
        assert_eq!(missing.respell(), Respell::Keep, "with a missing value: objects");
    }

    #[test]
    fn ints_among_floats_are_floats_when_exact() {
        let mut s = ints(&[Some(2), Some(-(1 << 53))]);
        s.floats = true;
        assert_eq!(s.respell(), Respell::IntsAsFloats);
        s.int(Some((1 << 53) + 1));
        assert_eq!(s.respell(), Respell::Keep);
    }

    #[test]
    fn float32_scalars_alone_keep_their_own_form() {
        let s = Seen { float32s: true, ..Seen::default() };
        assert_eq!(s.respell(), Respell::Float32);
        assert_eq!(Seen { floats: true, ..s }.respell(), Respell::Keep);
        assert_eq!(Seen { other: true, ..s }.respell(), Respell::Keep);
        assert_eq!(Seen { float16s: true, ..s }.respell(), Respell::Keep, "two numpy types: objects");
        assert_eq!(Seen { float16s: true, ..Seen::default() }.respell(), Respell::Float16);
    }
}
