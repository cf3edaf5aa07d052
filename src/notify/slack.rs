//! Slack incoming webhooks: Block Kit with a plain-text fallback, inside Slack's limits (header
//! 150 characters, section text 3000, ten fields of 2000, 50 blocks).

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::message::{Message, service_facts, truncate};
use crate::report::gate_problems;

const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;
const FIELD_MAX: usize = 2000;
const FIELDS_MAX: usize = 10;
const BLOCKS_MAX: usize = 50;
/// Blocks that are not per service: header, summary, "and N more", context, actions.
const FIXED_BLOCKS: usize = 5;

/// The JSON body of one Slack message.
pub fn payload(msg: &Message<'_>) -> Value {
    let title = msg.title();
    let summary = msg.summary();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&title, HEADER_MAX), "emoji": true}}),
        section(&escape(&summary)),
    ];
    let services = &msg.record.services;
    let mut shown = 0;
    for s in services {
        let problems = if msg.test {
            Vec::new()
        } else {
            gate_problems(s)
        };
        let needed = 1 + usize::from(!problems.is_empty());
        if blocks.len() + needed + FIXED_BLOCKS - 2 > BLOCKS_MAX {
            break;
        }
        let fields: Vec<Value> = service_facts(s, msg.test)
            .into_iter()
            .take(FIELDS_MAX)
            .map(|(label, value)| {
                json!({"type": "mrkdwn", "text": truncate(&format!("*{label}*\n{}", escape(&value)), FIELD_MAX)})
            })
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
        if !problems.is_empty() {
            let lines: Vec<String> = problems
                .iter()
                .map(|p| format!("• {}", escape(p)))
                .collect();
            blocks.push(section(&format!(
                "*Failed gates of {}*\n{}",
                escape(&s.app),
                lines.join("\n")
            )));
        }
        shown += 1;
    }
    if shown < services.len() {
        blocks.push(section(&format!(
            "…and {} more services: see the run's receipt",
            services.len() - shown
        )));
    }
    let mut context = escape(&msg.footer());
    if let Some(url) = &msg.record.run_url {
        let _ = write!(context, " · <{url}|GitHub Actions run>");
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(&context, SECTION_MAX)}]}));
    if let Some(url) = &msg.record.run_url {
        blocks.push(json!({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open the run"}, "url": url}
        ]}));
    }
    json!({
        "text": truncate(&format!("{title}: {summary}"), SECTION_MAX),
        "blocks": blocks,
    })
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_MAX)}})
}

/// Slack's mrkdwn needs `&`, `<` and `>` escaped; everything else is shown as written.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_of_mrkdwn_are_escaped() {
        assert_eq!(
            escape("p95 < 2s & <!channel>"),
            "p95 &lt; 2s &amp; &lt;!channel&gt;"
        );
    }
}
