//! Carries out an escalation [`Plan`] against the record and the notifiers, in the order that
//! leaves whole records whenever a run dies: an opening alert is stored (undelivered) before it
//! is sent and marked delivered after, so a run killed in between sends it again next time
//! rather than never; a resolve is sent first and the state deleted after, whatever the send
//! did. Every write is a compare-and-set on the version this pass read: when another run wrote
//! first, this pass leaves that key to it.

use super::escalation::{Decision, Plan, Send, delivered};
use crate::store::{AlertKey, AlertState, Cas, Store};

/// Sends one alert message. Implemented over the notify module by the commands and by fakes in
/// tests.
#[allow(async_fn_in_trait)]
pub trait AlertSender {
    /// Never fails: an undelivered message says so.
    async fn send(&self, send: Send, key: &AlertKey, state: &AlertState) -> Delivery;
}

/// How a send went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Every channel that wanted it got it.
    pub ok: bool,
    /// The GitHub issue the `github_issue` notifier opened or used.
    pub issue: Option<u64>,
    /// What went wrong, for the warning line.
    pub problems: Vec<String>,
}

/// What carrying out a plan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Each message sent: key, kind, delivered.
    pub sent: Vec<(AlertKey, Send, bool)>,
    /// Keys another run changed first; left to it.
    pub conflicts: Vec<AlertKey>,
    /// Undelivered messages and store failures, one line each (masked by the printer).
    pub warnings: Vec<String>,
}

/// Applies every decision of `plan`: stores, sends, stores again.
pub async fn apply(store: &dyn Store, sender: &impl AlertSender, plan: &Plan) -> Applied {
    let mut applied = Applied::default();
    for d in &plan.decisions {
        if let Err(e) = one(store, sender, d, &mut applied).await {
            applied.warnings.push(format!(
                "alert {}: the record was not updated: {e:#}",
                d.key.text()
            ));
        }
    }
    applied
}

async fn one(
    store: &dyn Store,
    sender: &impl AlertSender,
    d: &Decision,
    applied: &mut Applied,
) -> anyhow::Result<()> {
    match d.send {
        None => {
            if let Cas::Conflict(_) = store
                .put_alert(&d.key, d.expected, d.state.as_ref())
                .await?
            {
                applied.conflicts.push(d.key.clone());
            }
        }
        Some(Send::Resolve) => {
            let delivery = sender.send(Send::Resolve, &d.key, &d.about).await;
            note(applied, d, Send::Resolve, &delivery);
            if let Cas::Conflict(_) = store.put_alert(&d.key, d.expected, None).await? {
                applied.conflicts.push(d.key.clone());
            }
        }
        Some(kind) => {
            let Some(state) = &d.state else {
                return Ok(());
            };
            let version = match store.put_alert(&d.key, d.expected, Some(state)).await? {
                Cas::Written(v) => v,
                Cas::Conflict(_) => {
                    applied.conflicts.push(d.key.clone());
                    return Ok(());
                }
            };
            let delivery = sender.send(kind, &d.key, state).await;
            note(applied, d, kind, &delivery);
            let mut after = state.clone();
            delivered(&mut after, delivery.ok);
            if delivery.issue.is_some() {
                after.issue = delivery.issue;
            }
            if after != *state
                && let Cas::Conflict(_) =
                    store.put_alert(&d.key, Some(version), Some(&after)).await?
            {
                applied.conflicts.push(d.key.clone());
            }
        }
    }
    Ok(())
}

fn note(applied: &mut Applied, d: &Decision, kind: Send, delivery: &Delivery) {
    applied.sent.push((d.key.clone(), kind, delivery.ok));
    if !delivery.ok {
        let what = match kind {
            Send::Trigger => "alert",
            Send::Update => "alert update",
            Send::Resolve => "resolved message",
        };
        let why = if delivery.problems.is_empty() {
            String::new()
        } else {
            format!(": {}", delivery.problems.join("; "))
        };
        let next = match kind {
            Send::Resolve => "the alert is cleared anyway",
            _ => "it is sent again on the next check",
        };
        applied.warnings.push(format!(
            "{what} for {} was not delivered{why}; {next}",
            d.key.text()
        ));
    }
}
