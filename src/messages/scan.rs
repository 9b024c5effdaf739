//! Finds places in a request body without parsing it: the top-level `"model"`, and the
//! elements of its top-level arrays.
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
        let key = s.key()?;
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

/// The whole number a top-level key holds (`"max_tokens": 32000`), read without parsing the
/// rest; `None` when the key is absent, not a whole number, or the body is not a plain object.
/// A nested key of the same name (in a tool's schema, in a message) is not it.
///
/// Claude Code writes `max_tokens` after the messages and tools, so each place the key's
/// token occurs is tried from the last: it is the top level's when the object around it is
/// the body's last (only the few bytes after it are read, not the 50 KB before).
pub fn top_level_number(body: &[u8], name: &str) -> Option<u64> {
    let token = format!("\"{name}\"");
    let places: Vec<usize> = memchr::memmem::find_iter(body, token.as_bytes()).collect();
    top_level_number_at(body, name, &places)
}

/// As [`top_level_number`], given where the key's token (`"name"`) occurs in the body.
pub fn top_level_number_at(body: &[u8], name: &str, places: &[usize]) -> Option<u64> {
    let token = name.len() + 2;
    places.iter().rev().find_map(|&at| {
        // Inside a string a quote is escaped, so every place is a token of its own; a key
        // is followed by its colon.
        let mut s = Scanner {
            b: body,
            i: at + token,
        };
        s.ws();
        s.eat(b':')?;
        s.ws();
        let start = s.i;
        s.value()?;
        let value = &body[start..s.i];
        ends_the_body(&mut s).then(|| std::str::from_utf8(value).ok()?.parse().ok())?
    })
}

/// Whether the object the scanner is in closes as the body's last thing (it is the body).
fn ends_the_body(s: &mut Scanner<'_>) -> bool {
    let mut depth = 0usize;
    loop {
        match s.b.get(s.i) {
            None => return false,
            Some(b'"') => {
                if s.string().is_none() {
                    return false;
                }
                continue;
            }
            Some(b'{' | b'[') => depth += 1,
            Some(b'}' | b']') if depth == 0 => {
                s.i += 1;
                s.ws();
                return s.i == s.b.len();
            }
            Some(b'}' | b']') => depth -= 1,
            Some(_) => {}
        }
        s.i += 1;
    }
}

/// The byte range of each element of the top-level arrays whose keys are in `split` (a value
/// that is not an array counts as one element) and of the top-level values whose keys are in
/// `whole`, in body order. The request log stores each message, the tools and the system
/// prompt once however many requests repeat them, and these are its pieces. `known` gives the
/// end of an element already known to start at an offset (the same bytes were scanned in an
/// earlier body), which is then skipped unread. `None` when the body is not a plain JSON object.
pub fn element_spans(
    body: &[u8],
    split: &[&[u8]],
    whole: &[&[u8]],
    known: impl Fn(usize) -> Option<usize>,
) -> Option<Vec<(usize, usize)>> {
    let mut s = Scanner { b: body, i: 0 };
    let mut spans = Vec::new();
    s.ws();
    s.eat(b'{')?;
    s.ws();
    if s.b.get(s.i) == Some(&b'}') {
        return Some(spans);
    }
    loop {
        let key = s.key()?;
        let name = &body[key.0 + 1..key.1 - 1];
        if !split.contains(&name) && !whole.contains(&name) {
            s.value()?;
        } else if split.contains(&name) && s.b.get(s.i) == Some(&b'[') {
            s.i += 1;
            s.ws();
            if s.b.get(s.i) == Some(&b']') {
                s.i += 1;
            } else {
                loop {
                    s.ws();
                    let start = s.i;
                    s.element(&known)?;
                    spans.push((start, s.i));
                    s.ws();
                    match s.next()? {
                        b',' => continue,
                        b']' => break,
                        _ => return None,
                    }
                }
            }
        } else {
            let start = s.i;
            s.element(&known)?;
            spans.push((start, s.i));
        }
        s.ws();
        match s.next()? {
            b',' => continue,
            b'}' => return Some(spans),
            _ => return None,
        }
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    /// A value, skipped at once when `known` says where it ends.
    fn element(&mut self, known: impl Fn(usize) -> Option<usize>) -> Option<()> {
        match known(self.i) {
            Some(end) if end > self.i && end <= self.b.len() => {
                self.i = end;
                Some(())
            }
            _ => self.value(),
        }
    }

    fn next(&mut self) -> Option<u8> {
        let c = *self.b.get(self.i)?;
        self.i += 1;
        Some(c)
    }

    /// An object's key and its colon; the key's range with quotes.
    fn key(&mut self) -> Option<(usize, usize)> {
        self.ws();
        let key = self.string()?;
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(key)
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
            let at = memchr::memchr2(b'"', b'\\', rest)?;
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
    fn a_top_level_number_is_found_and_a_nested_one_is_not() {
        let body = br#"{"messages":[{"role":"user","content":"\"max_tokens\": 5"}],"tools":[{"input_schema":{"max_tokens":7}}],"max_tokens" : 32000,"stream":true}"#;
        assert_eq!(top_level_number(body, "max_tokens"), Some(32000));
        let nested = br#"{"messages":[{"role":"assistant","content":[{"type":"tool_use","input":{"max_tokens":1}}]}]}"#;
        assert_eq!(top_level_number(nested, "max_tokens"), None);
        assert_eq!(
            top_level_number(br#"{"max_tokens":1.5}"#, "max_tokens"),
            None
        );
        assert_eq!(top_level_number(b"not json", "max_tokens"), None);
        // A nested one after the top level's, and a top-level one first of all.
        let later = br#"{"max_tokens":64,"messages":[],"output_config":{"max_tokens":3}}"#;
        assert_eq!(top_level_number(later, "max_tokens"), Some(64));
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

    fn elements(body: &str) -> Option<Vec<&str>> {
        let spans = element_spans(
            body.as_bytes(),
            &[b"messages", b"tools", b"system"],
            &[],
            |_| None,
        )?;
        Some(spans.into_iter().map(|(a, b)| &body[a..b]).collect())
    }

    #[test]
    fn finds_each_element_of_the_named_arrays_in_order() {
        assert_eq!(
            elements(
                r#"{"model":"m","messages":[{"role":"user","content":"a ]\"}"} , [1]],"system":"be brief","tools":[],"n":[{"x":1}]}"#
            ),
            Some(vec![
                r#"{"role":"user","content":"a ]\"}"}"#,
                "[1]",
                r#""be brief""#
            ])
        );
        assert_eq!(elements("{}"), Some(vec![]));
        assert_eq!(
            elements(r#" { "tools" : [ 1 , 2 ] } "#),
            Some(vec!["1", "2"])
        );
    }

    #[test]
    fn a_value_named_whole_is_one_element() {
        let body = r#"{"system":[{"a":1},{"b":2}],"tools":[1]}"#;
        let spans = element_spans(body.as_bytes(), &[], &[b"system"], |_| None).unwrap();
        let got: Vec<&str> = spans.into_iter().map(|(a, b)| &body[a..b]).collect();
        assert_eq!(got, [r#"[{"a":1},{"b":2}]"#]);
    }

    #[test]
    fn a_known_element_is_skipped_to_the_end_it_is_said_to_have() {
        let body = r#"{"tools":[{"a":1},{"b":2}]}"#;
        // Told the first element ends one byte early: the rest no longer parses.
        let spans = element_spans(body.as_bytes(), &[b"tools"], &[], |at| {
            (at == 10).then_some(16)
        });
        assert_eq!(spans, None);
        let spans = element_spans(body.as_bytes(), &[b"tools"], &[], |at| {
            (at == 10).then_some(17)
        });
        assert_eq!(spans, Some(vec![(10, 17), (18, 25)]));
    }

    #[test]
    fn elements_of_what_is_not_plain_are_none() {
        assert_eq!(elements(r#"{"messages":[1,}"#), None);
        assert_eq!(elements(r#"{"messages":[1"#), None);
        assert_eq!(elements(r#"["messages"]"#), None);
        assert_eq!(elements(r#"{"messages":[1]"#), None);
        assert_eq!(elements(""), None);
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
