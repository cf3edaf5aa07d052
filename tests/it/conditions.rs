//! Gatus's condition forms through the real binary: `shipit smoke` against a server on
//! 127.0.0.1, for `any()`, `pat()`, `len()`, `has()`, placeholder against placeholder, `[IP]`
//! and `[CONNECTED] == false`; and Gatus-only forms refused when the suite loads.

use crate::support::Project;
use crate::support::server::{Behaviour, Reply, Server, refused_url};

fn project(server: &Server, smoke: &str) -> Project {
    let p = Project::new();
    p.config(&format!(
        "version: 1\napps:\n  web:\n    smoke: smoke/web.yml\nenvironments:\n  staging:\n    web: {{ app: web-staging, url: {} }}\n",
        server.url()
    ));
    p.write("smoke/web.yml", smoke);
    p
}

fn server() -> Server {
    Server::start([
        (
            "/api/status",
            Behaviour::Reply(
                Reply::new(
                    200,
                    r#"{"state":"degraded","items":[1,2,3],"total":3,"name":"john.doe","errors":null}"#,
                )
                .header("content-type", "application/json")
                .header("x-request-id", "abc123"),
            ),
        ),
        ("/busy", Behaviour::status(429)),
        ("/error", Behaviour::ok("<h1>Internal error</h1>")),
    ])
}

#[test]
fn gatus_functions_pass_and_fail_as_gatus_users_mean() {
    let server = server();
    let p = project(
        &server,
        r#"checks:
  - name: any
    path: /busy
    expect: ["[STATUS] == any(200, 429)"]
  - name: any on a path
    path: /api/status
    expect: ["[BODY].state == any(ok, degraded)", "[BODY].state != any(down, failed)"]
  - name: pat
    path: /api/status
    expect: ["[BODY].name == pat(john*)", "[HEADER].content-type == pat(application/*)", "[BODY] != pat(*Internal*)"]
  - name: len and has
    path: /api/status
    expect: ["len([BODY].items) == 3", "len([BODY].items) >= 1", "has([BODY].errors) == false", "has([HEADER].x-request-id) == true"]
  - name: two placeholders
    path: /api/status
    expect: ["[BODY].total == len([BODY].items)"]
  - name: ip
    path: /api/status
    expect: ["[IP] == 127.0.0.1", "[IP] == pat(127.*)"]
  - name: error page
    path: /error
    expect: ["[BODY] != pat(*error*)"]
  - name: any fails
    path: /busy
    expect: ["[STATUS] == any(200, 204)"]
  - name: len fails
    path: /api/status
    expect: ["len([BODY].items) > 5"]
"#,
    );
    let run = p.run(&["smoke", "staging"]);
    run.code(1)
        .stdout_has("  ✓ any  GET /busy  429 in ")
        .stdout_has("  ✓ any on a path  GET /api/status")
        .stdout_has("  ✓ pat  GET /api/status")
        .stdout_has("  ✓ len and has  GET /api/status")
        .stdout_has("  ✓ two placeholders  GET /api/status")
        .stdout_has("  ✓ ip  GET /api/status")
        .stdout_has(": [BODY] (<h1>Internal error</h1>) != pat(*error*)")
        .stdout_has(": [STATUS] (429) == any(200, 204)")
        .stdout_has(": len([BODY].items) (3) > 5")
        .stdout_has("6/9 checks passed");
}

#[test]
fn connected_false_passes_on_a_closed_port() {
    let server = server();
    let closed = refused_url();
    let p = project(
        &server,
        &format!(
            "checks:\n  - {{ name: admin port closed, url: '{closed}/', expect: ['[CONNECTED] == false'] }}\n  - {{ name: must answer, url: '{closed}/', expect: ['[CONNECTED] == true'] }}\n"
        ),
    );
    let run = p.run(&["smoke", "staging"]);
    run.code(1)
        .stdout_has("  ✓ admin port closed  GET ")
        .stdout_has("  ✗ must answer  GET ")
        .stdout_has("[CONNECTED] (false) == true")
        .stdout_has("1/2 checks passed");
}

#[test]
fn gatus_only_forms_are_refused_when_the_suite_loads() {
    let server = server();
    for (condition, message) in [
        (
            "[DNS_RCODE] == NOERROR",
            "shipit's probes are HTTP requests",
        ),
        ("[DOMAIN_EXPIRATION] > 720h", "needs a WHOIS lookup"),
        ("[RESPONSE_TIME] < 500", "write `500ms`"),
        ("[BODY] == foo(bar)", "unknown function `foo(...)`"),
        ("any(200, 429) == [STATUS]", "write the placeholder first"),
        ("[STATUS] == [CONTEXT].code", "Gatus suite"),
    ] {
        let p = project(
            &server,
            &format!("checks:\n  - {{ name: c, path: /, expect: ['{condition}'] }}\n"),
        );
        let run = p.run(&["smoke", "staging"]);
        run.code(1)
            .stderr_has("smoke/web.yml")
            .stderr_has(&format!("condition `{condition}` does not parse"))
            .stderr_has(message)
            .stderr_has("^ here");
        assert_eq!(
            server.total(),
            0,
            "{condition}: nothing is sent before the suite loads"
        );
    }
}
