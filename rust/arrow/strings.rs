//! Strings in Arrow memory (pandas 3's `str` column labels and categories) read in place
//! through the Arrow C stream interface, without importing them: comparing a frame's six labels
//! with a stream's names must cost far less than importing them with arrow-rs (validation,
//! allocations) would.
//!
//! Only `utf8` and `large_utf8` arrays are read; any other type, a producer error or offsets
//! that do not make sense stop the walk, and the caller takes its slower, public path.

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};

use super::stream::CStream;

impl CStream {
    /// Calls `each` with every string of the stream in order (`None` for a null), until it
    /// returns `false`. Returns whether every string was visited: `false` for a stream that is
    /// not of strings, that fails, or whose offsets are out of order.
    pub fn each_string(&mut self, mut each: impl FnMut(Option<&[u8]>) -> bool) -> bool {
        let (Some(get_schema), Some(get_next)) = (self.get_schema, self.get_next) else { return false };
        let mut schema = FFI_ArrowSchema::empty();
        // SAFETY: a live stream and an empty schema it fills (released by its own drop).
        if unsafe { get_schema(self, &mut schema) } != 0 {
            return false;
        }
        let large = match schema.format() {
            "u" => false,
            "U" => true,
            _ => return false,
        };
        loop {
            let mut array = FFI_ArrowArray::empty();
            // SAFETY: as above; the array is released by its own drop.
            if unsafe { get_next(self, &mut array) } != 0 {
                return false;
            }
            if array.is_released() {
                return true; // the end of the stream
            }
            // SAFETY: a live array the producer says holds strings of this offset width.
            if !unsafe { each_in_array(&array, large, &mut each) } {
                return false;
            }
        }
    }
}

/// # Safety
/// `array` is a live `utf8` (`large == false`) or `large_utf8` array.
unsafe fn each_in_array(array: &FFI_ArrowArray, large: bool, each: &mut impl FnMut(Option<&[u8]>) -> bool) -> bool {
    if array.num_buffers() != 3 || array.num_children() != 0 {
        return false;
    }
    let (len, offset) = (array.len(), array.offset());
    let validity = array.buffer(0);
    let offsets = array.buffer(1);
    let data = array.buffer(2);
    if len == 0 {
        return true;
    }
    if offsets.is_null() {
        return false;
    }
    let at = |i: usize| -> i64 {
        if large {
            std::ptr::read_unaligned((offsets as *const i64).add(i))
        } else {
            std::ptr::read_unaligned((offsets as *const i32).add(i)) as i64
        }
    };
    let nulls = array.null_count_opt() != Some(0) && !validity.is_null();
    let mut start = at(offset);
    for i in offset..offset + len {
        let end = at(i + 1);
        if start < 0 || end < start || (end > start && data.is_null()) {
            return false;
        }
        let valid = !nulls || (*validity.add(i / 8) >> (i % 8)) & 1 == 1;
        let value = valid.then(|| {
            if end == start {
                &[][..]
            } else {
                std::slice::from_raw_parts(data.add(start as usize), (end - start) as usize)
            }
        });
        if !each(value) {
            return false;
        }
        start = end;
    }
    true
}

/// Whether the stream's strings are exactly `names`, in order (no nulls); `None` when it is not
/// a stream of strings that could be read.
pub fn equals(stream: &mut CStream, names: &[String]) -> Option<bool> {
    let mut i = 0;
    let mut same = true;
    let read = stream.each_string(|s| {
        same = names.get(i).is_some_and(|n| s == Some(n.as_bytes()));
        i += 1;
        same
    });
    match (read, same) {
        (true, true) => Some(i == names.len()),
        (_, false) => Some(false),
        (false, true) => None,
    }
}

/// The stream's strings, each valid UTF-8; `None` for a null, invalid text or a stream that
/// could not be read.
pub fn strings(stream: &mut CStream) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let read = stream.each_string(|s| match s.map(std::str::from_utf8) {
        Some(Ok(s)) => {
            out.push(s.to_owned());
            true
        }
        _ => false,
    });
    read.then_some(out)
}

#[cfg(test)]
mod tests {
    use std::ffi::{c_int, c_void};
    use std::sync::Arc;

    use arrow_array::{Array, ArrayRef, Int32Array, LargeStringArray, StringArray};

    use super::*;

    /// A C stream of the given chunks, as pyarrow's ChunkedArray gives one.
    fn stream(chunks: Vec<ArrayRef>) -> CStream {
        struct Chunks(Vec<ArrayRef>, usize);
        unsafe extern "C" fn get_schema(s: *mut CStream, out: *mut FFI_ArrowSchema) -> c_int {
            let chunks = &*((*s).private_data as *const Chunks);
            std::ptr::write(out, FFI_ArrowSchema::try_from(chunks.0[0].data_type()).unwrap());
            0
        }
        unsafe extern "C" fn get_next(s: *mut CStream, out: *mut FFI_ArrowArray) -> c_int {
            let chunks = &mut *((*s).private_data as *mut Chunks);
            let next = match chunks.0.get(chunks.1) {
                Some(a) => FFI_ArrowArray::new(&a.to_data()),
                None => FFI_ArrowArray::empty(),
            };
            chunks.1 += 1;
            std::ptr::write(out, next);
            0
        }
        unsafe extern "C" fn release(s: *mut CStream) {
            drop(Box::from_raw((*s).private_data as *mut Chunks));
            (*s).release = None;
        }
        CStream {
            get_schema: Some(get_schema),
            get_next: Some(get_next),
            get_last_error: None,
            release: Some(release),
            private_data: Box::into_raw(Box::new(Chunks(chunks, 0))) as *mut c_void,
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn labels_of_both_offset_widths_and_several_chunks() {
        let small: ArrayRef = Arc::new(StringArray::from(vec!["a", "é😀", ""]));
        assert_eq!(equals(&mut stream(vec![small.clone()]), &names(&["a", "é😀", ""])), Some(true));
        assert_eq!(strings(&mut stream(vec![small])), Some(names(&["a", "é😀", ""])));
        let one: ArrayRef = Arc::new(LargeStringArray::from(vec!["f0", "f1"]));
        let two: ArrayRef = Arc::new(LargeStringArray::from(vec!["f2"]));
        let s = || stream(vec![one.clone(), two.clone()]);
        assert_eq!(equals(&mut s(), &names(&["f0", "f1", "f2"])), Some(true));
        assert_eq!(equals(&mut s(), &names(&["f0", "f1"])), Some(false), "more labels than names");
        assert_eq!(equals(&mut s(), &names(&["f0", "f1", "f2", "f3"])), Some(false), "fewer");
        assert_eq!(equals(&mut s(), &names(&["f0", "fx", "f2"])), Some(false));
        assert_eq!(strings(&mut s()), Some(names(&["f0", "f1", "f2"])));
    }

    #[test]
    fn sliced_arrays_start_at_their_offset() {
        let full = LargeStringArray::from(vec!["skip", "b", "c", "d"]);
        let sliced: ArrayRef = Arc::new(full.slice(1, 2));
        assert_eq!(strings(&mut stream(vec![sliced])), Some(names(&["b", "c"])));
    }

    #[test]
    fn nulls_and_other_types_are_not_labels() {
        let with_null: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
        assert_eq!(strings(&mut stream(vec![with_null.clone()])), None);
        assert_eq!(equals(&mut stream(vec![with_null]), &names(&["a", ""])), Some(false));
        let mut seen = Vec::new();
        let nulls: ArrayRef = Arc::new(StringArray::from(vec![None, Some("x")]));
        assert!(stream(vec![nulls]).each_string(|s| {
            seen.push(s.map(<[u8]>::to_vec));
            true
        }));
        assert_eq!(seen, [None, Some(b"x".to_vec())]);
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![1, 2]));
        assert_eq!(equals(&mut stream(vec![ints.clone()]), &names(&["1", "2"])), None);
        assert_eq!(strings(&mut stream(vec![ints])), None);
    }

    #[test]
    fn a_taken_stream_leaves_its_source_released() {
        let a: ArrayRef = Arc::new(StringArray::from(vec!["x"]));
        let mut source = stream(vec![a]);
        let mut taken = unsafe { CStream::take(&mut source as *mut CStream as *mut c_void) }.unwrap();
        assert!(source.release.is_none());
        assert!(unsafe { CStream::take(&mut source as *mut CStream as *mut c_void) }.is_none());
        assert_eq!(strings(&mut taken), Some(names(&["x"])));
        assert_eq!(taken.last_error(), None);
    }
}
