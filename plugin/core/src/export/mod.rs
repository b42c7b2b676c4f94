//! Exporting content to other tools' formats.
//!
//! - [`yarn`]: dialogue trees as [Yarn Spinner](https://yarnspinner.dev) scripts (`.yarn`), for
//!   games that run their dialogue on a Yarn runtime;
//! - [`vo`]: the voice-over script, one CSV row per line id.

pub mod vo;
pub mod yarn;
