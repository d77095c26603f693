//! Floats in the shortest form that parses back to the same value (zmij), with NaN and the
//! infinities spelled `NaN`, `inf`, `-inf`. Measured (README, "Reading the files with other
//! tools"): `inf` is read as a float by pandas, polars, pyarrow and DuckDB by default and by
//! Spark with `positiveInf`/`negativeInf`; `Inf`/`Infinity` are read as strings by polars,
//! which has no option for them.

use super::append::push_short;

#[inline]
pub fn write_f64(out: &mut Vec<u8>, v: f64) {
    let mut buf = zmij::Buffer::new();
    push_short(out, buf.format(v).as_bytes());
}

#[inline]
pub fn write_f32(out: &mut Vec<u8>, v: f32) {
    let mut buf = zmij::Buffer::new();
    push_short(out, buf.format(v).as_bytes());
}

/// numpy float16, given as its bits: the shortest f32 form, which casts back to the same f16.
#[inline]
pub fn write_f16(out: &mut Vec<u8>, bits: u16) {
    write_f32(out, half::f16::from_bits(bits).to_f32())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f64_text(v: f64) -> String {
        let mut out = Vec::new();
        write_f64(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    fn f32_text(v: f32) -> String {
        let mut out = Vec::new();
        write_f32(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    use crate::testing::XorShift;

    #[test]
    fn specials_as_pandas_reads_them() {
        assert_eq!(f64_text(f64::NAN), "NaN");
        assert_eq!(f64_text(f64::INFINITY), "inf");
        assert_eq!(f64_text(f64::NEG_INFINITY), "-inf");
        assert_eq!(f64_text(-0.0), "-0.0");
        assert_eq!(f64_text(0.1), "0.1");
        assert_eq!(f32_text(0.1), "0.1");
        assert_eq!(f32_text(f32::NAN), "NaN");
    }

    #[test]
    fn edge_values_parse_back_exactly() {
        for v in [
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            1e300,
            1e-300,
            1.0 / 3.0,
            123456789.0,
            1e16,
            2f64.powi(53) + 2.0,
        ] {
            assert_eq!(f64_text(v).parse::<f64>().unwrap().to_bits(), v.to_bits(), "{v}");
        }
    }

    #[test]
    fn random_bit_patterns_round_trip() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut out = Vec::new();
        for _ in 0..1_000_000 {
            let bits = rng.next();
            let v = f64::from_bits(bits);
            out.clear();
            write_f64(&mut out, v);
            let back: f64 = std::str::from_utf8(&out).unwrap().parse().unwrap();
            assert!(back.to_bits() == bits || (v.is_nan() && back.is_nan()), "{v:e}");
            let w = f32::from_bits(bits as u32);
            out.clear();
            write_f32(&mut out, w);
            let back: f32 = std::str::from_utf8(&out).unwrap().parse().unwrap();
            assert!(back.to_bits() == w.to_bits() || (w.is_nan() && back.is_nan()), "{w:e}");
        }
    }

    #[test]
    fn every_f16_casts_back_to_itself() {
        let mut out = Vec::new();
        for bits in 0..=u16::MAX {
            out.clear();
            write_f16(&mut out, bits);
            let back = half::f16::from_f32(std::str::from_utf8(&out).unwrap().parse::<f32>().unwrap());
            let v = half::f16::from_bits(bits);
            assert!(back.to_bits() == bits || (v.is_nan() && back.is_nan()), "{bits:#x}");
        }
    }

    #[test]
    #[ignore = "a measurement: cargo test --release -- --ignored --nocapture"]
    fn format_speed() {
        let mut rng = XorShift(7);
        let values: Vec<f64> = (0..10_000_000).map(|_| (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * 1e3).collect();
        let mut out = Vec::with_capacity(values.len() * 20);
        let t = std::time::Instant::now();
        for &v in &values {
            write_f64(&mut out, v);
            out.push(b',');
        }
        let ns = t.elapsed().as_nanos() as f64 / values.len() as f64;
        println!("write_f64: {ns:.1} ns/value, {} bytes", out.len());
    }
}
