//! Cancelled by SIGINT/SIGTERM: record it, say what is live and how to go back.

use std::time::Duration;

use super::deps::Deps;
use super::release_text;
use super::stage::Cx;
use crate::config::Service;
use crate::report::{ReleaseRef, ServiceRecord, ServiceResult};

pub(super) async fn cancelled(cx: Cx<'_>) -> ServiceRecord {
    let Cx { deps, plan, mut st } = cx;
    let svc = &plan.service;
    mark_cancelled(deps, &mut st.record);
    if let Some(live) = live_look(deps, svc).await {
        st.record.live = Some(live);
    }
    // Before the deploy call nothing changed: there is nothing to go back from, and the last
    // line says so; the rollback command is only offered once machines may have changed.
    if st.record.flyctl.is_empty() {
        return st.record;
    }
    if let Some(run) = &st.canary
        && let Some(machines) = run.exposed()
    {
        let text = format!(
            "{}: cancelled during the canary: {} on {}, {}; the other machines still run {}",
            svc.label(),
            st.record
                .to
                .as_ref()
                .map_or_else(|| "the new release".to_owned(), |to| release_text(Some(to))),
            machines.join(", "),
            run.share(),
            release_text(st.record.from.as_ref())
        );
        deps.printer.warn(&text);
        st.record.issues.push(text);
    }
    if let Some(from) = &st.record.from {
        let cmd = rollback_command(&svc.app, from);
        deps.printer.hint(&format!(
            "to put {} back, run: {cmd}",
            release_text(Some(from))
        ));
        st.record
            .actions
            .push(format!("cancelled; suggested `{cmd}`"));
    }
    st.record
}

/// The record's result and reason for a run the stop ended.
pub(super) fn mark_cancelled(deps: &Deps<'_>, record: &mut ServiceRecord) {
    record.result = ServiceResult::Cancelled;
    let reason = deps.stop.reason().unwrap_or_else(|| "cancelled".into());
    record.reason = Some(reason.clone());
    record.issues.push(reason);
}

/// `shipit rollback APP --to N`: what puts `release` back.
pub(super) fn rollback_command(app: &str, release: &ReleaseRef) -> String {
    let to = release
        .version
        .map(|v| format!(" --to {v}"))
        .unwrap_or_default();
    format!("shipit rollback {app}{to}")
}

/// A short look at what the started machines run now, said on stderr. GitHub kills the step
/// 10 s after its first signal, so the look gets 2 s; `None` when it gets no answer.
pub(super) async fn live_look(deps: &Deps<'_>, svc: &Service) -> Option<ReleaseRef> {
    let status = tokio::select! {
        status = deps.platform.status(&svc.app) => status.ok(),
        () = deps.clock.sleep_boxed(Duration::from_secs(2)) => None,
    }?;
    let images: Vec<String> = status
        .machines
        .iter()
        .filter(|m| m.is_started())
        .map(|m| m.image.clone())
        .collect();
    let first = images.first()?;
    let version = status
        .machines
        .iter()
        .find(|m| &m.image == first)
        .and_then(|m| m.release_version);
    let live = ReleaseRef {
        version,
        image: first.clone(),
    };
    let mixed = images.iter().any(|i| i != first);
    deps.printer.warn(&format!(
        "{}: cancelled; live now: {}{}",
        svc.label(),
        release_text(Some(&live)),
        if mixed {
            " (mixed: some machines run another image)"
        } else {
            ""
        }
    ));
    Some(live)
}
