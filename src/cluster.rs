//! Reaching the Kubernetes API: loading the configuration, connecting, and checking that
//! the CRDs are installed and readable, with the real cause of a failure named (TLS, DNS,
//! refused, timeout, unauthorized, forbidden, missing CRDs, no configuration) together
//! with the address tried. Does network IO; the classification is pure.

use std::error::Error as StdError;
use std::fmt;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::{Client, Config};

use crate::api::{KafkaBackup, KafkaRestore};

/// Why the API cannot be used yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// Neither a kubeconfig nor an in-cluster service account could be loaded.
    NoConfiguration,
    /// The TLS handshake failed (unknown CA, wrong name, bad client certificate).
    Tls,
    /// The server's host name does not resolve.
    Dns,
    /// Nothing listens at the address.
    Refused,
    /// The server did not answer in time.
    Timeout,
    /// The server refused the credentials (401).
    Unauthorized,
    /// The credentials may not list the operator's resources (403): RBAC.
    Forbidden,
    /// The KafkaBackup/KafkaRestore CRDs are not installed.
    CrdsMissing,
    /// Anything else.
    Other,
}

impl Cause {
    /// A short, stable label for logs.
    pub fn label(self) -> &'static str {
        match self {
            Cause::NoConfiguration => "no-configuration",
            Cause::Tls => "tls",
            Cause::Dns => "dns",
            Cause::Refused => "refused",
            Cause::Timeout => "timeout",
            Cause::Unauthorized => "unauthorized",
            Cause::Forbidden => "forbidden",
            Cause::CrdsMissing => "crds-missing",
            Cause::Other => "other",
        }
    }

    /// Whether waiting cannot help: the configuration or RBAC must change, so the process
    /// should end and be restarted (in a pod) or corrected (on a terminal).
    pub fn is_fatal(self) -> bool {
        matches!(self, Cause::Unauthorized | Cause::Forbidden)
    }

    /// What to do about it.
    fn way_out(self) -> &'static str {
        match self {
            Cause::NoConfiguration => {
                "set KUBECONFIG to a kubeconfig file, or run in a pod with a service account"
            }
            Cause::Tls => {
                "check the CA (certificate-authority-data) and the server name in the kubeconfig"
            }
            Cause::Dns => "check the server address in the kubeconfig",
            Cause::Refused => "is the API server running at that address?",
            Cause::Timeout => "check the network path to the API server",
            Cause::Unauthorized => "the credentials in the kubeconfig were refused; renew them",
            Cause::Forbidden => {
                "grant the operator's ServiceAccount the RBAC of manifests/base/rbac.yaml"
            }
            Cause::CrdsMissing => "install the CRDs: kubectl apply -k manifests/crds/",
            Cause::Other => "see the error",
        }
    }
}

/// A failure to reach or use the API, with its cause and the address tried.
#[derive(Debug)]
pub struct ConnectError {
    pub cause: Cause,
    /// The API server's URL, once a configuration was loaded.
    pub address: Option<String>,
    /// The whole error chain, outermost first.
    pub detail: String,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let address = self.address.as_deref().unwrap_or("(no address)");
        write!(
            f,
            "Kubernetes API {address}: {} ({}): {}",
            self.cause.label(),
            self.cause.way_out(),
            self.detail
        )
    }
}

impl StdError for ConnectError {}

/// Every message of an error's chain, outermost first, without repeats (many wrappers
/// print their source's message again).
pub fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// The cause of a failed API call, from the error chain.
pub fn classify(error: &kube::Error) -> Cause {
    if let kube::Error::Api(status) = error {
        return match status.code {
            401 => Cause::Unauthorized,
            403 => Cause::Forbidden,
            404 => Cause::CrdsMissing,
            _ => Cause::Other,
        };
    }
    if matches!(error, kube::Error::InferConfig(_)) {
        return Cause::NoConfiguration;
    }
    let mut next: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = next {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return Cause::Tls;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
            {
                return Cause::Tls;
            }
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return Cause::Refused,
                std::io::ErrorKind::TimedOut => return Cause::Timeout,
                _ => {}
            }
        }
        if e.is::<tokio::time::error::Elapsed>() {
            return Cause::Timeout;
        }
        // Some layers box their source twice, which hides its type from a downcast:
        // the messages of rustls and of the resolver still say what happened.
        let text = e.to_string();
        if [
            "invalid peer certificate",
            "received fatal alert",
            "peer is incompatible",
        ]
        .iter()
        .any(|m| text.contains(m))
        {
            return Cause::Tls;
        }
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return Cause::Dns;
        }
        next = e.source();
    }
    Cause::Other
}

fn failure(error: &kube::Error, address: &str) -> ConnectError {
    ConnectError {
        cause: classify(error),
        address: Some(address.to_string()),
        detail: error_chain(error),
    }
}

/// The controller's clients of one API server: both count every request they send;
/// `api`, for the controllers, also keeps to a request rate, while `lease` does not, so
/// that a backlog of reconciles never delays the renewal of the leader's Lease.
#[derive(Clone)]
pub struct Clients {
    pub api: Client,
    pub lease: Client,
}

/// Requests per second the controllers' client may send (`0`: no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestRate(pub u32);

/// Loads the configuration (kubeconfig or in-cluster), connects, and checks that both
/// CRDs can be listed. Returns the clients and the server's version.
/// Every request a client sends is first shown to `on_request` (the controller counts
/// them); the controllers' client sends at most `rate` requests a second (client-go's
/// `--kube-api-qps`, with a burst of as many), waiting when it would send more.
pub async fn connect(
    on_request: impl Fn(&http::Request<kube::client::Body>) + Clone + Send + Sync + 'static,
    rate: RequestRate,
) -> Result<(Clients, String), ConnectError> {
    let config = Config::infer().await.map_err(|error| ConnectError {
        cause: Cause::NoConfiguration,
        address: None,
        detail: error_chain(&error),
    })?;
    let address = config.cluster_url.to_string();
    let builder = || {
        let counted = on_request.clone();
        kube::client::ClientBuilder::try_from(config.clone())
            .map_err(|error| {
                let mut failed = failure(&error, &address);
                if failed.cause == Cause::Other {
                    // Building a client fails on unusable TLS material, before any connection.
                    failed.cause = Cause::Tls;
                }
                failed
            })
            .map(|builder| {
                builder.with_layer(&tower::util::MapRequestLayer::new(
                    move |request: http::Request<kube::client::Body>| {
                        counted(&request);
                        request
                    },
                ))
            })
    };
    let lease = builder()?.build();
    let api = match rate.0 {
        0 => builder()?.build(),
        per_second => builder()?
            .with_layer(&tower::limit::RateLimitLayer::new(
                u64::from(per_second),
                std::time::Duration::from_secs(1),
            ))
            .build(),
    };
    let version = api
        .apiserver_version()
        .await
        .map_err(|error| failure(&error, &address))?;
    let probe = ListParams::default().limit(1);
    Api::<KafkaRestore>::all(api.clone())
        .list_metadata(&probe)
        .await
        .map_err(|error| failure(&error, &address))?;
    Api::<KafkaBackup>::all(api.clone())
        .list_metadata(&probe)
        .await
        .map_err(|error| failure(&error, &address))?;
    Ok((Clients { api, lease }, version.git_version))
}

/// The name of the operator's container in its Deployment.
pub const OPERATOR_CONTAINER: &str = "operator";

/// The image the operator runs from, read from its own pod: the container named
/// [`OPERATOR_CONTAINER`], or the only container. Backup and restore Jobs run the same
/// image unless told otherwise, so setting the Deployment's image (kustomize `images:`)
/// is enough to move both.
pub fn running_image(pod: &Pod) -> Result<String, String> {
    let containers = pod
        .spec
        .as_ref()
        .map(|spec| spec.containers.as_slice())
        .unwrap_or_default();
    let container = match containers {
        [only] => Some(only),
        _ => containers.iter().find(|c| c.name == OPERATOR_CONTAINER),
    };
    container.and_then(|c| c.image.clone()).ok_or_else(|| {
        format!(
            "pod '{}' has no container named '{OPERATOR_CONTAINER}' with an image; \
             set KAFKA_BACKUP_WORKER_IMAGE to the worker image",
            pod.metadata.name.as_deref().unwrap_or_default()
        )
    })
}

/// Reads this pod (`POD_NAMESPACE`/`POD_NAME`) and returns its operator image.
pub async fn own_image(client: Client, namespace: &str, name: &str) -> anyhow::Result<String> {
    let pod = Api::<Pod>::namespaced(client, namespace)
        .get(name)
        .await
        .map_err(|error| {
            anyhow::anyhow!(
                "cannot read this pod {namespace}/{name} to learn the worker image ({}); \
                 grant `get` on pods in {namespace} or set KAFKA_BACKUP_WORKER_IMAGE",
                error_chain(&error)
            )
        })?;
    running_image(&pod).map_err(anyhow::Error::msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(containers: &[(&str, &str)]) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "kafka-backup-operator-7d9f-abcde"},
            "spec": {"containers": containers.iter()
                .map(|(name, image)| serde_json::json!({"name": name, "image": image}))
                .collect::<Vec<_>>()}
        }))
        .expect("pod")
    }

    #[test]
    fn the_worker_image_is_the_operator_containers_image() {
        let sidecar = pod(&[
            ("proxy", "envoy:1"),
            ("operator", "registry.example/kbo:1.2.3"),
        ]);
        assert_eq!(
            running_image(&sidecar).unwrap(),
            "registry.example/kbo:1.2.3"
        );
        let renamed = pod(&[("main", "registry.example/kbo@sha256:ab")]);
        assert_eq!(
            running_image(&renamed).unwrap(),
            "registry.example/kbo@sha256:ab"
        );
    }

    #[test]
    fn an_unknown_container_layout_names_the_way_out() {
        let error = running_image(&pod(&[("a", "x:1"), ("b", "y:1")])).unwrap_err();
        assert!(error.contains("'operator'"), "{error}");
        assert!(error.contains("KAFKA_BACKUP_WORKER_IMAGE"), "{error}");
    }

    fn api_error(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(
            kube::core::Status::failure("refused", "").with_code(code),
        ))
    }

    #[test]
    fn api_answers_are_classified_by_code() {
        assert_eq!(classify(&api_error(401)), Cause::Unauthorized);
        assert_eq!(classify(&api_error(403)), Cause::Forbidden);
        assert_eq!(classify(&api_error(404)), Cause::CrdsMissing);
        assert_eq!(classify(&api_error(500)), Cause::Other);
    }

    #[test]
    fn only_credentials_and_rbac_are_fatal() {
        assert!(Cause::Unauthorized.is_fatal());
        assert!(Cause::Forbidden.is_fatal());
        for cause in [
            Cause::NoConfiguration,
            Cause::Tls,
            Cause::Dns,
            Cause::Refused,
            Cause::Timeout,
            Cause::CrdsMissing,
            Cause::Other,
        ] {
            assert!(!cause.is_fatal(), "{cause:?}");
        }
    }

    #[test]
    fn io_causes_are_found_below_wrappers() {
        let refused =
            kube::Error::ReadEvents(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(classify(&refused), Cause::Refused);
        let tls = kube::Error::ReadEvents(std::io::Error::other(
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        ));
        assert_eq!(classify(&tls), Cause::Tls);
        // Boxed twice: only the message is left to go by.
        let hidden = kube::Error::Service(Box::new(std::io::Error::other(
            "client error (Connect): invalid peer certificate: BadSignature",
        )));
        assert_eq!(classify(&hidden), Cause::Tls);
    }

    #[test]
    fn the_message_names_address_cause_and_way_out() {
        let error = failure(&api_error(403), "https://10.0.0.1:6443/");
        let text = error.to_string();
        assert!(text.contains("https://10.0.0.1:6443/"), "{text}");
        assert!(text.contains("forbidden"), "{text}");
        assert!(text.contains("rbac.yaml"), "{text}");
    }

    #[test]
    fn the_chain_keeps_every_distinct_message_once() {
        let inner = std::io::Error::other("invalid peer certificate: UnknownIssuer");
        let outer = kube::Error::ReadEvents(inner);
        let chain = error_chain(&outer);
        assert_eq!(chain.matches("UnknownIssuer").count(), 1, "{chain}");
    }
}
