//! What each column of a stream's files holds: a small vocabulary, fixed with the stream's
//! contract and recorded with every file it starts, so readers need not guess from the text.
//!
//! The record is ASCII and short, so it fits an Azure blob's metadata: `1:` then one letter per
//! column, a run of equal letters written once with its length (`1:f6szsi` is six float64
//! columns, then string, timestamp_utc, string, int64). `python/modeltap/columns.py` reads it.

/// A column's type as readers are told it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    String,
    Int64,
    UInt64,
    Float64,
    Bool,
    /// A naive date and time.
    Timestamp,
    /// An instant, written in UTC ending `Z`.
    TimestampUtc,
}

/// Each type's name and its letter in the record.
pub const NAMES: [(ColumnType, &str, u8); 7] = [
    (ColumnType::String, "string", b's'),
    (ColumnType::Int64, "int64", b'i'),
    (ColumnType::UInt64, "uint64", b'u'),
    (ColumnType::Float64, "float64", b'f'),
    (ColumnType::Bool, "bool", b'b'),
    (ColumnType::Timestamp, "timestamp", b't'),
    (ColumnType::TimestampUtc, "timestamp_utc", b'z'),
];

/// The record's version prefix.
pub const VERSION: &str = "1:";

impl ColumnType {
    fn entry(self) -> &'static (ColumnType, &'static str, u8) {
        NAMES.iter().find(|(t, _, _)| *t == self).expect("every type is named")
    }

    pub fn name(self) -> &'static str {
        self.entry().1
    }

    pub fn code(self) -> u8 {
        self.entry().2
    }

    /// The type of a column holding values of both types: ints among floats are floats, any
    /// other mix is text (each value is written as its own text).
    pub fn merge(self, other: ColumnType) -> ColumnType {
        use ColumnType::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Float64, Int64 | UInt64) | (Int64 | UInt64, Float64) => Float64,
            _ => String,
        }
    }

    /// Whether a column fixed as `self` takes values of type `got`: the same type; ints into a
    /// float column (read back as floats); anything into a string column (read back as its
    /// text). Anything else (text into numbers, aware into naive instants, signed into
    /// unsigned) would make the file's values disagree with its recorded type.
    #[inline]
    pub fn takes(self, got: ColumnType) -> bool {
        self == got
            || self == ColumnType::String
            || (self == ColumnType::Float64 && matches!(got, ColumnType::Int64 | ColumnType::UInt64))
    }
}

/// The record of `types`: [`VERSION`], then each run of equal types as its letter, followed by
/// the run's length when longer than one.
pub fn encode(types: impl IntoIterator<Item = ColumnType>) -> String {
    let mut out = String::from(VERSION);
    let mut run: Option<(ColumnType, usize)> = None;
    let close = |out: &mut String, run: Option<(ColumnType, usize)>| {
        if let Some((t, n)) = run {
            out.push(t.code() as char);
            if n > 1 {
                out.push_str(&n.to_string());
            }
        }
    };
    for t in types {
        run = match run {
            Some((r, n)) if r == t => Some((r, n + 1)),
            other => {
                close(&mut out, other);
                Some((t, 1))
            }
        };
    }
    close(&mut out, run);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ColumnType::*;

    #[test]
    fn runs_are_written_once_with_their_length() {
        assert_eq!(encode([Float64; 6].into_iter().chain([String, TimestampUtc, String, Int64])), "1:f6szsi");
        assert_eq!(encode([]), "1:");
        assert_eq!(encode([Bool, Bool, UInt64, Timestamp]), "1:b2ut");
        assert_eq!(encode(std::iter::repeat_n(String, 1000)), "1:s1000");
    }

    #[test]
    fn names_and_letters_are_unique() {
        for (i, a) in NAMES.iter().enumerate() {
            for b in &NAMES[i + 1..] {
                assert!(a.1 != b.1 && a.2 != b.2 && a.0 != b.0);
                assert!(!a.2.is_ascii_digit());
            }
        }
    }

    #[test]
    fn merging_and_taking() {
        assert_eq!(Int64.merge(Float64), Float64);
        assert_eq!(Int64.merge(UInt64), String);
        assert_eq!(Timestamp.merge(TimestampUtc), String);
        assert!(Float64.takes(Int64));
        assert!(!Int64.takes(Float64));
        assert!(!Int64.takes(String));
        assert!(!Timestamp.takes(TimestampUtc));
        assert!(!TimestampUtc.takes(Timestamp));
        assert!(!UInt64.takes(Int64));
        assert!(String.takes(Int64));
    }
}
