//! kizashi (兆し, "signs") watches cyber-security news and advisories and drafts Japan's
//! quarterly report 「サイバーセキュリティを取り巻く情勢」.
//!
//! Data flows one way:
//!
//! ```text
//! sources → fetch → parse → classify → store → {export, api}
//! ```
//!
//! Stage modules (`fetch`, `parse`, `classify`, `store`, `export`, `api`, `sources`) never
//! import one another; they share only the plain data in [`model`]. The wiring lives in
//! [`pipeline`] (one poll of one source) and [`daemon`] (lifecycle); [`commands`] is the edge
//! that the binary calls.

pub mod alert;
pub mod api;
pub mod classify;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod export;
pub mod fetch;
pub mod memory;
pub mod model;
pub mod parse;
pub mod pipeline;
pub mod review;
pub mod sources;
pub mod store;
pub mod telemetry;

pub use memory::return_freed_memory;
