//! Command-line parsing with cobra's and pflag's rules, so flag spellings and the error text for
//! bad ones match real flyctl.
//!
//! Resolution works like cobra's `Find`: walk the command words, skipping flags; a flag the
//! current level does not know is assumed to take the next word as its value
//! (`flyctl -a app status` works). The leaf's flags are then parsed over everything else with
//! pflag's rules: `-aX`, `-a X`, `-a=X`, `--app X`, `--app=X`, grouped booleans (`-jy`),
//! `--json=false`, and `--` ending the flags.

use std::collections::HashSet;

use crate::Failure;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `--flag` means true; `--flag=false` is the only way to pass a value.
    Bool,
    /// Needs a value, inline or as the next word.
    Value,
    /// A string flag with pflag's `NoOptDefVal`: bare `--depot` means the given default.
    OptValue(&'static str),
}

#[derive(Clone, Copy, Debug)]
pub struct Flag {
    pub name: &'static str,
    /// Shorthand letters; more than one when an alias has its own (`-m`/`-i` for `--machine`).
    pub shorts: &'static str,
    pub kind: Kind,
    /// Long aliases flyctl normalises to `name` (`--auto-confirm` is `--yes`).
    pub aliases: &'static [&'static str],
}

const fn flag(name: &'static str, shorts: &'static str, kind: Kind) -> Flag {
    Flag {
        name,
        shorts,
        kind,
        aliases: &[],
    }
}

const fn bool_flag(name: &'static str) -> Flag {
    flag(name, "", Kind::Bool)
}

const fn value_flag(name: &'static str) -> Flag {
    flag(name, "", Kind::Value)
}

const APP: Flag = flag("app", "a", Kind::Value);
const CONFIG: Flag = flag("config", "c", Kind::Value);
const JSON: Flag = flag("json", "j", Kind::Bool);

/// Root persistent flags, accepted by every command.
const GLOBAL: &[Flag] = &[
    flag("access-token", "t", Kind::Value),
    bool_flag("verbose"),
    bool_flag("debug"),
    flag("help", "h", Kind::Bool),
];

const VERSION_FLAGS: &[Flag] = &[JSON, flag("saveinstall", "s", Kind::Value)];
const STATUS_FLAGS: &[Flag] = &[
    APP,
    CONFIG,
    JSON,
    bool_flag("all"),
    bool_flag("deployment"),
    bool_flag("watch"),
    value_flag("rate"),
];
const RELEASES_FLAGS: &[Flag] = &[APP, CONFIG, JSON, bool_flag("image")];
const MACHINES_LIST_FLAGS: &[Flag] = &[APP, CONFIG, JSON, flag("quiet", "q", Kind::Bool)];
const CHECKS_LIST_FLAGS: &[Flag] = &[APP, CONFIG, JSON, value_flag("check-name")];
const APP_JSON_FLAGS: &[Flag] = &[APP, CONFIG, JSON];
const VOLUMES_LIST_FLAGS: &[Flag] = &[APP, CONFIG, JSON, bool_flag("all")];
const CONFIG_SHOW_FLAGS: &[Flag] = &[
    APP,
    CONFIG,
    bool_flag("local"),
    bool_flag("yaml"),
    bool_flag("toml"),
];
const APPS_LIST_FLAGS: &[Flag] = &[
    JSON,
    flag("org", "o", Kind::Value),
    flag("quiet", "q", Kind::Bool),
];
const LOGS_FLAGS: &[Flag] = &[
    APP,
    CONFIG,
    JSON,
    flag("region", "r", Kind::Value),
    Flag {
        name: "machine",
        shorts: "mi",
        kind: Kind::Value,
        aliases: &["instance"],
    },
    flag("select", "s", Kind::Bool),
    flag("no-tail", "n", Kind::Bool),
];

/// `flyctl deploy`'s flags (reference §1.1), so unknown ones fail the way they do for real.
const DEPLOY_FLAGS: &[Flag] = &[
    APP,
    CONFIG,
    flag("image", "i", Kind::Value),
    value_flag("strategy"),
    value_flag("wait-timeout"),
    value_flag("release-command-timeout"),
    value_flag("lease-timeout"),
    bool_flag("detach"),
    bool_flag("remote-only"),
    bool_flag("local-only"),
    bool_flag("build-only"),
    bool_flag("push"),
    value_flag("image-label"),
    value_flag("label"),
    Flag {
        name: "yes",
        shorts: "y",
        kind: Kind::Bool,
        aliases: &["auto-confirm"],
    },
    bool_flag("now"),
    bool_flag("smoke-checks"),
    bool_flag("dns-checks"),
    bool_flag("skip-release-command"),
    bool_flag("ha"),
    value_flag("primary-region"),
    flag("env", "e", Kind::Value),
    value_flag("max-unavailable"),
    value_flag("max-concurrent"),
    value_flag("deploy-retries"),
    bool_flag("update-only"),
    Flag {
        name: "regions",
        shorts: "",
        kind: Kind::Value,
        aliases: &["only-regions"],
    },
    value_flag("exclude-regions"),
    value_flag("only-machines"),
    value_flag("exclude-machines"),
    value_flag("process-groups"),
    flag("signal", "s", Kind::Value),
    bool_flag("no-public-ips"),
    bool_flag("flycast"),
    value_flag("file-local"),
    value_flag("file-literal"),
    value_flag("file-secret"),
    value_flag("vm-size"),
    value_flag("vm-cpus"),
    value_flag("vm-cpu-kind"),
    value_flag("vm-memory"),
    value_flag("vm-max-memory"),
    value_flag("vm-gpus"),
    value_flag("vm-gpu-kind"),
    value_flag("host-dedication-id"),
    value_flag("dockerfile"),
    value_flag("ignorefile"),
    value_flag("build-arg"),
    value_flag("build-secret"),
    value_flag("build-target"),
    bool_flag("no-cache"),
    flag("depot", "", Kind::OptValue("true")),
    bool_flag("nixpacks"),
    bool_flag("buildkit"),
    value_flag("buildkit-addr"),
    value_flag("buildkit-image"),
    value_flag("compression"),
    value_flag("compression-level"),
    bool_flag("recreate-builder"),
    bool_flag("wg"),
    Flag {
        name: "https-failover",
        shorts: "",
        kind: Kind::Bool,
        aliases: &["http-failover"],
    },
    value_flag("export-manifest"),
    value_flag("from-manifest"),
    bool_flag("force-machines"),
    value_flag("immediate-max-concurrent"),
    flag("builder-pool", "", Kind::OptValue("true")),
];

/// The commands the double implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Version,
    Status,
    Releases,
    MachinesList,
    ChecksList,
    SecretsList,
    ImageShow,
    AppsList,
    Logs,
    Deploy,
    VolumesList,
    ConfigShow,
}

struct Node {
    name: &'static str,
    aliases: &'static [&'static str],
    kind: NodeKind,
}

enum NodeKind {
    Leaf(Command, &'static [Flag]),
    Group(&'static [Node]),
}

const fn leaf(
    name: &'static str,
    aliases: &'static [&'static str],
    cmd: Command,
    flags: &'static [Flag],
) -> Node {
    Node {
        name,
        aliases,
        kind: NodeKind::Leaf(cmd, flags),
    }
}

const fn group(
    name: &'static str,
    aliases: &'static [&'static str],
    children: &'static [Node],
) -> Node {
    Node {
        name,
        aliases,
        kind: NodeKind::Group(children),
    }
}

const ROOT: &[Node] = &[
    leaf("version", &[], Command::Version, VERSION_FLAGS),
    leaf("status", &[], Command::Status, STATUS_FLAGS),
    leaf("releases", &[], Command::Releases, RELEASES_FLAGS),
    group(
        "apps",
        &["app"],
        &[
            leaf("list", &["ls"], Command::AppsList, APPS_LIST_FLAGS),
            leaf("releases", &[], Command::Releases, RELEASES_FLAGS),
        ],
    ),
    group(
        "machine",
        &["machines", "m"],
        &[leaf(
            "list",
            &["ls"],
            Command::MachinesList,
            MACHINES_LIST_FLAGS,
        )],
    ),
    group(
        "checks",
        &[],
        &[leaf(
            "list",
            &["ls"],
            Command::ChecksList,
            CHECKS_LIST_FLAGS,
        )],
    ),
    group(
        "secrets",
        &[],
        &[leaf("list", &["ls"], Command::SecretsList, APP_JSON_FLAGS)],
    ),
    group(
        "image",
        &["img"],
        &[leaf("show", &[], Command::ImageShow, APP_JSON_FLAGS)],
    ),
    group(
        "volumes",
        &["volume", "vol"],
        &[leaf(
            "list",
            &["ls"],
            Command::VolumesList,
            VOLUMES_LIST_FLAGS,
        )],
    ),
    group(
        "config",
        &[],
        &[leaf(
            "show",
            &["display"],
            Command::ConfigShow,
            CONFIG_SHOW_FLAGS,
        )],
    ),
    leaf("logs", &[], Command::Logs, LOGS_FLAGS),
    leaf("deploy", &[], Command::Deploy, DEPLOY_FLAGS),
];

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    Run {
        command: Command,
        flags: Parsed,
    },
    /// `--help`, or a command group without a subcommand: print usage for this path.
    Help(String),
}

/// Flag values by canonical long name, in the order given, plus positional arguments.
#[derive(Debug, Default)]
pub struct Parsed {
    values: Vec<(&'static str, String)>,
    pub positionals: Vec<String>,
}

impl Parsed {
    /// The last value given for a flag (pflag keeps the last one for scalar flags).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A string-slice flag (pflag `StringSlice`) as flyctl's `GetNonEmptyStringSlice` reads
    /// it: every occurrence, each split at commas, empty items dropped.
    pub fn slice(&self, name: &str) -> Vec<&str> {
        self.values
            .iter()
            .filter(|(n, _)| *n == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// A string flag's value when it was given a non-empty one.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// A boolean flag's value, `default` when it was not given.
    pub fn bool_or(&self, name: &str, default: bool) -> bool {
        self.get(name).map_or(default, |v| v == "true")
    }

    pub fn bool(&self, name: &str) -> bool {
        self.bool_or(name, false)
    }
}

/// Parses `args` (without argv0).
pub fn parse(args: &[String]) -> Result<Invocation, Failure> {
    let mut children = ROOT;
    let mut path = String::from("flyctl");
    let mut command_words = HashSet::new();
    let mut found = None;
    let mut i = 0;
    while i < args.len() && found.is_none() {
        let arg = &args[i];
        if arg == "--" {
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            if !body.contains('=') && takes_next_word(lookup_long(GLOBAL, body)) {
                i += 1;
            }
        } else if let Some(shorts) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            let mut chars = shorts.chars();
            if let (Some(c), None) = (chars.next(), chars.next())
                && takes_next_word(lookup_short(GLOBAL, c))
            {
                i += 1;
            }
        } else {
            let Some(node) = children
                .iter()
                .find(|n| n.name == arg || n.aliases.contains(&arg.as_str()))
            else {
                return Err(
                    Failure::new(format!("unknown command \"{arg}\" for \"{path}\""))
                        .with_stdout_hint(format!("Run '{path} --help' for usage.")),
                );
            };
            command_words.insert(i);
            path.push(' ');
            path.push_str(node.name);
            match &node.kind {
                NodeKind::Leaf(command, flags) => found = Some((*command, *flags)),
                NodeKind::Group(next) => children = next,
            }
        }
        i += 1;
    }
    let Some((command, flags)) = found else {
        return Ok(Invocation::Help(path));
    };
    let rest: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| !command_words.contains(i))
        .map(|(_, a)| a)
        .collect();
    let parsed = parse_flags(&rest, flags)?;
    if parsed.bool("help") {
        return Ok(Invocation::Help(path));
    }
    Ok(Invocation::Run {
        command,
        flags: parsed,
    })
}

/// cobra's `stripFlags`: an unknown flag, or one that is not boolean, swallows the next word.
fn takes_next_word(flag: Option<&Flag>) -> bool {
    flag.is_none_or(|f| f.kind == Kind::Value)
}

fn lookup_long<'a>(flags: &'a [Flag], name: &str) -> Option<&'a Flag> {
    flags
        .iter()
        .find(|f| f.name == name || f.aliases.contains(&name))
}

fn lookup_short(flags: &[Flag], c: char) -> Option<&Flag> {
    flags.iter().find(|f| f.shorts.contains(c))
}

fn parse_flags(args: &[&String], own: &'static [Flag]) -> Result<Parsed, Failure> {
    let all: Vec<Flag> = own.iter().chain(GLOBAL).copied().collect();
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if arg == "--" {
            parsed
                .positionals
                .extend(args[i..].iter().map(|a| (*a).clone()));
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let Some(flag) = lookup_long(&all, name) else {
                return Err(Failure::new(format!("unknown flag: --{name}")));
            };
            let value = match (flag.kind, inline) {
                (Kind::Bool, None) => "true".to_owned(),
                (Kind::Bool, Some(v)) => parse_bool(flag, v)?,
                (Kind::OptValue(default), None) => default.to_owned(),
                (_, Some(v)) => v.to_owned(),
                (Kind::Value, None) => {
                    let Some(next) = args.get(i) else {
                        return Err(Failure::new(format!("flag needs an argument: {arg}")));
                    };
                    i += 1;
                    (*next).clone()
                }
            };
            parsed.values.push((flag.name, value));
        } else if let Some(mut shorts) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            // pflag's parseSingleShortArg, applied until the group is used up.
            while let Some(c) = shorts.chars().next() {
                let Some(flag) = lookup_short(&all, c) else {
                    return Err(Failure::new(format!(
                        "unknown shorthand flag: '{c}' in -{shorts}"
                    )));
                };
                let after = &shorts[c.len_utf8()..];
                let inline = after.strip_prefix('=');
                let value = match flag.kind {
                    Kind::Bool | Kind::OptValue(_) if inline.is_none() => {
                        shorts = after;
                        match flag.kind {
                            Kind::OptValue(default) => default.to_owned(),
                            _ => "true".to_owned(),
                        }
                    }
                    Kind::Bool => {
                        shorts = "";
                        parse_bool(flag, inline.unwrap_or_default())?
                    }
                    Kind::OptValue(_) => {
                        shorts = "";
                        inline.unwrap_or_default().to_owned()
                    }
                    Kind::Value => {
                        let value = if let Some(v) = inline {
                            v.to_owned()
                        } else if !after.is_empty() {
                            after.to_owned()
                        } else if let Some(next) = args.get(i) {
                            i += 1;
                            (*next).clone()
                        } else {
                            return Err(Failure::new(format!(
                                "flag needs an argument: '{c}' in -{shorts}"
                            )));
                        };
                        shorts = "";
                        value
                    }
                };
                parsed.values.push((flag.name, value));
            }
        } else {
            parsed.positionals.push(arg.to_owned());
        }
    }
    Ok(parsed)
}

/// Go's `strconv.ParseBool`, with pflag's error wording.
fn parse_bool(flag: &Flag, value: &str) -> Result<String, Failure> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok("true".to_owned()),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok("false".to_owned()),
        _ => {
            let shown = match flag.shorts.chars().next() {
                Some(c) => format!("-{c}, --{}", flag.name),
                None => format!("--{}", flag.name),
            };
            Err(Failure::new(format!(
                "invalid argument \"{value}\" for \"{shown}\" flag: strconv.ParseBool: parsing \"{value}\": invalid syntax"
            )))
        }
    }
}

/// The usage text printed for `--help` and for command groups run without a subcommand.
pub fn help(path: &str) -> String {
    format!(
        "This is flyctl-double, a test stand-in for flyctl.\n\nUsage:\n  {path} [command]\n\n\
         Commands implemented: version, status, releases, apps list, apps releases,\n\
         machines list, checks list, secrets list, image show, volumes list, config show, logs, deploy\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<(Command, Parsed), String> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        match parse(&args) {
            Ok(Invocation::Run { command, flags }) => Ok((command, flags)),
            Ok(Invocation::Help(p)) => Err(format!("help {p}")),
            Err(f) => Err(f.message),
        }
    }

    #[test]
    fn every_spelling_of_app_and_json() {
        for args in [
            &["status", "-a", "x", "-j"][..],
            &["status", "-ax", "--json"],
            &["status", "--app", "x", "--json=true"],
            &["status", "--app=x", "-j"],
            &["-a", "x", "status", "-j"],
            &["status", "-ja", "x"],
            &["status", "-a=x", "-j"],
        ] {
            let (cmd, flags) = run(args).unwrap();
            assert_eq!(cmd, Command::Status);
            assert_eq!(flags.get("app"), Some("x"), "{args:?}");
            assert!(flags.bool("json"), "{args:?}");
        }
        let (_, flags) = run(&["status", "-a", "x", "--json=false"]).unwrap();
        assert!(!flags.bool("json"));
    }

    #[test]
    fn aliases_resolve() {
        assert_eq!(run(&["m", "ls"]).unwrap().0, Command::MachinesList);
        assert_eq!(run(&["machines", "list"]).unwrap().0, Command::MachinesList);
        assert_eq!(run(&["apps", "releases"]).unwrap().0, Command::Releases);
        let (_, f) = run(&["deploy", "--auto-confirm", "-i", "img"]).unwrap();
        assert!(f.bool("yes"));
        assert_eq!(f.get("image"), Some("img"));
        let (_, f) = run(&["logs", "--instance", "abc"]).unwrap();
        assert_eq!(f.get("machine"), Some("abc"));
    }

    #[test]
    fn errors_match_pflag() {
        assert_eq!(
            run(&["status", "--foo"]).unwrap_err(),
            "unknown flag: --foo"
        );
        assert_eq!(
            run(&["status", "-z"]).unwrap_err(),
            "unknown shorthand flag: 'z' in -z"
        );
        assert_eq!(
            run(&["status", "-jz"]).unwrap_err(),
            "unknown shorthand flag: 'z' in -z"
        );
        assert_eq!(
            run(&["status", "--app"]).unwrap_err(),
            "flag needs an argument: --app"
        );
        assert_eq!(
            run(&["status", "-a"]).unwrap_err(),
            "flag needs an argument: 'a' in -a"
        );
        assert_eq!(
            run(&["frobnicate"]).unwrap_err(),
            "unknown command \"frobnicate\" for \"flyctl\""
        );
        assert!(
            run(&["status", "--json=maybe"])
                .unwrap_err()
                .contains("strconv.ParseBool")
        );
        assert_eq!(
            run(&["deploy", "--json"]).unwrap_err(),
            "unknown flag: --json"
        );
        assert_eq!(run(&["apps"]).unwrap_err(), "help flyctl apps");
    }

    #[test]
    fn double_dash_ends_flags() {
        let (_, f) = run(&["deploy", "--", "-weird-dir"]).unwrap();
        assert_eq!(f.positionals, vec!["-weird-dir"]);
    }
}
