//! The stdlib indicators, written in btl, against TA-Lib's values (and plain-Python references for
//! the two TA-Lib lacks), on the committed 500-bar fixture: equal to 1e-9 relative, NaN positions
//! included. And for every indicator, the inferred warm-up is the first bar with a value.
//!
//! Reference: tests/reference/talib_500.csv, made by tests/reference/talib_reference.py.

use btl::runtime::broker::BrokerConfig;
use btl::runtime::engine::{self, Interpreter, Sink};
use btl::runtime::feed::CsvFeed;

/// Reference column and the btl expression that computes it.
const CASES: &[(&str, &str)] = &[
    ("sma_10", "sma(close, 10)"),
    ("sma_30", "sma(close, 30)"),
    ("ema_10", "ema(close, 10)"),
    ("ema_30", "ema(close, 30)"),
    ("wma_10", "wma(close, 10)"),
    ("rma_14", "rma(close, 14)"),
    ("max_20", "highest(close, 20)"),
    ("min_20", "lowest(close, 20)"),
    ("stddev_20", "stdev(close, 20)"),
    ("rsi_14", "rsi(close, 14)"),
    ("macd_12_26_9", "macd_line(close, 12, 26, 9)"),
    ("macdsignal_12_26_9", "macd_signal(close, 12, 26, 9)"),
    ("macdhist_12_26_9", "macd_hist(close, 12, 26, 9)"),
    ("bb_upper_20_2", "bb_upper(close, 20, 2.0)"),
    ("bb_middle_20_2", "bb_middle(close, 20)"),
    ("bb_lower_20_2", "bb_lower(close, 20, 2.0)"),
    ("trange", "true_range()"),
    ("atr_14", "atr(14)"),
    ("stoch_k_14_3_3", "stoch_k(14, 3, 3)"),
    ("stoch_d_14_3_3", "stoch_d(14, 3, 3)"),
    ("roc_10", "roc(close, 10)"),
    ("mom_10", "mom(close, 10)"),
    ("change_1", "change(close)"),
    ("sar_002_02", "sar(0.02, 0.2)"),
    ("plus_di_14", "plus_di(14)"),
    ("minus_di_14", "minus_di(14)"),
    ("dx_14", "dx(14)"),
    ("adx_14", "adx(14)"),
    ("dema_10", "dema(close, 10)"),
    ("tema_10", "tema(close, 10)"),
    ("trima_10", "trima(close, 10)"),
    ("kama_10", "kama(close, 10)"),
    ("t3_5_07", "t3(close, 5, 0.7)"),
    ("midpoint_14", "midpoint(close, 14)"),
    ("midprice_14", "midprice(high, low, 14)"),
    ("cci_14", "cci(high, low, close, 14)"),
    ("willr_14", "willr(high, low, close, 14)"),
    ("mfi_14", "mfi(high, low, close, volume, 14)"),
    ("cmo_14", "cmo(close, 14)"),
    ("ppo_12_26_sma", "ppo(close, 12, 26)"),
    ("apo_12_26_sma", "apo(close, 12, 26)"),
    ("trix_15", "trix(close, 15)"),
    ("rocp_10", "rocp(close, 10)"),
    ("rocr_10", "rocr(close, 10)"),
    ("rocr100_10", "rocr100(close, 10)"),
    ("aroon_down_14", "aroon_down(high, low, 14)"),
    ("aroon_up_14", "aroon_up(high, low, 14)"),
    ("aroonosc_14", "aroonosc(high, low, 14)"),
    ("ultosc_7_14_28", "ultosc(high, low, close, 7, 14, 28)"),
    ("bop", "bop(open, high, low, close)"),
    ("obv", "obv(close, volume)"),
    ("ad", "ad(high, low, close, volume)"),
    ("adosc_3_10", "adosc(high, low, close, volume, 3, 10)"),
    ("natr_14", "natr(high, low, close, 14)"),
    ("var_5", "variance(close, 5)"),
    ("linreg_14", "linreg(close, 14)"),
    ("linreg_slope_14", "linreg_slope(close, 14)"),
    ("linreg_intercept_14", "linreg_intercept(close, 14)"),
    ("linreg_angle_14", "linreg_angle(close, 14)"),
    ("tsf_14", "tsf(close, 14)"),
    ("correl_30", "correl(high, low, 30)"),
    ("beta_5", "beta(high, low, 5)"),
    ("sum_10", "sum(close, 10)"),
    ("maxindex_14", "maxindex(close, 14)"),
    ("minindex_14", "minindex(close, 14)"),
    ("avgprice", "avgprice(open, high, low, close)"),
    ("medprice", "medprice(high, low)"),
    ("typprice", "typprice(high, low, close)"),
    ("wclprice", "wclprice(high, low, close)"),
    ("stochf_k_5_3", "stochf_k(high, low, close, 5, 3)"),
    ("stochf_d_5_3", "stochf_d(high, low, close, 5, 3)"),
    ("stochrsi_k_14_5_3", "stochrsi_k(close, 14, 5, 3)"),
    ("stochrsi_d_14_5_3", "stochrsi_d(close, 14, 5, 3)"),
    ("rsi_14", "talib_rsi(close, 14)"),
    ("atr_14", "atr_of(high, low, close, 14)"),
    ("trange", "trange(high, low, close)"),
    ("plus_dm", "plus_dm()"),
    ("minus_dm", "minus_dm()"),
    ("adxr", "adxr()"),
    ("macdfix_line", "macdfix_line()"),
    ("macdfix_signal", "macdfix_signal()"),
    ("macdfix_hist", "macdfix_hist()"),
    ("ma_10_t0", "ma(close, 10, 0)"),
    ("ma_10_t1", "ma(close, 10, 1)"),
    ("ma_10_t2", "ma(close, 10, 2)"),
    ("ma_10_t3", "ma(close, 10, 3)"),
    ("ma_10_t4", "ma(close, 10, 4)"),
    ("ma_10_t5", "ma(close, 10, 5)"),
    ("ma_10_t6", "ma(close, 10, 6)"),
    ("ma_10_t7", "ma(close, 10, 7)"),
    ("ma_10_t8", "ma(close, 10, 8)"),
    (
        "macdext_12_1_26_1_9_1_line",
        "macdext(close, 12, 1, 26, 1, 9, 1)#0",
    ),
    (
        "macdext_12_1_26_1_9_1_signal",
        "macdext(close, 12, 1, 26, 1, 9, 1)#1",
    ),
    (
        "macdext_12_1_26_1_9_1_hist",
        "macdext(close, 12, 1, 26, 1, 9, 1)#2",
    ),
    (
        "macdext_12_0_26_0_9_0_line",
        "macdext(close, 12, 0, 26, 0, 9, 0)#0",
    ),
    (
        "macdext_12_0_26_0_9_0_signal",
        "macdext(close, 12, 0, 26, 0, 9, 0)#1",
    ),
    (
        "macdext_12_0_26_0_9_0_hist",
        "macdext(close, 12, 0, 26, 0, 9, 0)#2",
    ),
    (
        "macdext_5_3_20_6_9_2_line",
        "macdext(close, 5, 3, 20, 6, 9, 2)#0",
    ),
    (
        "macdext_5_3_20_6_9_2_signal",
        "macdext(close, 5, 3, 20, 6, 9, 2)#1",
    ),
    (
        "macdext_5_3_20_6_9_2_hist",
        "macdext(close, 5, 3, 20, 6, 9, 2)#2",
    ),
    (
        "macdext_26_4_12_8_9_5_line",
        "macdext(close, 26, 4, 12, 8, 9, 5)#0",
    ),
    (
        "macdext_26_4_12_8_9_5_signal",
        "macdext(close, 26, 4, 12, 8, 9, 5)#1",
    ),
    (
        "macdext_26_4_12_8_9_5_hist",
        "macdext(close, 26, 4, 12, 8, 9, 5)#2",
    ),
    (
        "macdext_12_7_26_1_9_0_line",
        "macdext(close, 12, 7, 26, 1, 9, 0)#0",
    ),
    (
        "macdext_12_7_26_1_9_0_signal",
        "macdext(close, 12, 7, 26, 1, 9, 0)#1",
    ),
    (
        "macdext_12_7_26_1_9_0_hist",
        "macdext(close, 12, 7, 26, 1, 9, 0)#2",
    ),
    ("ht_dcperiod", "ht_dcperiod()"),
    ("ht_trendline", "ht_trendline()"),
    ("ht_dcphase", "ht_dcphase()"),
    ("ht_phasor_inphase", "ht_phasor_inphase()"),
    ("ht_phasor_quad", "ht_phasor_quadrature()"),
    ("ht_sine_sine", "ht_sine_sine()"),
    ("ht_sine_lead", "ht_sine_lead()"),
    ("ht_trendmode", "ht_trendmode()"),
    ("mama_mama", "mama_mama()"),
    ("mama_fama", "mama_fama()"),
    ("sarext", "sarext()"),
];

struct Plots(Vec<f64>);

impl Sink for Plots {
    fn plot(&mut self, _bar: u64, _index: u32, value: f64) {
        self.0.push(value);
    }
}

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn reference() -> (Vec<String>, Vec<Vec<f64>>) {
    reference_file("tests/reference/talib_500.csv")
}

/// A reference CSV: a `bar` column, then one column per output (`nan` where it has no value).
fn reference_file(path: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| {
            l.split(',')
                .map(|v| {
                    if v == "nan" {
                        f64::NAN
                    } else {
                        v.parse().unwrap()
                    }
                })
                .collect()
        })
        .collect();
    (header, rows)
}

/// Runs `plot(expr)` over the fixture; returns the plotted values and the inferred warm-up.
/// `CALL#k` is output `k` (from 0) of a function returning a tuple of three.
fn run(expr: &str) -> Result<(Vec<f64>, Option<u64>), String> {
    let bind = match expr.split_once('#') {
        Some((call, k)) => {
            let names: Vec<String> = (0..3)
                .map(|i| {
                    if i.to_string() == k {
                        "x".into()
                    } else {
                        format!("_y{i}")
                    }
                })
                .collect();
            format!("let ({}) = {call}", names.join(", "))
        }
        None => format!("let x = {expr}"),
    };
    let src = format!("strategy t {{\n    {bind}\n    plot(x, \"x\")\n}}\n");
    let (plots, warmup, _) = run_program(&src)?;
    Ok((plots, warmup))
}

/// Runs a program over the fixture; returns its plotted values (all plots, bar by bar), the
/// inferred warm-up of its series `x` and the bytes of its buffers.
fn run_program(src: &str) -> Result<(Vec<f64>, Option<u64>, u64), String> {
    run_program_on(src, "tests/data/ohlcv_500.csv")
}

/// [`run_program`] over another data file.
fn run_program_on(src: &str, data: &str) -> Result<(Vec<f64>, Option<u64>, u64), String> {
    let expr = src;
    let c = btl::compile("indicator.btl", src, &[]);
    let Some(p) = c.bar_program() else {
        let msgs: Vec<String> = c
            .diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect();
        return Err(format!("`{expr}` does not compile: {}", msgs.join("; ")));
    };
    let report = btl::mem::report(c.program.as_ref().unwrap(), &c.sources);
    let warmup = report
        .series
        .iter()
        .find(|r| r.name == "x")
        .and_then(|r| r.warmup);
    let mut feed = CsvFeed::open(&root().join(data), false).map_err(|e| e.to_string())?;
    let mut plots = Plots(Vec::new());
    let config = BrokerConfig {
        cash: 100_000.0,
        commission: 0.0,
        ..BrokerConfig::default()
    };
    engine::run(&p, &mut feed, &mut Interpreter, config, &mut plots).map_err(|e| e.to_string())?;
    Ok((plots.0, warmup, report.total_bytes))
}

/// A multi-output indicator through one tuple call gives, bit for bit, what its single-output
/// functions give, and holds one state instead of one per function.
#[test]
fn tuple_indicators_equal_their_single_output_functions_with_less_memory() {
    let cases = [
        (
            "let (a, b, c) = macd(close, 12, 26, 9)",
            [
                "macd_line(close, 12, 26, 9)",
                "macd_signal(close, 12, 26, 9)",
                "macd_hist(close, 12, 26, 9)",
            ]
            .as_slice(),
        ),
        (
            "let (a, b, c) = bbands(close, 20, 2.0)",
            [
                "bb_upper(close, 20, 2.0)",
                "bb_middle(close, 20)",
                "bb_lower(close, 20, 2.0)",
            ]
            .as_slice(),
        ),
        (
            "let (a, b) = stoch(14, 3, 3)",
            ["stoch_k(14, 3, 3)", "stoch_d(14, 3, 3)"].as_slice(),
        ),
    ];
    for (tuple, singles) in cases {
        let names = ["a", "b", "c"];
        let plots: String = names[..singles.len()]
            .iter()
            .map(|n| format!("    plot({n}, \"{n}\")\n"))
            .collect();
        let one = format!("strategy t {{\n    {tuple}\n{plots}}}\n");
        let lets: String = names
            .iter()
            .zip(singles)
            .map(|(n, e)| format!("    let {n} = {e}\n"))
            .collect();
        let many = format!("strategy t {{\n{lets}{plots}}}\n");
        let (a, _, bytes_one) = run_program(&one).unwrap();
        let (b, _, bytes_many) = run_program(&many).unwrap();
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(
                btl::diff::same(*x, *y),
                "{tuple}: value {i}: {x:?} vs {y:?}"
            );
        }
        assert!(
            bytes_one < bytes_many,
            "{tuple}: {bytes_one} bytes, the single-output functions {bytes_many}"
        );
    }
}

/// The classics TA-Lib lacks, against a Python reference written from their published
/// definitions (Pine Script v5 where it defines them): tests/reference/classics_reference.py.
const CLASSICS: &[(&str, &str)] = &[
    ("hma_9", "hma(close, 9)"),
    ("hma_16", "hma(close, 16)"),
    ("zlema_20", "zlema(close, 20)"),
    ("zlema_9", "zlema(close, 9)"),
    ("vwma_20", "vwma(close, volume, 20)"),
    ("alma_9", "alma(close, 9, 0.85, 6.0)"),
    ("alma_20", "alma(close, 20, 0.5, 4.0)"),
    ("dc_upper", "donchian_upper(high, low, 20)"),
    ("dc_middle", "donchian_middle(high, low, 20)"),
    ("dc_lower", "donchian_lower(high, low, 20)"),
    ("kc_upper", "keltner_upper(high, low, close, 20, 2.0)"),
    ("kc_middle", "keltner_middle(high, low, close, 20, 2.0)"),
    ("kc_lower", "keltner_lower(high, low, close, 20, 2.0)"),
    ("st_line", "supertrend_line(high, low, close, 3.0, 10)"),
    ("st_dir", "supertrend_direction(high, low, close, 3.0, 10)"),
    ("ha_open", "ha_open()"),
    ("ha_high", "ha_high()"),
    ("ha_low", "ha_low()"),
    ("ha_close", "ha_close()"),
    ("ichi_conv", "ichimoku_conversion(high, low, 9, 26, 52)"),
    ("ichi_base", "ichimoku_base(high, low, 9, 26, 52)"),
    ("ichi_span_a", "ichimoku_span_a(high, low, 9, 26, 52)"),
    ("ichi_span_b", "ichimoku_span_b(high, low, 9, 26, 52)"),
    ("vortex_plus", "vortex_plus(high, low, close, 14)"),
    ("vortex_minus", "vortex_minus(high, low, close, 14)"),
    ("tsi_25_13", "tsi(close, 25, 13)"),
    ("awesome", "awesome(high, low)"),
    ("elder_bull", "elder_bull(high, low, close, 13)"),
    ("elder_bear", "elder_bear(high, low, close, 13)"),
    ("kst_line", "kst_line(close)"),
    ("kst_signal", "kst_signal(close)"),
    ("pct_rank_20", "percent_rank(close, 20)"),
    ("pct_rank_5", "percent_rank(close, 5)"),
    ("zscore_20", "zscore(close, 20)"),
    ("bars_since_down", "bars_since(close < open)"),
    ("value_when_down", "value_when(close < open, close)"),
    (
        "bars_since_gap",
        "bars_since(close < open or low > high[1])",
    ),
    ("highest_bars_14", "highest_bars(high, 14)"),
    ("lowest_bars_14", "lowest_bars(low, 14)"),
    ("connors_rsi", "connors_rsi(close, 3, 2, 100)"),
];

#[test]
fn stdlib_indicators_match_talib_and_their_inferred_warmup() {
    check_against(reference(), CASES);
}

#[test]
fn classics_match_their_reference_and_their_inferred_warmup() {
    check_against(reference_file("tests/reference/classics_500.csv"), CLASSICS);
}

/// Every case's values equal the reference column to 1e-9 relative (NaN positions too), and its
/// inferred warm-up is its first value.
fn check_against((header, rows): (Vec<String>, Vec<Vec<f64>>), cases: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for (column, expr) in cases {
        let col = header
            .iter()
            .position(|h| h == column)
            .unwrap_or_else(|| panic!("no column {column}"));
        let want: Vec<f64> = rows.iter().map(|r| r[col]).collect();
        let (got, warmup) = match run(expr) {
            Ok(r) => r,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        assert_eq!(got.len(), want.len());
        let mut bad = 0;
        for (bar, (g, w)) in got.iter().zip(&want).enumerate() {
            // Relative 1e-9, or 1e-12 absolute: TA-Lib's running sums leave residues of about
            // 1e-14 where the exact value is 0 (STOCHRSI's %D), and btl's sums are exact.
            let ok = match (g.is_nan(), w.is_nan()) {
                (true, true) => true,
                (false, false) => (g - w).abs() <= (1e-9 * w.abs()).max(1e-12),
                _ => false,
            };
            if !ok {
                if bad < 3 {
                    failures.push(format!(
                        "{column} = {expr}: bar {bar}: btl {g:?}, reference {w:?}"
                    ));
                }
                bad += 1;
            }
        }
        if bad > 3 {
            failures.push(format!("{column}: {bad} bars differ in all"));
        }
        let first = got.iter().position(|v| !v.is_nan()).map(|b| b as u64);
        if first != warmup {
            failures.push(format!(
                "{column} = {expr}: inferred warm-up {warmup:?}, first value at bar {first:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// docs/indicators.md lists every stdlib function (the learner's index).
#[test]
fn the_indicator_list_has_every_stdlib_function() {
    let doc = std::fs::read_to_string(root().join("docs/indicators.md")).unwrap();
    let mut missing = Vec::new();
    for (file, text) in btl::stdlib::FILES {
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("fn ") {
                let name = rest.split('(').next().unwrap_or("");
                if !doc.contains(&format!("  {name}(")) {
                    missing.push(format!("{file}: {name}"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "not in docs/indicators.md: {missing:?}");
}

/// The session indicators (stdlib/sessions.btl) on 5-minute bars over 15 days (one weekday
/// missing, one half day), against tests/reference/sessions_reference.py: each tuple's outputs,
/// bar by bar, to 1e-9 relative, `na` where the reference has none.
#[test]
fn session_indicators_match_their_reference_on_intraday_bars() {
    let (header, rows) = reference_file("tests/reference/sessions_intraday.csv");
    let cases: &[(&str, &[&str])] = &[
        ("vwap_day()", &["vwap_day"]),
        (
            "vwap_anchored(new_day() or time % 86400000 == 43200000, close, volume)",
            &["vwap_noon"],
        ),
        ("prior_day_hlc(high, low, close)", &["pdh", "pdl", "pdc"]),
        (
            "pivots_classic(high, low, close)",
            &["pc_p", "pc_r1", "pc_r2", "pc_r3", "pc_s1", "pc_s2", "pc_s3"],
        ),
        (
            "pivots_fibonacci(high, low, close)",
            &["pc_p", "pf_r1", "pf_r2", "pf_r3", "pf_s1", "pf_s2", "pf_s3"],
        ),
        (
            "pivots_camarilla(high, low, close)",
            &[
                "cam_r1", "cam_r2", "cam_r3", "cam_r4", "cam_s1", "cam_s2", "cam_s3", "cam_s4",
            ],
        ),
    ];
    let mut failures = Vec::new();
    for (call, columns) in cases {
        let names: Vec<String> = (0..columns.len()).map(|i| format!("x{i}")).collect();
        let bind = if names.len() == 1 {
            format!("let x0 = {call}")
        } else {
            format!("let ({}) = {call}", names.join(", "))
        };
        let plots: String = names
            .iter()
            .map(|n| format!("    plot({n}, \"{n}\")\n"))
            .collect();
        let src = format!("strategy t {{\n    {bind}\n{plots}}}\n");
        let (got, _, _) = run_program_on(&src, "tests/data/intraday_5m.csv").unwrap();
        assert_eq!(got.len(), rows.len() * columns.len(), "{call}");
        for (k, column) in columns.iter().enumerate() {
            let col = header.iter().position(|h| h == column).unwrap();
            for (bar, row) in rows.iter().enumerate() {
                let (g, w) = (got[bar * columns.len() + k], row[col]);
                let ok = match (g.is_nan(), w.is_nan()) {
                    (true, true) => true,
                    (false, false) => (g - w).abs() <= 1e-9 * w.abs().max(1e-9),
                    _ => false,
                };
                if !ok && failures.len() < 10 {
                    failures.push(format!(
                        "{call} {column}: bar {bar}: btl {g:?}, reference {w:?}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The sizing functions, by hand: whole units of money at a price, and a fixed-fractional size
/// from the money at risk and the stop's distance (`na` for a distance that is not positive).
#[test]
fn sizing_functions_give_whole_units() {
    for (expr, want) in [
        ("qty_for_cash(1000, 3)", 333.0),
        ("qty_for_cash(1000, 1000)", 1.0),
        ("qty_for_risk(1000, 3)", 333.0),
        ("qty_for_risk(999.9, 0.5)", 1999.0),
    ] {
        let (got, _) = run(expr).unwrap();
        assert!(got.iter().all(|&g| g == want), "{expr}: {:?}", &got[..3]);
    }
    for expr in [
        "qty_for_risk(1000, 0)",
        "qty_for_risk(1000, -2)",
        "qty_for_risk(1000, na)",
    ] {
        let (got, _) = run(expr).unwrap();
        assert!(got.iter().all(|g| g.is_nan()), "{expr}: {:?}", &got[..3]);
    }
}
