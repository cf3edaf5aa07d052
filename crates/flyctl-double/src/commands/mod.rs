//! One module per flyctl subcommand the double implements.

pub mod apps;
pub mod checks;
pub mod config;
pub mod deploy;
pub mod image;
pub mod logs;
pub mod machines;
pub mod releases;
pub mod secrets;
pub mod status;
pub mod version;
pub mod volumes;

/// Left-aligned columns separated by tabs and padding, close to flyctl's table writer.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths[i]))
            .collect();
        format!("{}\n", padded.join("\t").trim_end())
    };
    let mut out = line(header.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out.push('\n');
    out
}
