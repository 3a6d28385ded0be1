//! The restore Job as the cache keeps it: its metadata, the two fields of its spec the
//! planner reads, and its status. Deserialized straight from the watch (serde skips the
//! rest), so the pod template is never held; a k8s-openapi `Job` is a 2.6 KB struct
//! even when empty, this about a third of it.

use std::borrow::Cow;

use k8s_openapi::api::batch::v1::{Job, JobSpec, JobStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::{Deserialize, Serialize};

/// A Job of a restore, trimmed to what a reconcile reads. `Job::from` gives the planner
/// a Job with exactly these fields.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct CachedJob {
    /// Name, labels (restore, attempt), annotations (continue token), owner
    /// references, deletion timestamp.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// `spec.suspend` and `spec.ttlSecondsAfterFinished`.
    #[serde(default)]
    pub spec: CachedJobSpec,
    /// Conditions, start and completion time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<JobStatus>,
}

/// The fields of a Job's spec the planner reads.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CachedJobSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i32>,
}

impl Resource for CachedJob {
    type DynamicType = ();
    type Scope = <Job as Resource>::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        Job::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        Job::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        Job::version(dt)
    }
    fn api_version(dt: &()) -> Cow<'_, str> {
        Job::api_version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        Job::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl From<&CachedJob> for Job {
    fn from(cached: &CachedJob) -> Self {
        Job {
            metadata: cached.metadata.clone(),
            spec: Some(JobSpec {
                suspend: cached.spec.suspend,
                ttl_seconds_after_finished: cached.spec.ttl_seconds_after_finished,
                ..Default::default()
            }),
            status: cached.status.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the watch delivers: a whole Job as JSON, read as the cache reads it.
    fn through_the_watch(job: &Job) -> CachedJob {
        serde_json::from_value(serde_json::to_value(job).unwrap()).unwrap()
    }

    #[test]
    fn a_job_from_the_cache_keeps_every_field_the_planner_reads() {
        let job: Job = serde_json::from_value(serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "orders-restore-2", "namespace": "kafka", "uid": "u1",
                         "labels": {"kafkabackup.com/restore": "orders", "kafkabackup.com/attempt": "2"},
                         "annotations": {"kafkabackup.com/continue": "t1"},
                         "ownerReferences": [{"apiVersion": "kafkabackup.com/v1alpha1", "kind": "KafkaRestore",
                                              "name": "orders", "uid": "r1", "controller": true}],
                         "deletionTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"suspend": true, "ttlSecondsAfterFinished": 60, "backoffLimit": 0,
                     "template": {"spec": {"containers": [{"name": "worker", "image": "i"}]}}},
            "status": {"startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T01:00:00Z",
                       "active": 1, "failed": 1,
                       "conditions": [{"type": "Failed", "status": "True"}]}
        }))
        .unwrap();
        let cached = through_the_watch(&job);
        let read = Job::from(&cached);
        assert_eq!(read.metadata, job.metadata);
        assert_eq!(read.status, job.status);
        let (spec, read_spec) = (job.spec.unwrap(), read.spec.unwrap());
        assert_eq!(read_spec.suspend, spec.suspend);
        assert_eq!(
            read_spec.ttl_seconds_after_finished,
            spec.ttl_seconds_after_finished
        );
        assert_eq!(
            read_spec.template,
            Default::default(),
            "no pod template held"
        );
    }

    #[test]
    fn an_empty_job_reads_as_an_empty_job() {
        let cached = through_the_watch(&Job::default());
        assert_eq!(cached, CachedJob::default());
    }
}
