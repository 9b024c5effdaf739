//! The `bgw` command.

fn main() -> std::process::ExitCode {
    bgw::cli::main()
}
