//! One integration binary: fixtures served from 127.0.0.1, the library and the real binary
//! driven end to end.

mod cli;
mod common;
mod corpus;
mod eval;
mod export;
mod feeds;
mod hostile;
mod html;
mod pipeline;
