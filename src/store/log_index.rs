//! The request log's indexes: for each provider, model, session and run, the ids of its rows.
//!
//! An index entry per row cost the store's writer more than the row itself (four B-tree
//! inserts for one). So the ids an append brings are kept as lists instead, one per value per
//! append: the key is the value and the newest id of the list, the list is the ids in order,
//! 16 bytes each. A query walks the lists of one value newest first and merges them; a list
//! may start long before its newest id (a request that streamed for minutes), so ids are
//! given out only once no list still to be read can hold a newer one.

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use std::collections::{BTreeMap, BinaryHeap};
use std::ops::Bound;

use super::{StoreError, db_err};

/// The indexed fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Provider,
    Model,
    Session,
    Run,
    /// The caller's virtual key, team and customer.
    Key,
    Team,
    Customer,
}

impl Field {
    const ALL: [Field; 7] = [
        Field::Provider,
        Field::Model,
        Field::Session,
        Field::Run,
        Field::Key,
        Field::Team,
        Field::Customer,
    ];

    fn table(self) -> TableDefinition<'static, (&'static str, u128), &'static [u8]> {
        match self {
            Field::Provider => TableDefinition::new("log_provider_ids"),
            Field::Model => TableDefinition::new("log_model_ids"),
            Field::Session => TableDefinition::new("log_session_ids"),
            Field::Run => TableDefinition::new("log_run_ids"),
            Field::Key => TableDefinition::new("log_key_ids"),
            Field::Team => TableDefinition::new("log_team_ids"),
            Field::Customer => TableDefinition::new("log_customer_ids"),
        }
    }

    /// The table of schema 2, an entry per row.
    fn old_table(self) -> TableDefinition<'static, (&'static str, u128), ()> {
        match self {
            Field::Provider => TableDefinition::new("log_by_provider"),
            Field::Model => TableDefinition::new("log_by_model"),
            Field::Session => TableDefinition::new("log_by_session"),
            Field::Run => TableDefinition::new("log_by_run"),
            // Schema 2 had no callers; these never existed, and migrating skips them.
            Field::Key => TableDefinition::new("log_by_key"),
            Field::Team => TableDefinition::new("log_by_team"),
            Field::Customer => TableDefinition::new("log_by_customer"),
        }
    }
}

/// One field's lists, open for writing.
type ListTable<'t> = redb::Table<'t, (&'static str, u128), &'static [u8]>;

/// The ids one append brings, by field and value.
#[derive(Debug, Default)]
pub struct Lists<'a> {
    ids: BTreeMap<(Field, &'a str), Vec<u128>>,
}

impl<'a> Lists<'a> {
    /// Row `id` has `value` in `field` (an empty value is not indexed).
    pub fn add(&mut self, field: Field, value: &'a str, id: u128) {
        if !value.is_empty() {
            self.ids.entry((field, value)).or_default().push(id);
        }
    }

    /// Writes the lists in `tx`. An append sent twice (its owner died before answering)
    /// meets its own lists and leaves them as they were.
    pub fn write(self, tx: &WriteTransaction) -> Result<(), StoreError> {
        let mut current: Option<(Field, ListTable)> = None;
        for ((field, value), mut ids) in self.ids {
            if current.as_ref().is_none_or(|(f, _)| *f != field) {
                current = Some((field, tx.open_table(field.table()).map_err(db_err)?));
            }
            let Some((_, table)) = current.as_mut() else {
                continue;
            };
            ids.sort_unstable();
            ids.dedup();
            let Some(&newest) = ids.last() else {
                continue;
            };
            if let Some(old) = table.get((value, newest)).map_err(db_err)? {
                ids.extend(decode(old.value()));
                ids.sort_unstable();
                ids.dedup();
            }
            table
                .insert((value, newest), encode(&ids).as_slice())
                .map_err(db_err)?;
        }
        Ok(())
    }
}

fn encode(ids: &[u128]) -> Vec<u8> {
    ids.iter().flat_map(|id| id.to_le_bytes()).collect()
}

fn decode(bytes: &[u8]) -> impl Iterator<Item = u128> + '_ {
    bytes
        .chunks_exact(16)
        .filter_map(|c| c.try_into().ok().map(u128::from_le_bytes))
}

/// Gives `visit` the ids with `value` in `field` between `low` and `high` (inclusive), newest
/// first or oldest first, until it says stop.
pub fn walk(
    tx: &redb::ReadTransaction,
    field: Field,
    value: &str,
    (low, high): (u128, u128),
    oldest_first: bool,
    mut visit: impl FnMut(u128) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let table = tx.open_table(field.table()).map_err(db_err)?;
    // Lists whose newest id is below `low` hold nothing wanted.
    let lists = table
        .range((value, low)..=(value, u128::MAX))
        .map_err(db_err)?;
    if oldest_first {
        // A later list may start before an earlier one ends: gather, then sort.
        let mut ids = Vec::new();
        for list in lists {
            let (_, v) = list.map_err(db_err)?;
            ids.extend(decode(v.value()).filter(|id| (low..=high).contains(id)));
        }
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            if !visit(id)? {
                break;
            }
        }
        return Ok(());
    }
    let mut waiting = BinaryHeap::new();
    let mut last = None;
    for list in lists.rev() {
        let (k, v) = list.map_err(db_err)?;
        let newest = k.value().1;
        // Every id still to come is at most `newest`: the ones above it can go out.
        while waiting.peek().is_some_and(|&id| id > newest) {
            let Some(id) = waiting.pop() else { break };
            if Some(id) != last && !visit(id)? {
                return Ok(());
            }
            last = Some(id);
        }
        waiting.extend(decode(v.value()).filter(|id| (low..=high).contains(id)));
    }
    while let Some(id) = waiting.pop() {
        if Some(id) != last && !visit(id)? {
            return Ok(());
        }
        last = Some(id);
    }
    Ok(())
}

/// Makes the index tables (inside the schema check's transaction).
pub fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    for field in Field::ALL {
        tx.open_table(field.table()).map_err(db_err)?;
    }
    Ok(())
}

/// Deletes the lists whose newest id is below `end` (their rows are gone).
pub fn prune(tx: &WriteTransaction, end: u128) -> Result<(), StoreError> {
    for field in Field::ALL {
        let mut table = tx.open_table(field.table()).map_err(db_err)?;
        let mut after: Option<String> = None;
        loop {
            // The next value: the first key past every list of the one before.
            let next = match &after {
                None => table
                    .first()
                    .map_err(db_err)?
                    .map(|(k, _)| k.value().0.to_owned()),
                Some(v) => table
                    .range::<(&str, u128)>((
                        Bound::Excluded((v.as_str(), u128::MAX)),
                        Bound::Unbounded,
                    ))
                    .map_err(db_err)?
                    .next()
                    .transpose()
                    .map_err(db_err)?
                    .map(|(k, _)| k.value().0.to_owned()),
            };
            let Some(value) = next else { break };
            let old: Vec<u128> = table
                .range((value.as_str(), 0)..(value.as_str(), end))
                .map_err(db_err)?
                .map(|r| r.map(|(k, _)| k.value().1))
                .collect::<Result<_, _>>()
                .map_err(db_err)?;
            for newest in old {
                table.remove((value.as_str(), newest)).map_err(db_err)?;
            }
            after = Some(value);
        }
    }
    Ok(())
}

/// Turns schema 2's index (an entry per row) into lists, a thousand ids each.
pub fn migrate(tx: &WriteTransaction) -> Result<(), StoreError> {
    for field in Field::ALL {
        let entries: Vec<(String, u128)> = {
            let old = match tx.open_table(field.old_table()) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => continue,
                Err(e) => return Err(db_err(e)),
            };
            old.iter()
                .map_err(db_err)?
                .map(|r| r.map(|(k, _)| (k.value().0.to_owned(), k.value().1)))
                .collect::<Result<_, _>>()
                .map_err(db_err)?
        };
        for group in entries.chunk_by(|a, b| a.0 == b.0) {
            for ids in group.chunks(1_000) {
                let mut lists = Lists::default();
                for (value, id) in ids {
                    lists.add(field, value, *id);
                }
                lists.write(tx)?;
            }
        }
        tx.delete_table(field.old_table()).map_err(db_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::file::{File, open_in_test as file};
    use redb::ReadableDatabase;

    fn append(file: &File, ids: &[(&str, u128)]) {
        let tx = file.db.begin_write().unwrap();
        let mut lists = Lists::default();
        for (v, id) in ids {
            lists.add(Field::Provider, v, *id);
        }
        lists.write(&tx).unwrap();
        tx.commit().unwrap();
    }

    fn ids(file: &File, value: &str, range: (u128, u128), oldest: bool, max: usize) -> Vec<u128> {
        let tx = file.db.begin_read().unwrap();
        let mut out = Vec::new();
        walk(&tx, Field::Provider, value, range, oldest, |id| {
            out.push(id);
            Ok(out.len() < max)
        })
        .unwrap();
        out
    }

    #[test]
    fn lists_that_overlap_in_time_merge_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(dir.path());
        // The second append holds a request that started before most of the first's.
        append(
            &f,
            &[("groq", 10), ("groq", 20), ("groq", 30), ("openai", 25)],
        );
        append(&f, &[("groq", 40), ("groq", 5), ("groq", 35)]);
        append(&f, &[("groq", 50), ("groq", 15)]);
        let all = (0, u128::MAX);
        assert_eq!(
            ids(&f, "groq", all, false, 100),
            [50, 40, 35, 30, 20, 15, 10, 5]
        );
        assert_eq!(ids(&f, "groq", all, false, 3), [50, 40, 35]);
        assert_eq!(
            ids(&f, "groq", all, true, 100),
            [5, 10, 15, 20, 30, 35, 40, 50]
        );
        assert_eq!(ids(&f, "groq", (12, 36), false, 100), [35, 30, 20, 15]);
        assert_eq!(ids(&f, "groq", (12, 36), true, 2), [15, 20]);
        assert_eq!(ids(&f, "openai", all, false, 100), [25]);
        assert!(ids(&f, "mistral", all, false, 100).is_empty());
    }

    #[test]
    fn an_append_sent_twice_leaves_each_id_once() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(dir.path());
        append(&f, &[("groq", 10), ("groq", 20)]);
        append(&f, &[("groq", 10), ("groq", 20)]);
        assert_eq!(ids(&f, "groq", (0, u128::MAX), false, 100), [20, 10]);
    }

    #[test]
    fn pruning_drops_the_lists_older_than_the_cut() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(dir.path());
        append(&f, &[("groq", 10), ("groq", 20), ("openai", 5)]);
        append(&f, &[("groq", 30), ("groq", 15), ("openai", 40)]);
        let tx = f.db.begin_write().unwrap();
        prune(&tx, 25).unwrap();
        tx.commit().unwrap();
        // The newer list keeps its older id: the row's own deletion makes it vanish.
        assert_eq!(ids(&f, "groq", (0, u128::MAX), false, 100), [30, 15]);
        assert_eq!(ids(&f, "openai", (0, u128::MAX), false, 100), [40]);
    }

    #[test]
    fn schema_2_entries_become_lists() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(dir.path());
        let tx = f.db.begin_write().unwrap();
        {
            let mut old = tx.open_table(Field::Model.old_table()).unwrap();
            for id in [3u128, 1, 2] {
                old.insert(("gpt-5", id), ()).unwrap();
            }
        }
        migrate(&tx).unwrap();
        tx.commit().unwrap();
        let tx = f.db.begin_read().unwrap();
        let mut got = Vec::new();
        walk(&tx, Field::Model, "gpt-5", (0, u128::MAX), false, |id| {
            got.push(id);
            Ok(true)
        })
        .unwrap();
        assert_eq!(got, [3, 2, 1]);
        assert!(tx.open_table(Field::Model.old_table()).is_err());
    }
}
