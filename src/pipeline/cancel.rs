//! Cancelled by SIGINT/SIGTERM: record it, say what is live and how to go back.

use std::time::Duration;

use super::release_text;
use super::stage::Cx;
use crate::report::{ReleaseRef, ServiceRecord, ServiceResult};

pub(super) async fn cancelled(cx: Cx<'_>) -> ServiceRecord {
    let Cx { deps, plan, mut st } = cx;
    let svc = &plan.service;
    st.record.result = ServiceResult::Cancelled;
    let reason = deps.stop.reason().unwrap_or_else(|| "cancelled".into());
    st.record.reason = Some(reason.clone());
    st.record.issues.push(reason);
    // A short look at what runs now; GitHub kills the step 10 s after its first signal.
    let live = tokio::select! {
        status = deps.platform.status(&svc.app) => status.ok(),
        () = deps.clock.sleep_boxed(Duration::from_secs(2)) => None,
    };
    if let Some(status) = live {
        let images: Vec<String> = status
            .machines
            .iter()
            .filter(|m| m.is_started())
            .map(|m| m.image.clone())
            .collect();
        if let Some(first) = images.first() {
            let version = status
                .machines
                .iter()
                .find(|m| &m.image == first)
                .and_then(|m| m.release_version);
            st.record.live = Some(ReleaseRef {
                version,
                image: first.clone(),
            });
            let mixed = images.iter().any(|i| i != first);
            deps.printer.warn(&format!(
                "{}: cancelled; live now: {}{}",
                svc.label(),
                release_text(st.record.live.as_ref()),
                if mixed {
                    " (mixed: some machines run another image)"
                } else {
                    ""
                }
            ));
        }
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
        let to = from
            .version
            .map(|v| format!(" --to {v}"))
            .unwrap_or_default();
        let cmd = format!("shipit rollback {}{to}", svc.app);
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
