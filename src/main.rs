//! The `dhan_scalper` binary: parse, run, map the error to its exit code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = dhan_scalper::cli::Cli::parse();
    match dhan_scalper::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(e.code as u8)
        }
    }
}
