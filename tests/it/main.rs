//! One integration binary: fixtures served from 127.0.0.1, the library and the real binary
//! driven end to end.

mod alerts;
mod api;
mod backup;
mod cli;
mod common;
mod corpus;
mod crash;
mod docx;
mod eval;
mod export;
mod feeds;
mod hostile;
mod html;
mod page;
mod pipeline;
mod review;
