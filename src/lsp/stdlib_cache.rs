//! Where the embedded stdlib's sources are shown to editors.
//!
//! Contract: [`StdlibFiles`] gives a URI for each file of `crate::stdlib::FILES`. With a cache
//! folder ([`StdlibFiles::in_dir`]), the files are written there (only when missing or different;
//! the folder's name carries the btl version and a hash of the sources, so a new btl never reads an
//! old copy) and marked read-only, and the URIs are `file://` URIs of those copies, so "go to
//! definition" opens them in any editor. Without a folder, or when writing fails, the URIs are
//! `btl-stdlib:/stdlib/NAME.btl`, which an editor cannot open but which still name the file. The
//! only IO in the server besides stdio happens here, once at start-up.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lsp_types::Uri;

use super::convert::{file_uri, uri_path};
use crate::stdlib::FILES;

#[derive(Debug, Clone, Default)]
pub struct StdlibFiles {
    /// The folder holding the copies, when they were written.
    dir: Option<PathBuf>,
    /// Stdlib file name (`stdlib/average.btl`) to the URI shown to the editor.
    uris: HashMap<String, Uri>,
}

/// FNV-1a over the stdlib's names and texts: names the cache folder.
fn sources_hash() -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, text) in FILES {
        for b in name.bytes().chain([0]).chain(text.bytes()).chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn base_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

impl StdlibFiles {
    /// URIs that name the files without writing them (`btl-stdlib:/stdlib/NAME.btl`).
    pub fn virtual_only() -> StdlibFiles {
        let uris = FILES
            .iter()
            .filter_map(|(name, _)| {
                let uri = format!("btl-stdlib:/{name}").parse().ok()?;
                Some((name.to_string(), uri))
            })
            .collect();
        StdlibFiles { dir: None, uris }
    }

    /// The default cache folder: `$XDG_CACHE_HOME/btl/stdlib/VERSION-HASH`, else
    /// `$HOME/.cache/btl/stdlib/VERSION-HASH`, else the same under the temporary folder.
    pub fn default_dir() -> PathBuf {
        let leaf = format!("{}-{:016x}", env!("CARGO_PKG_VERSION"), sources_hash());
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .filter(|p| p.is_absolute())
                    .map(|h| h.join(".cache"))
            })
            .unwrap_or_else(std::env::temp_dir);
        base.join("btl").join("stdlib").join(leaf)
    }

    /// Writes the stdlib into `dir` (see the module contract); on failure, the reason and
    /// [`StdlibFiles::virtual_only`].
    pub fn in_dir(dir: &Path) -> Result<StdlibFiles, (String, StdlibFiles)> {
        match write_all(dir) {
            Ok(files) => Ok(files),
            Err(e) => Err((
                format!("cannot write the stdlib to {}: {e}", dir.display()),
                StdlibFiles::virtual_only(),
            )),
        }
    }

    /// The URI of a stdlib file (by its name in the source map).
    pub fn uri(&self, name: &str) -> Option<&Uri> {
        self.uris.get(name)
    }

    /// Whether a document is one of the stdlib copies (its diagnostics are not published).
    pub fn is_stdlib_document(&self, uri: &Uri) -> bool {
        if uri.as_str().starts_with("btl-stdlib:") {
            return true;
        }
        match (&self.dir, uri_path(uri)) {
            (Some(dir), Some(path)) => path.parent() == Some(dir.as_path()),
            _ => false,
        }
    }
}

fn write_all(dir: &Path) -> std::io::Result<StdlibFiles> {
    let dir = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()?.join(dir)
    };
    std::fs::create_dir_all(&dir)?;
    let mut uris = HashMap::new();
    for (name, text) in FILES {
        let path = dir.join(base_name(name));
        if std::fs::read_to_string(&path).ok().as_deref() != Some(*text) {
            if let Ok(meta) = std::fs::metadata(&path) {
                let mut perms = meta.permissions();
                #[allow(clippy::permissions_set_readonly_false)]
                perms.set_readonly(false);
                std::fs::set_permissions(&path, perms)?;
            }
            // Written under a temporary name and renamed, so a reader never sees half a file.
            let tmp = dir.join(format!(".{}.{}.tmp", base_name(name), std::process::id()));
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, &path)?;
        }
        let mut perms = std::fs::metadata(&path)?.permissions();
        if !perms.readonly() {
            perms.set_readonly(true);
            std::fs::set_permissions(&path, perms)?;
        }
        let uri = file_uri(&path).ok_or_else(|| std::io::Error::other("not a UTF-8 path"))?;
        uris.insert(name.to_string(), uri);
    }
    Ok(StdlibFiles {
        dir: Some(dir),
        uris,
    })
}
