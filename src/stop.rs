//! A stop signal shared by every wait in a run: SIGINT/SIGTERM, or the pipeline deciding a
//! deploy is lost (a new machine crashed), triggers it; gates and flyctl calls watch it.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;

#[derive(Clone)]
pub struct Stop {
    rx: watch::Receiver<bool>,
    tx: Arc<watch::Sender<bool>>,
    reason: Arc<Mutex<Option<String>>>,
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
        }
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
