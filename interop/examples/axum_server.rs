//! An axum `Router` served by hyper on the runtime, without `axum::serve` (which needs
//! tokio): path and query extraction, JSON in and out, a handler that awaits the runtime's
//! `sleep`, and axum's 404 for everything else.
//!
//! ```text
//! cargo run -p runtime-interop --example axum_server -- 127.0.0.1:3000
//! curl 'http://127.0.0.1:3000/hello/world'
//! ```
//!
//! axum's handlers must be `Send` futures; the runtime's `sleep`, `timeout` and
//! [`Handle::spawn`](runtime::Handle::spawn) are. Each connection is a task on the loop;
//! hyper's header timeout runs on the loop's timer.

use std::time::Duration;

use axum::extract::{Path, Query};
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper::body::Incoming;
use runtime::compat::hyper::Timer;
use runtime::net::TcpListener;
use serde::Deserialize;
use tower_service::Service;

#[derive(Deserialize)]
struct Search {
    q: String,
    #[serde(default = "one")]
    page: u32,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
struct Order {
    item: String,
    quantity: u32,
    unit_price: f64,
}

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "hello from axum on runtime" }))
        .route(
            "/hello/{name}",
            get(|Path(name): Path<String>| async move { format!("hello, {name}") }),
        )
        .route(
            "/search",
            get(|Query(s): Query<Search>| async move {
                format!("results for {:?}, page {}", s.q, s.page)
            }),
        )
        .route(
            "/orders",
            post(|Json(order): Json<Order>| async move {
                Json(serde_json::json!({
                    "item": order.item,
                    "quantity": order.quantity,
                    "total": order.unit_price * f64::from(order.quantity),
                }))
            }),
        )
        .route(
            "/slow",
            get(|| async {
                runtime::sleep(Duration::from_millis(50)).await;
                "slept 50 ms on the runtime's timer"
            }),
        )
}

#[runtime::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = TcpListener::bind(addr.as_str())?;
    println!("listening on http://{}", listener.local_addr()?);
    let router = app();
    loop {
        let (conn, _) = listener.accept().await?;
        let router = router.clone();
        runtime::spawn(async move {
            // hyper's `Service` from axum's (tower's): a `Router` is always ready.
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let mut router = router.clone();
                async move {
                    std::future::poll_fn(|cx| {
                        Service::<hyper::Request<Incoming>>::poll_ready(&mut router, cx)
                    })
                    .await?;
                    router.call(req).await
                }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(Timer)
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(conn, service)
                .await;
            if let Err(e) = served {
                eprintln!("connection error: {e}");
            }
        })
        .detach();
    }
}
