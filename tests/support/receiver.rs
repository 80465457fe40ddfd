//! A merchant's notification endpoint for tests: records every POST (when, and its body) and answers from a
//! script, then with the official SUCCESS reply.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::http::StatusCode;

use super::localhost;

/// When a notification arrived, and its body.
pub type Received = (Instant, Vec<u8>);

#[derive(Clone, Default)]
pub struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// `script[i]` is the (status, body) of the i-th answer; after it, the official SUCCESS reply.
    /// Returns the receiver and its URL.
    pub async fn start(script: Vec<(u16, &'static str)>) -> (Receiver, String) {
        let rec = Receiver::default();
        let got = Arc::clone(&rec.got);
        let script = Arc::new(script);
        let app = axum::Router::new().route(
            "/notify",
            axum::routing::post(move |body: Bytes| {
                let got = Arc::clone(&got);
                let script = Arc::clone(&script);
                async move {
                    let n = {
                        let mut g = got.lock().unwrap();
                        g.push((Instant::now(), body.to_vec()));
                        g.len() - 1
                    };
                    let (status, reply) = script
                        .get(n)
                        .copied()
                        .unwrap_or((200, paydesk::wxpay::api::NOTIFY_SUCCESS));
                    (StatusCode::from_u16(status).unwrap(), reply)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind(localhost()).await.unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (rec, url)
    }

    pub fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }

    pub fn first_at(&self) -> Option<Instant> {
        self.got.lock().unwrap().first().map(|(t, _)| *t)
    }
}
