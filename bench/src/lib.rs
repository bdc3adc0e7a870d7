//! Shared pieces of the ws-framework benchmarks: the payloads the load generator sends, its
//! latency histogram, the raw client's frame encoding and permessage-deflate, and the Linux
//! `/proc` and affinity helpers the server, the load generator and the matrix use.
//!
//! The binaries:
//! - `server`: an echo server, `--impl engine|tungstenite|fastwebsockets|macros`;
//! - `load`: the load generator (its own raw client; verifies every echoed byte);
//! - `matrix`: runs the whole comparison and prints the markdown table.
//!
//! See `BENCHMARKS.md` at the repository root.

pub mod args;
pub mod deflate;
pub mod hist;
pub mod payload;
pub mod sys;
pub mod wire;
