//! A sweep's rows as text: the CSV and JSON-lines formats, the table of the best rows for a
//! person, and the merge of shard files into one table.
//!
//! Contract: numbers are written with the shortest digits that read back as the same `f64`, so
//! a row holds exactly the values of `btl run --json`; an undefined value is an empty cell (or
//! `null`). The CSV's first column is the combination's grid index, which [`merge`] sorts on.

use super::{METRICS, Row};

/// `index,<params>,<metrics>,error_code,error_message`.
pub fn csv_header(names: &[&str]) -> String {
    let mut cells = vec!["index".to_string()];
    cells.extend(names.iter().map(|n| csv_cell(n)));
    cells.extend(METRICS.iter().map(|m| m.name.to_string()));
    cells.push("error_code".into());
    cells.push("error_message".into());
    cells.join(",")
}

/// One row in the CSV format of [`csv_header`].
pub fn csv_row(row: &Row) -> String {
    let mut cells = vec![row.index.to_string()];
    cells.extend(row.params.iter().map(|p| csv_cell(p)));
    match &row.result {
        Ok(values) => {
            cells.extend(values.iter().map(|v| v.map(number).unwrap_or_default()));
            cells.extend([String::new(), String::new()]);
        }
        Err(f) => {
            cells.extend(METRICS.iter().map(|_| String::new()));
            cells.push(csv_cell(&f.code));
            cells.push(csv_cell(&f.message));
        }
    }
    cells.join(",")
}

/// One row as a JSON object: `index`, `params` (numbers where they are numbers), the metrics and
/// `error` (`null`, or `{code, message}`).
pub fn json_row(row: &Row, names: &[&str]) -> serde_json::Value {
    let params: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .zip(&row.params)
        .map(|(n, v)| (n.to_string(), param_json(v)))
        .collect();
    let mut obj = serde_json::Map::new();
    obj.insert("index".into(), row.index.into());
    obj.insert("params".into(), params.into());
    for (i, m) in METRICS.iter().enumerate() {
        obj.insert(m.name.into(), serde_json::json!(row.metric(i)));
    }
    obj.insert(
        "error".into(),
        match &row.result {
            Ok(_) => serde_json::Value::Null,
            Err(f) => serde_json::json!({"code": f.code, "message": f.message}),
        },
    );
    obj.into()
}

fn param_json(v: &str) -> serde_json::Value {
    if let Ok(i) = v.parse::<i64>() {
        return i.into();
    }
    match v {
        "true" => true.into(),
        "false" => false.into(),
        _ => v
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map_or_else(|| v.into(), |x| serde_json::json!(x)),
    }
}

/// The shortest text that reads back as `x`.
fn number(x: f64) -> String {
    format!("{x}")
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break.
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The best rows as an aligned table for a person: rank, index, parameters, metrics (returns
/// in percent), errors last.
pub fn top_table(rows: &[Row], names: &[&str], sort: usize) -> String {
    let mut header: Vec<String> = vec!["rank".into(), "index".into()];
    header.extend(names.iter().map(|n| n.to_string()));
    header.extend(METRICS.iter().map(|m| m.name.to_string()));
    let mut lines = vec![header];
    for (rank, row) in rows.iter().enumerate() {
        let mut cells = vec![(rank + 1).to_string(), row.index.to_string()];
        cells.extend(row.params.iter().cloned());
        match &row.result {
            Ok(values) => cells.extend(METRICS.iter().zip(values).map(|(m, v)| match v {
                None => "n/a".to_string(),
                Some(v) if m.percent => format!("{:.2}%", v * 100.0),
                Some(v) if m.name == "trades" => format!("{v}"),
                Some(v) => format!("{v:.3}"),
            })),
            Err(f) => cells.push(format!("{}: {}", f.code, f.message)),
        }
        lines.push(cells);
    }
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            lines
                .iter()
                .filter(|l| l.len() > c)
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let sort_col = 2 + names.len() + sort;
    for line in &lines {
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                let cell = if c == sort_col && line[0] == "rank" {
                    cell.to_uppercase()
                } else {
                    cell.clone()
                };
                if c + 1 == line.len() {
                    cell
                } else {
                    format!("{cell:>w$}", w = widths[c])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Joins shard files (name, text) into one table: the same header in every part, rows sorted by
/// index, no index twice. Returns the joined text and its number of rows.
pub fn merge(parts: &[(String, String)]) -> Result<(String, u64), String> {
    let mut header: Option<(&str, &str)> = None;
    let mut rows: Vec<(u64, &str)> = Vec::new();
    for (name, text) in parts {
        let mut lines = text.lines();
        let Some(h) = lines.next() else {
            return Err(format!("{name}: empty file, not a sweep table"));
        };
        if !h.starts_with("index,") || !h.ends_with(",error_code,error_message") {
            return Err(format!(
                "{name}:1: not a `btl sweep --out` table (its header is `{}`)",
                h.chars().take(80).collect::<String>()
            ));
        }
        match header {
            None => header = Some((name, h)),
            Some((first, fh)) if fh != h => {
                return Err(format!(
                    "{name}:1: its columns differ from {first}'s; the parts come from different sweeps"
                ));
            }
            Some(_) => {}
        }
        for (n, line) in lines.enumerate() {
            if line.is_empty() {
                continue;
            }
            let index = line
                .split(',')
                .next()
                .and_then(|i| i.parse::<u64>().ok())
                .ok_or_else(|| format!("{name}:{}: the first cell is not an index", n + 2))?;
            rows.push((index, line));
        }
    }
    let Some((_, header)) = header else {
        return Err("no part to merge".into());
    };
    rows.sort_by_key(|&(i, _)| i);
    if let Some(w) = rows.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!(
            "combination {} is in two parts; give each shard once",
            w[0].0
        ));
    }
    let mut out = String::with_capacity(parts.iter().map(|(_, t)| t.len()).sum());
    out.push_str(header);
    out.push('\n');
    for (_, line) in &rows {
        out.push_str(line);
        out.push('\n');
    }
    Ok((out, rows.len() as u64))
}
