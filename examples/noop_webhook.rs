//! A no-op HTTPS server on the same stack as the admission server (axum, hyper-util,
//! tokio-rustls with ring, the same TLS settings), answering every POST with a fixed
//! allowed AdmissionReview. The load benchmark runs it beside the real webhook to show
//! what the policy and the AdmissionReview handling cost.
//!
//! Usage: noop_webhook LISTEN_ADDR CERT KEY

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;

const ANSWER: &str = r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":true,"status":{}}}"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, listen, cert, key] = args.as_slice() else {
        return Err("usage: noop_webhook LISTEN_ADDR CERT KEY".into());
    };
    let certificate = Arc::new(admission_server::ReloadingCertificate::load(
        cert.as_ref(),
        key.as_ref(),
    )?);
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(certificate.server_config()?));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let router = Router::new().route(
        "/validate",
        post(|_body: axum::body::Bytes| async { ([("content-type", "application/json")], ANSWER) }),
    );
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            if let Ok(tls) = acceptor.accept(tcp).await {
                let mut builder = auto::Builder::new(TokioExecutor::new());
                builder
                    .http1()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(std::time::Duration::from_secs(5));
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(tls), service)
                    .await;
            }
        });
    }
}
