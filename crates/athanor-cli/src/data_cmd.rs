//! `athanor data lineage` and `athanor data show`: the provenance graph of the store.

use crate::DataDirArg;
use athanor_model::attributes::{Attribute, AttributeValue};
use athanor_model::provenance::RecordBody;
use athanor_store::{Lineage, LineageDirection, ProvRecord, StoreError};

/// Why a data command failed: a record that does not exist or a bad depth is the user's input
/// (exit code 2), anything else a failure (1).
pub fn exit_code(error: &anyhow::Error) -> u8 {
    match error.downcast_ref::<StoreError>() {
        Some(StoreError::NotFound { .. } | StoreError::InvalidInput { .. }) => 2,
        _ => 1,
    }
}

/// Prints the lineage of `id` (lab id or UUID) up (how it was made) or down (what was made
/// from it).
pub fn lineage(
    data: &DataDirArg,
    id: &str,
    direction: LineageDirection,
    depth: u32,
    json: bool,
) -> anyhow::Result<()> {
    let store = data.open_existing()?;
    let lineage = store.lineage(id, direction, depth)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&lineage)?);
        return Ok(());
    }
    print_lineage(&lineage);
    Ok(())
}

fn print_lineage(lineage: &Lineage) {
    let arrow = match lineage.direction {
        LineageDirection::Up => "upstream (how it was made)",
        LineageDirection::Down => "downstream (what was made from it)",
    };
    let lab_of = |id: &str| {
        lineage
            .nodes
            .iter()
            .find(|n| n.id == id)
            .map_or(id.to_string(), |n| n.lab_id.clone())
    };
    for node in &lineage.nodes {
        let version = if node.version > 1 {
            format!(" v{}", node.version)
        } else {
            String::new()
        };
        println!(
            "{}{}{}  [{}]  {}",
            "  ".repeat(node.depth as usize),
            node.lab_id,
            version,
            node.kind.as_str(),
            node.name
        );
    }
    println!("edges:");
    for edge in &lineage.edges {
        println!(
            "  {} -{}-> {}",
            lab_of(&edge.source),
            edge.kind.as_str(),
            lab_of(&edge.target)
        );
    }
    eprintln!(
        "{} records {arrow}, depth limit {}",
        lineage.nodes.len(),
        lineage.max_depth
    );
}

/// Prints one record (latest version for a lab id) with its direct neighbours.
pub fn show(data: &DataDirArg, id: &str, json: bool) -> anyhow::Result<()> {
    let store = data.open_existing()?;
    let record = store.record(id)?.ok_or_else(|| StoreError::NotFound {
        kind: "record",
        key: id.to_string(),
    })?;
    let up = store.lineage(&record.id, LineageDirection::Up, 1)?;
    let down = store.lineage(&record.id, LineageDirection::Down, 1)?;
    let versions = store.record_versions(&record.id)?.len();
    if json {
        let doc = serde_json::json!({
            "record": record,
            "versions": versions,
            "upstream": &up.nodes[1..],
            "downstream": &down.nodes[1..],
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    print_record(&record, versions);
    for (title, lineage) in [("upstream", &up), ("downstream", &down)] {
        for node in lineage.nodes.iter().skip(1) {
            println!(
                "  {title:<10} {}  [{}]  {}",
                node.lab_id,
                node.kind.as_str(),
                node.name
            );
        }
    }
    Ok(())
}

fn print_record(record: &ProvRecord, versions: usize) {
    println!(
        "{}  [{}]  {}",
        record.lab_id,
        record.kind.as_str(),
        record.name
    );
    println!("  id:       {}", record.id);
    println!(
        "  version:  {} of {versions}{}",
        record.version,
        if record.latest { " (latest)" } else { "" }
    );
    println!("  status:   {:?}", record.status);
    println!("  created:  {}", record.created_at);
    if let Some(note) = &record.revision_note {
        println!("  revision: {note}");
    }
    let attrs = |title: &str, list: &[Attribute]| {
        for a in list {
            println!(
                "  {title:<9} {} = {} ({:?})",
                a.name,
                fmt_value(a),
                a.origin
            );
        }
    };
    match &record.body {
        RecordBody::Plain => {}
        RecordBody::Process {
            steps,
            parameters,
            ingredients,
        } => {
            attrs("parameter", parameters);
            for s in steps {
                println!(
                    "  step {}:   {} on {} ({} setpoints, {} actuals)",
                    s.index,
                    s.action,
                    s.device,
                    s.setpoints.len(),
                    s.actuals.len()
                );
            }
            for i in ingredients {
                println!("  ingredient {} ({})", i.material, i.role);
            }
        }
        RecordBody::Material { properties } => attrs("property", properties),
        RecordBody::Measurement {
            technique,
            instrument,
            conditions,
            raw_files,
            properties,
        } => {
            println!("  technique: {technique} on {instrument}");
            attrs("condition", conditions);
            attrs("property", properties);
            for f in raw_files {
                println!("  raw file: {f}");
            }
        }
        RecordBody::Analysis {
            method,
            software,
            parameters,
            results,
            distribution,
        } => {
            println!("  method:   {method} ({software})");
            attrs("parameter", parameters);
            attrs("result", results);
            if let Some(d) = distribution {
                println!(
                    "  size distribution: n = {}, D10/D50/D90 = {}/{}/{} {}",
                    d.count, d.d10, d.d50, d.d90, d.unit
                );
            }
        }
        RecordBody::Result { value, method } => {
            println!(
                "  value:    {} = {} ({:?}, {method})",
                value.name,
                fmt_value(value),
                value.origin
            );
        }
    }
    attrs("extra", &record.extras);
}

fn fmt_value(a: &Attribute) -> String {
    let unit = if a.unit.is_empty() {
        String::new()
    } else {
        format!(" {}", a.unit)
    };
    match &a.value {
        AttributeValue::Nominal { value } => format!("{value}{unit}"),
        AttributeValue::Normal { mean, std } => format!("{mean} ± {std}{unit}"),
        AttributeValue::Uniform { low, high } => format!("[{low}, {high}]{unit}"),
        AttributeValue::Integer { value } => format!("{value}{unit}"),
        AttributeValue::Categorical { category } => category.clone(),
        AttributeValue::Composition { components } => components
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect::<Vec<_>>()
            .join(" "),
        AttributeValue::Formula { formula } => formula.clone(),
        AttributeValue::Text { text } => text.clone(),
        AttributeValue::ArrayRef { blob, path, .. } => format!("blob {blob} {path}"),
    }
}
