//! CSV export: one row per experiment, one column per recipe parameter and result (see the
//! module docs of [`crate::transfer`]).

use super::write_error;
use crate::error::Result;
use crate::records::ExperimentRecord;
use crate::store::Store;
use crate::transfer::ExchangeRecord;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

/// The fixed leading columns.
const FIXED_COLUMNS: [&str; 7] = [
    "campaign",
    "experiment",
    "seq",
    "status",
    "planned_at",
    "completed_at",
    "failure",
];

/// Two streaming passes: the first finds the (name, unit) columns, the second writes rows.
/// Neither holds more than one experiment (plus the column names) in memory.
pub(super) fn export_csv(store: &Store, out: &mut dyn Write) -> Result<u64> {
    let mut parameters = BTreeSet::new();
    let mut results = BTreeSet::new();
    let mut campaign_lab_ids = BTreeMap::new();
    store.for_each_record(false, |record| {
        match record {
            ExchangeRecord::Campaign(campaign) => {
                campaign_lab_ids.insert(campaign.id, campaign.lab_id);
            }
            ExchangeRecord::Experiment(experiment) => {
                for (name, quantity) in &experiment.recipe.parameters {
                    parameters.insert((name.clone(), quantity.unit.clone()));
                }
                for result in &experiment.results {
                    results.insert((result.name.clone(), result.quantity.unit.clone()));
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    let mut header: Vec<String> = FIXED_COLUMNS.iter().map(|c| c.to_string()).collect();
    header.extend(
        parameters
            .iter()
            .map(|(name, unit)| format!("recipe.{name} [{unit}]")),
    );
    for (name, unit) in &results {
        header.push(format!("{name} [{unit}]"));
        header.push(format!("{name} std [{unit}]"));
    }
    write_row(out, header.iter().map(String::as_str))?;
    let mut rows = 0u64;
    store.for_each_record(false, |record| {
        let ExchangeRecord::Experiment(experiment) = record else {
            return Ok(());
        };
        let cells = row_cells(&experiment, &campaign_lab_ids, &parameters, &results);
        write_row(out, cells.iter().map(String::as_str))?;
        rows += 1;
        Ok(())
    })?;
    Ok(rows)
}

fn row_cells(
    experiment: &ExperimentRecord,
    campaign_lab_ids: &BTreeMap<String, String>,
    parameters: &BTreeSet<(String, String)>,
    results: &BTreeSet<(String, String)>,
) -> Vec<String> {
    let mut cells = vec![
        campaign_lab_ids
            .get(&experiment.campaign_id)
            .cloned()
            .unwrap_or_else(|| experiment.campaign_id.clone()),
        experiment.lab_id.clone(),
        experiment.seq.to_string(),
        experiment.status.as_str().to_string(),
        experiment.planned_at.clone(),
        experiment.completed_at.clone().unwrap_or_default(),
        experiment.failure.clone().unwrap_or_default(),
    ];
    for (name, unit) in parameters {
        cells.push(
            experiment
                .recipe
                .parameters
                .get(name)
                .filter(|q| &q.unit == unit)
                .map(|q| q.value.to_string())
                .unwrap_or_default(),
        );
    }
    for (name, unit) in results {
        // The first result of that name and unit (an experiment rarely has two).
        let found = experiment
            .results
            .iter()
            .find(|r| &r.name == name && &r.quantity.unit == unit);
        cells.push(
            found
                .map(|r| r.quantity.value.to_string())
                .unwrap_or_default(),
        );
        cells.push(
            found
                .and_then(|r| r.quantity.std)
                .map(|s| s.to_string())
                .unwrap_or_default(),
        );
    }
    cells
}

/// Writes one CSV row (RFC 4180: cells with a comma, quote or line break are quoted, quotes
/// doubled).
fn write_row<'a>(out: &mut dyn Write, cells: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut line = String::new();
    for (index, cell) in cells.enumerate() {
        if index > 0 {
            line.push(',');
        }
        if cell.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&cell.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(cell);
        }
    }
    line.push_str("\r\n");
    out.write_all(line.as_bytes()).map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_with_separators_are_quoted() {
        let mut out = Vec::new();
        write_row(&mut out, ["a", "b,c", "say \"hi\"", "x\ny"].into_iter()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\"\r\n"
        );
    }
}
