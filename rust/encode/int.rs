//! Integers (itoa) and booleans as pandas reads them back (`True`/`False`).

use super::append::push_short;

#[inline]
pub fn write_int<I: itoa::Integer>(out: &mut Vec<u8>, v: I) {
    let mut buf = itoa::Buffer::new();
    push_short(out, buf.format(v).as_bytes());
}

#[inline]
pub fn write_bool(out: &mut Vec<u8>, v: bool) {
    push_short(out, if v { b"True" } else { b"False" });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<I: itoa::Integer>(v: I) -> String {
        let mut out = Vec::new();
        write_int(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn limits() {
        assert_eq!(text(i64::MIN), "-9223372036854775808");
        assert_eq!(text(i64::MAX), "9223372036854775807");
        assert_eq!(text(u64::MAX), "18446744073709551615");
        assert_eq!(text(0u8), "0");
        assert_eq!(text(i8::MIN), "-128");
        assert_eq!(text(u16::MAX), "65535");
        assert_eq!(text(i32::MIN), "-2147483648");
        assert_eq!(text(u32::MAX), "4294967295");
    }

    #[test]
    fn bools() {
        let mut out = Vec::new();
        write_bool(&mut out, true);
        write_bool(&mut out, false);
        assert_eq!(out, b"TrueFalse");
    }
}
