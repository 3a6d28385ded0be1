//! Names and labels of everything the controller makes. Deterministic, so a second
//! create of the same thing meets AlreadyExists instead of making a duplicate (R1), and
//! short enough for the 63-character limits of label values and Job names. No IO.

use std::collections::BTreeMap;

use crate::constants::{LABEL_BACKUP, LABEL_RESTORE};

/// Label with the restore attempt a Job belongs to.
pub const LABEL_ATTEMPT: &str = "kafkabackup.com/attempt";
/// Label telling the operator's children apart from anything else.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "kafka-backup-operator";

/// Longest Job name: its pods carry it as a label value.
const MAX_JOB_NAME: usize = 63;
/// Longest CronJob name: the CronJob controller appends 11 characters for its Jobs.
const MAX_CRONJOB_NAME: usize = 52;
/// Longest name used as a label value.
const MAX_LABEL_VALUE: usize = 63;

/// `base` followed by `suffix`, shortened to `max` characters by cutting `base` and
/// adding a hash of it, so distinct long names stay distinct.
fn fit(base: &str, suffix: &str, max: usize) -> String {
    let full = format!("{base}{suffix}");
    if full.len() <= max {
        return full;
    }
    let hash = format!("-{:08x}", fnv1a(base));
    let keep = max.saturating_sub(suffix.len() + hash.len());
    let cut = base
        .get(..keep.min(base.len()))
        .unwrap_or_default()
        .trim_end_matches(['-', '.']);
    format!("{cut}{hash}{suffix}")
}

/// 32-bit FNV-1a: a stable hash (the same in every release) for name shortening.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// The Job of a restore's attempt (from 1).
pub fn restore_job_name(restore: &str, attempt: i32) -> String {
    fit(restore, &format!("-restore-{attempt}"), MAX_JOB_NAME)
}

/// The suffix of a restore's report PVC made for `attempt`: five characters derived from
/// the restore's UID, so every replica and every reconcile names the same claim, while
/// a claim made after the previous one was deleted gets a new name.
pub fn report_pvc_suffix(uid: &str, attempt: i32) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut hash = fnv1a(&format!("{uid}/{attempt}"));
    (0..5)
        .map(|_| {
            let c = ALPHABET[(hash % ALPHABET.len() as u32) as usize] as char;
            hash /= ALPHABET.len() as u32;
            c
        })
        .collect()
}

/// The report PVC of a restore, with the suffix of `report_pvc_suffix`.
pub fn report_pvc_name(restore: &str, suffix: &str) -> String {
    fit(restore, &format!("-report-{suffix}"), MAX_LABEL_VALUE)
}

/// The ConfigMap holding a backup's worker configuration.
pub fn backup_config_name(backup: &str) -> String {
    fit(backup, "-backup-config", 253)
}

/// The CronJob of a scheduled backup.
pub fn backup_cronjob_name(backup: &str) -> String {
    fit(backup, "-backup", MAX_CRONJOB_NAME)
}

/// The Job of a one-shot backup.
pub fn backup_job_name(backup: &str) -> String {
    fit(backup, "-backup", MAX_JOB_NAME)
}

/// The Job of a run asked for with the run-now annotation; one per annotation value.
pub fn backup_manual_job_name(backup: &str, token: &str) -> String {
    fit(
        backup,
        &format!("-backup-{:08x}", fnv1a(token)),
        MAX_JOB_NAME,
    )
}

/// Labels on every Job, CronJob, pod, ConfigMap and PVC made for a restore (R6).
pub fn restore_labels(restore: &str) -> BTreeMap<String, String> {
    labels(LABEL_RESTORE, restore, "restore")
}

/// Labels on everything made for a backup (R6).
pub fn backup_labels(backup: &str) -> BTreeMap<String, String> {
    labels(LABEL_BACKUP, backup, "backup")
}

fn labels(key: &str, name: &str, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (key.to_string(), name.to_string()),
        (
            "app.kubernetes.io/name".to_string(),
            format!("kafka-{component}"),
        ),
        ("app.kubernetes.io/instance".to_string(), name.to_string()),
        (
            "app.kubernetes.io/component".to_string(),
            component.to_string(),
        ),
        (
            "app.kubernetes.io/part-of".to_string(),
            "kafka-backup-operator".to_string(),
        ),
        (LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string()),
    ])
}

/// The selector finding a restore's children: `kafkabackup.com/restore=<name>`.
pub fn restore_selector(restore: &str) -> String {
    format!("{LABEL_RESTORE}={restore}")
}

/// The selector finding what the operator made for a restore: the restore's label and
/// our managed-by label.
pub fn restore_children_selector(restore: &str) -> String {
    format!(
        "{},{LABEL_MANAGED_BY}={MANAGED_BY}",
        restore_selector(restore)
    )
}

/// The selector finding a backup's children.
pub fn backup_selector(backup: &str) -> String {
    format!("{LABEL_BACKUP}={backup}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r1_job_names_are_deterministic_per_attempt() {
        assert_eq!(
            restore_job_name("restore-orders", 1),
            "restore-orders-restore-1"
        );
        assert_eq!(
            restore_job_name("restore-orders", 2),
            "restore-orders-restore-2"
        );
        assert_eq!(
            restore_job_name("restore-orders", 1),
            restore_job_name("restore-orders", 1)
        );
    }

    #[test]
    fn r1_long_names_fit_63_characters_and_stay_distinct() {
        let a = "a".repeat(63);
        let b = format!("{}b", "a".repeat(62));
        for attempt in [1, 99, 12345] {
            let name = restore_job_name(&a, attempt);
            assert!(name.len() <= 63, "{name}");
            assert!(name.ends_with(&format!("-restore-{attempt}")), "{name}");
            assert_ne!(name, restore_job_name(&b, attempt));
        }
        assert!(backup_cronjob_name(&a).len() <= 52);
        assert!(report_pvc_name(&a, "x7k2p").len() <= 63);
        assert!(backup_manual_job_name(&a, "now").len() <= 63);
    }

    #[test]
    fn r5_report_pvc_name_follows_the_documented_pattern() {
        assert_eq!(
            report_pvc_name("restore-orders", "x7k2p"),
            "restore-orders-report-x7k2p"
        );
    }

    #[test]
    fn r5_report_pvc_suffix_follows_the_uid_and_the_attempt() {
        let uid = "5f1c2a3e-0000-4000-8000-000000000001";
        let first = report_pvc_suffix(uid, 1);
        assert_eq!(first.len(), 5);
        assert_eq!(
            first,
            report_pvc_suffix(uid, 1),
            "the same on every replica"
        );
        assert_ne!(
            first,
            report_pvc_suffix(uid, 2),
            "a new claim after a deletion"
        );
        assert_ne!(
            first,
            report_pvc_suffix("5f1c2a3e-0000-4000-8000-000000000002", 1),
            "a restore re-created under the same name gets another claim"
        );
        assert!(
            first
                .bytes()
                .all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b))
        );
    }

    #[test]
    fn r6_labels_name_the_owner() {
        let labels = restore_labels("restore-orders");
        assert_eq!(labels["kafkabackup.com/restore"], "restore-orders");
        assert_eq!(
            labels["app.kubernetes.io/managed-by"],
            "kafka-backup-operator"
        );
        assert_eq!(backup_labels("daily")["kafkabackup.com/backup"], "daily");
        assert_eq!(restore_selector("r"), "kafkabackup.com/restore=r");
    }

    #[test]
    fn restore_and_backup_children_never_share_a_name() {
        assert_ne!(
            restore_job_name("x-backup", 1),
            backup_job_name("x-backup-restore-1")
        );
        assert_ne!(
            backup_manual_job_name("x", "a"),
            backup_manual_job_name("x", "b")
        );
    }
}
