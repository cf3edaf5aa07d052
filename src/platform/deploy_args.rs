//! The `flyctl deploy` flags a user may pass through (`deploy_args:` in shipit.yml, and
//! `shipit deploy ENV -- ARGS`), checked against the flags real flyctl deploy has
//! (`reference/flyctl.md` §1.1). Flags shipit sets itself are refused with the reason, so the
//! pipeline's own choices (app, config, image, strategy, waiting, which machines) cannot be
//! overridden by accident. Build flags are marked: the rollback deploy puts an existing image
//! back with `--image` and never passes them, so it never rebuilds.

use serde::Serialize;

/// How a flag takes its value (pflag's rules).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    /// `--flag`, or `--flag=false`.
    Bool,
    /// `--flag VALUE` or `--flag=VALUE`.
    Value,
    /// A value only when written `--flag=VALUE`; bare `--flag` means its default.
    OptValue,
}

/// What a flag is for, as shipit sees it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Changes how the image is built: passed to a deploy, never to a rollback.
    Build,
    /// Changes the release itself (env, size, regions...): passed to the deploy and its rollback.
    Runtime,
    /// Changes only this deploy's behaviour: passed to the deploy, not to its rollback.
    DeployOnly,
    /// shipit sets it itself, or it would defeat the gates: refused, with this reason.
    Owned(&'static str),
}

struct Spec {
    name: &'static str,
    short: Option<char>,
    aliases: &'static [&'static str],
    takes: Takes,
    role: Role,
}

const fn spec(name: &'static str, takes: Takes, role: Role) -> Spec {
    Spec {
        name,
        short: None,
        aliases: &[],
        takes,
        role,
    }
}

use Role::{Build, DeployOnly, Owned, Runtime};
use Takes::{Bool, OptValue, Value};

const HIDDEN: &str = "it is a hidden flyctl flag, not meant for users";
const FILTER: &str = "shipit's fleet check expects every machine on the new release; a partial deploy is `strategy: canary`";

/// `flyctl deploy`'s flags (reference §1.1) and the global ones.
const FLAGS: &[Spec] = &[
    Spec {
        short: Some('a'),
        ..spec("app", Value, Owned("shipit passes the service's `app:`"))
    },
    Spec {
        short: Some('c'),
        ..spec(
            "config",
            Value,
            Owned("shipit passes the service's `fly_config:`"),
        )
    },
    Spec {
        short: Some('i'),
        ..spec(
            "image",
            Value,
            Owned("set `image:` on the environment's service, or use `shipit deploy --image REF`"),
        )
    },
    spec(
        "strategy",
        Value,
        Owned("set `strategy:` in shipit.yml, or use `shipit deploy --strategy S`"),
    ),
    spec(
        "wait-timeout",
        Value,
        Owned("set `wait_timeout:` in shipit.yml"),
    ),
    spec("release-command-timeout", Value, DeployOnly),
    spec("lease-timeout", Value, DeployOnly),
    spec(
        "detach",
        Bool,
        Owned("flyctl would return before the machines are up, and shipit gates what it deployed"),
    ),
    spec(
        "remote-only",
        Bool,
        Owned("shipit passes it itself (give `--local-only` to build locally instead)"),
    ),
    spec("local-only", Bool, Build),
    spec(
        "build-only",
        Bool,
        Owned("it deploys nothing, so there would be nothing to gate"),
    ),
    spec("push", Bool, Build),
    spec("image-label", Value, Build),
    spec("label", Value, Build),
    Spec {
        short: Some('y'),
        aliases: &["auto-confirm"],
        ..spec("yes", Bool, Owned("shipit always passes --yes"))
    },
    spec("now", Bool, DeployOnly),
    spec("smoke-checks", Bool, Runtime),
    spec("dns-checks", Bool, Runtime),
    spec("skip-release-command", Bool, DeployOnly),
    spec("ha", Bool, Runtime),
    spec("primary-region", Value, Runtime),
    Spec {
        short: Some('e'),
        ..spec("env", Value, Runtime)
    },
    spec("max-unavailable", Value, Runtime),
    spec("max-concurrent", Value, Runtime),
    spec("deploy-retries", Value, Runtime),
    spec("update-only", Bool, Runtime),
    Spec {
        aliases: &["only-regions"],
        ..spec("regions", Value, Owned(FILTER))
    },
    spec("exclude-regions", Value, Owned(FILTER)),
    spec("only-machines", Value, Owned(FILTER)),
    spec("exclude-machines", Value, Owned(FILTER)),
    spec("process-groups", Value, Owned(FILTER)),
    Spec {
        short: Some('s'),
        ..spec("signal", Value, Runtime)
    },
    spec("no-public-ips", Bool, Runtime),
    spec("flycast", Bool, Runtime),
    spec("file-local", Value, Runtime),
    spec("file-literal", Value, Runtime),
    spec("file-secret", Value, Runtime),
    spec("vm-size", Value, Runtime),
    spec("vm-cpus", Value, Runtime),
    spec("vm-cpu-kind", Value, Runtime),
    spec("vm-memory", Value, Runtime),
    spec("vm-max-memory", Value, Runtime),
    spec("vm-gpus", Value, Runtime),
    spec("vm-gpu-kind", Value, Runtime),
    spec("host-dedication-id", Value, Runtime),
    spec("dockerfile", Value, Build),
    spec("ignorefile", Value, Build),
    spec("build-arg", Value, Build),
    spec("build-secret", Value, Build),
    spec("build-target", Value, Build),
    spec("no-cache", Bool, Build),
    spec("depot", OptValue, Build),
    spec("nixpacks", Bool, Build),
    spec("buildkit", Bool, Build),
    spec("buildkit-addr", Value, Build),
    spec("buildkit-image", Value, Build),
    spec("compression", Value, Build),
    spec("compression-level", Value, Build),
    spec("recreate-builder", Bool, Build),
    spec("wg", Bool, Build),
    Spec {
        aliases: &["http-failover"],
        ..spec("https-failover", Bool, Build)
    },
    spec("export-manifest", Value, Owned(HIDDEN)),
    spec("from-manifest", Value, Owned(HIDDEN)),
    spec("force-machines", Bool, Owned(HIDDEN)),
    spec("immediate-max-concurrent", Value, Owned(HIDDEN)),
    spec("builder-pool", OptValue, Owned(HIDDEN)),
    Spec {
        short: Some('t'),
        ..spec(
            "access-token",
            Value,
            Owned(
                "a token on the command line shows in process lists and logs: set FLY_API_TOKEN in the environment",
            ),
        )
    },
    spec("verbose", Bool, DeployOnly),
    spec("debug", Bool, DeployOnly),
    Spec {
        short: Some('h'),
        ..spec(
            "help",
            Bool,
            Owned("it prints flyctl's help instead of deploying"),
        )
    },
    spec(
        "json",
        Bool,
        Owned(
            "flyctl deploy has no --json; shipit reads flyctl's release line (FLY_EMIT_RELEASE_JSON) itself",
        ),
    ),
];

/// One flag passed through, in the form flyctl is given it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployArg {
    /// `--build-arg`: the long name, aliases resolved.
    pub flag: String,
    pub value: Option<String>,
    /// A build flag: never passed to a rollback.
    pub build: bool,
    /// Passed to the rollback of this deploy as well (the release's own settings).
    pub runtime: bool,
}

/// The flags passed through to `flyctl deploy`, in the order written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DeployArgs(pub Vec<DeployArg>);

impl DeployArgs {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The words for a deploy: every flag.
    pub fn argv(&self) -> Vec<String> {
        self.0.iter().flat_map(DeployArg::words).collect()
    }

    /// The words for a rollback: the release's runtime flags only (no build flag: the rollback
    /// deploys an existing image with `--image` and never rebuilds).
    pub fn rollback_argv(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|a| a.runtime)
            .flat_map(DeployArg::words)
            .collect()
    }

    /// These after `self` (the command line's after the config's).
    #[must_use]
    pub fn then(&self, more: &DeployArgs) -> DeployArgs {
        DeployArgs(self.0.iter().chain(&more.0).cloned().collect())
    }
}

impl DeployArg {
    fn words(&self) -> Vec<String> {
        match &self.value {
            // A bool's value must be attached (`--no-cache=false`); so must an optional one.
            Some(v) if self.attached() => vec![format!("--{}={v}", self.flag)],
            Some(v) => vec![format!("--{}", self.flag), v.clone()],
            None => vec![format!("--{}", self.flag)],
        }
    }

    fn attached(&self) -> bool {
        find(&self.flag).is_some_and(|s| s.takes != Value)
    }
}

fn find(name: &str) -> Option<&'static Spec> {
    FLAGS
        .iter()
        .find(|s| s.name == name || s.aliases.contains(&name))
}

/// The flags in `words`; or which word is wrong (its index) and why, naming the flag.
pub fn parse(words: &[String]) -> Result<DeployArgs, (usize, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let at = i;
        out.push(one(words, &mut i).map_err(|e| (at, e))?);
    }
    Ok(DeployArgs(out))
}

/// The flag at `words[*i]` (and its value), moving `i` past them.
fn one(words: &[String], i: &mut usize) -> Result<DeployArg, String> {
    {
        let word = &words[*i];
        *i += 1;
        let (spec, inline, written) = if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            if name.is_empty() {
                return Err("`--` cannot be passed through: everything after it would be a folder for flyctl".into());
            }
            let spec = find(name).ok_or_else(|| unknown(&format!("--{name}")))?;
            (spec, inline, format!("--{name}"))
        } else if let Some(short) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            let mut chars = short.chars();
            let letter = chars.next().unwrap_or_default();
            let rest: String = chars.collect();
            let spec = FLAGS
                .iter()
                .find(|s| s.short == Some(letter))
                .ok_or_else(|| unknown(&format!("-{letter}")))?;
            let inline = match rest.strip_prefix('=') {
                Some(v) => Some(v.to_owned()),
                None if rest.is_empty() => None,
                None if spec.takes == Value => Some(rest),
                None => {
                    return Err(format!(
                        "`{word}`: give each flyctl flag on its own (e.g. `-{letter}`)"
                    ));
                }
            };
            (spec, inline, format!("-{letter}"))
        } else {
            return Err(format!(
                "`{word}` is not a flyctl deploy flag (only flags are passed through; a value goes right after its flag)"
            ));
        };
        if let Owned(why) = spec.role {
            return Err(format!("`{written}` cannot be passed through: {why}"));
        }
        let value = match (spec.takes, inline) {
            (Value, Some(v)) => Some(v),
            (Value, None) => {
                let v = words
                    .get(*i)
                    .ok_or_else(|| format!("`{written}` needs a value"))?;
                *i += 1;
                Some(v.clone())
            }
            (Bool, Some(v)) if !matches!(v.as_str(), "true" | "false" | "1" | "0" | "t" | "f") => {
                return Err(format!(
                    "`{written}={v}`: `--{}` is true or false",
                    spec.name
                ));
            }
            (_, v) => v,
        };
        Ok(DeployArg {
            flag: spec.name.to_owned(),
            value,
            build: spec.role == Build,
            runtime: spec.role == Runtime,
        })
    }
}

fn unknown(flag: &str) -> String {
    let names = FLAGS.iter().filter(|s| !matches!(s.role, Owned(_)));
    let bare = flag.trim_start_matches('-');
    let close = names
        .map(|s| s.name)
        .min_by_key(|n| strsim_distance(n, bare))
        .filter(|n| strsim_distance(n, bare) <= 2);
    let hint = close.map_or_else(String::new, |n| format!(" (did you mean `--{n}`?)"));
    format!("`{flag}` is not a flag of flyctl deploy{hint}")
}

/// Levenshtein distance, for the did-you-mean of an unknown flag.
fn strsim_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_are_read_with_pflags_rules() {
        let a = parse(&words(&[
            "--build-arg",
            "X=1",
            "--build-secret=TOKEN=abc",
            "--local-only",
            "-e",
            "A=b",
            "--no-cache=false",
            "--vm-memory",
            "1024",
        ]))
        .unwrap();
        assert_eq!(
            a.argv(),
            words(&[
                "--build-arg",
                "X=1",
                "--build-secret",
                "TOKEN=abc",
                "--local-only",
                "--env",
                "A=b",
                "--no-cache=false",
                "--vm-memory",
                "1024"
            ])
        );
        assert_eq!(
            a.rollback_argv(),
            words(&["--env", "A=b", "--vm-memory", "1024"])
        );
    }

    #[test]
    fn unknown_owned_and_malformed_flags_are_refused_by_name() {
        let err = |w: &[&str]| parse(&words(w)).unwrap_err().1;
        assert!(err(&["--build-args", "X=1"]).contains(
            "`--build-args` is not a flag of flyctl deploy (did you mean `--build-arg`?)"
        ));
        assert!(err(&["--image", "x"]).contains("`--image` cannot be passed through"));
        assert!(err(&["-a", "x"]).contains("`-a` cannot be passed through"));
        assert!(err(&["--strategy=canary"]).contains("shipit deploy --strategy"));
        assert!(err(&["--auto-confirm"]).contains("always passes --yes"));
        assert!(err(&["--json"]).contains("no --json"));
        assert!(err(&["--only-machines", "m"]).contains("strategy: canary"));
        assert!(err(&["--build-arg"]).contains("needs a value"));
        assert!(err(&["X=1"]).contains("not a flyctl deploy flag"));
        assert!(err(&["--no-cache=maybe"]).contains("true or false"));
        assert!(err(&["-q"]).contains("`-q` is not a flag"));
    }
}
