use super::*;
use crate::store::file::{File, Opened};
use crate::store::logs::{self, Entry, Incoming, LogQuery, LogRow, RequestId};
use crate::store::{Appended, Store};
use redb::{ReadableDatabase, ReadableTableMetadata};

fn row(time_ms: u64) -> LogRow {
    serde_json::from_value(serde_json::json!({
        "id": RequestId::new(time_ms),
        "run": "run-a",
        "requested_model": "openai/gpt-5",
        "provider": "openai",
        "upstream_model": "gpt-5",
        "status": 200,
        "stream": false,
        "usage": {"input_tokens": 1, "output_tokens": 1},
        "cost": 0.0,
        "total_us": 1,
        "has_content": true,
    }))
    .unwrap()
}

const TOOLS: &str = "a tool definition that every request repeats";

/// A body `{"a":<tools chunk>,"b":"<own>"}` as a recipe; the chunk's bytes go along unless
/// the store is `known` to hold them.
fn recipe(own: &str, known: bool) -> (String, Bytes) {
    let chunk = format!("{TOOLS:?}");
    let mut r = RecipeWriter::with_capacity(64);
    r.literal(b"{\"a\":");
    r.chunk(hash(&chunk), chunk.as_bytes(), known);
    r.literal(format!(",\"b\":{own:?}}}").as_bytes());
    (format!("{{\"a\":{chunk},\"b\":{own:?}}}"), r.finish())
}

fn hash(s: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(s.as_bytes())
}

fn entry(time_ms: u64, recipe: Bytes) -> Entry {
    Entry {
        row: row(time_ms),
        content: Some(RawContent::new(recipe, b"{\"ok\":true}", false)),
    }
}

/// How many chunks the store holds.
fn chunks_held(file: &File) -> u64 {
    let tx = file.db.begin_read().unwrap();
    tx.open_table(PAGE_CHUNKS).unwrap().len().unwrap()
}

fn pages(file: &File) -> u64 {
    let tx = file.db.begin_read().unwrap();
    tx.open_table(PAGES).unwrap().len().unwrap()
}

fn own(dir: &std::path::Path) -> File {
    crate::store::file::open_in_test(dir)
}

#[test]
fn a_chunk_shared_by_requests_is_stored_once_and_each_request_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let (first, with_bytes) = recipe("first", false);
    let (second, by_name) = recipe("second", true);
    let (third, again) = recipe("third", false);
    let a = entry(1_000, with_bytes);
    let b = entry(2_000, by_name);
    let c = entry(3_000, again);
    let ids = [a.row.id, b.row.id, c.row.id];
    assert_eq!(store.append(&[a]).unwrap(), Appended::Written);
    assert_eq!(store.append(&[b, c]).unwrap(), Appended::Written);
    for (id, want) in ids.iter().zip([&first, &second, &third]) {
        let content = store.log_content(*id).unwrap().unwrap();
        assert_eq!(&content.request, want);
        assert_eq!(content.response, "{\"ok\":true}");
    }
    let found = store
        .logs(&LogQuery {
            search: Some("DEFINITION THAT".into()),
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(found.len(), 3);
    drop(store);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let file = wait_for_file(dir.path());
    assert_eq!(chunks_held(&file), 1);
}

/// The store's file once its owner (a thread of this test) has let go of it.
fn wait_for_file(dir: &std::path::Path) -> File {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Ok(Opened::Mine(f)) = File::open(dir) {
            return f;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the owner kept the file"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_chunk_named_but_not_held_makes_the_sender_send_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let (_, by_name) = recipe("x", true);
    let e = entry(1_000, by_name);
    let id = e.row.id;
    let plain = entry(1_001, RawContent::whole(b"{}", b"", false).request);
    // Nothing of the append is written, not even its other rows.
    assert_eq!(store.append(&[plain, e]).unwrap(), Appended::SendChunks);
    assert!(store.logs(&LogQuery::default()).unwrap().is_empty());
    let (want, with_bytes) = recipe("x", false);
    let mut e = entry(1_000, with_bytes);
    e.row.id = id;
    assert_eq!(store.append(&[e]).unwrap(), Appended::Written);
    assert_eq!(store.log_content(id).unwrap().unwrap().request, want);
}

/// Writes a row at `now` whose body is `own` then `chunk` (sent with its bytes), as the owner
/// does; gives its id.
fn write(file: &File, memo: &mut ChunkMemo, now: u64, own: &str, chunk: &str) -> RequestId {
    let tx = file.db.begin_write().unwrap();
    let mut chunks = ChunkWrites::open(&tx, now).unwrap();
    let mut r = RecipeWriter::with_capacity(64);
    r.literal(own.as_bytes());
    r.chunk(hash(chunk), chunk.as_bytes(), false);
    let e = entry(now, r.finish());
    let id = e.row.id;
    logs::insert(&tx, &mut chunks, memo, &[Incoming::of(&e).unwrap()])
        .unwrap()
        .unwrap();
    let changed = chunks.finish().unwrap();
    tx.commit().unwrap();
    memo.learn(changed);
    id
}

fn request(file: &File, id: RequestId) -> String {
    let tx = file.db.begin_read().unwrap();
    logs::content(&tx, id).unwrap().unwrap().request
}

const DAY: u64 = 86_400_000;

#[test]
fn pruning_deletes_the_chunks_only_pruned_rows_used() {
    let dir = tempfile::tempdir().unwrap();
    let file = own(dir.path());
    let mut memo = ChunkMemo::default();
    write(&file, &mut memo, DAY, "old ", "only the old row uses this");
    write(&file, &mut memo, DAY, "old too ", "both rows use this");
    let kept = write(&file, &mut memo, 10 * DAY, "new ", "both rows use this");
    // The shared chunk was stored again for the new row: its first copy is older than a refresh.
    assert_eq!(chunks_held(&file), 3);
    let tx = file.db.begin_write().unwrap();
    assert_eq!(logs::prune(&tx, 5 * DAY, 100).unwrap(), 2);
    // The two pages the old rows were written in.
    assert_eq!(prune(&tx, &mut memo, 5 * DAY, 100).unwrap(), 2);
    tx.commit().unwrap();
    assert_eq!(chunks_held(&file), 1);
    assert_eq!(pages(&file), 1);
    assert_eq!(request(&file, kept), "new both rows use this");
}

#[test]
fn a_chunk_used_within_a_refresh_is_stored_once_and_outlives_its_rows_by_a_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let file = own(dir.path());
    let mut memo = ChunkMemo::default();
    write(&file, &mut memo, DAY, "a ", "shared");
    let last = write(&file, &mut memo, DAY + REFRESH_MS, "b ", "shared");
    assert_eq!(chunks_held(&file), 1);
    let tx = file.db.begin_write().unwrap();
    logs::prune(&tx, DAY + 1, 100).unwrap();
    // The second row, still kept, uses the chunk stored with the first.
    assert_eq!(prune(&tx, &mut memo, DAY + REFRESH_MS, 100).unwrap(), 0);
    tx.commit().unwrap();
    assert_eq!(request(&file, last), "b shared");
    let tx = file.db.begin_write().unwrap();
    assert_eq!(prune(&tx, &mut memo, DAY + REFRESH_MS + 1, 100).unwrap(), 1);
    tx.commit().unwrap();
}

#[test]
fn an_owner_that_starts_knows_the_chunks_the_store_holds_at_their_newest_copy() {
    let dir = tempfile::tempdir().unwrap();
    let file = own(dir.path());
    let mut memo = ChunkMemo::default();
    write(&file, &mut memo, DAY, "a ", "shared");
    write(&file, &mut memo, 3 * DAY, "b ", "shared");
    let tx = file.db.begin_write().unwrap();
    assert_eq!(prune(&tx, &mut memo, 2 * DAY + REFRESH_MS, 100).unwrap(), 1);
    tx.commit().unwrap();
    let memo = ChunkMemo::load(&file.db).unwrap();
    let tx = file.db.begin_write().unwrap();
    let mut chunks = ChunkWrites::open(&tx, 3 * DAY).unwrap();
    let mut r = RecipeWriter::with_capacity(64);
    r.literal(b"c ");
    r.chunk(hash("shared"), b"shared", true);
    let r = r.finish();
    assert!(chunks.holds_all(&memo, [&r[..]].into_iter()));
    let e = entry(3 * DAY, r);
    let id = e.row.id;
    logs::insert(&tx, &mut chunks, &memo, &[Incoming::of(&e).unwrap()])
        .unwrap()
        .unwrap();
    chunks.finish().unwrap();
    tx.commit().unwrap();
    assert_eq!(request(&file, id), "c shared");
    assert_eq!(chunks_held(&file), 1);
}

#[test]
fn a_schema_3_recipe_reads_its_chunks_by_hash_until_they_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let file = own(dir.path());
    let id = RequestId::new(DAY);
    let mut r = RecipeWriter::with_capacity(64);
    r.literal(b"old ");
    r.chunk(hash("by hash"), b"by hash", true);
    let value = stored(&r.finish(), &lz4_flex::compress_prepend_size(b"{}"), false);
    let log_content: TableDefinition<u128, &[u8]> = TableDefinition::new("log_content");
    let tx = file.db.begin_write().unwrap();
    tx.open_table(log_content)
        .unwrap()
        .insert(id.0, value.as_slice())
        .unwrap();
    tx.open_table(LEGACY_CHUNKS)
        .unwrap()
        .insert(hash("by hash"), b"by hash".as_slice())
        .unwrap();
    tx.open_table(LEGACY_SEEN)
        .unwrap()
        .insert(hash("by hash"), DAY)
        .unwrap();
    tx.open_table(LEGACY_AGE)
        .unwrap()
        .insert((DAY, hash("by hash")), ())
        .unwrap();
    tx.commit().unwrap();
    assert_eq!(request(&file, id), "old by hash");
    let tx = file.db.begin_write().unwrap();
    let mut memo = ChunkMemo::default();
    assert_eq!(
        prune(&tx, &mut memo, DAY + LEGACY_SLACK_MS, 100).unwrap(),
        0
    );
    assert_eq!(
        prune(&tx, &mut memo, DAY + LEGACY_SLACK_MS + 1, 100).unwrap(),
        1
    );
    tx.commit().unwrap();
}

/// Writes, as schema 4 did, the content of a request at `time_ms` whose body is "old " and
/// the chunk "by key" (stored as a value of its own, named by key in the recipe); gives its id.
fn write_schema_4_row(tx: &WriteTransaction, time_ms: u64) -> RequestId {
    let id = RequestId::new(time_ms);
    let key = key_floor(time_ms);
    let mut r = RecipeWriter::with_capacity(64);
    r.literal(b"old ");
    r.0.put_u8(STORED);
    r.0.put_u64_le(key);
    r.0.put_u32_le(6);
    let value = stored(&r.finish(), &lz4_flex::compress_prepend_size(b"{}"), false);
    let log_content: TableDefinition<u128, &[u8]> = TableDefinition::new("log_content");
    tx.open_table(log_content)
        .unwrap()
        .insert(id.0, value.as_slice())
        .unwrap();
    tx.open_table(PIECES)
        .unwrap()
        .insert(key, b"by key".as_slice())
        .unwrap();
    tx.open_table(PIECE_NAMES)
        .unwrap()
        .insert(key, hash("by key"))
        .unwrap();
    id
}

#[test]
fn a_schema_4_recipe_reads_its_chunks_by_key_until_they_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let file = own(dir.path());
    let tx = file.db.begin_write().unwrap();
    let id = write_schema_4_row(&tx, DAY);
    tx.commit().unwrap();
    assert_eq!(request(&file, id), "old by key");
    let tx = file.db.begin_write().unwrap();
    let mut memo = ChunkMemo::default();
    assert_eq!(prune(&tx, &mut memo, DAY + REFRESH_MS, 100).unwrap(), 0);
    assert_eq!(prune(&tx, &mut memo, DAY + REFRESH_MS + 1, 100).unwrap(), 1);
    tx.commit().unwrap();
}

#[test]
fn the_content_of_a_large_commit_is_split_into_pages_and_every_row_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = own(dir.path());
    let mut memo = ChunkMemo::default();
    let tx = file.db.begin_write().unwrap();
    let mut chunks = ChunkWrites::open(&tx, DAY).unwrap();
    // Two rows fit in a page; a third would take it past the size.
    let bodies: Vec<String> = (0..5)
        .map(|i| format!("{i}").repeat(PAGE_BYTES / 3))
        .collect();
    let rows: Vec<Entry> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let mut r = RecipeWriter::with_capacity(body.len());
            r.literal(b"own ");
            r.chunk(hash(body), body.as_bytes(), false);
            entry(DAY + i as u64, r.finish())
        })
        .collect();
    let incoming: Vec<Incoming> = rows.iter().map(|e| Incoming::of(e).unwrap()).collect();
    logs::insert(&tx, &mut chunks, &memo, &incoming)
        .unwrap()
        .unwrap();
    memo.learn(chunks.finish().unwrap());
    tx.commit().unwrap();
    assert_eq!(pages(&file), 3);
    for (row, body) in rows.iter().zip(&bodies) {
        assert_eq!(request(&file, row.row.id), format!("own {body}"));
    }
}

/// Writes a row at `now` whose recipe is `pieces` (literal text, or a chunk: hash, bytes and
/// whether they go along); gives its id.
fn write_recipe(
    file: &File,
    memo: &mut ChunkMemo,
    now: u64,
    pieces: &[(&str, Option<bool>)],
) -> RequestId {
    let mut r = RecipeWriter::with_capacity(64);
    for (text, chunk) in pieces {
        match chunk {
            None => r.literal(text.as_bytes()),
            Some(known) => r.chunk(hash(text), text.as_bytes(), *known),
        }
    }
    let tx = file.db.begin_write().unwrap();
    let mut chunks = ChunkWrites::open(&tx, now).unwrap();
    let e = entry(now, r.finish());
    let id = e.row.id;
    let incoming = [Incoming::of(&e).unwrap()];
    assert!(
        chunks.holds_all(
            memo,
            incoming
                .iter()
                .map(|i| &i.content.as_ref().unwrap().request[..])
        )
    );
    logs::insert(&tx, &mut chunks, memo, &incoming)
        .unwrap()
        .unwrap();
    memo.learn(chunks.finish().unwrap());
    tx.commit().unwrap();
    id
}

#[test]
fn a_chunk_named_a_refresh_after_it_was_stored_is_copied_forward_from_its_page() {
    let dir = tempfile::tempdir().unwrap();
    let file = own(dir.path());
    let mut memo = ChunkMemo::default();
    let first = write_recipe(
        &file,
        &mut memo,
        DAY,
        &[
            ("a ", None),
            ("first chunk", Some(false)),
            ("second chunk", Some(false)),
        ],
    );
    // Named without its bytes, a day and more later: read from the old page, stored again.
    let later = write_recipe(
        &file,
        &mut memo,
        DAY + REFRESH_MS + 1,
        &[("b ", None), ("second chunk", Some(true))],
    );
    assert_eq!(chunks_held(&file), 3);
    let tx = file.db.begin_write().unwrap();
    assert_eq!(prune(&tx, &mut memo, DAY + REFRESH_MS + 1, 100).unwrap(), 1);
    tx.commit().unwrap();
    assert_eq!(request(&file, later), "b second chunk");
    let tx = file.db.begin_read().unwrap();
    assert!(logs::content(&tx, first).is_err());
}

#[test]
fn a_chunk_named_with_another_length_is_not_taken_for_the_one_held() {
    let dir = tempfile::tempdir().unwrap();
    let file = own(dir.path());
    let mut memo = ChunkMemo::default();
    write_recipe(&file, &mut memo, DAY, &[("held chunk", Some(false))]);
    let mut r = RecipeWriter::with_capacity(64);
    r.chunk(hash("held chunk"), b"held chunk, longer", true);
    let r = r.finish();
    let tx = file.db.begin_write().unwrap();
    let chunks = ChunkWrites::open(&tx, DAY).unwrap();
    assert!(!chunks.holds_all(&memo, [&r[..]].into_iter()));
}

#[test]
fn damaged_content_values_read_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let file = own(dir.path());
    let mut memo = ChunkMemo::default();
    let id = write_recipe(
        &file,
        &mut memo,
        DAY,
        &[("x ", None), ("a chunk", Some(false))],
    );
    let page = key_floor(DAY);
    let in_page = |page: u64, offset: u32, len: u32| {
        let mut v = vec![IN_PAGE];
        Place { page, offset }.write(&mut v);
        v.put_u32_le(len);
        v
    };
    let tx = file.db.begin_read().unwrap();
    let mut reader = ChunkReader::open(&tx).unwrap();
    for value in [
        vec![IN_PAGE, 1, 2],
        in_page(page, 0, 1 << 30),
        in_page(page, u32::MAX, 8),
        in_page(page + 99, 0, 8),
        vec![9, 0, 0, 0, 0],
        vec![],
    ] {
        assert!(
            matches!(reader.open_value(&value), Err(StoreError::Corrupt(_))),
            "{value:?}"
        );
    }
    assert_eq!(request(&file, id), "x a chunk");
}

#[test]
fn a_schema_4_store_opened_by_this_build_reads_its_old_content_and_writes_new() {
    let dir = tempfile::tempdir().unwrap();
    let old_id = {
        let file = own(dir.path());
        let meta: TableDefinition<&str, u64> = TableDefinition::new("meta");
        let tx = file.db.begin_write().unwrap();
        tx.open_table(meta)
            .unwrap()
            .insert("schema_version", 4)
            .unwrap();
        // Now, so the owner's pruning leaves it.
        let id = write_schema_4_row(&tx, crate::store::now_ms());
        tx.commit().unwrap();
        id
    };
    let store = Store::new(dir.path());
    assert_eq!(
        store.schema_version().unwrap(),
        crate::store::SCHEMA_VERSION
    );
    assert_eq!(
        store.log_content(old_id).unwrap().unwrap().request,
        "old by key"
    );
    let (want, with_bytes) = recipe("new", false);
    let e = entry(2 * DAY, with_bytes);
    let id = e.row.id;
    assert_eq!(store.append(&[e]).unwrap(), Appended::Written);
    assert_eq!(store.log_content(id).unwrap().unwrap().request, want);
}
