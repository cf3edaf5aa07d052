//! Test doubles for the monitor's unit tests: an in-memory [`Store`] (alert compare-and-set as
//! the contract says, runs and the rest kept in memory too) and a scripted [`AlertSender`].
//! Used only by tests.

use std::cell::RefCell;

use super::alerting::{AlertSender, Delivery};
use super::escalation::Send;
pub(crate) use crate::store::memory::MemoryStore;
use crate::store::{AlertKey, AlertState};

/// Records every message and answers with `ok` (changeable between passes).
pub(crate) struct FakeSender {
    pub(crate) ok: RefCell<bool>,
    pub(crate) sent: RefCell<Vec<(Send, String, String)>>,
}

impl FakeSender {
    pub(crate) fn new() -> FakeSender {
        FakeSender {
            ok: RefCell::new(true),
            sent: RefCell::new(Vec::new()),
        }
    }

    /// `trigger staging/web/down`, in order.
    pub(crate) fn log(&self) -> Vec<String> {
        self.sent
            .borrow()
            .iter()
            .map(|(s, k, level)| format!("{} {k} {level}", send_name(*s)))
            .collect()
    }
}

fn send_name(s: Send) -> &'static str {
    match s {
        Send::Trigger => "trigger",
        Send::Update => "update",
        Send::Resolve => "resolve",
    }
}

impl AlertSender for FakeSender {
    async fn send(&self, send: Send, key: &AlertKey, state: &AlertState) -> Delivery {
        self.sent
            .borrow_mut()
            .push((send, key.text(), state.level.clone()));
        Delivery {
            ok: *self.ok.borrow(),
            issue: None,
            problems: if *self.ok.borrow() {
                Vec::new()
            } else {
                vec!["503 from hooks.example".into()]
            },
        }
    }
}
