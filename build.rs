//! Generates the parser from `grammar/btl.lalrpop` into `$OUT_DIR/btl.rs`.
fn main() {
    lalrpop::Configuration::new()
        .set_in_dir("grammar")
        .emit_rerun_directives(true)
        .process()
        .expect("grammar/btl.lalrpop is a valid lalrpop grammar");
}
