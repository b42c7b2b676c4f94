//! GGUF loading: open a model file with errors that say what is wrong with it, and requantise
//! weights whose format has no fast CPU kernel in candle.
//!
//! candle has AVX2/NEON dot products for `Q4_0`, `Q8_0` and the K-quants, but not for `Q4_1` (or
//! `Q5_0`/`Q5_1`), which fall back to scalar code about 5x slower. Converting those tensors to `Q8_0`
//! once at load costs under a second for a small model and some memory.

use std::io::{Cursor, Read, Seek};
use std::path::Path;

use candle_core::Device;
use candle_core::quantized::gguf_file::{self, Content, Value};
use candle_core::quantized::{GgmlDType, QTensor};

use super::{Error, Result};

/// A GGUF file's header and a reader over its bytes.
pub struct GgufFile {
    /// Metadata and tensor directory.
    pub content: Content,
    /// The bytes (the file itself, or a requantised copy in memory).
    pub reader: Box<dyn ReadSeek>,
}

/// `Read + Seek + Send`, for boxing.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

impl core::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GgufFile")
            .field("tensors", &self.content.tensor_infos.len())
            .field("metadata", &self.content.metadata.len())
            .finish_non_exhaustive()
    }
}

impl GgufFile {
    /// Opens and checks a GGUF file: the header parses and every tensor lies inside the file.
    pub fn open(path: &Path) -> Result<Self> {
        let bad = |message: String| Error::BadModel {
            path: path.to_owned(),
            message,
        };
        let mut file = std::fs::File::open(path).map_err(Error::io(path))?;
        let len = file.metadata().map_err(Error::io(path))?.len();
        let mut magic = [0u8; 4];
        if file.read_exact(&mut magic).is_err() || &magic != b"GGUF" {
            return Err(bad(format!(
                "the file does not start with `GGUF` ({len} bytes); it is not a GGUF model"
            )));
        }
        file.rewind().map_err(Error::io(path))?;
        let content = Content::read(&mut file).map_err(|e| bad(format!("header: {e}")))?;
        for (name, info) in &content.tensor_infos {
            let bytes = info.shape.elem_count() / info.ggml_dtype.block_size()
                * info.ggml_dtype.type_size();
            let end = content.tensor_data_offset + info.offset + bytes as u64;
            if end > len {
                return Err(bad(format!(
                    "tensor `{name}` ends at byte {end} but the file has only {len}: the file is truncated; delete it and pull the model again"
                )));
            }
        }
        Ok(Self {
            content,
            reader: Box::new(file),
        })
    }

    /// A metadata string.
    pub fn string(&self, key: &str) -> Option<&str> {
        self.content
            .metadata
            .get(key)
            .and_then(|v| v.to_string().ok())
            .map(String::as_str)
    }

    /// A metadata unsigned integer.
    pub fn u32(&self, key: &str) -> Option<u32> {
        self.content.metadata.get(key).and_then(|v| v.to_u32().ok())
    }

    /// How many tensors have each quantisation type.
    pub fn dtype_counts(&self) -> Vec<(GgmlDType, usize)> {
        let mut out: Vec<(GgmlDType, usize)> = Vec::new();
        for info in self.content.tensor_infos.values() {
            match out.iter_mut().find(|(d, _)| *d == info.ggml_dtype) {
                Some((_, n)) => *n += 1,
                None => out.push((info.ggml_dtype, 1)),
            }
        }
        out.sort_by_key(|(d, _)| format!("{d:?}"));
        out
    }

    /// Converts every tensor of a type without a fast CPU kernel (`Q4_1`, `Q5_0`, `Q5_1`) to `Q8_0`,
    /// in memory. Returns how many tensors changed.
    pub fn requantize_slow_types(&mut self) -> Result<usize> {
        let slow = |d: GgmlDType| matches!(d, GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1);
        let count = self
            .content
            .tensor_infos
            .values()
            .filter(|i| slow(i.ggml_dtype))
            .count();
        if count == 0 {
            return Ok(0);
        }
        let device = Device::Cpu;
        let mut names: Vec<&String> = self.content.tensor_infos.keys().collect();
        names.sort();
        let mut tensors: Vec<(String, QTensor)> = Vec::with_capacity(names.len());
        for name in names {
            let q = self.content.tensor(&mut self.reader, name, &device)?;
            let q = if slow(q.dtype()) && q.shape().dims().last().is_some_and(|d| d % 32 == 0) {
                let f = q.dequantize(&device)?;
                QTensor::quantize(&f, GgmlDType::Q8_0)?
            } else {
                q
            };
            tensors.push((name.clone(), q));
        }
        // The writer pads to 32 bytes and does not write `general.alignment`: drop any other.
        let metadata: Vec<(&str, &Value)> = self
            .content
            .metadata
            .iter()
            .filter(|(k, _)| k.as_str() != "general.alignment")
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let mut out = Cursor::new(Vec::new());
        gguf_file::write(&mut out, &metadata, &refs)?;
        drop(tensors);
        out.rewind().map_err(Error::io("<memory>"))?;
        self.content = Content::read(&mut out)?;
        self.reader = Box::new(out);
        Ok(count)
    }
}
