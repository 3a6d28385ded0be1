//! The one place the process learns it is asked to stop: SIGTERM (how Kubernetes stops
//! a pod) or Ctrl-C. The operator and the worker both wait on [`requested`].

/// Completes when the process is asked to stop.
pub async fn requested() {
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
