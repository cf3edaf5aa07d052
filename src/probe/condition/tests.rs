//! Unit tests of shipit's own condition rules: every placeholder, operator and error message.

use super::*;

pub(super) fn answer(status: u16, ms: u64, body: &str) -> ProbeResult {
    ProbeResult {
        connected: true,
        status: Some(status),
        latency: Duration::from_millis(ms),
        headers: vec![
            (
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            ),
            ("x-count".into(), "12".into()),
        ],
        body: body.as_bytes().to_vec(),
        ..ProbeResult::default()
    }
}

pub(super) fn check(cond: &str, r: &ProbeResult) -> ConditionResult {
    Condition::parse(cond)
        .unwrap_or_else(|e| panic!("{cond}: {e:?}"))
        .evaluate(r)
}

pub(super) fn holds(cond: &str, r: &ProbeResult) -> bool {
    check(cond, r).pass
}

const DOC: &str = r#"{"ok":true,"status":"UP","count":3,"ratio":"0.5","name":"abc","data":[{"id":7}],"tags":["a","b"],"none":null}"#;

#[test]
fn status_with_every_comparison() {
    let r = answer(503, 10, "");
    assert!(holds("[STATUS] == 503", &r));
    assert!(holds("[STATUS] != 200", &r));
    assert!(holds("[STATUS] < 504", &r));
    assert!(holds("[STATUS] <= 503", &r));
    assert!(holds("[STATUS] > 500", &r));
    assert!(holds("[STATUS] >= 503", &r));
    assert!(!holds("[STATUS] < 500", &r));
    assert_eq!(
        check("[STATUS] == 200", &r).display,
        "[STATUS] (503) == 200"
    );
}

#[test]
fn response_time_needs_a_unit_and_shows_the_latency() {
    let r = answer(200, 2400, "");
    let c = check("[RESPONSE_TIME] < 2s", &r);
    assert!(!c.pass);
    assert_eq!(c.display, "[RESPONSE_TIME] (2.4s) < 2s");
    assert!(holds("[RESPONSE_TIME] < 2500ms", &r));
    assert!(holds("[RESPONSE_TIME] >= 2s", &r));
    assert!(holds("[RESPONSE_TIME] > 1s", &r));
    assert!(holds("[RESPONSE_TIME] <= 2.4s", &r));
}

#[test]
fn body_text_operators() {
    let r = answer(200, 5, "<h1>Welcome to HotDash</h1>");
    assert!(holds("[BODY] contains HotDash", &r));
    assert!(holds("[BODY] !contains Error", &r));
    assert!(!holds("[BODY] !contains Welcome", &r));
    assert!(holds("[BODY] matches ^<h1>Welcome", &r));
    assert!(!holds("[BODY] matches ^Welcome", &r));
    assert!(holds(r#"[BODY] contains "to HotDash""#, &r));
    assert!(holds("[BODY] == <h1>Welcome to HotDash</h1>", &r));
    assert!(holds("[BODY] != nope", &r));
    assert!(holds("[BODY] == 42", &answer(200, 5, "42\n")));
    assert!(
        holds("[BODY] == ok", &answer(200, 5, "  ok\n")),
        "the body is trimmed, as Gatus trims it"
    );
    assert!(holds("[BODY] matches ^ok$", &answer(200, 5, "ok\n")));
    assert!(holds("[BODY] > 41", &answer(200, 5, "42\n")));
}

#[test]
fn json_paths_compare_by_type_without_coercion() {
    let r = answer(200, 5, DOC);
    assert!(holds("[BODY].ok == true", &r));
    assert!(holds("[BODY].status == UP", &r));
    assert!(holds(r#"[BODY].status == "UP""#, &r));
    assert!(holds("[BODY].count == 3", &r));
    assert!(holds("[BODY].count == 3.0", &r));
    assert!(
        !holds(r#"[BODY].count == "3.0""#, &r),
        "a quoted value compares as text"
    );
    assert!(holds("[BODY].count < 5", &r));
    assert!(holds("[BODY].count >= 3", &r));
    assert!(
        holds("[BODY].ratio < 1", &r),
        "a numeric string is a number"
    );
    assert!(holds("[BODY].data[0].id == 7", &r));
    assert!(holds("[BODY].tags contains b", &r));
    assert!(
        !holds("[BODY].tags contains ab", &r),
        "an array contains elements, not substrings"
    );
    assert!(holds("[BODY].tags !contains c", &r));
    assert!(holds("[BODY].none == null", &r));
    assert!(holds("[BODY].name matches ^a.c$", &r));
    // A string is never 0: the Gatus footgun.
    let c = check("[BODY].name < 5", &r);
    assert!(!c.pass);
    assert_eq!(c.display, "[BODY].name (abc: not a number) < 5");
    let c = check("[BODY].missing == 1", &r);
    assert_eq!(
        (c.pass, c.display.as_str()),
        (false, "[BODY].missing (missing) == 1")
    );
    assert!(
        !holds("[BODY].missing != 1", &r),
        "a missing value fails whatever the operator"
    );
}

#[test]
fn json_path_on_a_body_that_is_not_json_fails_with_the_reason() {
    let c = check("[BODY].ok == true", &answer(200, 5, "<html>oops</html>"));
    assert_eq!(
        (c.pass, c.display.as_str()),
        (false, "[BODY].ok (not JSON) == true")
    );
    let mut cut = answer(200, 5, "{\"ok\": tr");
    cut.body_truncated = true;
    assert!(
        check("[BODY].ok == true", &cut)
            .display
            .contains("cut at 64 KiB")
    );
}

#[test]
fn headers_by_any_case() {
    let r = answer(200, 5, "");
    assert!(holds("[HEADER].Content-Type contains json", &r));
    assert!(holds("[HEADER].content-type matches ^application/", &r));
    assert!(holds("[HEADER].x-count > 10", &r));
    assert!(holds("[HEADER].x-count == 12", &r));
    let c = check("[HEADER].x-missing == 1", &r);
    assert_eq!(
        (c.pass, c.display.as_str()),
        (false, "[HEADER].x-missing (missing) == 1")
    );
}

#[test]
fn certificate_expiration_and_connected() {
    let mut r = answer(200, 5, "");
    r.cert_expires_in = Some(Duration::from_secs(100 * 3600 + 5));
    let c = check("[CERTIFICATE_EXPIRATION] > 72h", &r);
    assert_eq!(
        (c.pass, c.display.as_str()),
        (true, "[CERTIFICATE_EXPIRATION] (100h) > 72h")
    );
    assert!(!holds("[CERTIFICATE_EXPIRATION] > 168h", &r));
    let plain = answer(200, 5, "");
    assert_eq!(
        check("[CERTIFICATE_EXPIRATION] > 72h", &plain).display,
        "[CERTIFICATE_EXPIRATION] (no certificate) > 72h"
    );
    assert!(holds("[CONNECTED] == true", &r));
    assert!(!holds("[CONNECTED] != true", &r));
    let refused = ProbeResult::failed(Duration::from_millis(1), "connection refused");
    assert!(holds("[CONNECTED] == false", &refused));
    assert_eq!(
        check("[CONNECTED] == true", &refused).display,
        "[CONNECTED] (false) == true"
    );
}

#[test]
fn no_answer_fails_every_response_condition() {
    let refused = ProbeResult::failed(Duration::from_millis(1), "connection refused");
    for cond in [
        "[STATUS] == 200",
        "[STATUS] != 200",
        "[RESPONSE_TIME] < 2s",
        "[BODY] !contains x",
        "[BODY].ok == true",
        "[HEADER].a != b",
    ] {
        let c = check(cond, &refused);
        assert!(!c.pass, "{cond}");
        assert!(c.display.contains("(no answer)"), "{}", c.display);
    }
}

#[test]
fn long_bodies_are_shortened_in_the_display() {
    let body = "x".repeat(500);
    let c = check("[BODY] contains y", &answer(200, 5, &body));
    assert!(c.display.len() < 120, "{}", c.display);
    assert!(c.display.contains('…'));
}

#[test]
fn serializes_as_written() {
    let c = Condition::parse("[BODY].ok   ==   true ").unwrap();
    assert_eq!(
        serde_json::to_string(&c).unwrap(),
        "\"[BODY].ok   ==   true \""
    );
    assert_eq!(c.to_string(), "[BODY].ok   ==   true ");
}

pub(super) fn error(text: &str) -> ConditionError {
    Condition::parse(text).expect_err(text)
}

#[test]
fn bad_conditions_say_what_and_where() {
    let cases: &[(&str, &str, usize)] = &[
        ("", "empty condition", 0),
        ("   ", "empty condition", 0),
        ("[STATUS]", "missing operator after `[STATUS]`", 8),
        ("[STATUS] 200", "unknown operator `200`", 9),
        (
            "[STATSU] == 200",
            "unknown placeholder `[STATSU]`: did you mean `[STATUS]`?",
            1,
        ),
        ("[FOO] == 1", "unknown placeholder `[FOO]`: use one of", 1),
        (
            "[status] == 200",
            "placeholders are written in capitals: `[STATUS]`",
            1,
        ),
        ("[RESPONSE_TIME] < 2", "`2` has no unit", 18),
        ("[RESPONSE_TIME] < 2d", "unknown unit `d`", 18),
        ("[BODY] matches ([a-z", "is not a valid regex", 15),
        ("[STATUS] == abc", "`abc` is not a status code", 12),
        ("[STATUS == 200", "unclosed `[`", 0),
        ("[STATUS]==200", "put spaces around the operator", 8),
        (
            "[STATUS] ==200",
            "put spaces around the operator: `[STATUS] == 200`",
            11,
        ),
        ("[BODY].ok==true", "put spaces around the operator", 9),
        (
            "[STATUS] = 200",
            "unknown operator `=`: did you mean `==`?",
            9,
        ),
        ("[STATUS] is 200", "unknown operator `is`", 9),
        (
            "[BODY] contians HotDash",
            "unknown operator `contians`: did you mean `contains`?",
            7,
        ),
        ("[BODY] machtes ^ok", "did you mean `matches`?", 7),
        ("[STATUS] ==", "missing value after `==`", 11),
        ("[STATUS] contains 20", "`contains` works on text", 9),
        ("[CONNECTED] == yes", "`yes` is not true or false", 15),
        ("[CONNECTED] < true", "is true or false: use == or !=", 12),
        (
            "[BODY].count < many",
            "`<` compares numbers, and `many` is not a number",
            15,
        ),
        ("[BODY]. == 1", "empty key in the JSON path", 6),
        ("[BODY].items[x] == 1", "not an array index", 13),
        ("[HEADER] == 1", "name the header", 8),
        (
            "[STATUS].code == 1",
            "only [BODY] and [HEADER] take a path",
            8,
        ),
        ("STATUS == 200", "a condition starts with a placeholder", 0),
        ("size([BODY].data) < 5", "unknown function `size(...)`", 0),
        ("[BODY] == pat(*error*", "unclosed `pat(`", 21),
        ("[BODY] == [STATUS", "unclosed `[`", 10),
        ("[BODY] == foo(x)", "unknown function `foo(...)`", 10),
        (
            "[STATUS] == any(200, abc)",
            "`abc` is not a status code",
            21,
        ),
        ("[STATUS] == any(200,,429)", "empty value in `any(...)`", 20),
        ("[STATUS] == any()", "empty value in `any(...)`", 16),
        (
            "[STATUS] < any(200)",
            "`any(...)` takes == or !=, not `<`",
            9,
        ),
        ("[BODY] contains pat(x*)", "`pat(...)` takes == or !=", 7),
        ("[BODY] == pat(ab[c)", "unclosed `[` in the pattern", 16),
        ("[RESPONSE_TIME] == pat(1*)", "`pat(...)` matches text", 19),
        (
            "[BODY].a == any([BODY].b, x)",
            "`any(...)` lists written values",
            16,
        ),
        ("[BODY] == [NOPE]", "unknown placeholder `[NOPE]`", 11),
        (
            "[BODY] == [BODY].a x",
            "unexpected ` x` after `[BODY].a`",
            18,
        ),
        (
            "[BODY] contains [BODY].a",
            "`contains` takes a written value",
            7,
        ),
        (
            "[RESPONSE_TIME] < [BODY].limit",
            "`[RESPONSE_TIME]` cannot be compared",
            0,
        ),
        (
            "[BODY].n == [CONNECTED]",
            "`[CONNECTED]` cannot be compared",
            12,
        ),
        (
            "len([STATUS]) == 3",
            "`len(...)` takes [BODY], [BODY].path or [HEADER].name",
            4,
        ),
        ("len(STATUS) == 3", "`len(...)` takes a placeholder", 4),
        ("len([BODY].a == 3", "close `len(` with `)`", 12),
        ("len([BODY])==3", "put spaces around the operator", 11),
        ("[BODY]) == 3", "`)` without a function", 6),
        (
            "len([BODY]) == many",
            "is a number, and `many` is not one",
            15,
        ),
        ("has([BODY].a) == yes", "`yes` is not true or false", 17),
        ("any(1) == [STATUS]", "goes after the operator", 0),
        (
            "[DNS_RCODE] == NOERROR",
            "shipit's probes are HTTP requests",
            1,
        ),
        ("[DOMAIN_EXPIRATION] > 720h", "WHOIS", 1),
        ("[CONTEXT].id == 1", "Gatus suite", 1),
        (
            "[ip] == 1.2.3.4",
            "placeholders are written in capitals: `[IP]`",
            1,
        ),
        ("[RESPONSE_TIME] < 500", "write `500ms`", 18),
        (r#"[BODY] == "abc"#, "unclosed `\"`", 10),
    ];
    for (text, message, offset) in cases {
        let e = error(text);
        assert!(
            e.message.contains(message),
            "{text}: got {:?}, want {message:?}",
            e.message
        );
        assert_eq!(e.offset, *offset, "{text}: offset of {:?}", e.message);
    }
}

#[test]
fn offsets_count_characters_not_bytes() {
    let e = error("[BODY].é==1");
    assert_eq!(e.offset, 8);
}

#[test]
fn any_on_every_kind_of_placeholder() {
    let r = answer(429, 5, r#"{"state":"degraded","n":2}"#);
    assert!(holds("[STATUS] == any(200, 429)", &r));
    assert!(!holds("[STATUS] != any(200, 429)", &r));
    assert!(holds("[STATUS] != any(500, 502)", &r));
    assert!(holds("[BODY].state == any(ok, degraded)", &r));
    assert!(!holds("[BODY].state == any(ok, up)", &r));
    assert!(holds("[BODY].n == any(1, 2.0)", &r), "numbers as numbers");
    assert!(
        !holds(r#"[BODY].n == any("2.0")"#, &r),
        "a quoted option is text"
    );
    assert!(holds(
        r#"[HEADER].content-type == any("application/json; charset=utf-8", text/html)"#,
        &r
    ));
    assert!(holds("[RESPONSE_TIME] == any(5ms, 10ms)", &r));
    assert!(holds("[CONNECTED] == any(true)", &r));
    assert!(holds("len([BODY].state) == any(8, 9)", &r));
    assert_eq!(
        check("[STATUS] == any(200, 201)", &r).display,
        "[STATUS] (429) == any(200, 201)"
    );
}

#[test]
fn pat_with_both_operators_catches_an_error_page() {
    let error_page = answer(200, 5, "<h1>Internal error</h1>");
    let fine = answer(200, 5, "<h1>Welcome</h1>");
    // The issue's case: read as text, `!= pat(*error*)` passed on an error page.
    assert!(!holds("[BODY] != pat(*error*)", &error_page));
    assert!(holds("[BODY] != pat(*error*)", &fine));
    assert!(holds("[BODY] == pat(<h1>*</h1>)", &fine));
    assert!(holds(
        "[HEADER].content-type == pat(application/json*)",
        &fine
    ));
    assert!(holds("[STATUS] == pat(2??)", &fine));
    assert!(holds("[BODY].name == pat(a?c)", &answer(200, 5, DOC)));
    assert!(
        !holds("[BODY].missing != pat(*)", &answer(200, 5, DOC)),
        "missing fails"
    );
}

#[test]
fn len_with_every_numeric_operator() {
    let r = answer(200, 5, DOC);
    for (cond, want) in [
        ("len([BODY].tags) == 2", true),
        ("len([BODY].tags) != 2", false),
        ("len([BODY].tags) < 3", true),
        ("len([BODY].tags) <= 2", true),
        ("len([BODY].tags) > 2", false),
        ("len([BODY].tags) >= 2", true),
        ("len([BODY].name) == 3", true),
        ("len([BODY].data[0]) == 1", true),
        ("len([BODY]) == 8", true),
        ("len([HEADER].x-count) == 2", true),
        ("len([BODY]) == 4", false),
    ] {
        assert_eq!(holds(cond, &r), want, "{cond}");
    }
    assert_eq!(
        check("len([BODY].none) > 0", &r).display,
        "len([BODY].none) (null) > 0"
    );
    assert_eq!(
        check("len([BODY].gone) > 0", &r).display,
        "len([BODY].gone) (missing) > 0"
    );
    assert!(
        holds("len([BODY]) == 5", &answer(200, 5, " héllo\n")),
        "characters of the trimmed text"
    );
}

#[test]
fn has_of_paths_headers_and_the_body() {
    let r = answer(200, 5, DOC);
    assert!(holds("has([BODY].ok) == true", &r));
    assert!(holds("has([BODY].errors) == false", &r));
    assert!(
        holds("has([BODY].none) == false", &r),
        "null counts as absent, as in Gatus"
    );
    assert!(holds("has([BODY].data[0].id) == true", &r));
    assert!(holds("has([BODY].data[3]) != true", &r));
    assert!(holds("has([HEADER].X-Count) == true", &r));
    assert!(holds("has([HEADER].x-nope) == false", &r));
    assert!(holds("has([BODY]) == false", &answer(204, 5, "  \n")));
}

#[test]
fn ip_is_the_address_connected_to() {
    let mut r = answer(200, 5, "");
    r.ip = Some("127.0.0.1".parse().unwrap());
    assert!(holds("[IP] == 127.0.0.1", &r));
    assert!(holds("[IP] == pat(127.*)", &r));
    assert!(holds("[IP] != any(10.0.0.1, ::1)", &r));
    assert!(holds("[IP] contains 127.", &r));
    r.ip = Some("::1".parse().unwrap());
    assert!(holds("[IP] == ::1", &r));
    let refused = ProbeResult::failed(Duration::from_millis(1), "connection refused");
    assert_eq!(
        check("[IP] == ::1", &refused).display,
        "[IP] (no answer) == ::1"
    );
}

#[test]
fn placeholder_against_placeholder() {
    let r = answer(
        200,
        5,
        r#"{"id":7,"age":7,"max":10,"items":[1,2,3],"a":"x","b":"y","code":"200"}"#,
    );
    assert!(holds("[BODY].id == [BODY].age", &r));
    assert!(holds("[BODY].a != [BODY].b", &r));
    assert!(holds("[BODY].age < [BODY].max", &r));
    assert!(holds("[BODY].max >= len([BODY].items)", &r));
    assert!(holds("len([BODY].items) == 3", &r));
    assert!(holds("[STATUS] == [BODY].code", &r));
    assert!(holds("[HEADER].x-count > [BODY].max", &r));
    let c = check("[BODY].a < [BODY].max", &r);
    assert_eq!(
        (c.pass, c.display.as_str()),
        (false, "[BODY].a (x: not a number) < [BODY].max (10)")
    );
    let c = check("[BODY].id == [BODY].gone", &r);
    assert_eq!(
        (c.pass, c.display.as_str()),
        (false, "[BODY].id (7) == [BODY].gone (missing)")
    );
    let c = check("[BODY].gone != [BODY].id", &r);
    assert_eq!(
        (c.pass, c.display.as_str()),
        (false, "[BODY].gone (missing) != [BODY].id (7)")
    );
}

#[test]
fn numbers_with_go_base_prefixes() {
    assert_eq!(number("0x1F"), Some(31.0));
    assert_eq!(number("0XFF"), Some(255.0));
    assert_eq!(number("-0o10"), Some(-8.0));
    assert_eq!(number("0b101"), Some(5.0));
    assert_eq!(number("010"), Some(10.0));
    assert_eq!(number("0x"), None);
    assert_eq!(number("0xZZ"), None);
    assert_eq!(number("0b2"), None);
}

#[test]
fn connection_conditions_are_marked() {
    assert!(
        Condition::parse("[CONNECTED] == false")
            .unwrap()
            .judges_connection()
    );
    assert!(
        !Condition::parse("[STATUS] == 200")
            .unwrap()
            .judges_connection()
    );
}
