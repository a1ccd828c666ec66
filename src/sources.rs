//! When each source is due: intervals with jitter, exponential backoff after failures,
//! `Retry-After`. Pure functions over [`SourceState`]; the daemon sleeps on their answers.
//!
//! May import: model. Must not do I/O.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::model::SourceState;

/// Longest wait between polls of a failing source.
pub const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);
/// Share of an interval by which a poll is moved either way, so sources spread out.
pub const JITTER: f64 = 0.1;

/// The interval with ±10 % jitter.
pub fn jittered(interval: Duration) -> Duration {
    let factor = 1.0 + rand::rng().random_range(-JITTER..=JITTER);
    interval.mul_f64(factor)
}

/// Wait after `failures` failures in a row: the interval doubled per failure, capped at a
/// day, never shorter than the server's `Retry-After`.
pub fn backoff(interval: Duration, failures: u32, retry_after: Option<Duration>) -> Duration {
    let doubled = interval.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    let wait = doubled.min(MAX_BACKOFF).max(interval.min(MAX_BACKOFF));
    match retry_after {
        Some(r) => wait.max(r.min(MAX_BACKOFF)),
        None => wait,
    }
}

/// Time until a source is due: now for a source never polled or overdue.
pub fn due_in(state: Option<&SourceState>, now: DateTime<Utc>) -> Duration {
    state
        .and_then(|s| s.next_poll)
        .and_then(|next| (next - now).to_std().ok())
        .unwrap_or(Duration::ZERO)
}

/// The URL to fetch now: `{year}` in a configured URL (written as is; the URL parser keeps it
/// as `%7Byear%7D`) becomes the current year in JST, for publishers that keep one file a year.
pub fn url_for(url: &url::Url, now: DateTime<Utc>) -> url::Url {
    const PLACEHOLDER: &str = "%7Byear%7D";
    let text = url.as_str();
    if !text.contains(PLACEHOLDER) {
        return url.clone();
    }
    let year = now
        .with_timezone(&crate::model::jst())
        .format("%Y")
        .to_string();
    url::Url::parse(&text.replace(PLACEHOLDER, &year)).unwrap_or_else(|_| url.clone())
}

/// The wall-clock time `wait` from now.
pub fn after(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_honours_retry_after() {
        let m = Duration::from_secs(60);
        assert_eq!(backoff(m, 1, None), m);
        assert_eq!(backoff(m, 2, None), m * 2);
        assert_eq!(backoff(m, 4, None), m * 8);
        assert_eq!(backoff(m, 40, None), MAX_BACKOFF);
        assert_eq!(
            backoff(m, 1, Some(Duration::from_secs(600))),
            Duration::from_secs(600)
        );
        assert_eq!(
            backoff(m, 1, Some(Duration::from_secs(999_999))),
            MAX_BACKOFF
        );
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let j = jittered(Duration::from_secs(1000)).as_secs_f64();
            assert!((900.0..=1100.0).contains(&j), "{j}");
        }
    }

    #[test]
    fn yearly_urls() {
        let url = url::Url::parse("https://www.cyber.go.jp/csv/{year}.csv").unwrap();
        let now: DateTime<Utc> = "2025-12-31T16:00:00Z".parse().unwrap();
        assert_eq!(
            url_for(&url, now).as_str(),
            "https://www.cyber.go.jp/csv/2026.csv",
            "JST new year"
        );
        let plain = url::Url::parse("https://x.example/a.csv").unwrap();
        assert_eq!(url_for(&plain, now), plain);
    }

    #[test]
    fn due_times() {
        let now = Utc::now();
        assert_eq!(due_in(None, now), Duration::ZERO);
        let s = SourceState {
            next_poll: Some(now + chrono::Duration::seconds(30)),
            ..Default::default()
        };
        assert!(due_in(Some(&s), now) > Duration::from_secs(29));
        let past = SourceState {
            next_poll: Some(now - chrono::Duration::seconds(30)),
            ..Default::default()
        };
        assert_eq!(due_in(Some(&past), now), Duration::ZERO);
    }
}
