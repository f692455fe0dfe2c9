//! Generates the parser from `grammar/btl.lalrpop` into `$OUT_DIR/btl.rs`, and the list of
//! stdlib files to embed into `$OUT_DIR/stdlib_files.rs`.
use std::fmt::Write as _;

fn main() {
    lalrpop::Configuration::new()
        .set_in_dir("grammar")
        .emit_rerun_directives(true)
        .process()
        .expect("grammar/btl.lalrpop is a valid lalrpop grammar");

    println!("cargo:rerun-if-changed=stdlib");
    let mut names: Vec<String> = std::fs::read_dir("stdlib")
        .expect("the stdlib folder exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".btl"))
        .collect();
    names.sort();
    let mut out = String::from("pub static FILES: &[(&str, &str)] = &[\n");
    for n in names {
        println!("cargo:rerun-if-changed=stdlib/{n}");
        writeln!(
            out,
            "    (\"stdlib/{n}\", include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/stdlib/{n}\"))),"
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("stdlib_files.rs");
    std::fs::write(dest, out).unwrap();
}
