//! GGUF loading: check a model file's header before anything trusts it ([`check`]), open it with
//! errors that say what is wrong with it, and requantise weights whose format has no fast CPU
//! kernel in candle.
//!
//! Every loading path (candle's quantised Llama and Qwen2, the native engine) opens its file with
//! [`GgufFile::open`], which runs the header check in front of candle's reader, and
//! [`LocalModel::load`](super::LocalModel::load) turns any panic left inside candle into an error
//! ([`contain`]).
//!
//! candle has AVX2/NEON dot products for `Q4_0`, `Q8_0` and the K-quants, but not for `Q4_1` (or
//! `Q5_0`/`Q5_1`), which fall back to scalar code about 5x slower. Converting those tensors to `Q8_0`
//! once at load costs under a second for a small model and some memory.

mod header;

use std::io::{BufReader, Cursor, Read, Seek};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::Device;
use candle_core::quantized::gguf_file::{self, Content, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use memmap2::Mmap;

use super::{Error, Result};

pub use self::header::{Header, check};

/// A GGUF file's header and a reader over its bytes.
pub struct GgufFile {
    /// Metadata and tensor directory.
    pub content: Content,
    /// The bytes (the mapped file, or a requantised copy in memory).
    pub reader: Box<dyn ReadSeek>,
    /// The file it came from (for error messages).
    pub path: PathBuf,
    /// The file mapped into memory (`None` once [`GgufFile::requantize_slow_types`] replaced it).
    map: Option<Arc<Mmap>>,
}

/// A tensor's bytes inside a memory-mapped model file: read in place, from the page cache, so a
/// model that several loads (or processes) share is in memory once, and a load copies nothing.
///
/// The file must not be rewritten in place while it is mapped; Sprout's own downloads replace a
/// model file by renaming a finished one over it, which leaves an open mapping its old pages.
#[derive(Clone)]
pub struct Mapped {
    map: Arc<Mmap>,
    start: usize,
    len: usize,
}

impl core::ops::Deref for Mapped {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map[self.start..self.start + self.len]
    }
}

impl core::fmt::Debug for Mapped {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mapped")
            .field("start", &self.start)
            .field("len", &self.len)
            .finish()
    }
}

impl Mapped {
    /// Tells the kernel this process is done with these pages for now (after copying them into
    /// a layout of its own), so they stop counting towards its resident memory; they stay in the
    /// page cache and come back on the next read.
    pub fn release(&self) {
        // Whole pages only: a neighbouring tensor may share the first or last one.
        let page = 4096;
        let (a, b) = (
            self.start.next_multiple_of(page),
            (self.start + self.len) / page * page,
        );
        if b > a {
            #[expect(
                unsafe_code,
                reason = "MADV_DONTNEED on a read-only file mapping: later reads see the file's bytes again, no memory is invalidated"
            )]
            // SAFETY: `MADV_DONTNEED` on a read-only file mapping only drops this process's view
            // of the pages; the next read faults the file's bytes back in.
            let r = unsafe {
                self.map
                    .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, a, b - a)
            };
            if let Err(e) = r {
                tracing::debug!("madvise: {e}");
            }
        }
    }
}

/// Read access to a shared mapping, for candle's reader.
struct MapReader(Arc<Mmap>);

impl AsRef<[u8]> for MapReader {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// `Read + Seek + Send`, for boxing.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

impl core::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GgufFile")
            .field("tensors", &self.content.tensor_infos.len())
            .field("metadata", &self.content.metadata.len())
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl GgufFile {
    /// Opens a GGUF file after [`check`]ing its header, then reads it with candle (a panic in
    /// candle's reader becomes an error too).
    pub fn open(path: &Path) -> Result<Self> {
        let bad = |message: String| Error::BadModel {
            path: path.to_owned(),
            message,
        };
        let file = std::fs::File::open(path).map_err(Error::io(path))?;
        let len = file.metadata().map_err(Error::io(path))?.len();
        let header = header::check_reader(BufReader::new(&file), len, path)?;
        #[expect(
            unsafe_code,
            reason = "a memory map of a model file, read-only; see `Mapped` for the one condition (the file is not rewritten in place while mapped)"
        )]
        // SAFETY: read-only, private mapping; Sprout replaces model files by rename, never in place.
        let map = unsafe { Mmap::map(&file) }.map_err(Error::io(path))?;
        let map = Arc::new(map);
        if map.len() as u64 != len {
            return Err(bad(format!(
                "the file changed while it was opened ({len} bytes, then {})",
                map.len()
            )));
        }
        let mut reader = Cursor::new(MapReader(map.clone()));
        let content = contain(path, || {
            Content::read(&mut reader).map_err(|e| bad(format!("header: {e}")))
        })?;
        if content.tensor_data_offset != header.data_offset
            || content.tensor_infos.len() != header.tensors
            || content.metadata.len() != header.metadata
        {
            return Err(bad(format!(
                "candle reads the header differently from Sprout's check ({} tensors and {} metadata entries, data at byte {}; the check found {}, {} and {})",
                content.tensor_infos.len(),
                content.metadata.len(),
                content.tensor_data_offset,
                header.tensors,
                header.metadata,
                header.data_offset
            )));
        }
        Ok(Self {
            content,
            reader: Box::new(reader),
            path: path.to_owned(),
            map: Some(map),
        })
    }

    /// Tensor `name`'s type, shape (candle's order: rows, then columns) and bytes, read in place
    /// from the mapped file; `None` for the bytes once [`GgufFile::requantize_slow_types`]
    /// replaced the file with a copy in memory (read those with `content.tensor`).
    pub fn tensor_bytes(&self, name: &str) -> Result<(GgmlDType, Vec<usize>, Option<Mapped>)> {
        let info = self
            .content
            .tensor_infos
            .get(name)
            .ok_or_else(|| Error::BadModelFile {
                path: self.path.clone(),
                field: format!("tensor `{name}`"),
                message: "is missing".into(),
            })?;
        let dims = info.shape.dims().to_vec();
        let Some(map) = &self.map else {
            return Ok((info.ggml_dtype, dims, None));
        };
        let elements: usize = dims.iter().product();
        let block = info.ggml_dtype.block_size();
        let bytes = elements / block * info.ggml_dtype.type_size();
        let start = (self.content.tensor_data_offset + info.offset) as usize;
        if !elements.is_multiple_of(block) || start.saturating_add(bytes) > map.len() {
            return Err(Error::BadModelFile {
                path: self.path.clone(),
                field: format!("tensor `{name}`"),
                message: format!(
                    "its {bytes} bytes at offset {start} do not fit in the file ({} bytes)",
                    map.len()
                ),
            });
        }
        Ok((
            info.ggml_dtype,
            dims,
            Some(Mapped {
                map: map.clone(),
                start,
                len: bytes,
            }),
        ))
    }

    /// Checks the architecture's hyper-parameters in the metadata (as [`check`] does), for
    /// engines that build a model from them.
    pub fn check_hyperparameters(&self) -> Result<()> {
        let arch = self.string("general.architecture").unwrap_or_default();
        let get = |key: &str| {
            self.content
                .metadata
                .get(key)
                .map(|v| v.to_u64().map_err(|_| format!("{v:?}")))
        };
        header::check_hyperparameters(
            &self.path,
            arch,
            &get,
            self.content.tensor_infos.keys().map(String::as_str),
        )
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
        self.content = contain(&self.path, || Ok(Content::read(&mut out)?))?;
        self.reader = Box::new(out);
        self.map = None;
        Ok(count)
    }
}

/// Runs `f` (a loader), turning a panic inside it into an error about `path`: a model file must
/// never take the process (or the game's worker thread) down with it.
pub fn contain<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        tracing::error!("loading {} panicked: {what}", path.display());
        Err(Error::BadModel {
            path: path.to_owned(),
            message: format!(
                "the loader panicked ({what}); the file is damaged or of a kind Sprout cannot read"
            ),
        })
    })
}
