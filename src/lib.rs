//! shipit: safe, unattended Fly.io deploys. `run` is the whole program; `main.rs` only calls it.

pub mod cli;
pub mod config;
pub mod duration;
pub mod env_vars;
pub mod event;
pub mod exit;
pub mod github;
pub mod printer;
pub mod platform;
pub mod probe;
pub mod report;
pub mod secret;
pub mod timefmt;

use std::ffi::OsString;
use std::process::ExitCode;

/// Parses the command line, runs the command, and returns its exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    use clap::Parser;
    match cli::Cli::try_parse_from(args) {
        Ok(_cli) => exit::Outcome::Success.exit_code(),
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() { exit::Outcome::Usage.exit_code() } else { exit::Outcome::Success.exit_code() }
        }
    }
}
pub mod stop;
