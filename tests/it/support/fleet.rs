//! A health endpoint that serves what the flyctl double's fleet runs: a thread watches the
//! double's state file and sets `/health` on a scripted [`Server`] from it, so a deploy through
//! the double really changes what shipit's outside probes see.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use super::server::{Behaviour, Server};

/// Serves `/health` as `pick(state)` says, re-reading the state every 10 ms. Stops when dropped.
pub struct FleetServer {
    pub server: Arc<Server>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for FleetServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl FleetServer {
    pub fn start(
        state_file: PathBuf,
        pick: impl Fn(&Value) -> Behaviour + Send + 'static,
    ) -> FleetServer {
        let server = Arc::new(Server::start([("/health", Behaviour::status(503))]));
        let stop = Arc::new(AtomicBool::new(false));
        let read = |p: &PathBuf| {
            std::fs::read_to_string(p)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        };
        if let Some(state) = read(&state_file) {
            server.set("/health", pick(&state));
        }
        let (s, st) = (server.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut last = String::new();
            while !st.load(Ordering::SeqCst) {
                if let Ok(text) = std::fs::read_to_string(&state_file)
                    && text != last
                    && let Ok(state) = serde_json::from_str::<Value>(&text)
                {
                    s.set("/health", pick(&state));
                    last = text;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        FleetServer {
            server,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }
}

/// The image the first started machine of `app` runs, from the double's state.
pub fn live_image(state: &Value, app: &str) -> String {
    state["apps"][app]["machines"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["state"] == "started").or(ms.first()))
        .and_then(|m| m["image"].as_str())
        .unwrap_or_default()
        .to_owned()
}
