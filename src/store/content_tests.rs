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

fn count(file: &File, def: TableDefinition<u128, &[u8]>) -> u64 {
    let tx = file.db.begin_read().unwrap();
    tx.open_table(def).unwrap().len().unwrap()
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
    assert_eq!(count(&file, CHUNKS), 1);
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

#[test]
fn pruning_deletes_the_chunks_only_pruned_rows_used() {
    let dir = tempfile::tempdir().unwrap();
    let file = own(dir.path());
    let mut memo = ChunkMemo::default();
    let day = 86_400_000;
    let write = |memo: &mut ChunkMemo, now: u64, own: &str, chunk: &str| {
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
        let changed = chunks.into_changed();
        tx.commit().unwrap();
        memo.learn(changed);
        id
    };
    write(&mut memo, day, "old ", "only the old row uses this");
    write(&mut memo, day, "old too ", "both rows use this");
    let kept = write(&mut memo, 10 * day, "new ", "both rows use this");
    assert_eq!(count(&file, CHUNKS), 2);
    let tx = file.db.begin_write().unwrap();
    assert_eq!(logs::prune(&tx, 5 * day, 100).unwrap(), 2);
    assert_eq!(prune(&tx, &mut memo, 5 * day, 100).unwrap(), 1);
    tx.commit().unwrap();
    assert_eq!(count(&file, CHUNKS), 1);
    let tx = file.db.begin_read().unwrap();
    let content = logs::content(&tx, kept).unwrap().unwrap();
    assert_eq!(content.request, "new both rows use this");
}

#[test]
fn a_recently_used_chunk_outlives_the_rows_by_the_slack_only() {
    let dir = tempfile::tempdir().unwrap();
    let file = own(dir.path());
    let mut memo = ChunkMemo::default();
    let tx = file.db.begin_write().unwrap();
    let mut chunks = ChunkWrites::open(&tx, 1_000_000).unwrap();
    let mut r = RecipeWriter::with_capacity(64);
    r.chunk(hash("c"), b"c", false);
    let e = Incoming::of(&entry(1_000_000, r.finish())).unwrap();
    logs::insert(&tx, &mut chunks, &memo, &[e])
        .unwrap()
        .unwrap();
    let changed = chunks.into_changed();
    tx.commit().unwrap();
    memo.learn(changed);
    let tx = file.db.begin_write().unwrap();
    logs::prune(&tx, 2_000_000, 100).unwrap();
    assert_eq!(
        prune(&tx, &mut memo, 1_000_000 + SEEN_SLACK_MS, 100).unwrap(),
        0
    );
    assert_eq!(
        prune(&tx, &mut memo, 1_000_001 + SEEN_SLACK_MS, 100).unwrap(),
        1
    );
    tx.commit().unwrap();
}
