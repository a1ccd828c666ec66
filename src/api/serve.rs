//! The API's accept loop: axum's own `serve` sets no timer, so hyper never times out a client
//! that opens a connection and sends its request head a byte at a time (slowloris,
//! `shared/reliability.md` F5). Here every connection gets a deadline for its request head and
//! the number of open connections is capped.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

/// How the API treats connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request head (request line and headers) must arrive within this, idle keep-alive
    /// connections included.
    pub header_read: Duration,
    /// Connections open at once; further clients wait in the kernel's accept queue.
    pub connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_read: Duration::from_secs(10),
            connections: 64,
        }
    }
}

/// Serves `app` on `listener` until `stop` is cancelled, then lets open requests finish.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, stop: CancellationToken) {
    let connections = TaskTracker::new();
    accept(listener, app, limits, &stop, &connections).await;
    connections.close();
    connections.wait().await;
}

async fn accept(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stop: &CancellationToken,
    connections: &TaskTracker,
) {
    let open = Arc::new(Semaphore::new(limits.connections.max(1)));
    loop {
        let permit = tokio::select! {
            _ = stop.cancelled() => return,
            permit = open.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    warn!(error = %e, "api: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let service = TowerToHyperService::new(app.clone());
        let stop = stop.clone();
        connections.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let served = tokio::select! {
                served = conn.as_mut() => served,
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = served {
                debug!(%peer, error = %e, "api: connection closed");
            }
            drop(permit);
        });
    }
}
