//! Checks of single values: Kubernetes names, Kafka topic names, topic patterns, cron
//! expressions, time zones, quantities, times and addresses. Each returns the reason a
//! value is refused, in words a user can act on. No IO.

use std::sync::LazyLock;

use croner::parser::{CronParser, Seconds, Year};
use regex::Regex;

type Check = Result<(), String>;

static DNS1123_SUBDOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
        .expect("static regex")
});
static SECRET_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[-._a-zA-Z0-9]+$").expect("static regex"));
static TOPIC_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9._-]+$").expect("static regex"));
static ENV_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$").expect("static regex"));
static QUANTITY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$",
    )
    .expect("static regex")
});
static STRIMZI_LISTENER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]{1,25}$").expect("static regex"));
static S3_BUCKET: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$").expect("static regex"));
static REGION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9-]*$").expect("static regex"));
static DNS1123_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$").expect("static regex"));
static AZURE_ACCOUNT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]{3,24}$").expect("static regex"));
static AZURE_CONTAINER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]([a-z0-9]|-[a-z0-9]){2,62}$").expect("static regex"));
static BACKUP_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$").expect("static regex"));

/// A DNS-1123 subdomain: the name of most Kubernetes objects.
pub fn dns_subdomain(value: &str) -> Check {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.len() > 253 {
        return Err(format!("'{value}' is longer than 253 characters"));
    }
    if !DNS1123_SUBDOMAIN.is_match(value) {
        return Err(format!(
            "'{value}' is not a valid name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// A key within a Secret or ConfigMap.
pub fn secret_key(value: &str) -> Check {
    if value.is_empty() || value.len() > 253 || !SECRET_KEY.is_match(value) {
        return Err(format!(
            "'{value}' is not a valid Secret key: use letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

/// A Kafka topic name.
pub fn topic_name(value: &str) -> Check {
    if value.is_empty() || value.len() > 249 {
        return Err(format!(
            "'{value}' is not a valid topic name: use 1 to 249 characters"
        ));
    }
    if value == "." || value == ".." {
        return Err(format!("'{value}' is not a valid topic name"));
    }
    if !TOPIC_NAME.is_match(value) {
        return Err(format!(
            "'{value}' is not a valid topic name: use letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// A topic pattern: a glob, or a regular expression after a leading `~`.
pub fn topic_pattern(value: &str) -> Check {
    if let Some(expr) = value.strip_prefix('~') {
        if expr.is_empty() {
            return Err("'~' must be followed by a regular expression".into());
        }
        // Parsing is enough to know the worker can compile it, and far cheaper.
        return regex_syntax::Parser::new()
            .parse(expr)
            .map(|_| ())
            .map_err(|e| format!("'{value}' is not a valid regular expression: {e}"));
    }
    if value.is_empty() {
        return Err("a topic pattern must not be empty; use '*' for every topic".into());
    }
    globset::Glob::new(value)
        .map(|_| ())
        .map_err(|e| format!("'{value}' is not a valid glob: {e}"))
}

/// A schedule as a Kubernetes CronJob accepts it: five fields or a macro.
pub fn cron_expression(value: &str) -> Check {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err("must not be empty; e.g. '0 2 * * *' for 02:00 every day".into());
    }
    if trimmed.contains("TZ=") || trimmed.contains("CRON_TZ=") {
        return Err(
            "set the time zone in spec.schedule.timeZone, not in the cron expression".into(),
        );
    }
    if !trimmed.starts_with('@') {
        let fields = trimmed.split_whitespace().count();
        if fields != 5 {
            return Err(format!(
                "'{value}' has {fields} fields; a CronJob schedule has five: minute hour day-of-month month day-of-week"
            ));
        }
        // Quartz extensions the CronJob controller does not understand.
        if trimmed.contains(['L', 'W', '#']) {
            return Err(format!(
                "'{value}' uses L, W or #, which Kubernetes CronJobs do not support"
            ));
        }
    } else if trimmed == "@reboot" {
        return Err("'@reboot' has no meaning for a CronJob; use a time-based schedule".into());
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(trimmed)
        .map(|_| ())
        .map_err(|e| format!("'{value}' is not a valid cron expression: {e}"))
}

/// An IANA time zone name, as a CronJob's `timeZone` accepts it.
pub fn time_zone(value: &str) -> Check {
    if value.is_empty() || value.eq_ignore_ascii_case("local") {
        return Err(format!(
            "'{value}' is not an IANA time zone; use a name such as 'Etc/UTC' or 'Europe/Brussels'"
        ));
    }
    jiff::tz::TimeZone::get(value).map(|_| ()).map_err(|_| {
        format!("'{value}' is not a known IANA time zone; use a name such as 'Etc/UTC' or 'Europe/Brussels'")
    })
}

/// A Kubernetes resource quantity that is greater than zero, e.g. `1Gi`.
pub fn positive_quantity(value: &str) -> Check {
    if !QUANTITY.is_match(value) {
        return Err(format!(
            "'{value}' is not a quantity; use e.g. '1Gi' or '500Mi'"
        ));
    }
    let digits_nonzero = value
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '+')
        .any(|c| c.is_ascii_digit() && c != '0');
    if !digits_nonzero {
        return Err(format!("'{value}' must be greater than zero"));
    }
    Ok(())
}

/// An RFC 3339 time such as `2026-01-31T00:00:00Z`.
pub fn rfc3339(value: &str) -> Result<jiff::Timestamp, String> {
    value
        .parse::<jiff::Timestamp>()
        .map_err(|_| format!("'{value}' is not an RFC 3339 time; use e.g. '2026-01-31T00:00:00Z'"))
}

/// A comma-separated list of `host:port` bootstrap addresses.
pub fn bootstrap_servers(value: &str) -> Check {
    if value.trim().is_empty() {
        return Err("must list at least one broker as host:port, e.g. 'kafka:9092'".into());
    }
    for server in value.split(',').map(str::trim) {
        let Some((host, port)) = server.rsplit_once(':') else {
            return Err(format!(
                "'{server}' has no port; write it as host:port, e.g. 'kafka:9092'"
            ));
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(format!(
                "'{server}' has no valid host; write it as host:port"
            ));
        }
        match port.parse::<u16>() {
            Ok(p) if p > 0 => {}
            _ => return Err(format!("'{server}' has no valid port (1 to 65535)")),
        }
    }
    Ok(())
}

/// The listener name of a Strimzi Kafka resource.
pub fn strimzi_listener(value: &str) -> Check {
    if !STRIMZI_LISTENER.is_match(value) {
        return Err(format!(
            "'{value}' is not a Strimzi listener name: use 1 to 25 lower-case letters and digits, as in the Kafka resource's spec.kafka.listeners[].name"
        ));
    }
    Ok(())
}

/// A DNS-1123 label: the name of a namespace.
pub fn dns_label(value: &str) -> Check {
    if !DNS1123_LABEL.is_match(value) {
        return Err(format!(
            "'{value}' is not a namespace name: use up to 63 lower-case letters, digits and '-'"
        ));
    }
    Ok(())
}

/// An Azure storage account name.
pub fn azure_account(value: &str) -> Check {
    if !AZURE_ACCOUNT.is_match(value) {
        return Err(format!(
            "'{value}' is not a storage account name: use 3 to 24 lower-case letters and digits"
        ));
    }
    Ok(())
}

/// An Azure blob container name.
pub fn azure_container(value: &str) -> Check {
    if !AZURE_CONTAINER.is_match(value) || value.len() > 63 {
        return Err(format!(
            "'{value}' is not a container name: use 3 to 63 lower-case letters, digits and single '-' between them"
        ));
    }
    Ok(())
}

/// An S3 bucket name.
pub fn s3_bucket(value: &str) -> Check {
    if !S3_BUCKET.is_match(value) || value.contains("..") {
        return Err(format!(
            "'{value}' is not a valid bucket name: use 3 to 63 lower-case letters, digits, '.' and '-'"
        ));
    }
    Ok(())
}

/// An S3 region name such as `eu-west-1`.
pub fn s3_region(value: &str) -> Check {
    if !REGION.is_match(value) {
        return Err(format!(
            "'{value}' is not a region name such as 'eu-west-1'"
        ));
    }
    Ok(())
}

/// An http or https endpoint URL.
pub fn endpoint_url(value: &str) -> Check {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| format!("'{value}' must start with https:// or http://"))?;
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("'{value}' has no host"));
    }
    Ok(())
}

/// A path relative to a volume's root, which cannot leave it.
pub fn relative_path(value: &str) -> Check {
    if value.starts_with('/') {
        return Err(format!(
            "'{value}' must be relative to the volume's root (no leading '/')"
        ));
    }
    if value.split('/').any(|part| part == "..") {
        return Err(format!("'{value}' must not contain '..'"));
    }
    Ok(())
}

/// A backup identifier as the worker writes it.
pub fn backup_id(value: &str) -> Check {
    if !BACKUP_ID.is_match(value) {
        return Err(format!(
            "'{value}' is not a backup id: use letters, digits, '.', '_' and '-', as listed in the KafkaBackup's status.backupHistory"
        ));
    }
    Ok(())
}

/// An environment variable name.
pub fn env_name(value: &str) -> Check {
    if !ENV_NAME.is_match(value) {
        return Err(format!(
            "'{value}' is not a valid environment variable name"
        ));
    }
    Ok(())
}

/// A container image reference (only what can be checked without a registry).
pub fn image(value: &str) -> Check {
    if value.trim().is_empty() || value.contains(char::is_whitespace) {
        return Err(format!(
            "'{value}' is not an image reference such as 'ghcr.io/org/kafka-backup-operator:0.1.0'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_subdomain_accepts_names_and_refuses_others() {
        assert!(dns_subdomain("my-cluster").is_ok());
        assert!(dns_subdomain("a.b-c").is_ok());
        for bad in ["", "My-Cluster", "-a", "a-", "a_b", &"a".repeat(254)] {
            assert!(dns_subdomain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(topic_name("orders.v1_EU-2").is_ok());
        for bad in ["", ".", "..", "a b", "a/b", &"t".repeat(250)] {
            assert!(topic_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn topic_patterns_are_globs_or_tilde_regexes() {
        for good in ["*", "orders-*", "orders-[0-9]", "~^orders-[0-9]+$"] {
            assert!(topic_pattern(good).is_ok(), "{good}");
        }
        let err = topic_pattern("~orders-(").unwrap_err();
        assert!(err.contains("regular expression"), "{err}");
        assert!(topic_pattern("orders-[").unwrap_err().contains("glob"));
        assert!(topic_pattern("").is_err());
        assert!(topic_pattern("~").is_err());
    }

    #[test]
    fn cron_accepts_cronjob_schedules() {
        for good in [
            "0 2 * * *",
            "*/15 * * * *",
            "0 0 1 1 *",
            "30 3 * * MON-FRI",
            "@daily",
            "@hourly",
        ] {
            assert!(
                cron_expression(good).is_ok(),
                "{good}: {:?}",
                cron_expression(good)
            );
        }
    }

    #[test]
    fn cron_refuses_what_cronjobs_refuse() {
        for (bad, says) in [
            ("", "empty"),
            ("0 2 * *", "4 fields"),
            ("0 0 2 * * *", "6 fields"),
            ("61 * * * *", "not a valid cron"),
            ("0 0 L * *", "do not support"),
            ("TZ=UTC 0 2 * * *", "timeZone"),
            ("@reboot", "@reboot"),
            ("every day", "fields"),
        ] {
            let err = cron_expression(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn time_zones_come_from_the_iana_database() {
        assert!(time_zone("Etc/UTC").is_ok());
        assert!(time_zone("Europe/Brussels").is_ok());
        assert!(time_zone("Mars/Olympus").is_err());
        assert!(time_zone("Local").is_err());
        assert!(time_zone("").is_err());
    }

    #[test]
    fn quantities_must_be_positive() {
        for good in ["1Gi", "500Mi", "1.5Gi", "2e9", "1000"] {
            assert!(positive_quantity(good).is_ok(), "{good}");
        }
        for bad in ["0", "0Gi", "-1Gi", "1 Gi", "one", "1GB"] {
            assert!(positive_quantity(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_are_rfc3339() {
        assert!(rfc3339("2026-01-31T00:00:00Z").is_ok());
        assert!(rfc3339("2026-01-31T01:00:00+01:00").is_ok());
        assert!(rfc3339("yesterday").is_err());
        assert!(rfc3339("2026-01-31").is_err());
    }

    #[test]
    fn bootstrap_servers_are_host_port_lists() {
        assert!(bootstrap_servers("kafka:9092").is_ok());
        assert!(bootstrap_servers("a:9092, b:9093").is_ok());
        assert!(bootstrap_servers("[::1]:9092").is_ok());
        assert!(bootstrap_servers("kafka").unwrap_err().contains("no port"));
        assert!(bootstrap_servers("kafka:0").unwrap_err().contains("port"));
        assert!(bootstrap_servers("kafka:99999").is_err());
        assert!(bootstrap_servers(":9092").is_err());
        assert!(bootstrap_servers("").is_err());
    }

    #[test]
    fn s3_names_and_endpoints() {
        assert!(s3_bucket("my-kafka-backups").is_ok());
        assert!(s3_bucket("ab").is_err());
        assert!(s3_bucket("My_Bucket").is_err());
        assert!(s3_bucket("a..b").is_err());
        assert!(s3_region("eu-west-1").is_ok());
        assert!(s3_region("EU West").is_err());
        assert!(endpoint_url("https://minio.storage:9000").is_ok());
        assert!(endpoint_url("minio:9000").is_err());
        assert!(endpoint_url("https://").is_err());
    }

    #[test]
    fn paths_stay_inside_the_volume() {
        assert!(relative_path("backups/prod").is_ok());
        assert!(relative_path("/backups").is_err());
        assert!(relative_path("a/../../etc").is_err());
    }

    #[test]
    fn small_names() {
        assert!(strimzi_listener("tls").is_ok());
        assert!(strimzi_listener("TLS").is_err());
        assert!(secret_key("password").is_ok());
        assert!(secret_key("a/b").is_err());
        assert!(backup_id("2026-01-31T020000Z").is_ok());
        assert!(backup_id("../x").is_err());
        assert!(env_name("JAVA_OPTS").is_ok());
        assert!(env_name("1X").is_err());
        assert!(image("ghcr.io/x/y:1").is_ok());
        assert!(image("a b").is_err());
    }
}
