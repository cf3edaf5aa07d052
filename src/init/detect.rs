//! The project's test command, found from the files at its root when it is obvious: a
//! `package.json` with a real `test` script, a `Cargo.toml`, a `pyproject.toml` or a `go.mod`.
//! Each command installs what the tests need on a fresh GitHub runner (whose ubuntu image has
//! Node, Rust, Python and Go) and runs them; `shipit init --test CMD` replaces it.

use std::path::Path;

/// A test command and the file it was read from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Detected {
    pub command: String,
    /// `package.json`, `Cargo.toml`, ...
    pub from: &'static str,
}

/// The test script `npm init` writes: a placeholder that always fails, not a test suite.
const NPM_PLACEHOLDER: &str = "no test specified";

/// Looks at `dir` and says how its tests run, when one kind of project is plain to see. The
/// order is the order of the checks: a repository with both a `package.json` and a `go.mod`
/// gets the Node command, and the operator is shown where it came from.
pub fn test_command(dir: &Path) -> Option<Detected> {
    node(dir)
        .or_else(|| rust(dir))
        .or_else(|| python(dir))
        .or_else(|| go(dir))
}

fn node(dir: &Path) -> Option<Detected> {
    let text = std::fs::read_to_string(dir.join("package.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let script = json.get("scripts")?.get("test")?.as_str()?;
    if script.trim().is_empty() || script.contains(NPM_PLACEHOLDER) {
        return None;
    }
    // `npm ci` installs exactly the lock file; without one, `npm install` resolves afresh.
    let install = if dir.join("package-lock.json").is_file() {
        "npm ci"
    } else {
        "npm install"
    };
    Some(Detected {
        command: format!("{install}\nnpm test"),
        from: "package.json",
    })
}

fn rust(dir: &Path) -> Option<Detected> {
    let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
    let manifest: toml::Table = toml::from_str(&text).ok()?;
    let mut command = String::from("cargo test");
    if manifest.contains_key("workspace") {
        command.push_str(" --workspace");
    }
    // A committed lock file is what was tested locally; `--locked` refuses to drift from it.
    if dir.join("Cargo.lock").is_file() {
        command.push_str(" --locked");
    }
    Some(Detected {
        command,
        from: "Cargo.toml",
    })
}

fn python(dir: &Path) -> Option<Detected> {
    let text = std::fs::read_to_string(dir.join("pyproject.toml")).ok()?;
    let project: toml::Table = toml::from_str(&text).ok()?;
    let tool = project.get("tool").and_then(toml::Value::as_table);
    let has_tool = |name: &str| tool.is_some_and(|t| t.contains_key(name));
    let command = if dir.join("uv.lock").is_file() || has_tool("uv") {
        "pipx install uv\nuv run pytest"
    } else if dir.join("poetry.lock").is_file() || has_tool("poetry") {
        "pipx install poetry\npoetry install\npoetry run pytest"
    } else {
        "python -m pip install . pytest\npython -m pytest"
    };
    Some(Detected {
        command: command.to_owned(),
        from: "pyproject.toml",
    })
}

fn go(dir: &Path) -> Option<Detected> {
    if !dir.join("go.mod").is_file() {
        return None;
    }
    Some(Detected {
        command: "go test ./...".to_owned(),
        from: "go.mod",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        dir
    }

    fn detected(files: &[(&str, &str)]) -> Option<(String, &'static str)> {
        let dir = project(files);
        test_command(dir.path()).map(|d| (d.command, d.from))
    }

    #[test]
    fn node_projects_use_their_test_script_and_install_from_the_lock_file() {
        let pkg = r#"{"name": "web", "scripts": {"test": "vitest run", "build": "vite build"}}"#;
        assert_eq!(
            detected(&[("package.json", pkg), ("package-lock.json", "{}")]),
            Some(("npm ci\nnpm test".to_owned(), "package.json"))
        );
        assert_eq!(
            detected(&[("package.json", pkg)]),
            Some(("npm install\nnpm test".to_owned(), "package.json"))
        );
    }

    #[test]
    fn a_package_json_without_a_real_test_script_says_nothing() {
        let placeholder = r#"{"scripts": {"test": "echo \"Error: no test specified\" && exit 1"}}"#;
        assert_eq!(detected(&[("package.json", placeholder)]), None);
        assert_eq!(detected(&[("package.json", r#"{"scripts": {}}"#)]), None);
        assert_eq!(detected(&[("package.json", "not json")]), None);
    }

    #[test]
    fn rust_projects_test_the_workspace_against_their_lock_file() {
        let crate_toml = "[package]\nname = \"x\"\nversion = \"0.1.0\"\n";
        assert_eq!(
            detected(&[("Cargo.toml", crate_toml)]),
            Some(("cargo test".to_owned(), "Cargo.toml"))
        );
        let workspace = "[workspace]\nmembers = [\"a\"]\n";
        assert_eq!(
            detected(&[("Cargo.toml", workspace), ("Cargo.lock", "")]),
            Some(("cargo test --workspace --locked".to_owned(), "Cargo.toml"))
        );
    }

    #[test]
    fn python_projects_use_their_package_manager() {
        let plain = "[project]\nname = \"x\"\n";
        assert_eq!(
            detected(&[("pyproject.toml", plain)]),
            Some((
                "python -m pip install . pytest\npython -m pytest".to_owned(),
                "pyproject.toml"
            ))
        );
        assert_eq!(
            detected(&[("pyproject.toml", plain), ("uv.lock", "")]),
            Some((
                "pipx install uv\nuv run pytest".to_owned(),
                "pyproject.toml"
            ))
        );
        let poetry = "[tool.poetry]\nname = \"x\"\n";
        assert_eq!(
            detected(&[("pyproject.toml", poetry)]).map(|d| d.0),
            Some("pipx install poetry\npoetry install\npoetry run pytest".to_owned())
        );
    }

    #[test]
    fn go_modules_test_every_package() {
        assert_eq!(
            detected(&[("go.mod", "module example.com/x\n")]),
            Some(("go test ./...".to_owned(), "go.mod"))
        );
    }

    #[test]
    fn an_empty_folder_has_no_test_command() {
        assert_eq!(detected(&[]), None);
    }
}
