//! Rows of a `Batch` as CSV: the values of one row, comma-separated, no line end.

use std::ptr::read_unaligned;

use super::append::push_short;
use super::{
    write_bool, write_datetime64, write_datetime64_utc, write_f16, write_f32, write_f64, write_int, write_ucs4,
};
use crate::batch::{Batch, Column, Kind, View};

/// Writes the values of `row`.
///
/// # Safety
/// Every view in `batch` must address live memory of its kind for all its rows and columns, and
/// every Arrow column must be imported (`Batch::import_arrow`), its input alive.
pub unsafe fn write_row(out: &mut Vec<u8>, batch: &Batch, row: usize) {
    match batch {
        Batch::Block { view, cols, .. } => {
            write_block_row(out, view, *cols, view.ptr.offset(row as isize * view.row_stride))
        }
        Batch::Columns { columns, .. } | Batch::Arrow { columns, .. } => {
            for (j, column) in columns.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                match column {
                    Column::View(v) => write_value(out, v.kind, v.ptr.offset(row as isize * v.row_stride)),
                    Column::Rendered(r) => push_short(out, r.field(row)),
                    Column::Arrow(a) => (*a.values).write_field(out, row),
                    Column::Masked(m) => {
                        if let Some(p) = m.value(row) {
                            write_value(out, m.values.kind, p)
                        }
                    }
                    Column::Coded(c) => push_short(out, c.field(row)),
                }
            }
        }
    }
}

/// One loop per kind, so the per-value work is a direct call the compiler can inline.
#[inline(always)]
unsafe fn write_block_row(out: &mut Vec<u8>, view: &View, cols: usize, base: *const u8) {
    macro_rules! each {
        (|$o:ident, $p:ident| $body:expr) => {{
            for j in 0..cols {
                if j > 0 {
                    out.push(b',');
                }
                let $p = base.offset(j as isize * view.col_stride);
                let $o = &mut *out;
                $body;
            }
        }};
    }
    match view.kind {
        Kind::F64 => each!(|o, p| write_f64(o, read_unaligned(p as *const f64))),
        Kind::F32 => each!(|o, p| write_f32(o, read_unaligned(p as *const f32))),
        Kind::I64 => each!(|o, p| write_int(o, read_unaligned(p as *const i64))),
        Kind::I32 => each!(|o, p| write_int(o, read_unaligned(p as *const i32))),
        kind => each!(|o, p| write_value(o, kind, p)),
    }
}

#[inline]
unsafe fn write_value(out: &mut Vec<u8>, kind: Kind, p: *const u8) {
    match kind {
        Kind::Bool => write_bool(out, *p != 0),
        Kind::I8 => write_int(out, *(p as *const i8)),
        Kind::I16 => write_int(out, read_unaligned(p as *const i16)),
        Kind::I32 => write_int(out, read_unaligned(p as *const i32)),
        Kind::I64 => write_int(out, read_unaligned(p as *const i64)),
        Kind::U8 => write_int(out, *p),
        Kind::U16 => write_int(out, read_unaligned(p as *const u16)),
        Kind::U32 => write_int(out, read_unaligned(p as *const u32)),
        Kind::U64 => write_int(out, read_unaligned(p as *const u64)),
        Kind::F16 => write_f16(out, read_unaligned(p as *const u16)),
        Kind::F32 => write_f32(out, read_unaligned(p as *const f32)),
        Kind::F64 => write_f64(out, read_unaligned(p as *const f64)),
        Kind::DateTime(unit) => write_datetime64(out, read_unaligned(p as *const i64), unit),
        Kind::UtcDateTime(unit) => write_datetime64_utc(out, read_unaligned(p as *const i64), unit),
        Kind::Unicode(n) => write_ucs4(out, std::slice::from_raw_parts(p, 4 * n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Rendered;
    use crate::encode::DateUnit;
    use half::f16;

    fn rows(batch: &Batch) -> Vec<String> {
        (0..batch.rows())
            .map(|r| {
                let mut out = Vec::new();
                unsafe { write_row(&mut out, batch, r) };
                String::from_utf8(out).unwrap()
            })
            .collect()
    }

    #[test]
    fn c_order_block() {
        let v = [1.5f64, -0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300];
        let b = Batch::from_slice(&v, Kind::F64, 2, 3);
        assert_eq!(rows(&b), ["1.5,-0.0,NaN", "inf,-inf,1e+300"]);
    }

    #[test]
    fn fortran_order_and_strided_views_read_the_right_cells() {
        // The 2×3 matrix [[1,2,3],[4,5,6]] stored column-major.
        let v = [1i64, 4, 2, 5, 3, 6];
        let b = Batch::Block {
            view: View { ptr: v.as_ptr().cast(), kind: Kind::I64, row_stride: 8, col_stride: 16 },
            rows: 2,
            cols: 3,
        };
        assert_eq!(rows(&b), ["1,2,3", "4,5,6"]);
        // Every other row of a 4×1 column, read backwards (negative stride).
        let w = [10u16, 11, 12, 13];
        let b = Batch::Block {
            view: View { ptr: unsafe { w.as_ptr().add(3).cast() }, kind: Kind::U16, row_stride: -4, col_stride: 0 },
            rows: 2,
            cols: 1,
        };
        assert_eq!(rows(&b), ["13", "11"]);
    }

    #[test]
    fn mixed_columns() {
        let flags = [1u8, 0];
        let when = [0i64, 86_400];
        let mut names = Rendered::default();
        names.bytes.extend_from_slice(b"\"a,b\"");
        names.end_field();
        names.end_field(); // missing: an empty field
        let mut ucs = Vec::new();
        for s in ["é", "xy"] {
            let mut cell = [0u8; 8];
            for (i, ch) in s.chars().enumerate() {
                cell[4 * i..4 * i + 4].copy_from_slice(&(ch as u32).to_ne_bytes());
            }
            ucs.extend_from_slice(&cell);
        }
        let col = |ptr: *const u8, kind: Kind| {
            Column::View(View { ptr, kind, row_stride: kind.item_size() as isize, col_stride: 0 })
        };
        let b = Batch::Columns {
            rows: 2,
            columns: vec![
                col(flags.as_ptr(), Kind::Bool),
                col(when.as_ptr().cast(), Kind::DateTime(DateUnit::Second)),
                col(when.as_ptr().cast(), Kind::UtcDateTime(DateUnit::Second)),
                Column::Rendered(names),
                col(ucs.as_ptr(), Kind::Unicode(2)),
            ],
        };
        assert_eq!(
            rows(&b),
            [
                "True,1970-01-01T00:00:00,1970-01-01T00:00:00Z,\"a,b\",é",
                "False,1970-01-02T00:00:00,1970-01-02T00:00:00Z,,xy"
            ]
        );
    }

    #[test]
    fn masked_and_coded_columns() {
        use crate::batch::{Categories, Coded, Masked};
        use crate::schema::ColumnType;
        let values = [7i64, 123_456, -1];
        let mask = [0u8, 1, 0];
        let view =
            |ptr: *const u8, kind: Kind| View { ptr, kind, row_stride: kind.item_size() as isize, col_stride: 0 };
        let masked =
            unsafe { Masked::new(view(values.as_ptr().cast(), Kind::I64), view(mask.as_ptr(), Kind::Bool), 3) };
        let mut categories = Categories::default();
        for f in ["lo", "\"a,b\""] {
            categories.fields.bytes.extend_from_slice(f.as_bytes());
            categories.fields.end_field();
            categories.types.push(Some(ColumnType::String));
        }
        let codes = [1i8, -1, 0];
        let coded = unsafe { Coded::new(view(codes.as_ptr().cast(), Kind::I8), categories.into(), 3) }.unwrap();
        let b = Batch::Columns { rows: 3, columns: vec![Column::Masked(masked), Column::Coded(coded)] };
        assert_eq!(rows(&b), ["7,\"a,b\"", ",", "-1,lo"]);
    }

    #[test]
    fn every_integer_width_at_its_limits() {
        macro_rules! check {
            ($t:ty, $k:expr) => {{
                let v = [<$t>::MIN, <$t>::MAX];
                let b = Batch::from_slice(&v, $k, 1, 2);
                assert_eq!(rows(&b), [format!("{},{}", <$t>::MIN, <$t>::MAX)]);
            }};
        }
        check!(i8, Kind::I8);
        check!(i16, Kind::I16);
        check!(i32, Kind::I32);
        check!(i64, Kind::I64);
        check!(u8, Kind::U8);
        check!(u16, Kind::U16);
        check!(u32, Kind::U32);
        check!(u64, Kind::U64);
    }

    #[test]
    fn narrow_floats() {
        let v = [0.1f32, f32::MAX];
        assert_eq!(rows(&Batch::from_slice(&v, Kind::F32, 1, 2)), ["0.1,3.4028235e+38"]);
        let h = [f16::from_f32(0.5).to_bits(), f16::INFINITY.to_bits()];
        assert_eq!(rows(&Batch::from_slice(&h, Kind::F16, 1, 2)), ["0.5,inf"]);
    }
}
