//! What an Arrow schema means to a stream: its columns' names and the types they fix in the
//! contract. Working that out parses the schema (~5 µs for a few columns); a scoring service
//! sends the same schema call after call, so a stream keeps the last one it saw, recognised by
//! a fingerprint of the C schema (its format strings, names and flags, read in place).

use std::ffi::{c_char, c_void, CStr};
use std::sync::{Arc, OnceLock};

use arrow_array::ffi::FFI_ArrowSchema;
use arrow_schema::DataType;
use parking_lot::Mutex;

use super::encode::{column_type, ArrowInputError};
use crate::error::Error;
use crate::schema::ColumnType;
use crate::stream::place;

/// The C data interface's `ArrowSchema`, read field by field: arrow-rs's accessors panic on a
/// name that is not UTF-8, which a producer may send.
#[repr(C)]
struct RawSchema {
    format: *const c_char,
    name: *const c_char,
    metadata: *const c_char,
    flags: i64,
    n_children: i64,
    children: *mut *mut RawSchema,
    dictionary: *mut RawSchema,
    release: Option<unsafe extern "C" fn(*mut RawSchema)>,
    private_data: *mut c_void,
}

/// Appends the parts of `schema` that decide names and types (format, name, flags, children,
/// dictionary), each ended so that no two schemas run together; an error when a format or a
/// name is not UTF-8 or the structure is broken.
fn fingerprint(schema: &RawSchema, out: &mut Vec<u8>) -> Result<(), ArrowInputError> {
    let text = |p: *const c_char, what: &str| -> Result<&[u8], ArrowInputError> {
        if p.is_null() {
            return Ok(b"");
        }
        // SAFETY: a live schema's strings are NUL-terminated and live as long as it does.
        let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
        std::str::from_utf8(bytes).map_err(|_| ArrowInputError::Invalid(format!("a {what} is not UTF-8")))?;
        Ok(bytes)
    };
    if schema.format.is_null() || schema.n_children < 0 || (schema.n_children > 0 && schema.children.is_null()) {
        return Err(ArrowInputError::Invalid("a schema has no format or broken children".into()));
    }
    out.extend_from_slice(text(schema.format, "format")?);
    out.push(0);
    out.extend_from_slice(text(schema.name, "column name")?);
    out.push(0);
    out.extend_from_slice(&schema.flags.to_le_bytes());
    out.extend_from_slice(&schema.n_children.to_le_bytes());
    for i in 0..schema.n_children as usize {
        // SAFETY: `children` holds `n_children` pointers to live schemas.
        let child = unsafe { (*schema.children.add(i)).as_ref() }
            .ok_or_else(|| ArrowInputError::Invalid("a schema has a null child".into()))?;
        fingerprint(child, out)?;
    }
    // SAFETY: null or a live schema.
    match unsafe { schema.dictionary.as_ref() } {
        Some(dictionary) => {
            out.push(1);
            fingerprint(dictionary, out)?;
        }
        None => out.push(0),
    }
    Ok(())
}

fn raw(schema: &FFI_ArrowSchema) -> &RawSchema {
    // SAFETY: `FFI_ArrowSchema` is the C struct, `#[repr(C)]` with these fields in this order.
    unsafe { &*(schema as *const FFI_ArrowSchema).cast::<RawSchema>() }
}

/// The columns an Arrow schema holds: a struct's fields (a table), else the one column of a
/// plain array, named by the schema.
#[derive(Debug)]
pub struct Shape {
    fingerprint: Vec<u8>,
    /// The schema's type, which the encoder imports the data with: it does not ask the
    /// producer for the schema again.
    pub data_type: DataType,
    pub names: Vec<String>,
    /// Each column's type; `None` for Arrow's null type (missing values only).
    pub types: Vec<Option<ColumnType>>,
    /// Which column goes where once the stream's names are fixed (they never change after).
    positions: OnceLock<Result<Vec<usize>, Error>>,
}

impl Shape {
    /// What `schema` means, worked out without a cache.
    pub fn of(schema: &FFI_ArrowSchema) -> Result<Shape, ArrowInputError> {
        let mut print = Vec::new();
        fingerprint(raw(schema), &mut print)?;
        Shape::parse(schema, print)
    }

    /// Parses `schema`; refuses, naming the column, a type modeltap cannot write.
    fn parse(schema: &FFI_ArrowSchema, fingerprint: Vec<u8>) -> Result<Shape, ArrowInputError> {
        let data_type = DataType::try_from(schema).map_err(|e| ArrowInputError::Invalid(e.to_string()))?;
        let fields: Vec<(&str, &DataType)> = match &data_type {
            DataType::Struct(fields) => fields.iter().map(|f| (f.name().as_str(), f.data_type())).collect(),
            other => vec![(schema.name().unwrap_or(""), other)],
        };
        let types = fields.iter().map(|&(name, dt)| column_type(name, dt)).collect::<Result<_, _>>()?;
        let names = fields.into_iter().map(|(name, _)| name.to_string()).collect();
        Ok(Shape { fingerprint, data_type, names, types, positions: OnceLock::new() })
    }

    /// Whether the data is a table (a struct of columns) rather than one column.
    pub fn is_table(&self) -> bool {
        matches!(self.data_type, DataType::Struct(_))
    }

    /// Where each of a stream's fixed `names` is among the columns (`stream::place`), worked
    /// out once: the names never change after they are fixed.
    pub fn positions(&self, names: &[String]) -> Result<&[usize], Error> {
        match self.positions.get_or_init(|| place(names, &self.names)) {
            Ok(positions) => Ok(positions),
            Err(e) => Err(e.clone()),
        }
    }
}

/// How many schemas a stream remembers: a table's, and one per Arrow column type of a frame.
const REMEMBERED: usize = 16;

/// The last schemas a stream saw, and what they mean, the latest first.
#[derive(Debug, Default)]
pub struct ShapeCache {
    last: Mutex<Vec<Arc<Shape>>>,
}

impl ShapeCache {
    /// What `schema` means: the answer kept when the schema was seen before, else parsed anew
    /// (and kept). A refused schema is not kept.
    pub fn shape(&self, schema: &FFI_ArrowSchema) -> Result<Arc<Shape>, ArrowInputError> {
        let mut print = Vec::with_capacity(128);
        fingerprint(raw(schema), &mut print)?;
        {
            let mut last = self.last.lock();
            if let Some(i) = last.iter().position(|s| s.fingerprint == print) {
                last[..=i].rotate_right(1);
                return Ok(last[0].clone());
            }
        }
        let shape = Arc::new(Shape::parse(schema, print)?);
        let mut last = self.last.lock();
        last.insert(0, shape.clone());
        last.truncate(REMEMBERED);
        Ok(shape)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_schema::{Field, Fields, TimeUnit};

    use super::*;

    fn table(fields: Vec<Field>) -> FFI_ArrowSchema {
        FFI_ArrowSchema::try_from(DataType::Struct(Fields::from(fields))).unwrap()
    }

    #[test]
    fn one_parse_per_schema_seen() {
        let cache = ShapeCache::default();
        let fields = vec![
            Field::new("x", DataType::Float64, true),
            Field::new("when", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true),
            Field::new("cat", DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8View)), true),
            Field::new("none", DataType::Null, true),
        ];
        let first = cache.shape(&table(fields.clone())).unwrap();
        assert_eq!(first.names, ["x", "when", "cat", "none"]);
        assert_eq!(
            first.types,
            [Some(ColumnType::Float64), Some(ColumnType::TimestampUtc), Some(ColumnType::String), None]
        );
        // The same schema exported again (new C structures): recognised, not parsed.
        let again = cache.shape(&table(fields.clone())).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        // A name, a type, a time zone or a dictionary's values changed: parsed anew.
        let changes = [
            (0, Field::new("y", DataType::Float64, true)),
            (0, Field::new("x", DataType::Int64, true)),
            (1, Field::new("when", DataType::Timestamp(TimeUnit::Microsecond, None), true)),
            (2, Field::new("cat", DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8)), true)),
        ];
        for (i, field) in changes {
            let mut changed = fields.clone();
            changed[i] = field;
            let shape = cache.shape(&table(changed.clone())).unwrap();
            assert!(!Arc::ptr_eq(&first, &shape), "{changed:?}");
            assert_eq!(shape.names[i], changed[i].name().as_str());
            // Both are remembered: going back is not parsed again either.
            let restored = cache.shape(&table(fields.clone())).unwrap();
            assert!(Arc::ptr_eq(&first, &restored));
            assert!(Arc::ptr_eq(&shape, &cache.shape(&table(changed)).unwrap()));
        }
    }

    #[test]
    fn the_schemas_seen_least_recently_are_forgotten() {
        let cache = ShapeCache::default();
        let named = |i: usize| table(vec![Field::new(format!("c{i}"), DataType::Float64, true)]);
        let first = cache.shape(&named(0)).unwrap();
        for i in 1..REMEMBERED {
            cache.shape(&named(i)).unwrap();
        }
        // Seen again, the first becomes the latest; the second is then the oldest.
        assert!(Arc::ptr_eq(&first, &cache.shape(&named(0)).unwrap()));
        let second = cache.shape(&named(1)).unwrap();
        cache.shape(&named(REMEMBERED)).unwrap();
        cache.shape(&named(REMEMBERED + 1)).unwrap();
        assert_eq!(cache.last.lock().len(), REMEMBERED);
        assert!(Arc::ptr_eq(&first, &cache.shape(&named(0)).unwrap()));
        assert!(Arc::ptr_eq(&second, &cache.shape(&named(1)).unwrap()));
        assert!(!cache.last.lock().iter().any(|s| s.names == ["c2"]));
    }

    #[test]
    fn a_plain_array_is_one_column_named_by_its_schema() {
        let cache = ShapeCache::default();
        let schema = FFI_ArrowSchema::try_from(Field::new("price", DataType::Int32, true)).unwrap();
        let shape = cache.shape(&schema).unwrap();
        assert_eq!(
            (shape.names.as_slice(), shape.types.as_slice()),
            (&["price".to_string()][..], &[Some(ColumnType::Int64)][..])
        );
    }

    #[test]
    fn unwritable_columns_are_refused_by_name_and_not_kept() {
        let cache = ShapeCache::default();
        let schema = table(vec![
            Field::new("ok", DataType::Utf8, true),
            Field::new("wait", DataType::Duration(TimeUnit::Second), true),
        ]);
        let err = cache.shape(&schema).unwrap_err();
        assert!(err.to_string().starts_with("column \"wait\" holds timedeltas"), "{err}");
        assert!(cache.last.lock().is_empty());
        let list =
            table(vec![Field::new("l", DataType::List(Arc::new(Field::new("item", DataType::Int8, true))), true)]);
        assert!(matches!(cache.shape(&list), Err(ArrowInputError::Unsupported { column, .. }) if column == "l"));
    }

    #[test]
    fn names_that_are_not_utf8_are_refused_not_a_panic() {
        let schema = table(vec![Field::new("ok", DataType::Utf8, true)]);
        let bad = c"\xff".as_ptr();
        // SAFETY: the child's name is swapped for a non-UTF-8 string, and restored before drop.
        let child = unsafe { &mut **(*(&schema as *const FFI_ArrowSchema).cast::<RawSchema>()).children };
        let name = std::mem::replace(&mut child.name, bad);
        let err = ShapeCache::default().shape(&schema).unwrap_err();
        child.name = name;
        assert_eq!(err, ArrowInputError::Invalid("a column name is not UTF-8".into()));
    }

    #[test]
    fn positions_follow_fixed_names() {
        let shape = |names: &[&str]| Shape {
            fingerprint: Vec::new(),
            data_type: DataType::Null,
            names: names.iter().map(|s| s.to_string()).collect(),
            types: vec![None; names.len()],
            positions: OnceLock::new(),
        };
        let fixed: Vec<String> = ["b", "a"].iter().map(|s| s.to_string()).collect();
        assert_eq!(shape(&["a", "b", "c"]).positions(&fixed).unwrap(), [1, 0]);
        assert_eq!(shape(&["b", "a"]).positions(&fixed).unwrap(), [0, 1]);
        // Other names: by position; a label twice and another width: as they are, for the
        // contract to refuse.
        assert_eq!(shape(&["x", "c"]).positions(&fixed).unwrap(), [0, 1]);
        assert_eq!(shape(&["a", "b", "a"]).positions(&fixed).unwrap(), [0, 1, 2]);
        // A name where another belongs: refused, every time.
        let bent = shape(&["a", "c"]);
        assert!(matches!(bent.positions(&fixed), Err(Error::Misplaced { .. })));
        assert!(bent.positions(&fixed).is_err());
    }
}
