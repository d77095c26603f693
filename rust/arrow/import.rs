//! Arrow data from another library (polars, pyarrow, pandas' Arrow strings) through the Arrow C
//! data and C stream interfaces, in two halves on two threads.
//!
//! On the scoring thread, `take_stream` / `take_array` only move the C structures out of the
//! producer's capsules (bitwise, as the interface allows; the capsule is left released, so its
//! destructor does nothing); there the schema is read once and its meaning (a `Shape`) given to
//! the input, or recognised without asking the producer (`with_shape`). On the encoder thread,
//! `import` pulls the batches, imports them with that shape's type, validates them, and makes
//! the columns the encoder writes.
//!
//! An `ArrowInput` owns every producer resource it took until it is dropped, and the encoder
//! must not drop it: pyarrow takes the GIL to free numpy-backed buffers, so it goes back with
//! the record's other owners to be released where those are today.

use std::ffi::c_void;

use arrow_array::ffi::{from_ffi_and_data_type, FFI_ArrowArray, FFI_ArrowSchema};
use std::sync::Arc;

use arrow_array::{make_array, Array, ArrayRef, StructArray};
use arrow_schema::DataType;

use super::encode::{ArrowColumn, ArrowInputError, ArrowRows};
use super::shape::Shape;
use super::stream::CStream;

/// The C data interface's `ArrowArray`, to give arrow-rs a copy that does not own the
/// producer's memory (its fields are private in arrow-rs).
#[repr(C)]
struct RawArray {
    length: i64,
    null_count: i64,
    offset: i64,
    n_buffers: i64,
    n_children: i64,
    buffers: *mut *const c_void,
    children: *mut *mut RawArray,
    dictionary: *mut RawArray,
    release: Option<unsafe extern "C" fn(*mut RawArray)>,
    private_data: *mut c_void,
}

unsafe extern "C" fn release_nothing(array: *mut RawArray) {
    // SAFETY: called by arrow-rs on its own copy, once; marks it released as the interface asks.
    unsafe { (*array).release = None };
}

/// Copies of a producer's null-typed arrays and of the children lists that point at them, kept
/// while arrow-rs imports through them (a null array has no memory to outlive it): polars exports a null array with one (null) buffer where the C data interface gives the type
/// none, and arrow-rs refuses that, so the copies arrow-rs reads have none.
#[derive(Default)]
struct NullCopies {
    // Boxed: the children arrays point at them, so they must not move as the Vec grows.
    #[allow(clippy::vec_box)]
    arrays: Vec<Box<RawArray>>,
    children: Vec<Box<[*mut RawArray]>>,
}

/// `array` (a copy) made to hold no buffers when `data_type` is null.
fn without_buffers(array: &mut RawArray, data_type: &DataType) {
    if *data_type == DataType::Null {
        array.n_buffers = 0;
        array.buffers = std::ptr::null_mut();
    }
}

/// A copy of `array` for arrow-rs to import, as `data_type`: the same buffers, but releasing it
/// does nothing, and null-typed columns read as the interface defines them (`NullCopies`). The
/// producer's memory stays owned by `array`, so that what arrow-rs builds can be dropped on the
/// encoder thread while the producer's release runs where that is safe.
///
/// # Safety
/// `array` must stay alive (and unreleased) as long as anything imported from the copy, and
/// `nulls` as long as the import runs; `data_type` must be the array's type.
unsafe fn borrowed(array: &FFI_ArrowArray, data_type: &DataType, nulls: &mut NullCopies) -> FFI_ArrowArray {
    // SAFETY: `FFI_ArrowArray` is the C struct, `#[repr(C)]` with these fields in this order;
    // only the copy's top-level release is replaced (arrow-rs releases children through it).
    unsafe {
        let mut copy = std::ptr::read(array);
        let raw = &mut *(&mut copy as *mut FFI_ArrowArray).cast::<RawArray>();
        raw.release = Some(release_nothing);
        without_buffers(raw, data_type);
        if let DataType::Struct(fields) = data_type {
            let null = |f: &arrow_schema::FieldRef| *f.data_type() == DataType::Null;
            if fields.iter().any(null) && raw.n_children == fields.len() as i64 && !raw.children.is_null() {
                let mut children: Box<[*mut RawArray]> =
                    std::slice::from_raw_parts(raw.children, fields.len()).to_vec().into_boxed_slice();
                for (child, field) in children.iter_mut().zip(fields.iter()) {
                    if null(field) && !child.is_null() {
                        let mut one = Box::new(std::ptr::read(*child));
                        one.release = Some(release_nothing);
                        without_buffers(&mut one, field.data_type());
                        *child = &mut *one;
                        nulls.arrays.push(one);
                    }
                }
                raw.children = children.as_mut_ptr();
                nulls.children.push(children);
            }
        }
        copy
    }
}

/// Arrow data taken from a producer: a stream, or one array with its schema.
pub struct ArrowInput {
    // Declared in drop order: what was made from the batches, then the batches, then the schema
    // and the stream that produced them.
    rows: Option<ArrowRows>,
    /// Imported from borrowed copies of `kept`, which own the memory.
    imported: Vec<ArrayRef>,
    /// The producer's batches that were imported.
    kept: Vec<FFI_ArrowArray>,
    /// Batches not yet imported, last first.
    arrays: Vec<FFI_ArrowArray>,
    schema: Option<FFI_ArrowSchema>,
    shape: Option<Arc<Shape>>,
    stream: Option<CStream>,
    drained: bool,
}

impl ArrowInput {
    /// Takes over the `ArrowArrayStream` at `stream` (an `arrow_array_stream` capsule's pointer).
    ///
    /// # Safety
    /// `stream` is null or points to a valid `ArrowArrayStream` that no one else uses while this
    /// runs; afterwards it is marked released and the producer's resources belong to the result.
    pub unsafe fn take_stream(stream: *mut c_void) -> Result<ArrowInput, ArrowInputError> {
        // SAFETY: as the caller promises.
        let raw = unsafe { CStream::take(stream) }.ok_or(ArrowInputError::Released)?;
        Ok(ArrowInput { stream: Some(raw), ..ArrowInput::empty() })
    }

    /// Takes over an `ArrowArray` and its `ArrowSchema` (the two capsules of
    /// `__arrow_c_array__`).
    ///
    /// # Safety
    /// Each pointer is null or points to a valid structure of its kind that no one else uses
    /// while this runs; afterwards both are marked released.
    pub unsafe fn take_array(array: *mut c_void, schema: *mut c_void) -> Result<ArrowInput, ArrowInputError> {
        let (array, schema) = (array.cast::<FFI_ArrowArray>(), schema.cast::<FFI_ArrowSchema>());
        if array.is_null() || schema.is_null() || unsafe { (*array).is_released() || (*schema).release().is_none() } {
            return Err(ArrowInputError::Released);
        }
        let (array, schema) = unsafe { (FFI_ArrowArray::from_raw(array), FFI_ArrowSchema::from_raw(schema)) };
        Ok(ArrowInput { arrays: vec![array], schema: Some(schema), drained: true, ..ArrowInput::empty() })
    }

    /// An array its producer exported without a schema (pyarrow's `_export_to_c`), whose schema
    /// `shape` means.
    pub fn from_array(array: FFI_ArrowArray, shape: Arc<Shape>) -> Result<ArrowInput, ArrowInputError> {
        if array.is_released() {
            return Err(ArrowInputError::Released);
        }
        Ok(ArrowInput { arrays: vec![array], drained: true, shape: Some(shape), ..ArrowInput::empty() })
    }

    fn empty() -> ArrowInput {
        ArrowInput {
            rows: None,
            imported: Vec::new(),
            kept: Vec::new(),
            arrays: Vec::new(),
            schema: None,
            shape: None,
            stream: None,
            drained: false,
        }
    }

    /// The schema, without pulling any batch: cheap enough for the scoring thread, where the
    /// columns' names and types are checked before a call is accepted.
    pub fn schema(&mut self) -> Result<&FFI_ArrowSchema, ArrowInputError> {
        if self.schema.is_none() {
            let stream = self.stream.as_mut().ok_or(ArrowInputError::Released)?;
            let get_schema =
                stream.get_schema.ok_or_else(|| ArrowInputError::Invalid("the stream has no callbacks".into()))?;
            let mut schema = FFI_ArrowSchema::empty();
            // SAFETY: a live stream and an empty schema for it to fill.
            let code = unsafe { get_schema(stream, &mut schema) };
            if code != 0 {
                return Err(stream.error("get_schema", code));
            }
            self.schema = Some(schema);
        }
        Ok(self.schema.as_ref().expect("set above"))
    }

    /// Pulls every batch out of the stream, without importing them.
    fn drain(&mut self) -> Result<(), ArrowInputError> {
        if self.drained {
            return Ok(());
        }
        let stream = self.stream.as_mut().ok_or(ArrowInputError::Released)?;
        let get_next = stream.get_next.ok_or_else(|| ArrowInputError::Invalid("the stream has no callbacks".into()))?;
        loop {
            let mut array = FFI_ArrowArray::empty();
            // SAFETY: as above; a released array back means the end of the stream.
            let code = unsafe { get_next(stream, &mut array) };
            if code != 0 {
                return Err(stream.error("get_next", code));
            }
            if array.is_released() {
                break;
            }
            self.arrays.push(array);
        }
        self.arrays.reverse();
        self.drained = true;
        Ok(())
    }

    /// What the data's schema means: as given by `with_shape`, else read from the producer; an
    /// error, before anything is imported, for a column of a type that cannot be written.
    pub fn shape(&mut self) -> Result<Arc<Shape>, ArrowInputError> {
        if let Some(shape) = &self.shape {
            return Ok(shape.clone());
        }
        let shape = Arc::new(Shape::of(self.schema()?)?);
        self.shape = Some(shape.clone());
        Ok(shape)
    }

    /// The input, known to have the schema `shape` means (the scoring thread worked it out, or
    /// recognised it): the producer is not asked for its schema again.
    pub fn with_shape(mut self, shape: Arc<Shape>) -> ArrowInput {
        self.shape = Some(shape);
        self
    }

    /// Rows in all batches, read from the batches' headers without importing them.
    pub fn rows(&mut self) -> Result<usize, ArrowInputError> {
        self.drain()?;
        let pending: usize = self.arrays.iter().map(FFI_ArrowArray::len).sum();
        Ok(pending + self.imported.iter().map(|a| a.len()).sum::<usize>())
    }

    /// Imports every batch and makes the columns to write. Runs on the encoder thread.
    pub fn import(&mut self) -> Result<&ArrowRows, ArrowInputError> {
        if self.rows.is_none() {
            let shape = self.shape()?;
            self.drain()?;
            let width = shape.names.len();
            while let Some(array) = self.arrays.pop() {
                if shape.is_table() && array.num_children() != width {
                    // arrow-rs would panic on this; the producer broke its own schema.
                    let found = array.num_children();
                    self.arrays.push(array);
                    return Err(ArrowInputError::Invalid(format!("a batch has {found} columns, its schema {width}")));
                }
                // SAFETY: the array came from the producer with this schema. It is validated
                // below before any value is read; `kept` owns it longer than anything imported.
                let mut nulls = NullCopies::default();
                let copy = unsafe { borrowed(&array, &shape.data_type, &mut nulls) };
                let data = unsafe { from_ffi_and_data_type(copy, shape.data_type.clone()) };
                drop(nulls); // read during the import only: the null type has no memory
                self.kept.push(array);
                let data = data.map_err(|e| ArrowInputError::Invalid(e.to_string()))?;
                let array = make_array(data);
                self.imported.push(array.clone());
                array.to_data().validate_full().map_err(|e| ArrowInputError::Invalid(e.to_string()))?;
            }
            let mut chunks: Vec<Vec<ArrayRef>> = vec![Vec::with_capacity(self.imported.len()); width];
            for batch in &self.imported {
                if shape.is_table() {
                    let table = batch.as_any().downcast_ref::<StructArray>().expect("a struct type imports as one");
                    if table.null_count() > 0 {
                        return Err(ArrowInputError::Invalid("a batch has missing rows (top-level nulls)".into()));
                    }
                    for (column, values) in chunks.iter_mut().zip(table.columns()) {
                        column.push(values.clone());
                    }
                } else {
                    chunks[0].push(batch.clone());
                }
            }
            let columns = shape
                .names
                .iter()
                .zip(&chunks)
                .map(|(name, c)| ArrowColumn::new(name, c))
                .collect::<Result<Vec<_>, _>>()?;
            self.rows = Some(ArrowRows::new(columns)?);
        }
        Ok(self.rows.as_ref().expect("set above"))
    }
}

impl ArrowInput {
    /// Frees what `import` made (the columns to write and arrow-rs's arrays), keeping the
    /// producer's C structures, whose release may need the GIL: for the encoder thread once
    /// the rows are written, so that the thread that releases the input has less to free.
    pub fn forget_imported(&mut self) {
        self.rows = None;
        self.imported = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use arrow_array::ffi::to_ffi;
    use arrow_array::ffi_stream::FFI_ArrowArrayStream;
    use arrow_array::{
        DictionaryArray, Float64Array, Int64Array, RecordBatch, RecordBatchIterator, StringArray, StringViewArray,
        Time32SecondArray, TimestampMicrosecondArray,
    };
    use arrow_schema::{ArrowError, DataType, Field, Schema};

    use super::*;

    fn write_all(rows: &ArrowRows) -> Vec<String> {
        (0..rows.rows())
            .map(|r| {
                let mut out = Vec::new();
                rows.write_row(&mut out, r);
                String::from_utf8(out).unwrap()
            })
            .collect()
    }

    fn batch(a: &[f64], s: &[Option<&str>]) -> RecordBatch {
        RecordBatch::try_from_iter([
            ("x", Arc::new(Float64Array::from(a.to_vec())) as ArrayRef),
            ("s", Arc::new(StringViewArray::from(s.to_vec())) as ArrayRef),
        ])
        .unwrap()
    }

    /// A C stream over `batches`, as a producer library exports it.
    fn export(batches: Vec<RecordBatch>) -> FFI_ArrowArrayStream {
        let schema = batches[0].schema();
        FFI_ArrowArrayStream::new(Box::new(RecordBatchIterator::new(batches.into_iter().map(Ok), schema)))
    }

    #[test]
    fn a_stream_of_chunks_taken_here_imported_on_another_thread() {
        let mut stream =
            export(vec![batch(&[1.5, 2.0], &[Some("a,b"), None]), batch(&[], &[]), batch(&[-0.0], &[Some("c")])]);
        let mut input = unsafe { ArrowInput::take_stream((&mut stream as *mut FFI_ArrowArrayStream).cast()) }.unwrap();
        // The capsule's copy is released: dropping it does nothing, and it cannot be taken twice.
        let again = unsafe { ArrowInput::take_stream((&mut stream as *mut FFI_ArrowArrayStream).cast()) };
        assert!(matches!(again, Err(ArrowInputError::Released)));
        drop(stream);
        assert_eq!(input.shape().unwrap().names, ["x", "s"]);
        assert_eq!(input.rows().unwrap(), 3);
        let written = std::thread::spawn(move || {
            let rows = write_all(input.import().unwrap());
            (rows, input)
        });
        let (rows, input) = written.join().unwrap();
        assert_eq!(rows, ["1.5,\"a,b\"", "2.0,", "-0.0,c"]);
        drop(input);
    }

    #[test]
    fn an_array_with_its_schema() {
        let b = batch(&[0.25], &[Some("q\"")]);
        let (mut array, mut schema) = to_ffi(&StructArray::from(b).to_data()).unwrap();
        let mut input = unsafe {
            ArrowInput::take_array(
                (&mut array as *mut FFI_ArrowArray).cast(),
                (&mut schema as *mut FFI_ArrowSchema).cast(),
            )
        }
        .unwrap();
        assert!(array.is_released() && schema.release().is_none());
        assert_eq!(input.rows().unwrap(), 1);
        assert_eq!(write_all(input.import().unwrap()), ["0.25,\"q\"\"\""]);
        // A plain array is one column.
        let ts = TimestampMicrosecondArray::from(vec![0]).with_timezone("UTC");
        let (mut array, mut schema) = to_ffi(&ts.to_data()).unwrap();
        let mut input = unsafe {
            ArrowInput::take_array(
                (&mut array as *mut FFI_ArrowArray).cast(),
                (&mut schema as *mut FFI_ArrowSchema).cast(),
            )
        }
        .unwrap();
        assert_eq!(write_all(input.import().unwrap()), ["1970-01-01T00:00:00.000000Z"]);
    }

    use crate::testing::arrow_input as take;

    #[test]
    fn categoricals_through_the_interface() {
        let dict: DictionaryArray<arrow_array::types::Int32Type> =
            vec![Some("lo"), None, Some("hi")].into_iter().collect();
        let b = RecordBatch::try_from_iter([
            ("cat", Arc::new(dict) as ArrayRef),
            ("n", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        ])
        .unwrap();
        let mut stream = export(vec![b]);
        let mut input = unsafe { ArrowInput::take_stream((&mut stream as *mut FFI_ArrowArrayStream).cast()) }.unwrap();
        assert_eq!(write_all(input.import().unwrap()), ["lo,1", ",2", "hi,3"]);
    }

    #[test]
    fn unsupported_columns_refused_before_import() {
        let b = RecordBatch::try_from_iter([
            ("ok", Arc::new(StringArray::from(vec!["a"])) as ArrayRef),
            ("at", Arc::new(Time32SecondArray::from(vec![1])) as ArrayRef),
        ])
        .unwrap();
        let mut stream = export(vec![b]);
        let mut input = unsafe { ArrowInput::take_stream((&mut stream as *mut FFI_ArrowArrayStream).cast()) }.unwrap();
        let err = input.shape().unwrap_err();
        assert_eq!(err.to_string().split(',').next().unwrap(), "column \"at\" has Arrow type Time32(s)");
        assert!(matches!(input.import(), Err(ArrowInputError::Unsupported { .. })));
    }

    /// A stream whose schema the scoring thread already knows (`with_shape`) is imported
    /// without asking the producer for it: the export costs pyarrow ~2 µs a call.
    #[test]
    fn a_known_shape_is_not_asked_for_again() {
        static ASKED: AtomicUsize = AtomicUsize::new(0);
        struct Asked(std::vec::IntoIter<RecordBatch>);
        impl Iterator for Asked {
            type Item = Result<RecordBatch, ArrowError>;
            fn next(&mut self) -> Option<Self::Item> {
                self.0.next().map(Ok)
            }
        }
        impl arrow_array::RecordBatchReader for Asked {
            fn schema(&self) -> arrow_schema::SchemaRef {
                ASKED.fetch_add(1, Ordering::SeqCst);
                batch(&[0.0], &[None]).schema()
            }
        }
        let known = {
            let schema = FFI_ArrowSchema::try_from(batch(&[0.0], &[None]).schema().as_ref()).unwrap();
            Arc::new(Shape::of(&schema).unwrap())
        };
        let mut stream = FFI_ArrowArrayStream::new(Box::new(Asked(vec![batch(&[1.0], &[Some("k")])].into_iter())));
        let input = unsafe { ArrowInput::take_stream((&mut stream as *mut FFI_ArrowArrayStream).cast()) }.unwrap();
        let mut input = input.with_shape(known.clone());
        assert_eq!(write_all(input.import().unwrap()), ["1.0,k"]);
        assert_eq!(ASKED.load(Ordering::SeqCst), 0);
        // An array exported without its schema, known by its shape.
        let (array, _) = to_ffi(&StructArray::from(batch(&[2.0], &[None])).to_data()).unwrap();
        let mut input = ArrowInput::from_array(array, known.clone()).unwrap();
        assert_eq!(write_all(input.import().unwrap()), ["2.0,"]);
        assert!(matches!(ArrowInput::from_array(FFI_ArrowArray::empty(), known), Err(ArrowInputError::Released)));
    }

    /// A producer that fails part-way: its message reaches the error, nothing panics.
    struct Failing(usize);
    impl Iterator for Failing {
        type Item = Result<RecordBatch, ArrowError>;
        fn next(&mut self) -> Option<Self::Item> {
            self.0 += 1;
            Some(if self.0 == 1 {
                Ok(batch(&[1.0], &[None]))
            } else {
                Err(ArrowError::ComputeError("disk on fire".into()))
            })
        }
    }
    impl arrow_array::RecordBatchReader for Failing {
        fn schema(&self) -> arrow_schema::SchemaRef {
            batch(&[], &[]).schema()
        }
    }

    #[test]
    fn producer_errors_carry_its_message() {
        let mut stream = FFI_ArrowArrayStream::new(Box::new(Failing(0)));
        let mut input = unsafe { ArrowInput::take_stream((&mut stream as *mut FFI_ArrowArrayStream).cast()) }.unwrap();
        let err = input.rows().unwrap_err();
        assert!(matches!(&err, ArrowInputError::Producer(m) if m.contains("disk on fire")), "{err}");
        assert!(unsafe { ArrowInput::take_stream(std::ptr::null_mut()) }.is_err());
    }

    /// What arrow-rs built is freed by `forget_imported` (on the encoder thread); the producer's
    /// memory only when the input is dropped (where the GIL is held).
    #[test]
    fn the_producers_memory_outlives_what_was_imported() {
        let values = Int64Array::from(vec![1, 2, 3]);
        let buffer = values.values().inner().clone();
        let before = buffer.strong_count();
        let mut input = take(&values.to_data());
        drop(values);
        assert_eq!(write_all(input.import().unwrap()), ["1", "2", "3"]);
        input.forget_imported();
        assert!(buffer.strong_count() >= before, "the producer still holds its buffer");
        drop(input);
        assert_eq!(buffer.strong_count(), before - 1, "released with the input, once");
    }

    /// The producer's memory is released when the input is dropped, not before and not twice.
    #[test]
    fn released_once_when_dropped() {
        static RELEASED: AtomicUsize = AtomicUsize::new(0);
        struct Counted(RecordBatchIterator<std::vec::IntoIter<Result<RecordBatch, ArrowError>>>);
        impl Drop for Counted {
            fn drop(&mut self) {
                RELEASED.fetch_add(1, Ordering::SeqCst);
            }
        }
        impl Iterator for Counted {
            type Item = Result<RecordBatch, ArrowError>;
            fn next(&mut self) -> Option<Self::Item> {
                self.0.next()
            }
        }
        impl arrow_array::RecordBatchReader for Counted {
            fn schema(&self) -> arrow_schema::SchemaRef {
                Arc::new(Schema::new(vec![
                    Field::new("x", DataType::Float64, false),
                    Field::new("s", DataType::Utf8View, true),
                ]))
            }
        }
        let b = batch(&[3.0], &[Some("z")]);
        let mut stream = FFI_ArrowArrayStream::new(Box::new(Counted(RecordBatchIterator::new(
            vec![Ok(b)].into_iter(),
            batch(&[], &[]).schema(),
        ))));
        let mut input = unsafe { ArrowInput::take_stream((&mut stream as *mut FFI_ArrowArrayStream).cast()) }.unwrap();
        drop(stream);
        input.import().unwrap();
        assert_eq!(RELEASED.load(Ordering::SeqCst), 0, "the stream lives as long as the input");
        drop(input);
        assert_eq!(RELEASED.load(Ordering::SeqCst), 1);
    }
}
