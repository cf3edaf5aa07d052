//! A health endpoint that serves what the flyctl double's fleet runs, the way Fly's proxy would:
//! a thread watches the double's state file and sets `/health` on a scripted [`Server`] from
//! it. Unpinned requests get what the fleet serves; a request pinned to one machine with
//! `Fly-Force-Instance-Id` gets that machine's image, or no answer when the machine is down.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use super::server::{Behaviour, Server};

/// Serves `/health` as `pick(state, image)` says for the image being served, re-reading the
/// state every 10 ms. Stops when dropped.
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

type Pick = dyn Fn(&Value, &str) -> Behaviour + Send + 'static;

/// `/health` for the current state: per machine when pinned, the fleet's image otherwise.
fn behaviour(state: &Value, app: &str, pick: &Pick) -> Behaviour {
    let machines = state["apps"][app]["machines"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let cases = machines
        .iter()
        .map(|m| {
            let id = m["id"].as_str().unwrap_or_default().to_owned();
            let down = matches!(
                m["state"].as_str(),
                Some("stopped" | "failed" | "destroyed" | "suspended")
            );
            let b = if down {
                Behaviour::Close
            } else {
                pick(state, m["image"].as_str().unwrap_or_default())
            };
            (id, b)
        })
        .collect();
    Behaviour::ByHeader {
        name: "fly-force-instance-id".into(),
        cases,
        otherwise: Box::new(pick(state, &live_image(state, app))),
    }
}

impl FleetServer {
    pub fn start(
        state_file: PathBuf,
        app: &str,
        pick: impl Fn(&Value, &str) -> Behaviour + Send + 'static,
    ) -> FleetServer {
        let server = Arc::new(Server::start([("/health", Behaviour::status(503))]));
        let stop = Arc::new(AtomicBool::new(false));
        let pick: Box<Pick> = Box::new(pick);
        let app = app.to_owned();
        if let Some(state) = std::fs::read_to_string(&state_file)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        {
            server.set("/health", behaviour(&state, &app, &pick));
        }
        let (s, st) = (server.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut last = String::new();
            while !st.load(Ordering::SeqCst) {
                if let Ok(text) = std::fs::read_to_string(&state_file)
                    && text != last
                    && let Ok(state) = serde_json::from_str::<Value>(&text)
                {
                    s.set("/health", behaviour(&state, &app, &pick));
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

/// The image the first started machine of `app` runs (the first machine when none is started),
/// from the double's state.
pub fn live_image(state: &Value, app: &str) -> String {
    state["apps"][app]["machines"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["state"] == "started").or(ms.first()))
        .and_then(|m| m["image"].as_str())
        .unwrap_or_default()
        .to_owned()
}
