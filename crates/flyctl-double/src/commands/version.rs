//! `flyctl version [--json]`: needs no token; `--json` is compact, unlike every other command.

use crate::Failure;
use crate::context::Ctx;
use crate::gojson::{J, obj};
use crate::output;

const COMMIT: &str = "ad0172fac";
const BUILD_DATE: &str = "2026-08-20T18:00:00Z";

pub fn run(ctx: &Ctx) -> Result<(), Failure> {
    if let Some(word) = ctx.flags.positionals.first() {
        return Err(
            Failure::new(format!("unknown command \"{word}\" for \"flyctl version\""))
                .with_stdout_hint("Run 'flyctl version --help' for usage.".to_owned()),
        );
    }
    let state = ctx.store.load()?;
    let version = state.flyctl_version();
    // Go's runtime.GOOS/GOARCH names for the platform the double was built for.
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let os = std::env::consts::OS;
    if ctx.json() {
        let info = obj([
            ("Name", J::from(&ctx.program)),
            ("Version", J::from(version)),
            ("Commit", J::from(COMMIT)),
            ("BranchName", J::from("")),
            ("BuildDate", J::from(BUILD_DATE)),
            ("OS", J::from(os)),
            ("Architecture", J::from(arch)),
            ("Environment", J::from("production")),
        ]);
        output::json(&(info.compact() + "\n"), state.is_malformed("version"));
    } else {
        // buildinfo's String(): the executable's own name, then the version with a `v`.
        output::out_line(&format!(
            "{} v{version} {os}/{arch} Commit: {COMMIT} BuildDate: {BUILD_DATE}",
            ctx.program
        ));
    }
    Ok(())
}
