//! Large bulk writes drop the value indexes and build them again just before the commit.
//!
//! The value indexes of results and recipe values (`name, unit, value`) are what makes search
//! fast, and they are the only indexes whose entries land at random places: every other key
//! of an ingested row starts with a new, time-ordered UUIDv7 or a new, increasing experiment
//! number (or a constant followed by one), so it is appended at the right edge of its B-tree.
//! Once a value index outgrows the page cache (SQLite's 64 MiB, PostgreSQL's
//! `shared_buffers`), nearly every insert into it reads and later writes back a page: a
//! million experiments (13 million value-index entries) took SQLite 160 s with live indexes
//! and 37 s without them.
//!
//! So when a bulk write has written [`crate::StoreConfig::index_deferral_after`] experiments
//! and they are at least a quarter of what the store held before, [`IndexDeferral`] reads the
//! definitions of the value indexes from the database's catalog, drops them, and
//! [`IndexDeferral::finish`] runs those definitions again after the last row: one sorted pass
//! per index, in the same transaction. The result is the same index; a rollback (an error, a
//! crash) restores the old one with everything else.
//!
//! On PostgreSQL the foreign keys of the bulk-written child tables (results, recipe values,
//! measurements) are deferred the same way: each is checked per row by a trigger that runs a
//! query, half of a large write's time, while adding the constraint back checks every row in
//! one join (as `pg_restore` does). SQLite's foreign-key checks are a cheap B-tree probe and
//! stay live; SQLite's page cache shrinks for the rest of the write instead, since an
//! append-only write is faster with a small one (see `Tx::expect_appends_only`).

use super::query_rows;
use crate::backend::{params, Tx};
use crate::error::{db_boxed, Result};
use crate::BackendKind;

/// The indexes a large bulk write defers: keyed by value, so their inserts are random.
const VALUE_INDEXES: &[&str] = &[
    "results_by_name_unit_value",
    "recipe_values_by_name_unit_value",
];

/// The tables whose foreign keys a large bulk write defers on PostgreSQL.
const CHILD_TABLES: &[&str] = &["results", "recipe_values", "measurements"];

/// Deferral pays only when the write is a fair part of the store: rebuilding costs a pass over
/// all rows, inserting costs a random page access per new entry.
const MIN_SHARE_OF_STORE: u64 = 4;

/// Tracks one bulk write's experiments and defers the value indexes once the write is large.
pub(super) struct IndexDeferral {
    /// Experiments before deferral is considered (`None`: never).
    after: Option<u64>,
    /// Experiments written so far by this transaction.
    written: u64,
    /// When to look at the store's size again (it was too large for deferral to pay).
    next_check: u64,
    /// Whether this write has deferred its indexes (and foreign keys).
    deferred: bool,
    /// The statements that rebuild the dropped indexes, once they are dropped.
    dropped: Vec<String>,
    /// The statements that add the dropped foreign keys back (PostgreSQL).
    dropped_foreign_keys: Vec<String>,
}

impl IndexDeferral {
    /// A tracker that considers deferral after `after` experiments (`None`: never).
    pub(super) fn new(after: Option<u64>) -> IndexDeferral {
        IndexDeferral {
            after,
            written: 0,
            next_check: after.unwrap_or(u64::MAX).max(1),
            deferred: false,
            dropped: Vec::new(),
            dropped_foreign_keys: Vec::new(),
        }
    }

    /// Counts `experiments` just written; drops the value indexes when the write has become
    /// large enough for a rebuild to pay.
    pub(super) fn note_written(&mut self, tx: &mut dyn Tx, experiments: u64) -> Result<()> {
        self.written += experiments;
        if self.after.is_none() || self.deferred || self.written < self.next_check {
            return Ok(());
        }
        let stored = query_rows(
            tx,
            "SELECT count(*) FROM experiments",
            &[],
            "count the experiments before deferring the value indexes",
            |row| row.int(0),
        )?
        .first()
        .map_or(0, |&count| u64::try_from(count).unwrap_or(0));
        let before = stored.saturating_sub(self.written);
        if self.written.saturating_mul(MIN_SHARE_OF_STORE) < before {
            // Look again when the write has doubled.
            self.next_check = self.written.saturating_mul(2);
            return Ok(());
        }
        self.deferred = true;
        tx.expect_appends_only().map_err(db_boxed(
            "shrink the page cache for the rest of a bulk write",
        ))?;
        for index in VALUE_INDEXES {
            let Some(definition) = index_definition(tx, index)? else {
                continue;
            };
            tx.execute(&format!("DROP INDEX {index}"), &[])
                .map_err(db_boxed(format!(
                    "drop the index {index} for the rest of a bulk write"
                )))?;
            self.dropped.push(definition);
        }
        if tx.kind() == BackendKind::Postgres {
            for table in CHILD_TABLES {
                for (name, definition) in foreign_keys(tx, table)? {
                    tx.execute(
                        &format!("ALTER TABLE {table} DROP CONSTRAINT \"{name}\""),
                        &[],
                    )
                    .map_err(db_boxed(format!(
                        "drop the foreign key {name} of {table} for the rest of a bulk write"
                    )))?;
                    self.dropped_foreign_keys.push(format!(
                        "ALTER TABLE {table} ADD CONSTRAINT \"{name}\" {definition}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Builds the dropped indexes again (call after the last row, before the commit); returns
    /// how many there were.
    pub(super) fn finish(&mut self, tx: &mut dyn Tx) -> Result<u32> {
        let mut rebuilt = 0;
        for definition in self.dropped.drain(..) {
            tx.execute(&definition, &[])
                .map_err(db_boxed(format!("rebuild an index: {definition}")))?;
            rebuilt += 1;
        }
        for statement in self.dropped_foreign_keys.drain(..) {
            tx.execute(&statement, &[]).map_err(db_boxed(format!(
                "check the rows of a bulk write: {statement}"
            )))?;
        }
        if self.deferred && tx.kind() == BackendKind::Postgres {
            // The tables grew a lot in one transaction: without fresh statistics PostgreSQL
            // plans the next queries (an export's page reads) for the old, small tables until
            // autovacuum catches up; an export of a million experiments took 400 s.
            tx.execute(
                "ANALYZE experiments, recipe_values, measurements, results",
                &[],
            )
            .map_err(db_boxed(
                "refresh the planner statistics after a bulk write",
            ))?;
        }
        Ok(rebuilt)
    }
}

/// The `CREATE INDEX` statement of `index` as the database's catalog holds it, or `None` when
/// the store has no such index.
fn index_definition(tx: &mut dyn Tx, index: &str) -> Result<Option<String>> {
    let sql = match tx.kind() {
        BackendKind::Sqlite => "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?1",
        BackendKind::Postgres => {
            "SELECT indexdef FROM pg_indexes \
             WHERE schemaname = current_schema() AND indexname = ?1"
        }
    };
    let definitions = query_rows(
        tx,
        sql,
        params![index],
        &format!("read the definition of the index {index}"),
        |row| row.text(0),
    )?;
    Ok(definitions.into_iter().next())
}

/// The foreign keys of `table` (PostgreSQL): name and definition (`FOREIGN KEY (…) REFERENCES …`).
fn foreign_keys(tx: &mut dyn Tx, table: &str) -> Result<Vec<(String, String)>> {
    query_rows(
        tx,
        "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE contype = 'f' AND conrelid = to_regclass(?1) ORDER BY conname",
        params![table],
        &format!("read the foreign keys of {table}"),
        |row| Ok((row.text(0)?, row.text(1)?)),
    )
}
