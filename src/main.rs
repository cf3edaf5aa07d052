//! The `shipit` executable: parse arguments, hand them to the library, exit with its code.

use std::process::ExitCode;

fn main() -> ExitCode {
    shipit::run(std::env::args_os())
}
