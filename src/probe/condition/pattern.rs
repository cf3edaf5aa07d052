//! The glob of Gatus's `pat(...)`: `*` is any run of characters, `?` one character, `[abc]`,
//! `[a-z]` and `[^abc]` one character of (or not of) a set, and `\` takes the next character
//! literally. These are the rules of Go's `filepath.Match`, which Gatus calls; Gatus first strips
//! every `/` from both sides so that `*` runs across them. shipit's `*` runs across `/` too, but
//! keeps the slashes, so `pat(a/b)` does not match `ab` as it does in Gatus.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// `*`: any run of characters, the empty one included.
    Star,
    /// `?`: exactly one character.
    One,
    Char(char),
    /// `[...]`: one character in (or, negated, not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Star | Token::One => true,
            Token::Char(want) => *want == c,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
        }
    }
}

/// A parsed `pat(...)` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern {
    tokens: Vec<Token>,
}

impl Pattern {
    /// Parses the text between `pat(` and `)`. On error, the message and the byte offset of the
    /// problem in `text`. (Go's matcher answers "no match" for a malformed pattern; a pattern
    /// that can never match is refused at load instead.)
    pub(super) fn parse(text: &str) -> Result<Pattern, (String, usize)> {
        let mut tokens = Vec::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            let token = match c {
                '*' => Token::Star,
                '?' => Token::One,
                '\\' => match chars.next() {
                    Some((_, escaped)) => Token::Char(escaped),
                    None => {
                        return Err((
                            "`\\` at the end of the pattern: escape a character, e.g. `\\*`"
                                .to_owned(),
                            at,
                        ));
                    }
                },
                '[' => {
                    let negated = chars.next_if(|(_, c)| *c == '^').is_some();
                    let mut ranges = Vec::new();
                    loop {
                        let Some((_, mut lo)) = chars.next() else {
                            return Err((
                                "unclosed `[` in the pattern: close the set with `]`, or write `\\[` for a bracket".to_owned(),
                                at,
                            ));
                        };
                        if lo == ']' && !ranges.is_empty() {
                            break;
                        }
                        if lo == ']' {
                            return Err(("empty `[]` in the pattern".to_owned(), at));
                        }
                        if lo == '\\' {
                            lo = chars.next().map_or('\\', |(_, c)| c);
                        }
                        let mut hi = lo;
                        if chars.next_if(|(_, c)| *c == '-').is_some() {
                            match chars.next() {
                                Some((_, ']')) | None => {
                                    return Err((
                                        "a range in `[...]` needs an end, e.g. `[a-z]`".to_owned(),
                                        at,
                                    ));
                                }
                                Some((_, '\\')) => hi = chars.next().map_or('\\', |(_, c)| c),
                                Some((_, end)) => hi = end,
                            }
                        }
                        if hi < lo {
                            return Err((format!("the range `{lo}-{hi}` is backwards"), at));
                        }
                        ranges.push((lo, hi));
                    }
                    Token::Class { negated, ranges }
                }
                other => Token::Char(other),
            };
            tokens.push(token);
        }
        Ok(Pattern { tokens })
    }

    /// Whether the whole of `text` matches (a pattern is anchored at both ends).
    pub(super) fn matches(&self, text: &str) -> bool {
        let s: Vec<char> = text.chars().collect();
        let p = &self.tokens;
        let (mut si, mut pi) = (0, 0);
        // Where to resume after the last `*`: the token after it and the text position it
        // has swallowed up to. Backtracking only to the last star is enough for globs.
        let mut resume: Option<(usize, usize)> = None;
        while si < s.len() {
            if pi < p.len() {
                if p[pi] == Token::Star {
                    resume = Some((pi + 1, si));
                    pi += 1;
                    continue;
                }
                if p[pi].matches(s[si]) {
                    pi += 1;
                    si += 1;
                    continue;
                }
            }
            match resume {
                Some((after_star, swallowed)) => {
                    resume = Some((after_star, swallowed + 1));
                    pi = after_star;
                    si = swallowed + 1;
                }
                None => return false,
            }
        }
        p[pi..].iter().all(|t| *t == Token::Star)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Pattern::parse(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e:?}"))
            .matches(text)
    }

    /// Every case of Gatus's `pattern/pattern_test.go` (`TestMatch`), same pattern, same key,
    /// same verdict.
    #[test]
    fn gatus_test_match() {
        let key = "livingroom_123";
        let cases = [
            ("*", true),
            ("**", true),
            ("living*", true),
            ("*living*", true),
            ("*123", true),
            ("*_*", true),
            ("living*_*3", true),
            ("living*room_*3", true),
            ("*vin*om*2*", true),
            ("livingroom_123", true),
            ("*livingroom_123*", true),
            ("livingroom", false),
            ("livingroom123", false),
            ("what", false),
            ("*what*", false),
            ("*.*", false),
            ("room*123", false),
        ];
        for (pattern, want) in cases {
            assert_eq!(m(pattern, key), want, "pat({pattern}) on {key}");
        }
    }

    #[test]
    fn question_marks_sets_and_escapes_follow_go() {
        assert!(m("4??", "404"));
        assert!(!m("4??", "40"));
        assert!(m("[45]0?", "503"));
        assert!(!m("[^45]0?", "503"));
        assert!(m("[a-c]x", "bx"));
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("*/api/*", "https://x/api/v1"), "`*` runs across `/`");
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("é*", "étoile"), "characters, not bytes");
    }

    #[test]
    fn malformed_patterns_are_refused_with_a_place() {
        assert!(
            Pattern::parse("[abc")
                .unwrap_err()
                .0
                .contains("unclosed `[`")
        );
        assert_eq!(Pattern::parse("ab[").unwrap_err().1, 2);
        assert!(Pattern::parse("[]").unwrap_err().0.contains("empty"));
        assert!(Pattern::parse("[z-a]").unwrap_err().0.contains("backwards"));
        assert!(
            Pattern::parse("[a-]")
                .unwrap_err()
                .0
                .contains("needs an end")
        );
        assert!(Pattern::parse("ab\\").unwrap_err().0.contains("at the end"));
    }
}
