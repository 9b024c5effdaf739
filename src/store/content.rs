//! A request's content as the log keeps it.
//!
//! Claude Code sends its tools, its system prompt and the whole conversation again with every
//! turn: of a 50 KB body, a few hundred bytes are new. So a body travels and is kept as a
//! recipe: literal bytes, and chunks (a tool, a system block, a message). On the way to the
//! store a chunk is named by its hash, and a gateway sends a chunk's bytes only until the
//! store has confirmed it holds them. The store keeps each chunk once in `log_pieces`, under
//! a key that grows with time (so writing one appends to the table, where a hash key would
//! land on a random page), and the kept recipe names chunks by key.
//!
//! A chunk used again more than [`REFRESH_MS`] after it was stored is stored again under a
//! new key; so a kept row never uses a chunk stored more than that before it, and pruning
//! deletes chunks by key, oldest first, that long after the rows.
//!
//! Schema 3 kept chunks by hash (`log_chunks`, with when each was last used); those recipes
//! still read, and those chunks are pruned as they were.

use bytes::{BufMut, Bytes};
use redb::{
    ReadableDatabase, ReadableTable, ReadableTableMetadata, Table, TableDefinition,
    WriteTransaction,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use super::{StoreError, db_err};

/// Chunk bytes by key: the time stored (ms since the epoch) above [`KEY_SEQ_BITS`] bits of count.
const PIECES: TableDefinition<u64, &[u8]> = TableDefinition::new("log_pieces");
/// The hash of each chunk, by key (what [`ChunkMemo::load`] reads).
const PIECE_NAMES: TableDefinition<u64, u128> = TableDefinition::new("log_piece_names");
const KEY_SEQ_BITS: u32 = 20;

/// How long after it was stored a chunk may still be used by key; then it is stored again.
const REFRESH_MS: u64 = 86_400_000;

/// Schema 3's chunks, by hash.
const LEGACY_CHUNKS: TableDefinition<u128, &[u8]> = TableDefinition::new("log_chunks");
/// When each schema-3 chunk was last used, to within [`LEGACY_SLACK_MS`].
const LEGACY_SEEN: TableDefinition<u128, u64> = TableDefinition::new("log_chunk_seen");
/// The same, ordered by time, for pruning.
const LEGACY_AGE: TableDefinition<(u64, u128), ()> = TableDefinition::new("log_chunk_age");
const LEGACY_SLACK_MS: u64 = 3_600_000;

const LITERAL: u8 = 0;
const CHUNK_WITH_BYTES: u8 = 1;
/// A chunk by hash: in what a gateway sends, one the store holds; in a kept schema-3 recipe,
/// one of `log_chunks`.
const CHUNK: u8 = 2;
/// A chunk by key, in a kept recipe.
const STORED: u8 = 3;

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
/// `2` hash len (a chunk the store holds); a kept recipe has `3` key len (a chunk by key)
/// instead. Lengths are u32, keys u64 and hashes u128, little-endian.
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
    Stored(u64),
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
                STORED => {
                    let key = u64::from_le_bytes(take(&mut s, 8)?.try_into().ok()?);
                    take(&mut s, 4)?;
                    Piece::Stored(key)
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

/// Which chunk each hash names, for every chunk the store holds (loaded when the owner starts,
/// so no hash-keyed table is written: in a copy-on-write B-tree each insert at a random key
/// rewrites a page of its own, 8 KB per logged request). Only the store's writer thread holds it.
#[derive(Default)]
pub struct ChunkMemo {
    keys: HashMap<u128, u64>,
}

/// Chunks remembered at most (about 40 MB); past it the oldest half is forgotten (their
/// senders are told to send them again, and they are stored anew).
const MEMO_MAX: usize = 1_000_000;

impl ChunkMemo {
    /// What the store in `db` holds.
    pub fn load(db: &redb::Database) -> Result<ChunkMemo, StoreError> {
        let tx = db.begin_read().map_err(db_err)?;
        let names = tx.open_table(PIECE_NAMES).map_err(db_err)?;
        let mut keys = HashMap::with_capacity(names.len().map_err(db_err)? as usize);
        // In key order, so a chunk copied forward ends up at its newest copy.
        for entry in names.iter().map_err(db_err)? {
            let (key, hash) = entry.map_err(db_err)?;
            keys.insert(hash.value(), key.value());
        }
        let mut memo = ChunkMemo { keys };
        memo.trim();
        Ok(memo)
    }

    /// A transaction that wrote `written` committed.
    pub fn learn(&mut self, written: ChunksWritten) {
        self.keys.extend(written.0);
        self.trim();
    }

    fn trim(&mut self) {
        if self.keys.len() <= MEMO_MAX {
            return;
        }
        let (oldest, newest) = self
            .keys
            .values()
            .fold((u64::MAX, 0), |(lo, hi), &k| (lo.min(k), hi.max(k)));
        let middle = oldest + (newest - oldest) / 2;
        self.keys.retain(|_, k| *k > middle);
    }
}

/// When a chunk stored under `key` was stored (ms since the epoch).
fn key_time(key: u64) -> u64 {
    key >> KEY_SEQ_BITS
}

/// The smallest key of a chunk stored at `time_ms`.
fn key_floor(time_ms: u64) -> u64 {
    time_ms << KEY_SEQ_BITS
}

/// The chunk tables of one write transaction, and the chunks it stored (kept only if it
/// commits: [`ChunkWrites::into_changed`]).
pub struct ChunkWrites<'t> {
    pieces: Table<'t, u64, &'static [u8]>,
    names: Table<'t, u64, u128>,
    now_ms: u64,
    next_key: u64,
    /// Chunks stored in this transaction, by hash.
    changed: HashMap<u128, u64>,
}

impl<'t> ChunkWrites<'t> {
    /// Opens the chunk tables in `tx`; chunks stored now get keys of time `now_ms`.
    pub fn open(tx: &'t WriteTransaction, now_ms: u64) -> Result<ChunkWrites<'t>, StoreError> {
        let pieces = tx.open_table(PIECES).map_err(db_err)?;
        // Keys only grow, even if the clock steps back.
        let after_last = match pieces.last().map_err(db_err)? {
            Some((k, _)) => k.value().saturating_add(1),
            None => 0,
        };
        Ok(ChunkWrites {
            pieces,
            names: tx.open_table(PIECE_NAMES).map_err(db_err)?,
            now_ms,
            next_key: after_last.max(key_floor(now_ms)),
            changed: HashMap::new(),
        })
    }

    /// The key of the stored chunk `hash` names, if any.
    fn key(&self, memo: &ChunkMemo, hash: u128) -> Option<u64> {
        self.changed
            .get(&hash)
            .or_else(|| memo.keys.get(&hash))
            .copied()
    }

    /// Whether every chunk the `recipes` of one append name without their bytes is held or
    /// comes with its bytes earlier in the append (else the sender must send them again: its
    /// memory of what is stored is out of date).
    pub fn holds_all<'r>(
        &self,
        memo: &ChunkMemo,
        recipes: impl Iterator<Item = &'r [u8]> + Clone,
    ) -> bool {
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
        recipes.flat_map(pieces).all(|piece| match piece {
            Some(Piece::Chunk {
                hash, bytes: None, ..
            }) => carried.contains(&hash) || self.key(memo, hash).is_some(),
            _ => true,
        })
    }

    /// Stores the chunks of `recipe` that are new, and gives the recipe to keep (chunks by
    /// key). A chunk stored more than [`REFRESH_MS`] ago is stored again, so that pruning by
    /// key time never takes a chunk a kept row uses. `None` when the recipe is malformed.
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
                Piece::Stored(_) => return Ok(None),
                Piece::Chunk { hash, len, bytes } => {
                    let key = match self.key(memo, hash) {
                        Some(k) if key_time(k) + REFRESH_MS >= self.now_ms => k,
                        Some(old) => {
                            let bytes = match self.pieces.get(old).map_err(db_err)? {
                                Some(b) => b.value().to_vec(),
                                None => return Ok(None),
                            };
                            self.store(hash, &bytes)?
                        }
                        // Named without bytes and unknown: [`ChunkWrites::holds_all`] let it
                        // through, so the recipe is damaged.
                        None => match bytes {
                            Some(b) => self.store(hash, b)?,
                            None => return Ok(None),
                        },
                    };
                    kept.0.put_u8(STORED);
                    kept.0.put_u64_le(key);
                    kept.0.put_u32_le(len);
                }
            }
        }
        Ok(Some(kept))
    }

    fn store(&mut self, hash: u128, bytes: &[u8]) -> Result<u64, StoreError> {
        let key = self.next_key;
        self.next_key += 1;
        self.pieces.insert(key, bytes).map_err(db_err)?;
        self.names.insert(key, hash).map_err(db_err)?;
        self.changed.insert(hash, key);
        Ok(key)
    }

    /// What this transaction stored, for [`ChunkMemo::learn`] once it has committed (the
    /// tables borrow the transaction, so they go first).
    pub fn into_changed(self) -> ChunksWritten {
        ChunksWritten(self.changed)
    }
}

/// Chunks a transaction stored, by hash.
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
    pieces: redb::ReadOnlyTable<u64, &'static [u8]>,
    legacy: redb::ReadOnlyTable<u128, &'static [u8]>,
    cache: HashMap<Name, Vec<u8>>,
    cached_bytes: usize,
}

/// A stored chunk: by key, or by hash in schema 3's table.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Name {
    Key(u64),
    Legacy(u128),
}

/// Chunk bytes cached per query at most.
const READ_CACHE_BYTES: usize = 64 * 1024 * 1024;

impl ChunkReader {
    /// A reader over the chunks `tx` sees.
    pub fn open(tx: &redb::ReadTransaction) -> Result<ChunkReader, StoreError> {
        Ok(ChunkReader {
            pieces: tx.open_table(PIECES).map_err(db_err)?,
            legacy: tx.open_table(LEGACY_CHUNKS).map_err(db_err)?,
            cache: HashMap::new(),
            cached_bytes: 0,
        })
    }

    /// Appends the request `recipe` stands for to `out`.
    fn rebuild(&mut self, recipe: &[u8], out: &mut Vec<u8>) -> Result<(), StoreError> {
        for piece in pieces(recipe) {
            let name = match piece {
                Some(Piece::Literal(b)) | Some(Piece::Chunk { bytes: Some(b), .. }) => {
                    out.extend_from_slice(b);
                    continue;
                }
                Some(Piece::Chunk { hash, .. }) => Name::Legacy(hash),
                Some(Piece::Stored(key)) => Name::Key(key),
                None => return Err(StoreError::Corrupt("a request's recipe".into())),
            };
            if let Some(b) = self.cache.get(&name) {
                out.extend_from_slice(b);
                continue;
            }
            let found = match name {
                Name::Key(key) => self.pieces.get(key),
                Name::Legacy(hash) => self.legacy.get(hash),
            };
            let Some(v) = found.map_err(db_err)? else {
                return Err(StoreError::Corrupt(
                    "a piece of a request is missing from the log".into(),
                ));
            };
            let b = v.value();
            out.extend_from_slice(b);
            if self.cached_bytes + b.len() <= READ_CACHE_BYTES {
                self.cached_bytes += b.len();
                self.cache.insert(name, b.to_vec());
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
    tx.open_table(PIECES).map_err(db_err)?;
    tx.open_table(PIECE_NAMES).map_err(db_err)?;
    tx.open_table(LEGACY_CHUNKS).map_err(db_err)?;
    tx.open_table(LEGACY_SEEN).map_err(db_err)?;
    tx.open_table(LEGACY_AGE).map_err(db_err)?;
    Ok(())
}

/// Deletes up to `max` chunks no row started at or after `before_ms` can use (rows older
/// than that are gone); says how many went.
pub fn prune(
    tx: &WriteTransaction,
    memo: &mut ChunkMemo,
    before_ms: u64,
    max: usize,
) -> Result<usize, StoreError> {
    let mut pieces = tx.open_table(PIECES).map_err(db_err)?;
    let mut names = tx.open_table(PIECE_NAMES).map_err(db_err)?;
    let end = key_floor(before_ms.saturating_sub(REFRESH_MS));
    let mut old = Vec::new();
    for entry in names.range(..end).map_err(db_err)?.take(max) {
        let (key, hash) = entry.map_err(db_err)?;
        old.push((key.value(), hash.value()));
    }
    for &(key, hash) in &old {
        pieces.remove(key).map_err(db_err)?;
        names.remove(key).map_err(db_err)?;
        // A newer copy stays.
        if memo.keys.get(&hash) == Some(&key) {
            memo.keys.remove(&hash);
        }
    }
    let removed = old.len();
    if removed < max {
        return Ok(removed + prune_legacy(tx, before_ms, max - removed)?);
    }
    Ok(removed)
}

/// Deletes up to `max` schema-3 chunks last used before `before_ms`.
fn prune_legacy(tx: &WriteTransaction, before_ms: u64, max: usize) -> Result<usize, StoreError> {
    let mut age = tx.open_table(LEGACY_AGE).map_err(db_err)?;
    if age.is_empty().map_err(db_err)? {
        return Ok(0);
    }
    let mut chunks = tx.open_table(LEGACY_CHUNKS).map_err(db_err)?;
    let mut seen = tx.open_table(LEGACY_SEEN).map_err(db_err)?;
    let cutoff = before_ms.saturating_sub(LEGACY_SLACK_MS);
    let mut old = Vec::new();
    for entry in age.range(..(cutoff, 0)).map_err(db_err)?.take(max) {
        old.push(entry.map_err(db_err)?.0.value());
    }
    let mut removed = 0;
    for (t, hash) in old {
        age.remove((t, hash)).map_err(db_err)?;
        // Used again since (the age entry was rewritten then): only a stale entry goes.
        if seen.get(hash).map_err(db_err)?.map(|v| v.value()) == Some(t) {
            seen.remove(hash).map_err(db_err)?;
            chunks.remove(hash).map_err(db_err)?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
#[path = "content_tests.rs"]
mod tests;
