//! Gatus's own test cases, run through shipit's conditions. Each row names its source: the
//! scenario name in `TwiN/gatus` `config/endpoint/condition_test.go` (`TestCondition_evaluate`
//! unless another test is named), with Gatus's condition, its result and its expected verdict.
//! Where shipit decides differently on purpose, the row says so and why (README, "Differences
//! from Gatus"); where shipit refuses a form at load, the case is in the refusal table instead.

use std::time::Duration;

use super::tests::{check, error};
use super::*;

/// A Gatus `Result`, built the way the Go tests build theirs: only the fields they set.
#[derive(Default)]
struct R(ProbeResult);

impl R {
    fn new() -> R {
        R(ProbeResult {
            connected: true,
            status: Some(200),
            ..ProbeResult::default()
        })
    }
    fn status(mut self, s: u16) -> R {
        self.0.status = Some(s);
        self
    }
    fn body(mut self, b: &str) -> R {
        self.0.body = b.as_bytes().to_vec();
        self
    }
    fn ms(mut self, ms: u64) -> R {
        self.0.latency = Duration::from_millis(ms);
        self
    }
    fn ip(mut self, ip: &str) -> R {
        self.0.ip = Some(ip.parse().unwrap());
        self
    }
    fn cert_hours(mut self, h: u64) -> R {
        self.0.cert_expires_in = Some(Duration::from_secs(h * 3600));
        self
    }
    fn disconnected() -> R {
        R(ProbeResult::failed(
            Duration::from_millis(1),
            "connection refused",
        ))
    }
}

const HTML_JOHN: &str = r#"<!DOCTYPE html><html lang="en"><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8" /></head><body><div id="user">john.doe</div></body></html>"#;
const HTML_JANE: &str = r#"<!DOCTYPE html><html lang="en"><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8" /></head><body><div id="user">jane.doe</div></body></html>"#;
const ARTICLE: &str = "{\n  \"article\": {\n    \"id\": 123,\n    \"title\": \"Hello, world!\",\n    \"author\": \"John Doe\",\n    \"tags\": [\"hello\", \"world\"],\n    \"content\": \"I really like Gatus!\"\n  }\n}";

/// (Gatus scenario, condition as shipit writes it, result, verdict). Gatus's bare-millisecond
/// `[RESPONSE_TIME] < 500` is written `500ms` here: shipit refuses the bare number (see the
/// refusal table), and the verdicts are Gatus's.
fn cases() -> Vec<(&'static str, &'static str, R, bool)> {
    vec![
        ("ip", "[IP] == 127.0.0.1", R::new().ip("127.0.0.1"), true),
        ("status", "[STATUS] == 200", R::new().status(200), true),
        (
            "status-failure",
            "[STATUS] == 200",
            R::new().status(500),
            false,
        ),
        (
            "status-using-less-than",
            "[STATUS] < 300",
            R::new().status(201),
            true,
        ),
        (
            "status-using-less-than-failure",
            "[STATUS] < 300",
            R::new().status(404),
            false,
        ),
        (
            "response-time-using-less-than",
            "[RESPONSE_TIME] < 500ms",
            R::new().ms(50),
            true,
        ),
        (
            "response-time-using-less-than-with-duration",
            "[RESPONSE_TIME] < 1s",
            R::new().ms(50),
            true,
        ),
        (
            "response-time-using-greater-than",
            "[RESPONSE_TIME] > 500ms",
            R::new().ms(750),
            true,
        ),
        (
            "response-time-using-greater-than-with-duration",
            "[RESPONSE_TIME] > 1s",
            R::new().ms(2000),
            true,
        ),
        (
            "response-time-using-greater-than-or-equal-to-equal",
            "[RESPONSE_TIME] >= 500ms",
            R::new().ms(500),
            true,
        ),
        (
            "response-time-using-greater-than-or-equal-to-greater",
            "[RESPONSE_TIME] >= 500ms",
            R::new().ms(499),
            false,
        ),
        (
            "response-time-using-less-than-or-equal-to-equal",
            "[RESPONSE_TIME] <= 500ms",
            R::new().ms(500),
            true,
        ),
        (
            "response-time-using-less-than-or-equal-to-less",
            "[RESPONSE_TIME] <= 500ms",
            R::new().ms(25),
            true,
        ),
        (
            "response-time-using-less-than-or-equal-to-failure",
            "[RESPONSE_TIME] <= 500ms",
            R::new().ms(750),
            false,
        ),
        ("body", "[BODY] == test", R::new().body("test"), true),
        (
            "body-resolved-on-success",
            "[BODY].status == UP",
            R::new().body(r#"{"status":"UP"}"#),
            true,
        ),
        (
            "body-numerical-equal",
            "[BODY] == 123",
            R::new().body("123"),
            true,
        ),
        (
            "body-numerical-less-than",
            "[BODY] < 124",
            R::new().body("123"),
            true,
        ),
        (
            "body-numerical-greater-than",
            "[BODY] > 122",
            R::new().body("123"),
            true,
        ),
        (
            "body-numerical-greater-than-failure",
            "[BODY] > 123",
            R::new().body("100"),
            false,
        ),
        (
            "body-jsonpath",
            "[BODY].status == UP",
            R::new().body(r#"{"status":"UP"}"#),
            true,
        ),
        (
            "body-jsonpath-complex",
            "[BODY].data.name == john",
            R::new().body(r#"{"data": {"id": 1, "name": "john"}}"#),
            true,
        ),
        (
            "body-jsonpath-complex-invalid",
            "[BODY].data.name == john",
            R::new().body(r#"{"data": {"id": 1}}"#),
            false,
        ),
        (
            "body-jsonpath-double-placeholder",
            "[BODY].user.firstName != [BODY].user.lastName",
            R::new().body(r#"{"user": {"firstName": "john", "lastName": "doe"}}"#),
            true,
        ),
        (
            "body-jsonpath-double-placeholder-failure",
            "[BODY].user.firstName == [BODY].user.lastName",
            R::new().body(r#"{"user": {"firstName": "john", "lastName": "doe"}}"#),
            false,
        ),
        (
            "body-jsonpath-when-body-is-array",
            "[BODY][0].id == 1",
            R::new().body(r#"[{"id": 1}, {"id": 2}]"#),
            true,
        ),
        (
            "body-jsonpath-when-body-has-null-parameter",
            "[BODY].data == OK",
            R::new().body(r#"{"data": null}""#),
            false,
        ),
        (
            "body-jsonpath-when-body-has-array-with-null",
            "[BODY].items[0] == OK",
            R::new().body(r#"{"items": [null, null]}""#),
            false,
        ),
        (
            "body-jsonpath-when-body-is-null",
            "[BODY].data == OK",
            R::new().body("null"),
            false,
        ),
        (
            "body-jsonpath-when-body-is-array-but-actual-body-is-not",
            "[BODY][0].name == test",
            R::new().body(r#"{"statusCode": 500, "message": "Internal Server Error"}"#),
            false,
        ),
        (
            "body-jsonpath-complex-int",
            "[BODY].data.id == 1",
            R::new().body(r#"{"data": {"id": 1}}"#),
            true,
        ),
        (
            "body-jsonpath-complex-array-int",
            "[BODY].data[1].id == 2",
            R::new().body(r#"{"data": [{"id": 1}, {"id": 2}, {"id": 3}]}"#),
            true,
        ),
        (
            "body-jsonpath-complex-int-using-greater-than",
            "[BODY].data.id > 0",
            R::new().body(r#"{"data": {"id": 1}}"#),
            true,
        ),
        (
            "body-jsonpath-hexadecimal-int-using-greater-than",
            "[BODY].data > 0",
            R::new().body(r#"{"data": "0x1"}"#),
            true,
        ),
        (
            "body-jsonpath-hexadecimal-int-using-equal-to-0x1",
            "[BODY].data == 1",
            R::new().body(r#"{"data": "0x1"}"#),
            true,
        ),
        (
            "body-jsonpath-hexadecimal-int-using-equals",
            "[BODY].data == 0x1",
            R::new().body(r#"{"data": "0x1"}"#),
            true,
        ),
        (
            "body-jsonpath-hexadecimal-int-using-equal-to-0x2",
            "[BODY].data == 2",
            R::new().body(r#"{"data": "0x2"}"#),
            true,
        ),
        (
            "body-jsonpath-hexadecimal-int-using-equal-to-0xF",
            "[BODY].data == 15",
            R::new().body(r#"{"data": "0xF"}"#),
            true,
        ),
        (
            "body-jsonpath-hexadecimal-int-using-equal-to-0xC0ff33",
            "[BODY].data == 12648243",
            R::new().body(r#"{"data": "0xC0ff33"}"#),
            true,
        ),
        (
            "body-jsonpath-hexadecimal-int-len",
            "len([BODY].data) == 3",
            R::new().body(r#"{"data": "0x1"}"#),
            true,
        ),
        (
            "body-jsonpath-hexadecimal-int-greater",
            "[BODY].data >= 1",
            R::new().body(r#"{"data": "0x01"}"#),
            true,
        ),
        (
            "body-jsonpath-hexadecimal-int-0x01-len",
            "len([BODY].data) == 4",
            R::new().body(r#"{"data": "0x01"}"#),
            true,
        ),
        (
            "body-jsonpath-octal-int-using-greater-than",
            "[BODY].data > 0",
            R::new().body(r#"{"data": "0o1"}"#),
            true,
        ),
        (
            "body-jsonpath-octal-int-using-equal",
            "[BODY].data == 2",
            R::new().body(r#"{"data": "0o2"}"#),
            true,
        ),
        (
            "body-jsonpath-octal-int-using-equals",
            "[BODY].data == 0o2",
            R::new().body(r#"{"data": "0o2"}"#),
            true,
        ),
        (
            "body-jsonpath-binary-int-using-greater-than",
            "[BODY].data > 0",
            R::new().body(r#"{"data": "0b1"}"#),
            true,
        ),
        (
            "body-jsonpath-binary-int-using-equal",
            "[BODY].data == 2",
            R::new().body(r#"{"data": "0b0010"}"#),
            true,
        ),
        (
            "body-jsonpath-binary-int-using-equals",
            "[BODY].data == 0b10",
            R::new().body(r#"{"data": "0b0010"}"#),
            true,
        ),
        (
            "body-jsonpath-complex-int-using-greater-than-failure",
            "[BODY].data.id > 5",
            R::new().body(r#"{"data": {"id": 1}}"#),
            false,
        ),
        (
            "body-jsonpath-float-using-greater-than-issue433",
            "[BODY].balance > 100",
            R::new().body(r#"{"balance": "123.40000000000005"}"#),
            true,
        ),
        (
            "body-jsonpath-complex-int-using-less-than",
            "[BODY].data.id < 5",
            R::new().body(r#"{"data": {"id": 2}}"#),
            true,
        ),
        (
            "body-jsonpath-complex-int-using-less-than-failure",
            "[BODY].data.id < 5",
            R::new().body(r#"{"data": {"id": 10}}"#),
            false,
        ),
        ("connected", "[CONNECTED] == true", R::new(), true),
        (
            "connected-failure",
            "[CONNECTED] == true",
            R::disconnected(),
            false,
        ),
        (
            "certificate-expiration-greater-than-duration",
            "[CERTIFICATE_EXPIRATION] > 12h",
            R::new().cert_hours(24),
            true,
        ),
        (
            "certificate-expiration-greater-than-duration (48h)",
            "[CERTIFICATE_EXPIRATION] > 48h",
            R::new().cert_hours(24),
            false,
        ),
        // len
        (
            "len-body-jsonpath-complex",
            "len([BODY].data.name) == 4",
            R::new().body(r#"{"data": {"name": "john"}}"#),
            true,
        ),
        (
            "len-body-array",
            "len([BODY]) == 3",
            R::new().body(r#"[{"id": 1}, {"id": 2}, {"id": 3}]"#),
            true,
        ),
        (
            "len-body-keyed-array",
            "len([BODY].data) == 3",
            R::new().body(r#"{"data": [{"id": 1}, {"id": 2}, {"id": 3}]}"#),
            true,
        ),
        (
            "len-body-array-invalid",
            "len([BODY].data) == 8",
            R::new().body(r#"{"name": "john.doe"}"#),
            false,
        ),
        (
            "len-body-string",
            "len([BODY]) == 8",
            R::new().body("john.doe"),
            true,
        ),
        (
            "len-body-keyed-string",
            "len([BODY].name) == 8",
            R::new().body(r#"{"name": "john.doe"}"#),
            true,
        ),
        (
            "len-body-keyed-int",
            "len([BODY].age) == 2",
            R::new().body(r#"{"age":18}"#),
            true,
        ),
        (
            "len-body-keyed-bool",
            "len([BODY].adult) == 4",
            R::new().body(r#"{"adult":true}"#),
            true,
        ),
        (
            "len-body-object-keyed-int-inside-array",
            "len([BODY][0].age) == 2",
            R::new().body(r#"[{"age":18,"adult":true}]"#),
            true,
        ),
        (
            "len-body-keyed-bool-inside-array",
            "len([BODY][0].adult) == 4",
            R::new().body(r#"[{"age":18,"adult":true}]"#),
            true,
        ),
        // pat
        (
            "pat-body-1",
            "[BODY] == pat(*john*)",
            R::new().body(r#"{"name": "john.doe"}"#),
            true,
        ),
        (
            "pat-body-2",
            "[BODY].name == pat(john*)",
            R::new().body(r#"{"name": "john.doe"}"#),
            true,
        ),
        (
            "pat-body-failure",
            "[BODY].name == pat(bob*)",
            R::new().body(r#"{"name": "john.doe"}"#),
            false,
        ),
        (
            "pat-body-html",
            r#"[BODY] == pat(*<div id="user">john.doe</div>*)"#,
            R::new().body(HTML_JOHN),
            true,
        ),
        (
            "pat-body-html-failure",
            r#"[BODY] == pat(*<div id="user">john.doe</div>*)"#,
            R::new().body(HTML_JANE),
            false,
        ),
        (
            "pat-body-in-array",
            "[BODY].data == pat(*Whatever*)",
            R::new().body(r#"{"data": ["hello", "world", "Whatever"]}"#),
            true,
        ),
        ("pat-ip", "[IP] == pat(10.*)", R::new().ip("10.0.0.0"), true),
        (
            "pat-ip-failure",
            "[IP] == pat(10.*)",
            R::new().ip("255.255.255.255"),
            false,
        ),
        (
            "pat-status",
            "[STATUS] == pat(4*)",
            R::new().status(404),
            true,
        ),
        (
            "pat-status-failure",
            "[STATUS] == pat(4*)",
            R::new().status(200),
            false,
        ),
        // any
        (
            "any-body-1",
            "[BODY].name == any(john.doe, jane.doe)",
            R::new().body(r#"{"name": "john.doe"}"#),
            true,
        ),
        (
            "any-body-2",
            "[BODY].name == any(john.doe, jane.doe)",
            R::new().body(r#"{"name": "jane.doe"}"#),
            true,
        ),
        (
            "any-body-failure",
            "[BODY].name == any(john.doe, jane.doe)",
            R::new().body(r#"{"name": "bob"}"#),
            false,
        ),
        (
            "any-status-1",
            "[STATUS] == any(200, 429)",
            R::new().status(200),
            true,
        ),
        (
            "any-status-2",
            "[STATUS] == any(200, 429)",
            R::new().status(429),
            true,
        ),
        (
            "any-status-failure",
            "[STATUS] == any(200, 429)",
            R::new().status(404),
            false,
        ),
        (
            "any-status-failure-but-dont-resolve",
            "[STATUS] == any(200, 429)",
            R::new().status(404),
            false,
        ),
        // has
        (
            "has",
            "has([BODY].errors) == false",
            R::new().body("{}"),
            true,
        ),
        (
            "has-key-of-map",
            "has([BODY].article) == true",
            R::new().body(ARTICLE),
            true,
        ),
        (
            "has-failure",
            "has([BODY].errors) == false",
            R::new().body(r#"{"errors": ["1"]}"#),
            false,
        ),
        (
            "has-failure-but-dont-resolve",
            "has([BODY].errors) == false",
            R::new().body(r#"{"errors": ["1"]}"#),
            false,
        ),
    ]
}

#[test]
fn gatus_condition_evaluate_cases_give_gatus_verdicts() {
    let cases = cases();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    for (name, condition, result, want) in cases {
        let got = check(condition, &result.0);
        assert_eq!(
            got.pass, want,
            "Gatus `{name}`: {condition} → {}",
            got.display
        );
    }
}

/// Gatus's failure displays, where shipit's words are the same (`(missing)` stands in for
/// Gatus's `(INVALID)`, and the value is always shown, passing or not).
#[test]
fn gatus_displays_where_shipit_shows_the_same() {
    let rows: [(&str, &str, R, &str); 9] = [
        (
            "status-failure",
            "[STATUS] == 200",
            R::new().status(500),
            "[STATUS] (500) == 200",
        ),
        (
            "status-using-less-than-failure",
            "[STATUS] < 300",
            R::new().status(404),
            "[STATUS] (404) < 300",
        ),
        (
            "body-numerical-greater-than-failure",
            "[BODY] > 123",
            R::new().body("100"),
            "[BODY] (100) > 123",
        ),
        (
            "body-jsonpath-double-placeholder-failure",
            "[BODY].user.firstName == [BODY].user.lastName",
            R::new().body(r#"{"user": {"firstName": "john", "lastName": "doe"}}"#),
            "[BODY].user.firstName (john) == [BODY].user.lastName (doe)",
        ),
        (
            "pat-body-failure",
            "[BODY].name == pat(bob*)",
            R::new().body(r#"{"name": "john.doe"}"#),
            "[BODY].name (john.doe) == pat(bob*)",
        ),
        (
            "pat-ip-failure",
            "[IP] == pat(10.*)",
            R::new().ip("255.255.255.255"),
            "[IP] (255.255.255.255) == pat(10.*)",
        ),
        (
            "any-status-failure",
            "[STATUS] == any(200, 429)",
            R::new().status(404),
            "[STATUS] (404) == any(200, 429)",
        ),
        (
            "has-failure",
            "has([BODY].errors) == false",
            R::new().body(r#"{"errors": ["1"]}"#),
            "has([BODY].errors) (true) == false",
        ),
        (
            "body-jsonpath-complex-invalid",
            "[BODY].data.name == john",
            R::new().body(r#"{"data": {"id": 1}}"#),
            "[BODY].data.name (missing) == john",
        ),
    ];
    for (name, condition, result, want) in rows {
        assert_eq!(check(condition, &result.0).display, want, "Gatus `{name}`");
    }
}

/// Where shipit's verdict differs from Gatus's on purpose.
#[test]
fn gatus_cases_shipit_decides_differently() {
    // `len-body-object-inside-array` and `len-body-object`: Gatus counts the characters of an
    // object's JSON text (23 and 20); shipit counts its keys, which is what a check means.
    let r = R::new().body(r#"[{"age":18,"adult":true}]"#);
    assert!(!check("len([BODY][0]) == 23", &r.0).pass);
    assert!(check("len([BODY][0]) == 2", &r.0).pass);
    let r = R::new().body(r#"{"name": "john.doe"}"#);
    assert!(!check("len([BODY]) == 20", &r.0).pass);
    assert!(check("len([BODY]) == 1", &r.0).pass);
    // `connected-failure` with `!=`, and the gate: `[CONNECTED] == false` holds on a refused
    // connection (the gate then passes the probe; see `ProbeRecord::judge`).
    assert!(check("[CONNECTED] == false", &R::disconnected().0).pass);
    // `has` on a body that is not JSON: Gatus answers false, so `has([BODY].errors) == false`
    // passes on an HTML error page; shipit fails the condition, saying why.
    let c = check(
        "has([BODY].errors) == false",
        &R::new().body("<html>502</html>").0,
    );
    assert_eq!(
        (c.pass, c.display.as_str()),
        (false, "has([BODY].errors) (not JSON) == false")
    );
    // Go's `ParseInt(s, 0, 64)` reads a leading zero as octal: `010` is 8 in Gatus, 10 here.
    assert!(check("[BODY].zip == 10", &R::new().body(r#"{"zip": "010"}"#).0).pass);
    // Gatus compares `3` and `3.0` as text (not equal); shipit compares numbers as numbers.
    assert!(check("[BODY].n == 3.0", &R::new().body(r#"{"n": 3}"#).0).pass);
}

/// Forms Gatus accepts that shipit refuses at load, each with the part of the message that says
/// why. Source: `TestCondition_evaluate` and `TestCondition_Validate` (named per row).
#[test]
fn gatus_forms_shipit_refuses_at_load() {
    let rows = [
        (
            "response-time-using-less-than (bare ms)",
            "[RESPONSE_TIME] < 500",
            "`500` has no unit: Gatus reads a bare number as milliseconds, so write `500ms`",
        ),
        (
            "response-time-using-less-than-invalid",
            "[RESPONSE_TIME] < potato",
            "potato",
        ),
        (
            "certificate-expiration-not-set",
            "[CERTIFICATE_EXPIRATION] == 0",
            "write `0ms`",
        ),
        (
            "certificate-expiration-greater-than-numerical",
            "[CERTIFICATE_EXPIRATION] > 2419200000",
            "write `2419200000ms` (or `672h`)",
        ),
        (
            "no-placeholders",
            "1 == 2",
            "a condition starts with a placeholder",
        ),
        (
            "TestCondition_Validate raw == raw",
            "raw == raw",
            "a condition starts with a placeholder",
        ),
        (
            "TestCondition_Validate [DOMAIN_EXPIRATION]",
            "[DOMAIN_EXPIRATION] > 720h",
            "needs a WHOIS lookup",
        ),
        (
            "body-jsonpath-complex-len-invalid",
            "len([BODY].data.name) == john",
            "`len([BODY].data.name)` is a number, and `john` is not one",
        ),
        (
            "pat-body-html-failure-alt",
            r#"pat(*<div id="user">john.doe</div>*) == [BODY]"#,
            "write the placeholder first",
        ),
        (
            "any-status-reverse",
            "any(200, 429) == [STATUS]",
            "write the placeholder first, e.g. `[STATUS] == any(200, 429)`",
        ),
        (
            "TestConditionEvaluateWithInvalidContextPlaceholder",
            "[STATUS] == [CONTEXT].expected_statusz",
            "`[CONTEXT]` holds values stored by earlier steps of a Gatus suite",
        ),
        (
            "TestCondition_Validate [STATUS] ? 201",
            "[STATUS] ? 201",
            "unknown operator `?`",
        ),
        (
            "TestCondition_Validate [STATUS]==201",
            "[STATUS]==201",
            "put spaces around the operator",
        ),
        (
            "TestCondition_Validate [STATUS] = = 201",
            "[STATUS] = = 201",
            "did you mean `==`?",
        ),
        (
            "TestCondition_Validate [STATUS] ==",
            "[STATUS] ==",
            "missing value after `==`",
        ),
        (
            "TestCondition_Validate [STATUS]",
            "[STATUS]",
            "missing operator",
        ),
    ];
    for (name, condition, message) in rows {
        let e = error(condition);
        assert!(
            e.message.contains(message),
            "Gatus `{name}`: {condition}: {:?}",
            e.message
        );
    }
}

/// Every valid condition of Gatus's `TestCondition_Validate` either loads or is in the
/// refusal table above.
#[test]
fn gatus_validate_conditions_load() {
    for condition in [
        "[STATUS] == 200",
        "[STATUS] != 200",
        "[STATUS] <= 200",
        "[STATUS] >= 200",
        "[STATUS] < 200",
        "[STATUS] > 200",
        "[STATUS] == any(200, 201, 202, 203)",
        "[STATUS] == [BODY].status",
        "[CONNECTED] == true",
        "[IP] == 127.0.0.1",
        "[BODY] == 1",
        "[BODY].test == wat",
        "[BODY].test.wat == wat",
        "[BODY].age == [BODY].id",
        "[BODY].users[0].id == 1",
        "len([BODY].users) == 100",
        "len([BODY].data) < 5",
        "has([BODY].errors) == false",
        "has([BODY].users[0].name) == true",
        "[BODY].name == pat(john*)",
        "[CERTIFICATE_EXPIRATION] > 48h",
    ] {
        Condition::parse(condition).unwrap_or_else(|e| panic!("{condition}: {e:?}"));
    }
    // `[STATUS] == [BODY].status` compares the two numbers.
    let r = R::new().status(503).body(r#"{"status": 503}"#);
    assert!(check("[STATUS] == [BODY].status", &r.0).pass);
}

/// Gatus-only forms (its README's conditions table and tests), the ones shipit used to read as
/// literal text: each is now evaluated or refused at load, never compared as text.
#[test]
fn gatus_only_forms_are_evaluated_or_refused_never_text() {
    fn lookalike(e: &Expected) -> bool {
        match e {
            Expected::Text { text, .. } => words::tests_support::looks_like_code(text),
            Expected::Any(options) => options.iter().any(lookalike),
            _ => false,
        }
    }
    let forms = [
        "[STATUS] == any(200, 429)",
        "[STATUS] != any(500, 502, 503)",
        "[BODY] == any(ok, up)",
        "[BODY].state == any(ok, degraded)",
        "[HEADER].x-env != any(staging, dev)",
        "[IP] == any(127.0.0.1, ::1)",
        "[CONNECTED] == any(true)",
        "[BODY].name == pat(john*)",
        "[BODY] != pat(*error*)",
        "[HEADER].content-type == pat(application/*)",
        "[STATUS] == pat(2*)",
        "[IP] == pat(10.*)",
        "[BODY].age == [BODY].id",
        "[BODY].a.b != [BODY].c",
        "[STATUS] == [BODY].status",
        "[BODY].count == len([BODY].items)",
        "[BODY].total >= len([BODY].items)",
        "len([BODY].data) < 5",
        "len([BODY]) == 0",
        "len([HEADER].etag) > 0",
        "has([BODY].errors) == false",
        "has([HEADER].x-request-id) == true",
        "[IP] == 127.0.0.1",
        "any(200, 429) == [STATUS]",
        "pat(*x*) == [BODY]",
        "[DNS_RCODE] == NOERROR",
        "[DOMAIN_EXPIRATION] > 720h",
        "[STATUS] == [CONTEXT].expected_status",
        "[BODY].data == [ENDPOINT_NAME]",
        "[BODY] == foo(bar)",
        "[BODY] == json(x)",
        "[STATUS] == any(200, pat(2*))",
        "[BODY].a == any([BODY].b, x)",
        "[BODY] contains [BODY].a",
        "[RESPONSE_TIME] < [BODY].limit",
        "[RESPONSE_TIME] == any(500)",
        "[RESPONSE_TIME] < 500",
        "[CERTIFICATE_EXPIRATION] > 2419200000",
        "[BODY] == pat([abc)",
        "[STATUS] == any()",
        "[STATUS] == any(200,,429)",
        "len([STATUS]) == 3",
        "[BODY] == [body]",
    ];
    for form in forms {
        match Condition::parse(form) {
            Ok(c) => assert!(!lookalike(&c.expected), "{form} was read as text"),
            Err(e) => assert!(!e.message.is_empty(), "{form}"),
        }
    }
    // Quoting is the way to mean the text.
    let c = Condition::parse(r#"[BODY] == "any(ok)""#).unwrap();
    assert!(check(r#"[BODY] == "any(ok)""#, &R::new().body("any(ok)").0).pass);
    assert!(matches!(c.expected, Expected::Text { .. }));
}
