//! Finds the top-level `"model"` of a request without parsing the rest.
//!
//! Routing needs only the model, and Claude Code writes it first: reading one key
//! instead of the whole ~50 KB body is most of the cost of an Anthropic passthrough.
//! Values before it are skipped by their brackets and quotes; anything unusual
//! returns `None` and the caller parses the body properly (for its error message).

/// The byte range of the `model` value (a JSON string, quotes included).
pub fn model_span(body: &[u8]) -> Option<(usize, usize)> {
    let mut s = Scanner { b: body, i: 0 };
    s.ws();
    s.eat(b'{')?;
    loop {
        s.ws();
        let key = s.string()?;
        s.ws();
        s.eat(b':')?;
        s.ws();
        if &body[key.0..key.1] == b"\"model\"" {
            let value = s.string()?;
            return Some(value);
        }
        s.value()?;
        s.ws();
        match s.next()? {
            b',' => continue,
            _ => return None,
        }
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn next(&mut self) -> Option<u8> {
        let c = *self.b.get(self.i)?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// A string token; its range with quotes.
    fn string(&mut self) -> Option<(usize, usize)> {
        let start = self.i;
        self.eat(b'"')?;
        loop {
            let rest = self.b.get(self.i..)?;
            let at = rest.iter().position(|&c| c == b'"' || c == b'\\')?;
            self.i += at;
            if self.next()? == b'"' {
                return Some((start, self.i));
            }
            self.next()?;
        }
    }

    /// Any value: strings by their quotes, containers by their brackets.
    fn value(&mut self) -> Option<()> {
        match *self.b.get(self.i)? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match *self.b.get(self.i)? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                let rest = self.b.get(self.i..)?;
                let len = rest
                    .iter()
                    .position(|c| matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))?;
                (len > 0).then(|| self.i += len)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(body: &str) -> Option<&str> {
        model_span(body.as_bytes()).map(|(a, b)| &body[a..b])
    }

    #[test]
    fn finds_the_model_first_or_after_other_keys() {
        assert_eq!(
            model(r#"{"model":"claude-x","messages":[]}"#),
            Some(r#""claude-x""#)
        );
        assert_eq!(
            model(
                r#" { "stream" : true, "messages": [{"content":"a \"model\": \"no\" ]}"}], "n": -1.5e3, "model" : "openai/gpt-5" }"#
            ),
            Some(r#""openai/gpt-5""#)
        );
        assert_eq!(model(r#"{"model":"a\"b\\"}"#), Some(r#""a\"b\\""#));
    }

    #[test]
    fn gives_up_on_what_is_not_plain() {
        assert_eq!(model(r#"{"messages":[]}"#), None);
        assert_eq!(model(r#"{"model":5}"#), None);
        assert_eq!(model(r#"{"model":"unterminated"#), None);
        assert_eq!(model(r#"["model"]"#), None);
        assert_eq!(model(r#"{"x":[[]"#), None);
        assert_eq!(model(""), None);
    }
}
