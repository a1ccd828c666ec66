//! Turns fetched bytes into [`RawItem`]s. Synchronous and pure.
//!
//! Owns: character-set decoding, feed parsing (feed-rs plus a raw pass that keeps each date's
//! own offset, which feed-rs drops), item identity, date reading and text clean-up.
//! May import: model. Must not do I/O; nothing `!Send` (feed-rs's parser, `scraper::Html`)
//! escapes a function here.

pub mod csv_listing;
pub mod dates;
pub mod encoding;
pub mod feed;
pub mod html;
pub mod links;
pub mod text;
pub mod textdate;

use crate::model::RawItem;

/// Items kept from one document at most: feeds that list thousands of entries are archives,
/// and the newest entries come first.
pub const MAX_ITEMS_PER_DOCUMENT: usize = 200;

/// What the source is configured as, for reading its document.
#[derive(Debug, Clone)]
pub struct ParseContext<'a> {
    /// The URL the document came from: relative links resolve against it.
    pub base_url: &'a url::Url,
    /// The publisher's home zone: UTC timestamps and naive times are read in it.
    pub timezone: chrono_tz::Tz,
    /// The `charset` parameter of the HTTP `Content-Type`, if any.
    pub http_charset: Option<&'a str>,
    /// The source's language: decides which legacy encodings are tried when nothing is declared.
    pub lang: &'a str,
}

/// A document that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body was empty.
    #[error("empty document")]
    Empty,
    /// An HTML page came where a feed was expected.
    #[error("not a feed: the document is an HTML page")]
    HtmlNotFeed,
    /// feed-rs rejected the document.
    #[error("feed could not be parsed: {0}")]
    Feed(String),
    /// A CSV listing could not be read.
    #[error("CSV listing: {0}")]
    Csv(String),
    /// An HTML listing yielded nothing usable.
    #[error("HTML listing: {0}")]
    Html(String),
}

/// What one document yielded.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub items: Vec<RawItem>,
    /// Entries dropped, each with why (no link, over the item limit …).
    pub skipped: Vec<String>,
    /// Entries dropped for a reason the source's owner should hear of (a date that cannot be
    /// read): recorded against the source.
    pub problems: Vec<String>,
    /// The encoding the bytes were read in.
    pub encoding: &'static str,
}
