//! A request's content as the log keeps it.
//!
//! Claude Code sends its tools, its system prompt and the whole conversation again with every
//! turn: of a 50 KB body, a few hundred bytes are new. So a body travels and is kept as a
//! recipe: literal bytes, and chunks (a tool, a system block, a message) named by their hash
//! and stored once in `log_chunks`, however many requests repeat them. A gateway sends a
//! chunk's bytes only until the store has confirmed it holds them.
//!
//! A chunk is deleted when no row can still use it: each chunk records when it was last used,
//! to within [`SEEN_SLACK`] (so a busy chunk is not rewritten on every request), and pruning
//! deletes those last used a slack before the oldest row kept.

use bytes::{BufMut, Bytes};
use redb::{ReadableTable, Table, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use super::{StoreError, db_err};

const CHUNKS: TableDefinition<u128, &[u8]> = TableDefinition::new("log_chunks");
/// When each chunk was last used (ms since the epoch), to within [`SEEN_SLACK`].
const CHUNK_SEEN: TableDefinition<u128, u64> = TableDefinition::new("log_chunk_seen");
/// The same, ordered by time, for pruning.
const CHUNK_AGE: TableDefinition<(u64, u128), ()> = TableDefinition::new("log_chunk_age");

/// How stale a chunk's last-used time may be before it is written again.
pub const SEEN_SLACK_MS: u64 = 3_600_000;

const LITERAL: u8 = 0;
const CHUNK_WITH_BYTES: u8 = 1;
const CHUNK: u8 = 2;

/// A request's body and the response as the client saw it (a stream reassembled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Content {
    pub request: String,
    pub response: String,
}

/// A request and its response as they travel to the store: the request as a recipe
/// ([`RecipeWriter`]), the response LZ4-compressed (its length first), so bodies are never
/// escaped into JSON and back.
#[derive(Debug, Clone, PartialEq)]
pub struct RawContent {
    pub request: Bytes,
    pub response: Bytes,
    /// The response is the SSE bytes of a stream, rebuilt into one message when read: the
    /// work is done by whoever looks, not on the machine's busiest moments.
    pub response_is_sse: bool,
}

impl RawContent {
    /// Content of a request given by its `recipe`, and of its `response` (compressed here).
    pub fn new(recipe: Bytes, response: &[u8], response_is_sse: bool) -> RawContent {
        RawContent {
            request: recipe,
            response: lz4_flex::compress_prepend_size(response).into(),
            response_is_sse,
        }
    }

    /// Content whose request is kept whole, as one literal (no chunk shared with others).
    pub fn whole(request: &[u8], response: &[u8], response_is_sse: bool) -> RawContent {
        let mut recipe = RecipeWriter::with_capacity(request.len());
        recipe.literal(request);
        RawContent::new(recipe.finish(), response, response_is_sse)
    }
}

/// Builds a recipe: `0` len bytes (literal), `1` hash len bytes (a chunk, with its bytes),
/// `2` hash len (a chunk the store holds). Lengths are u32 and hashes u128, little-endian.
pub struct RecipeWriter(Vec<u8>);

impl RecipeWriter {
    /// A recipe of about `bytes` bytes.
    pub fn with_capacity(bytes: usize) -> RecipeWriter {
        RecipeWriter(Vec::with_capacity(bytes + 64))
    }

    /// Bytes kept as they are.
    pub fn literal(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.0.put_u8(LITERAL);
        self.0.put_u32_le(bytes.len() as u32);
        self.0.extend_from_slice(bytes);
    }

    /// A chunk; its bytes go along unless the store already holds it.
    pub fn chunk(&mut self, hash: u128, bytes: &[u8], stored: bool) {
        self.0.put_u8(if stored { CHUNK } else { CHUNK_WITH_BYTES });
        self.0.put_u128_le(hash);
        self.0.put_u32_le(bytes.len() as u32);
        if !stored {
            self.0.extend_from_slice(bytes);
        }
    }

    /// The recipe's bytes.
    pub fn finish(self) -> Bytes {
        self.0.into()
    }
}

/// One piece of a recipe.
enum Piece<'a> {
    Literal(&'a [u8]),
    Chunk {
        hash: u128,
        len: u32,
        bytes: Option<&'a [u8]>,
    },
}

/// The pieces of `recipe` in order; `None` where it is cut short or unknown.
fn pieces(recipe: &[u8]) -> impl Iterator<Item = Option<Piece<'_>>> {
    let mut rest = recipe;
    std::iter::from_fn(move || {
        let (&tag, tail) = rest.split_first()?;
        let piece = (|| {
            let mut s = tail;
            let piece = match tag {
                LITERAL => {
                    let len = u32::from_le_bytes(take(&mut s, 4)?.try_into().ok()?);
                    Piece::Literal(take(&mut s, len as usize)?)
                }
                CHUNK_WITH_BYTES | CHUNK => {
                    let hash = u128::from_le_bytes(take(&mut s, 16)?.try_into().ok()?);
                    let len = u32::from_le_bytes(take(&mut s, 4)?.try_into().ok()?);
                    let bytes = if tag == CHUNK_WITH_BYTES {
                        Some(take(&mut s, len as usize)?)
                    } else {
                        None
                    };
                    Piece::Chunk { hash, len, bytes }
                }
                _ => return None,
            };
            Some((piece, s))
        })();
        match piece {
            Some((p, s)) => {
                rest = s;
                Some(Some(p))
            }
            None => {
                rest = &[];
                Some(None)
            }
        }
    })
}

/// The first `n` bytes of `s`, which moves past them.
fn take<'a>(s: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (a, b) = s.split_at_checked(n)?;
    *s = b;
    Some(a)
}

/// What the owner knows of chunks across commits: which exist, and when each was last
/// recorded as used. Only the store's one writer thread holds it.
#[derive(Default)]
pub struct ChunkMemo {
    seen: HashMap<u128, u64>,
}

/// Chunks remembered at most; past it the memo starts again (the tables still answer).
const MEMO_MAX: usize = 1_000_000;

impl ChunkMemo {
    /// A transaction that wrote `written` committed.
    pub fn learn(&mut self, written: ChunksWritten) {
        if self.seen.len() + written.0.len() > MEMO_MAX {
            self.seen.clear();
        }
        self.seen.extend(written.0);
    }

    /// Forgets chunks that were deleted.
    fn forget(&mut self, hashes: &[u128]) {
        for h in hashes {
            self.seen.remove(h);
        }
    }
}

/// The chunk tables of one write transaction, and what it has changed (kept only if it
/// commits: [`ChunkWrites::commit`]).
pub struct ChunkWrites<'t> {
    chunks: Table<'t, u128, &'static [u8]>,
    seen: Table<'t, u128, u64>,
    age: Table<'t, (u64, u128), ()>,
    now_ms: u64,
    /// Chunks stored or touched in this transaction, with the time recorded.
    changed: HashMap<u128, u64>,
}

impl<'t> ChunkWrites<'t> {
    /// Opens the chunk tables in `tx`; chunks used are recorded as used at `now_ms`.
    pub fn open(tx: &'t WriteTransaction, now_ms: u64) -> Result<ChunkWrites<'t>, StoreError> {
        Ok(ChunkWrites {
            chunks: tx.open_table(CHUNKS).map_err(db_err)?,
            seen: tx.open_table(CHUNK_SEEN).map_err(db_err)?,
            age: tx.open_table(CHUNK_AGE).map_err(db_err)?,
            now_ms,
            changed: HashMap::new(),
        })
    }

    /// When `hash` was last recorded as used, if the store holds it.
    fn last_seen(&self, memo: &ChunkMemo, hash: u128) -> Result<Option<u64>, StoreError> {
        if let Some(&t) = self.changed.get(&hash).or_else(|| memo.seen.get(&hash)) {
            return Ok(Some(t));
        }
        Ok(self.seen.get(hash).map_err(db_err)?.map(|v| v.value()))
    }

    /// Whether every chunk the `recipes` of one append name without their bytes is held or
    /// comes with its bytes earlier in the append (else the sender must send them again: its
    /// memory of what is stored is out of date).
    pub fn holds_all<'r>(
        &self,
        memo: &mut ChunkMemo,
        recipes: impl Iterator<Item = &'r [u8]> + Clone,
    ) -> Result<bool, StoreError> {
        let carried: std::collections::HashSet<u128> = recipes
            .clone()
            .flat_map(pieces)
            .filter_map(|p| match p {
                Some(Piece::Chunk {
                    hash,
                    bytes: Some(_),
                    ..
                }) => Some(hash),
                _ => None,
            })
            .collect();
        for piece in recipes.flat_map(pieces) {
            let Some(Piece::Chunk {
                hash, bytes: None, ..
            }) = piece
            else {
                continue;
            };
            if carried.contains(&hash)
                || self.changed.contains_key(&hash)
                || memo.seen.contains_key(&hash)
            {
                continue;
            }
            match self.seen.get(hash).map_err(db_err)? {
                Some(t) => {
                    if memo.seen.len() >= MEMO_MAX {
                        memo.seen.clear();
                    }
                    memo.seen.insert(hash, t.value());
                }
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Stores the chunks of `recipe` that are new, records the others as used, and gives the
    /// recipe to keep (chunks by hash only). `None` when the recipe is malformed.
    pub fn put(
        &mut self,
        memo: &ChunkMemo,
        recipe: &[u8],
    ) -> Result<Option<RecipeWriter>, StoreError> {
        let mut kept = RecipeWriter::with_capacity(256);
        for piece in pieces(recipe) {
            let Some(piece) = piece else {
                return Ok(None);
            };
            match piece {
                Piece::Literal(b) => kept.literal(b),
                Piece::Chunk { hash, len, bytes } => {
                    match self.last_seen(memo, hash)? {
                        Some(t) if t + SEEN_SLACK_MS >= self.now_ms => {}
                        Some(t) => {
                            self.age.remove((t, hash)).map_err(db_err)?;
                            self.touch(hash)?;
                        }
                        None => {
                            // Named without bytes and gone: [`ChunkWrites::holds_all`] let it
                            // through, so the recipe is damaged.
                            let Some(bytes) = bytes else {
                                return Ok(None);
                            };
                            self.chunks.insert(hash, bytes).map_err(db_err)?;
                            self.touch(hash)?;
                        }
                    }
                    kept.0.put_u8(CHUNK);
                    kept.0.put_u128_le(hash);
                    kept.0.put_u32_le(len);
                }
            }
        }
        Ok(Some(kept))
    }

    fn touch(&mut self, hash: u128) -> Result<(), StoreError> {
        self.seen.insert(hash, self.now_ms).map_err(db_err)?;
        self.age.insert((self.now_ms, hash), ()).map_err(db_err)?;
        self.changed.insert(hash, self.now_ms);
        Ok(())
    }

    /// What this transaction wrote, for [`ChunkMemo::learn`] once it has committed (the
    /// tables borrow the transaction, so they go first).
    pub fn into_changed(self) -> ChunksWritten {
        ChunksWritten(self.changed)
    }
}

/// Chunks a transaction stored or touched, and when.
pub struct ChunksWritten(HashMap<u128, u64>);

/// The stored form of a row's content: a kind byte (2, or 3 when the response is SSE), the
/// recipe's length (u32, little-endian), the recipe, the response (compressed).
pub fn stored(recipe: &[u8], response: &[u8], sse: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + recipe.len() + response.len());
    out.push(if sse { 3 } else { 2 });
    out.put_u32_le(recipe.len() as u32);
    out.extend_from_slice(recipe);
    out.extend_from_slice(response);
    out
}

/// Chunks read while answering one query, so a search over many rows reads each shared
/// chunk once.
pub struct ChunkReader {
    chunks: redb::ReadOnlyTable<u128, &'static [u8]>,
    cache: HashMap<u128, Vec<u8>>,
    cached_bytes: usize,
}

/// Chunk bytes cached per query at most.
const READ_CACHE_BYTES: usize = 64 * 1024 * 1024;

impl ChunkReader {
    /// A reader over the chunks `tx` sees.
    pub fn open(tx: &redb::ReadTransaction) -> Result<ChunkReader, StoreError> {
        Ok(ChunkReader {
            chunks: tx.open_table(CHUNKS).map_err(db_err)?,
            cache: HashMap::new(),
            cached_bytes: 0,
        })
    }

    /// Appends the request `recipe` stands for to `out`.
    fn rebuild(&mut self, recipe: &[u8], out: &mut Vec<u8>) -> Result<(), StoreError> {
        for piece in pieces(recipe) {
            match piece {
                Some(Piece::Literal(b)) => out.extend_from_slice(b),
                Some(Piece::Chunk { bytes: Some(b), .. }) => out.extend_from_slice(b),
                Some(Piece::Chunk { hash, .. }) => {
                    if let Some(b) = self.cache.get(&hash) {
                        out.extend_from_slice(b);
                        continue;
                    }
                    let Some(v) = self.chunks.get(hash).map_err(db_err)? else {
                        return Err(StoreError::Corrupt(format!(
                            "a piece of a request ({hash:032x}) is missing from the log"
                        )));
                    };
                    let b = v.value();
                    out.extend_from_slice(b);
                    if self.cached_bytes + b.len() <= READ_CACHE_BYTES {
                        self.cached_bytes += b.len();
                        self.cache.insert(hash, b.to_vec());
                    }
                }
                None => return Err(StoreError::Corrupt("a request's recipe".into())),
            }
        }
        Ok(())
    }

    /// The request and the response bytes of a stored content value, and whether the
    /// response is SSE.
    pub fn open_value(&mut self, stored: &[u8]) -> Result<(Vec<u8>, Vec<u8>, bool), StoreError> {
        let damaged = || StoreError::Corrupt("a request's stored content".into());
        let kind = *stored.first().ok_or_else(damaged)?;
        let len = u32::from_le_bytes(
            stored
                .get(1..5)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(damaged)?,
        ) as usize;
        let first = stored.get(5..5 + len).ok_or_else(damaged)?;
        let response = stored.get(5 + len..).ok_or_else(damaged)?;
        match kind {
            // Before recipes (a schema-2 log): the request whole, the response as it was.
            0 | 1 => Ok((first.to_vec(), response.to_vec(), kind == 1)),
            2 | 3 => {
                let mut request = Vec::with_capacity(first.len() * 8);
                self.rebuild(first, &mut request)?;
                Ok((
                    request,
                    decompress(response).ok_or_else(damaged)?,
                    kind == 3,
                ))
            }
            _ => Err(damaged()),
        }
    }

    /// The content of a stored value, as `bgw logs show` prints it.
    pub fn content(&mut self, stored: &[u8]) -> Result<Content, StoreError> {
        let (request, response, sse) = self.open_value(stored)?;
        let response = if sse {
            crate::messages::assemble::assemble(&response).to_string()
        } else {
            String::from_utf8_lossy(&response).into_owned()
        };
        Ok(Content {
            request: String::from_utf8_lossy(&request).into_owned(),
            response,
        })
    }
}

/// Bytes a stored response may claim to hold at most (its length prefix is read before
/// anything is allocated).
const MAX_RESPONSE: usize = 1 << 30;

fn decompress(compressed: &[u8]) -> Option<Vec<u8>> {
    let len = u32::from_le_bytes(compressed.get(..4)?.try_into().ok()?) as usize;
    if len > MAX_RESPONSE {
        return None;
    }
    lz4_flex::decompress_size_prepended(compressed).ok()
}

/// Makes the chunk tables (inside the schema check's transaction).
pub fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(CHUNKS).map_err(db_err)?;
    tx.open_table(CHUNK_SEEN).map_err(db_err)?;
    tx.open_table(CHUNK_AGE).map_err(db_err)?;
    Ok(())
}

/// Deletes up to `max` chunks last used before `before_ms` (rows older than that are gone);
/// says how many went.
pub fn prune(
    tx: &WriteTransaction,
    memo: &mut ChunkMemo,
    before_ms: u64,
    max: usize,
) -> Result<usize, StoreError> {
    let mut age = tx.open_table(CHUNK_AGE).map_err(db_err)?;
    let mut chunks = tx.open_table(CHUNKS).map_err(db_err)?;
    let mut seen = tx.open_table(CHUNK_SEEN).map_err(db_err)?;
    let cutoff = before_ms.saturating_sub(SEEN_SLACK_MS);
    let mut old = Vec::new();
    for entry in age.range(..(cutoff, 0)).map_err(db_err)?.take(max) {
        old.push(entry.map_err(db_err)?.0.value());
    }
    let mut hashes = Vec::with_capacity(old.len());
    for (t, hash) in old {
        age.remove((t, hash)).map_err(db_err)?;
        // Used again since (the age entry is rewritten then): only a stale entry goes.
        if seen.get(hash).map_err(db_err)?.map(|v| v.value()) == Some(t) {
            seen.remove(hash).map_err(db_err)?;
            chunks.remove(hash).map_err(db_err)?;
            hashes.push(hash);
        }
    }
    memo.forget(&hashes);
    Ok(hashes.len())
}

#[cfg(test)]
#[path = "content_tests.rs"]
mod tests;
