//! Guardrail's wire layer: the request and response shapes of the AWS APIs Guardrail serves
//! (generated from botocore's service models, see [`generated`]) and the serde and validation
//! machinery they use ([`wire`]). No business logic lives here.

pub mod error;
pub mod generated;
pub mod messages;
pub mod protocol;
pub mod wire;
