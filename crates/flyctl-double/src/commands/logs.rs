//! `flyctl logs`: prints the app's log buffer, one 4-space-indented JSON object per entry.
//!
//! flyctl's `--no-tail` poller only returns after a non-empty batch; on an empty buffer it
//! polls with backoff forever. The double keeps that bug: it re-reads the state every 200 ms
//! and returns once matching entries appear. Without `--no-tail` it tails: prints what is
//! there, then keeps printing entries appended to the state until killed.

use crate::Failure;
use crate::context::{Ctx, env};
use crate::output;
use crate::render;
use crate::state::LogEntry;

const POLL_MS: u64 = 200;

pub fn run(ctx: &Ctx) -> Result<(), Failure> {
    let state = ctx.store.load()?;
    let (name, _) = ctx.require_app(&state, |n| format!("Could not find App \"{n}\""))?;
    // The logs API refuses a token without read access to the app (deploy tokens, as flyctl's
    // deploy code warns: "not authorized to retrieve app logs (this can happen when using
    // deploy tokens)"); the poller treats the 401 as fatal.
    if ctx
        .token()
        .is_some_and(|t| state.log_denied_tokens.contains(&t))
    {
        return Err(Failure::new(
            "not authorized to retrieve app logs (this can happen when using deploy tokens)"
                .to_owned(),
        ));
    }
    let machine = ctx.flags.non_empty("machine").map(str::to_owned);
    // FLY_REGION is the default region filter; picking a machine clears it.
    let region = match (&machine, ctx.flags.non_empty("region")) {
        (_, Some(r)) => Some(r.to_owned()),
        (Some(_), None) => None,
        (None, None) => env("FLY_REGION"),
    };
    let wanted = |e: &LogEntry| {
        machine.as_ref().is_none_or(|m| *m == e.instance)
            && region.as_ref().is_none_or(|r| *r == e.region)
    };
    let no_tail = ctx.flags.bool("no-tail");
    let json = ctx.json();
    let malformed = state.is_malformed("logs");
    let mut printed = 0;
    let mut current = state;
    loop {
        let entries: Vec<LogEntry> = current
            .apps
            .get(&name)
            .map(|a| a.logs.iter().filter(|e| wanted(e)).cloned().collect())
            .unwrap_or_default();
        if entries.len() > printed {
            let batch: String = entries[printed..]
                .iter()
                .map(|e| {
                    if json {
                        render::log_entry(e).indented()
                    } else {
                        format!(
                            "{} app[{}] {} [{}] {}\n",
                            e.timestamp, e.instance, e.region, e.level, e.message
                        )
                    }
                })
                .collect();
            output::json(&batch, malformed && json);
            printed = entries.len();
            if no_tail {
                return Ok(());
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(POLL_MS));
        current = ctx.store.load()?;
    }
}
