//! Microsoft Teams through a Workflows webhook ("When a Teams webhook request is received"): an
//! Adaptive Card 1.4 in a `message` envelope. Office 365 connectors are retired, and Teams did
//! not render card versions 1.5 and 1.6 posted this way, so 1.4 it is.

use serde_json::{Value, json};

use super::message::{Message, Tone, service_facts, truncate};
use crate::report::gate_problems;

/// Teams refuses messages over about 28 KB; this many services keeps a card well under it.
const SERVICES_MAX: usize = 20;
const TEXT_MAX: usize = 2000;

pub fn container_style(tone: Tone) -> &'static str {
    match tone {
        Tone::Good => "good",
        Tone::Warn => "warning",
        Tone::Bad => "attention",
        Tone::Info => "emphasis",
    }
}

/// The JSON body of one Teams message.
pub fn payload(msg: &Message<'_>) -> Value {
    let r = msg.record;
    let mut body = vec![
        json!({"type": "Container", "style": container_style(msg.tone()), "bleed": true, "items": [
            {"type": "TextBlock", "text": truncate(&msg.title(), 300), "weight": "Bolder", "size": "Medium", "wrap": true}
        ]}),
        json!({"type": "TextBlock", "text": truncate(&msg.summary(), TEXT_MAX), "wrap": true}),
    ];
    for s in r.services.iter().take(SERVICES_MAX) {
        body.push(json!({"type": "TextBlock", "text": format!("{} · {}", s.service, s.app), "weight": "Bolder", "wrap": true, "spacing": "Medium"}));
        let facts: Vec<Value> = service_facts(s, msg.test)
            .into_iter()
            .skip(1) // the app is the heading
            .map(|(title, value)| json!({"title": title, "value": truncate(&value, TEXT_MAX)}))
            .collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
        let problems = if msg.test {
            Vec::new()
        } else {
            gate_problems(s)
        };
        if !problems.is_empty() {
            let lines: Vec<String> = problems.iter().map(|p| format!("- {p}")).collect();
            body.push(json!({"type": "TextBlock", "text": truncate(&lines.join("\n"), TEXT_MAX), "wrap": true, "color": "Attention"}));
        }
    }
    if r.services.len() > SERVICES_MAX {
        body.push(json!({"type": "TextBlock", "text": format!("…and {} more services: see the run's receipt", r.services.len() - SERVICES_MAX), "wrap": true}));
    }
    body.push(json!({"type": "TextBlock", "text": msg.footer(), "isSubtle": true, "size": "Small", "wrap": true}));
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    });
    if let Some(url) = &r.run_url {
        card["actions"] = json!([{"type": "Action.OpenUrl", "title": "Open the run", "url": url}]);
    }
    json!({
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": card}],
    })
}
