//! The command line: clap definitions and dispatch, one file per subcommand.

pub mod budget;
pub mod claude_settings;
pub mod complete;
pub mod completions;
pub mod doctor;
pub mod format;
pub mod generate;
pub mod keys;
pub mod logs;
pub mod models;
pub mod output;
pub mod route;
pub mod run;
pub mod self_update;
pub mod serve;
pub mod virtual_keys;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::store::{Store, default_data_dir};
pub use output::CliError;

/// bgw lets Claude Code use any model from any provider.
#[derive(Debug, Parser)]
#[command(name = "bgw", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Where bgw keeps its state (one redb file) [default: the platform data directory]
    #[arg(long, global = true, env = "BGW_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a gateway and launch Claude Code through it; exits when Claude Code does
    Run(run::RunArgs),
    /// Run the gateway for any Anthropic Messages client
    Serve(serve::ServeArgs),
    /// Add, list and remove provider keys
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// List the models each configured provider offers
    Models(models::ModelsArgs),
    /// Routing rules: where requests go by a CEL condition, weighted splits, fallbacks
    #[command(subcommand)]
    Route(route::RouteCommand),
    /// Budgets and rate limits per virtual key, team, customer, provider or in all
    Budget(budget::BudgetArgs),
    /// Show the request log: every request, its provider, tokens, cost
    Logs(logs::LogsArgs),
    /// Check this setup: data dir, store, each key against its provider, Claude Code, prices
    Doctor(doctor::DoctorArgs),
    /// Replace this bgw with the newest release (sha256 checked), if install.sh installed it
    SelfUpdate(self_update::SelfUpdateArgs),
    /// Print the completion script for bash, zsh, fish, powershell or elvish
    Completions(completions::CompletionsArgs),
    /// Hold the store file and serve other bgw processes (started by bgw itself when needed)
    #[command(hide = true)]
    StoreOwner,
}

/// Parses the command line, runs the command, and turns failures into one clear message.
pub fn main() -> ExitCode {
    complete::respond_if_asked();
    let cli = Cli::parse();
    let dir = cli.data_dir.clone().unwrap_or_else(default_data_dir);
    // Other processes start this same executable to own the store when none does.
    let store = match std::env::current_exe() {
        Ok(exe) => Store::shared(dir, exe),
        Err(_) => Store::new(dir),
    };
    let result = match cli.command {
        Command::Run(args) => run::run(&store, args),
        Command::Serve(args) => serve::run(&store, args),
        Command::Keys(cmd) => keys::run(&store, cmd),
        Command::Models(args) => models::run(&store, args),
        Command::Route(cmd) => route::run(&store, cmd),
        Command::Budget(args) => budget::run(&store, args),
        Command::Logs(args) => logs::run(&store, args),
        Command::Doctor(args) => doctor::run(&store, args),
        Command::SelfUpdate(args) => self_update::run(args),
        Command::Completions(args) => completions::run(args),
        Command::StoreOwner => crate::store::owner::run(store.dir(), crate::store::owner::IDLE)
            .map(|_| ExitCode::SUCCESS)
            .map_err(CliError::from),
    };
    match result {
        Ok(code) => code,
        // The reader of stdout went away (`| head`): nothing more to say.
        Err(e) if e.code == 0 => ExitCode::SUCCESS,
        Err(e) => {
            e.print();
            ExitCode::from(e.code)
        }
    }
}

/// The async runtime: `workers` threads (0: everything on the calling thread), unless
/// `BGW_WORKER_THREADS` says otherwise.
pub fn runtime(workers: usize) -> Result<tokio::runtime::Runtime, CliError> {
    let workers = std::env::var("BGW_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(workers);
    let mut builder = if workers == 0 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(workers);
        b
    };
    builder
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))
}

/// Threads for a shared gateway: the cores, at most 4.
pub fn shared_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(4))
}
