//! A mocked Kubernetes API for reconcile tests (tower-test): the test scripts the
//! requests it expects, in order, with their answers; any other request, or one too
//! many, fails the test. Not an API server: see tests/e2e.rs for the real one.
#![allow(dead_code)]

use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock;

pub type Handle = mock::Handle<Request<Body>, Response<Body>>;

/// One request the test expects, and the answer it gives.
pub struct Expect {
    pub method: Method,
    /// The path and query the request must have, exactly.
    pub uri: String,
    pub status: StatusCode,
    pub body: Value,
}

pub fn expect(method: Method, uri: impl Into<String>, status: StatusCode, body: Value) -> Expect {
    Expect {
        method,
        uri: uri.into(),
        status,
        body,
    }
}

/// Whether a request writes an Event: Events are written by their own task, after the
/// reconcile queued them and in their order, but at any point among its other requests.
fn is_event(uri: &str) -> bool {
    uri.starts_with("/apis/events.k8s.io/")
}

/// Serves the expected requests in order (Events in their own order, see `is_event`);
/// returns the bodies the client sent, in the script's order. Any other request fails
/// the test, and so does one request too many.
pub async fn serve(mut handle: Handle, script: Vec<Expect>) -> Vec<Value> {
    let mut sent = vec![Value::Null; script.len()];
    let mut pending: std::collections::VecDeque<usize> = (0..script.len()).collect();
    while let Some(&next) = pending.front() {
        let step = &script[next];
        let (request, respond) =
            tokio::time::timeout(Duration::from_secs(5), handle.next_request())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {} {}", step.method, step.uri))
                .unwrap_or_else(|| panic!("client gone before {} {}", step.method, step.uri));
        let uri = request.uri().to_string();
        // The first step still expected of the request's sort: an Event or not.
        let position = pending
            .iter()
            .position(|&i| is_event(&script[i].uri) == is_event(&uri))
            .unwrap_or(0);
        let index = pending.remove(position).unwrap();
        let step = &script[index];
        assert_eq!(
            (request.method().clone(), uri.as_str()),
            (step.method.clone(), step.uri.as_str()),
            "unexpected request"
        );
        let bytes = request.into_body().collect_bytes().await.unwrap();
        if !bytes.is_empty() {
            sent[index] = serde_json::from_slice(&bytes).unwrap();
        }
        respond.send_response(
            Response::builder()
                .status(step.status)
                .body(Body::from(serde_json::to_vec(&step.body).unwrap()))
                .unwrap(),
        );
    }
    // Nothing more may be asked: wait for the reconcile to drop its client.
    let extra = tokio::time::timeout(Duration::from_secs(2), handle.next_request()).await;
    if let Ok(Some((request, _))) = extra {
        panic!(
            "unexpected extra request {} {}",
            request.method(),
            request.uri()
        );
    }
    sent
}

pub fn list(kind: &str) -> Value {
    json!({"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": "1"}, "items": []})
}

pub fn items(kind: &str, items: Vec<Value>) -> Value {
    let api_version = if kind == "JobList" { "batch/v1" } else { "v1" };
    json!({"apiVersion": api_version, "kind": kind, "metadata": {"resourceVersion": "1"}, "items": items})
}

pub fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})
}
