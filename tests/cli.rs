//! The `btl` binary end to end: exit codes, output formats, colour, `--param`, `explain`.

mod common;
use common::{btl, root, text};

fn mem_json(args: &[&str]) -> serde_json::Value {
    let out = btl(args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("btl mem --json prints JSON")
}

fn row<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no series {name} in {v}"))
}

#[test]
fn check_accepts_the_main_example() {
    let out = btl(&["check", "examples/sma_cross.btl"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("ok: strategy `sma_cross`"));
}

#[test]
fn mem_reports_lookback_from_sma_and_follows_param_overrides() {
    let v = mem_json(&["mem", "examples/sma_cross.btl", "--json"]);
    assert_eq!(row(&v, "close")["lookback"], 30);
    assert_eq!(row(&v, "close")["capacity"], 31);
    assert_eq!(
        row(&v, "position")["capacity"],
        1,
        "a series never read in the past holds one value"
    );
    assert_eq!(v["warmup"], 30);
    let total: u64 = v["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(
        v["total_bytes"].as_u64().unwrap(),
        total + v["window_sum_bytes"].as_u64().unwrap(),
        "the series' buffers and the exact window sums' states"
    );
    assert_eq!(v["window_sums"], 2, "one per SMA");
    for r in v["series"].as_array().unwrap() {
        for key in [
            "name", "file", "line", "lookback", "warmup", "capacity", "bytes",
        ] {
            assert!(r.get(key).is_some(), "row {r} lacks {key}");
        }
    }

    let v = mem_json(&[
        "mem",
        "examples/sma_cross.btl",
        "--param",
        "slow=50",
        "--json",
    ]);
    assert_eq!(row(&v, "close")["lookback"], 50);
    assert_eq!(v["warmup"], 50);
}

#[test]
fn mem_prints_a_table_with_the_total_and_warmup() {
    let out = btl(&["mem", "examples/sma_cross.btl"]);
    assert_eq!(out.status.code(), Some(0));
    let t = text(&out.stdout);
    assert!(t.starts_with("series"), "{t}");
    assert!(t.contains("total: "), "{t}");
    assert!(t.contains("warm-up: bar 30"), "{t}");
    // The engine's fixed buffers: 512 bars of 48 bytes, 4,096 log entries of 24.
    assert!(
        t.contains("a batch of 512 bars (24576 bytes); with the JIT, a sink log of 4096 plots and bar ends (98304 bytes)"),
        "{t}"
    );
}

#[test]
fn errors_exit_1_with_json_lines_in_rustc_shape() {
    let out = btl(&[
        "check",
        "tests/ui/errors/unknown_name.btl",
        "--message-format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "one JSON object per diagnostic");
    let first = &lines[0];
    assert_eq!(first["level"], "error");
    assert_eq!(first["code"]["code"], "E0100");
    assert!(first["message"].as_str().unwrap().contains("clsoe"));
    let span = &first["spans"][0];
    assert_eq!(span["is_primary"], true);
    assert_eq!(span["line_start"], 4);
    assert_eq!(span["column_start"], 13);
    assert_eq!(
        span["byte_end"].as_u64().unwrap() - span["byte_start"].as_u64().unwrap(),
        5
    );
    assert_eq!(first["children"][0]["level"], "help");
    assert!(
        first["children"][0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `close`")
    );
    assert!(first["rendered"].as_str().unwrap().contains("E0100"));
}

#[test]
fn colour_only_on_request_when_piped() {
    let plain = btl(&["check", "tests/ui/errors/cycle.btl"]);
    assert_eq!(plain.status.code(), Some(1));
    assert!(
        !text(&plain.stderr).contains('\u{1b}'),
        "no escape codes off a terminal"
    );
    let coloured = btl(&["check", "tests/ui/errors/cycle.btl", "--color", "always"]);
    assert!(text(&coloured.stderr).contains('\u{1b}'));
}

#[test]
fn bad_params_are_errors_with_codes() {
    let out = btl(&["check", "examples/sma_cross.btl", "--param", "sloww=5"]);
    assert_eq!(out.status.code(), Some(1));
    let e = text(&out.stderr);
    assert!(
        e.contains("E0300") && e.contains("did you mean `slow`"),
        "{e}"
    );

    let out = btl(&["check", "examples/sma_cross.btl", "--param", "slow=abc"]);
    assert_eq!(out.status.code(), Some(1));
    let e = text(&out.stderr);
    assert!(e.contains("E0301") && e.contains("param slow: int"), "{e}");

    let out = btl(&["mem", "examples/sma_cross.btl", "--param", "slow"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("E0302"));

    // `--param fast 5` says what to write.
    let out = btl(&["check", "examples/sma_cross.btl", "--param", "fast", "5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("write `--param fast=5`"));

    // A param given twice is an error, not the last one silently winning.
    let out = btl(&[
        "check",
        "examples/sma_cross.btl",
        "--param",
        "fast=5",
        "--param",
        "fast=6",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let e = text(&out.stderr);
    assert!(e.contains("E0302") && e.contains("given twice"), "{e}");
}

#[test]
fn max_memory_sets_the_limit_of_the_buffers() {
    let big = "tests/ui/lookback/too_much_memory.btl";
    let out = btl(&["check", big]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("E0205"));
    let out = btl(&["check", big, "--max-memory", "2G"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = btl(&["check", "examples/sma_cross.btl", "--max-memory", "100"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("more than the limit of 100 bytes"));
    let out = btl(&["check", "examples/sma_cross.btl", "--max-memory", "lots"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("give a size such as 512M"));
}

#[test]
fn unreadable_input_exits_2() {
    let out = btl(&["check", "no/such/file.btl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no/such/file.btl"));
}

#[test]
fn explain_prints_every_code_and_rejects_unknown_ones() {
    for code in btl::diag::Code::ALL {
        let out = btl(&["explain", code.as_str()]);
        assert_eq!(out.status.code(), Some(0));
        let t = text(&out.stdout);
        assert!(t.starts_with(&format!("# {code}")), "{code}: {t}");
        for section in ["## Why", "## Example", "## Fix"] {
            assert!(t.contains(section), "{code} lacks {section}");
        }
    }
    let out = btl(&["explain", "E9999"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let dir = std::env::temp_dir().join(format!("btl-deep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, expr) in [
        (
            "parens.btl",
            format!("{}close{}", "(".repeat(5000), ")".repeat(5000)),
        ),
        ("minus.btl", format!("{}close", "- ".repeat(20000))),
        (
            "ifs.btl",
            format!(
                "{}1{}",
                "if close > 1 { ".repeat(400),
                " } else { 2 }".repeat(400)
            ),
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!("strategy s {{\n    let x = {expr}\n    plot(x, \"x\")\n}}\n"),
        )
        .unwrap();
        let out = btl(&["check", &path.to_string_lossy()]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("E0115"), "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Long programs: a flat chain is accepted up to 20,000 terms (long, not deep); past it, E0115;
/// a file past 8 MiB is refused before it is parsed (E0005), with bounded memory.
#[test]
fn long_chains_and_huge_files_are_bounded() {
    let dir = std::env::temp_dir().join(format!("btl-long-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let chain = |n: usize| {
        let terms: Vec<String> = (0..n).map(|i| format!("close[{}]", i % 30)).collect();
        format!(
            "strategy s {{\n    let x = {}\n    plot(x, \"x\")\n}}\n",
            terms.join(" + ")
        )
    };
    let ok = dir.join("ok.btl");
    std::fs::write(&ok, chain(15_000)).unwrap();
    let out = btl(&["check", ok.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let long = dir.join("long.btl");
    std::fs::write(&long, chain(25_000)).unwrap();
    let out = btl(&["check", long.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("longer than 20000 operations"));
    let huge = dir.join("huge.btl");
    std::fs::write(
        &huge,
        format!("strategy s {{\n// {}\n}}\n", "x".repeat(9 << 20)),
    )
    .unwrap();
    let out = btl(&["check", huge.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let e = text(&out.stderr);
    assert!(e.contains("E0005") && !e.contains("E0112"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `btl doc` lists the stdlib, `btl doc NAME` shows one function; docs/indicators.md is the
/// generated list, and stale when it differs.
#[test]
fn doc_lists_and_shows_stdlib_functions() {
    let out = btl(&["doc"]);
    assert_eq!(out.status.code(), Some(0));
    let list = text(&out.stdout);
    assert!(list.contains("stdlib/average.btl") && list.contains("sma(src: series float, n: int)"));
    let out = btl(&["doc", "psar"]);
    assert_eq!(out.status.code(), Some(0));
    let one = text(&out.stdout);
    assert!(
        one.contains("stdlib/trend.btl:") && one.contains("fn psar(") && one.contains("Warm-up")
    );
    let out = btl(&["doc", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let committed = std::fs::read_to_string(root().join("docs/indicators.md")).unwrap();
    assert!(
        committed == btl::doc::markdown(),
        "docs/indicators.md is stale: `btl doc --markdown > docs/indicators.md`"
    );
}
