//! What every channel says about a run, in neutral words: the title, the tone, and per service
//! the release from → to, the verdict, the reason. The payload builders only lay it out.

use std::fmt::Write as _;

use crate::event::Event;
use crate::report::{
    RunKind, RunRecord, ServiceRecord, human_duration, image_change, release_change, short_sha,
};

/// One notification: a finished (or starting) run and the event it is told as.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub record: &'a RunRecord,
    pub event: Event,
    /// A `shipit notify test` message: it says so, and `PagerDuty` sends a change event only.
    pub test: bool,
}

/// How good or bad the news is; picks colours and styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Warn,
    Bad,
    Info,
}

impl<'a> Message<'a> {
    pub fn new(record: &'a RunRecord, event: Event) -> Message<'a> {
        Message {
            record,
            event,
            test: false,
        }
    }

    pub fn test(record: &'a RunRecord) -> Message<'a> {
        Message {
            record,
            event: record.event,
            test: true,
        }
    }

    pub fn tone(&self) -> Tone {
        if self.test {
            return Tone::Info;
        }
        match self.event {
            Event::Started => Tone::Info,
            Event::Succeeded | Event::Resolved => Tone::Good,
            Event::RolledBack | Event::Cancelled => Tone::Warn,
            Event::Failed | Event::RollbackFailed | Event::Alert => Tone::Bad,
        }
    }

    /// The type name receivers of the generic webhook switch on: `shipit.rolled_back`.
    pub fn type_name(&self) -> String {
        if self.test {
            "shipit.test".to_owned()
        } else {
            format!("shipit.{}", self.event.name())
        }
    }

    /// What the run was about: `hotdash-staging (staging)`, or `staging (2 services)`.
    pub fn target(&self) -> String {
        let r = self.record;
        match r.services.as_slice() {
            [one] => format!("{} ({})", one.app, one.env),
            [] => r.env.clone().unwrap_or_else(|| "shipit".to_owned()),
            many => {
                let env = r.env.clone().unwrap_or_else(|| many[0].env.clone());
                format!("{env} ({} services)", many.len())
            }
        }
    }

    /// One line, with an emoji: the header of every message and the text fallback.
    pub fn title(&self) -> String {
        let target = self.target();
        if self.test {
            return format!("🧪 Test message from shipit: {target}");
        }
        let kind = kind_word(self.record.kind);
        match self.event {
            Event::Started => format!("🚀 {kind} started: {target}"),
            Event::Succeeded => format!("✅ {kind} succeeded: {target}"),
            Event::Failed => format!("❌ {kind} failed: {target}"),
            Event::RolledBack => format!("↩️ Rolled back: {target}"),
            Event::RollbackFailed => format!("🚨 Rollback failed, a human must act: {target}"),
            Event::Cancelled => format!("⏹️ {kind} cancelled: {target}"),
            Event::Alert => format!("🚨 Alert: {target}"),
            Event::Resolved => format!("✅ Resolved: {target}"),
        }
    }

    /// The run's one-line summary, or what a test message means.
    pub fn summary(&self) -> String {
        if self.test {
            return "This is a test message sent by `shipit notify test`: this channel is set up correctly. \
                    Nothing was deployed."
                .to_owned();
        }
        self.record.summary.clone()
    }

    /// `run 20261127T102320Z-1a2b · 2m 3s`, the footer of every message.
    pub fn footer(&self) -> String {
        let r = self.record;
        let mut out = format!("shipit run {}", r.id);
        if self.event != Event::Started && !self.test {
            let _ = write!(out, " · {}", human_duration(r.duration_ms));
        }
        if let Some(sha) = &r.sha {
            let _ = write!(out, " · commit {}", short_sha(sha));
        }
        if let Some(actor) = &r.actor {
            let _ = write!(out, " · by {actor}");
        }
        out
    }
}

fn kind_word(kind: RunKind) -> &'static str {
    match kind {
        RunKind::Deploy => "Deploy",
        RunKind::Rollback => "Rollback",
        RunKind::Health => "Health check",
        RunKind::Smoke => "Smoke test",
        RunKind::Baseline => "Baseline",
        RunKind::Demo => "Demo deploy",
        RunKind::Cost => "Cost report",
        RunKind::DbVerify => "Database verification",
        RunKind::BackupCheck => "Backup restore check",
        RunKind::Parity => "Parity check",
        RunKind::Promote => "Promotion",
        RunKind::Drill => "Rollback drill",
        RunKind::Check => "Scheduled check",
        RunKind::Watch => "Watch",
    }
}

/// The facts of one service, in display order: (label, value).
pub fn service_facts(s: &ServiceRecord, test: bool) -> Vec<(&'static str, String)> {
    let mut facts = vec![
        ("App", format!("{} ({})", s.app, s.service)),
        ("Environment", s.env.clone()),
    ];
    if test {
        facts.push(("Release", "nothing deployed (test)".to_owned()));
        return facts;
    }
    facts.push(("Release", release_change(s.from.as_ref(), s.to.as_ref())));
    if let Some(images) = image_change(s.from.as_ref(), s.to.as_ref()) {
        facts.push(("Image", images));
    }
    facts.push(("Verdict", verdict(s)));
    if let Some(run) = &s.proved_by {
        facts.push(("Proved by", format!("run {run}")));
    }
    if let Some(reason) = reason(s) {
        facts.push(("Reason", reason));
    }
    facts
}

/// `rolled back · gates: health ✗, regression ✓`.
pub fn verdict(s: &ServiceRecord) -> String {
    let mut out = s.result.words().to_owned();
    if !s.gates.is_empty() {
        let gates: Vec<String> = s
            .gates
            .iter()
            .map(|g| format!("{} {}", g.name, g.verdict.mark()))
            .collect();
        let _ = write!(out, " · gates: {}", gates.join(", "));
    }
    out
}

/// The reason for the decision, else the decision, else the first issue.
pub fn reason(s: &ServiceRecord) -> Option<String> {
    s.reason
        .clone()
        .or_else(|| s.decision.clone())
        .or_else(|| s.issues.first().cloned())
}

/// Cuts `text` to at most `max` characters, ending with `…` when it was cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
        assert_eq!(truncate("héllo wörld", 6).chars().count(), 6);
    }
}
