//! Typed generation: output constrained to a type's JSON schema and parsed into the type.
//! [`generate_json`] works for any `serde` type and schema, [`generate_typed`] for a `schemars`
//! type with ids pinned to the content. Content is made through the story pipeline
//! (`crate::story`), which builds its schemas on these.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::backend::{Constraint, Event, Generation, GenerationRequest, TextBackend};
use super::constrain::{KnownIds, pin_ids, schema_for};
use super::{Error, Result};

/// Generates JSON constrained to `schema` and parses it as `T`.
pub fn generate_json<T: DeserializeOwned>(
    backend: &mut dyn TextBackend,
    request: &GenerationRequest,
    schema: Value,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(T, Generation)> {
    let mut request = request.clone();
    request.constraint = Some(Constraint::JsonSchema(schema));
    let generation = backend.generate(&request, on_event)?;
    if generation.finish == super::FinishReason::Cancelled {
        return Err(Error::Cancelled);
    }
    if generation.finish != super::FinishReason::Stop {
        return Err(Error::Output {
            what: core::any::type_name::<T>(),
            message: format!(
                "the output stopped early ({:?} after {} tokens): raise max_tokens or ask for less",
                generation.finish, generation.timings.generated_tokens
            ),
            output: generation.text,
        });
    }
    let value = parse_json::<T>(&generation.text)?;
    Ok((value, generation))
}

/// Generates a `T` constrained to its own schemars schema, with ids pinned to `known`.
pub fn generate_typed<T: DeserializeOwned + schemars::JsonSchema>(
    backend: &mut dyn TextBackend,
    request: &GenerationRequest,
    known: &KnownIds,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(T, Generation)> {
    let schema = pin_ids(&schema_for::<T>(), known);
    generate_json(backend, request, schema, on_event)
}

/// Parses model output as `T`, with an error that shows the output.
pub fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| Error::Output {
        what: core::any::type_name::<T>(),
        message: e.to_string(),
        output: text.to_owned(),
    })
}
