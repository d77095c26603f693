//! What one `collect()` call hands the encoder: a table of rows, read in place.
//!
//! Numeric, bool, datetime and fixed-width unicode arrays are described by a pointer and
//! strides into memory the caller still owns; the record carries an owner that keeps that
//! memory alive until the encoder is done. Values that only exist as interpreter objects
//! (object arrays) arrive already rendered as CSV fields, since reading them needs the GIL.
//! Arrow data (polars, pyarrow, pandas' `str` columns) arrives as C structures the record owns,
//! imported on the encoder thread.

use std::sync::Arc;

use crate::arrow::{ArrowColumn, ArrowInput, ArrowInputError};
use crate::encode::DateUnit;
use crate::schema::ColumnType;

/// The element type of a strided column, as numpy lays it out (native byte order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
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
    DateTime(DateUnit),
    /// An instant stored as UTC (a tz-aware pandas column): written with a `Z`.
    UtcDateTime(DateUnit),
    /// Fixed-width UCS4 strings of this many code points.
    Unicode(usize),
}

impl Kind {
    /// The type readers are told a column of this kind holds.
    #[inline]
    pub fn column_type(self) -> ColumnType {
        match self {
            Kind::Bool => ColumnType::Bool,
            Kind::I8 | Kind::I16 | Kind::I32 | Kind::I64 | Kind::U8 | Kind::U16 | Kind::U32 => ColumnType::Int64,
            Kind::U64 => ColumnType::UInt64,
            Kind::F16 | Kind::F32 | Kind::F64 => ColumnType::Float64,
            Kind::DateTime(_) => ColumnType::Timestamp,
            Kind::UtcDateTime(_) => ColumnType::TimestampUtc,
            Kind::Unicode(_) => ColumnType::String,
        }
    }

    pub fn item_size(self) -> usize {
        match self {
            Kind::Bool | Kind::I8 | Kind::U8 => 1,
            Kind::I16 | Kind::U16 | Kind::F16 => 2,
            Kind::I32 | Kind::U32 | Kind::F32 => 4,
            Kind::I64 | Kind::U64 | Kind::F64 | Kind::DateTime(_) | Kind::UtcDateTime(_) => 8,
            Kind::Unicode(n) => 4 * n,
        }
    }
}

/// A column (or a whole 2-D block) of values read in place.
#[derive(Clone, Copy, Debug)]
pub struct View {
    pub ptr: *const u8,
    pub kind: Kind,
    /// Byte distance between rows.
    pub row_stride: isize,
    /// Byte distance between columns (unused for a single column).
    pub col_stride: isize,
}

impl View {
    /// The first cell of a `Unicode` view holding a code point that is not a Unicode scalar
    /// value (a surrogate, or beyond U+10FFFF), as (row, column, code point).
    ///
    /// # Safety
    /// The view must address live memory of its kind for `rows` × `cols` cells.
    pub unsafe fn first_invalid_ucs4(&self, rows: usize, cols: usize) -> Option<(usize, usize, u32)> {
        let Kind::Unicode(n) = self.kind else { return None };
        for r in 0..rows {
            for c in 0..cols {
                let cell = self.ptr.offset(r as isize * self.row_stride + c as isize * self.col_stride);
                for k in 0..n {
                    let u = std::ptr::read_unaligned(cell.add(4 * k) as *const u32);
                    if char::from_u32(u).is_none() {
                        return Some((r, c, u));
                    }
                }
            }
        }
        None
    }
}

/// Fields rendered on the scoring thread, CSV-escaped, one string per row.
#[derive(Clone, Debug, Default)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    /// `ends[i]` is where row i's field ends in `bytes`.
    pub ends: Vec<usize>,
    /// What the values were (their types merged); `None` when all were missing.
    pub ty: Option<ColumnType>,
}

impl Rendered {
    pub fn field(&self, row: usize) -> &[u8] {
        let start = if row == 0 { 0 } else { self.ends[row - 1] };
        &self.bytes[start..self.ends[row]]
    }

    /// Closes the field whose bytes were just written.
    pub fn end_field(&mut self) {
        self.ends.push(self.bytes.len());
    }

    /// Field `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let start = if i == 0 { 0 } else { *self.ends.get(i - 1)? };
        self.bytes.get(start..*self.ends.get(i)?)
    }
}

/// Values beside a mask (pandas' nullable ints, floats and bools): a value is written where its
/// mask byte is 0, an empty field where it is not, whatever the value slot holds.
#[derive(Clone, Copy, Debug)]
pub struct Masked {
    pub values: View,
    /// One byte per row, nonzero for a missing value.
    pub mask: View,
    /// The values' type; `None` when every value was missing (as for a rendered column).
    pub ty: Option<ColumnType>,
}

impl Masked {
    /// A masked column of `rows` values, typed by its kind when one value is present.
    ///
    /// # Safety
    /// Both views address live memory of their kinds for `rows` rows.
    pub unsafe fn new(values: View, mask: View, rows: usize) -> Masked {
        let any = (0..rows).any(|r| *mask.ptr.offset(r as isize * mask.row_stride) == 0);
        Masked { values, mask, ty: any.then(|| values.kind.column_type()) }
    }

    /// Row `row`'s value, or `None` when it is missing.
    ///
    /// # Safety
    /// As for [`Masked::new`], with `row` below its rows.
    #[inline]
    pub unsafe fn value(&self, row: usize) -> Option<*const u8> {
        let r = row as isize;
        (*self.mask.ptr.offset(r * self.mask.row_stride) == 0)
            .then(|| self.values.ptr.offset(r * self.values.row_stride))
    }
}

/// The fields of a categorical's categories, rendered once, and each one's type.
#[derive(Debug, Default)]
pub struct Categories {
    pub fields: Rendered,
    pub types: Vec<Option<ColumnType>>,
}

/// Codes into categories (a pandas categorical): code `i` is category `i`'s field, a negative
/// code (or one past the categories) an empty field.
#[derive(Clone, Debug)]
pub struct Coded {
    /// Signed ints of any width.
    pub codes: View,
    pub categories: Arc<Categories>,
    /// The type of the categories the codes name, merged; `None` when none is named.
    pub ty: Option<ColumnType>,
}

impl Coded {
    /// A coded column of `rows` codes; `None` when a code is below -1 or past the categories
    /// (not a categorical pandas made) or the codes are not signed ints.
    ///
    /// # Safety
    /// `codes` addresses live memory of its kind for `rows` rows.
    pub unsafe fn new(codes: View, categories: Arc<Categories>, rows: usize) -> Option<Coded> {
        if !matches!(codes.kind, Kind::I8 | Kind::I16 | Kind::I32 | Kind::I64) {
            return None;
        }
        let n = categories.types.len() as i64;
        let first = categories.types.first().copied().flatten();
        let uniform = categories.types.iter().all(|t| *t == first);
        let mut ty: Option<ColumnType> = None;
        for r in 0..rows {
            let code = code_at(&codes, r);
            if code < -1 || code >= n {
                return None;
            }
            if code >= 0 && !(uniform && ty.is_some()) {
                if let Some(t) = categories.types[code as usize] {
                    ty = Some(ty.map_or(t, |was| was.merge(t)));
                }
            }
        }
        Some(Coded { codes, categories, ty })
    }

    /// Row `row`'s field (empty for a missing value).
    ///
    /// # Safety
    /// As for [`Coded::new`], with `row` below its rows.
    #[inline]
    pub unsafe fn field(&self, row: usize) -> &[u8] {
        // The codes may have changed since they were checked (held by reference): any code
        // that names no category is missing.
        usize::try_from(code_at(&self.codes, row)).ok().and_then(|i| self.categories.fields.get(i)).unwrap_or(&[])
    }
}

/// # Safety
/// `codes` is a view of signed ints with at least `row + 1` rows.
#[inline]
unsafe fn code_at(codes: &View, row: usize) -> i64 {
    let p = codes.ptr.offset(row as isize * codes.row_stride);
    match codes.kind {
        Kind::I8 => *(p as *const i8) as i64,
        Kind::I16 => std::ptr::read_unaligned(p as *const i16) as i64,
        Kind::I32 => std::ptr::read_unaligned(p as *const i32) as i64,
        Kind::I64 => std::ptr::read_unaligned(p as *const i64),
        _ => -1,
    }
}

/// A column of Arrow data the record owns: column `column` of its `input`-th `ArrowInput`,
/// resolved to the imported column by `Batch::import_arrow` on the encoder thread.
#[derive(Clone, Copy, Debug)]
pub struct ArrowField {
    pub input: usize,
    pub column: usize,
    /// From the schema, read on the scoring thread; `None` for Arrow's null type.
    pub ty: Option<ColumnType>,
    /// Null until imported; then the column inside the input, which the record keeps.
    pub values: *const ArrowColumn,
}

impl ArrowField {
    pub fn new(input: usize, column: usize, ty: Option<ColumnType>) -> ArrowField {
        ArrowField { input, column, ty, values: std::ptr::null() }
    }
}

/// What a value of an Arrow column is counted as in the queue's byte budget: its buffers are
/// the producer's, held by reference, and their size is known only once imported.
pub const ARROW_VALUE_BYTES: usize = 8;

#[derive(Clone, Debug)]
pub enum Column {
    View(View),
    Rendered(Rendered),
    Arrow(ArrowField),
    Masked(Masked),
    Coded(Coded),
}

pub enum Batch {
    /// A 2-D array of one kind: the common case, without per-column allocation.
    Block { view: View, rows: usize, cols: usize },
    /// Heterogeneous columns (data frames, object arrays), all `rows` long.
    Columns { rows: usize, columns: Vec<Column> },
    /// Columns some of which read Arrow data, taken from its producer on the scoring thread and
    /// held here (`inputs`) until the encoder imports it. A variant of its own (and a boxed
    /// slice) so that a batch, moved through the ring on every call, stays the size it was.
    Arrow { rows: usize, columns: Vec<Column>, inputs: Box<[ArrowInput]> },
}

// SAFETY: the raw pointers address memory that the record's owner keeps alive and that no one
// frees while the record exists; the encoder only reads it.
unsafe impl Send for Batch {}

impl Batch {
    pub fn rows(&self) -> usize {
        match self {
            Batch::Block { rows, .. } | Batch::Columns { rows, .. } | Batch::Arrow { rows, .. } => *rows,
        }
    }

    /// Bytes this batch keeps alive until it is encoded: the caller's values it points into,
    /// or the rendered fields it owns.
    pub fn nbytes(&self) -> usize {
        match self {
            Batch::Block { view, rows, cols } => rows * cols * view.kind.item_size(),
            Batch::Columns { rows, columns } | Batch::Arrow { rows, columns, .. } => columns
                .iter()
                .map(|c| match c {
                    Column::View(v) => rows * v.kind.item_size(),
                    Column::Rendered(r) => r.bytes.len() + r.ends.len() * std::mem::size_of::<usize>(),
                    Column::Arrow(_) => rows * ARROW_VALUE_BYTES,
                    Column::Masked(m) => rows * (m.values.kind.item_size() + 1),
                    // The categories are shared between calls: only the codes are this batch's.
                    Column::Coded(c) => rows * c.codes.kind.item_size(),
                })
                .sum(),
        }
    }

    /// Column `j`'s type; `None` for a rendered column of missing values only. `usize::MAX`
    /// asks for the one type of every column: a block's, `None` for separate columns.
    #[inline]
    pub fn column_type(&self, j: usize) -> Option<ColumnType> {
        match self {
            Batch::Block { view, .. } => Some(view.kind.column_type()),
            Batch::Columns { .. } | Batch::Arrow { .. } if j == usize::MAX => None,
            Batch::Columns { columns, .. } | Batch::Arrow { columns, .. } => match &columns[j] {
                Column::View(v) => Some(v.kind.column_type()),
                Column::Rendered(r) => r.ty,
                Column::Arrow(a) => a.ty,
                Column::Masked(m) => m.ty,
                Column::Coded(c) => c.ty,
            },
        }
    }

    pub fn cols(&self) -> usize {
        match self {
            Batch::Block { cols, .. } => *cols,
            Batch::Columns { columns, .. } | Batch::Arrow { columns, .. } => columns.len(),
        }
    }

    /// Imports the Arrow inputs this batch holds and points each Arrow column at its values.
    /// Runs on the encoder thread. An error when an input fails to import or holds another
    /// number of rows than the call announced: the batch cannot be written.
    pub fn import_arrow(&mut self) -> Result<(), ArrowInputError> {
        let Batch::Arrow { rows, columns, inputs } = self else { return Ok(()) };
        for (i, input) in inputs.iter_mut().enumerate() {
            let imported = input.import()?;
            if imported.rows() != *rows {
                return Err(ArrowInputError::Invalid(format!(
                    "the data has {} rows, {} when collect() took it",
                    imported.rows(),
                    rows
                )));
            }
            for column in columns.iter_mut() {
                if let Column::Arrow(field) = column {
                    if field.input == i {
                        let values = imported.columns().get(field.column).ok_or_else(|| {
                            ArrowInputError::Invalid(format!("the data has no column {}", field.column))
                        })?;
                        field.values = values;
                    }
                }
            }
        }
        match columns.iter().find(|c| matches!(c, Column::Arrow(f) if f.values.is_null())) {
            Some(_) => Err(ArrowInputError::Invalid("a column refers to Arrow data the record does not hold".into())),
            None => Ok(()),
        }
    }

    /// The Arrow data the batch holds, to be released where that is safe (what the encoder
    /// made from it is freed here); its Arrow columns cannot be written after this.
    pub fn take_arrow(&mut self) -> Vec<ArrowInput> {
        match self {
            Batch::Arrow { columns, inputs, .. } => {
                for column in columns.iter_mut() {
                    if let Column::Arrow(field) = column {
                        field.values = std::ptr::null();
                    }
                }
                let mut inputs = std::mem::take(inputs).into_vec();
                inputs.iter_mut().for_each(ArrowInput::forget_imported);
                inputs
            }
            _ => Vec::new(),
        }
    }

    /// A block over a slice the caller keeps alive: rows × cols, C order.
    pub fn from_slice<T>(values: &[T], kind: Kind, rows: usize, cols: usize) -> Batch {
        assert_eq!(values.len(), rows * cols);
        assert_eq!(std::mem::size_of::<T>(), kind.item_size());
        let size = kind.item_size() as isize;
        Batch::Block {
            view: View { ptr: values.as_ptr().cast(), kind, row_stride: size * cols as isize, col_stride: size },
            rows,
            cols,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_no_larger_than_a_block() {
        // Every record moves through the ring; Arrow batches must not make them all larger.
        let block = std::mem::size_of::<View>() + 2 * std::mem::size_of::<usize>();
        assert_eq!(std::mem::size_of::<Batch>(), block);
    }

    #[test]
    fn column_types_of_kinds() {
        assert_eq!(Kind::U32.column_type(), ColumnType::Int64);
        assert_eq!(Kind::U64.column_type(), ColumnType::UInt64);
        assert_eq!(Kind::F16.column_type(), ColumnType::Float64);
        assert_eq!(Kind::UtcDateTime(DateUnit::Second).column_type(), ColumnType::TimestampUtc);
        assert_eq!(Kind::DateTime(DateUnit::Nano).column_type(), ColumnType::Timestamp);
        assert_eq!(Kind::Unicode(3).column_type(), ColumnType::String);
    }

    fn arrow_input(columns: Vec<(&str, arrow_array::ArrayRef)>) -> ArrowInput {
        let table = arrow_array::StructArray::from(arrow_array::RecordBatch::try_from_iter(columns).unwrap());
        crate::testing::arrow_input(&arrow_array::Array::to_data(&table))
    }

    #[test]
    fn arrow_columns_point_into_their_imported_inputs() {
        let inputs = vec![
            arrow_input(vec![("a", Arc::new(arrow_array::Int64Array::from(vec![1, 2])) as _)]),
            arrow_input(vec![
                ("s", Arc::new(arrow_array::StringArray::from(vec![Some("x,y"), None])) as _),
                ("t", Arc::new(arrow_array::Float64Array::from(vec![0.5, 1.0])) as _),
            ]),
        ];
        let cells = [10i64, 20];
        let view = View { ptr: cells.as_ptr().cast(), kind: Kind::I64, row_stride: 8, col_stride: 0 };
        // Columns in another order than their inputs', beside a numpy view.
        let columns = vec![
            Column::Arrow(ArrowField::new(1, 1, Some(ColumnType::Float64))),
            Column::View(view),
            Column::Arrow(ArrowField::new(0, 0, Some(ColumnType::Int64))),
            Column::Arrow(ArrowField::new(1, 0, Some(ColumnType::String))),
        ];
        let mut batch = Batch::Arrow { rows: 2, columns, inputs: inputs.into() };
        assert_eq!(batch.column_type(0), Some(ColumnType::Float64));
        assert_eq!(batch.nbytes(), 2 * 8 * 4);
        batch.import_arrow().unwrap();
        let rows: Vec<String> = (0..2)
            .map(|r| {
                let mut out = Vec::new();
                unsafe { crate::encode::batch::write_row(&mut out, &batch, r) };
                String::from_utf8(out).unwrap()
            })
            .collect();
        assert_eq!(rows, ["0.5,10,1,\"x,y\"", "1.0,20,2,"]);
        assert_eq!(batch.take_arrow().len(), 2);
        assert!(batch.take_arrow().is_empty());
    }

    #[test]
    fn arrow_inputs_that_disagree_with_the_batch_are_errors() {
        let two = || arrow_input(vec![("a", Arc::new(arrow_array::Int64Array::from(vec![1, 2])) as _)]);
        let field = |input, column| Column::Arrow(ArrowField::new(input, column, Some(ColumnType::Int64)));
        let batch = |rows, column| Batch::Arrow { rows, columns: vec![column], inputs: vec![two()].into() };
        let err = batch(3, field(0, 0)).import_arrow().unwrap_err();
        assert!(err.to_string().contains("2 rows, 3 when"), "{err}");
        assert!(batch(2, field(0, 1)).import_arrow().is_err());
        assert!(batch(2, field(1, 0)).import_arrow().is_err());
    }

    fn col<T>(v: &[T], kind: Kind) -> View {
        View { ptr: v.as_ptr().cast(), kind, row_stride: std::mem::size_of::<T>() as isize, col_stride: 0 }
    }

    #[test]
    fn masked_values_are_typed_by_kind_when_one_is_present() {
        let values = [7u64, 0xdead_beef, 2];
        let unmasked = [1u8, 0, 1];
        let m = unsafe { Masked::new(col(&values, Kind::U64), col(&unmasked, Kind::Bool), 3) };
        assert_eq!(m.ty, Some(ColumnType::UInt64));
        assert_eq!(unsafe { m.value(0) }, None);
        assert_eq!(unsafe { m.value(1).map(|p| *(p as *const u64)) }, Some(0xdead_beef));
        let all_missing = [1u8, 1, 1];
        assert_eq!(unsafe { Masked::new(col(&values, Kind::U64), col(&all_missing, Kind::Bool), 3) }.ty, None);
        assert_eq!(unsafe { Masked::new(col(&values, Kind::U64), col(&all_missing, Kind::Bool), 0) }.ty, None);
    }

    fn categories(fields: &[&str], types: Vec<Option<ColumnType>>) -> Arc<Categories> {
        let mut c = Categories { types, ..Default::default() };
        for f in fields {
            c.fields.bytes.extend_from_slice(f.as_bytes());
            c.fields.end_field();
        }
        Arc::new(c)
    }

    #[test]
    fn codes_name_their_categories_and_are_typed_by_those_named() {
        use ColumnType::*;
        let cats = categories(&["lo", "hi"], vec![Some(String), Some(String)]);
        let codes = [1i8, -1, 0];
        let c = unsafe { Coded::new(col(&codes, Kind::I8), cats.clone(), 3) }.unwrap();
        assert_eq!(c.ty, Some(String));
        let fields: Vec<&[u8]> = (0..3).map(|r| unsafe { c.field(r) }).collect();
        assert_eq!(fields, [&b"hi"[..], b"", b"lo"]);
        let none = [-1i16, -1];
        assert_eq!(unsafe { Coded::new(col(&none, Kind::I16), cats.clone(), 2) }.unwrap().ty, None);
        for bad in [[2i32], [-2]] {
            assert!(unsafe { Coded::new(col(&bad, Kind::I32), cats.clone(), 1) }.is_none());
        }
        assert!(unsafe { Coded::new(col(&[0u8], Kind::U8), cats, 1) }.is_none(), "codes are signed");
        // Mixed categories: typed by the ones the rows name, as their rendered values would be.
        let mixed = categories(&["1", "0.5", "x"], vec![Some(Int64), Some(Float64), Some(String)]);
        let ty = |codes: &[i64]| unsafe { Coded::new(col(codes, Kind::I64), mixed.clone(), codes.len()) }.unwrap().ty;
        assert_eq!(ty(&[0, 0]), Some(Int64));
        assert_eq!(ty(&[0, 1]), Some(Float64));
        assert_eq!(ty(&[0, 2, -1]), Some(String));
    }

    #[test]
    fn a_code_changed_after_the_check_writes_an_empty_field() {
        let cats = categories(&["a"], vec![Some(ColumnType::String)]);
        let mut codes = [0i64];
        let c = unsafe { Coded::new(col(&codes, Kind::I64), cats, 1) }.unwrap();
        codes[0] = 5;
        let c = Coded { codes: col(&codes, Kind::I64), ..c };
        assert_eq!(unsafe { c.field(0) }, b"");
    }

    #[test]
    fn invalid_code_points_are_found_where_they_are() {
        let cells: Vec<u32> = vec![b'a' as u32, 0, b'b' as u32, 0, b'c' as u32, 0xD800, 0x11_0000, 0];
        let view = View { ptr: cells.as_ptr().cast(), kind: Kind::Unicode(2), row_stride: 16, col_stride: 8 };
        assert_eq!(unsafe { view.first_invalid_ucs4(2, 2) }, Some((1, 0, 0xD800)));
        assert_eq!(unsafe { view.first_invalid_ucs4(1, 2) }, None);
        let tail = View { ptr: unsafe { cells.as_ptr().add(6).cast() }, ..view };
        assert_eq!(unsafe { tail.first_invalid_ucs4(1, 1) }, Some((0, 0, 0x11_0000)));
    }
}
