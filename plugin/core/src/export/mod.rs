//! Exporting content to other tools' formats.
//!
//! - [`yarn`]: dialogue trees as [Yarn Spinner](https://yarnspinner.dev) scripts (`.yarn`), for
//!   games that run their dialogue on a Yarn runtime.

pub mod yarn;
