//! `shipit smoke` through the real binary against scripted servers: concurrency bounded, results
//! in file order, failures spelled out, `--json`, and a JUnit file that parses back.

use std::time::Duration;

use crate::support::Project;
use crate::support::server::{Behaviour, Reply, Server};

fn project(server: &Server, smoke: &str) -> Project {
    let p = Project::new();
    p.config(&format!(
        "version: 1\napps:\n  web:\n    smoke: smoke/web.yml\n  worker: {{}}\nenvironments:\n  staging:\n    web: {{ app: web-staging, url: {} }}\n    worker: {{ app: worker-staging, url: {} }}\n",
        server.url(),
        server.url()
    ));
    p.write("smoke/web.yml", smoke);
    p
}

#[test]
fn a_passing_suite_runs_concurrently_within_its_bound() {
    let server = Server::start([("/slow", Behaviour::slow(Duration::from_millis(60), "ok"))]);
    let mut suite = String::from("concurrency: 4\nchecks:\n");
    for i in 0..16 {
        suite.push_str(&format!("  - {{ name: check {i:02}, path: '/slow?n={i}', expect: ['[STATUS] == 200', '[BODY] == ok'] }}\n"));
    }
    let p = project(&server, &suite);
    let run = p.run(&["smoke", "staging"]);
    run.code(0).stderr_has(
        "staging/worker (worker-staging): no smoke suite (`smoke:` is not set), skipped",
    );
    assert_eq!(server.hits("/slow"), 16);
    let peak = server.max_in_flight();
    assert!(peak > 1 && peak <= 4, "peak in flight {peak}");
    // One line per check, in the file's order whatever order they finished in.
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with('✓'))
        .collect();
    assert_eq!(lines.len(), 16, "{}", run.stdout);
    for (i, line) in lines.iter().enumerate() {
        assert!(
            line.contains(&format!("check {i:02}  GET /slow?n={i}  200 in ")),
            "{line}"
        );
    }
    run.stdout_has("staging/web (web-staging): 16/16 checks passed in ");
    run.stderr_has("smoke staging: 16/16 checks passed");
}

#[test]
fn failures_are_spelled_out_and_exit_1() {
    let server = Server::start([
        ("/", Behaviour::ok("<h1>Welcome to HotDash</h1>")),
        (
            "/api/status",
            Behaviour::Reply(Reply::new(500, "<html>oops</html>")),
        ),
        ("/login", Behaviour::status(201)),
    ]);
    let p = project(
        &server,
        r#"checks:
  - name: home page renders
    path: /
    expect: ["[STATUS] == 200", "[BODY] contains HotDash"]
  - name: status api
    path: /api/status
    headers: { Accept: application/json }
    expect: ["[STATUS] == 200", "[BODY].ok == true", "[RESPONSE_TIME] < 1500ms"]
  - name: sign in
    method: POST
    path: /login
    json: { user: demo }
    expect: ["[STATUS] == 201"]
"#,
    );
    let run = p.run(&["smoke", "staging", "--app", "web"]);
    run.code(1)
        .stdout_has("  ✓ home page renders  GET /  200 in ")
        .stdout_has("  ✗ status api  GET /api/status  500 in ")
        .stdout_has(": [STATUS] (500) == 200, [BODY].ok (not JSON) == true")
        .stdout_has("  ✓ sign in  POST /login  201 in ")
        .stdout_has("2/3 checks passed")
        .stderr_has("error: smoke staging: 2/3 checks passed");
    let login = server
        .requests()
        .into_iter()
        .find(|r| r.target == "/login")
        .unwrap();
    assert_eq!(login.body, br#"{"user":"demo"}"#);
    assert_eq!(login.header("content-type"), Some("application/json"));
    let api = server
        .requests()
        .into_iter()
        .find(|r| r.target == "/api/status")
        .unwrap();
    assert_eq!(api.header("accept"), Some("application/json"));
}

#[test]
fn json_output_is_one_document_of_suite_reports() {
    let server = Server::start([("/", Behaviour::ok("hi")), ("/down", Behaviour::Close)]);
    let p = project(
        &server,
        "checks:\n  - { name: home, path: / }\n  - { name: down, path: /down, timeout: 2s }\n",
    );
    let run = p.run(&["smoke", "staging", "--app", "web", "--json"]);
    run.code(1);
    let doc = run.json();
    let suite = &doc[0];
    assert_eq!(suite["name"], "staging/web");
    assert_eq!(suite["concurrency"], 8);
    assert_eq!(suite["checks"][0]["name"], "home");
    assert_eq!(suite["checks"][0]["passed"], true);
    assert_eq!(suite["checks"][0]["status"], 200);
    assert!(suite["checks"][0]["latency_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(suite["checks"][1]["passed"], false);
    assert_eq!(suite["checks"][1]["status"], serde_json::Value::Null);
    assert_eq!(
        suite["checks"][1]["failed"][0],
        "[STATUS] (no answer) == 200"
    );
}

#[test]
fn the_junit_report_parses_back() {
    let server = Server::start([
        ("/a", Behaviour::ok("fine")),
        ("/b", Behaviour::status(503)),
    ]);
    let p = project(
        &server,
        "checks:\n  - { name: 'a & <b>', path: /a, expect: ['[BODY] contains fine'] }\n  - { name: b, path: /b, expect: ['[STATUS] < 500', '[BODY] !contains status'] }\n",
    );
    let run = p.run(&["smoke", "web-staging", "--junit", "reports/smoke.xml"]);
    run.code(1).stderr_has("JUnit report: reports/smoke.xml");
    let xml = p.read("reports/smoke.xml");
    let root = xml::parse(&xml).unwrap_or_else(|e| panic!("not well-formed: {e}\n{xml}"));
    assert_eq!(root.name, "testsuites");
    assert_eq!(
        (root.attr("tests"), root.attr("failures")),
        (Some("2"), Some("1"))
    );
    let suites: Vec<&xml::Element> = root.children_named("testsuite").collect();
    assert_eq!(suites.len(), 1);
    assert_eq!(suites[0].attr("name"), Some("staging/web"));
    let cases: Vec<&xml::Element> = suites[0].children_named("testcase").collect();
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0].attr("name"), Some("a & <b>"));
    assert!(cases[0].attr("time").unwrap().parse::<f64>().is_ok());
    assert!(cases[0].children.is_empty());
    let failure = cases[1]
        .children_named("failure")
        .next()
        .expect("a failure element");
    assert_eq!(
        failure.attr("message"),
        Some("[STATUS] (503) < 500, [BODY] (status 503) !contains status")
    );
    assert!(
        failure.text.contains("GET /b -> 503 in "),
        "{}",
        failure.text
    );
}

#[test]
fn targets_without_a_suite_and_bad_suites_are_errors() {
    let server = Server::start([]);
    let p = project(
        &server,
        "checks:\n  - { name: a, path: /, expect: ['[STATUS] == 200', '[RESPONSE_TIME] < 2'] }\n",
    );
    p.run(&["smoke", "staging", "--app", "worker"])
        .code(1)
        .stderr_has("error: no smoke suite to run for `staging`: worker has no `smoke:`")
        .stderr_has("hint: add e.g. `smoke: smoke/worker.yml` under `apps.worker`");
    p.run(&["smoke", "staging"])
        .code(1)
        .stderr_has("smoke/web.yml:2:")
        .stderr_has("condition `[RESPONSE_TIME] < 2` does not parse: `2` has no unit");
    assert_eq!(server.total(), 0, "a bad suite fails before any request");
    p.write("smoke/web.yml", "checks:\n  - { name: a, pth: / }\n");
    p.run(&["smoke", "staging"])
        .code(1)
        .stderr_has("unknown field `pth`")
        .stderr_has("did you mean `path`?");
}

/// A small XML reader for checking JUnit output: elements, attributes, text and the five
/// predefined entities plus character references. Rejects anything malformed.
mod xml {
    #[derive(Debug, Default)]
    pub(super) struct Element {
        pub(super) name: String,
        pub(super) attrs: Vec<(String, String)>,
        pub(super) children: Vec<Element>,
        pub(super) text: String,
    }

    impl Element {
        pub(super) fn attr(&self, name: &str) -> Option<&str> {
            self.attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        }

        pub(super) fn children_named<'a>(
            &'a self,
            name: &'a str,
        ) -> impl Iterator<Item = &'a Element> {
            self.children.iter().filter(move |c| c.name == name)
        }
    }

    pub(super) fn parse(text: &str) -> Result<Element, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        if p.rest().starts_with(b"<?xml") {
            p.i = text.find("?>").ok_or("unclosed declaration")? + 2;
        }
        p.space();
        let root = p.element()?;
        p.space();
        if p.i != p.s.len() {
            return Err(format!("content after the root element at {}", p.i));
        }
        Ok(root)
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn rest(&self) -> &[u8] {
            &self.s[self.i..]
        }

        fn space(&mut self) {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
        }

        fn name(&mut self) -> Result<String, String> {
            let start = self.i;
            while self.i < self.s.len()
                && (self.s[self.i].is_ascii_alphanumeric() || b"_-:.".contains(&self.s[self.i]))
            {
                self.i += 1;
            }
            if start == self.i {
                return Err(format!("expected a name at {start}"));
            }
            Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
        }

        fn expect(&mut self, b: u8) -> Result<(), String> {
            if self.s.get(self.i) == Some(&b) {
                self.i += 1;
                Ok(())
            } else {
                Err(format!("expected `{}` at {}", b as char, self.i))
            }
        }

        fn element(&mut self) -> Result<Element, String> {
            self.expect(b'<')?;
            let mut el = Element {
                name: self.name()?,
                ..Element::default()
            };
            loop {
                self.space();
                match self.s.get(self.i) {
                    Some(b'/') => {
                        self.i += 1;
                        self.expect(b'>')?;
                        return Ok(el);
                    }
                    Some(b'>') => {
                        self.i += 1;
                        break;
                    }
                    Some(_) => {
                        let k = self.name()?;
                        self.expect(b'=')?;
                        self.expect(b'"')?;
                        let v = self.until(b'"')?;
                        if el.attrs.iter().any(|(n, _)| *n == k) {
                            return Err(format!("duplicate attribute {k}"));
                        }
                        el.attrs.push((k, v));
                    }
                    None => return Err("unexpected end in a tag".into()),
                }
            }
            loop {
                if self.rest().starts_with(b"</") {
                    self.i += 2;
                    let close = self.name()?;
                    if close != el.name {
                        return Err(format!("</{close}> closes <{}>", el.name));
                    }
                    self.space();
                    self.expect(b'>')?;
                    return Ok(el);
                }
                match self.s.get(self.i) {
                    Some(b'<') => el.children.push(self.element()?),
                    Some(_) => {
                        let t = self.until_tag()?;
                        el.text.push_str(&t);
                    }
                    None => return Err(format!("<{}> is never closed", el.name)),
                }
            }
        }

        /// Text up to (and consuming) `end`, with references decoded.
        fn until(&mut self, end: u8) -> Result<String, String> {
            let start = self.i;
            while self.i < self.s.len() && self.s[self.i] != end {
                if self.s[self.i] == b'<' {
                    return Err(format!("`<` inside an attribute at {}", self.i));
                }
                self.i += 1;
            }
            if self.i == self.s.len() {
                return Err("unterminated attribute".into());
            }
            let raw = &self.s[start..self.i];
            self.i += 1;
            decode(raw)
        }

        fn until_tag(&mut self) -> Result<String, String> {
            let start = self.i;
            while self.i < self.s.len() && self.s[self.i] != b'<' {
                self.i += 1;
            }
            decode(&self.s[start..self.i])
        }
    }

    fn decode(raw: &[u8]) -> Result<String, String> {
        let text = std::str::from_utf8(raw).map_err(|e| e.to_string())?;
        let mut out = String::new();
        let mut rest = text;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let end = rest[amp..]
                .find(';')
                .ok_or_else(|| format!("bare `&` in {text:?}"))?;
            let entity = &rest[amp + 1..amp + end];
            let c = match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or("bad reference")?,
                e if e.starts_with('#') => e[1..]
                    .parse()
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or("bad reference")?,
                e => return Err(format!("unknown entity &{e};")),
            };
            out.push(c);
            rest = &rest[amp + end + 1..];
        }
        out.push_str(rest);
        if out
            .chars()
            .any(|c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err("a control character XML 1.0 does not allow".into());
        }
        Ok(out)
    }

    #[test]
    fn the_checker_rejects_malformed_documents() {
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a x=\"1\" x=\"2\"/>").is_err());
        assert!(parse("<a>&bogus;</a>").is_err());
        assert!(parse("<a>R&D</a>").is_err());
        assert!(parse("<a x=\"<\"/>").is_err());
        assert!(parse("<a/><b/>").is_err());
        let ok =
            parse("<?xml version=\"1.0\"?>\n<a x=\"&quot;1&#10;\"><b>t &amp; u</b></a>").unwrap();
        assert_eq!(ok.attr("x"), Some("\"1\n"));
        assert_eq!(ok.children[0].text, "t & u");
    }
}

#[test]
fn secrets_in_a_suite_reach_the_server_but_no_output() {
    const SECRET: &str = "smoke-secret-7f3a9c";
    let server = Server::start([("/private/smoke-secret-7f3a9c", Behaviour::status(500))]);
    let p = project(
        &server,
        "checks:\n  - name: private page\n    method: POST\n    path: /private/${SMOKE_TOKEN}\n    headers: { Authorization: 'Bearer ${SMOKE_TOKEN}' }\n    json: { token: '${SMOKE_TOKEN}' }\n",
    );
    let out = p
        .shipit(&["smoke", "staging", "--junit", "junit.xml"])
        .env("SMOKE_TOKEN", SECRET)
        .output()
        .unwrap();
    let run = crate::support::Run::from(out);
    run.code(1);
    let seen = &server.requests()[0];
    assert_eq!(seen.target, format!("/private/{SECRET}"));
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    assert_eq!(seen.body, format!("{{\"token\":\"{SECRET}\"}}").as_bytes());
    for (what, text) in [
        ("stdout", run.stdout.clone()),
        ("stderr", run.stderr.clone()),
        ("junit", p.read("junit.xml")),
        ("evidence", p.read("feedback/deployment.md")),
    ] {
        assert!(!text.contains(SECRET), "{what} leaks the secret:\n{text}");
    }
    run.stdout_has("✗ private page  POST ***  500 in ");
}
