//! The `bgw logs` table: one line per request, fitted to the terminal's width.
//!
//! Every column but the model keeps its natural width; the model (`provider/upstream model`)
//! takes what is left and is cut with `…`, so a line never wraps. Colour, when on, is added
//! after padding, so it never changes the layout.

use crate::cli::format::{secs, thousands, truncate, usd};
use crate::store::logs::LogRow;

use super::time;

/// The columns, in order.
const HEADER: [&str; 8] = [
    "TIME UTC", "ID", "MODEL", "STATUS", "IN", "OUT", "COST", "LATENCY",
];
/// The model column's index.
const MODEL: usize = 2;
/// Columns aligned to the right (numbers).
const RIGHT: [bool; 8] = [false, false, false, false, true, true, true, true];
/// The gap between columns.
const GAP: usize = 2;
/// Characters of the id shown: the first 10 are only the start millisecond, two more tell
/// requests of one millisecond apart. `bgw logs show` takes any prefix.
pub const SHORT_ID: usize = 12;
/// The model column never shrinks below this.
const MIN_MODEL: usize = 16;
/// Columns left out, in this order, while the rest would leave the model less than
/// [`MIN_MODEL`]: latency, tokens, cost, status. Time, id and model always stay.
const DROP_ORDER: [usize; 5] = [7, 5, 4, 6, 3];

/// A row's cells, plain, with what colours them.
#[derive(Debug, Clone, PartialEq)]
pub struct Cells {
    pub text: [String; 8],
    /// The request failed: its status shows in red.
    pub failed: bool,
    /// Answered, but the model has no known price: its cost (`?`) shows in yellow.
    pub unpriced: bool,
}

impl Cells {
    /// The cells of `row`, with times relative to the day of `now_ms`.
    pub fn of(row: &LogRow, now_ms: u64) -> Cells {
        let failed = row.failed();
        let unpriced = row.cost.is_none() && !failed;
        let status = if row.status < 400 && row.error.is_some() {
            // The stream began (200) and broke off later.
            "err".to_owned()
        } else {
            row.status.to_string()
        };
        let cost = match row.cost {
            Some(c) => usd(c),
            None if unpriced => "?".to_owned(),
            None => "-".to_owned(),
        };
        let latency = format!(
            "{}/{}",
            row.first_byte_us.map_or_else(|| "-".to_owned(), secs),
            secs(row.total_us)
        );
        Cells {
            text: [
                time::short(row.id.time_ms(), now_ms),
                row.id.to_string().chars().take(SHORT_ID).collect(),
                model_of(row),
                status,
                thousands(row.usage.total_input()),
                thousands(row.usage.output_tokens),
                cost,
                latency,
            ],
            failed,
            unpriced,
        }
    }
}

/// `provider/upstream model`, or the model asked for when no provider was chosen.
pub fn model_of(row: &LogRow) -> String {
    if row.provider.is_empty() {
        row.requested_model.clone()
    } else {
        format!("{}/{}", row.provider, row.upstream_model)
    }
}

/// Column widths.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    widths: [usize; 8],
    shown: [bool; 8],
}

impl Layout {
    /// Widths that hold `rows` within `width` characters, cutting only the model.
    pub fn fit(rows: &[Cells], width: usize) -> Layout {
        let mut widths = HEADER.map(|h| h.chars().count());
        for r in rows {
            for (w, cell) in widths.iter_mut().zip(&r.text) {
                *w = (*w).max(cell.chars().count());
            }
        }
        Layout::squeeze(widths, width)
    }

    /// Widths for rows not seen yet (`--follow`): room for typical values, the model taking
    /// the rest (up to 48).
    pub fn open(width: usize) -> Layout {
        let typical = [11, SHORT_ID, 48, 6, 9, 7, 8, 11];
        let widths: [usize; 8] = std::array::from_fn(|i| typical[i].max(HEADER[i].len()));
        Layout::squeeze(widths, width)
    }

    fn squeeze(mut widths: [usize; 8], width: usize) -> Layout {
        let mut shown = [true; 8];
        let others = |shown: &[bool; 8], widths: &[usize; 8]| -> usize {
            (0..8)
                .filter(|&i| i != MODEL && shown[i])
                .map(|i| widths[i] + GAP)
                .sum()
        };
        // On a narrow terminal, columns go (latency first) before the model gets unreadable.
        for drop in DROP_ORDER {
            if others(&shown, &widths) + MIN_MODEL <= width {
                break;
            }
            shown[drop] = false;
        }
        let room = width.saturating_sub(others(&shown, &widths)).max(MIN_MODEL);
        widths[MODEL] = widths[MODEL].min(room);
        Layout { widths, shown }
    }

    /// The header line.
    pub fn header(&self) -> String {
        self.line_of(&HEADER.map(str::to_owned), |_, s| s)
    }

    /// One row's line; `color` adds red for failures and yellow for an unknown price.
    pub fn line(&self, cells: &Cells, color: bool) -> String {
        self.line_of(&cells.text, |i, s| match i {
            3 if color && cells.failed => format!("\x1b[31m{s}\x1b[0m"),
            6 if color && cells.unpriced => format!("\x1b[33m{s}\x1b[0m"),
            _ => s,
        })
    }

    fn line_of(&self, text: &[String; 8], paint: impl Fn(usize, String) -> String) -> String {
        let mut out = String::new();
        let last = (0..8).rev().find(|&i| self.shown[i]).unwrap_or(0);
        for (i, cell) in text.iter().enumerate() {
            if !self.shown[i] {
                continue;
            }
            let w = self.widths[i];
            let cell = truncate(cell, w);
            let pad = " ".repeat(w.saturating_sub(cell.chars().count()));
            let padded = if RIGHT[i] {
                format!("{pad}{}", paint(i, cell))
            } else if i == last {
                paint(i, cell)
            } else {
                format!("{}{pad}", paint(i, cell))
            };
            if i > 0 {
                out.push_str(&" ".repeat(GAP));
            }
            out.push_str(&padded);
        }
        out.truncate(out.trim_end().len());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::Usage;
    use crate::store::logs::{LoggedError, RequestId};

    fn row(model: &str, status: u16, cost: Option<f64>) -> LogRow {
        LogRow {
            id: RequestId::parse("01KAVQ2Z8R4N6Y0C7W3E5T9B1H").unwrap_or(RequestId(0)),
            run: "run".into(),
            session: None,
            caller: None,
            requested_model: model.into(),
            provider: "groq".into(),
            upstream_model: model.into(),
            key: Some("groq".into()),
            status,
            error: None,
            stream: false,
            usage: Usage {
                cache_creation: None,
                input_tokens: 1000,
                output_tokens: 52,
                cache_read_input_tokens: 234,
                cache_creation_input_tokens: 0,
            },
            cost,
            first_byte_us: Some(410_000),
            total_us: 2_300_000,
            attempts: Vec::new(),
            rule: None,
            rule_errors: Vec::new(),
            has_content: true,
        }
    }

    #[test]
    fn a_row_shows_tokens_cost_and_latency() {
        let c = Cells::of(&row("llama-3.3-70b-versatile", 200, Some(0.0012)), 0);
        assert_eq!(c.text[1], "01KAVQ2Z8R4N");
        assert_eq!(c.text[2], "groq/llama-3.3-70b-versatile");
        assert_eq!(
            c.text[3..].to_vec(),
            ["200", "1,234", "52", "$0.0012", "0.41s/2.3s"]
        );
    }

    #[test]
    fn unknown_prices_and_broken_streams_are_marked() {
        let c = Cells::of(&row("mystery", 200, None), 0);
        assert_eq!((c.text[6].as_str(), c.unpriced), ("?", true));
        let mut broken = row("mystery", 200, None);
        broken.error = Some(LoggedError {
            kind: "api_error".into(),
            message: "cut".into(),
        });
        let c = Cells::of(&broken, 0);
        assert_eq!((c.text[3].as_str(), c.text[6].as_str()), ("err", "-"));
        assert!(c.failed && !c.unpriced);
    }

    #[test]
    fn the_model_is_cut_to_fit_and_lines_never_exceed_the_width() {
        let cells = vec![Cells::of(&row("llama-3.3-70b-versatile", 429, None), 0)];
        let wide = Layout::fit(&cells, 200);
        assert!(
            wide.line(&cells[0], false)
                .contains("groq/llama-3.3-70b-versatile")
        );
        let narrow = Layout::fit(&cells, 90);
        let line = narrow.line(&cells[0], false);
        assert!(line.chars().count() <= 90, "{line}");
        assert!(line.contains("  groq/llama-3.3-70b-versa…  429"), "{line}");
        assert!(
            narrow.header().starts_with("TIME UTC     ID"),
            "{}",
            narrow.header()
        );
    }

    #[test]
    fn a_narrow_terminal_loses_latency_then_tokens_before_the_model() {
        let cells = vec![Cells::of(
            &row("llama-3.3-70b-versatile", 200, Some(0.5)),
            0,
        )];
        let header = |width| Layout::fit(&cells, width).header();
        assert!(header(100).ends_with("LATENCY"));
        assert_eq!(
            header(72).split_whitespace().collect::<Vec<_>>(),
            ["TIME", "UTC", "ID", "MODEL", "STATUS", "IN", "OUT", "COST"]
        );
        assert_eq!(
            header(50).split_whitespace().collect::<Vec<_>>(),
            ["TIME", "UTC", "ID", "MODEL"]
        );
        for width in [50, 60, 72, 80] {
            let line = Layout::fit(&cells, width).line(&cells[0], false);
            assert!(line.chars().count() <= width, "{width}: {line}");
        }
    }

    #[test]
    fn colour_does_not_move_columns() {
        let cells = vec![Cells::of(&row("m", 500, None), 0)];
        let layout = Layout::fit(&cells, 100);
        let plain = layout.line(&cells[0], false);
        let coloured = layout.line(&cells[0], true);
        assert_eq!(
            coloured.replace("\x1b[31m", "").replace("\x1b[0m", ""),
            plain
        );
    }
}
