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
pub mod model;
pub mod parse;
pub mod pipeline;
pub mod review;
pub mod sources;
pub mod store;
pub mod telemetry;

/// Hands memory the process has freed back to the system. glibc keeps freed heap pages mapped
/// (a reopened store's cache, a large export, a first poll round), so without this a daemon's
/// resident size only ever grows to its highest point.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas; it takes no pointers of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}
