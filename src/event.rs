//! What happened, in the words notifications, evidence and the pipeline share.

use std::fmt;

/// A thing that happened to a release, told to notification channels and kept in evidence.
/// Open-ended: monitoring adds `Alert` and `Resolved`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Started,
    Succeeded,
    Failed,
    RolledBack,
    RollbackFailed,
    Cancelled,
    Alert,
    Resolved,
}

impl Event {
    pub const ALL: [Event; 8] = [
        Event::Started,
        Event::Succeeded,
        Event::Failed,
        Event::RolledBack,
        Event::RollbackFailed,
        Event::Cancelled,
        Event::Alert,
        Event::Resolved,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Event::Started => "started",
            Event::Succeeded => "succeeded",
            Event::Failed => "failed",
            Event::RolledBack => "rolled_back",
            Event::RollbackFailed => "rollback_failed",
            Event::Cancelled => "cancelled",
            Event::Alert => "alert",
            Event::Resolved => "resolved",
        }
    }

    /// The events a name in a channel's `on:` list stands for. Besides the event names, the
    /// short forms of DESIGN.md are accepted: `success`, `failure`, `rollback`.
    pub fn from_filter_name(name: &str) -> Option<Vec<Event>> {
        let events = match name {
            "success" => vec![Event::Succeeded],
            "failure" => vec![Event::Failed, Event::RollbackFailed, Event::Cancelled],
            "rollback" => vec![Event::RolledBack, Event::RollbackFailed],
            other => vec![Event::ALL.into_iter().find(|e| e.name() == other)?],
        };
        Some(events)
    }

    /// Every name `on:` accepts, for error messages.
    pub fn filter_names() -> Vec<&'static str> {
        let mut names: Vec<&str> = Event::ALL.iter().map(|e| e.name()).collect();
        names.extend(["success", "failure", "rollback"]);
        names
    }

    /// Whether this event is bad news (a red message, a `PagerDuty` trigger).
    pub fn is_bad(self) -> bool {
        matches!(
            self,
            Event::Failed | Event::RollbackFailed | Event::Alert | Event::Cancelled
        )
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
