//! How bgw speaks to a person: `error:` and `hint:` lines on stderr, data on stdout.

use std::io::IsTerminal;

use crate::store::StoreError;

/// A failure of a command, with what to do about it.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub hint: Option<String>,
    pub code: u8,
}

impl CliError {
    /// An error with exit code 2.
    pub fn new(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            hint: None,
            code: 2,
        }
    }

    /// Adds a hint line.
    pub fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the exit code.
    pub fn code(mut self, code: u8) -> CliError {
        self.code = code;
        self
    }

    /// Writes the error (and hint) to stderr, in colour only on a terminal without `NO_COLOR`.
    pub fn print(&self) {
        let color = use_color();
        let (red, cyan, bold, reset) = if color {
            ("\x1b[31m", "\x1b[36m", "\x1b[1m", "\x1b[0m")
        } else {
            ("", "", "", "")
        };
        eprintln!("{red}{bold}error{reset}: {}", self.message);
        if let Some(h) = &self.hint {
            eprintln!("{cyan}{bold}hint{reset}: {h}");
        }
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        CliError::new(e.to_string())
    }
}

/// Writes `text` to stdout. A reader that went away (`bgw models | head`) is not a failure:
/// it becomes an error with code 0 and no message, which `main` turns into a quiet success.
pub fn emit(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                CliError::new("").code(0)
            } else {
                CliError::new(format!("cannot write to standard output: {e}"))
            }
        })
}

/// Colour only for a terminal, and never with `NO_COLOR` set.
pub fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// A warning line on stderr.
pub fn warn(message: &str) {
    if use_color() {
        eprintln!("\x1b[33m\x1b[1mwarning\x1b[0m: {message}");
    } else {
        eprintln!("warning: {message}");
    }
}

/// Renders rows as aligned columns.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = widths[i] - cell.chars().count() + 2;
                out.push_str(&" ".repeat(pad));
            }
        }
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = table(&["A", "LONG"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "A    LONG\nxyz  1\n");
    }
}
