//! The exit codes workflows rely on, and the one function that chooses them.

use std::process::ExitCode;

/// How a command ended, in the terms of DESIGN.md's exit-code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Exit 0: every gate passed, or the command did what it says.
    Success,
    /// Exit 1: failed before any remote change, or a plain error.
    Failed,
    /// Exit 2: the command line could not be parsed.
    Usage,
    /// Exit 3: the deploy failed its gates and the previous release is live and healthy again.
    RolledBack,
    /// Exit 4: the deploy failed and the way back failed too, or there was none.
    NeedsHuman,
    /// Exit 130: cancelled by SIGINT/SIGTERM.
    Cancelled,
}

impl Outcome {
    /// The process exit code for this outcome; the only place these numbers appear.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::Usage => 2,
            Outcome::RolledBack => 3,
            Outcome::NeedsHuman => 4,
            Outcome::Cancelled => 130,
        }
    }

    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(self.code())
    }
}
