//! shipit: safe, unattended Fly.io deploys. `run` is the whole program; `main.rs` only calls it.
//!
//! Layers: `cli` (clap types) -> `settings` (resolved, validated) -> `commands` (one file per
//! subcommand) over the domain modules: `config`, `platform`, `probe`, `smoke`, `pipeline`,
//! `notify`, `evidence`, `github`, `printer`.

pub mod baseline;
pub mod canary;
pub mod cli;
mod commands;
pub mod config;
pub(crate) mod cost;
pub(crate) mod dashboard;
pub mod db;
pub(crate) mod demo;
pub mod drill;
pub(crate) mod duration;
pub(crate) mod env_vars;
pub mod event;
pub mod evidence;
pub mod exit;
pub mod github;
pub mod init;
pub(crate) mod input;
pub(crate) mod level;
pub mod logscan;
pub(crate) mod metrics;
pub mod monitor;
pub mod notify;
pub(crate) mod parity;
pub mod pg;
pub mod pipeline;
pub mod platform;
pub mod printer;
pub mod probe;
pub(crate) mod promotion;
pub(crate) mod random;
pub(crate) mod release_verdict;
pub mod report;
pub mod runbook;
pub(crate) mod scalar;
pub mod secret;
pub(crate) mod settings;
pub mod smoke;
pub mod stop;
pub mod store;
pub(crate) mod suggest;
pub(crate) mod text;
pub mod timefmt;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use exit::Outcome;
use printer::{Printer, Verbosity};

/// Parses the command line, runs the command, and returns its exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() && json_requested(&args) {
                usage_error_document(&e);
            }
            return if e.use_stderr() {
                Outcome::Usage.exit_code()
            } else {
                Outcome::Success.exit_code()
            };
        }
    };
    let verbose =
        cli.global.verbose || env_vars::non_empty(env_vars::RUNNER_DEBUG).is_some_and(|v| v == "1");
    let verbosity = if cli.global.quiet {
        Verbosity::Quiet
    } else if verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let printer = Printer::new(cli.global.json, verbosity, cli.global.color);
    // `init` and `demo` write their own shipit.yml (into --dir); a --config given to them would
    // be silently ignored, so it is refused instead.
    if matches!(cli.command, cli::Command::Init(_) | cli::Command::Demo(_))
        && args
            .iter()
            .skip(1)
            .take_while(|a| *a != "--")
            .any(|a| a == "--config" || a.to_string_lossy().starts_with("--config="))
    {
        let message = "--config is not used by `init` or `demo`: they write their own shipit.yml";
        let hint = "use --dir DIR to choose where the files go";
        printer.error(message);
        printer.hint(hint);
        printer.json_error("usage", message, Some(hint));
        return Outcome::Usage.exit_code();
    }
    register_process_secrets();
    let github = env_vars::in_github_actions();
    if github {
        github::mask_new_secrets(&printer);
    }
    let config_path = cli
        .global
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_FILE));
    let settings = settings::Settings::from(cli.command);
    if cli.global.show_settings {
        return show_settings(
            &printer,
            &cli.global,
            &settings,
            &config_path,
            verbosity,
            github,
        );
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer.error(&format!("cannot start the async runtime: {e}"));
            return Outcome::Failed.exit_code();
        }
    };
    let outcome = runtime.block_on(async {
        let stop = stop::Stop::new();
        listen_for_signals(&stop, &printer);
        let ctx = commands::Ctx {
            printer: printer.clone(),
            config_path,
            stop,
            github,
        };
        match commands::dispatch(&ctx, settings).await {
            Ok(outcome) => outcome,
            Err(err) => {
                report_error(&printer, &err);
                Outcome::Failed
            }
        }
    });
    printer.finish_progress();
    outcome.exit_code()
}

/// `--show-settings`: the resolved settings and config as JSON, without running anything, so
/// tests can check what a command line and a config resolve to. Secrets print masked.
fn show_settings(
    printer: &Printer,
    global: &cli::GlobalArgs,
    settings: &settings::Settings,
    config_path: &std::path::Path,
    verbosity: Verbosity,
    github: bool,
) -> ExitCode {
    let mut outcome = Outcome::Success;
    let (config, resolved) = match config::load(config_path) {
        Ok(c) => {
            let resolved = match settings.resolved(&c) {
                Some(Ok(v)) => v,
                Some(Err(e)) => {
                    outcome = Outcome::Failed;
                    serde_json::json!({ "error": format!("{e:#}") })
                }
                None => serde_json::Value::Null,
            };
            (serde_json::to_value(c).unwrap_or_default(), resolved)
        }
        Err(e) => {
            outcome = Outcome::Failed;
            (
                serde_json::json!({ "error": e.to_string() }),
                serde_json::Value::Null,
            )
        }
    };
    printer.json(&serde_json::json!({
        "config_path": config_path,
        "json": global.json,
        "verbosity": format!("{verbosity:?}").to_lowercase(),
        "color": format!("{:?}", global.color).to_lowercase(),
        "github_actions": github,
        "settings": settings,
        "resolved": resolved,
        "config": config,
    }));
    outcome.exit_code()
}

/// Fly's tokens are secrets whether or not the config mentions them.
fn register_process_secrets() {
    for name in [env_vars::FLY_API_TOKEN, env_vars::FLY_ACCESS_TOKEN] {
        if let Some(v) = env_vars::non_empty(name) {
            secret::register(&v);
        }
    }
}

/// SIGINT and SIGTERM trigger the run's stop signal: waits end, flyctl gets SIGINT, and the run
/// records what is live and how to go back. What comes next decides how long that may take:
/// a second SIGINT is a person pressing Ctrl-C again and exits at once; a SIGTERM after the
/// SIGINT is GitHub's escalation (SIGINT, SIGTERM 7.5 s later, kill 2.5 s after that), so the
/// run keeps finishing its record until the kill. A third signal exits at once. An exit at
/// once still ends with the line DESIGN.md promises: what each app is left on and the rollback
/// command (`Stop::standing`, kept current by the pipeline), since the record will not say it.
fn listen_for_signals(stop: &stop::Stop, printer: &Printer) {
    use tokio::signal::unix::{SignalKind, signal};
    let stop = stop.clone();
    let printer = printer.clone();
    let exit_now = move |stop: &stop::Stop| -> ! {
        printer.finish_progress();
        if let Some(line) = stop.standing() {
            printer.error(&format!("exiting at once: {line}"));
        }
        std::process::exit(i32::from(Outcome::Cancelled.code()));
    };
    // Registered here, before the command starts, not inside the task: the task first runs at
    // the command's first await, and a signal before that would kill shipit with no record.
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    tokio::spawn(async move {
        let first_was_int = tokio::select! {
            _ = int.recv() => true,
            _ = term.recv() => false,
        };
        let name = if first_was_int { "SIGINT" } else { "SIGTERM" };
        stop.trigger(&format!("cancelled by {name}"));
        let second_is_int = tokio::select! {
            _ = int.recv() => true,
            _ = term.recv() => false,
        };
        let github_escalation = first_was_int && !second_is_int;
        if !github_escalation {
            exit_now(&stop);
        }
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        exit_now(&stop);
    });
}

/// Prints an error with its causes and, when there is one, the hint.
fn report_error(printer: &Printer, err: &anyhow::Error) {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    let (message, mut hint) = match text.split_once("\nhint: ") {
        Some((m, h)) => (m.to_owned(), Some(h.to_owned())),
        None => (text.clone(), None),
    };
    if hint.is_none() {
        hint = err
            .chain()
            .find_map(|c| c.downcast_ref::<platform::PlatformError>())
            .and_then(platform::PlatformError::hint)
            .map(str::to_owned);
    }
    printer.error(&message);
    if let Some(h) = &hint {
        printer.hint(h);
    }
    printer.json_error(error_kind(err), &message, hint.as_deref());
}

/// The `kind` of a `--json` error document: `config` for a config error, flyctl's classified
/// kind (`not_installed`, `not_authenticated`, `app_not_found`...), else `error`.
fn error_kind(err: &anyhow::Error) -> &'static str {
    for cause in err.chain() {
        if cause.downcast_ref::<config::ConfigError>().is_some() {
            return "config";
        }
        if let Some(p) = cause.downcast_ref::<platform::PlatformError>() {
            return p.kind.name();
        }
    }
    "error"
}

/// Whether `--json` is on a command line clap refused (before any `--`), so the usage error
/// still leaves one JSON document on stdout.
fn json_requested(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

/// A usage error as the `--json` document: clap's first paragraph on one line (the error and
/// the lines under it: the missing arguments, the possible values), and its tip as the hint.
fn usage_error_document(e: &clap::Error) {
    let text = e.render().to_string();
    let message = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error: ")
        .to_owned();
    let hint = text
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("tip: "))
        .map_or_else(|| "see `shipit --help`".to_owned(), str::to_owned);
    let printer = Printer::new(true, Verbosity::Quiet, printer::ColorChoice::Never);
    printer.json(&serde_json::json!({
        "error": { "kind": "usage", "message": message, "hint": hint }
    }));
}
