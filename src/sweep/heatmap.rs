//! The sweep's HTML page (`btl sweep --plot`): a heatmap of the sort metric over two parameters,
//! the others held at the best combination's values, and the table of the best combinations.
//!
//! Contract: [`page`] returns a self-contained page (no network) from the template
//! `heatmap.html`, whose one placeholder is replaced by the data as JSON (`</` escaped so that the
//! data cannot end its script element). The heatmap's axes are the first two swept parameters
//! with more than one value (one axis when only one has); a cell with no value (failed,
//! undefined or not run) is `null`.

use super::grid::Grid;
use super::{METRICS, Row};

const TEMPLATE: &str = include_str!("heatmap.html");
const PLACEHOLDER: &str = "/*BTL_SWEEP_DATA*/null";

/// What the page shows.
pub struct PageData<'a> {
    pub title: String,
    pub strategy: &'a str,
    pub grid: &'a Grid,
    /// The sort metric's number in [`METRICS`].
    pub sort: usize,
    /// Every row run: (grid index, the sort metric's value).
    pub values: &'a [(u64, Option<f64>)],
    /// The best rows, best first.
    pub top: &'a [Row],
    pub failed: u64,
}

/// The page's HTML.
pub fn page(d: &PageData) -> String {
    let json = data(d).to_string().replace("</", "<\\/");
    TEMPLATE.replacen(PLACEHOLDER, &json, 1)
}

fn number(v: &str) -> serde_json::Value {
    v.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .map_or_else(|| v.into(), |x| serde_json::json!(x))
}

fn data(d: &PageData) -> serde_json::Value {
    let grid = d.grid;
    let names = grid.names();
    let varied: Vec<usize> = (0..grid.axes.len())
        .filter(|&i| grid.axes[i].values.len() > 1)
        .collect();
    let x = varied.first().copied().unwrap_or(0);
    let y = varied.get(1).copied();
    let best = d.top.first().filter(|r| r.metric(d.sort).is_some());
    let best_at = best.map(|r| grid.positions(r.index));
    // Cells over (x, y) where every other axis is at the best combination's value.
    let (nx, ny) = (
        grid.axes.get(x).map_or(0, |a| a.values.len()),
        y.map_or(1, |y| grid.axes[y].values.len()),
    );
    let mut cells = vec![vec![serde_json::Value::Null; nx]; ny];
    if let Some(best_at) = &best_at {
        for &(index, value) in d.values {
            let at = grid.positions(index);
            let others_fixed = (0..at.len()).all(|i| i == x || Some(i) == y || at[i] == best_at[i]);
            if others_fixed && let Some(v) = value.filter(|v| v.is_finite()) {
                cells[y.map_or(0, |y| at[y])][at[x]] = serde_json::json!(v);
            }
        }
    }
    let fixed: serde_json::Map<String, serde_json::Value> = match (&best, &best_at) {
        (Some(b), Some(_)) => (0..names.len())
            .filter(|&i| i != x && Some(i) != y)
            .map(|i| (names[i].to_string(), number(&b.params[i])))
            .collect(),
        _ => serde_json::Map::new(),
    };
    let mut columns: Vec<&str> = vec!["index"];
    columns.extend(&names);
    columns.extend(METRICS.iter().map(|m| m.name));
    columns.push("error_code");
    let top: Vec<serde_json::Value> = d
        .top
        .iter()
        .map(|r| {
            let mut cells = vec![serde_json::json!(r.index)];
            cells.extend(r.params.iter().map(|p| number(p)));
            cells.extend((0..METRICS.len()).map(|m| serde_json::json!(r.metric(m))));
            cells.push(match &r.result {
                Ok(_) => serde_json::Value::Null,
                Err(f) => f.code.clone().into(),
            });
            cells.into()
        })
        .collect();
    let axis_values = |i: usize| -> Vec<serde_json::Value> {
        grid.axes[i].values.iter().map(|v| number(v)).collect()
    };
    serde_json::json!({
        "strategy": d.strategy,
        "metric": METRICS[d.sort].name,
        "descending": METRICS[d.sort].higher_is_better,
        "params": names,
        "x": names.get(x),
        "y": y.map(|y| names[y]),
        "fixed": fixed,
        "x_values": if grid.axes.is_empty() { Vec::new() } else { axis_values(x) },
        "y_values": y.map(axis_values),
        "cells": cells,
        "columns": columns,
        "top": top,
        "combinations": d.values.len(),
        "failed": d.failed,
        "title": d.title,
    })
}
