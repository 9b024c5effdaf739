//! The checked-in shell completions (`completions/`: clap_complete's dynamic registration
//! scripts, see [`super::complete`]) and man pages (`man/`, clap_mangen), made from the clap
//! definitions by clap's own generators; `cargo run --example generate_docs` refreshes both, and
//! tests/generated_docs.rs fails when the checked-in files differ from what this makes.
//!
//! The man pages add what clap does not know: each command's examples, taken from the README
//! (every `bgw …` line of a `sh` block and every `bgw …` code span that parses as a command
//! line), and on `bgw.1` the environment, the files and the exit status.

use std::io;
use std::path::Path;

use clap::{ArgMatches, CommandFactory, ValueEnum};
use clap_complete::Shell;

use super::Cli;
use crate::store::{SOCKET_NAME, file::FILE_NAME};

/// The file name each shell's script gets in `completions/`.
pub fn completion_file_name(shell: Shell) -> String {
    clap_complete::Generator::file_name(&shell, "bgw")
}

/// The completion script for `shell`: clap's dynamic registration, which asks `bgw` for the
/// candidates at each TAB (so stored names complete too; see [`super::complete`]).
pub fn completion(shell: Shell) -> Vec<u8> {
    super::complete::registration(shell)
}

/// One example command line from the README, with the comment that followed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The command line as the README spells it.
    pub line: String,
    /// The `# comment` after it in a shell block, if any.
    pub note: Option<String>,
    /// The subcommands it runs (`["keys", "add"]`).
    pub path: Vec<String>,
}

/// Every `bgw …` command line in `readme` that parses as one, in order, without repeats; and
/// those of the first shell block under "## Quick start" (`bgw.1`'s examples).
pub fn readme_examples(readme: &str) -> (Vec<Example>, Vec<Example>) {
    let mut all: Vec<Example> = Vec::new();
    let mut first_block: Vec<Example> = Vec::new();
    let mut in_block = false;
    let mut block_is_shell = false;
    let mut this_block: Vec<Example> = Vec::new();
    let mut prose = String::new();
    let mut heading = "";
    let push = |all: &mut Vec<Example>, e: Example| {
        if !all.iter().any(|x| x.line == e.line) {
            all.push(e);
        }
    };
    for line in readme.lines() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            if in_block {
                if first_block.is_empty() && heading == "Quick start" {
                    first_block = this_block.clone();
                }
                this_block.clear();
            } else {
                block_is_shell = info.trim() == "sh";
            }
            in_block = !in_block;
            continue;
        }
        if in_block {
            if block_is_shell && trimmed.starts_with("bgw ") {
                let (command, note) = split_comment(trimmed);
                if let Some(e) = example(command, note) {
                    this_block.push(e.clone());
                    push(&mut all, e);
                }
            }
            continue;
        }
        if let Some(title) = line.strip_prefix("## ") {
            heading = title.trim();
        }
        prose.push_str(line);
        prose.push('\n');
    }
    // Code spans in the prose: `…`, possibly across a line break.
    let mut parts = prose.split('`');
    parts.next();
    while let Some(span) = parts.next() {
        let span = span.replace('\n', " ");
        if span.starts_with("bgw ") {
            if let Some(e) = example(span.trim(), None) {
                push(&mut all, e);
            }
        }
        parts.next();
    }
    (all, first_block)
}

/// `bgw keys add x   # note` → (`bgw keys add x`, `note`), leaving a `#` inside quotes alone.
fn split_comment(line: &str) -> (&str, Option<String>) {
    let mut quote = None;
    let mut prev_space = false;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev_space => {
                let note = line[i + 1..].trim();
                return (line[..i].trim_end(), Some(note.to_owned()));
            }
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    (line.trim_end(), None)
}

/// The example `command` is, if clap accepts it and it holds no placeholder (`NAME`, `ID`, `…`).
fn example(command: &str, note: Option<String>) -> Option<Example> {
    let mut words = shell_words(command)?;
    // What follows a redirection or a pipe is the shell's, not bgw's.
    if let Some(end) = words
        .iter()
        .position(|w| w.starts_with(['>', '<', '|', '&', ';']))
    {
        words.truncate(end);
    }
    let placeholder = |w: &String| {
        w.contains('…') || (w.len() >= 2 && w.chars().all(|c| c.is_ascii_uppercase() || c == '/'))
    };
    if words.iter().any(placeholder) {
        return None;
    }
    let matches = without_env(Cli::command())
        .try_get_matches_from(&words)
        .ok()?;
    Some(Example {
        line: command.to_owned(),
        note,
        path: subcommand_path(&matches),
    })
}

/// `cmd` with no argument read from the environment, so a `BGW_PORT` set where the pages are
/// made cannot change which examples parse.
fn without_env(cmd: clap::Command) -> clap::Command {
    let mut cmd = cmd.mut_args(|a| a.env(None::<&'static str>));
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, without_env);
    }
    cmd
}

/// A command line's words, as sh splits them (quotes, no expansions); None if a quote is open.
fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (_, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    quote.is_none().then_some(words)
}

fn subcommand_path(matches: &ArgMatches) -> Vec<String> {
    let mut path = Vec::new();
    let mut m = matches;
    while let Some((name, sub)) = m.subcommand() {
        path.push(name.to_owned());
        m = sub;
    }
    path
}

/// The man pages, as (file name, bytes): `bgw.1` and one per visible subcommand, nested ones too.
pub fn man_pages(readme: &str) -> io::Result<Vec<(String, Vec<u8>)>> {
    let (examples, first_block) = readme_examples(readme);
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    page(&cmd, &[], &examples, &first_block, &mut pages)?;
    Ok(pages)
}

fn page(
    cmd: &clap::Command,
    path: &[String],
    examples: &[Example],
    first_block: &[Example],
    pages: &mut Vec<(String, Vec<u8>)>,
) -> io::Result<()> {
    // The footer names bgw and its version, not the last word of the command.
    let man = clap_mangen::Man::new(cmd.clone())
        .source(format!("bgw {}", env!("CARGO_PKG_VERSION")))
        .manual("bgw Manual");
    let mut out = Vec::new();
    man.render(&mut out)?;
    let mine: Vec<&Example> = if path.is_empty() {
        first_block.iter().collect()
    } else {
        examples.iter().filter(|e| e.path == path).collect()
    };
    if !mine.is_empty() {
        out.extend_from_slice(b".SH EXAMPLES\n");
        for e in mine {
            // No filling: a command line is shown as typed.
            out.extend_from_slice(format!(".PP\n.nf\n\\fB{}\\fR\n.fi\n", roff(&e.line)).as_bytes());
            if let Some(note) = &e.note {
                out.extend_from_slice(format!(".RS 4\n{}\n.RE\n", roff(note)).as_bytes());
            }
        }
    }
    if path.is_empty() {
        out.extend_from_slice(top_sections().as_bytes());
    }
    pages.push((man.get_filename(), out));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let mut sub_path = path.to_vec();
        sub_path.push(sub.get_name().to_owned());
        page(sub, &sub_path, examples, first_block, pages)?;
    }
    Ok(())
}

/// Text as one roff line: backslashes and dashes escaped, never read as a request.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// (name, what it does) for the variables bgw reads.
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "BGW_DATA_DIR",
        "Where bgw keeps its state, as --data-dir (see FILES).",
    ),
    (
        "BGW_HOST, BGW_PORT",
        "bgw serve's address, as --host and --port.",
    ),
    (
        "BGW_MAX_BODY_MB, BGW_UPSTREAM_TIMEOUT, BGW_FIRST_BYTE_TIMEOUT, BGW_MAX_ATTEMPTS",
        "The gateway options of bgw run and bgw serve, as the flags of the same names.",
    ),
    (
        "BGW_NO_CONTENT, BGW_NO_LOG",
        "bgw serve logs rows without the request and response, or nothing, as --no-content and --no-log.",
    ),
    (
        "BGW_CLAUDE_BIN",
        "The Claude Code executable bgw run launches [default: claude from PATH].",
    ),
    (
        "BGW_WORKER_THREADS",
        "The gateway's threads (bgw serve: the cores, at most 4; bgw run: 0, everything on one thread).",
    ),
    (
        "BGW_INSTALL_URL",
        "Where bgw self-update looks for releases (a mirror, a local copy).",
    ),
    (
        "XDG_CONFIG_HOME",
        "Holds bgw/install.json, the installer's receipt that bgw self-update reads [default: ~/.config].",
    ),
    (
        "NO_COLOR, COLUMNS",
        "No colours when NO_COLOR is set; the width of the bgw logs table when stdout is not a terminal.",
    ),
    (
        "COMPLETE",
        "Set by the completion scripts (bgw completions) when they ask bgw for candidates; bgw then prints them and exits.",
    ),
    (
        "a key's variable",
        "A key added with --env VAR is read from VAR each time it is needed; only the name is stored.",
    ),
    (
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, AWS_REGION, AWS_DEFAULT_REGION, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, AWS_BEARER_TOKEN_BEDROCK",
        "Bedrock's credentials and region, read as the AWS CLI reads them when the bedrock key names none.",
    ),
    (
        "GOOGLE_APPLICATION_CREDENTIALS, CLOUDSDK_CONFIG",
        "Vertex AI's application-default credentials when the vertex key holds no service account key.",
    ),
    (
        "ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN, CLAUDE_CODE_OAUTH_TOKEN, CLAUDE_CONFIG_DIR",
        "bgw run checks these (and the Claude login under CLAUDE_CONFIG_DIR) for a Claude credential of your own.",
    ),
    (
        "ANTHROPIC_CUSTOM_HEADERS",
        "bgw run keeps your own headers and adds its session header to them.",
    ),
];

/// ENVIRONMENT, FILES and EXIT STATUS, for `bgw.1`.
fn top_sections() -> String {
    let mut s = String::from(".SH ENVIRONMENT\n");
    for (name, what) in ENVIRONMENT {
        s.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(name), roff(what)));
    }
    let files: [(String, &str); 4] = [
        (
            "$XDG_DATA_HOME/bgw/ or ~/.local/share/bgw/ (Linux), ~/Library/Application Support/bgw/ (macOS)".to_owned(),
            "The data dir (--data-dir, BGW_DATA_DIR), mode 0700.",
        ),
        (
            format!("DATA_DIR/{FILE_NAME}"),
            "The store, mode 0600: provider keys (those given with --value, --stdin or --file; \
             --env stores only the variable's name), virtual keys' hashes, budgets and their \
             ledger, routing rules, prices, the request log, and the key that signs thinking \
             blocks bgw makes.",
        ),
        (
            format!("DATA_DIR/{SOCKET_NAME}"),
            "The socket of the store's owner (bgw store-owner), the one process that holds the \
             store open and serves every other bgw process; started by bgw when needed.",
        ),
        (
            "~/.config/bgw/install.json".to_owned(),
            "install.sh's receipt: where it put bgw and from which release location, for bgw self-update.",
        ),
    ];
    s.push_str(".SH FILES\n");
    for (name, what) in &files {
        s.push_str(&format!(".TP\n\\fI{}\\fR\n{}\n", roff(name), roff(what)));
    }
    let codes: [(&str, &str); 4] = [
        ("0", "Success."),
        (
            "1",
            "What the command names does not exist (no key, virtual key, rule or budget by that name).",
        ),
        (
            "2",
            "Any other failure: a usage error, a refused value, the store unreachable; the message says what to do.",
        ),
        (
            "bgw run",
            "Exits with Claude Code's exit code (128 + the signal's number if a signal ended it).",
        ),
    ];
    s.push_str(".SH \"EXIT STATUS\"\n");
    for (code, what) in codes {
        s.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(code), roff(what)));
    }
    s
}

/// Writes `root/completions/` (every shell) and `root/man/` (every page) afresh.
pub fn write_all(root: &Path, readme: &str) -> io::Result<()> {
    let completions = root.join("completions");
    std::fs::create_dir_all(&completions)?;
    for shell in Shell::value_variants() {
        std::fs::write(
            completions.join(completion_file_name(*shell)),
            completion(*shell),
        )?;
    }
    let man = root.join("man");
    std::fs::create_dir_all(&man)?;
    for (name, bytes) in man_pages(readme)? {
        std::fs::write(man.join(name), bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shell_block_line_keeps_its_comment_and_lands_on_its_command() {
        let readme = "## Quick start\n```sh\nbgw keys add openai --env OPENAI_API_KEY   # reads the variable\n```\n";
        let (all, first) = readme_examples(readme);
        assert_eq!(
            all,
            [Example {
                line: "bgw keys add openai --env OPENAI_API_KEY".into(),
                note: Some("reads the variable".into()),
                path: vec!["keys".into(), "add".into()],
            }]
        );
        assert_eq!(first, all);
    }

    #[test]
    fn code_spans_count_when_they_parse_and_hold_no_placeholder() {
        let readme = "Try `bgw logs --team eng` or `bgw logs stats\n--by customer`, not `bgw logs show ID`, \
                      `bgw nonsense`, or `bgw run [--model M]`.\n";
        let (all, first) = readme_examples(readme);
        let lines: Vec<&str> = all.iter().map(|e| e.line.as_str()).collect();
        assert_eq!(
            lines,
            ["bgw logs --team eng", "bgw logs stats --by customer"]
        );
        assert_eq!(all[1].path, ["logs", "stats"]);
        assert!(first.is_empty());
    }

    #[test]
    fn a_redirection_ends_the_command_but_stays_in_the_example() {
        let readme = "```sh\nbgw completions fish > ~/.config/fish/completions/bgw.fish\n```\n";
        let (all, _) = readme_examples(readme);
        assert_eq!(all.len(), 1);
        assert_eq!(
            all[0].line,
            "bgw completions fish > ~/.config/fish/completions/bgw.fish"
        );
        assert_eq!(all[0].path, ["completions"]);
    }

    #[test]
    fn examples_are_parsed_without_reading_the_environment() {
        let mut cmd = without_env(Cli::command());
        cmd.build();
        let serve = cmd.find_subcommand("serve").unwrap();
        let port = serve
            .get_arguments()
            .find(|a| a.get_id() == "port")
            .unwrap();
        assert_eq!(port.get_env(), None);
        let show = cmd
            .find_subcommand("logs")
            .and_then(|l| l.find_subcommand("show"))
            .unwrap();
        let data_dir = show
            .get_arguments()
            .find(|a| a.get_id() == "data_dir")
            .unwrap();
        assert_eq!(data_dir.get_env(), None);
        // Unchanged, the same definitions do read it.
        let mut with_env = Cli::command();
        with_env.build();
        let serve = with_env.find_subcommand("serve").unwrap();
        let port = serve
            .get_arguments()
            .find(|a| a.get_id() == "port")
            .unwrap();
        assert_eq!(port.get_env(), Some(std::ffi::OsStr::new("BGW_PORT")));
    }

    #[test]
    fn a_hash_inside_quotes_is_not_a_comment() {
        assert_eq!(
            split_comment("bgw route add x --when 'a # b' --to m # note"),
            ("bgw route add x --when 'a # b' --to m", Some("note".into()))
        );
    }

    #[test]
    fn roff_text_escapes_dashes_backslashes_and_a_leading_dot() {
        assert_eq!(roff(".a-b\\c"), "\\&.a\\-b\\ec");
    }
}
