//! The language server (being written).

/// Serves the Language Server Protocol over stdin/stdout until the client exits.
pub fn serve_stdio() -> Result<(), String> {
    Err("not built yet".into())
}
