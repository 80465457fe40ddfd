//! The payment engine: carries each order from Charge to a final state, in the background on tokio.
//!
//! Work in progress: the types the UI and the command line use are settled ([`types`]); the lifecycle lands next.

pub mod types;

pub use types::{Cart, CartLine, CustomerAction, EngineEvent, OrderView};
