//! The parameter grid of a sweep: `--param NAME=SPEC` axes, their combinations in grid order,
//! a random sample of them and a shard of a sample.
//!
//! Contract: a SPEC is an inclusive range `A..B`, a range with a step `A..B:STEP`, a list
//! `V1,V2,...` or one value `V`. A range's values are exact decimals: each is `A + i × STEP`
//! rounded to the most decimals among `A`, `B` and `STEP`, so `0.1..0.3:0.1` is `0.1, 0.2, 0.3`.
//! Grid order is that of nested loops over the axes in the order given, the last axis varying
//! fastest; a combination's *index* is its position in that order. Every error names the flag.

use crate::generate::Rng;

/// The most values one range may have.
pub const MAX_AXIS: usize = 1_000_000;

/// One swept parameter and its values, as text for `--param NAME=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    pub name: String,
    pub values: Vec<String>,
}

/// Every combination of the axes' values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Grid {
    pub axes: Vec<Axis>,
}

impl Grid {
    /// Parses `NAME=SPEC` arguments (see the module contract).
    pub fn parse(args: &[String]) -> Result<Grid, String> {
        let mut axes: Vec<Axis> = Vec::new();
        for arg in args {
            let Some((name, spec)) = arg.split_once('=') else {
                return Err(format!(
                    "`--param {arg}` is not of the form NAME=SPEC; write e.g. `--param fast=5..20`"
                ));
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(format!("`--param {arg}`: the name is missing"));
            }
            if axes.iter().any(|a| a.name == name) {
                return Err(format!(
                    "`--param {name}` is given twice; give each param once"
                ));
            }
            let values =
                parse_spec(spec.trim()).map_err(|e| format!("`--param {name}={spec}`: {e}"))?;
            axes.push(Axis {
                name: name.to_string(),
                values,
            });
        }
        let grid = Grid { axes };
        if grid.len().is_none() {
            return Err(
                "the grid has more than 2^64 combinations; sample it with `--sample`".into(),
            );
        }
        Ok(grid)
    }

    /// The number of combinations (`None` past `u64`).
    pub fn len(&self) -> Option<u64> {
        self.axes
            .iter()
            .try_fold(1u64, |n, a| n.checked_mul(a.values.len() as u64))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The value index on each axis of combination `index`.
    pub fn positions(&self, mut index: u64) -> Vec<usize> {
        let mut at = vec![0; self.axes.len()];
        for (i, a) in self.axes.iter().enumerate().rev() {
            let n = a.values.len() as u64;
            at[i] = (index % n) as usize;
            index /= n;
        }
        at
    }

    /// The `--param` values of combination `index`.
    pub fn combination(&self, index: u64) -> Vec<(String, String)> {
        self.axes
            .iter()
            .zip(self.positions(index))
            .map(|(a, i)| (a.name.clone(), a.values[i].clone()))
            .collect()
    }

    /// The names of the axes.
    pub fn names(&self) -> Vec<&str> {
        self.axes.iter().map(|a| a.name.as_str()).collect()
    }
}

/// The combinations a sweep runs: all of them, or `k` drawn at random with `seed` (without
/// repetition, listed in grid order); then the `part`-th of `parts` contiguous shares.
pub fn select(grid: &Grid, sample: Option<(u64, u64)>, shard: Option<(u64, u64)>) -> Selection {
    let total = grid.len().unwrap_or(u64::MAX);
    let all = match sample {
        Some((k, seed)) if k < total => Selection::Listed(sample_indices(total, k, seed)),
        _ => Selection::Range(0, total),
    };
    match shard {
        Some((part, parts)) => {
            let n = all.len();
            let from = (n as u128 * (part - 1) as u128 / parts as u128) as u64;
            let to = (n as u128 * part as u128 / parts as u128) as u64;
            all.slice(from, to)
        }
        None => all,
    }
}

/// The combinations' indices, in grid order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// `from..to`.
    Range(u64, u64),
    Listed(Vec<u64>),
}

impl Selection {
    pub fn len(&self) -> u64 {
        match self {
            Selection::Range(a, b) => b - a,
            Selection::Listed(v) => v.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th index.
    pub fn get(&self, i: u64) -> u64 {
        match self {
            Selection::Range(a, _) => a + i,
            Selection::Listed(v) => v[i as usize],
        }
    }

    fn slice(self, from: u64, to: u64) -> Selection {
        match self {
            Selection::Range(a, _) => Selection::Range(a + from, a + to),
            Selection::Listed(v) => Selection::Listed(v[from as usize..to as usize].to_vec()),
        }
    }
}

/// `k` distinct numbers below `n`, uniformly, sorted (Floyd's algorithm).
fn sample_indices(n: u64, k: u64, seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    let mut chosen = std::collections::BTreeSet::new();
    for j in n - k..n {
        let t = rng.next_u64() % (j + 1);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    chosen.into_iter().collect()
}

/// `K/N` with 1 ≤ K ≤ N.
pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let err = || format!("--shard {s}: expected K/N with 1 <= K <= N, e.g. 2/8");
    let (k, n) = s.split_once('/').ok_or_else(err)?;
    let k: u64 = k.trim().parse().map_err(|_| err())?;
    let n: u64 = n.trim().parse().map_err(|_| err())?;
    if k == 0 || k > n {
        return Err(err());
    }
    Ok((k, n))
}

/// The values of one SPEC.
fn parse_spec(spec: &str) -> Result<Vec<String>, String> {
    if spec.is_empty() {
        return Err("no value; write a value, a list `10,20,50` or a range `5..20`".into());
    }
    if let Some((from, rest)) = spec.split_once("..") {
        let (to, step) = match rest.split_once(':') {
            Some((to, step)) => (to, Some(step)),
            None => (rest, None),
        };
        return range(from.trim(), to.trim(), step.map(str::trim));
    }
    let values: Vec<String> = spec.split(',').map(|v| v.trim().to_string()).collect();
    if values.iter().any(String::is_empty) {
        return Err("an empty value in the list".into());
    }
    Ok(values)
}

/// A decimal number as written: its value scaled to an integer and its number of decimals.
fn decimal(s: &str) -> Option<(i128, u32)> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || int.len() + frac.len() > 30
    {
        return None;
    }
    let mut v: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        v = v * 10 + i128::from(b - b'0');
    }
    Some((if neg { -v } else { v }, frac.len() as u32))
}

fn range(from: &str, to: &str, step: Option<&str>) -> Result<Vec<String>, String> {
    let number = |s: &str, what: &str| {
        decimal(s).ok_or_else(|| format!("the range's {what} `{s}` is not a number"))
    };
    let (a, da) = number(from, "start")?;
    let (b, db) = number(to, "end")?;
    let (s, ds) = match step {
        Some(s) => number(s, "step")?,
        None => (1, 0),
    };
    let places = da.max(db).max(ds);
    let scale = |(v, d): (i128, u32)| v * 10i128.pow(places - d);
    let (a, b, s) = (scale((a, da)), scale((b, db)), scale((s, ds)));
    if s <= 0 {
        return Err(format!(
            "the step `{}` must be positive",
            step.unwrap_or("1")
        ));
    }
    if b < a {
        return Err(format!(
            "the range is empty: {from} is past {to}; write `{to}..{from}`"
        ));
    }
    let n = (b - a) / s + 1;
    if n > MAX_AXIS as i128 {
        return Err(format!(
            "{n} values, more than {MAX_AXIS}; give a larger step"
        ));
    }
    Ok((0..n).map(|i| fixed(a + i * s, places)).collect())
}

/// `v / 10^places` written with exactly `places` decimals.
fn fixed(v: i128, places: u32) -> String {
    if places == 0 {
        return v.to_string();
    }
    let p = 10i128.pow(places);
    let sign = if v < 0 { "-" } else { "" };
    let v = v.abs();
    format!("{sign}{}.{:0width$}", v / p, v % p, width = places as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(spec: &str) -> Result<Vec<String>, String> {
        parse_spec(spec)
    }

    #[test]
    fn specs() {
        assert_eq!(values("5..8").unwrap(), ["5", "6", "7", "8"]);
        assert_eq!(values("20..50:10").unwrap(), ["20", "30", "40", "50"]);
        assert_eq!(values("20..45:10").unwrap(), ["20", "30", "40"]);
        assert_eq!(values("0.1..0.3:0.1").unwrap(), ["0.1", "0.2", "0.3"]);
        assert_eq!(
            values("-1..1:0.5").unwrap(),
            ["-1.0", "-0.5", "0.0", "0.5", "1.0"]
        );
        assert_eq!(values("10, 20,50").unwrap(), ["10", "20", "50"]);
        assert_eq!(values("7").unwrap(), ["7"]);
        assert!(values("10..5").unwrap_err().contains("empty"));
        assert!(values("a..b").unwrap_err().contains("not a number"));
        assert!(values("1..5:0").unwrap_err().contains("positive"));
        assert!(values("1..5:-1").unwrap_err().contains("positive"));
        assert!(values("1,,2").is_err());
    }

    #[test]
    fn grid_order_and_shards() {
        let g = Grid::parse(&["a=1..3".into(), "b=x,y".into()]).unwrap();
        assert_eq!(g.len(), Some(6));
        let combos: Vec<String> = (0..6)
            .map(|i| {
                g.combination(i)
                    .iter()
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>()
                    .join("")
            })
            .collect();
        assert_eq!(combos, ["1x", "1y", "2x", "2y", "3x", "3y"]);
        let mut joined = Vec::new();
        for k in 1..=4 {
            let s = select(&g, None, Some((k, 4)));
            joined.extend((0..s.len()).map(|i| s.get(i)));
        }
        assert_eq!(joined, [0, 1, 2, 3, 4, 5]);
        let s = select(&g, Some((4, 9)), None);
        let picked: Vec<u64> = (0..s.len()).map(|i| s.get(i)).collect();
        assert_eq!(picked.len(), 4);
        assert!(picked.windows(2).all(|w| w[0] < w[1]) && picked[3] < 6);
        assert_eq!(select(&g, Some((4, 9)), None), s);
        assert!(parse_shard("0/4").is_err() && parse_shard("5/4").is_err());
        assert_eq!(parse_shard("2/4"), Ok((2, 4)));
    }
}
