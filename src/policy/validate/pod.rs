//! Validation of what shapes the worker's pod: the image, both template conventions
//! (`template.*` and `template.pod.*`/`template.container.*`), `env`, `resources`,
//! security settings (which must keep the pod within Pod Security `restricted`),
//! logging and metrics. No IO.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    EnvVar, PodSecurityContext, ResourceRequirements, SeccompProfile, SecurityContext,
};

use crate::api::{Logging, PodTemplate, WorkerMetrics};
use crate::policy::{Review, syntax};

/// Sysctls Pod Security `baseline` (and so `restricted`) allows.
const SAFE_SYSCTLS: [&str; 10] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];
const RESTRICTED: &str = "the worker's pod must meet the Pod Security Standard 'restricted'";

/// The worker's pod settings of a resource.
pub(super) struct PodInput<'a> {
    pub image: Option<&'a str>,
    pub template: Option<&'a PodTemplate>,
    pub env: &'a [EnvVar],
    pub resources: Option<&'a ResourceRequirements>,
    pub logging: Option<&'a Logging>,
    pub metrics: Option<&'a WorkerMetrics>,
}

pub(super) fn check_pod(review: &mut Review, input: PodInput<'_>) {
    if let Some(image) = input.image
        && let Err(e) = syntax::image(image)
    {
        review.violation("spec.image", e);
    }
    let template = input.template.cloned().unwrap_or_default();
    let pod = template.pod.clone().unwrap_or_default();
    let container = template.container.clone().unwrap_or_default();
    const T: &str = "spec.template";
    let twice = |review: &mut Review, ours: &str, theirs: &str, both: bool| {
        if both {
            review.violation(
                format!("{T}.{theirs}"),
                format!("and {T}.{ours} are the same setting; give it once"),
            );
        }
    };
    twice(
        review,
        "serviceAccountName",
        "pod.serviceAccountName",
        template.service_account_name.is_some() && pod.service_account_name.is_some(),
    );
    twice(
        review,
        "affinity",
        "pod.affinity",
        template.affinity.is_some() && pod.affinity.is_some(),
    );
    twice(
        review,
        "tolerations",
        "pod.tolerations",
        template.tolerations.is_some() && pod.tolerations.is_some(),
    );
    twice(
        review,
        "imagePullSecrets",
        "pod.imagePullSecrets",
        template.image_pull_secrets.is_some() && pod.image_pull_secrets.is_some(),
    );
    if template.resources.is_some() && input.resources.is_some() {
        review.violation(
            "spec.resources",
            format!("and {T}.resources are the same setting; give it once"),
        );
    }
    for sa in [&template.service_account_name, &pod.service_account_name]
        .into_iter()
        .flatten()
    {
        if let Err(e) = syntax::dns_subdomain(sa) {
            review.violation(format!("{T}.serviceAccountName"), e);
        }
    }
    if let Some(pc) = &template.priority_class_name
        && let Err(e) = syntax::dns_subdomain(pc)
    {
        review.violation(format!("{T}.priorityClassName"), e);
    }
    for (i, secret) in template
        .image_pull_secrets
        .iter()
        .chain(pod.image_pull_secrets.iter())
        .flatten()
        .enumerate()
    {
        if let Err(e) = syntax::dns_subdomain(&secret.name) {
            review.violation(format!("{T}.imagePullSecrets[{i}].name"), e);
        }
    }
    for (i, alias) in pod.host_aliases.iter().flatten().enumerate() {
        if alias.ip.parse::<std::net::IpAddr>().is_err() {
            review.violation(
                format!("{T}.pod.hostAliases[{i}].ip"),
                format!("'{}' is not an IP address", alias.ip),
            );
        }
    }
    let metadata = pod.metadata.clone().unwrap_or_default();
    for (field, labels) in [
        ("labels", template.labels.as_ref()),
        ("pod.metadata.labels", metadata.labels.as_ref()),
    ] {
        check_labels(review, &format!("{T}.{field}"), labels);
    }
    check_env(review, &template, input.env, input.logging);
    if let Some(security) = &pod.security_context {
        check_pod_security(review, security);
    }
    if let Some(security) = &container.security_context {
        check_container_security(review, security);
    }
    if let Some(logging) = input.logging {
        check_logging(review, logging);
    }
    if let Some(metrics) = input.metrics {
        check_metrics(review, metrics);
    }
}

/// The operator finds and cleans up its pods by its labels (R4, R6); a user's copy
/// would make a pod look like the operator's, or the operator's like a user's.
fn check_labels(review: &mut Review, field: &str, labels: Option<&BTreeMap<String, String>>) {
    for key in labels.into_iter().flat_map(|l| l.keys()) {
        let reserved = key
            .split_once('/')
            .is_some_and(|(prefix, _)| prefix == crate::constants::API_GROUP)
            || key == crate::controller::names::LABEL_MANAGED_BY;
        if reserved {
            review.violation(
                format!("{field}[{key}]"),
                "this label is set by the operator on the pods it makes; remove it from the template",
            );
        }
    }
}

fn check_env(
    review: &mut Review,
    template: &PodTemplate,
    env: &[EnvVar],
    logging: Option<&Logging>,
) {
    let container_env = template
        .container
        .as_ref()
        .and_then(|c| c.env.clone())
        .unwrap_or_default();
    // In the order PodSettings applies them: a later list overrides an earlier one.
    let sources = [
        ("spec.env", env.to_vec()),
        (
            "spec.template.env",
            template.env.clone().unwrap_or_default(),
        ),
        ("spec.template.container.env", container_env),
    ];
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (field, vars) in &sources {
        let mut here = std::collections::BTreeSet::new();
        for (i, var) in vars.iter().enumerate() {
            if let Err(e) = syntax::env_name(&var.name) {
                review.violation(format!("{field}[{i}].name"), e);
            }
            if !here.insert(var.name.as_str()) {
                review.violation(
                    format!("{field}[{i}].name"),
                    format!("'{}' is set twice in this list; set it once", var.name),
                );
            } else if let Some(earlier) = seen.insert(var.name.clone(), field) {
                review.warning(
                    &format!("{field}[{i}].name"),
                    format!(
                        "'{}' is also set in {earlier}; this value is used (spec.template.container.env overrides spec.template.env, which overrides spec.env)",
                        var.name
                    ),
                );
            }
        }
    }
    let filtered = logging.is_some_and(|l| l.level.is_some() || !l.modules.is_empty());
    if filtered && seen.contains_key("RUST_LOG") {
        review.warning(
            "spec.env",
            "RUST_LOG is set, so it decides the worker's log levels instead of spec.logging.level and spec.logging.modules",
        );
    }
}

fn seccomp_ok(profile: Option<&SeccompProfile>) -> bool {
    profile.is_none_or(|p| p.type_ == "RuntimeDefault" || p.type_ == "Localhost")
}

fn check_pod_security(review: &mut Review, security: &PodSecurityContext) {
    const P: &str = "spec.template.pod.securityContext";
    if security.run_as_non_root == Some(false) {
        review.violation(
            format!("{P}.runAsNonRoot"),
            format!("must stay true: {RESTRICTED}"),
        );
    }
    if security.run_as_user == Some(0) {
        review.violation(
            format!("{P}.runAsUser"),
            format!("must not be 0 (root): {RESTRICTED}"),
        );
    }
    if !seccomp_ok(security.seccomp_profile.as_ref()) {
        review.violation(
            format!("{P}.seccompProfile.type"),
            format!("must be RuntimeDefault or Localhost: {RESTRICTED}"),
        );
    }
    if security
        .windows_options
        .as_ref()
        .is_some_and(|w| w.host_process == Some(true))
    {
        review.violation(format!("{P}.windowsOptions.hostProcess"), RESTRICTED);
    }
    for (i, sysctl) in security.sysctls.iter().flatten().enumerate() {
        if !SAFE_SYSCTLS.contains(&sysctl.name.as_str()) {
            review.violation(
                format!("{P}.sysctls[{i}].name"),
                format!("'{}' is not a safe sysctl: {RESTRICTED}", sysctl.name),
            );
        }
    }
    check_selinux(review, P, security.se_linux_options.as_ref());
}

fn check_selinux(
    review: &mut Review,
    field: &str,
    options: Option<&k8s_openapi::api::core::v1::SELinuxOptions>,
) {
    let allowed = [
        "container_t",
        "container_init_t",
        "container_kvm_t",
        "container_engine_t",
    ];
    if let Some(kind) = options.and_then(|o| o.type_.as_deref())
        && !allowed.contains(&kind)
    {
        review.violation(
            format!("{field}.seLinuxOptions.type"),
            format!(
                "'{kind}' is not one of {}: {RESTRICTED}",
                allowed.join(", ")
            ),
        );
    }
    if options.is_some_and(|o| o.user.is_some() || o.role.is_some()) {
        review.violation(
            format!("{field}.seLinuxOptions"),
            format!("user and role cannot be set: {RESTRICTED}"),
        );
    }
}

fn check_container_security(review: &mut Review, security: &SecurityContext) {
    const C: &str = "spec.template.container.securityContext";
    if security.privileged == Some(true) {
        review.violation(format!("{C}.privileged"), RESTRICTED);
    }
    if security.allow_privilege_escalation == Some(true) {
        review.violation(
            format!("{C}.allowPrivilegeEscalation"),
            format!("must stay false: {RESTRICTED}"),
        );
    }
    if security.run_as_non_root == Some(false) {
        review.violation(
            format!("{C}.runAsNonRoot"),
            format!("must stay true: {RESTRICTED}"),
        );
    }
    if security.run_as_user == Some(0) {
        review.violation(
            format!("{C}.runAsUser"),
            format!("must not be 0 (root): {RESTRICTED}"),
        );
    }
    if !seccomp_ok(security.seccomp_profile.as_ref()) {
        review.violation(
            format!("{C}.seccompProfile.type"),
            format!("must be RuntimeDefault or Localhost: {RESTRICTED}"),
        );
    }
    if let Some(caps) = &security.capabilities {
        for (i, cap) in caps.add.iter().flatten().enumerate() {
            if cap != "NET_BIND_SERVICE" {
                review.violation(
                    format!("{C}.capabilities.add[{i}]"),
                    format!("'{cap}' cannot be added, only NET_BIND_SERVICE: {RESTRICTED}"),
                );
            }
        }
    }
    if security
        .proc_mount
        .as_deref()
        .is_some_and(|m| m != "Default")
    {
        review.violation(
            format!("{C}.procMount"),
            format!("must be Default: {RESTRICTED}"),
        );
    }
    if security
        .windows_options
        .as_ref()
        .is_some_and(|w| w.host_process == Some(true))
    {
        review.violation(format!("{C}.windowsOptions.hostProcess"), RESTRICTED);
    }
    check_selinux(review, C, security.se_linux_options.as_ref());
}

fn check_level(review: &mut Review, field: &str, level: &str) {
    if !LOG_LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
        review.violation(
            field,
            format!(
                "'{level}' is not a level; use one of {}",
                LOG_LEVELS.join(", ")
            ),
        );
    }
}

fn check_logging(review: &mut Review, logging: &Logging) {
    const L: &str = "spec.logging";
    if let Some(level) = &logging.level {
        check_level(review, &format!("{L}.level"), level);
    }
    for (module, level) in &logging.modules {
        if module.is_empty() || module.contains([',', '=', ' ']) {
            review.violation(
                format!("{L}.modules"),
                format!("'{module}' is not a module path such as kafka_backup_core"),
            );
        }
        check_level(review, &format!("{L}.modules[{module}]"), level);
    }
    if let Some(format) = &logging.format
        && !["text", "json"].contains(&format.to_ascii_lowercase().as_str())
    {
        review.violation(
            format!("{L}.format"),
            format!("'{format}' is not text or json"),
        );
    }
    if let Some(output) = &logging.output
        && !["stderr", "stdout"].contains(&output.to_ascii_lowercase().as_str())
    {
        review.violation(
            format!("{L}.output"),
            format!("'{output}' would write logs to a file in the pod, lost with it and unseen by kubectl logs; use stderr or stdout"),
        );
    }
    if logging.rotation.is_some() {
        review.violation(
            format!("{L}.rotation"),
            "the worker logs to its container's output, which the kubelet rotates; remove it",
        );
    }
}

fn check_metrics(review: &mut Review, metrics: &WorkerMetrics) {
    const M: &str = "spec.metrics";
    if metrics.port == Some(0) {
        review.violation(format!("{M}.port"), "use a port from 1 to 65535");
    }
    if let Some(address) = &metrics.bind_address
        && address.parse::<std::net::IpAddr>().is_err()
    {
        review.violation(
            format!("{M}.bindAddress"),
            format!("'{address}' is not an IP address such as 0.0.0.0"),
        );
    }
    if let Some(path) = &metrics.path
        && !path.starts_with('/')
    {
        review.violation(format!("{M}.path"), format!("'{path}' must start with '/'"));
    }
    if metrics.update_interval_ms == Some(0) {
        review.violation(format!("{M}.updateIntervalMs"), "use 1 or more");
    }
    if metrics.enabled != Some(true)
        && (metrics.port.is_some() || metrics.path.is_some() || metrics.bind_address.is_some())
    {
        review.warning(
            M,
            "has settings but enabled is not true: the worker serves no metrics",
        );
    }
}
