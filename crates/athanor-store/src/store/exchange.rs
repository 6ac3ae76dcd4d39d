//! The store side of import/export (see [`crate::transfer`]): every record streamed out of one
//! read snapshot, and records written back with their ids, lab ids and timestamps in ONE write
//! transaction.

use super::*;
use crate::transfer::{BlobEntry, ExchangeRecord, ImportSummary, PlannerStateEntry};

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
                    for row in rows {
                        visit(ExchangeRecord::Experiment(load_experiment(tx, row)?))?;
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
            Ok(count)
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
            for (index, record) in records.into_iter().enumerate() {
                let label = format!("import record {}", index + 1);
                match record? {
                    ExchangeRecord::Campaign(campaign) => {
                        import_campaign(tx, &campaign, &label)?;
                        summary.campaigns += 1;
                    }
                    ExchangeRecord::Blob(blob) => {
                        self.import_blob(tx, &blob, &label)?;
                        summary.blobs += 1;
                    }
                    ExchangeRecord::Experiment(experiment) => {
                        self.import_experiment(tx, &experiment, &label)?;
                        summary.experiments += 1;
                    }
                    ExchangeRecord::PlannerState(state) => {
                        import_planner_state(tx, &state, &label)?;
                        summary.planner_states += 1;
                    }
                }
            }
            Ok(summary)
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

    fn import_experiment(
        &self,
        tx: &mut dyn Tx,
        experiment: &ExperimentRecord,
        label: &str,
    ) -> Result<()> {
        let record = format!("{label} (experiment {})", experiment.lab_id);
        check_not_blank(&record, "id", &experiment.id)?;
        check_not_blank(&record, "planned_at", &experiment.planned_at)?;
        let known = query_rows(
            tx,
            "SELECT lab_id FROM campaigns WHERE id = ?1",
            params![&experiment.campaign_id],
            &format!("look up the campaign of {record}"),
            |row| row.text(0),
        )?;
        if known.is_empty() {
            return Err(StoreError::invalid(
                &record,
                "campaign_id",
                format!(
                    "campaign {} is neither in the store nor earlier in the import",
                    experiment.campaign_id
                ),
            ));
        }
        for (name, quantity) in &experiment.recipe.parameters {
            check_quantity(&record, &format!("recipe parameter '{name}'"), quantity)?;
        }
        tx.execute(
            "INSERT INTO experiments (id, lab_id, campaign_id, seq, status, recipe_json, \
             planner_note_json, failure, planned_at, completed_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                &experiment.id,
                &experiment.lab_id,
                &experiment.campaign_id,
                experiment.seq,
                experiment.status.as_str(),
                to_json(&experiment.recipe, &record, "recipe")?,
                to_json(&experiment.planner_note, &record, "planner note")?,
                experiment.failure.as_deref(),
                &experiment.planned_at,
                experiment.completed_at.as_deref(),
            ],
        )
        .map_err(db_boxed(format!("insert {record}")))?;
        for (name, quantity) in &experiment.recipe.parameters {
            tx.execute(
                "INSERT INTO recipe_values (experiment_id, name, value, unit) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![&experiment.id, name, quantity.value, &quantity.unit],
            )
            .map_err(db_boxed(format!(
                "insert recipe parameter '{name}' of {record}"
            )))?;
        }
        let row = ExperimentRow {
            id: experiment.id.clone(),
            lab_id: experiment.lab_id.clone(),
            campaign_id: experiment.campaign_id.clone(),
            seq: experiment.seq,
            status: experiment.status.as_str().to_string(),
            recipe_json: String::new(),
            planner_note_json: String::new(),
            failure: experiment.failure.clone(),
            planned_at: experiment.planned_at.clone(),
            completed_at: experiment.completed_at.clone(),
        };
        insert_steps(tx, &row.id, &record, StepKind::Spec, &experiment.spec_steps)?;
        insert_steps(tx, &row.id, &record, StepKind::Run, &experiment.run_steps)?;
        for (index, measurement) in experiment.measurements.iter().enumerate() {
            insert_measurement(tx, &self.objects, &row, index, measurement)?;
        }
        for (index, analysis) in experiment.analyses.iter().enumerate() {
            insert_analysis(tx, &row, index, analysis)?;
        }
        for (index, result) in experiment.results.iter().enumerate() {
            insert_result(tx, &row, index, result)?;
        }
        Ok(())
    }
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
    tx.execute(
        "INSERT INTO campaigns (id, lab_number, lab_id, name, seed, config_hash, config_text, \
         budget, status, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            &campaign.id,
            lab_number,
            &campaign.lab_id,
            &campaign.name,
            campaign.seed.to_string(),
            &campaign.config_hash,
            &campaign.config_text,
            campaign.budget,
            campaign.status.as_str(),
            &campaign.created_at,
        ],
    )
    .map_err(db_boxed(format!(
        "insert {record} (does the store already hold it?)"
    )))?;
    Ok(())
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
