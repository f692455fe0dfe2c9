//! The language server: `btl lsp`.
//!
//! Contract: [`serve`] runs the Language Server Protocol over a `lsp_server::Connection`
//! synchronously until the client sends `shutdown` and `exit` (or disconnects); [`serve_stdio`]
//! does so over stdin/stdout. The server negotiates UTF-8 positions when the client offers them
//! (`general.positionEncodings`), else UTF-16. Documents are synced in full (ranged changes are
//! applied too). After every `didOpen` and `didChange` the document is compiled with the params'
//! defaults and its diagnostics are published; changes that arrive together are compiled once, and
//! every request is answered on the latest text. Requests: hover, definition, inlay hints, code
//! lens, document symbols, completion (see [`analysis`]).
//!
//! The server never stops because of its input: every compile, notification and request runs
//! under `catch_unwind`; a panic in a request becomes an `InternalError` response, a panic while
//! compiling becomes one diagnostic saying so, and malformed params give `InvalidParams`.
//! Documents that are the stdlib's read-only copies (see [`stdlib_cache`]) get no diagnostics.
//! Logging goes to stderr only.

pub mod analysis;
pub mod convert;
pub mod stdlib_cache;
pub mod transport;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument,
    Notification as NotificationTrait, PublishDiagnostics,
};
use lsp_types::request::{
    CodeLensRequest, Completion, DocumentSymbolRequest, GotoDefinition, HoverRequest,
    InlayHintRequest, Request as RequestTrait,
};
use lsp_types::{
    CodeLensOptions, CompletionOptions, CompletionResponse, DidChangeTextDocumentParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, DocumentSymbolResponse,
    GotoDefinitionResponse, HoverProviderCapability, InitializeParams, OneOf,
    PublishDiagnosticsParams, ServerCapabilities, ServerInfo, TextDocumentSyncCapability,
    TextDocumentSyncKind, Uri,
};
use serde_json::Value;

use analysis::Analysis;
use convert::{Encoding, LineIndex, uri_path};
use stdlib_cache::StdlibFiles;

/// Server settings that are not negotiated with the client.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where to write the stdlib's sources for "go to definition"; `None` names them with
    /// `btl-stdlib:` URIs without writing anything.
    pub stdlib_dir: Option<PathBuf>,
}

impl Config {
    /// The stdlib in the user's cache folder (see [`StdlibFiles::default_dir`]).
    pub fn from_env() -> Config {
        Config {
            stdlib_dir: Some(StdlibFiles::default_dir()),
        }
    }
}

/// Serves the Language Server Protocol over stdin/stdout until the client exits.
pub fn serve_stdio() -> Result<(), String> {
    let (connection, transport) = transport::stdio();
    let result = serve(&connection, &Config::from_env());
    // The writer thread ends when every sender is gone: drop ours before joining.
    drop(connection);
    let joined = transport.join();
    result.and(joined)
}

/// Serves one client over `connection` (see the module contract). `Err` for a protocol error
/// or an `exit` without `shutdown`.
pub fn serve(connection: &Connection, config: &Config) -> Result<(), String> {
    let (id, params) = connection
        .initialize_start()
        .map_err(|e| format!("initialize: {e}"))?;
    let init: Option<InitializeParams> = serde_json::from_value(params).ok();
    let offered = init
        .as_ref()
        .and_then(|p| p.capabilities.general.as_ref())
        .and_then(|g| g.position_encodings.as_deref());
    let enc = Encoding::negotiate(offered);
    let stdlib = match &config.stdlib_dir {
        Some(dir) => StdlibFiles::in_dir(dir).unwrap_or_else(|(why, fallback)| {
            eprintln!("btl lsp: {why}; go to definition will not open stdlib functions");
            fallback
        }),
        None => StdlibFiles::virtual_only(),
    };
    let result = serde_json::json!({
        "capabilities": capabilities(enc),
        "serverInfo": ServerInfo {
            name: "btl".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        },
    });
    connection
        .initialize_finish(id, result)
        .map_err(|e| format!("initialize: {e}"))?;
    let mut server = Server {
        conn: connection,
        enc,
        stdlib,
        docs: HashMap::new(),
    };
    server.run()
}

fn capabilities(enc: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(enc.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        inlay_hint_provider: Some(OneOf::Left(true)),
        code_lens_provider: Some(CodeLensOptions {
            resolve_provider: Some(false),
        }),
        document_symbol_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions::default()),
        ..ServerCapabilities::default()
    }
}

/// One open document.
struct Doc {
    uri: Uri,
    text: String,
    version: i32,
    /// Changed since it was last compiled.
    dirty: bool,
    /// The last compile; `None` when it panicked.
    analysis: Option<Analysis>,
}

struct Server<'a> {
    conn: &'a Connection,
    enc: Encoding,
    stdlib: StdlibFiles,
    docs: HashMap<String, Doc>,
}

/// What to do after a message.
enum Flow {
    Continue,
    Stop(Result<(), String>),
}

type Failure = (i32, String);

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

fn params<P: serde::de::DeserializeOwned>(v: Value) -> Result<P, Failure> {
    serde_json::from_value(v).map_err(|e| (ErrorCode::InvalidParams as i32, e.to_string()))
}

fn json<T: serde::Serialize>(v: T) -> Result<Value, Failure> {
    serde_json::to_value(v).map_err(|e| (ErrorCode::InternalError as i32, e.to_string()))
}

impl Server<'_> {
    fn run(&mut self) -> Result<(), String> {
        loop {
            let Ok(msg) = self.conn.receiver.recv() else {
                return Ok(());
            };
            if let Flow::Stop(r) = self.handle(msg) {
                return r;
            }
            // Take whatever else is waiting before compiling, so a burst of changes is
            // compiled once.
            while let Ok(msg) = self.conn.receiver.try_recv() {
                if let Flow::Stop(r) = self.handle(msg) {
                    return r;
                }
            }
            self.flush();
        }
    }

    fn send(&self, msg: Message) {
        // A closed channel means the client is gone; `run` sees it on the next receive.
        let _ = self.conn.sender.send(msg);
    }

    fn handle(&mut self, msg: Message) -> Flow {
        match msg {
            Message::Request(req) => {
                match self.conn.handle_shutdown(&req) {
                    Ok(true) => return Flow::Stop(Ok(())),
                    Ok(false) => {}
                    Err(e) => return Flow::Stop(Err(format!("shutdown: {e}"))),
                }
                self.flush();
                let response = self.request(req);
                self.send(response.into());
                Flow::Continue
            }
            Message::Notification(n) if n.method == "exit" => {
                Flow::Stop(Err("exit without shutdown".to_string()))
            }
            Message::Notification(n) => {
                let method = n.method.clone();
                if let Err(p) = catch_unwind(AssertUnwindSafe(|| self.notification(n))) {
                    eprintln!(
                        "btl lsp: internal error in {method}: {}",
                        panic_message(p.as_ref())
                    );
                }
                Flow::Continue
            }
            Message::Response(_) => Flow::Continue,
        }
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) else {
                    return;
                };
                let doc = p.text_document;
                self.docs.insert(
                    doc.uri.as_str().to_string(),
                    Doc {
                        uri: doc.uri,
                        text: doc.text,
                        version: doc.version,
                        dirty: true,
                        analysis: None,
                    },
                );
            }
            DidChangeTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) else {
                    return;
                };
                let enc = self.enc;
                let Some(doc) = self.docs.get_mut(p.text_document.uri.as_str()) else {
                    return;
                };
                for change in p.content_changes {
                    match change.range {
                        Some(range) => {
                            let idx = LineIndex::new(&doc.text);
                            let start = idx.offset(&doc.text, range.start, enc);
                            let end = idx.offset(&doc.text, range.end, enc).max(start);
                            doc.text.replace_range(start..end, &change.text);
                        }
                        None => doc.text = change.text,
                    }
                }
                doc.version = p.text_document.version;
                doc.dirty = true;
            }
            DidCloseTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) else {
                    return;
                };
                if let Some(doc) = self.docs.remove(p.text_document.uri.as_str()) {
                    self.publish(doc.uri, Vec::new(), None);
                }
            }
            _ => {}
        }
    }

    fn publish(&self, uri: Uri, diagnostics: Vec<lsp_types::Diagnostic>, version: Option<i32>) {
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        };
        self.send(Notification::new(PublishDiagnostics::METHOD.to_string(), params).into());
    }

    /// Compiles every changed document and publishes its diagnostics.
    fn flush(&mut self) {
        let mut dirty: Vec<String> = self
            .docs
            .iter()
            .filter(|(_, d)| d.dirty)
            .map(|(k, _)| k.clone())
            .collect();
        dirty.sort();
        for key in dirty {
            let Some(doc) = self.docs.get_mut(&key) else {
                continue;
            };
            doc.dirty = false;
            let name = uri_path(&doc.uri)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| doc.uri.as_str().to_string());
            let (enc, stdlib) = (self.enc, &self.stdlib);
            let compiled = catch_unwind(AssertUnwindSafe(|| {
                let a = Analysis::new(doc.uri.clone(), &name, &doc.text, enc, stdlib);
                let d = a.diagnostics();
                (a, d)
            }));
            let diagnostics = match compiled {
                Ok((a, d)) => {
                    doc.analysis = Some(a);
                    d
                }
                Err(p) => {
                    doc.analysis = None;
                    vec![lsp_types::Diagnostic {
                        severity: Some(lsp_types::DiagnosticSeverity::ERROR),
                        source: Some("btl".to_string()),
                        message: format!(
                            "internal error: btl failed on this file ({}); please report it",
                            panic_message(p.as_ref())
                        ),
                        ..lsp_types::Diagnostic::default()
                    }]
                }
            };
            let diagnostics = if self.stdlib.is_stdlib_document(&doc.uri) {
                Vec::new()
            } else {
                diagnostics
            };
            let (uri, version) = (doc.uri.clone(), doc.version);
            self.publish(uri, diagnostics, Some(version));
        }
    }

    fn request(&self, req: Request) -> Response {
        let id = req.id.clone();
        let method = req.method.clone();
        match catch_unwind(AssertUnwindSafe(|| self.dispatch(req))) {
            Ok(Ok(value)) => Response::new_ok(id, value),
            Ok(Err((code, message))) => Response::new_err(id, code, message),
            Err(p) => Response::new_err(
                id,
                ErrorCode::InternalError as i32,
                format!(
                    "btl: internal error in {method}: {}",
                    panic_message(p.as_ref())
                ),
            ),
        }
    }

    fn analysis(&self, uri: &Uri) -> Option<&Analysis> {
        self.docs.get(uri.as_str())?.analysis.as_ref()
    }

    fn dispatch(&self, req: Request) -> Result<Value, Failure> {
        match req.method.as_str() {
            HoverRequest::METHOD => {
                let p: lsp_types::HoverParams = params(req.params)?;
                let at = p.text_document_position_params;
                json(
                    self.analysis(&at.text_document.uri)
                        .and_then(|a| a.hover(at.position)),
                )
            }
            GotoDefinition::METHOD => {
                let p: lsp_types::GotoDefinitionParams = params(req.params)?;
                let at = p.text_document_position_params;
                json(
                    self.analysis(&at.text_document.uri)
                        .and_then(|a| a.definition(at.position))
                        .map(GotoDefinitionResponse::Scalar),
                )
            }
            InlayHintRequest::METHOD => {
                let p: lsp_types::InlayHintParams = params(req.params)?;
                json(
                    self.analysis(&p.text_document.uri)
                        .map(|a| a.inlay_hints(p.range)),
                )
            }
            CodeLensRequest::METHOD => {
                let p: lsp_types::CodeLensParams = params(req.params)?;
                json(self.analysis(&p.text_document.uri).map(|a| a.code_lenses()))
            }
            DocumentSymbolRequest::METHOD => {
                let p: lsp_types::DocumentSymbolParams = params(req.params)?;
                json(
                    self.analysis(&p.text_document.uri)
                        .map(|a| DocumentSymbolResponse::Nested(a.document_symbols())),
                )
            }
            Completion::METHOD => {
                let p: lsp_types::CompletionParams = params(req.params)?;
                let at = p.text_document_position;
                json(
                    self.analysis(&at.text_document.uri)
                        .map(|a| CompletionResponse::Array(a.completion(at.position))),
                )
            }
            other => Err((
                ErrorCode::MethodNotFound as i32,
                format!("btl lsp does not handle `{other}`"),
            )),
        }
    }
}
