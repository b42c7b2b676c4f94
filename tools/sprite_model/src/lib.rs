//! The data pipeline of Sprout's embedded sprite model.
//!
//! Icon sets in Iconify's JSON format (fetched from npm at pinned versions by `fetch-data.sh`, never
//! committed) are filtered (no skin-tone or flag variants), rasterized with resvg to 16×16 and 32×32
//! straight-alpha RGBA, captioned with the icon's name, its emojilib keywords and the set's style word,
//! and split deterministically into train and held-out.

pub mod dataset;
pub mod raster;

/// Errors of the data pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An SVG document did not parse.
    #[error("svg: {0}")]
    Svg(#[from] resvg::usvg::Error),
    /// A requested raster size was zero or not a divisor of the supersampled size.
    #[error("bad raster size {0}")]
    Size(u32),
    /// An icon set file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// An icon set file was not the expected JSON.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: String,
        /// Why.
        source: serde_json::Error,
    },
}

/// The pipeline's result type.
pub type Result<T> = core::result::Result<T, Error>;
