//! What the controller part of the process is doing, shared with `/readyz`: a replica is
//! ready while it leads or stands by for the Lease, not while it cannot reach the API.
//! No IO.

use std::sync::{Arc, Mutex};

/// The controller's phase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Not connected yet; the text says to what and why not.
    Connecting(String),
    /// Connected, waiting for the leader election Lease: ready, another replica leads.
    Standby,
    /// Holding the Lease and running the controllers.
    Leading,
}

/// A shared, cheap handle on the controller's phase.
#[derive(Clone, Debug)]
pub struct Health(Arc<Mutex<Phase>>);

impl Default for Health {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Phase::Connecting(
            "not started yet".into(),
        ))))
    }
}

impl Health {
    pub fn set(&self, phase: Phase) {
        if let Ok(mut current) = self.0.lock() {
            *current = phase;
        }
    }

    pub fn phase(&self) -> Phase {
        self.0
            .lock()
            .map(|p| p.clone())
            .unwrap_or_else(|_| Phase::Connecting("health state poisoned".into()))
    }

    /// `/readyz`'s view: ready while leading or standing by.
    pub fn readiness(&self) -> Result<(), String> {
        match self.phase() {
            Phase::Standby | Phase::Leading => Ok(()),
            Phase::Connecting(why) => Err(format!("the controller is not running: {why}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_while_leading_or_standing_by_not_while_connecting() {
        let health = Health::default();
        assert!(health.readiness().is_err());
        health.set(Phase::Connecting("tls: UnknownIssuer".into()));
        assert!(health.readiness().unwrap_err().contains("UnknownIssuer"));
        health.set(Phase::Standby);
        assert_eq!(health.readiness(), Ok(()));
        health.set(Phase::Leading);
        assert_eq!(health.readiness(), Ok(()));
    }
}
