//! Health and smoke conditions, Gatus-style: `[STATUS] == 200`, `[RESPONSE_TIME] < 2s`, ...
//! (Interface placeholder while the probe engine is written; see the probe issue.)

/// A condition parsed from config text.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub text: String,
}

/// Why a condition text does not parse, and where (a character offset into the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    pub message: String,
    pub offset: usize,
}

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        if text.trim().is_empty() {
            return Err(ConditionError { message: "empty condition".into(), offset: 0 });
        }
        Ok(Condition { text: text.to_owned() })
    }
}

impl serde::Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}
