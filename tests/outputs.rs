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
