//! A stop signal shared by every wait in a run: SIGINT/SIGTERM, or the pipeline deciding a
//! deploy is lost (a new machine crashed), triggers it; gates and flyctl calls watch it.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;

#[derive(Clone)]
pub struct Stop {
    rx: watch::Receiver<bool>,
    tx: Arc<watch::Sender<bool>>,
    reason: Arc<Mutex<Option<String>>>,
    /// What each app of the run is left on if the process ended now, in run order: the line a
    /// second Ctrl-C (which exits at once) prints last. See [`Stop::set_standing`].
    standing: Arc<Mutex<Vec<(String, String)>>>,
}

impl Default for Stop {
    fn default() -> Self {
        Stop::new()
    }
}

impl Stop {
    pub fn new() -> Stop {
        let (tx, rx) = watch::channel(false);
        Stop {
            rx,
            tx: Arc::new(tx),
            reason: Arc::new(Mutex::new(None)),
            standing: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Says where `app` stands if the run ended at this moment, with no time left to look
    /// (`hotdash-staging: nothing was changed, v3 still live`, or the rollback command once a
    /// deploy call may have changed machines). A later call for the same app replaces it.
    pub fn set_standing(&self, app: &str, line: String) {
        let mut s = self
            .standing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match s.iter_mut().find(|(a, _)| a == app) {
            Some(entry) => entry.1 = line,
            None => s.push((app.to_owned(), line)),
        }
    }

    /// Every app's standing line, joined in run order; `None` before any was set.
    pub fn standing(&self) -> Option<String> {
        let s = self
            .standing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (!s.is_empty()).then(|| {
            s.iter()
                .map(|(_, line)| line.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// Asks everything watching to stop; the first reason given is kept.
    pub fn trigger(&self, reason: &str) {
        let mut r = self
            .reason
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if r.is_none() {
            *r = Some(reason.to_owned());
        }
        drop(r);
        let _ = self.tx.send(true);
    }

    pub fn is_stopped(&self) -> bool {
        *self.rx.borrow()
    }

    pub fn reason(&self) -> Option<String> {
        self.reason
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Resolves once [`Stop::trigger`] has been called (at once if it already was).
    pub async fn stopped(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|v| *v).await;
    }

    /// A new, independent stop that also fires when this one does: a child scope (one flyctl
    /// call) can be stopped alone without stopping the whole run.
    #[must_use]
    pub fn child(&self) -> Stop {
        let child = Stop::new();
        let parent = self.clone();
        let c = child.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = parent.stopped() => c.trigger(&parent.reason().unwrap_or_default()),
                () = c.stopped() => {}
            }
        });
        child
    }
}
