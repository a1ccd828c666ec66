//! Sending one message on one channel: webhook (Standard Webhooks headers), command (the
//! message as JSON on stdin, no shell), email (plain UTF-8 text through an SMTP relay).

use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use tokio::io::AsyncWriteExt;

use crate::config::{AlertSpec, Channel, Secret};
use crate::model::{Item, Section};

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Worth retrying: a timeout, 408, 425, 429, 5xx, a failed command.
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Refused (other 4xx): retried once, then dead.
    Refused {
        error: String,
    },
    /// 410 Gone: the receiver asks never to be called again.
    Gone {
        error: String,
    },
}

/// One message, in every form a channel needs.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    /// The alert id: `webhook-id`, the idempotency key.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub timestamp: DateTime<Utc>,
    /// A ready-to-read line for chat webhooks (Slack's and Teams' `text`).
    pub text: String,
    /// Mail subject.
    #[serde(skip)]
    pub subject: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemPayload>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// An item as alerts carry it.
#[derive(Debug, Clone, Serialize)]
pub struct ItemPayload {
    pub id: String,
    pub source: String,
    pub publisher: String,
    pub title: String,
    pub url: String,
    pub published: Option<String>,
    pub section: Option<Section>,
    pub sectors: Vec<crate::model::Sector>,
    pub attack_types: Vec<crate::model::AttackType>,
    pub event_types: Vec<crate::model::EventType>,
    pub summary: String,
    pub citation: String,
}

impl ItemPayload {
    pub fn new(item: &Item) -> ItemPayload {
        let c = &item.classification;
        ItemPayload {
            id: item.id.clone(),
            source: item.source.clone(),
            publisher: item.publisher.clone(),
            title: item.title.clone(),
            url: item.url.clone(),
            published: item.published.map(|p| p.to_rfc3339()),
            section: c.section,
            sectors: c.sectors.clone(),
            attack_types: c.attack_types.clone(),
            event_types: c.event_types.clone(),
            summary: item.summary.chars().take(500).collect(),
            citation: item.citation(),
        }
    }
}

/// Chat services turn `@here`, `<!channel>` and markup into actions: feed text must not.
pub fn neutralise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '@' => out.push_str("@\u{200b}"),
            '<' => out.push('‹'),
            '>' => out.push('›'),
            '*' | '_' | '`' | '~' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// `[2.1 重要インフラ関連] The Record: Ohio hospital … (医療) https://…`
pub fn item_line(item: &Item) -> String {
    let c = &item.classification;
    let section = c
        .section
        .map(|s| format!("{} {}", s.code(), s.heading()))
        .unwrap_or_default();
    let sectors: Vec<&str> = c.sectors.iter().map(|s| s.ja()).collect();
    let sectors = if sectors.is_empty() {
        String::new()
    } else {
        format!(" ({})", sectors.join("、"))
    };
    format!(
        "[{section}] {}: {}{sectors} {}",
        neutralise(&item.publisher),
        neutralise(&item.title),
        item.url
    )
}

/// Sends a message on a channel.
pub async fn send(spec: &AlertSpec, message: &Message) -> Outcome {
    match &spec.channel {
        Channel::Webhook { url, secret } => {
            webhook(url, secret.as_ref(), spec.timeout, message).await
        }
        Channel::Command { argv } => command(argv, spec.timeout, message).await,
        Channel::Email {
            smtp,
            from,
            to,
            password,
        } => email(smtp, from, to, password.as_ref(), spec.timeout, message).await,
    }
}

/// Standard Webhooks: `v1,` + base64 HMAC-SHA256 over `{id}.{timestamp}.{body}`. A secret in
/// their `whsec_` form is the base64 of the key.
pub fn signature(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let text = secret.expose();
    let key = text
        .strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .unwrap_or_else(|| text.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap_or_else(|_| {
        // HMAC accepts keys of any length; this branch cannot be taken.
        Hmac::<Sha256>::new_from_slice(b"kizashi").expect("a fixed key is valid")
    });
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("v1,{sig}")
}

async fn webhook(
    url: &url::Url,
    secret: Option<&Secret>,
    timeout: Duration,
    message: &Message,
) -> Outcome {
    let client = match reqwest::Client::builder()
        .user_agent(format!("kizashi/{}", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .no_proxy()
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return Outcome::Retry {
                error: format!("cannot build the HTTP client: {e}"),
                retry_after: None,
            };
        }
    };
    let body = serde_json::to_vec(message).unwrap_or_default();
    let timestamp = message.timestamp.timestamp();
    let mut request = client
        .post(url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", &message.id)
        .header("webhook-timestamp", timestamp.to_string());
    if let Some(secret) = secret {
        request = request.header(
            "webhook-signature",
            signature(secret, &message.id, timestamp, &body),
        );
    }
    let response = match request.body(body).send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return Outcome::Retry {
                error: format!("timed out after {timeout:?}"),
                retry_after: None,
            };
        }
        Err(e) => {
            return Outcome::Retry {
                error: format!("request failed: {}", e.without_url()),
                retry_after: None,
            };
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(crate::fetch::parse_retry_after);
    match status {
        200..=299 => Outcome::Delivered,
        410 => Outcome::Gone {
            error: "HTTP 410 Gone".into(),
        },
        408 | 425 | 429 | 500..=599 => Outcome::Retry {
            error: format!("HTTP {status}"),
            retry_after,
        },
        300..=399 => Outcome::Refused {
            error: format!("HTTP {status}: redirects are not followed"),
        },
        _ => Outcome::Refused {
            error: format!("HTTP {status}"),
        },
    }
}

async fn command(argv: &[String], timeout: Duration, message: &Message) -> Outcome {
    let Some((program, args)) = argv.split_first() else {
        return Outcome::Refused {
            error: "no program configured".into(),
        };
    };
    let mut child = match tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return Outcome::Retry {
                error: format!("cannot start {program}: {e}"),
                retry_after: None,
            };
        }
    };
    let body = serde_json::to_vec(message).unwrap_or_default();
    let run = async {
        if let Some(mut stdin) = child.stdin.take() {
            // A program that does not read its input is its own business.
            let _ = stdin.write_all(&body).await;
            drop(stdin);
        }
        child.wait_with_output().await
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(Ok(out)) if out.status.success() => Outcome::Delivered,
        Ok(Ok(out)) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: String = stderr
                .trim()
                .chars()
                .rev()
                .take(200)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            Outcome::Retry {
                error: format!("{program} exited with {}: {tail}", out.status),
                retry_after: None,
            }
        }
        Ok(Err(e)) => Outcome::Retry {
            error: format!("{program}: {e}"),
            retry_after: None,
        },
        // Dropping the future drops the child, which kill_on_drop kills.
        Err(_) => Outcome::Retry {
            error: format!("{program} did not finish within {timeout:?} and was killed"),
            retry_after: None,
        },
    }
}

async fn email(
    smtp: &str,
    from: &str,
    to: &[String],
    password: Option<&Secret>,
    timeout: Duration,
    message: &Message,
) -> Outcome {
    use lettre::message::header::ContentType;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

    let mut builder = lettre::Message::builder()
        .subject(message.subject.clone())
        .header(ContentType::TEXT_PLAIN);
    match from.parse() {
        Ok(f) => builder = builder.from(f),
        Err(e) => {
            return Outcome::Refused {
                error: format!("from {from:?}: {e}"),
            };
        }
    }
    for address in to {
        match address.parse() {
            Ok(a) => builder = builder.to(a),
            Err(e) => {
                return Outcome::Refused {
                    error: format!("to {address:?}: {e}"),
                };
            }
        }
    }
    let mail = match builder.body(message.text.clone()) {
        Ok(m) => m,
        Err(e) => {
            return Outcome::Refused {
                error: format!("cannot build the mail: {e}"),
            };
        }
    };
    let url = match password {
        // The password goes into the relay URL's userinfo, never into a log line.
        Some(p) => match url::Url::parse(smtp) {
            Ok(mut u) => {
                let _ = u.set_password(Some(p.expose()));
                u.to_string()
            }
            Err(e) => {
                return Outcome::Refused {
                    error: format!("smtp URL: {e}"),
                };
            }
        },
        None => smtp.to_string(),
    };
    let transport = match AsyncSmtpTransport::<Tokio1Executor>::from_url(&url) {
        Ok(b) => b.timeout(Some(timeout)).build(),
        Err(e) => {
            return Outcome::Refused {
                error: format!("smtp relay: {e}"),
            };
        }
    };
    match tokio::time::timeout(timeout + Duration::from_secs(1), transport.send(mail)).await {
        Ok(Ok(_)) => Outcome::Delivered,
        Ok(Err(e)) if e.is_permanent() => Outcome::Refused {
            error: format!("SMTP: {e}"),
        },
        Ok(Err(e)) => Outcome::Retry {
            error: format!("SMTP: {e}"),
            retry_after: None,
        },
        Err(_) => Outcome::Retry {
            error: format!("SMTP relay did not answer within {timeout:?}"),
            retry_after: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_text_cannot_ping_or_mark_up() {
        assert_eq!(
            neutralise("@everyone <!channel> *bold*"),
            "@\u{200b}everyone ‹!channel› \\*bold\\*"
        );
    }

    #[test]
    fn signatures_follow_standard_webhooks() {
        // Standard Webhooks' published example.
        let secret = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
