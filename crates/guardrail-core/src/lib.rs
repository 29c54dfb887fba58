//! Guardrail's pure core: the domain types, the endpoint lifecycle state machine, the
//! deployment (UpdateEndpoint) state machine and the routing decisions. Everything here is deterministic: time is passed in as an argument and
//! functions return decisions (new state + actions + when to wake) for the I/O shell to carry
//! out. This crate must not depend on tokio, hyper, axum, rusqlite or any other I/O crate;
//! `scripts/test.sh` checks that with `cargo tree`.

pub mod deploy;
pub mod fleet;
pub mod instance_types;
pub mod lifecycle;
pub mod names;
pub mod routing;
pub mod spec;
pub mod status;
pub mod time;
