//! Arrow columns as CSV fields, with the same writers (and so the same spellings) as numpy
//! values: floats shortest round-trip, ints, `True`/`False`, RFC 4180 text, ISO 8601 instants.
//!
//! A type is looked at once per chunk (`Plan`), so writing a value is a null check, one match
//! and the writer. Missing values are empty fields.

use std::cell::Cell;
use std::fmt;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, BooleanArray, LargeStringArray, StringArray, StringViewArray};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use arrow_schema::{DataType, TimeUnit};

use crate::encode::{
    write_bool, write_datetime64, write_datetime64_utc, write_f16, write_f32, write_f64, write_int, write_text,
    DateUnit,
};
use crate::schema::ColumnType;

/// Why Arrow input cannot be written.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrowInputError {
    /// The C structure was already released (a capsule consumed twice).
    Released,
    /// The producer's `get_schema` / `get_next` failed; its message.
    Producer(String),
    /// The data does not agree with its schema, or columns differ in length.
    Invalid(String),
    /// A column of a type modeltap cannot write.
    Unsupported { column: String, data_type: DataType },
}

impl fmt::Display for ArrowInputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArrowInputError::Released => {
                f.write_str("the Arrow data was already consumed (a capsule can be read once)")
            }
            ArrowInputError::Producer(m) => write!(f, "the Arrow producer failed: {m}"),
            ArrowInputError::Invalid(m) => write!(f, "invalid Arrow data: {m}"),
            ArrowInputError::Unsupported { column, data_type: data_type @ DataType::Duration(_) } => write!(
                f,
                "column {column:?} holds timedeltas (Arrow type {data_type}); collect() does not take them: \
                 convert them to numbers first, e.g. polars' .dt.total_seconds() or pyarrow.compute.cast(..., \
                 pyarrow.int64())"
            ),
            ArrowInputError::Unsupported { column, data_type } => write!(
                f,
                "column {column:?} has Arrow type {data_type}, which modeltap cannot write (it takes bool, \
                 ints, floats, strings, dictionary-encoded strings, timestamps, dates, decimal128)"
            ),
        }
    }
}

impl std::error::Error for ArrowInputError {}

/// How values of one Arrow type are written: decided from the type alone, so input can be
/// checked before it is imported.
#[derive(Clone, Debug, PartialEq)]
enum Plan {
    Null,
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F16,
    F32,
    F64,
    Utf8,
    LargeUtf8,
    Utf8View,
    /// Instants; `utc` when the type carries a time zone (values are UTC either way).
    Timestamp {
        unit: DateUnit,
        utc: bool,
    },
    Date32,
    Date64,
    Decimal128(i8),
    Dictionary(Box<Plan>),
}

impl Plan {
    fn of(data_type: &DataType) -> Option<Plan> {
        Some(match data_type {
            DataType::Null => Plan::Null,
            DataType::Boolean => Plan::Bool,
            DataType::Int8 => Plan::I8,
            DataType::Int16 => Plan::I16,
            DataType::Int32 => Plan::I32,
            DataType::Int64 => Plan::I64,
            DataType::UInt8 => Plan::U8,
            DataType::UInt16 => Plan::U16,
            DataType::UInt32 => Plan::U32,
            DataType::UInt64 => Plan::U64,
            DataType::Float16 => Plan::F16,
            DataType::Float32 => Plan::F32,
            DataType::Float64 => Plan::F64,
            DataType::Utf8 => Plan::Utf8,
            DataType::LargeUtf8 => Plan::LargeUtf8,
            DataType::Utf8View => Plan::Utf8View,
            DataType::Timestamp(unit, tz) => Plan::Timestamp { unit: date_unit(*unit), utc: tz.is_some() },
            DataType::Date32 => Plan::Date32,
            DataType::Date64 => Plan::Date64,
            DataType::Decimal128(_, scale) => Plan::Decimal128(*scale),
            DataType::Dictionary(key, value) if key.is_dictionary_key_type() => match Plan::of(value)? {
                Plan::Dictionary(_) => return None,
                plan => Plan::Dictionary(Box::new(plan)),
            },
            // Durations too: refused at every door, as numpy's timedeltas are.
            _ => return None,
        })
    }

    /// The type readers are told a column of this plan holds; `None` for a column of missing
    /// values only (Arrow's null type), which fits any.
    fn column_type(&self) -> Option<ColumnType> {
        Some(match self {
            Plan::Null => return None,
            Plan::Bool => ColumnType::Bool,
            Plan::I8 | Plan::I16 | Plan::I32 | Plan::I64 | Plan::U8 | Plan::U16 | Plan::U32 => ColumnType::Int64,
            Plan::U64 => ColumnType::UInt64,
            Plan::F16 | Plan::F32 | Plan::F64 => ColumnType::Float64,
            // Decimals keep their exact digits as text.
            Plan::Utf8 | Plan::LargeUtf8 | Plan::Utf8View | Plan::Decimal128(_) => ColumnType::String,
            Plan::Timestamp { utc: true, .. } => ColumnType::TimestampUtc,
            // Dates as numpy's datetime64[D]: naive instants at midnight, spelled as dates.
            Plan::Timestamp { utc: false, .. } | Plan::Date32 | Plan::Date64 => ColumnType::Timestamp,
            Plan::Dictionary(values) => return values.column_type(),
        })
    }
}

/// Whether modeltap can write a column of `data_type`.
pub fn supported(data_type: &DataType) -> bool {
    Plan::of(data_type).is_some()
}

/// The type a column of `data_type` fixes in a stream's contract: `Ok(None)` for Arrow's null
/// type (missing values only, which fit any type), an error naming `column` when modeltap
/// cannot write it.
pub fn column_type(column: &str, data_type: &DataType) -> Result<Option<ColumnType>, ArrowInputError> {
    let plan = Plan::of(data_type)
        .ok_or_else(|| ArrowInputError::Unsupported { column: column.to_string(), data_type: data_type.clone() })?;
    Ok(plan.column_type())
}

fn date_unit(unit: TimeUnit) -> DateUnit {
    match unit {
        TimeUnit::Second => DateUnit::Second,
        TimeUnit::Millisecond => DateUnit::Milli,
        TimeUnit::Microsecond => DateUnit::Micro,
        TimeUnit::Nanosecond => DateUnit::Nano,
    }
}

/// One chunk of a column, its buffers resolved for its type.
enum Values {
    Null,
    Bool(BooleanArray),
    I8(ScalarBuffer<i8>),
    I16(ScalarBuffer<i16>),
    I32(ScalarBuffer<i32>),
    I64(ScalarBuffer<i64>),
    U8(ScalarBuffer<u8>),
    U16(ScalarBuffer<u16>),
    U32(ScalarBuffer<u32>),
    U64(ScalarBuffer<u64>),
    F16(ScalarBuffer<half::f16>),
    F32(ScalarBuffer<f32>),
    F64(ScalarBuffer<f64>),
    Utf8(StringArray),
    LargeUtf8(LargeStringArray),
    Utf8View(StringViewArray),
    Timestamp { values: ScalarBuffer<i64>, unit: DateUnit, utc: bool },
    Date32(ScalarBuffer<i32>),
    Date64(ScalarBuffer<i64>),
    Decimal128 { values: ScalarBuffer<i128>, scale: i8 },
    Dictionary { keys: Vec<usize>, values: Box<Chunk> },
}

struct Chunk {
    /// Logical nulls (for a dictionary: null keys; null values are the values' own).
    nulls: Option<NullBuffer>,
    values: Values,
}

fn prim<T: ArrowPrimitiveType>(a: &dyn Array) -> ScalarBuffer<T::Native> {
    a.as_primitive::<T>().values().clone()
}

impl Chunk {
    fn new(plan: &Plan, a: &dyn Array) -> Chunk {
        let values = match plan {
            Plan::Null => Values::Null,
            Plan::Bool => Values::Bool(a.as_boolean().clone()),
            Plan::I8 => Values::I8(prim::<Int8Type>(a)),
            Plan::I16 => Values::I16(prim::<Int16Type>(a)),
            Plan::I32 => Values::I32(prim::<Int32Type>(a)),
            Plan::I64 => Values::I64(prim::<Int64Type>(a)),
            Plan::U8 => Values::U8(prim::<UInt8Type>(a)),
            Plan::U16 => Values::U16(prim::<UInt16Type>(a)),
            Plan::U32 => Values::U32(prim::<UInt32Type>(a)),
            Plan::U64 => Values::U64(prim::<UInt64Type>(a)),
            Plan::F16 => Values::F16(prim::<Float16Type>(a)),
            Plan::F32 => Values::F32(prim::<Float32Type>(a)),
            Plan::F64 => Values::F64(prim::<Float64Type>(a)),
            Plan::Utf8 => Values::Utf8(a.as_string::<i32>().clone()),
            Plan::LargeUtf8 => Values::LargeUtf8(a.as_string::<i64>().clone()),
            Plan::Utf8View => Values::Utf8View(a.as_string_view().clone()),
            Plan::Timestamp { unit, utc } => {
                let values = match a.data_type() {
                    DataType::Timestamp(TimeUnit::Second, _) => prim::<TimestampSecondType>(a),
                    DataType::Timestamp(TimeUnit::Millisecond, _) => prim::<TimestampMillisecondType>(a),
                    DataType::Timestamp(TimeUnit::Microsecond, _) => prim::<TimestampMicrosecondType>(a),
                    _ => prim::<TimestampNanosecondType>(a),
                };
                Values::Timestamp { values, unit: *unit, utc: *utc }
            }
            Plan::Date32 => Values::Date32(prim::<Date32Type>(a)),
            Plan::Date64 => Values::Date64(prim::<Date64Type>(a)),
            Plan::Decimal128(scale) => Values::Decimal128 { values: prim::<Decimal128Type>(a), scale: *scale },
            Plan::Dictionary(value_plan) => {
                let dict = a.as_any_dictionary();
                if dict.values().is_empty() {
                    // Only null keys can point into no values (validated on import).
                    return Chunk { nulls: Some(NullBuffer::new_null(a.len())), values: Values::Null };
                }
                let values = Box::new(Chunk::new(value_plan, dict.values().as_ref()));
                Values::Dictionary { keys: dict.normalized_keys(), values }
            }
        };
        let nulls = match plan {
            Plan::Null => None,
            _ => a.nulls().filter(|n| n.null_count() > 0).cloned(),
        };
        Chunk { nulls, values }
    }

    #[inline]
    fn write(&self, out: &mut Vec<u8>, i: usize) {
        if let Some(nulls) = &self.nulls {
            if nulls.is_null(i) {
                return;
            }
        }
        match &self.values {
            Values::Null => {}
            Values::Bool(a) => write_bool(out, a.value(i)),
            Values::I8(v) => write_int(out, v[i]),
            Values::I16(v) => write_int(out, v[i]),
            Values::I32(v) => write_int(out, v[i]),
            Values::I64(v) => write_int(out, v[i]),
            Values::U8(v) => write_int(out, v[i]),
            Values::U16(v) => write_int(out, v[i]),
            Values::U32(v) => write_int(out, v[i]),
            Values::U64(v) => write_int(out, v[i]),
            Values::F16(v) => write_f16(out, v[i].to_bits()),
            Values::F32(v) => write_f32(out, v[i]),
            Values::F64(v) => write_f64(out, v[i]),
            Values::Utf8(a) => write_text(out, a.value(i)),
            Values::LargeUtf8(a) => write_text(out, a.value(i)),
            Values::Utf8View(a) => write_text(out, a.value(i)),
            Values::Timestamp { values, unit, utc: true } => write_datetime64_utc(out, values[i], *unit),
            Values::Timestamp { values, unit, utc: false } => write_datetime64(out, values[i], *unit),
            Values::Date32(v) => write_datetime64(out, i64::from(v[i]), DateUnit::Day),
            Values::Date64(v) => write_datetime64(out, v[i].div_euclid(86_400_000), DateUnit::Day),
            Values::Decimal128 { values, scale } => write_decimal(out, values[i], *scale),
            Values::Dictionary { keys, values } => values.write(out, keys[i]),
        }
    }
}

/// A decimal's exact digits: `-0.050` for -50 at scale 3, `1200` for 12 at scale -2.
fn write_decimal(out: &mut Vec<u8>, v: i128, scale: i8) {
    if scale <= 0 {
        write_int(out, v);
        if v != 0 {
            out.resize(out.len() + scale.unsigned_abs() as usize, b'0');
        }
        return;
    }
    // Decimal128 scales stop at 38, and 2·10^38 still fits a u128.
    let unit = 10u128.pow(u32::from(scale.unsigned_abs()).min(38));
    let a = v.unsigned_abs();
    if v < 0 {
        out.push(b'-');
    }
    write_int(out, a / unit);
    out.push(b'.');
    // `unit + fraction` has the fraction's leading zeros after a `1`, which is dropped.
    let start = out.len();
    write_int(out, unit + a % unit);
    out.remove(start);
}

/// One column: its chunks, and where each starts. Chunk boundaries may differ between columns
/// (a pandas frame's Arrow strings beside its numpy blocks).
pub struct ArrowColumn {
    name: String,
    chunks: Vec<Chunk>,
    /// `ends[k]` is one past the last row of chunk k.
    ends: Vec<usize>,
    /// The chunk the last row was in: rows are written in order, so this finds the next one
    /// without a search.
    cursor: Cell<usize>,
}

impl ArrowColumn {
    /// A column of `name` from its chunks, all of the same type.
    pub fn new(name: &str, chunks: &[ArrayRef]) -> Result<ArrowColumn, ArrowInputError> {
        let unsupported = |data_type: &DataType| ArrowInputError::Unsupported {
            column: name.to_string(),
            data_type: data_type.clone(),
        };
        let data_type = chunks.first().map_or(DataType::Null, |c| c.data_type().clone());
        let plan = Plan::of(&data_type).ok_or_else(|| unsupported(&data_type))?;
        let mut ends = Vec::with_capacity(chunks.len());
        let mut built = Vec::with_capacity(chunks.len());
        let mut rows = 0;
        for chunk in chunks {
            if chunk.data_type() != &data_type {
                return Err(ArrowInputError::Invalid(format!(
                    "column {name:?} has chunks of types {data_type} and {}",
                    chunk.data_type()
                )));
            }
            if chunk.is_empty() {
                continue;
            }
            rows += chunk.len();
            ends.push(rows);
            built.push(Chunk::new(&plan, chunk.as_ref()));
        }
        Ok(ArrowColumn { name: name.to_string(), chunks: built, ends, cursor: Cell::new(0) })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn rows(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Writes the value at `row` (< `rows()`); fastest when rows come in order.
    #[inline]
    pub fn write_field(&self, out: &mut Vec<u8>, row: usize) {
        let mut k = self.cursor.get();
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        if row < start || row >= self.ends[k] {
            k = self.ends.partition_point(|&end| end <= row);
            self.cursor.set(k);
        }
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        self.chunks[k].write(out, row - start);
    }
}

/// Columns of equal length, written row by row.
pub struct ArrowRows {
    columns: Vec<ArrowColumn>,
    rows: usize,
}

impl ArrowRows {
    pub fn new(columns: Vec<ArrowColumn>) -> Result<ArrowRows, ArrowInputError> {
        let rows = columns.first().map_or(0, ArrowColumn::rows);
        if let Some(c) = columns.iter().find(|c| c.rows() != rows) {
            return Err(ArrowInputError::Invalid(format!(
                "column {:?} has {} rows, column {:?} has {rows}",
                c.name,
                c.rows(),
                columns[0].name
            )));
        }
        Ok(ArrowRows { columns, rows })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn columns(&self) -> &[ArrowColumn] {
        &self.columns
    }

    /// The values of `row`, comma-separated, no line end.
    pub fn write_row(&self, out: &mut Vec<u8>, row: usize) {
        for (j, column) in self.columns.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            column.write_field(out, row);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::StringDictionaryBuilder;
    use arrow_array::*;

    use super::*;

    fn rows_of(columns: Vec<(&str, Vec<ArrayRef>)>) -> Vec<String> {
        let columns = columns.into_iter().map(|(n, c)| ArrowColumn::new(n, &c).unwrap()).collect();
        let rows = ArrowRows::new(columns).unwrap();
        (0..rows.rows())
            .map(|r| {
                let mut out = Vec::new();
                rows.write_row(&mut out, r);
                String::from_utf8(out).unwrap()
            })
            .collect()
    }

    fn one(column: ArrayRef) -> Vec<String> {
        rows_of(vec![("c", vec![column])])
    }

    #[test]
    fn numbers_as_the_numpy_path_spells_them() {
        assert_eq!(one(Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)]))), ["True", "", "False"]);
        assert_eq!(one(Arc::new(Int8Array::from(vec![i8::MIN, i8::MAX]))), ["-128", "127"]);
        assert_eq!(one(Arc::new(Int16Array::from(vec![i16::MIN]))), ["-32768"]);
        assert_eq!(one(Arc::new(Int32Array::from(vec![Some(i32::MIN), None]))), ["-2147483648", ""]);
        assert_eq!(one(Arc::new(Int64Array::from(vec![Some(9_007_199_254_740_993), None]))), ["9007199254740993", ""]);
        assert_eq!(one(Arc::new(UInt8Array::from(vec![u8::MAX]))), ["255"]);
        assert_eq!(one(Arc::new(UInt16Array::from(vec![u16::MAX]))), ["65535"]);
        assert_eq!(one(Arc::new(UInt32Array::from(vec![u32::MAX]))), ["4294967295"]);
        assert_eq!(one(Arc::new(UInt64Array::from(vec![u64::MAX]))), ["18446744073709551615"]);
        assert_eq!(
            one(Arc::new(Float64Array::from(vec![Some(0.1), Some(f64::NAN), None, Some(-0.0), Some(1e300)]))),
            ["0.1", "NaN", "", "-0.0", "1e+300"]
        );
        assert_eq!(one(Arc::new(Float32Array::from(vec![0.1f32, f32::INFINITY]))), ["0.1", "inf"]);
        assert_eq!(
            one(Arc::new(Float16Array::from(vec![half::f16::from_f32(0.5), half::f16::NEG_INFINITY]))),
            ["0.5", "-inf"]
        );
        assert_eq!(one(Arc::new(NullArray::new(2))), ["", ""]);
    }

    #[test]
    fn every_string_layout_quoted_as_rfc_4180_says() {
        let values = vec![Some("plain"), Some("a,b"), Some("say \"hi\""), None, Some(""), Some("é\n😀")];
        let expected = ["plain", "\"a,b\"", "\"say \"\"hi\"\"\"", "", "\"\"", "\"é\n😀\""];
        assert_eq!(one(Arc::new(StringArray::from(values.clone()))), expected);
        assert_eq!(one(Arc::new(LargeStringArray::from(values.clone()))), expected);
        // Views hold strings of up to 12 bytes inline and longer ones in buffers: both kinds.
        let long = Some("a string longer than twelve bytes, with a comma");
        let mut with_long = values.clone();
        with_long.push(long);
        let mut expected_long = expected.to_vec();
        expected_long.push("\"a string longer than twelve bytes, with a comma\"");
        assert_eq!(one(Arc::new(StringViewArray::from(with_long))), expected_long);
    }

    #[test]
    fn categoricals_write_their_values() {
        let mut b = StringDictionaryBuilder::<Int8Type>::new();
        b.append_value("low");
        b.append_null();
        b.append_value("x,y");
        b.append_value("low");
        let dict: ArrayRef = Arc::new(b.finish());
        assert_eq!(one(dict), ["low", "", "\"x,y\"", "low"]);
        // A null inside the dictionary's values, and keys of another width.
        let keys = UInt32Array::from(vec![1, 0, 1]);
        let values: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
        let dict = DictionaryArray::<UInt32Type>::try_new(keys, values).unwrap();
        assert_eq!(one(Arc::new(dict)), ["", "a", ""]);
        // polars' Categorical and Enum: u32 / u8 keys into string views.
        let keys = UInt32Array::from(vec![Some(1), None, Some(0)]);
        let values: ArrayRef = Arc::new(StringViewArray::from(vec!["lo", "a value longer than twelve, with a comma"]));
        let dict = DictionaryArray::<UInt32Type>::try_new(keys, values).unwrap();
        assert_eq!(one(Arc::new(dict)), ["\"a value longer than twelve, with a comma\"", "", "lo"]);
        // All missing, no categories at all (pandas' empty categorical).
        let keys = Int16Array::from(vec![None, None]);
        let values: ArrayRef = Arc::new(StringViewArray::from(Vec::<&str>::new()));
        let dict = DictionaryArray::<Int16Type>::try_new(keys, values).unwrap();
        assert_eq!(one(Arc::new(dict)), ["", ""]);
    }

    #[test]
    fn instants_aware_in_utc_with_z_naive_without() {
        let us = 1_795_521_600_123_456i64; // 2026-11-24T12:00:00.123456 UTC
        let naive = TimestampMicrosecondArray::from(vec![Some(us), None]);
        let aware = TimestampMicrosecondArray::from(vec![Some(us), None]).with_timezone("America/New_York");
        assert_eq!(one(Arc::new(naive)), ["2026-11-24T12:00:00.123456", ""]);
        assert_eq!(one(Arc::new(aware)), ["2026-11-24T12:00:00.123456Z", ""]);
        // Each unit keeps its own precision; before 1970 too.
        let s = TimestampSecondArray::from(vec![-1]).with_timezone("UTC");
        assert_eq!(one(Arc::new(s)), ["1969-12-31T23:59:59Z"]);
        let ms = TimestampMillisecondArray::from(vec![1]).with_timezone("+01:00");
        assert_eq!(one(Arc::new(ms)), ["1970-01-01T00:00:00.001Z"]);
        let ns = TimestampNanosecondArray::from(vec![-1]);
        assert_eq!(one(Arc::new(ns)), ["1969-12-31T23:59:59.999999999"]);
    }

    #[test]
    fn dates_and_decimals() {
        assert_eq!(
            one(Arc::new(Date32Array::from(vec![Some(19_782), None, Some(-1)]))),
            ["2024-02-29", "", "1969-12-31"]
        );
        assert_eq!(
            one(Arc::new(Date64Array::from(vec![19_782 * 86_400_000, -86_400_000]))),
            ["2024-02-29", "1969-12-31"]
        );
        let dec = |v: Vec<Option<i128>>, p: u8, s: i8| -> ArrayRef {
            Arc::new(Decimal128Array::from(v).with_precision_and_scale(p, s).unwrap())
        };
        assert_eq!(
            one(dec(vec![Some(12345), Some(-50), Some(0), None, Some(7)], 10, 3)),
            ["12.345", "-0.050", "0.000", "", "0.007"]
        );
        assert_eq!(one(dec(vec![Some(12), Some(0), Some(-3)], 10, -2)), ["1200", "0", "-300"]);
        assert_eq!(one(dec(vec![Some(5)], 10, 0)), ["5"]);
        let max = 10i128.pow(38) - 1;
        assert_eq!(
            one(dec(vec![Some(max), Some(-max)], 38, 38)),
            [format!("0.{}", "9".repeat(38)), format!("-0.{}", "9".repeat(38))]
        );
    }

    #[test]
    fn column_types_as_the_numpy_path_fixes_them() {
        use ColumnType::*;
        let utf8_dict = DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8View));
        let cases = [
            (DataType::Null, None),
            (DataType::Boolean, Some(Bool)),
            (DataType::Int8, Some(Int64)),
            (DataType::UInt32, Some(Int64)),
            (DataType::UInt64, Some(UInt64)),
            (DataType::Float32, Some(Float64)),
            (DataType::LargeUtf8, Some(String)),
            (DataType::Utf8View, Some(String)),
            (utf8_dict, Some(String)),
            (DataType::Timestamp(TimeUnit::Second, None), Some(Timestamp)),
            (DataType::Timestamp(TimeUnit::Nanosecond, Some("Europe/Paris".into())), Some(TimestampUtc)),
            (DataType::Date32, Some(Timestamp)),
            (DataType::Decimal128(10, 2), Some(String)),
        ];
        for (dt, expected) in cases {
            assert_eq!(column_type("c", &dt), Ok(expected), "{dt}");
        }
        assert!(matches!(
            column_type("d", &DataType::Duration(TimeUnit::Second)),
            Err(ArrowInputError::Unsupported { column, .. }) if column == "d"
        ));
    }

    #[test]
    fn chunked_columns_with_different_boundaries() {
        let a: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![1, 2])),
            Arc::new(Int64Array::from(Vec::<i64>::new())),
            Arc::new(Int64Array::from(vec![3])),
        ];
        let b: Vec<ArrayRef> =
            vec![Arc::new(StringArray::from(vec!["x"])), Arc::new(StringArray::from(vec![Some("y"), None]))];
        let rows = rows_of(vec![("a", a.clone()), ("b", b.clone())]);
        assert_eq!(rows, ["1,x", "2,y", "3,"]);
        // Out of order (a retried chunk) finds the right chunk too.
        let table =
            ArrowRows::new(vec![ArrowColumn::new("a", &a).unwrap(), ArrowColumn::new("b", &b).unwrap()]).unwrap();
        for row in [2, 0, 1, 2, 0] {
            let mut out = Vec::new();
            table.write_row(&mut out, row);
            assert_eq!(String::from_utf8(out).unwrap(), rows[row]);
        }
        // Sliced arrays start at their offset.
        let sliced: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None, Some(3), Some(4)]).slice(1, 3));
        assert_eq!(one(sliced), ["", "3", "4"]);
    }

    #[test]
    fn bad_input_is_named() {
        let t: ArrayRef = Arc::new(Time64NanosecondArray::from(vec![1]));
        let err = ArrowColumn::new("when", &[t]).err().unwrap();
        assert_eq!(
            err,
            ArrowInputError::Unsupported { column: "when".into(), data_type: DataType::Time64(TimeUnit::Nanosecond) }
        );
        let text = err.to_string();
        assert!(text.contains("\"when\"") && text.contains("Time64(ns)"), "{text}");
        let mixed: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![1])), Arc::new(Int32Array::from(vec![1]))];
        assert!(matches!(ArrowColumn::new("n", &mixed), Err(ArrowInputError::Invalid(_))));
        let short = ArrowColumn::new("s", &[Arc::new(Int8Array::from(vec![1])) as ArrayRef]).unwrap();
        let long = ArrowColumn::new("l", &[Arc::new(Int8Array::from(vec![1, 2])) as ArrayRef]).unwrap();
        assert!(matches!(ArrowRows::new(vec![short, long]), Err(ArrowInputError::Invalid(_))));
        for dt in [
            DataType::Binary,
            DataType::Decimal256(40, 2),
            DataType::List(Arc::new(arrow_schema::Field::new("item", DataType::Int8, true))),
            DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Binary)),
            DataType::Duration(TimeUnit::Millisecond),
            DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Duration(TimeUnit::Second))),
        ] {
            assert!(!supported(&dt), "{dt}");
        }
        // Durations are refused as numpy's timedeltas are, with the same words.
        let d: ArrayRef = Arc::new(DurationMillisecondArray::from(vec![1500]));
        let text = ArrowColumn::new("wait", &[d]).err().unwrap().to_string();
        assert!(text.starts_with("column \"wait\" holds timedeltas (Arrow type Duration(ms))"), "{text}");
        assert!(supported(&DataType::Dictionary(Box::new(DataType::UInt64), Box::new(DataType::LargeUtf8))));
    }
}

#[cfg(test)]
mod speed {
    use std::sync::Arc;
    use std::time::Instant;

    use arrow_array::*;

    use super::*;
    use crate::batch::{Batch, Kind};
    use crate::encode::batch::write_row;

    use crate::testing::XorShift;

    fn best_ns_per_row(rows: usize, mut write: impl FnMut(&mut Vec<u8>, usize)) -> (f64, usize) {
        let mut out = Vec::with_capacity(rows * 128);
        let mut best = f64::MAX;
        for _ in 0..5 {
            out.clear();
            let t = Instant::now();
            for r in 0..rows {
                write(&mut out, r);
                out.push(b'\n');
            }
            best = best.min(t.elapsed().as_nanos() as f64 / rows as f64);
        }
        (best, out.len())
    }

    /// The Arrow encoder beside the numpy one, same process, same values: what reading through
    /// Arrow costs per row. Figures only, no assertion (the machine is shared).
    #[test]
    #[ignore = "a measurement: cargo test --release --lib arrow::encode::speed -- --ignored --nocapture"]
    fn arrow_beside_numpy() {
        const ROWS: usize = 1_000_000;
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let matrix: Vec<f64> = (0..ROWS * 6).map(|_| rng.unit()).collect();
        let block = Batch::from_slice(&matrix, Kind::F64, ROWS, 6);
        let (numpy, bytes) = best_ns_per_row(ROWS, |out, r| unsafe { write_row(out, &block, r) });
        println!("numpy path, float64 x6: {numpy:.1} ns/row ({:.0} MB/s)", bytes as f64 / numpy / ROWS as f64 * 1e3);

        let columns = (0..6)
            .map(|j| {
                let col: ArrayRef = Arc::new(Float64Array::from_iter_values((0..ROWS).map(|r| matrix[r * 6 + j])));
                ArrowColumn::new("f", &[col]).unwrap()
            })
            .collect();
        let table = ArrowRows::new(columns).unwrap();
        let (arrow, bytes) = best_ns_per_row(ROWS, |out, r| table.write_row(out, r));
        println!("arrow path, float64 x6: {arrow:.1} ns/row ({:.0} MB/s)", bytes as f64 / arrow / ROWS as f64 * 1e3);

        let words = ["north", "south, east", "say \"hi\"", "west"];
        let mixed: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(
                (0..ROWS).map(|_| (rng.next() % 2_000_000_000) as i64 - 1_000_000_000),
            )),
            Arc::new(Float64Array::from_iter_values((0..ROWS).map(|_| rng.unit()))),
            Arc::new(Float64Array::from_iter_values((0..ROWS).map(|_| (rng.unit() - 0.5) * 2e4))),
            Arc::new(StringArray::from_iter_values((0..ROWS).map(|_| words[(rng.next() % 4) as usize]))),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    (0..ROWS).map(|_| 1_795_521_600_000_000 + (rng.next() % 1_000_000_000_000) as i64),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(Int32Array::from_iter_values((0..ROWS).map(|_| (rng.next() % 1000) as i32))),
        ];
        let table =
            ArrowRows::new(mixed.iter().map(|c| ArrowColumn::new("m", std::slice::from_ref(c)).unwrap()).collect())
                .unwrap();
        let (ns, bytes) = best_ns_per_row(ROWS, |out, r| table.write_row(out, r));
        println!(
            "arrow path, mixed x6 (i64, f64, f64, str with quotes, tz timestamp, i32): {ns:.1} ns/row ({:.0} MB/s)",
            bytes as f64 / ns / ROWS as f64 * 1e3
        );
    }
}
