//! Findings from machine events (`events` in `machines list --json`, newest first): an OOM kill,
//! a crash (a non-zero exit nobody asked for) and a restart loop, judged the way flyctl's own
//! smoke check does (`isConstantlyRestarting`: on the newest exit event, not a requested stop,
//! restarting, `restart_count > 1`, a non-zero exit code). Only events inside the window count,
//! so an OOM kill last week does not alert forever.

use std::time::Duration;

use super::{Finding, Level};
use crate::platform::{Machine, MachineEvent};

/// The findings for one app's machines at `now_ms` (Unix milliseconds), over `window`.
pub fn findings(app: &str, machines: &[Machine], now_ms: u64, window: Duration) -> Vec<Finding> {
    let since = now_ms.saturating_sub(u64::try_from(window.as_millis()).unwrap_or(u64::MAX));
    let mut oom = Finding::new(app, "oom_killed", Level::Alert, "");
    let mut crash = Finding::new(app, "crash", Level::Alert, "");
    let mut looping = Finding::new(app, "restart_loop", Level::Alert, "");
    let (mut ooms, mut crashes, mut loops) = (0, 0, Vec::new());
    for m in machines {
        let mut events: Vec<&MachineEvent> = m
            .events
            .iter()
            .filter(|e| e.timestamp_ms >= since)
            .collect();
        events.sort_by_key(|e| std::cmp::Reverse(e.timestamp_ms));
        let exits: Vec<(&MachineEvent, &crate::platform::ExitEvent)> = events
            .iter()
            .filter(|e| e.kind == "exit")
            .filter_map(|e| e.exit.as_ref().map(|x| (*e, x)))
            .collect();
        if let Some((event, exit)) = exits.first() {
            let restarts = event.restart_count.unwrap_or(0);
            if !exit.requested_stop && exit.restarting && restarts > 1 && exit.exit_code != 0 {
                loops.push(m.id.clone());
                looping.push_evidence(&format!(
                    "machine {} exited with code {} and is restarting (restart_count {restarts}) at {}",
                    m.id,
                    exit.exit_code,
                    when(event.timestamp_ms)
                ));
            }
        }
        for (event, exit) in &exits {
            if exit.oom_killed {
                ooms += 1;
                oom.push_evidence(&format!(
                    "machine {} was killed out of memory at {} (exit_code={},oom_killed=true)",
                    m.id,
                    when(event.timestamp_ms),
                    exit.exit_code
                ));
            } else if exit.exit_code != 0 && !exit.requested_stop {
                crashes += 1;
                crash.push_evidence(&format!(
                    "machine {} exited with code {} at {} (requested_stop=false)",
                    m.id,
                    exit.exit_code,
                    when(event.timestamp_ms)
                ));
            }
        }
    }
    let mut out = Vec::new();
    if ooms > 0 {
        oom.summary = format!("{ooms} out-of-memory kill(s) in machine events");
        out.push(oom);
    }
    if crashes > 0 {
        crash.summary = format!("{crashes} unrequested non-zero exit(s) in machine events");
        out.push(crash);
    }
    if !loops.is_empty() {
        looping.summary = format!("restart loop on machine(s) {}", loops.join(", "));
        out.push(looping);
    }
    out
}

fn when(ms: u64) -> String {
    crate::timefmt::rfc3339(std::time::UNIX_EPOCH + Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::ExitEvent;

    const NOW: u64 = 1_787_313_600_000;

    fn machine(id: &str, events: Vec<MachineEvent>) -> Machine {
        Machine {
            id: id.into(),
            name: id.into(),
            state: "started".into(),
            region: "iad".into(),
            image: "img".into(),
            release_version: Some(1),
            process_group: None,
            host_status: "ok".into(),
            checks: Vec::new(),
            events,
        }
    }

    fn exit(
        ago_s: u64,
        code: i64,
        oom: bool,
        requested: bool,
        restarting: bool,
        count: u32,
    ) -> MachineEvent {
        MachineEvent {
            kind: "exit".into(),
            status: "stopped".into(),
            source: "flyd".into(),
            timestamp_ms: NOW - ago_s * 1000,
            exit: Some(ExitEvent {
                exit_code: code,
                oom_killed: oom,
                requested_stop: requested,
                restarting,
                signal: None,
            }),
            restart_count: Some(count),
        }
    }

    fn start(ago_s: u64) -> MachineEvent {
        MachineEvent {
            kind: "start".into(),
            status: "started".into(),
            source: "flyd".into(),
            timestamp_ms: NOW - ago_s * 1000,
            ..MachineEvent::default()
        }
    }

    fn rules(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.rule.as_str()).collect()
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn an_oom_kill_is_an_alert_with_its_evidence() {
        let m = machine(
            "148ed193b95089",
            vec![start(10), exit(12, 137, true, false, true, 1)],
        );
        let f = findings("web", &[m], NOW, HOUR);
        assert_eq!(rules(&f), ["oom_killed"]);
        assert_eq!(f[0].level, Level::Alert);
        assert!(
            f[0].evidence[0].contains("148ed193b95089 was killed out of memory"),
            "{:?}",
            f[0].evidence
        );
        assert!(f[0].evidence[0].contains("oom_killed=true"));
    }

    #[test]
    fn a_restart_loop_is_flyctls_constantly_restarting_test() {
        // Newest first: exit code 1, restarting, the third restart.
        let m = machine(
            "m1",
            vec![
                exit(5, 1, false, false, true, 3),
                start(30),
                exit(40, 1, false, false, true, 2),
            ],
        );
        let f = findings("web", &[m], NOW, HOUR);
        assert_eq!(rules(&f), ["crash", "restart_loop"]);
        assert!(f[1].summary.contains("m1"));
        assert!(f[1].evidence[0].contains("restart_count 3"));
        assert!(
            f[0].summary.starts_with("2 unrequested"),
            "{}",
            f[0].summary
        );
    }

    #[test]
    fn near_misses_of_a_restart_loop_are_not_loops() {
        for (why, e) in [
            ("first restart", exit(5, 1, false, false, true, 1)),
            ("requested stop", exit(5, 1, false, true, true, 5)),
            ("not restarting", exit(5, 1, false, false, false, 5)),
            ("clean exit", exit(5, 0, false, false, true, 5)),
        ] {
            let f = findings("web", &[machine("m", vec![e])], NOW, HOUR);
            assert!(!rules(&f).contains(&"restart_loop"), "{why}: {f:?}");
        }
        // Only the newest exit counts: the loop stopped when the machine came back cleanly.
        let healed = machine(
            "m",
            vec![
                exit(5, 0, false, true, false, 0),
                exit(60, 1, false, false, true, 4),
            ],
        );
        assert!(!rules(&findings("web", &[healed], NOW, HOUR)).contains(&"restart_loop"));
    }

    #[test]
    fn requested_stops_clean_exits_and_old_events_are_not_findings() {
        let m = machine(
            "m",
            vec![
                exit(5, 0, false, false, false, 0),
                exit(50, 143, false, true, false, 0),
                exit(7200, 137, true, false, true, 1),
            ],
        );
        assert!(findings("web", &[m], NOW, HOUR).is_empty());
        assert!(findings("web", &[], NOW, HOUR).is_empty());
    }
}
