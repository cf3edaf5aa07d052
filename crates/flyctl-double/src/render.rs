//! The fly-go types flyctl serialises, built from the state in their real field order.
//!
//! Machines-API types (`fly.Machine` and friends in `machine_types.go`) have snake_case tags
//! and `omitempty` almost everywhere; GraphQL types (`fly.Release`, `fly.App`,
//! `fly.OrganizationBasic` in `types.go`) are untagged, so every field prints in PascalCase,
//! zero values included. Go maps (`env`, `metadata`, `labels`) print with sorted keys.

use crate::gojson::{J, map, obj};
use crate::ids;
use crate::state::{App, Check, LogEntry, Machine, Release};

pub const DEFAULT_MACHINE_CREATED_AT: &str = "2026-08-01T10:00:00Z";
pub const DEFAULT_MACHINE_UPDATED_AT: &str = "2026-08-21T12:00:05Z";
pub const DEFAULT_CHECK_UPDATED_AT: &str = "2026-08-21T12:00:30.123Z";
pub const DEFAULT_RELEASE_CREATED_AT: &str = "2026-08-20T09:00:00Z";
/// Go's zero `time.Time`, which untagged structs print for unset timestamps.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// An image reference split the way flaps reports it in `image_ref`.
#[derive(Debug, PartialEq, Eq)]
pub struct ImageParts {
    pub registry: String,
    pub repository: String,
    pub tag: String,
    pub digest: String,
}

/// Splits `registry/repository[:tag][@digest]`; Docker Hub names go through Fly's mirror.
pub fn parse_image(image: &str) -> ImageParts {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, d.to_owned()),
        None => (image, String::new()),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (
            &name[..last_slash + i],
            name[last_slash + i + 1..].to_owned(),
        ),
        None => (name, String::new()),
    };
    let (registry, repository) = match path.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_owned(), rest.to_owned())
        }
        Some(_) => ("docker-hub-mirror.fly.io".to_owned(), path.to_owned()),
        None => (
            "docker-hub-mirror.fly.io".to_owned(),
            format!("library/{path}"),
        ),
    };
    let tag = if tag.is_empty() && digest.is_empty() {
        "latest".to_owned()
    } else {
        tag
    };
    ImageParts {
        registry,
        repository,
        tag,
        digest,
    }
}

/// What a machine rendering needs beyond the machine itself.
pub struct View<'a> {
    pub app_name: &'a str,
    pub app: &'a App,
    pub flyctl_version: &'a str,
}

/// The image digest a machine reports: from the image string, the state, or derived.
pub fn machine_digest(m: &Machine) -> String {
    let parts = parse_image(&m.image);
    if !parts.digest.is_empty() {
        parts.digest
    } else if let Some(d) = &m.digest {
        d.clone()
    } else {
        ids::image_digest(&m.image)
    }
}

fn image_ref(m: &Machine) -> J {
    if m.image.is_empty() {
        return obj([]);
    }
    let parts = parse_image(&m.image);
    let mut fields = vec![
        ("registry".to_owned(), J::from(parts.registry)),
        ("repository".to_owned(), J::from(parts.repository)),
    ];
    if !parts.tag.is_empty() {
        fields.push(("tag".to_owned(), J::from(parts.tag)));
    }
    fields.push(("digest".to_owned(), J::from(machine_digest(m))));
    if let Some(labels) = m.labels.as_ref().filter(|l| !l.is_empty()) {
        fields.push(("labels".to_owned(), string_map(labels)));
    }
    J::Obj(fields)
}

fn string_map(m: &std::collections::BTreeMap<String, String>) -> J {
    map(m.iter().map(|(k, v)| (k.clone(), J::from(v))))
}

/// `fly.MachineCheckStatus`.
pub fn check_status(c: &Check) -> J {
    let mut fields = Vec::new();
    if !c.name.is_empty() {
        fields.push(("name".to_owned(), J::from(&c.name)));
    }
    if !c.status.is_empty() {
        fields.push(("status".to_owned(), J::from(&c.status)));
    }
    if let Some(o) = c.output.as_ref().filter(|o| !o.is_empty()) {
        fields.push(("output".to_owned(), J::from(o)));
    }
    let updated = c
        .updated_at
        .clone()
        .unwrap_or_else(|| DEFAULT_CHECK_UPDATED_AT.to_owned());
    fields.push(("updated_at".to_owned(), J::from(updated)));
    J::Obj(fields)
}

/// The id flyctl shows for a release: the stored one, or one derived from app and version.
pub fn release_id(app_name: &str, r: &Release) -> String {
    r.id.clone()
        .unwrap_or_else(|| ids::derived_release_id(app_name, r.version))
}

/// Port of the first service check name (`servicecheck-00-http-3000`), else 3000.
fn internal_port(m: &Machine) -> i64 {
    m.checks
        .iter()
        .filter(|c| c.name.starts_with("servicecheck-"))
        .find_map(|c| c.name.rsplit('-').next()?.parse().ok())
        .unwrap_or(3000)
}

fn metadata(v: &View<'_>, m: &Machine) -> J {
    let mut entries = vec![
        ("fly_flyctl_version", J::from(v.flyctl_version)),
        ("fly_platform_version", J::from("v2")),
        ("fly_process_group", J::from(m.process_group())),
    ];
    if let Some(version) = m.release_version {
        let id = v.app.release(version).map_or_else(
            || ids::derived_release_id(v.app_name, version),
            |r| release_id(v.app_name, r),
        );
        entries.push(("fly_release_id", J::from(id)));
        // A Go map[string]string: the release version is a string, not a number.
        entries.push(("fly_release_version", J::from(version.to_string())));
    }
    map(entries)
}

fn http_check_fields() -> [(&'static str, J); 6] {
    [
        ("type", J::from("http")),
        ("interval", J::from("15s")),
        ("timeout", J::from("5s")),
        ("grace_period", J::from("10s")),
        ("method", J::from("GET")),
        ("path", J::from("/health")),
    ]
}

fn machine_config(v: &View<'_>, m: &Machine) -> J {
    let port = internal_port(m);
    let mut env = vec![
        ("FLY_PROCESS_GROUP".to_owned(), J::from(m.process_group())),
        ("PRIMARY_REGION".to_owned(), J::from(&m.region)),
    ];
    if let Some(extra) = &m.env {
        env.extend(extra.iter().map(|(k, v)| (k.clone(), J::from(v))));
    }
    let mut fields = vec![
        ("env".to_owned(), map(env.into_iter().rev())),
        ("init".to_owned(), obj([])),
        ("guest".to_owned(), {
            let g = m.effective_guest();
            obj([
                ("cpu_kind", J::from(g.cpu_kind)),
                ("cpus", J::from(g.cpus)),
                ("memory_mb", J::from(g.memory_mb)),
            ])
        }),
        ("metadata".to_owned(), metadata(v, m)),
    ];
    if !m.mounts.is_empty() {
        fields.push((
            "mounts".to_owned(),
            J::Arr(m.mounts.iter().map(mount).collect()),
        ));
    }
    if m.process_group() == "app" {
        let mut service = vec![
            ("protocol".to_owned(), J::from("tcp")),
            ("internal_port".to_owned(), J::Int(port)),
            // MachineAutostop marshals as a bool for off/stop and a string for "suspend".
            (
                "autostop".to_owned(),
                m.autostop.as_ref().map_or(J::Bool(true), J::from_value),
            ),
            ("autostart".to_owned(), J::Bool(m.autostart.unwrap_or(true))),
            (
                "min_machines_running".to_owned(),
                J::Int(m.min_machines_running.unwrap_or(1)),
            ),
        ];
        if let Some(c) = &m.concurrency {
            service.push(("concurrency".to_owned(), J::from_value(c)));
        }
        service.extend([(
            "ports".to_owned(),
            J::Arr(vec![
                obj([
                    ("port", J::Int(80)),
                    ("handlers", J::Arr(vec![J::from("http")])),
                    ("force_https", J::Bool(true)),
                ]),
                obj([
                    ("port", J::Int(443)),
                    ("handlers", J::Arr(vec![J::from("http"), J::from("tls")])),
                ]),
            ]),
        )]);
        if m.checks.iter().any(|c| c.name.starts_with("servicecheck-")) {
            service.push(("checks".to_owned(), J::Arr(vec![obj(http_check_fields())])));
        }
        service.push(("force_instance_key".to_owned(), J::Null));
        fields.push(("services".to_owned(), J::Arr(vec![J::Obj(service)])));
    }
    let top_level: Vec<_> = m
        .checks
        .iter()
        .filter(|c| !c.name.starts_with("servicecheck-") && !c.name.is_empty())
        .map(|c| {
            let [t, i, to, g, me, p] = http_check_fields();
            (
                c.name.clone(),
                obj([("port", J::Int(port)), t, i, to, g, me, p]),
            )
        })
        .collect();
    if !top_level.is_empty() {
        fields.push(("checks".to_owned(), map(top_level)));
    }
    if !m.image.is_empty() {
        fields.push(("image".to_owned(), J::from(&m.image)));
    }
    fields.push((
        "restart".to_owned(),
        obj([
            ("policy", J::from("on-failure")),
            ("max_retries", J::Int(10)),
        ]),
    ));
    J::Obj(fields)
}

/// fly-go `MachineMount`: every field `omitempty`.
fn mount(m: &crate::state::Mount) -> J {
    let mut fields = Vec::new();
    if m.encrypted == Some(true) {
        fields.push(("encrypted".to_owned(), J::Bool(true)));
    }
    fields.push(("path".to_owned(), J::from(&m.path)));
    if let Some(size) = m.size_gb {
        fields.push(("size_gb".to_owned(), J::Int(size)));
    }
    fields.push(("volume".to_owned(), J::from(&m.volume)));
    if let Some(name) = &m.name {
        fields.push(("name".to_owned(), J::from(name)));
    }
    J::Obj(fields)
}

/// fly-go `Volume`, as `volumes list --json` prints it: struct order, `attached_machine_id`
/// and `attached_alloc_id` always present (null when unattached), `host_status` omitempty.
pub fn volume(vol: &crate::state::Volume) -> J {
    let opt = |s: &Option<String>| s.as_ref().map_or(J::Null, J::from);
    J::Obj(
        [
            ("id", J::from(&vol.id)),
            ("name", J::from(&vol.name)),
            ("state", J::from(&vol.state)),
            ("size_gb", J::Int(vol.size_gb)),
            ("region", J::from(&vol.region)),
            (
                "zone",
                J::from(vol.zone.clone().unwrap_or_else(|| "a1b2".to_owned())),
            ),
            ("encrypted", J::Bool(vol.encrypted.unwrap_or(true))),
            ("attached_machine_id", opt(&vol.attached_machine_id)),
            ("attached_alloc_id", J::Null),
            (
                "created_at",
                J::from(
                    vol.created_at
                        .as_deref()
                        .unwrap_or(DEFAULT_MACHINE_CREATED_AT),
                ),
            ),
            ("host_dedication_id", J::from("")),
            (
                "snapshot_retention",
                J::Int(vol.snapshot_retention.unwrap_or(5)),
            ),
            (
                "auto_backup_enabled",
                J::Bool(vol.auto_backup_enabled.unwrap_or(true)),
            ),
            ("host_status", J::from("ok")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    )
}

/// The machine's events, newest first (fly-go `MachineEvent`); without scripted ones, the
/// latest event matching its state.
fn events(m: &Machine) -> J {
    if let Some(list) = &m.events {
        return J::Arr(list.iter().map(machine_event).collect());
    }
    let kind = match m.state.as_str() {
        "started" => "start",
        "stopped" => "exit",
        "suspended" => "suspend",
        "created" => "launch",
        "destroyed" | "destroying" => "destroy",
        _ => "update",
    };
    let updated = m
        .updated_at
        .as_deref()
        .unwrap_or(DEFAULT_MACHINE_UPDATED_AT);
    let timestamp = crate::clock::parse_rfc3339_ms(updated).unwrap_or(1_787_313_605_000);
    J::Arr(vec![obj([
        ("type", J::from(kind)),
        ("status", J::from(&m.state)),
        ("source", J::from("flyd")),
        ("timestamp", J::Int(timestamp)),
    ])])
}

/// One scripted event: `{type, status, request, source, timestamp}`; an exit's
/// `request.exit_event` carries `exit_code`, `oom_killed`, `requested_stop`, `restarting`, and
/// `request.restart_count` the restarts so far (what flyctl's crash-loop test reads).
fn machine_event(e: &crate::state::MachineEvent) -> J {
    let mut fields = vec![
        ("type".to_owned(), J::from(&e.kind)),
        ("status".to_owned(), J::from(&e.status)),
    ];
    if e.kind == "exit" || e.restart_count.is_some() {
        let mut request = Vec::new();
        if e.kind == "exit" {
            request.push((
                "exit_event".to_owned(),
                obj([
                    ("exit_code", J::Int(e.exit_code.unwrap_or(0))),
                    ("guest_exit_code", J::Int(e.exit_code.unwrap_or(0))),
                    ("guest_signal", J::Int(if e.oom_killed { 9 } else { -1 })),
                    ("oom_killed", J::Bool(e.oom_killed)),
                    ("requested_stop", J::Bool(e.requested_stop)),
                    ("restarting", J::Bool(e.restarting)),
                    ("signal", J::Int(if e.oom_killed { 9 } else { -1 })),
                    ("exited_at", J::from(crate::clock::rfc3339(e.timestamp))),
                ]),
            ));
        }
        if let Some(n) = e.restart_count {
            request.push(("restart_count".to_owned(), J::Int(i64::from(n))));
        }
        fields.push(("request".to_owned(), J::Obj(request)));
    }
    fields.push(("source".to_owned(), J::from(&e.source)));
    fields.push(("timestamp".to_owned(), J::Int(e.timestamp)));
    J::Obj(fields)
}

/// `fly.Machine`, as `status --json` and `machines list --json` print it.
pub fn machine(v: &View<'_>, m: &Machine) -> J {
    let host_ok = m.host_status() == "ok";
    let instance = m
        .instance_id
        .clone()
        .unwrap_or_else(|| ids::instance_id(&m.id, &m.image, m.release_version.unwrap_or(0)));
    let name = m.name.clone().unwrap_or_else(|| ids::machine_name(&m.id));
    let mut fields = vec![
        ("id".to_owned(), J::from(&m.id)),
        ("name".to_owned(), J::from(name)),
    ];
    if !m.state.is_empty() {
        fields.push(("state".to_owned(), J::from(&m.state)));
    }
    fields.push(("region".to_owned(), J::from(&m.region)));
    // With the host unreachable flaps cannot read the machine's image or config.
    fields.push((
        "image_ref".to_owned(),
        if host_ok { image_ref(m) } else { obj([]) },
    ));
    fields.push(("instance_id".to_owned(), J::from(instance.clone())));
    fields.push(("version".to_owned(), J::from(instance)));
    fields.push((
        "private_ip".to_owned(),
        J::from(
            m.private_ip
                .clone()
                .unwrap_or_else(|| ids::private_ip(&m.id)),
        ),
    ));
    fields.push((
        "created_at".to_owned(),
        J::from(
            m.created_at
                .as_deref()
                .unwrap_or(DEFAULT_MACHINE_CREATED_AT),
        ),
    ));
    fields.push((
        "updated_at".to_owned(),
        J::from(
            m.updated_at
                .as_deref()
                .unwrap_or(DEFAULT_MACHINE_UPDATED_AT),
        ),
    ));
    if host_ok {
        fields.push(("config".to_owned(), machine_config(v, m)));
    }
    fields.push(("events".to_owned(), events(m)));
    let checks: Vec<J> = m
        .checks
        .iter()
        .filter(|c| !c.name.starts_with("bg_deployments_compat"))
        .map(check_status)
        .collect();
    if !checks.is_empty() {
        fields.push(("checks".to_owned(), J::Arr(checks)));
    }
    fields.push(("host_status".to_owned(), J::from(m.host_status())));
    fields.push(("cordoned".to_owned(), J::Bool(m.cordoned.unwrap_or(false))));
    if !host_ok {
        fields.push((
            "incomplete_config".to_owned(),
            obj([("init", obj([])), ("metadata", metadata(v, m))]),
        ));
    }
    J::Obj(fields)
}

/// `fly.User` as a release's author.
fn user(r: &Release) -> J {
    let email = r.user_email.clone().unwrap_or_default();
    obj([
        (
            "ID",
            J::from(if email.is_empty() {
                String::new()
            } else {
                ids::user_id(&email)
            }),
        ),
        ("Name", J::from(r.user_name.clone().unwrap_or_default())),
        ("Email", J::from(email)),
        ("EnablePaidHobby", J::Bool(false)),
    ])
}

/// `fly.Release` with the fields `GetAppReleasesMachines` fills.
pub fn release(app_name: &str, r: &Release) -> J {
    obj([
        ("ID", J::from(release_id(app_name, r))),
        ("Version", J::from(r.version)),
        (
            "Stable",
            J::Bool(r.stable.unwrap_or(r.status == "complete")),
        ),
        ("InProgress", J::Bool(false)),
        ("Reason", J::from(r.reason.as_deref().unwrap_or("deploy"))),
        (
            "Description",
            J::from(r.description.as_deref().unwrap_or("Deploy image")),
        ),
        ("Status", J::from(&r.status)),
        ("DeploymentStrategy", J::from("")),
        ("Metadata", J::Null),
        ("User", user(r)),
        ("EvaluationID", J::from("")),
        (
            "CreatedAt",
            J::from(
                r.created_at
                    .as_deref()
                    .unwrap_or(DEFAULT_RELEASE_CREATED_AT),
            ),
        ),
        ("ImageRef", J::from(&r.image)),
    ])
}

/// A zero-valued `fly.Release` with only what `apps list`'s query fills (`createdAt`, `status`).
pub fn current_release(r: &Release) -> J {
    obj([
        ("ID", J::from("")),
        ("Version", J::Int(0)),
        ("Stable", J::Bool(false)),
        ("InProgress", J::Bool(false)),
        ("Reason", J::from("")),
        ("Description", J::from("")),
        ("Status", J::from(&r.status)),
        ("DeploymentStrategy", J::from("")),
        ("Metadata", J::Null),
        (
            "User",
            obj([
                ("ID", J::from("")),
                ("Name", J::from("")),
                ("Email", J::from("")),
                ("EnablePaidHobby", J::Bool(false)),
            ]),
        ),
        ("EvaluationID", J::from("")),
        (
            "CreatedAt",
            J::from(
                r.created_at
                    .as_deref()
                    .unwrap_or(DEFAULT_RELEASE_CREATED_AT),
            ),
        ),
        ("ImageRef", J::from("")),
    ])
}

/// `fly.OrganizationBasic` as `GetAppCompact` fills it (id, internal id, slug, paid plan).
pub fn organization_basic(app: &App) -> J {
    obj([
        ("ID", J::from(ids::org_id(&app.org))),
        (
            "InternalNumericID",
            J::from((ids::hash(&[&app.org, "num"]) % 900_000 + 100_000).to_string()),
        ),
        ("Name", J::from("")),
        ("Slug", J::from(&app.org)),
        ("RawSlug", J::from("")),
        ("PaidPlan", J::Bool(true)),
    ])
}

fn nodes_null() -> J {
    obj([("Nodes", J::Null)])
}

fn image_version_zero() -> J {
    obj([
        ("Registry", J::from("")),
        ("Repository", J::from("")),
        ("Tag", J::from("")),
        ("Version", J::from("")),
        ("Digest", J::from("")),
    ])
}

/// The full `fly.App` struct `apps list --json` prints, mostly zero values.
pub fn app_full(name: &str, app: &App) -> J {
    let organization = obj([
        ("ID", J::from("")),
        ("InternalNumericID", J::from("")),
        ("Name", J::from(&app.org)),
        ("RemoteBuilderImage", J::from("")),
        ("RemoteBuilderApp", J::Null),
        ("Slug", J::from(&app.org)),
        ("RawSlug", J::from("")),
        ("Type", J::from("")),
        ("PaidPlan", J::Bool(false)),
        ("Billable", J::Bool(false)),
        ("Settings", J::Null),
        ("AllowedReplaySourceOrgSlugs", J::Null),
        ("AllowAllCrossNetworkReplays", J::Bool(false)),
        ("WireGuardPeer", J::Null),
        (
            "WireGuardPeers",
            obj([("Nodes", J::Null), ("Edges", J::Null)]),
        ),
        (
            "DelegatedWireGuardTokens",
            obj([("Nodes", J::Null), ("Edges", J::Null)]),
        ),
        ("LoggedCertificates", J::Null),
    ]);
    let certificate = obj([
        ("ID", J::from("")),
        ("AcmeDNSConfigured", J::Bool(false)),
        ("AcmeALPNConfigured", J::Bool(false)),
        ("Configured", J::Bool(false)),
        ("CertificateAuthority", J::from("")),
        ("CreatedAt", J::from(GO_ZERO_TIME)),
        ("DNSProvider", J::from("")),
        ("DNSValidationInstructions", J::from("")),
        ("DNSValidationHostname", J::from("")),
        ("DNSValidationTarget", J::from("")),
        ("Hostname", J::from("")),
        ("Source", J::from("")),
        ("ClientStatus", J::from("")),
        ("IsApex", J::Bool(false)),
        ("IsWildcard", J::Bool(false)),
        ("ValidationErrors", J::Null),
        ("Issued", nodes_null()),
    ]);
    let current = app
        .releases
        .iter()
        .max_by_key(|r| r.version)
        .map_or(J::Null, current_release);
    obj([
        ("ID", J::from(name)),
        ("InternalNumericID", J::Int(0)),
        ("Name", J::from(name)),
        ("State", J::from("")),
        ("Status", J::from(&app.status)),
        ("Deployed", J::Bool(deployed(app))),
        ("Hostname", J::from(format!("{name}.fly.dev"))),
        ("AppURL", J::from("")),
        ("Version", J::Int(0)),
        ("NetworkID", J::Int(0)),
        ("Network", J::from(app.network.clone().unwrap_or_default())),
        ("Release", J::Null),
        ("Organization", organization),
        ("Secrets", J::Null),
        ("CurrentRelease", current),
        ("Releases", nodes_null()),
        ("IPAddresses", nodes_null()),
        ("EgressIpAddresses", nodes_null()),
        ("SharedIPAddress", J::from("")),
        ("CNAMETarget", J::from("")),
        ("IPAddress", J::Null),
        ("Certificates", nodes_null()),
        ("Certificate", certificate),
        ("PostgresAppRole", J::Null),
        ("Image", J::Null),
        ("ImageUpgradeAvailable", J::Bool(false)),
        ("ImageVersionTrackingEnabled", J::Bool(false)),
        ("ImageDetails", image_version_zero()),
        ("LatestImageDetails", image_version_zero()),
        ("PlatformVersion", J::from("machines")),
        ("Machines", nodes_null()),
        ("CurrentLock", J::Null),
    ])
}

/// The API's `deployed` flag: as stored, else whether anything was ever deployed.
pub fn deployed(app: &App) -> bool {
    app.deployed.unwrap_or_else(|| {
        !app.machines.is_empty() || app.releases.iter().any(|r| r.status == "complete")
    })
}

/// `logs.LogEntry`: tagged top level, untagged `Meta` (PascalCase except `status_code`).
pub fn log_entry(e: &LogEntry) -> J {
    obj([
        ("level", J::from(&e.level)),
        ("instance", J::from(&e.instance)),
        ("message", J::from(&e.message)),
        ("region", J::from(&e.region)),
        ("timestamp", J::from(&e.timestamp)),
        (
            "meta",
            obj([
                ("Instance", J::from("")),
                ("Region", J::from("")),
                ("Event", obj([("Provider", J::from("app"))])),
                (
                    "HTTP",
                    obj([
                        (
                            "Request",
                            obj([
                                ("ID", J::from("")),
                                ("Method", J::from("")),
                                ("Version", J::from("")),
                            ]),
                        ),
                        ("Response", obj([("status_code", J::Int(0))])),
                    ]),
                ),
                (
                    "Error",
                    obj([("Code", J::Int(0)), ("Message", J::from(""))]),
                ),
                ("URL", obj([("Full", J::from(""))])),
            ]),
        ),
    ])
}

/// One row of `image show --json`: a `map[string]string`, so sorted keys and string values.
pub fn image_row(m: &Machine) -> J {
    let parts = parse_image(&m.image);
    let labels = m.labels.clone().unwrap_or_default();
    let version = labels
        .get("fly.version")
        .cloned()
        .unwrap_or_else(|| "N/A".to_owned());
    let labels_text = if labels.is_empty() {
        String::new()
    } else {
        string_map(&labels).compact()
    };
    map([
        ("Digest", J::from(machine_digest(m))),
        ("Labels", J::from(labels_text)),
        ("MachineID", J::from(&m.id)),
        ("Registry", J::from(parts.registry)),
        ("Repository", J::from(parts.repository)),
        ("Tag", J::from(parts.tag)),
        ("Version", J::from(version)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_image_references() {
        assert_eq!(
            parse_image("registry.fly.io/app:deployment-01AAA"),
            ImageParts {
                registry: "registry.fly.io".into(),
                repository: "app".into(),
                tag: "deployment-01AAA".into(),
                digest: String::new()
            }
        );
        let p = parse_image("registry.fly.io/app@sha256:abc");
        assert_eq!((p.tag.as_str(), p.digest.as_str()), ("", "sha256:abc"));
        let p = parse_image("nginx");
        assert_eq!(
            (p.registry.as_str(), p.repository.as_str(), p.tag.as_str()),
            ("docker-hub-mirror.fly.io", "library/nginx", "latest")
        );
        let p = parse_image("localhost:5000/team/app:v1");
        assert_eq!(
            (p.registry.as_str(), p.repository.as_str(), p.tag.as_str()),
            ("localhost:5000", "team/app", "v1")
        );
    }
}
