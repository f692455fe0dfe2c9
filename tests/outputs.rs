//! `btl run`'s output files never cost the user a file: an output that is an input or another
//! output is refused before the run; a symlink is followed and a special file written in place;
//! a run that fails commits no output at all and leaves no temporary file.

mod common;
use common::{btl, root, text};

use std::path::{Path, PathBuf};

/// A scratch folder with the strategy `s.btl` and the data `data.csv`.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("btl-outputs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(root().join("examples/sma_cross.btl"), dir.join("s.btl")).unwrap();
    std::fs::copy(
        root().join("examples/data/prices.csv"),
        dir.join("data.csv"),
    )
    .unwrap();
    dir
}

/// `btl run s.btl --data data.csv ARGS...` in `dir`.
fn run_in(dir: &Path, args: &[&str]) -> std::process::Output {
    let s = dir.join("s.btl");
    let d = dir.join("data.csv");
    let mut all = vec!["run", s.to_str().unwrap(), "--data", d.to_str().unwrap()];
    all.extend_from_slice(args);
    btl(&all)
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

#[test]
fn an_output_that_is_an_input_is_refused_and_the_input_kept() {
    let dir = scratch("input");
    let data = std::fs::read(dir.join("data.csv")).unwrap();
    let strategy = std::fs::read(dir.join("s.btl")).unwrap();
    // The same files, also under other spellings and through a link.
    std::os::unix::fs::symlink(dir.join("data.csv"), dir.join("alias.csv")).unwrap();
    for (flag, target) in [
        ("--equity", path(&dir, "data.csv")),
        ("--trades", format!("{}/./data.csv", dir.display())),
        ("--plot", path(&dir, "s.btl")),
        ("--equity", path(&dir, "alias.csv")),
    ] {
        let out = run_in(&dir, &[flag, &target]);
        assert_eq!(out.status.code(), Some(2), "{flag} {target}");
        let err = text(&out.stderr);
        assert!(err.contains("refusing to overwrite an input"), "{err}");
        assert_eq!(std::fs::read(dir.join("data.csv")).unwrap(), data);
        assert_eq!(std::fs::read(dir.join("s.btl")).unwrap(), strategy);
    }
    assert_eq!(files(&dir), ["alias.csv", "data.csv", "s.btl"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn two_outputs_in_one_file_or_a_folder_are_refused_before_the_run() {
    let dir = scratch("targets");
    std::fs::write(dir.join("eq.csv"), "old\n").unwrap();
    std::fs::create_dir(dir.join("adir")).unwrap();
    let cases: [(&[&str], &str); 3] = [
        (
            &["--equity", "eq.csv", "--trades", "adir", "--plot", "p.html"],
            "is a directory",
        ),
        (
            &["--equity", "same.csv", "--trades", "same.csv"],
            "the same file for two outputs",
        ),
        (&["--plot", "missing/p.html"], "does not exist"),
    ];
    for (args, message) in cases {
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                if a.starts_with("--") {
                    a.to_string()
                } else {
                    path(&dir, a)
                }
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_in(&dir, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
        // Nothing committed, nothing left behind.
        assert_eq!(
            std::fs::read_to_string(dir.join("eq.csv")).unwrap(),
            "old\n"
        );
        assert_eq!(files(&dir), ["adir", "data.csv", "eq.csv", "s.btl"]);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_symlink_is_followed_and_a_special_file_written_in_place() {
    let dir = scratch("special");
    std::fs::write(dir.join("target.csv"), "old\n").unwrap();
    std::os::unix::fs::symlink(dir.join("target.csv"), dir.join("link.csv")).unwrap();
    std::os::unix::fs::symlink("/dev/null", dir.join("null")).unwrap();
    let out = run_in(
        &dir,
        &[
            "--equity",
            &path(&dir, "link.csv"),
            "--trades",
            &path(&dir, "null"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The links are still links; the file linked to holds the output; /dev/null is a device.
    for link in ["link.csv", "null"] {
        let m = std::fs::symlink_metadata(dir.join(link)).unwrap();
        assert!(m.file_type().is_symlink(), "{link} was replaced");
    }
    let equity = std::fs::read_to_string(dir.join("target.csv")).unwrap();
    assert!(equity.starts_with("time,cash,value,position\n"), "{equity}");
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    assert_eq!(
        files(&dir),
        ["data.csv", "link.csv", "null", "s.btl", "target.csv"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_fifo_receives_the_output_and_stays_a_fifo() {
    let dir = scratch("fifo");
    let fifo = dir.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let out = run_in(&dir, &["--equity", fifo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let got = reader.join().unwrap();
    assert_eq!(got.lines().count(), 2001);
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A run stopped by SIGINT or SIGTERM removes its temporary files and writes no output; the
/// files a SIGKILL leaves are removed by the next run with the same outputs.
#[test]
fn a_stopped_run_leaves_nothing_behind() {
    let dir = scratch("signals");
    common::write_bars(&dir.join("bars.csv"), 200_000);
    // Slow enough to be caught in the middle: a loop over a window on every bar.
    std::fs::write(
        dir.join("slow.btl"),
        "strategy slow {\n    mut acc = 0.0\n    for i in 0..2000 {\n        acc = acc + close[i % 50]\n    }\n    if acc > close * 2000 { buy(1) } else { close_position() }\n    plot(acc, \"acc\")\n}\n",
    )
    .unwrap();
    let start = |dir: &Path| {
        let args = [
            "run", "slow.btl", "--data", "bars.csv", "--engine", "interp", "--equity", "eq.csv",
            "--trades", "tr.csv", "--plot", "p.html", "--json",
        ];
        std::process::Command::new(env!("CARGO_BIN_EXE_btl"))
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Waits until the run has written part of its outputs.
    let started = |dir: &Path, pid: u32| {
        let tmp = dir.join(format!("eq.csv.tmp-{pid}"));
        for _ in 0..600 {
            if std::fs::metadata(&tmp).is_ok_and(|m| m.len() > 4096) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the run did not start writing");
    };
    let spills = || -> Vec<String> {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    for signal in ["INT", "TERM"] {
        let child = start(&dir);
        let pid = child.id();
        started(&dir, pid);
        let sent = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let out = child.wait_with_output().unwrap();
        assert_ne!(out.status.code(), Some(0), "{signal}");
        assert!(
            text(&out.stderr).contains("interrupted"),
            "{}",
            text(&out.stderr)
        );
        assert_eq!(
            files(&dir),
            ["bars.csv", "data.csv", "s.btl", "slow.btl"],
            "{signal}"
        );
        let mine = format!("btl-trades.jsonl-{pid}");
        assert!(!spills().iter().any(|f| f.starts_with(&mine)), "{signal}");
    }
    // SIGKILL cannot be caught: its leftovers go with the next run's outputs.
    let child = start(&dir);
    let pid = child.id();
    started(&dir, pid);
    let mut child = child;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(files(&dir).iter().any(|f| f.contains(&format!("-{pid}"))));
    let d = dir.join("data.csv");
    let out = btl(&[
        "run",
        dir.join("s.btl").to_str().unwrap(),
        "--data",
        d.to_str().unwrap(),
        "--equity",
        &path(&dir, "eq.csv"),
        "--trades",
        &path(&dir, "tr.csv"),
        "--plot",
        &path(&dir, "p.html"),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        files(&dir),
        [
            "bars.csv", "data.csv", "eq.csv", "p.html", "s.btl", "slow.btl", "tr.csv"
        ]
    );
    let mine = format!("btl-trades.jsonl-{pid}");
    assert!(!spills().iter().any(|f| f.starts_with(&mine)));
    std::fs::remove_dir_all(&dir).unwrap();
}
