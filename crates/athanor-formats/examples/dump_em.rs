//! Prints what `read_any` makes of a file: format, shape, axes, notes, metadata and (with
//! `--tree`) the original metadata as JSON. Usage: `cargo run --example dump_em -- FILE [--tree]`.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: dump_em FILE [--tree]");
        std::process::exit(2);
    };
    let bytes = std::fs::read(path)?;
    let dataset = athanor_formats::read_any(&bytes, Some(path))?;
    println!("format: {}", dataset.format);
    println!(
        "dtype: {} shape: {:?}",
        dataset.data_type().numpy_name(),
        dataset.shape
    );
    for axis in &dataset.axes {
        println!("axis: {axis:?}");
    }
    for note in &dataset.notes {
        println!("note: {note}");
    }
    println!("metadata: {:#?}", dataset.metadata);
    if args.iter().any(|a| a == "--tree") {
        println!(
            "{}",
            serde_json::to_string_pretty(&dataset.original_metadata)?
        );
    }
    Ok(())
}
