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

/// Serves the expected requests in order; returns the bodies the client sent. Any other
/// request fails the test, and so does one request too many.
pub async fn serve(mut handle: Handle, script: Vec<Expect>) -> Vec<Value> {
    let mut sent = Vec::new();
    for step in script {
        let (request, respond) =
            tokio::time::timeout(Duration::from_secs(5), handle.next_request())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {} {}", step.method, step.uri))
                .unwrap_or_else(|| panic!("client gone before {} {}", step.method, step.uri));
        let uri = request.uri().to_string();
        assert_eq!(
            (request.method().clone(), uri.as_str()),
            (step.method.clone(), step.uri.as_str()),
            "unexpected request"
        );
        let bytes = request.into_body().collect_bytes().await.unwrap();
        sent.push(if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        });
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
