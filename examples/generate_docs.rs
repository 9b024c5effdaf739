//! Refreshes the checked-in `completions/` and `man/` from the clap definitions and the README:
//! `cargo run --example generate_docs`.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let written = std::fs::read_to_string(root.join("README.md"))
        .and_then(|readme| bgw::cli::generate::write_all(root, &readme));
    match written {
        Ok(()) => {
            println!(
                "wrote {} and {}",
                root.join("completions").display(),
                root.join("man").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write completions/ and man/: {e}");
            ExitCode::from(2)
        }
    }
}
