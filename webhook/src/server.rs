//! The HTTPS server: accepts TLS connections, reads AdmissionReview v1 requests, asks
//! the host's policy, and answers with the request's uid. Does network IO.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};
use prometheus_client::registry::Registry;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::metrics::{Metrics, Outcome, Review};
use crate::tls::{ReloadingCertificate, TlsError};

/// The answer of a policy to one admission request.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Admit the object, with the changes in `patch` (empty for none).
    Allow {
        patch: json_patch::Patch,
        warnings: Vec<String>,
    },
    /// Refuse the object. `code` is 403 for a policy refusal, 400 for bad input.
    Deny {
        message: String,
        code: u16,
        warnings: Vec<String>,
    },
}

impl Decision {
    /// Admit unchanged.
    pub fn allow() -> Self {
        Self::Allow {
            patch: json_patch::Patch(Vec::new()),
            warnings: Vec::new(),
        }
    }

    /// Admit with the changes that turn `before` into `after`, computed with
    /// `json_patch::diff`; no changes gives an empty patch.
    pub fn mutated(before: &Value, after: &Value) -> Self {
        Self::Allow {
            patch: json_patch::diff(before, after),
            warnings: Vec::new(),
        }
    }

    /// Refuse by policy (HTTP-like code 403).
    pub fn deny(message: impl Into<String>) -> Self {
        Self::Deny {
            message: message.into(),
            code: 403,
            warnings: Vec::new(),
        }
    }

    /// Refuse a request the policy cannot read (code 400).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::Deny {
            message: message.into(),
            code: 400,
            warnings: Vec::new(),
        }
    }

    /// Adds warnings shown to the client (kubectl prints them).
    pub fn with_warnings(mut self, extra: Vec<String>) -> Self {
        match &mut self {
            Self::Allow { warnings, .. } | Self::Deny { warnings, .. } => warnings.extend(extra),
        }
        self
    }
}

/// What the host hands the server: its defaulting and validation.
pub trait Policy: Send + Sync + 'static {
    /// Called on `/mutate`: defaults to fill in.
    fn mutate(&self, request: &AdmissionRequest<DynamicObject>) -> Decision;
    /// Called on `/validate`: admit or refuse.
    fn validate(&self, request: &AdmissionRequest<DynamicObject>) -> Decision;
}

/// Settings of the server.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// PEM certificate chain, reloaded when it changes.
    pub cert_path: PathBuf,
    /// PEM private key, reloaded when it changes.
    pub key_path: PathBuf,
    /// Largest request body accepted.
    pub body_limit: usize,
    /// Time allowed for the TLS handshake and for reading a request's headers.
    pub header_read_timeout: Duration,
    /// How often the certificate files are checked for a change.
    pub reload_interval: Duration,
    /// How long in-flight requests may take to finish on shutdown.
    pub shutdown_grace: Duration,
    /// What else `/readyz` depends on besides this server listening, for a host that
    /// runs more than the webhook in the same process.
    pub readiness: Option<ReadinessCheck>,
}

/// A check the host hands to `/readyz`: `Err` carries why the process is not ready,
/// which becomes the body of the 503 answer.
#[derive(Clone)]
pub struct ReadinessCheck(Arc<dyn Fn() -> Result<(), String> + Send + Sync>);

impl ReadinessCheck {
    pub fn new(check: impl Fn() -> Result<(), String> + Send + Sync + 'static) -> Self {
        Self(Arc::new(check))
    }

    fn check(&self) -> Result<(), String> {
        (self.0)()
    }
}

impl std::fmt::Debug for ReadinessCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadinessCheck")
    }
}

impl ServerOptions {
    /// Defaults fit for a cluster: 6 MiB bodies (an object and its old version), a 5 s
    /// header timeout, certificate checks every 10 s.
    pub fn new(listen: SocketAddr, cert_path: PathBuf, key_path: PathBuf) -> Self {
        Self {
            listen,
            cert_path,
            key_path,
            body_limit: 6 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(5),
            reload_interval: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            readiness: None,
        }
    }
}

/// Why the server could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("serving certificate: {0}")]
    Tls(#[from] TlsError),
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

#[derive(Clone)]
struct AppState {
    policy: Arc<dyn Policy>,
    metrics: Metrics,
    registry: Arc<Registry>,
    ready: Arc<AtomicBool>,
    readiness: Option<ReadinessCheck>,
}

/// A bound admission server, ready to run.
pub struct Server {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    certificate: Arc<ReloadingCertificate>,
    router: Router,
    options: ServerOptions,
    ready: Arc<AtomicBool>,
}

impl Server {
    /// Loads the certificate and binds the listener; fails early on either.
    pub async fn bind(
        options: ServerOptions,
        policy: Arc<dyn Policy>,
        metrics: Metrics,
        registry: Arc<Registry>,
    ) -> Result<Self, ServerError> {
        let certificate = Arc::new(ReloadingCertificate::load(
            &options.cert_path,
            &options.key_path,
        )?);
        let acceptor = TlsAcceptor::from(Arc::new(certificate.server_config()?));
        let listener =
            TcpListener::bind(options.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: options.listen,
                    source,
                })?;
        let ready = Arc::new(AtomicBool::new(false));
        let router = router(
            AppState {
                policy,
                metrics,
                registry,
                ready: ready.clone(),
                readiness: options.readiness.clone(),
            },
            options.body_limit,
        );
        Ok(Self {
            listener,
            acceptor,
            certificate,
            router,
            options,
            ready,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.options.listen)
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish within
    /// the grace period.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(
            self.certificate
                .clone()
                .watch(self.options.reload_interval, stop_rx),
        );
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.options.header_read_timeout);
        builder.http2().timer(TokioTimer::new());
        let builder = Arc::new(builder);
        self.ready.store(true, Ordering::SeqCst);
        tracing::info!(addr = %self.local_addr(), "admission server listening");

        tokio::pin!(shutdown);
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(conn) => conn,
                    Err(error) => {
                        // Out of descriptors and the like: back off instead of spinning.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = &mut shutdown => break,
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = self.acceptor.clone();
            let service = TowerToHyperService::new(self.router.clone());
            let builder = builder.clone();
            let handshake_timeout = self.options.header_read_timeout;
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await
                {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(error)) => {
                        tracing::debug!(%peer, %error, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                };
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
                if let Err(error) = watcher.watch(conn.into_owned()).await {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
            });
        }

        self.ready.store(false, Ordering::SeqCst);
        let _ = stop_tx.send(true);
        tracing::info!("admission server draining");
        if tokio::time::timeout(self.options.shutdown_grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("in-flight admission requests did not finish within the grace period");
        }
    }
}

fn router(state: AppState, body_limit: usize) -> Router {
    Router::new()
        .route("/mutate", post(mutate))
        .route("/validate", post(validate))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

async fn readyz(State(state): State<AppState>) -> Response {
    if !state.ready.load(Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the server is stopping",
        )
            .into_response();
    }
    match state.readiness.as_ref().map(ReadinessCheck::check) {
        Some(Err(why)) => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}")).into_response()
        }
        _ => (StatusCode::OK, "ready").into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &state.registry) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

async fn mutate(
    State(state): State<AppState>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    answer(&state, Review::Mutate, body)
}

async fn validate(
    State(state): State<AppState>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    answer(&state, Review::Validate, body)
}

fn answer(
    state: &AppState,
    review: Review,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let started = Instant::now();
    let (status, outcome, response) = match body {
        Err(rejection) => (
            rejection.status(),
            Outcome::Errored,
            error_response(String::new(), rejection.status(), rejection.body_text()),
        ),
        Ok(body) => match read_request(&body) {
            Err((uid, message)) => (
                StatusCode::BAD_REQUEST,
                Outcome::Errored,
                error_response(uid, StatusCode::BAD_REQUEST, message),
            ),
            Ok(request) => {
                let decision = match review {
                    Review::Mutate => state.policy.mutate(&request),
                    Review::Validate => state.policy.validate(&request),
                };
                let (outcome, response) = respond(&request, decision);
                (StatusCode::OK, outcome, response)
            }
        },
    };
    state
        .metrics
        .observe(review, outcome, started.elapsed().as_secs_f64());
    (status, axum::Json(response.into_review())).into_response()
}

/// Parses an AdmissionReview v1 request; on failure, the uid if one could be found
/// and a message saying what is wrong. The happy path parses once, straight into the
/// typed review; only a failure pays for a second, diagnostic parse.
fn read_request(body: &[u8]) -> Result<AdmissionRequest<DynamicObject>, (String, String)> {
    if let Ok(review) = serde_json::from_slice::<AdmissionReview<DynamicObject>>(body)
        && review.types.api_version == "admission.k8s.io/v1"
        && review.types.kind == "AdmissionReview"
        && let Ok(request) = review.try_into()
    {
        return Ok(request);
    }
    Err(diagnose(body))
}

/// Why a body is not an AdmissionReview v1 request, with its uid when it has one.
fn diagnose(body: &[u8]) -> (String, String) {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => return (String::new(), format!("request body is not JSON: {e}")),
    };
    let uid = value
        .pointer("/request/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let api_version = value.get("apiVersion").and_then(Value::as_str);
    let kind = value.get("kind").and_then(Value::as_str);
    if api_version != Some("admission.k8s.io/v1") || kind != Some("AdmissionReview") {
        let message = format!(
            "expected an admission.k8s.io/v1 AdmissionReview, got {}/{}; set admissionReviewVersions: [\"v1\"] in the webhook configuration",
            api_version.unwrap_or("<none>"),
            kind.unwrap_or("<none>")
        );
        return (uid, message);
    }
    match serde_json::from_value::<AdmissionReview<DynamicObject>>(value) {
        Err(e) => (uid, format!("malformed AdmissionReview: {e}")),
        Ok(_) => (uid, "AdmissionReview has no request".to_string()),
    }
}

fn respond(
    request: &AdmissionRequest<DynamicObject>,
    decision: Decision,
) -> (Outcome, AdmissionResponse) {
    let response = AdmissionResponse::from(request);
    match decision {
        Decision::Allow { patch, warnings } => {
            let response = with_warnings(response, warnings);
            if patch.0.is_empty() {
                return (Outcome::Allowed, response);
            }
            match response.clone().with_patch(patch) {
                Ok(patched) => (Outcome::Allowed, patched),
                Err(error) => {
                    let mut denied = response.deny(format!("could not encode the patch: {error}"));
                    denied.result.code = 500;
                    (Outcome::Errored, denied)
                }
            }
        }
        Decision::Deny {
            message,
            code,
            warnings,
        } => {
            let mut denied = with_warnings(response, warnings).deny(message);
            denied.result.code = code;
            denied.result.reason = if code == 400 {
                "BadRequest"
            } else {
                "Forbidden"
            }
            .into();
            let outcome = if code == 400 {
                Outcome::Errored
            } else {
                Outcome::Denied
            };
            (outcome, denied)
        }
    }
}

fn with_warnings(mut response: AdmissionResponse, warnings: Vec<String>) -> AdmissionResponse {
    if !warnings.is_empty() {
        response.warnings = Some(warnings);
    }
    response
}

fn error_response(uid: String, status: StatusCode, message: String) -> AdmissionResponse {
    let mut response = AdmissionResponse::invalid(message);
    response.uid = uid;
    response.result.code = status.as_u16();
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request_json(uid: &str) -> Value {
        json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": uid,
                "kind": {"group": "example.com", "version": "v1", "kind": "Widget"},
                "resource": {"group": "example.com", "version": "v1", "resource": "widgets"},
                "name": "w",
                "namespace": "default",
                "operation": "CREATE",
                "userInfo": {},
                "object": {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}},
                "dryRun": false
            }
        })
    }

    #[test]
    fn mutated_diffs_with_json_patch_and_is_empty_without_changes() {
        let before = json!({"spec": {"a": 1}});
        let after = json!({"spec": {"a": 1, "b": 2}});
        let Decision::Allow { patch, .. } = Decision::mutated(&before, &after) else {
            panic!("allowed")
        };
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!([{"op": "add", "path": "/spec/b", "value": 2}])
        );
        let Decision::Allow { patch, .. } = Decision::mutated(&before, &before) else {
            panic!("allowed")
        };
        assert!(patch.0.is_empty());
    }

    #[test]
    fn read_request_accepts_v1_and_keeps_the_uid_on_errors() {
        let request = read_request(request_json("u-1").to_string().as_bytes()).expect("valid");
        assert_eq!(request.uid, "u-1");

        let mut beta = request_json("u-2");
        beta["apiVersion"] = json!("admission.k8s.io/v1beta1");
        let (uid, message) = read_request(beta.to_string().as_bytes()).unwrap_err();
        assert_eq!(uid, "u-2");
        assert!(
            message.contains("admission.k8s.io/v1beta1/AdmissionReview"),
            "{message}"
        );

        let (uid, message) = read_request(b"[1,2").unwrap_err();
        assert_eq!(uid, "");
        assert!(message.contains("not JSON"));
    }

    #[test]
    fn respond_carries_uid_warnings_codes_and_patch() {
        let request = read_request(request_json("u-3").to_string().as_bytes()).unwrap();
        let (outcome, response) = respond(
            &request,
            Decision::deny("no").with_warnings(vec!["careful".into()]),
        );
        assert_eq!(outcome, Outcome::Denied);
        assert_eq!(response.uid, "u-3");
        assert!(!response.allowed);
        assert_eq!(response.result.code, 403);
        assert_eq!(response.warnings, Some(vec!["careful".to_string()]));

        let (outcome, response) = respond(&request, Decision::bad_request("unreadable"));
        assert_eq!(outcome, Outcome::Errored);
        assert_eq!(response.result.code, 400);

        let (outcome, response) =
            respond(&request, Decision::mutated(&json!({}), &json!({"x": 1})));
        assert_eq!(outcome, Outcome::Allowed);
        assert!(response.allowed);
        assert!(response.patch.is_some());

        let (_, response) = respond(&request, Decision::allow());
        assert!(response.patch.is_none());
    }
}
