//! The `bgw` command.

/// The static release's allocator (see Cargo.toml: musl's own is slow under load).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    bgw::cli::main()
}
