//! A request's content as the log keeps it.
//!
//! Claude Code sends its tools, its system prompt and the whole conversation again with every
//! turn: of a 50 KB body, a few hundred bytes are new. So a body travels and is kept as a
//! recipe: literal bytes, and chunks (a tool, a system block, a message). On the way to the
//! store a chunk is named by its hash; a gateway sends its bytes once, with the first row
//! that has it (rows reach the store in order), unless the store turns the name down.
//!
//! The store writes the content of one commit as a few values, pages of up to [`PAGE_BYTES`]
//! (`log_pages`): the new chunks' bytes and each row's recipe and response, one after
//! another. A row's content value and a kept recipe's chunks name where in a page their bytes
//! lie. Pages, not a value per row and per chunk: each insert into a B-tree rebuilds a leaf,
//! and with ~1.5 KB of content per row that was two thirds of the owner's work (in-process,
//! 300 rows a commit: 13 us a row with a value each, 8 with one value). Page keys grow with
//! time, so a page is appended, and pruning goes by key.
//!
//! A chunk used again more than [`REFRESH_MS`] after it was stored is stored again, in a
//! newer page; so a kept row never uses a chunk stored more than that before it, and a page
//! is pruned that long after the rows (whose content is in the page of the commit that wrote
//! them, so no later than that).
//!
//! Schema 4 kept each chunk as its own value by key (`log_pieces`) and each row's content in
//! `log_content`; schema 3 kept chunks by hash (`log_chunks`). Their recipes still read, and
//! their chunks are pruned as they were.

use bytes::{BufMut, Bytes};
use redb::{
    ReadableDatabase, ReadableTable, ReadableTableMetadata, Table, TableDefinition,
    WriteTransaction,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use super::{StoreError, db_err};

/// The content of one commit, by key: the time written (ms since the epoch) above
/// [`KEY_SEQ_BITS`] bits of count.
const PAGES: TableDefinition<u64, &[u8]> = TableDefinition::new("log_pages");
/// The hash and length of each chunk a page holds, by page and offset (what
/// [`ChunkMemo::load`] reads).
const PAGE_CHUNKS: TableDefinition<(u64, u32), (u128, u32)> =
    TableDefinition::new("log_page_chunks");
const KEY_SEQ_BITS: u32 = 20;
/// A page holds at most this much unless one row's content is larger: a row whose content
/// would take it past this starts a new page. Small, because a row's chunks lie in the pages
/// of the turns that first sent them, and reading the row reads each of those pages whole;
/// a little under a power of two, because redb gives a value that size rounded up to one.
const PAGE_BYTES: usize = 64 * 1024 - 512;

/// How long after it was stored a chunk may still be used; then it is stored again.
const REFRESH_MS: u64 = 86_400_000;

/// Schema 4's chunks, by key (a time as [`PAGES`]' keys).
const PIECES: TableDefinition<u64, &[u8]> = TableDefinition::new("log_pieces");
/// The hash of each schema-4 chunk, by key.
const PIECE_NAMES: TableDefinition<u64, u128> = TableDefinition::new("log_piece_names");

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
/// A schema-4 chunk by key, in a kept recipe.
const STORED: u8 = 3;
/// A chunk by place (page, offset) and length, in a kept recipe.
const PLACED: u8 = 4;

/// A row's content value that says where in a page its content lies (page, offset, length);
/// other kinds hold the content itself ([`stored`]).
const IN_PAGE: u8 = 4;

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
/// `2` hash len (a chunk the store holds); a kept recipe has `4` page offset len (a chunk by
/// place) instead (`3` key len in schema 4). Lengths and offsets are u32, keys and pages u64,
/// hashes u128, little-endian.
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

/// `recipe` with the bytes of every chunk it names by hash alone: from `carried` (the chunks
/// whose bytes the recipes before it carried, to which this one's are added), else from `find`
/// (hash, length); `None` when one is found nowhere, or the recipe is not one a writer makes.
pub fn with_all_bytes(
    recipe: &Bytes,
    carried: &mut HashMap<u128, Bytes>,
    mut find: impl FnMut(u128, u32) -> Option<Bytes>,
) -> Option<Bytes> {
    let mut out = RecipeWriter::with_capacity(recipe.len());
    for piece in pieces(recipe) {
        match piece? {
            Piece::Literal(bytes) => out.literal(bytes),
            Piece::Chunk {
                hash,
                bytes: Some(bytes),
                ..
            } => {
                out.chunk(hash, bytes, false);
                carried.insert(hash, recipe.slice_ref(bytes));
            }
            Piece::Chunk {
                hash,
                len,
                bytes: None,
            } => {
                let bytes = carried
                    .get(&hash)
                    .filter(|b| b.len() == len as usize)
                    .cloned()
                    .or_else(|| find(hash, len).filter(|b| b.len() == len as usize))?;
                out.chunk(hash, &bytes, false);
            }
            Piece::Stored(_) | Piece::Placed(..) => return None,
        }
    }
    Some(out.finish())
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
    Placed(Place, u32),
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
                PLACED => {
                    let place = Place::read(&mut s)?;
                    let len = u32::from_le_bytes(take(&mut s, 4)?.try_into().ok()?);
                    Piece::Placed(place, len)
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

/// Where a stored chunk's bytes (or a row's content) begin: a page and an offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Place {
    page: u64,
    offset: u32,
}

impl Place {
    fn read(s: &mut &[u8]) -> Option<Place> {
        let page = u64::from_le_bytes(take(s, 8)?.try_into().ok()?);
        let offset = u32::from_le_bytes(take(s, 4)?.try_into().ok()?);
        Some(Place { page, offset })
    }

    fn write(self, out: &mut Vec<u8>) {
        out.put_u64_le(self.page);
        out.put_u32_le(self.offset);
    }
}

/// A stored chunk: where it is and how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    place: Place,
    len: u32,
}

/// Where each hash's chunk is, for every chunk the store holds (loaded when the owner starts,
/// so no hash-keyed table is written: in a copy-on-write B-tree each insert at a random key
/// rewrites a page of its own, 8 KB per logged request). Only the store's writer thread holds
/// it.
#[derive(Default)]
pub struct ChunkMemo {
    places: HashMap<u128, Held>,
}

/// Chunks remembered at most (about 50 MB); past it the oldest half is forgotten (their
/// senders are told to send them again, and they are stored anew).
const MEMO_MAX: usize = 1_000_000;

impl ChunkMemo {
    /// What the store in `db` holds.
    pub fn load(db: &redb::Database) -> Result<ChunkMemo, StoreError> {
        let tx = db.begin_read().map_err(db_err)?;
        let chunks = tx.open_table(PAGE_CHUNKS).map_err(db_err)?;
        let mut places = HashMap::with_capacity(chunks.len().map_err(db_err)? as usize);
        // In page order, so a chunk copied forward ends up at its newest copy.
        for entry in chunks.iter().map_err(db_err)? {
            let (at, chunk) = entry.map_err(db_err)?;
            let (page, offset) = at.value();
            let (hash, len) = chunk.value();
            let place = Place { page, offset };
            places.insert(hash, Held { place, len });
        }
        let mut memo = ChunkMemo { places };
        memo.trim();
        Ok(memo)
    }

    /// A transaction that wrote `written` committed.
    pub fn learn(&mut self, written: ChunksWritten) {
        self.places.extend(written.0);
        self.trim();
    }

    fn trim(&mut self) {
        if self.places.len() <= MEMO_MAX {
            return;
        }
        let (oldest, newest) = self.places.values().fold((u64::MAX, 0), |(lo, hi), h| {
            (lo.min(h.place.page), hi.max(h.place.page))
        });
        let middle = oldest + (newest - oldest) / 2;
        self.places.retain(|_, h| h.place.page > middle);
    }
}

/// When a page (or a schema-4 chunk) under `key` was written (ms since the epoch).
fn key_time(key: u64) -> u64 {
    key >> KEY_SEQ_BITS
}

/// The smallest key of a page written at `time_ms`.
fn key_floor(time_ms: u64) -> u64 {
    time_ms << KEY_SEQ_BITS
}

/// The content one write transaction stores: its pages (the last one written by
/// [`ChunkWrites::finish`], which must be called before the commit) and the chunks it stored.
pub struct ChunkWrites<'t> {
    pages: Table<'t, u64, &'static [u8]>,
    chunks: Table<'t, (u64, u32), (u128, u32)>,
    now_ms: u64,
    page_key: u64,
    page: Vec<u8>,
    /// Chunks stored in this transaction, by hash.
    changed: HashMap<u128, Held>,
}

impl<'t> ChunkWrites<'t> {
    /// Opens the page tables in `tx`; pages written now get keys of time `now_ms`.
    pub fn open(tx: &'t WriteTransaction, now_ms: u64) -> Result<ChunkWrites<'t>, StoreError> {
        let pages = tx.open_table(PAGES).map_err(db_err)?;
        // Keys only grow, even if the clock steps back.
        let after_last = match pages.last().map_err(db_err)? {
            Some((k, _)) => k.value().saturating_add(1),
            None => 0,
        };
        Ok(ChunkWrites {
            pages,
            chunks: tx.open_table(PAGE_CHUNKS).map_err(db_err)?,
            now_ms,
            page_key: after_last.max(key_floor(now_ms)),
            page: Vec::new(),
            changed: HashMap::new(),
        })
    }

    /// The stored chunk `hash` names, if the store holds one `len` bytes long (another length
    /// is another chunk: a sender's bug, or hashes that collide).
    fn held(&self, memo: &ChunkMemo, hash: u128, len: u32) -> Option<Held> {
        self.changed
            .get(&hash)
            .or_else(|| memo.places.get(&hash))
            .filter(|h| h.len == len)
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
                hash,
                len,
                bytes: None,
            }) => carried.contains(&hash) || self.held(memo, hash, len).is_some(),
            _ => true,
        })
    }

    /// Stores `content` of a request that started at `started_ms` in this transaction's page,
    /// with the chunks of its recipe that are new, and gives the value that finds it (a row's
    /// `log_content` value). A chunk stored more than [`REFRESH_MS`] before now (or before
    /// the request started, should the clock have stepped back) is stored again, so that
    /// pruning pages by time never takes a chunk a kept row uses. `None` when the recipe is
    /// malformed or names a chunk the store cannot find.
    pub fn put(
        &mut self,
        memo: &ChunkMemo,
        content: &RawContent,
        started_ms: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        // A page ends before a row that would take it past its size (the row's new chunks and
        // recipe are at most its request's length).
        let most = content.request.len() + content.response.len() + 5;
        if !self.page.is_empty() && self.page.len() + most > PAGE_BYTES {
            self.write_page()?;
        }
        let fresh_after = self.now_ms.max(started_ms).saturating_sub(REFRESH_MS);
        let Some(recipe) = self.keep_recipe(memo, &content.request, fresh_after)? else {
            return Ok(None);
        };
        let place = self.here();
        let Ok(recipe_len) = u32::try_from(recipe.0.len()) else {
            return Ok(None);
        };
        self.page.push(if content.response_is_sse { 3 } else { 2 });
        self.page.put_u32_le(recipe_len);
        self.page.extend_from_slice(&recipe.0);
        self.page.extend_from_slice(&content.response);
        let Ok(len) = u32::try_from(self.page.len() - place.offset as usize) else {
            return Ok(None);
        };
        let mut value = Vec::with_capacity(17);
        value.push(IN_PAGE);
        place.write(&mut value);
        value.put_u32_le(len);
        Ok(Some(value))
    }

    /// The recipe to keep for `recipe` (chunks by place), its new chunks stored; chunks
    /// stored before `fresh_after` (ms) are stored again.
    fn keep_recipe(
        &mut self,
        memo: &ChunkMemo,
        recipe: &[u8],
        fresh_after: u64,
    ) -> Result<Option<RecipeWriter>, StoreError> {
        let mut kept = RecipeWriter::with_capacity(256);
        for piece in pieces(recipe) {
            let Some(piece) = piece else {
                return Ok(None);
            };
            match piece {
                Piece::Literal(b) => kept.literal(b),
                Piece::Stored(_) | Piece::Placed(..) => return Ok(None),
                // Nothing to keep (and no page to point into).
                Piece::Chunk { len: 0, .. } => {}
                Piece::Chunk { hash, len, bytes } => {
                    let held = self.held(memo, hash, len);
                    let place = match (held, bytes) {
                        (Some(h), _) if key_time(h.place.page) >= fresh_after => h.place,
                        (_, Some(b)) => self.store(hash, b)?,
                        (Some(old), None) => match self.copy_forward(hash, old)? {
                            Some(place) => place,
                            None => return Ok(None),
                        },
                        // Named without bytes and unknown: [`ChunkWrites::holds_all`] let it
                        // through, so the recipe is damaged.
                        (None, None) => return Ok(None),
                    };
                    kept.0.put_u8(PLACED);
                    place.write(&mut kept.0);
                    kept.0.put_u32_le(len);
                }
            }
        }
        Ok(Some(kept))
    }

    /// Stores again the chunk `hash` held at `old`; `None` if its page is gone.
    fn copy_forward(&mut self, hash: u128, old: Held) -> Result<Option<Place>, StoreError> {
        let Some(page) = self.pages.get(old.place.page).map_err(db_err)? else {
            return Ok(None);
        };
        let bytes = slice(page.value(), old.place.offset, old.len).map(<[u8]>::to_vec);
        drop(page);
        match bytes {
            Some(b) => self.store(hash, &b).map(Some),
            None => Ok(None),
        }
    }

    /// Where the next bytes put in the page go.
    fn here(&self) -> Place {
        Place {
            page: self.page_key,
            offset: self.page.len() as u32,
        }
    }

    fn store(&mut self, hash: u128, bytes: &[u8]) -> Result<Place, StoreError> {
        let place = self.here();
        let len = u32::try_from(bytes.len())
            .map_err(|_| StoreError::Corrupt("a request chunk over 4 GiB".into()))?;
        self.page.extend_from_slice(bytes);
        self.chunks
            .insert((place.page, place.offset), (hash, len))
            .map_err(db_err)?;
        self.changed.insert(hash, Held { place, len });
        Ok(place)
    }

    fn write_page(&mut self) -> Result<(), StoreError> {
        if !self.page.is_empty() {
            self.pages
                .insert(self.page_key, self.page.as_slice())
                .map_err(db_err)?;
            self.page.clear();
            self.page_key += 1;
        }
        Ok(())
    }

    /// Writes the last page, and gives what this transaction stored, for
    /// [`ChunkMemo::learn`] once it has committed (the tables borrow the transaction, so they
    /// go first).
    pub fn finish(mut self) -> Result<ChunksWritten, StoreError> {
        self.write_page()?;
        Ok(ChunksWritten(self.changed))
    }
}

/// The `len` bytes at `offset` in `page`, if it holds them.
fn slice(page: &[u8], offset: u32, len: u32) -> Option<&[u8]> {
    let start = offset as usize;
    page.get(start..start.checked_add(len as usize)?)
}

/// Chunks a transaction stored, by hash.
pub struct ChunksWritten(HashMap<u128, Held>);

/// The stored form of a row's content, as schema 4 kept it in `log_content` and as a page
/// holds it now: a kind byte (2, or 3 when the response is SSE), the recipe's length (u32,
/// little-endian), the recipe, the response (compressed).
#[cfg(test)]
pub fn stored(recipe: &[u8], response: &[u8], sse: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + recipe.len() + response.len());
    out.push(if sse { 3 } else { 2 });
    out.put_u32_le(recipe.len() as u32);
    out.extend_from_slice(recipe);
    out.extend_from_slice(response);
    out
}

/// Pages and chunks read while answering one query, so a search over many rows reads each
/// page (and each chunk of an older schema) once, within a bound.
pub struct ChunkReader {
    pages: redb::ReadOnlyTable<u64, &'static [u8]>,
    pieces: redb::ReadOnlyTable<u64, &'static [u8]>,
    legacy: redb::ReadOnlyTable<u128, &'static [u8]>,
    page_cache: HashMap<u64, redb::AccessGuard<'static, &'static [u8]>>,
    page_cache_bytes: usize,
    cache: HashMap<Name, Vec<u8>>,
    cached_bytes: usize,
}

/// A stored chunk of an older schema: by key, or by hash in schema 3's table.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Name {
    Key(u64),
    Legacy(u128),
}

/// Page bytes, and chunk bytes of older schemas, cached per query at most (each).
const READ_CACHE_BYTES: usize = 64 * 1024 * 1024;

impl ChunkReader {
    /// A reader over the chunks `tx` sees.
    pub fn open(tx: &redb::ReadTransaction) -> Result<ChunkReader, StoreError> {
        Ok(ChunkReader {
            pages: tx.open_table(PAGES).map_err(db_err)?,
            pieces: tx.open_table(PIECES).map_err(db_err)?,
            legacy: tx.open_table(LEGACY_CHUNKS).map_err(db_err)?,
            page_cache: HashMap::new(),
            page_cache_bytes: 0,
            cache: HashMap::new(),
            cached_bytes: 0,
        })
    }

    /// The `len` bytes at `place`.
    fn at(&mut self, place: Place, len: u32) -> Result<&[u8], StoreError> {
        if len == 0 {
            return Ok(&[]);
        }
        if !self.page_cache.contains_key(&place.page) {
            let Some(page) = self.pages.get(place.page).map_err(db_err)? else {
                return Err(StoreError::Corrupt(
                    "a page of request content is missing from the log".into(),
                ));
            };
            let size = page.value().len();
            if self.page_cache_bytes + size > READ_CACHE_BYTES {
                self.page_cache.clear();
                self.page_cache_bytes = 0;
            }
            self.page_cache_bytes += size;
            self.page_cache.insert(place.page, page);
        }
        self.page_cache
            .get(&place.page)
            .and_then(|p| slice(p.value(), place.offset, len))
            .ok_or_else(|| StoreError::Corrupt("a page of request content".into()))
    }

    /// Appends the request `recipe` stands for to `out`.
    fn rebuild(&mut self, recipe: &[u8], out: &mut Vec<u8>) -> Result<(), StoreError> {
        for piece in pieces(recipe) {
            let name = match piece {
                Some(Piece::Literal(b)) | Some(Piece::Chunk { bytes: Some(b), .. }) => {
                    out.extend_from_slice(b);
                    continue;
                }
                Some(Piece::Placed(place, len)) => {
                    out.extend_from_slice(self.at(place, len)?);
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

    /// The request and the response bytes of a row's content value, and whether the
    /// response is SSE.
    pub fn open_value(&mut self, value: &[u8]) -> Result<(Vec<u8>, Vec<u8>, bool), StoreError> {
        let damaged = || StoreError::Corrupt("a request's stored content".into());
        if value.first() == Some(&IN_PAGE) {
            let mut s = &value[1..];
            let place = Place::read(&mut s).ok_or_else(damaged)?;
            let len = u32::from_le_bytes(s.try_into().map_err(|_| damaged())?);
            let stored = self.at(place, len)?.to_vec();
            return self.open_stored(&stored);
        }
        self.open_stored(value)
    }

    /// The same, of content in its stored form ([`stored`]).
    fn open_stored(&mut self, stored: &[u8]) -> Result<(Vec<u8>, Vec<u8>, bool), StoreError> {
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
                let mut request = Vec::with_capacity(first.len().saturating_mul(8).min(1 << 20));
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

    /// The content of a row's content value, as `bgw logs show` prints it.
    pub fn content(&mut self, value: &[u8]) -> Result<Content, StoreError> {
        let (request, response, sse) = self.open_value(value)?;
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

/// Makes the page and chunk tables (inside the schema check's transaction).
pub fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(PAGES).map_err(db_err)?;
    tx.open_table(PAGE_CHUNKS).map_err(db_err)?;
    tx.open_table(PIECES).map_err(db_err)?;
    tx.open_table(PIECE_NAMES).map_err(db_err)?;
    tx.open_table(LEGACY_CHUNKS).map_err(db_err)?;
    tx.open_table(LEGACY_SEEN).map_err(db_err)?;
    tx.open_table(LEGACY_AGE).map_err(db_err)?;
    Ok(())
}

/// Deletes up to `max` pages (and chunks of older schemas) no row started at or after
/// `before_ms` can use (rows older than that are gone); says how many went.
pub fn prune(
    tx: &WriteTransaction,
    memo: &mut ChunkMemo,
    before_ms: u64,
    max: usize,
) -> Result<usize, StoreError> {
    let end = key_floor(before_ms.saturating_sub(REFRESH_MS));
    let mut pages = tx.open_table(PAGES).map_err(db_err)?;
    let old = keys_below(&pages, end, max)?;
    for &key in &old {
        pages.remove(key).map_err(db_err)?;
    }
    if let Some(&last) = old.last() {
        let mut chunks = tx.open_table(PAGE_CHUNKS).map_err(db_err)?;
        let mut gone = Vec::new();
        for entry in chunks.range(..(last + 1, 0)).map_err(db_err)? {
            let (at, chunk) = entry.map_err(db_err)?;
            gone.push((at.value(), chunk.value().0));
        }
        for ((page, offset), hash) in gone {
            chunks.remove((page, offset)).map_err(db_err)?;
            // A newer copy stays.
            if memo.places.get(&hash).map(|h| h.place) == Some(Place { page, offset }) {
                memo.places.remove(&hash);
            }
        }
    }
    let mut removed = old.len();
    if removed < max {
        removed += prune_schema_4(tx, end, max - removed)?;
    }
    if removed < max {
        removed += prune_legacy(tx, before_ms, max - removed)?;
    }
    Ok(removed)
}

/// Deletes up to `max` schema-4 chunks stored before the key `end`.
fn prune_schema_4(tx: &WriteTransaction, end: u64, max: usize) -> Result<usize, StoreError> {
    let mut names = tx.open_table(PIECE_NAMES).map_err(db_err)?;
    if names.is_empty().map_err(db_err)? {
        return Ok(0);
    }
    let mut pieces = tx.open_table(PIECES).map_err(db_err)?;
    let old = keys_below(&names, end, max)?;
    for &key in &old {
        pieces.remove(key).map_err(db_err)?;
        names.remove(key).map_err(db_err)?;
    }
    Ok(old.len())
}

/// The first `max` keys of `table` below `end`.
fn keys_below<V: redb::Value + 'static>(
    table: &Table<u64, V>,
    end: u64,
    max: usize,
) -> Result<Vec<u64>, StoreError> {
    let mut keys = Vec::new();
    for entry in table.range(..end).map_err(db_err)?.take(max) {
        keys.push(entry.map_err(db_err)?.0.value());
    }
    Ok(keys)
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
