use super::*;
use crate::store::Store;
use crate::store::stats::StatsBy;
use redb::ReadableDatabase;

fn row(time_ms: u64, provider: &str, model: &str, status: u16) -> LogRow {
    LogRow {
        id: RequestId::new(time_ms),
        run: "run-a".into(),
        session: Some("s1".into()),
        caller: None,
        requested_model: format!("{provider}/{model}"),
        provider: provider.into(),
        upstream_model: model.into(),
        key: Some(provider.into()),
        status,
        error: (status >= 400).then(|| LoggedError {
            kind: "rate_limit_error".into(),
            message: "slow down".into(),
        }),
        stream: true,
        usage: Usage {
            input_tokens: 100,
            output_tokens: 10,
            ..Usage::default()
        },
        cost: Some(0.5),
        first_byte_us: Some(1_000),
        total_us: 2_000,
        attempts: vec![],
        rule: None,
        rule_errors: Vec::new(),
        has_content: false,
    }
}

fn entry(row: LogRow, request: &str) -> Entry {
    Entry {
        row,
        content: Some(RawContent::whole(request.as_bytes(), b"{}", false)),
    }
}

#[test]
fn ids_sort_by_time_and_read_back_from_text() {
    let a = RequestId::new(1_700_000_000_000);
    let b = RequestId::new(1_700_000_000_001);
    assert!(a < b);
    assert!(a.to_string() < b.to_string());
    assert_eq!(a.to_string().len(), 26);
    assert_eq!(RequestId::parse(&a.to_string()), Some(a));
    assert_eq!(RequestId::parse(&a.to_string().to_lowercase()), Some(a));
    assert_eq!(a.time_ms(), 1_700_000_000_000);
    assert_eq!(RequestId::parse("not an id"), None);
    assert_eq!(RequestId::parse("8ZZZZZZZZZZZZZZZZZZZZZZZZZ"), None);
}

#[test]
fn ids_made_in_the_same_millisecond_are_all_different() {
    let ids: std::collections::HashSet<RequestId> = (0..10_000)
        .map(|_| RequestId::new(1_700_000_000_000))
        .collect();
    assert_eq!(ids.len(), 10_000);
}

#[test]
fn queries_filter_newest_first_and_stop_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    store
        .append(&[
            entry(row(1_000, "groq", "llama", 200), "hello refactor"),
            entry(row(2_000, "openai", "gpt-5", 200), "other"),
            entry(row(3_000, "groq", "llama", 429), "again"),
            entry(row(4_000, "groq", "qwen", 200), "more"),
        ])
        .unwrap();
    let times = |q: LogQuery| -> Vec<u64> {
        store
            .logs(&q)
            .unwrap()
            .iter()
            .map(|r| r.id.time_ms())
            .collect()
    };
    let groq = LogQuery {
        provider: Some("groq".into()),
        ..LogQuery::default()
    };
    assert_eq!(times(groq.clone()), [4_000, 3_000, 1_000]);
    assert_eq!(
        times(LogQuery {
            limit: Some(2),
            ..groq.clone()
        }),
        [4_000, 3_000]
    );
    assert_eq!(
        times(LogQuery {
            model: Some("llama".into()),
            status: Some(StatusFilter::Error),
            ..LogQuery::default()
        }),
        [3_000]
    );
    assert_eq!(
        times(LogQuery {
            model: Some("groq/llama".into()),
            ..LogQuery::default()
        }),
        [3_000, 1_000],
        "the model asked for matches too"
    );
    assert_eq!(
        times(LogQuery {
            since_ms: Some(2_000),
            until_ms: Some(4_000),
            ..LogQuery::default()
        }),
        [3_000, 2_000]
    );
    assert_eq!(
        times(LogQuery {
            search: Some("REFACTOR".into()),
            ..LogQuery::default()
        }),
        [1_000]
    );
    assert_eq!(
        times(LogQuery {
            search: Some("slow down".into()),
            ..LogQuery::default()
        }),
        [3_000],
        "the error message is searched too"
    );
    assert_eq!(
        times(LogQuery {
            oldest_first: true,
            status: Some(StatusFilter::Ok),
            session: Some("s1".into()),
            ..LogQuery::default()
        }),
        [1_000, 2_000, 4_000]
    );
}

#[test]
fn a_batch_sent_twice_is_kept_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let batch = vec![entry(row(1_000, "groq", "llama", 200), "x")];
    store.append(&batch).unwrap();
    store.append(&batch).unwrap();
    assert_eq!(store.logs(&LogQuery::default()).unwrap().len(), 1);
    let groq = LogQuery {
        provider: Some("groq".into()),
        ..LogQuery::default()
    };
    assert_eq!(store.logs(&groq).unwrap().len(), 1);
}

#[test]
fn content_is_found_by_id_and_by_a_typed_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let r = row(5_000, "openai", "gpt-5", 200);
    let id = r.id;
    store.append(&[entry(r, "the request")]).unwrap();
    let content = store.log_content(id).unwrap().unwrap();
    assert_eq!(content.request, "the request");
    let prefix = &id.to_string()[..12];
    assert_eq!(store.ids_with_prefix(prefix).unwrap(), [id]);
    assert_eq!(store.ids_with_prefix("7ZZZZZZZZZZZ").unwrap(), []);
}

#[test]
fn pruning_removes_old_rows_with_their_index_entries() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    store
        .append(&[
            entry(row(1_000, "groq", "llama", 500), "old"),
            entry(row(9_000, "groq", "llama", 200), "new"),
        ])
        .unwrap();
    let file = crate::store::file::open_in_test(&dir.path().join("other"));
    let tx = file.db.begin_write().unwrap();
    let memo = crate::store::content::ChunkMemo::default();
    let mut chunks = crate::store::content::ChunkWrites::open(&tx, 9_000).unwrap();
    insert(
        &tx,
        &mut chunks,
        &memo,
        &[
            Incoming::of(&entry(row(1_000, "groq", "llama", 500), "old")).unwrap(),
            Incoming::of(&entry(row(9_000, "groq", "llama", 200), "new")).unwrap(),
        ],
    )
    .unwrap()
    .unwrap();
    chunks.finish().unwrap();
    assert_eq!(prune(&tx, 5_000, 100).unwrap(), 1);
    tx.commit().unwrap();
    let tx = file.db.begin_read().unwrap();
    let mut left = vec![];
    for q in [
        LogQuery::default(),
        LogQuery {
            provider: Some("groq".into()),
            ..LogQuery::default()
        },
        LogQuery {
            status: Some(StatusFilter::Error),
            ..LogQuery::default()
        },
    ] {
        scan(&tx, &q, |r| {
            left.push(r.id.time_ms());
            true
        })
        .unwrap();
    }
    assert_eq!(left, [9_000, 9_000]);
}

#[test]
fn stats_group_tokens_cost_and_latency() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let mut unpriced = row(3_000, "groq", "llama", 200);
    unpriced.cost = None;
    store
        .append(&[
            entry(row(1_000, "groq", "llama", 200), "a"),
            entry(row(2_000, "groq", "llama", 429), "b"),
            entry(unpriced, "c"),
            entry(row(4_000, "openai", "gpt-5", 200), "d"),
        ])
        .unwrap();
    let stats = store
        .log_stats(&LogQuery::default(), StatsBy::Provider)
        .unwrap();
    assert_eq!(stats.len(), 2);
    let groq = &stats[0];
    assert_eq!(
        (
            groq.group.as_str(),
            groq.requests,
            groq.errors,
            groq.unpriced
        ),
        ("groq", 3, 1, 1)
    );
    assert_eq!(groq.input_tokens, 300);
    assert!((groq.cost - 1.0).abs() < 1e-9, "{}", groq.cost);
    assert_eq!((groq.p50_ms, groq.p95_ms), (2.0, 2.0));
}

#[test]
fn a_streamed_answer_reads_back_as_the_message_it_spelled() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let r = row(6_000, "openai", "gpt-5", 200);
    let id = r.id;
    let sse = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"content\":[],\"usage\":{}}}\n\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi there\"}}\n\n",
    );
    let entry = Entry {
        row: r,
        content: Some(RawContent::whole(
            b"{\"model\":\"openai/gpt-5\"}",
            sse.as_bytes(),
            true,
        )),
    };
    store.append(&[entry]).unwrap();
    let content = store.log_content(id).unwrap().unwrap();
    let response: serde_json::Value = serde_json::from_str(&content.response).unwrap();
    assert_eq!(response["content"][0]["text"], "Hi there");
    assert_eq!(content.request, "{\"model\":\"openai/gpt-5\"}");
}
