//! Cuts logged request bodies into the pieces the store keeps once (each tool, system block
//! and message: see `store::content`), and remembers which pieces it has sent, so their
//! bytes cross the socket once rather than with every turn of a conversation.

use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::messages::scan::element_spans;
use crate::store::content::RecipeWriter;

/// What Claude Code repeats from turn to turn: each message of the conversation so far, and
/// its tools and system prompt (whole: a piece named costs its hash in every row).
const MESSAGES: [&[u8]; 1] = [b"messages"];
const WHOLE: [&[u8]; 2] = [b"tools", b"system"];
/// Smaller elements stay literal: a chunk's name and bookkeeping would cost more than them.
/// The bytes between elements become a chunk too when they are this long (the settings
/// after the tools: metadata, thinking, output_config…, the same in every turn).
const MIN_CHUNK: usize = 128;
/// Pieces remembered at most; past it the memory starts again (bytes are then sent once more).
const MEMO_MAX: usize = 100_000;
/// How long a piece sent is trusted to be stored. The store keeps a chunk at least as
/// long as the rows that use it (days), so within it no round trip is wasted; past it, a
/// piece pruned or lost is sent again without a refusal first.
const TRUST: Duration = Duration::from_secs(30 * 60);

/// Bodies whose cuts are kept to cut the next ones from.
const RECENT: usize = 8;

/// A body and where its pieces lie.
#[derive(Debug)]
pub struct Cut {
    body: Bytes,
    /// Start and end of each element (and of each long run between elements), in order, with
    /// its hash when it is long enough to be a chunk; the bytes between are literal.
    elements: Vec<(usize, usize, Option<u128>)>,
}

impl Cut {
    /// The element of this cut that starts at `at`.
    fn element_at(&self, at: usize) -> Option<&(usize, usize, Option<u128>)> {
        let i = self.elements.binary_search_by_key(&at, |e| e.0).ok()?;
        self.elements.get(i)
    }
}

/// How a body lines up with an earlier one: the bytes they share at the start and the end.
struct Match<'a> {
    old: &'a Cut,
    prefix: usize,
    suffix: usize,
    new_len: usize,
}

impl Match<'_> {
    /// The earlier element that holds the same bytes as the one at `at` in the new body.
    fn element(&self, at: usize) -> Option<(usize, Option<u128>)> {
        if at < self.prefix {
            let &(_, end, hash) = self.old.element_at(at)?;
            return (end <= self.prefix).then_some((end, hash));
        }
        if at >= self.new_len - self.suffix {
            let shift = self.old.body.len() as isize - self.new_len as isize;
            let &(_, end, hash) = self.old.element_at((at as isize + shift) as usize)?;
            return Some(((end as isize - shift) as usize, hash));
        }
        None
    }
}

/// Whether two blocks of `BLOCK` bytes are equal, compared a word at a time here rather than
/// by libc's memcmp: musl's (the static release's libc) reads a byte at a time. Cutting a
/// 50 KB body took 40 us with it, 16 this way (glibc: 6 with its memcmp, 7 this way).
fn same_block(a: &[u8], b: &[u8]) -> bool {
    let mut diff = 0u64;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let x = u64::from_ne_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]);
        let y = u64::from_ne_bytes([y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]]);
        diff |= x ^ y;
    }
    diff == 0
}

/// Bytes compared per step: a block found different is then compared byte by byte.
const BLOCK: usize = 256;

/// How many bytes `a` and `b` share at their start.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && same_block(&a[i..i + BLOCK], &b[i..i + BLOCK]) {
        i += BLOCK;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// How many bytes `a` and `b` share at their end.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut i = 0;
    while i + BLOCK <= n && same_block(&a[n - i - BLOCK..n - i], &b[n - i - BLOCK..n - i]) {
        i += BLOCK;
    }
    while i < n && a[n - i - 1] == b[n - i - 1] {
        i += 1;
    }
    i
}

/// The bodies cut last. The log's sender reads them too: a store that turns down pieces
/// named by hash alone (it was replaced) gets their bytes from here, so no body waits in the
/// gateway until its row is written.
#[derive(Debug, Default, Clone)]
pub struct Recent(Arc<Mutex<VecDeque<Arc<Cut>>>>);

impl Recent {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Arc<Cut>>> {
        // A panic elsewhere while it was held leaves a list that is still whole.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The bytes of the chunk `hash` of `len` bytes, if a recent body holds it.
    pub fn find(&self, hash: u128, len: u32) -> Option<Bytes> {
        self.lock().iter().rev().find_map(|cut| {
            cut.elements
                .iter()
                .find(|&&(a, b, h)| h == Some(hash) && b - a == len as usize)
                .map(|&(a, b, _)| cut.body.slice(a..b))
        })
    }
}

/// What this gateway knows the store holds, and the bodies it cut last.
#[derive(Debug, Default)]
pub struct Chunker {
    /// Sent with their bytes (rows reach the store in the order they were cut), and when.
    stored: HashMap<u128, Instant>,
    recent: Recent,
}

impl Chunker {
    /// Finds the pieces of `body` (none when it is not a plain JSON object: it is kept
    /// whole). A turn of a conversation repeats most of the one before it, so the bytes a
    /// recent body shares at the start and at the end are not read again: their elements and
    /// hashes are taken from that body's cut.
    pub fn cut(&mut self, body: Bytes) -> Arc<Cut> {
        let mut recent = self.recent.lock();
        let mut best: Option<Match> = None;
        for old in recent.iter().rev() {
            let prefix = common_prefix(&old.body, &body);
            let suffix = common_suffix(&old.body[prefix..], &body[prefix..]);
            if best
                .as_ref()
                .is_none_or(|b| prefix + suffix > b.prefix + b.suffix)
            {
                best = Some(Match {
                    old,
                    prefix,
                    suffix,
                    new_len: body.len(),
                });
            }
            if prefix + suffix + 4096 >= body.len() {
                break;
            }
        }
        let known = |at: usize| best.as_ref().and_then(|m| m.element(at)).map(|e| e.0);
        let spans = element_spans(&body, &MESSAGES, &WHOLE, known).unwrap_or_default();
        // The long runs between elements are pieces as well.
        let mut pieces = Vec::with_capacity(spans.len() * 2 + 1);
        let mut at = 0;
        for (a, b) in spans.into_iter().chain([(body.len(), body.len())]) {
            if a - at >= MIN_CHUNK {
                pieces.push((at, a));
            }
            if b > a {
                pieces.push((a, b));
            }
            at = b;
        }
        let elements = pieces
            .into_iter()
            .map(|(a, b)| {
                let hash = match best.as_ref().and_then(|m| m.element(a)) {
                    Some((end, hash)) if end == b => hash,
                    _ => (b - a >= MIN_CHUNK).then(|| xxhash_rust::xxh3::xxh3_128(&body[a..b])),
                };
                (a, b, hash)
            })
            .collect();
        let cut = Arc::new(Cut { body, elements });
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(Arc::clone(&cut));
        cut
    }

    /// The bodies this chunker cut last, to find pieces in from another thread.
    pub fn recent(&self) -> Recent {
        self.recent.clone()
    }

    /// The recipe of `cut`: bytes for each chunk the store is not known to hold (once: the
    /// rows after it name it by hash), the hash alone for the others.
    pub fn recipe(&mut self, cut: &Cut) -> Bytes {
        let body = &cut.body[..];
        let mut recipe = RecipeWriter::with_capacity(body.len().min(4096));
        let mut at = 0;
        for &(start, end, hash) in &cut.elements {
            let Some(hash) = hash else {
                continue;
            };
            recipe.literal(&body[at..start]);
            let known = self.stored.get(&hash).is_some_and(|t| t.elapsed() < TRUST);
            if !known {
                if self.stored.len() >= MEMO_MAX {
                    self.stored.clear();
                }
                self.stored.insert(hash, Instant::now());
            }
            recipe.chunk(hash, &body[start..end], known);
            at = end;
        }
        recipe.literal(&body[at..]);
        recipe.finish()
    }

    /// The store does not hold what it was thought to: send every chunk's bytes again.
    pub fn forget(&mut self) {
        self.stored.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(messages: &[&str]) -> Bytes {
        let tool = |n: &str| format!(r#"{{"name":"{n}","description":"{}"}}"#, n.repeat(300));
        let messages: Vec<String> = messages
            .iter()
            .map(|m| format!(r#"{{"role":"user","content":"{m}"}}"#))
            .collect();
        Bytes::from(format!(
            r#"{{"model":"m","messages":[{}],"system":"short","tools":[{},{}],"stream":true}}"#,
            messages.join(","),
            tool("Read"),
            tool("Edit")
        ))
    }

    #[test]
    fn a_chunk_sent_once_is_named_without_its_bytes() {
        let mut chunker = Chunker::default();
        let cut = chunker.cut(body(&["hi"]));
        let first = chunker.recipe(&cut);
        assert!(first.len() > 2400);
        let cut = chunker.cut(body(&["hello"]));
        assert!(chunker.recipe(&cut).len() < 300);
        chunker.forget();
        assert!(chunker.recipe(&cut).len() > 2400);
    }

    #[test]
    fn the_pieces_of_a_recent_body_are_found_by_hash_and_length() {
        let mut chunker = Chunker::default();
        let recent = chunker.recent();
        let cut = chunker.cut(body(&["hi"]));
        let recipe = chunker.recipe(&cut);
        let named = chunker.recipe(&cut);
        // Every piece named by hash alone comes back whole from the recent bodies.
        let filled = crate::store::content::with_all_bytes(&named, &mut HashMap::new(), |h, l| {
            recent.find(h, l)
        });
        assert_eq!(filled, Some(recipe));
        // Pieces carried by an earlier recipe of the batch fill the later ones, with no
        // recent body at all.
        let mut fresh = Chunker::default();
        let (one, two) = (fresh.cut(body(&["one"])), fresh.cut(body(&["two"])));
        let (carrying, naming) = (fresh.recipe(&one), fresh.recipe(&two));
        fresh.forget();
        let whole = fresh.recipe(&two);
        let mut carried = HashMap::new();
        let none = |_, _| None;
        assert!(crate::store::content::with_all_bytes(&carrying, &mut carried, none).is_some());
        assert_eq!(
            crate::store::content::with_all_bytes(&naming, &mut carried, none),
            Some(whole)
        );
        // A length the chunk does not have is another chunk: not found.
        let &(a, b, hash) = cut.elements.iter().find(|e| e.2.is_some()).unwrap();
        assert!(recent.find(hash.unwrap(), (b - a + 1) as u32).is_none());
    }

    #[test]
    fn a_body_cut_from_an_earlier_one_has_the_pieces_a_fresh_cut_finds() {
        let long = "x".repeat(600);
        let turns = [
            body(&["first"]),
            body(&["first", &long]),
            body(&["first", &long, "third"]),
            // Another conversation, then the first one again, changed in the middle.
            body(&["other"]),
            body(&["first", &long.replace('x', "y"), "third", "fourth"]),
            body(&["first", &long, "third"]),
            Bytes::from_static(b"not json at all"),
        ];
        let mut chunker = Chunker::default();
        for turn in turns {
            let fresh = Chunker::default().cut(turn.clone());
            let reused = chunker.cut(turn);
            assert_eq!(reused.elements, fresh.elements);
        }
    }

    #[test]
    fn the_shared_start_and_end_of_two_bodies() {
        assert_eq!(common_prefix(b"abcdef", b"abcxef"), 3);
        assert_eq!(common_suffix(b"abcdef", b"abcxef"), 2);
        assert_eq!(common_suffix(b"ab", b"xxab"), 2);
        let long: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut other = long.clone();
        other[5_000] ^= 1;
        assert_eq!(common_prefix(&long, &other), 5_000);
        assert_eq!(common_suffix(&long, &other), 4_999);
    }
}
