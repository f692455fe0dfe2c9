//! Golden files for the JIT: the CLIF of small strategies (`btl run --emit clif`) is pinned by
//! snapshots in tests/clif/snapshots, so a change to code generation shows up as a diff.

use std::path::Path;

#[test]
fn clif_of_small_strategies_is_pinned() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clif");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "btl"))
        .collect();
    files.sort();
    assert!(files.len() >= 3);
    for path in files {
        let src = std::fs::read_to_string(&path).unwrap();
        let c = btl::compile(&path.display().to_string(), &src, &[]);
        let p = c.bar_program().expect("the golden strategies compile");
        let clif = btl::jit::clif(&p).expect("the JIT compiles them");
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(dir.join("snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_input_file(&path);
        settings.bind(|| insta::assert_snapshot!(name, clif));
    }
}
