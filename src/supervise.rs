//! Keeps the long-running parts of the operator process (the webhook, the controller)
//! alive together or not at all: when one of them ends before shutdown was asked for,
//! returns an error, panics included, or stops the others, so the process can exit
//! non-zero and Kubernetes restarts the pod. Runs tasks; no other IO.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{Id, JoinError, JoinSet};

/// What a supervised task returns.
pub type TaskResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Which task ended before shutdown, and how.
#[derive(Debug, thiserror::Error)]
#[error("the {task} {how}")]
pub struct Ended {
    pub task: &'static str,
    pub how: How,
}

/// How a task ended.
#[derive(Debug, PartialEq, Eq)]
pub enum How {
    /// It returned `Ok` without being asked to stop.
    Returned,
    Failed(String),
    Panicked(String),
    Cancelled,
}

impl std::fmt::Display for How {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            How::Returned => f.write_str("ended unexpectedly"),
            How::Failed(error) => write!(f, "failed: {error}"),
            How::Panicked(message) => write!(f, "panicked: {message}"),
            How::Cancelled => f.write_str("was cancelled"),
        }
    }
}

/// Long-running tasks under one stop signal.
pub struct Supervisor {
    tasks: JoinSet<TaskResult>,
    names: HashMap<Id, &'static str>,
    stop: watch::Sender<bool>,
}

impl Default for Supervisor {
    fn default() -> Self {
        Self::new()
    }
}

impl Supervisor {
    pub fn new() -> Self {
        Self {
            tasks: JoinSet::new(),
            names: HashMap::new(),
            stop: watch::channel(false).0,
        }
    }

    /// A receiver that turns true when every task is to stop.
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Runs `task` until it ends or the stop signal turns true.
    pub fn spawn(
        &mut self,
        name: &'static str,
        task: impl Future<Output = TaskResult> + Send + 'static,
    ) {
        let handle = self.tasks.spawn(task);
        self.names.insert(handle.id(), name);
    }

    /// Waits for `shutdown` or for the first task to end, whichever comes first; then
    /// signals every task to stop and gives them `grace` to do so. `Ok` only when the
    /// shutdown came first.
    pub async fn run(
        mut self,
        shutdown: impl Future<Output = ()>,
        grace: Duration,
    ) -> Result<(), Ended> {
        let outcome = tokio::select! {
            () = shutdown => Ok(()),
            Some(joined) = self.tasks.join_next_with_id() => Err(self.describe(joined)),
        };
        let _ = self.stop.send(true);
        let drained = tokio::time::timeout(grace, async {
            while let Some(joined) = self.tasks.join_next_with_id().await {
                let ended = self.describe(joined);
                if ended.how != How::Returned {
                    tracing::warn!(task = ended.task, how = %ended.how, "task ended badly while stopping");
                }
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(?grace, "tasks did not stop within the grace period");
            self.tasks.abort_all();
        }
        outcome
    }

    fn describe(&self, joined: Result<(Id, TaskResult), JoinError>) -> Ended {
        let (id, how) = match joined {
            Ok((id, Ok(()))) => (id, How::Returned),
            Ok((id, Err(error))) => (id, How::Failed(crate::cluster::error_chain(error.as_ref()))),
            Err(error) => (error.id(), join_failure(error)),
        };
        Ended {
            task: self.names.get(&id).copied().unwrap_or("task"),
            how,
        }
    }
}

fn join_failure(error: JoinError) -> How {
    if error.is_panic() {
        let payload = error.into_panic();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-text payload".into());
        How::Panicked(message)
    } else {
        How::Cancelled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(2);

    /// A task that runs until the stop signal.
    fn well_behaved(supervisor: &Supervisor) -> impl Future<Output = TaskResult> + Send + 'static {
        let mut stop = supervisor.stop_signal();
        async move {
            let _ = stop.wait_for(|s| *s).await;
            Ok(())
        }
    }

    #[tokio::test]
    async fn shutdown_first_stops_every_task_and_is_ok() {
        let mut supervisor = Supervisor::new();
        let webhook = well_behaved(&supervisor);
        let controller = well_behaved(&supervisor);
        supervisor.spawn("webhook", webhook);
        supervisor.spawn("controller", controller);
        assert!(supervisor.run(async {}, GRACE).await.is_ok());
    }

    #[tokio::test]
    async fn a_task_that_ends_on_its_own_is_an_error_naming_it() {
        let mut supervisor = Supervisor::new();
        let webhook = well_behaved(&supervisor);
        supervisor.spawn("webhook", webhook);
        supervisor.spawn("controller", async { Ok(()) });
        let ended = supervisor
            .run(std::future::pending(), GRACE)
            .await
            .unwrap_err();
        assert_eq!(ended.task, "controller");
        assert_eq!(ended.to_string(), "the controller ended unexpectedly");
    }

    #[tokio::test]
    async fn a_failing_task_is_an_error_with_its_cause() {
        let mut supervisor = Supervisor::new();
        supervisor.spawn("controller", async { Err("credentials refused".into()) });
        let ended = supervisor
            .run(std::future::pending(), GRACE)
            .await
            .unwrap_err();
        assert_eq!(
            ended.to_string(),
            "the controller failed: credentials refused"
        );
    }

    #[tokio::test]
    async fn a_panic_in_a_task_is_an_error_and_stops_the_others() {
        let mut supervisor = Supervisor::new();
        let mut webhook_stop = supervisor.stop_signal();
        let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel();
        supervisor.spawn("webhook", async move {
            let _ = webhook_stop.wait_for(|s| *s).await;
            let _ = stopped_tx.send(());
            Ok(())
        });
        supervisor.spawn("controller", async { panic!("no crypto provider") });
        let ended = supervisor
            .run(std::future::pending(), GRACE)
            .await
            .unwrap_err();
        assert_eq!(ended.task, "controller");
        assert_eq!(ended.how, How::Panicked("no crypto provider".into()));
        assert!(stopped_rx.await.is_ok(), "the webhook was told to stop");
    }
}
