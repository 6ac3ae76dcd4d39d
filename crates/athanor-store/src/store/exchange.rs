//! The store side of import/export (see [`crate::transfer`]): every record streamed out of one
//! read snapshot, and records written back with their ids, lab ids and timestamps in ONE write
//! transaction.

use super::bulk::{Batch, INGEST_BATCH};
use super::*;
use crate::store::provenance::{LineageEdge, ProvRecord, RecordStatus};
use crate::transfer::table::{CampaignTarget, ImportedRow, TableImportSummary};
use crate::transfer::{BlobEntry, ExchangeRecord, ImportSummary, PlannerStateEntry};
use athanor_model::attributes::validate_attributes;
use athanor_model::provenance::{EdgeKind, RecordKind};
use std::collections::BTreeSet;

/// The `(name, unit)` pairs stored for recipe parameters and results (see
/// [`Store::quantity_columns`]).
pub(crate) struct QuantityColumns {
    /// Recipe parameters, sorted by name, then unit.
    pub(crate) recipe: Vec<(String, String)>,
    /// Results, sorted by name, then unit.
    pub(crate) results: Vec<(String, String)>,
}

/// Experiments are read in pages of this many rows (keyset pagination), so that an export of a
/// million experiments holds one page in memory, not the table.
const EXPORT_PAGE: i64 = 500;

impl Store {
    /// Streams every record of the store to `visit`, from one consistent snapshot, in an order
    /// that an import can replay: campaigns (by lab id), blobs (by hash), experiments (by
    /// campaign lab id, then seq), planner states (by campaign, then seq). With
    /// `include_blob_content`, each blob entry carries its bytes (verified against the hash).
    ///
    /// Memory use is bounded by one page of experiments (and the largest blob), whatever the
    /// size of the store. Returns the number of records visited.
    pub fn for_each_record(
        &self,
        include_blob_content: bool,
        mut visit: impl FnMut(ExchangeRecord) -> Result<()>,
    ) -> Result<u64> {
        self.backend.read(|tx| {
            let mut count = 0u64;
            let campaigns = query_campaigns(tx, "ORDER BY lab_number", &[])?;
            let campaign_ids: Vec<String> = campaigns.iter().map(|c| c.id.clone()).collect();
            for campaign in campaigns {
                visit(ExchangeRecord::Campaign(campaign))?;
                count += 1;
            }
            // Blobs: paged by hash as well (a store may hold many raw files).
            let mut after = String::new();
            loop {
                let page = query_rows(
                    tx,
                    "SELECT hash, size, media_type, created_at FROM blobs WHERE hash > ?1 \
                     ORDER BY hash LIMIT ?2",
                    params![&after, EXPORT_PAGE],
                    "list blobs for export",
                    |row| Ok((row.text(0)?, row.opt_u64(1)?, row.text(2)?, row.text(3)?)),
                )?;
                let Some(last) = page.last() else { break };
                after = last.0.clone();
                for (hash, size, media_type, created_at) in page {
                    let content = if include_blob_content {
                        Some(self.objects.read_verified(&hash)?)
                    } else {
                        None
                    };
                    visit(ExchangeRecord::Blob(BlobEntry {
                        size: size.unwrap_or_default(),
                        hash,
                        media_type,
                        created_at,
                        content,
                    }))?;
                    count += 1;
                }
            }
            for campaign_id in &campaign_ids {
                let mut after_seq: i64 = -1;
                loop {
                    let rows = query_rows(
                        tx,
                        &format!(
                            "SELECT {EXPERIMENT_COLUMNS} FROM experiments \
                             WHERE campaign_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
                        ),
                        params![campaign_id, after_seq, EXPORT_PAGE],
                        "list experiments for export",
                        ExperimentRow::from_row,
                    )?;
                    let Some(last) = rows.last() else { break };
                    after_seq = i64::from(last.seq);
                    for experiment in load_experiments(tx, rows)? {
                        visit(ExchangeRecord::Experiment(experiment))?;
                        count += 1;
                    }
                }
                let mut after_seq: i64 = -1;
                loop {
                    let states = query_rows(
                        tx,
                        "SELECT seq, state_json, recorded_at FROM planner_states \
                         WHERE campaign_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                        params![campaign_id, after_seq, EXPORT_PAGE],
                        "list planner states for export",
                        |row| Ok((row.u32(0)?, row.text(1)?, row.text(2)?)),
                    )?;
                    let Some(last) = states.last() else { break };
                    after_seq = i64::from(last.0);
                    for (seq, state_json, recorded_at) in states {
                        visit(ExchangeRecord::PlannerState(PlannerStateEntry {
                            campaign_id: campaign_id.clone(),
                            seq,
                            state_json,
                            recorded_at,
                        }))?;
                        count += 1;
                    }
                }
            }
            count += export_provenance(tx, &mut visit)?;
            Ok(count)
        })
    }

    /// The distinct `(name, unit)` pairs of recipe parameters and of results, each sorted: the
    /// quantity columns of a flat export (Parquet). Index-only scans, not a pass over the
    /// experiments.
    pub(crate) fn quantity_columns(&self) -> Result<QuantityColumns> {
        self.backend.read(|tx| {
            let mut pairs = |table: &str| {
                query_rows(
                    tx,
                    &format!("SELECT DISTINCT name, unit FROM {table} ORDER BY name, unit"),
                    &[],
                    &format!("list the quantity columns of {table}"),
                    |row| Ok((row.text(0)?, row.text(1)?)),
                )
            };
            let recipe = pairs("recipe_values")?;
            let results = pairs("results")?;
            Ok(QuantityColumns { recipe, results })
        })
    }

    /// Writes `records` (as produced by [`Store::for_each_record`], e.g. read back from an
    /// export) into the store, keeping their ids, lab ids, statuses and timestamps, in ONE
    /// write transaction: if any record is rejected, the source yields an error, or the process
    /// dies part-way, the store is left exactly as it was (blob bytes already uploaded stay as
    /// unreferenced objects, which are harmless; see the crate docs on crash safety).
    ///
    /// Records must come in dependency order (a campaign before its experiments, a blob before
    /// the measurements that reference it). An id or lab id that already exists is an error.
    /// Blob entries without content must name blobs already in this store's blob storage.
    pub fn import_records(
        &self,
        records: impl IntoIterator<Item = Result<ExchangeRecord>>,
    ) -> Result<ImportSummary> {
        self.backend.write("import records", |tx| {
            let mut summary = ImportSummary::default();
            // Experiments go through the bulk path: consecutive ones are validated as they
            // come and written in batches (multi-row inserts / COPY), as by
            // `ingest_experiments`. Any other record first writes the queued experiments, so
            // rows still land in the order of the file.
            let mut batch = Batch::new(self.index_deferral_after);
            let mut known_campaigns = BTreeSet::new();
            for (index, record) in records.into_iter().enumerate() {
                let label = format!("import record {}", index + 1);
                let record = record?;
                if !matches!(record, ExchangeRecord::Experiment(_)) {
                    batch.flush(tx)?;
                }
                match record {
                    ExchangeRecord::Campaign(campaign) => {
                        import_campaign(tx, &campaign, &label)?;
                        summary.campaigns += 1;
                    }
                    ExchangeRecord::Blob(blob) => {
                        self.import_blob(tx, &blob, &label)?;
                        summary.blobs += 1;
                    }
                    ExchangeRecord::Experiment(experiment) => {
                        let record = format!("{label} (experiment {})", experiment.lab_id);
                        if !known_campaigns.contains(&experiment.campaign_id) {
                            check_import_campaign(tx, &experiment, &record)?;
                            known_campaigns.insert(experiment.campaign_id.clone());
                        }
                        batch.add(tx, &self.objects, experiment, &record)?;
                        if batch.len() >= INGEST_BATCH {
                            batch.flush(tx)?;
                        }
                        summary.experiments += 1;
                    }
                    ExchangeRecord::PlannerState(state) => {
                        import_planner_state(tx, &state, &label)?;
                        summary.planner_states += 1;
                    }
                    ExchangeRecord::ProvRecord(record) => {
                        import_prov_record(tx, &record, &label)?;
                        summary.prov_records += 1;
                    }
                    ExchangeRecord::ProvEdge(edge) => {
                        import_prov_edge(tx, &edge, &label)?;
                        summary.prov_edges += 1;
                    }
                }
            }
            summary.rebuilt_indexes = batch.finish(tx)?;
            Ok(summary)
        })
    }

    /// Imports table rows as completed experiments of one campaign (an existing one, or one
    /// created here), in ONE write transaction: each row is planned and completed through the
    /// same code as [`Store::record_planned`] and [`Store::record_completed`], so it gets the
    /// same records and provenance graph (process spec and run, sample, results) as an
    /// experiment the campaign runner made — minus a planner state, as no planner proposed it.
    /// Seqs continue after the campaign's last experiment. Any error leaves the store as it was.
    pub fn import_table_rows(
        &self,
        target: &CampaignTarget,
        source_name: &str,
        rows: impl IntoIterator<Item = Result<ImportedRow>>,
    ) -> Result<TableImportSummary> {
        self.backend.write("import table rows", |tx| {
            let campaign = match target {
                CampaignTarget::Existing(key) => {
                    find_campaign_by_key(tx, key)?.ok_or_else(|| not_found("campaign", key))?
                }
                CampaignTarget::New(new) => {
                    let record = format!("new campaign '{}'", new.name);
                    check_not_blank(&record, "name", &new.name)?;
                    check_not_blank(&record, "config_hash", &new.config_hash)?;
                    create_campaign_in(tx, new)?
                }
            };
            let last_seq = query_rows(
                tx,
                "SELECT COALESCE(MAX(seq), 0) FROM experiments WHERE campaign_id = ?1",
                params![&campaign.id],
                "find the campaign's last seq",
                |row| row.int(0),
            )?
            .pop()
            .unwrap_or(0);
            let mut seq = u32::try_from(last_seq).unwrap_or(u32::MAX);
            let mut experiments = Vec::new();
            for row in rows {
                let row = row?;
                seq = seq.checked_add(1).ok_or_else(|| {
                    StoreError::invalid(&campaign.lab_id, "seq", "too many experiments")
                })?;
                let planned = plan_in(
                    tx,
                    &PlannedExperiment {
                        campaign_id: campaign.id.clone(),
                        seq,
                        recipe: row.recipe.clone(),
                        spec_steps: Vec::new(),
                        planner_note: serde_json::json!({
                            "strategy": "imported",
                            "source": source_name,
                            "row": row.row,
                        }),
                    },
                )?;
                self.complete_in(
                    tx,
                    &CompletedExperiment {
                        experiment_id: planned.id.clone(),
                        run_steps: row.run_steps,
                        measurements: Vec::new(),
                        analyses: Vec::new(),
                        results: row.results,
                        planner_state_json: String::new(),
                    },
                    false,
                )?;
                experiments.push(planned.lab_id);
            }
            Ok(TableImportSummary {
                campaign: campaign.lab_id,
                experiments,
            })
        })
    }

    fn import_blob(&self, tx: &mut dyn Tx, blob: &BlobEntry, label: &str) -> Result<()> {
        let record = format!("{label} (blob {})", blob.hash);
        blobs::check_hash(&blob.hash)?;
        check_not_blank(&record, "media type", &blob.media_type)?;
        match &blob.content {
            Some(content) => {
                let actual = blobs::sha256_hex(content);
                if actual != blob.hash || content.len() as u64 != blob.size {
                    return Err(StoreError::invalid(
                        &record,
                        "content",
                        format!(
                            "the content ({} bytes) hashes to {actual}, not to the stated hash \
                             ({} bytes)",
                            content.len(),
                            blob.size
                        ),
                    ));
                }
                self.objects.put(&blob.hash, content)?;
            }
            None => match self.objects.size(&blob.hash)? {
                Some(size) if size == blob.size => {}
                Some(size) => {
                    return Err(StoreError::invalid(
                        &record,
                        "size",
                        format!(
                            "the entry says {} bytes, the stored blob has {size}",
                            blob.size
                        ),
                    ))
                }
                None => {
                    return Err(StoreError::invalid(
                        &record,
                        "content",
                        "the blob is not in this store and the entry carries no content \
                         (export with blob content)",
                    ))
                }
            },
        }
        tx.execute(
            "INSERT INTO blobs (hash, size, media_type, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (hash) DO NOTHING",
            params![&blob.hash, blob.size, &blob.media_type, &blob.created_at],
        )
        .map_err(db_boxed(format!("insert {record}")))?;
        Ok(())
    }
}

/// An imported experiment's campaign must be in the store (or earlier in the import).
fn check_import_campaign(
    tx: &mut dyn Tx,
    experiment: &ExperimentRecord,
    record: &str,
) -> Result<()> {
    let known = query_rows(
        tx,
        "SELECT lab_id FROM campaigns WHERE id = ?1",
        params![&experiment.campaign_id],
        &format!("look up the campaign of {record}"),
        |row| row.text(0),
    )?;
    if known.is_empty() {
        return Err(StoreError::invalid(
            record,
            "campaign_id",
            format!(
                "campaign {} is neither in the store nor earlier in the import",
                experiment.campaign_id
            ),
        ));
    }
    Ok(())
}

fn import_campaign(tx: &mut dyn Tx, campaign: &CampaignRecord, label: &str) -> Result<()> {
    let record = format!("{label} (campaign {})", campaign.lab_id);
    check_not_blank(&record, "id", &campaign.id)?;
    check_not_blank(&record, "name", &campaign.name)?;
    check_not_blank(&record, "config_hash", &campaign.config_hash)?;
    let lab_number: i64 = campaign
        .lab_id
        .strip_prefix('C')
        .and_then(|digits| digits.parse().ok())
        .filter(|number| *number >= 1)
        .ok_or_else(|| {
            StoreError::invalid(
                &record,
                "lab_id",
                format!("'{}' is not a campaign lab id like C0001", campaign.lab_id),
            )
        })?;
    insert_campaign_row(
        tx,
        campaign,
        lab_number,
        format!("insert {record} (does the store already hold it?)"),
    )
}

fn import_planner_state(tx: &mut dyn Tx, state: &PlannerStateEntry, label: &str) -> Result<()> {
    let record = format!(
        "{label} (planner state {} of {})",
        state.seq, state.campaign_id
    );
    serde_json::from_str::<serde::de::IgnoredAny>(&state.state_json)
        .map_err(|e| StoreError::invalid(&record, "state_json", format!("not valid JSON: {e}")))?;
    tx.execute(
        "INSERT INTO planner_states (campaign_id, seq, state_json, recorded_at) \
         VALUES (?1, ?2, ?3, ?4)",
        params![
            &state.campaign_id,
            state.seq,
            &state.state_json,
            &state.recorded_at
        ],
    )
    .map_err(db_boxed(format!("insert {record}")))?;
    Ok(())
}

/// Streams every provenance record version (by lab id, then version: a revision after the
/// version it revises) and then every edge, each paged by its key.
fn export_provenance(
    tx: &mut dyn Tx,
    visit: &mut dyn FnMut(ExchangeRecord) -> Result<()>,
) -> Result<u64> {
    let mut count = 0u64;
    let (mut after_lab_id, mut after_version) = (String::new(), 0i64);
    loop {
        let rows = tx
            .query(
                "SELECT id, lab_id, version, kind, name, status, is_latest, previous_id, \
                 revision_note, body_json, extras_json, created_at FROM prov_records \
                 WHERE lab_id > ?1 OR (lab_id = ?1 AND version > ?2) \
                 ORDER BY lab_id, version LIMIT ?3",
                params![&after_lab_id, after_version, EXPORT_PAGE],
            )
            .map_err(db_boxed("list provenance records for export"))?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let record = prov_record_from_row(row)?;
            after_lab_id = record.lab_id.clone();
            after_version = i64::from(record.version);
            visit(ExchangeRecord::ProvRecord(record))?;
            count += 1;
        }
    }
    let mut after = (String::new(), String::new(), String::new());
    loop {
        let edges = query_rows(
            tx,
            "SELECT source_id, target_id, kind FROM prov_edges \
             WHERE source_id > ?1 OR (source_id = ?1 AND (target_id > ?2 \
             OR (target_id = ?2 AND kind > ?3))) \
             ORDER BY source_id, target_id, kind LIMIT ?4",
            params![&after.0, &after.1, &after.2, EXPORT_PAGE],
            "list provenance edges for export",
            |row| Ok((row.text(0)?, row.text(1)?, row.text(2)?)),
        )?;
        let Some(last) = edges.last() else { break };
        after = last.clone();
        for (source, target, kind) in edges {
            let kind = EdgeKind::parse(&kind)
                .ok_or_else(|| StoreError::corrupt("provenance edge", "kind", kind.clone()))?;
            visit(ExchangeRecord::ProvEdge(LineageEdge {
                source,
                target,
                kind,
            }))?;
            count += 1;
        }
    }
    Ok(count)
}

fn prov_record_from_row(row: &Row) -> Result<ProvRecord> {
    let lab_id = row.text(1).map_err(read_failed)?;
    let label = format!("record {lab_id}");
    let kind_text = row.text(3).map_err(read_failed)?;
    let status = match row.text(5).map_err(read_failed)?.as_str() {
        "open" => RecordStatus::Open,
        "completed" => RecordStatus::Completed,
        other => return Err(StoreError::corrupt(&label, "status", format!("'{other}'"))),
    };
    Ok(ProvRecord {
        id: row.text(0).map_err(read_failed)?,
        version: row.u32(2).map_err(read_failed)?,
        kind: RecordKind::parse(&kind_text)
            .ok_or_else(|| StoreError::corrupt(&label, "kind", format!("'{kind_text}'")))?,
        name: row.text(4).map_err(read_failed)?,
        status,
        latest: row.int(6).map_err(read_failed)? == 1,
        previous_id: row.opt_text(7).map_err(read_failed)?,
        revision_note: row.opt_text(8).map_err(read_failed)?,
        body: from_json(&row.text(9).map_err(read_failed)?, &label, "body")?,
        extras: from_json(&row.text(10).map_err(read_failed)?, &label, "extras")?,
        created_at: row.text(11).map_err(read_failed)?,
        lab_id,
    })
}

fn read_failed(e: DbError) -> StoreError {
    db_boxed("read a provenance record for export")(e)
}

fn import_prov_record(tx: &mut dyn Tx, record: &ProvRecord, label: &str) -> Result<()> {
    let name = format!(
        "{label} (provenance record {} v{})",
        record.lab_id, record.version
    );
    check_not_blank(&name, "id", &record.id)?;
    check_not_blank(&name, "lab_id", &record.lab_id)?;
    check_not_blank(&name, "created_at", &record.created_at)?;
    let invalid = |e: athanor_model::attributes::ValidationError| {
        StoreError::invalid(&name, e.field, e.problem)
    };
    record.body.validate().map_err(invalid)?;
    validate_attributes(&record.extras).map_err(invalid)?;
    if record.version > 1 && record.previous_id.is_none() {
        return Err(StoreError::invalid(
            &name,
            "previous_id",
            "a version after the first must name the version it revises",
        ));
    }
    let status = match record.status {
        RecordStatus::Open => "open",
        RecordStatus::Completed => "completed",
    };
    tx.execute(
        "INSERT INTO prov_records (id, lab_id, version, kind, name, status, is_latest, \
         previous_id, revision_note, body_json, extras_json, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            &record.id,
            &record.lab_id,
            record.version,
            record.kind.as_str(),
            &record.name,
            status,
            i64::from(record.latest),
            record.previous_id.as_deref(),
            record.revision_note.as_deref(),
            to_json(&record.body, &name, "body")?,
            to_json(&record.extras, &name, "extras")?,
            &record.created_at,
        ],
    )
    .map_err(db_boxed(format!(
        "insert {name} (does the store already hold it, or is the version it revises missing?)"
    )))?;
    Ok(())
}

fn import_prov_edge(tx: &mut dyn Tx, edge: &LineageEdge, label: &str) -> Result<()> {
    let name = format!(
        "{label} (provenance edge {} -{}-> {})",
        edge.source,
        edge.kind.as_str(),
        edge.target
    );
    if edge.source == edge.target {
        return Err(StoreError::invalid(
            &name,
            "target",
            "a record cannot be linked to itself",
        ));
    }
    let known = query_rows(
        tx,
        "SELECT COUNT(*) FROM prov_records WHERE id = ?1 OR id = ?2",
        params![&edge.source, &edge.target],
        &format!("look up the ends of {name}"),
        |row| row.int(0),
    )?
    .pop()
    .unwrap_or(0);
    if known != 2 {
        return Err(StoreError::invalid(
            &name,
            "source",
            "source or target is neither in the store nor earlier in the import",
        ));
    }
    tx.execute(
        "INSERT INTO prov_edges (source_id, target_id, kind) VALUES (?1, ?2, ?3)",
        params![&edge.source, &edge.target, edge.kind.as_str()],
    )
    .map_err(db_boxed(format!(
        "insert {name} (does the store already hold it?)"
    )))?;
    Ok(())
}
