//! Strings as RFC 4180 fields.
//!
//! A field is quoted when it holds a separator, a quote or a line break, when it is empty (so
//! `""` differs from a missing value, written as nothing), and when it starts or ends with a
//! space or tab (so readers that trim cannot change it). Quotes inside are doubled.

use super::append::push_short;

/// The bytes that make a field quoted wherever they are.
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b',' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\r' as usize] = true;
    t[b'\n' as usize] = true;
    t
};

/// Fields at least this long are scanned with memchr's vector search, shorter ones byte by
/// byte (where the search's set-up would cost more than it saves).
const LONG: usize = 32;

/// Whether `s` must be written quoted.
#[inline]
pub fn needs_quoting(s: &[u8]) -> bool {
    match (s.first(), s.last()) {
        (None, _) => true,
        (Some(b' ' | b'\t'), _) | (_, Some(b' ' | b'\t')) => true,
        _ if s.len() < LONG => s.iter().any(|&b| SPECIAL[b as usize]),
        _ => memchr::memchr3(b',', b'"', b'\n', s).is_some() || memchr::memchr(b'\r', s).is_some(),
    }
}

#[inline]
pub fn write_text(out: &mut Vec<u8>, s: &str) {
    let s = s.as_bytes();
    if needs_quoting(s) {
        write_quoted(out, s)
    } else {
        push_short(out, s)
    }
}

fn write_quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let mut from = 0;
    for at in memchr::memchr_iter(b'"', s) {
        out.extend_from_slice(&s[from..=at]);
        out.push(b'"');
        from = at + 1;
    }
    out.extend_from_slice(&s[from..]);
    out.push(b'"');
}

/// The code points of a UCS4 cell.
#[inline]
fn units(cell: &[u8]) -> impl DoubleEndedIterator<Item = u32> + '_ {
    cell.chunks_exact(4).map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
}

/// A numpy fixed-width unicode cell (`<U{n}`: native-endian UCS4, padded with trailing NULs).
/// Code points that are not valid Unicode scalar values become U+FFFD: `collect()` refuses
/// them, so only an array changed in place after the call (without `copy=True`) can hold them.
#[inline]
pub fn write_ucs4(out: &mut Vec<u8>, cell: &[u8]) {
    let len = cell.len() / 4 - units(cell).rev().take_while(|&u| u == 0).count();
    let cell = &cell[..4 * len];
    // Decided on the code points, so the field is written once: the specials are all ASCII.
    let edge = |u: Option<u32>| matches!(u, Some(0x20 | 0x09));
    let quoted = len == 0
        || edge(units(cell).next())
        || edge(units(cell).next_back())
        || units(cell).any(|u| u < 0x80 && SPECIAL[u as usize]);
    // At most 4 bytes a code point (a doubled quote is 2), and the two quotes.
    out.reserve(cell.len() + 2);
    // SAFETY: every write below stays within the `cell.len() + 2` bytes reserved past `len`,
    // and `set_len` counts only bytes written.
    unsafe {
        let start = out.as_mut_ptr().add(out.len());
        let mut at = start;
        let mut put = |b: u8| {
            *at = b;
            at = at.add(1);
        };
        if quoted {
            put(b'"');
        }
        for u in units(cell) {
            if u < 0x80 {
                put(u as u8);
                if quoted && u == u32::from(b'"') {
                    put(b'"');
                }
            } else {
                let ch = char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER);
                let mut utf8 = [0u8; 4];
                ch.encode_utf8(&mut utf8).bytes().for_each(&mut put);
            }
        }
        if quoted {
            put(b'"');
        }
        let written = at.offset_from(start) as usize;
        out.set_len(out.len() + written);
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
    fn long_fields_are_scanned_for_every_special() {
        // Past `LONG` the vector search decides: each special, at each place, must still quote.
        for len in [LONG - 1, LONG, LONG + 1, 100, 1000] {
            let plain = "x".repeat(len);
            assert_eq!(field(&plain), plain);
            for special in [',', '"', '\r', '\n'] {
                for at in [0, 1, len / 2, len - 2] {
                    let mut s: Vec<char> = plain.chars().collect();
                    s[at] = special;
                    let s: String = s.into_iter().collect();
                    assert!(needs_quoting(s.as_bytes()), "{special:?} at {at} of {len}");
                    assert_eq!(parse(&field(&s)), s);
                }
            }
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
