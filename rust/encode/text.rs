//! Strings as RFC 4180 fields.
//!
//! A field is quoted when it holds a separator, a quote or a line break, when it is empty (so
//! `""` differs from a missing value, written as nothing), and when it starts or ends with a
//! space or tab (so readers that trim cannot change it). Quotes inside are doubled.

/// Whether `s` must be written quoted.
#[inline]
pub fn needs_quoting(s: &[u8]) -> bool {
    match (s.first(), s.last()) {
        (None, _) => true,
        (Some(b' ' | b'\t'), _) | (_, Some(b' ' | b'\t')) => true,
        _ => s.iter().any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n')),
    }
}

#[inline]
pub fn write_text(out: &mut Vec<u8>, s: &str) {
    write_field(out, s.as_bytes())
}

fn write_field(out: &mut Vec<u8>, s: &[u8]) {
    if !needs_quoting(s) {
        out.extend_from_slice(s);
        return;
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    for part in s.split_inclusive(|&b| b == b'"') {
        out.extend_from_slice(part);
        if part.last() == Some(&b'"') {
            out.push(b'"');
        }
    }
    out.push(b'"');
}

/// A numpy fixed-width unicode cell (`<U{n}`: native-endian UCS4, padded with trailing NULs).
/// Code points that are not valid Unicode scalar values become U+FFFD: `collect()` refuses
/// them, so only an array changed in place after the call (without `copy=True`) can hold them.
pub fn write_ucs4(out: &mut Vec<u8>, cell: &[u8]) {
    let units = cell.chunks_exact(4).map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]));
    let len = cell.len() / 4 - units.clone().rev().take_while(|&u| u == 0).count();
    let start = out.len();
    let mut utf8 = [0u8; 4];
    for u in units.take(len) {
        let ch = char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER);
        out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
    }
    // Written raw first, the common case; quoted afterwards only if it has to be.
    if needs_quoting(&out[start..]) {
        let raw = out.split_off(start);
        write_field(out, &raw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(s: &str) -> String {
        let mut out = Vec::new();
        write_text(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    fn ucs4(s: &str, width: usize) -> Vec<u8> {
        let mut cell: Vec<u8> = s.chars().flat_map(|c| (c as u32).to_ne_bytes()).collect();
        cell.resize(width * 4, 0);
        cell
    }

    fn ucs4_field(cell: &[u8]) -> String {
        let mut out = Vec::new();
        write_ucs4(&mut out, cell);
        String::from_utf8(out).unwrap()
    }

    /// A strict RFC 4180 reader for one field.
    fn parse(field: &str) -> String {
        match field.strip_prefix('"') {
            None => {
                assert!(!field.contains([',', '"', '\r', '\n']), "raw field with specials: {field:?}");
                field.to_string()
            }
            Some(rest) => {
                let inner = rest.strip_suffix('"').expect("closing quote");
                assert!(!inner.replace("\"\"", "").contains('"'), "lone quote inside: {field:?}");
                inner.replace("\"\"", "\"")
            }
        }
    }

    #[test]
    fn quoting_rules() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("\""), "\"\"\"\"");
        assert_eq!(field("a\rb"), "\"a\rb\"");
        assert_eq!(field("a\nb"), "\"a\nb\"");
        assert_eq!(field("a\r\nb"), "\"a\r\nb\"");
        assert_eq!(field(""), "\"\"");
        assert_eq!(field(" lead"), "\" lead\"");
        assert_eq!(field("trail\t"), "\"trail\t\"");
        assert_eq!(field("in side"), "in side");
        assert_eq!(field("é中文😀"), "é中文😀");
    }

    #[test]
    fn generated_strings_parse_back() {
        let alphabet = ['a', ',', '"', '\r', '\n', ' ', 'é', '😀'];
        let mut state = 12345u64;
        for _ in 0..50_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let len = (state >> 60) as usize;
            let s: String = (0..len).map(|i| alphabet[((state >> (i * 3)) & 7) as usize]).collect();
            assert_eq!(parse(&field(&s)), s);
            let cell = ucs4(&s, len + 2);
            assert_eq!(parse(&ucs4_field(&cell)), s);
        }
    }

    #[test]
    fn ucs4_cells() {
        assert_eq!(ucs4_field(&ucs4("abc", 5)), "abc");
        assert_eq!(ucs4_field(&ucs4("", 3)), "\"\"");
        assert_eq!(ucs4_field(&ucs4("a,b", 3)), "\"a,b\"");
        assert_eq!(ucs4_field(&ucs4("😀é", 2)), "😀é");
        // Only trailing NULs are padding.
        assert_eq!(ucs4_field(&ucs4("a\0b", 4)), "a\0b");
        let mut bad = ucs4("x", 2);
        bad[4..8].copy_from_slice(&0xD800u32.to_ne_bytes());
        assert_eq!(ucs4_field(&bad), "x\u{FFFD}");
        assert_eq!(ucs4_field(&[]), "\"\"");
    }
}
