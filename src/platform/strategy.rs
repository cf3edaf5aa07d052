//! Fly's deploy strategies as one type: what `--strategy` accepts (clap), what `strategy:` in
//! shipit.yml accepts (the config loader), and what flyctl's argv gets, so the three lists
//! cannot drift apart.

use std::fmt;

/// A `flyctl deploy --strategy` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    Rolling,
    Canary,
    Immediate,
    Bluegreen,
}

impl Strategy {
    /// Every strategy, in the order messages list them.
    pub const ALL: [Strategy; 4] = [
        Strategy::Rolling,
        Strategy::Canary,
        Strategy::Immediate,
        Strategy::Bluegreen,
    ];

    /// The word flyctl and shipit.yml use.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Rolling => "rolling",
            Strategy::Canary => "canary",
            Strategy::Immediate => "immediate",
            Strategy::Bluegreen => "bluegreen",
        }
    }

    /// `rolling, canary, immediate, bluegreen`, for hints.
    pub fn names() -> String {
        Strategy::ALL.map(Strategy::as_str).join(", ")
    }

    /// The strategy a config value names, if any.
    pub fn parse(text: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Strategy;
    use clap::ValueEnum as _;

    #[test]
    fn clap_serde_and_flyctl_use_the_same_words() {
        for s in Strategy::ALL {
            let clap_name = s.to_possible_value().unwrap().get_name().to_owned();
            let serde_name = serde_json::to_value(s).unwrap();
            assert_eq!(clap_name, s.as_str());
            assert_eq!(serde_name, s.as_str());
            assert_eq!(Strategy::parse(s.as_str()), Some(s));
        }
        assert_eq!(Strategy::parse("yolo"), None);
        assert_eq!(Strategy::names(), "rolling, canary, immediate, bluegreen");
    }
}
