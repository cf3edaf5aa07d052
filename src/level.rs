//! How bad a finding is: the monitor's findings, log patterns and `rollback_on:` name one.

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Info < Warning < Alert < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warning,
    Alert,
    Critical,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::Info, Level::Warning, Level::Alert, Level::Critical];

    pub fn name(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Alert => "alert",
            Level::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.name() == text)
    }

    /// Alert and critical need someone; they make `check` exit 1 and are sent.
    pub fn needs_action(self) -> bool {
        self >= Level::Alert
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
