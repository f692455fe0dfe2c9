//! The language server, driven in process through `lsp_server::Connection::memory()`.
//!
//! Each test starts `btl::lsp::serve` on a thread of its own with the stdlib cache in a fresh
//! temporary folder, talks to it as a client would (initialize, open, change, requests,
//! shutdown, exit) and checks the answers: negotiated encoding, diagnostics (codes, positions in
//! UTF-8 and UTF-16, related information, help), hover, definition (into the stdlib's cache
//! copies too), inlay hints, code lens, document symbols and completion. A robustness test runs
//! generated token soups and mutated programs (`btl::generate`) through the server with requests
//! at many positions: every request must get a non-error answer and every diagnostic must lie
//! inside the document. Every wait has a timeout, so a hung server fails the test instead of
//! hanging it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidOpenTextDocument, Exit, Initialized,
    Notification as NotificationTrait, PublishDiagnostics,
};
use lsp_types::request::{
    CodeLensRequest, Completion, DocumentSymbolRequest, GotoDefinition, HoverRequest, Initialize,
    InlayHintRequest, Request as RequestTrait, Shutdown,
};
use lsp_types::{
    ClientCapabilities, CodeLensParams, CompletionItem, CompletionParams, CompletionResponse,
    DidChangeTextDocumentParams, DidOpenTextDocumentParams, DocumentSymbol, DocumentSymbolParams,
    DocumentSymbolResponse, GeneralClientCapabilities, GotoDefinitionParams,
    GotoDefinitionResponse, Hover, HoverContents, HoverParams, InitializeParams, InitializeResult,
    InlayHint, InlayHintLabel, InlayHintParams, Location, NumberOrString, Position,
    PositionEncodingKind, PublishDiagnosticsParams, Range, TextDocumentContentChangeEvent,
    TextDocumentIdentifier, TextDocumentItem, TextDocumentPositionParams, Uri,
    VersionedTextDocumentIdentifier,
};
use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(30);

const DEMO: &str = r#"/// Two averages.
strategy demo {
    /// Bars in the fast average.
    param fast: int = 10
    param slow: int = 30
    let f = sma(close, fast)
    let s = sma(close, slow)
    let d = lagged(close, 2) + lagged(open, 5)
    let z = close + na
    if crossover(f, s) and d > 0 { buy(1) }
    if crossunder(f, s) { close_position() }
    plot(z, "z")
}

/// A series plus its own past, n bars back.
fn lagged(x: series float, n: int) -> series float {
    let acc = x[n] + nz(acc[n])
    acc
}
"#;

/// A fresh temporary folder for one test's stdlib cache.
fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "btl-lsp-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

struct Client {
    conn: Connection,
    server: Option<JoinHandle<Result<(), String>>>,
    next_id: i32,
    /// Notifications received while waiting for a response.
    pending: Vec<Notification>,
    init: InitializeResult,
    stdlib_dir: PathBuf,
}

fn uri(name: &str) -> Uri {
    format!("file:///work/{name}").parse().unwrap()
}

/// The 0-based position of the `nth` occurrence of `needle` in `text` plus `delta` bytes, in
/// UTF-16 units (the tests' documents are ASCII unless they say so).
/// Each hint's position and text label.
fn hint_labels(hints: &[InlayHint]) -> Vec<(Position, String)> {
    hints
        .iter()
        .map(|h| match &h.label {
            InlayHintLabel::String(s) => (h.position, s.clone()),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn pos_of(text: &str, needle: &str, nth: usize, delta: usize) -> Position {
    let off = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} not in the text"))
        .0
        + delta;
    let before = &text[..off];
    let line = before.matches('\n').count();
    let col = before.rsplit('\n').next().unwrap().encode_utf16().count();
    Position::new(line as u32, col as u32)
}

impl Client {
    fn start(offer_utf8: bool) -> Client {
        let (server_conn, conn) = Connection::memory();
        let stdlib_dir = temp_dir();
        let config = btl::lsp::Config {
            stdlib_dir: Some(stdlib_dir.clone()),
        };
        let server = std::thread::Builder::new()
            .name("lsp-server".into())
            .spawn(move || btl::lsp::serve(&server_conn, &config))
            .unwrap();
        let mut client = Client {
            conn,
            server: Some(server),
            next_id: 0,
            pending: Vec::new(),
            init: InitializeResult::default(),
            stdlib_dir,
        };
        let capabilities = ClientCapabilities {
            general: offer_utf8.then(|| GeneralClientCapabilities {
                position_encodings: Some(vec![
                    PositionEncodingKind::UTF8,
                    PositionEncodingKind::UTF16,
                ]),
                ..GeneralClientCapabilities::default()
            }),
            ..ClientCapabilities::default()
        };
        let init = client
            .request::<Initialize>(InitializeParams {
                capabilities,
                ..InitializeParams::default()
            })
            .expect("initialize succeeds");
        client.init = init;
        client.notify::<Initialized>(lsp_types::InitializedParams {});
        client
    }

    fn notify<N: NotificationTrait>(&self, params: N::Params) {
        self.conn
            .sender
            .send(Notification::new(N::METHOD.to_string(), params).into())
            .unwrap();
    }

    fn raw_request(&mut self, method: &str, params: Value) -> Response {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.conn
            .sender
            .send(Request::new(id.clone(), method.to_string(), params).into())
            .unwrap();
        loop {
            match self.conn.receiver.recv_timeout(TIMEOUT) {
                Ok(Message::Response(r)) if r.id == id => return r,
                Ok(Message::Response(r)) => panic!("unexpected response {r:?}"),
                Ok(Message::Notification(n)) => self.pending.push(n),
                Ok(Message::Request(r)) => panic!("unexpected request from the server {r:?}"),
                Err(e) => panic!("no answer to {method} within {TIMEOUT:?}: {e}"),
            }
        }
    }

    fn request<R: RequestTrait>(&mut self, params: R::Params) -> Result<R::Result, String> {
        let r = self.raw_request(R::METHOD, serde_json::to_value(params).unwrap());
        match r.response_result {
            Err(e) => Err(format!("{} ({})", e.message, e.code)),
            Ok(v) => serde_json::from_value(v).map_err(|e| e.to_string()),
        }
    }

    /// The next `publishDiagnostics` for `uri`.
    fn diagnostics(&mut self, uri: &Uri) -> PublishDiagnosticsParams {
        if let Some(i) = self
            .pending
            .iter()
            .position(|n| n.method == PublishDiagnostics::METHOD && n.params["uri"] == uri.as_str())
        {
            let n = self.pending.remove(i);
            return serde_json::from_value(n.params).unwrap();
        }
        loop {
            match self.conn.receiver.recv_timeout(TIMEOUT) {
                Ok(Message::Notification(n))
                    if n.method == PublishDiagnostics::METHOD
                        && n.params["uri"] == uri.as_str() =>
                {
                    return serde_json::from_value(n.params).unwrap();
                }
                Ok(Message::Notification(n)) => self.pending.push(n),
                Ok(other) => panic!("unexpected message {other:?}"),
                Err(e) => panic!(
                    "no diagnostics for {} within {TIMEOUT:?}: {e}",
                    uri.as_str()
                ),
            }
        }
    }

    fn open(&mut self, uri: &Uri, text: &str) -> PublishDiagnosticsParams {
        self.notify::<DidOpenTextDocument>(DidOpenTextDocumentParams {
            text_document: TextDocumentItem::new(uri.clone(), "btl".into(), 1, text.into()),
        });
        self.diagnostics(uri)
    }

    fn change(&mut self, uri: &Uri, version: i32, range: Option<Range>, text: &str) {
        self.notify::<DidChangeTextDocument>(DidChangeTextDocumentParams {
            text_document: VersionedTextDocumentIdentifier::new(uri.clone(), version),
            content_changes: vec![TextDocumentContentChangeEvent {
                range,
                range_length: None,
                text: text.into(),
            }],
        });
    }

    fn at(uri: &Uri, position: Position) -> TextDocumentPositionParams {
        TextDocumentPositionParams::new(TextDocumentIdentifier::new(uri.clone()), position)
    }

    fn hover(&mut self, uri: &Uri, position: Position) -> Option<String> {
        let h: Option<Hover> = self
            .request::<HoverRequest>(HoverParams {
                text_document_position_params: Client::at(uri, position),
                work_done_progress_params: Default::default(),
            })
            .unwrap();
        h.map(|h| match h.contents {
            HoverContents::Markup(m) => m.value,
            other => panic!("expected markdown, got {other:?}"),
        })
    }

    fn definition(&mut self, uri: &Uri, position: Position) -> Option<Location> {
        let r: Option<GotoDefinitionResponse> = self
            .request::<GotoDefinition>(GotoDefinitionParams {
                text_document_position_params: Client::at(uri, position),
                work_done_progress_params: Default::default(),
                partial_result_params: Default::default(),
            })
            .unwrap();
        r.map(|r| match r {
            GotoDefinitionResponse::Scalar(l) => l,
            other => panic!("expected one location, got {other:?}"),
        })
    }

    fn inlay_hints(&mut self, uri: &Uri, range: Range) -> Vec<InlayHint> {
        self.request::<InlayHintRequest>(InlayHintParams {
            text_document: TextDocumentIdentifier::new(uri.clone()),
            range,
            work_done_progress_params: Default::default(),
        })
        .unwrap()
        .unwrap_or_default()
    }

    fn symbols(&mut self, uri: &Uri) -> Vec<DocumentSymbol> {
        match self
            .request::<DocumentSymbolRequest>(DocumentSymbolParams {
                text_document: TextDocumentIdentifier::new(uri.clone()),
                work_done_progress_params: Default::default(),
                partial_result_params: Default::default(),
            })
            .unwrap()
        {
            Some(DocumentSymbolResponse::Nested(s)) => s,
            other => panic!("expected nested symbols, got {other:?}"),
        }
    }

    fn completion(&mut self, uri: &Uri, position: Position) -> Vec<CompletionItem> {
        match self
            .request::<Completion>(CompletionParams {
                text_document_position: Client::at(uri, position),
                work_done_progress_params: Default::default(),
                partial_result_params: Default::default(),
                context: None,
            })
            .unwrap()
        {
            Some(CompletionResponse::Array(items)) => items,
            other => panic!("expected a completion list, got {other:?}"),
        }
    }

    /// `shutdown`, `exit`, and the server's result.
    fn shutdown(mut self) -> Result<(), String> {
        self.request::<Shutdown>(()).expect("shutdown succeeds");
        self.notify::<Exit>(());
        let server = self.server.take().unwrap();
        server.join().expect("the server thread does not panic")
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.stdlib_dir);
    }
}

fn code(d: &lsp_types::Diagnostic) -> String {
    match &d.code {
        Some(NumberOrString::String(s)) => s.clone(),
        other => panic!("diagnostic without a string code: {other:?}"),
    }
}

#[test]
fn initialize_negotiates_utf8_when_offered_else_utf16() {
    let c = Client::start(true);
    assert_eq!(
        c.init.capabilities.position_encoding,
        Some(PositionEncodingKind::UTF8)
    );
    let caps = &c.init.capabilities;
    assert!(caps.hover_provider.is_some() && caps.definition_provider.is_some());
    assert!(caps.inlay_hint_provider.is_some() && caps.code_lens_provider.is_some());
    assert!(caps.document_symbol_provider.is_some() && caps.completion_provider.is_some());
    assert_eq!(c.init.server_info.as_ref().unwrap().name, "btl");
    c.shutdown().unwrap();

    let c = Client::start(false);
    assert_eq!(
        c.init.capabilities.position_encoding,
        Some(PositionEncodingKind::UTF16)
    );
    c.shutdown().unwrap();
}

#[test]
fn open_publishes_several_errors_with_codes_help_and_related_labels() {
    let mut c = Client::start(false);
    let text =
        "strategy s {\n    let a = clsoe + 1\n    let a = 2\n    if a > 0 { buy(1.5 * true) }\n}\n";
    let u = uri("broken.btl");
    let p = c.open(&u, text);
    assert_eq!(p.version, Some(1));
    let codes: Vec<String> = p.diagnostics.iter().map(code).collect();
    assert!(codes.len() >= 3, "{codes:?}");
    let unknown = p.diagnostics.iter().find(|d| code(d) == "E0100").unwrap();
    assert_eq!(
        unknown.range,
        Range::new(Position::new(1, 12), Position::new(1, 17))
    );
    assert!(unknown.message.starts_with("unknown name `clsoe`"));
    assert!(
        unknown.message.contains("help: did you mean `close`?"),
        "{}",
        unknown.message
    );
    assert_eq!(unknown.source.as_deref(), Some("btl"));
    assert_eq!(unknown.severity, Some(lsp_types::DiagnosticSeverity::ERROR));
    let twice = p.diagnostics.iter().find(|d| code(d) == "E0101").unwrap();
    assert_eq!(twice.range.start, Position::new(2, 8));
    let related = twice.related_information.as_ref().expect("related info");
    assert_eq!(related[0].location.uri, u);
    assert_eq!(related[0].location.range.start, Position::new(1, 8));
    assert_eq!(related[0].message, "first defined here");
    assert!(codes.contains(&"E0104".to_string()), "{codes:?}");
    c.shutdown().unwrap();
}

#[test]
fn diagnostic_columns_follow_the_negotiated_encoding() {
    // `é` is 2 bytes and 1 UTF-16 unit, `𝄞` 4 bytes and 2 units: the unknown name starts at
    // byte column 35, UTF-16 column 32.
    let text = "strategy s {\n    plot(close, \"é𝄞\"); let q = nope\n}\n";
    let col8 = text.lines().nth(1).unwrap().find("nope").unwrap() as u32;
    assert_eq!(col8, 35);
    for (utf8, col) in [(true, col8), (false, col8 - 1 - 2)] {
        let mut c = Client::start(utf8);
        let u = uri("unicode.btl");
        let p = c.open(&u, text);
        let d = p.diagnostics.iter().find(|d| code(d) == "E0100").unwrap();
        assert_eq!(
            d.range,
            Range::new(Position::new(1, col), Position::new(1, col + 4)),
            "utf8 = {utf8}"
        );
        // Hover at that position finds the same name.
        let h = c.hover(&u, Position::new(1, col + 1));
        assert!(h.is_none(), "an unknown name has no hover: {h:?}");
        let h = c.hover(&u, Position::new(1, col - 4)).unwrap();
        assert!(h.contains("let q"), "{h}");
        c.shutdown().unwrap();
    }
}

#[test]
fn change_republishes_diagnostics_full_and_ranged() {
    let mut c = Client::start(true);
    let u = uri("edit.btl");
    let p = c.open(
        &u,
        "strategy s {\n    let a = clsoe\n    plot(a, \"a\")\n}\n",
    );
    assert_eq!(p.diagnostics.len(), 1);
    // A ranged change: `clsoe` → `close`.
    c.change(
        &u,
        2,
        Some(Range::new(Position::new(1, 12), Position::new(1, 17))),
        "close",
    );
    let p = c.diagnostics(&u);
    assert_eq!(p.version, Some(2));
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    // A full change that breaks it twice.
    c.change(
        &u,
        3,
        None,
        "strategy s {\n    let a = 1 +\n    buy(x)\n}\n",
    );
    let p = c.diagnostics(&u);
    assert_eq!(p.version, Some(3));
    assert!(!p.diagnostics.is_empty());
    // Several changes in a burst: the last text wins.
    for v in 4..10 {
        c.change(&u, v, None, &format!("strategy s {{\n    buy({v})\n}}\n"));
    }
    let mut last = c.diagnostics(&u);
    while last.version != Some(9) {
        last = c.diagnostics(&u);
    }
    assert!(last.diagnostics.is_empty(), "{:?}", last.diagnostics);
    c.shutdown().unwrap();
}

#[test]
fn hover_shows_types_series_facts_docs_and_signatures() {
    let mut c = Client::start(true);
    let u = uri("demo.btl");
    let p = c.open(&u, DEMO);
    assert!(
        p.diagnostics.is_empty(),
        "the demo is clean: {:?}",
        p.diagnostics
    );
    // A `let` name: lookback, capacity, warm-up (btl mem: f has lookback 1, warm-up 9).
    let h = c.hover(&u, pos_of(DEMO, "let f", 0, 4)).unwrap();
    assert!(h.contains("let f: series float"), "{h}");
    assert!(h.contains("**lookback** 1"), "{h}");
    assert!(h.contains("**capacity** 2 values (16 bytes)"), "{h}");
    assert!(h.contains("**warm-up** bar 9"), "{h}");
    // The same series where it is read.
    let h2 = c.hover(&u, pos_of(DEMO, "crossover(f", 0, 10)).unwrap();
    assert_eq!(h, h2);
    // A built-in input: its doc and its facts (read 30 bars back by sma(close, slow)).
    let h = c.hover(&u, pos_of(DEMO, "close", 0, 2)).unwrap();
    assert!(h.contains("close: series float"), "{h}");
    assert!(h.contains("closing price"), "{h}");
    assert!(h.contains("**lookback** 30"), "{h}");
    // A stdlib function call: signature, doc, and the series this call owns.
    let h = c.hover(&u, pos_of(DEMO, "sma(", 0, 1)).unwrap();
    assert!(
        h.contains("fn sma(src: series float, n: int) -> series float"),
        "{h}"
    );
    assert!(h.contains("Simple moving average"), "{h}");
    assert!(h.contains("stdlib/average.btl"), "{h}");
    assert!(h.contains("`sma(close, fast).total`"), "{h}");
    // A param: its default and doc.
    let h = c.hover(&u, pos_of(DEMO, "fast: int", 0, 1)).unwrap();
    assert!(h.contains("param fast: int = 10"), "{h}");
    assert!(h.contains("Bars in the fast average."), "{h}");
    // A param where it is used.
    let h = c.hover(&u, pos_of(DEMO, "slow)", 0, 0)).unwrap();
    assert!(h.contains("param slow: int = 30"), "{h}");
    // A `let` inside a user function with two call sites: one row each.
    let h = c.hover(&u, pos_of(DEMO, "let acc", 0, 5)).unwrap();
    assert!(h.contains("2 call sites"), "{h}");
    assert!(h.contains("| `lagged(close, 2).acc` | 2 | 3 | 2 |"), "{h}");
    assert!(h.contains("| `lagged(open, 5).acc` | 5 | 6 | 5 |"), "{h}");
    assert!(h.contains("max: **lookback** 5"), "{h}");
    // A series that is never present.
    let h = c.hover(&u, pos_of(DEMO, "let z", 0, 4)).unwrap();
    assert!(h.contains("**warm-up** never"), "{h}");
    // An expression: its type.
    let h = c.hover(&u, pos_of(DEMO, "d > 0", 0, 2)).unwrap();
    assert!(h.contains("series bool"), "{h}");
    let h = c.hover(&u, pos_of(DEMO, "2)", 0, 0)).unwrap();
    assert!(h.contains("int (compile-time)"), "{h}");
    // A built-in function.
    let h = c.hover(&u, pos_of(DEMO, "nz(", 0, 0)).unwrap();
    assert!(h.contains("nz(x, default = 0)"), "{h}");
    // The strategy: total bytes (btl mem: 1,696, with the two SMAs' exact window sums) and
    // warm-up bar (30).
    let h = c.hover(&u, pos_of(DEMO, "demo", 0, 1)).unwrap();
    assert!(h.contains("buffers 1,696 bytes in 12 series"), "{h}");
    assert!(h.contains("warm-up bar 30"), "{h}");
    assert!(h.contains("Two averages."), "{h}");
    // A fn parameter.
    let h = c.hover(&u, pos_of(DEMO, "x[n]", 0, 0)).unwrap();
    assert!(h.contains("x: series float"), "{h}");
    // Nothing: whitespace and comments.
    assert!(c.hover(&u, Position::new(0, 3)).is_none());
    c.shutdown().unwrap();
}

#[test]
fn definition_of_lets_params_functions_and_stdlib() {
    let mut c = Client::start(false);
    let u = uri("demo.btl");
    c.open(&u, DEMO);
    // A let, from a use.
    let l = c
        .definition(&u, pos_of(DEMO, "crossover(f", 0, 10))
        .unwrap();
    assert_eq!(l.uri, u);
    assert_eq!(l.range.start, pos_of(DEMO, "let f", 0, 4));
    // A param, from a use (cursor at the end of the word).
    let l = c.definition(&u, pos_of(DEMO, "fast)", 0, 4)).unwrap();
    assert_eq!(l.range.start, pos_of(DEMO, "fast: int", 0, 0));
    // A user function, from a call.
    let l = c.definition(&u, pos_of(DEMO, "lagged(open", 0, 2)).unwrap();
    assert_eq!(l.uri, u);
    assert_eq!(l.range.start, pos_of(DEMO, "lagged(x", 0, 0));
    // A stdlib function: a read-only copy in the cache folder.
    let l = c.definition(&u, pos_of(DEMO, "crossunder", 0, 3)).unwrap();
    let path = btl::lsp::convert::uri_path(&l.uri).expect("a file:// URI");
    assert!(path.starts_with(&c.stdlib_dir), "{path:?}");
    let copy = std::fs::read_to_string(&path).unwrap();
    assert!(std::fs::metadata(&path).unwrap().permissions().readonly());
    let line = copy.lines().nth(l.range.start.line as usize).unwrap();
    assert_eq!(
        &line[l.range.start.character as usize..l.range.end.character as usize],
        "crossunder"
    );
    assert!(line.starts_with("fn crossunder("), "{line}");
    // Opening the copy publishes no diagnostics (it has no strategy, and is not the user's).
    let p = c.open(&l.uri, &copy);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    // Built-ins and inputs have no source.
    assert!(c.definition(&u, pos_of(DEMO, "close", 0, 1)).is_none());
    assert!(c.definition(&u, pos_of(DEMO, "nz(", 0, 1)).is_none());
    c.shutdown().unwrap();
}

#[test]
fn inlay_hints_after_each_let_and_a_code_lens_on_the_strategy() {
    let mut c = Client::start(true);
    let u = uri("demo.btl");
    c.open(&u, DEMO);
    let all = Range::new(Position::new(0, 0), Position::new(99, 0));
    let got = hint_labels(&c.inlay_hints(&u, all));
    let want = vec![
        (
            pos_of(DEMO, "let f", 0, 5),
            "lookback 1 · warm-up 9".to_string(),
        ),
        (
            pos_of(DEMO, "let s", 0, 5),
            "lookback 1 · warm-up 29".to_string(),
        ),
        (
            pos_of(DEMO, "let d", 0, 5),
            "lookback 0 · warm-up 5".to_string(),
        ),
        (
            pos_of(DEMO, "let z", 0, 5),
            "lookback 0 · warm-up never".to_string(),
        ),
        (
            pos_of(DEMO, "let acc", 0, 7),
            "lookback 2–5 · warm-up 2–5 (2 call sites)".to_string(),
        ),
    ];
    assert_eq!(got, want);
    // Only the hints in the range asked for.
    let some = c.inlay_hints(&u, Range::new(Position::new(5, 0), Position::new(6, 99)));
    assert_eq!(some.len(), 2);

    let lenses = c
        .request::<CodeLensRequest>(CodeLensParams {
            text_document: TextDocumentIdentifier::new(u.clone()),
            work_done_progress_params: Default::default(),
            partial_result_params: Default::default(),
        })
        .unwrap()
        .unwrap();
    assert_eq!(lenses.len(), 1);
    assert_eq!(lenses[0].range.start, pos_of(DEMO, "demo", 0, 0));
    let title = &lenses[0].command.as_ref().unwrap().title;
    // The same total as `btl mem`.
    let comp = btl::compile("demo.btl", DEMO, &[]);
    let report = btl::mem::report(comp.program.as_ref().unwrap(), &comp.sources);
    assert_eq!(report.total_bytes, 1696);
    assert_eq!(title, "buffers 1,696 bytes in 12 series · warm-up bar 30");
    c.shutdown().unwrap();
}

#[test]
fn document_symbols_list_strategy_params_lets_and_functions() {
    let mut c = Client::start(true);
    let u = uri("demo.btl");
    c.open(&u, DEMO);
    let symbols = c.symbols(&u);
    let names: Vec<&str> = symbols.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["demo", "lagged"]);
    let demo: Vec<(&str, lsp_types::SymbolKind)> = symbols[0]
        .children
        .as_ref()
        .unwrap()
        .iter()
        .map(|s| (s.name.as_str(), s.kind))
        .collect();
    use lsp_types::SymbolKind as K;
    assert_eq!(
        demo,
        [
            ("fast", K::CONSTANT),
            ("slow", K::CONSTANT),
            ("f", K::VARIABLE),
            ("s", K::VARIABLE),
            ("d", K::VARIABLE),
            ("z", K::VARIABLE)
        ]
    );
    assert_eq!(symbols[0].kind, K::MODULE);
    assert_eq!(
        symbols[1].detail.as_deref(),
        Some("lagged(x: series float, n: int) -> series float")
    );
    let lagged: Vec<&str> = symbols[1]
        .children
        .as_ref()
        .unwrap()
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(lagged, ["x", "n", "acc"]);
    let f = &symbols[0].children.as_ref().unwrap()[2];
    assert_eq!(f.detail.as_deref(), Some("lookback 1 · warm-up 9"));
    assert_eq!(f.selection_range.start, pos_of(DEMO, "let f", 0, 4));
    c.shutdown().unwrap();
}

#[test]
fn completion_offers_names_in_scope_inputs_and_functions() {
    let mut c = Client::start(true);
    let u = uri("demo.btl");
    c.open(&u, DEMO);
    // At the start of the `let d` line: fast, slow, f, s are in scope; d, z are not yet.
    let items = c.completion(&u, pos_of(DEMO, "let d", 0, 0));
    let label = |items: &[CompletionItem], l: &str| items.iter().any(|i| i.label == l);
    for l in [
        "fast",
        "slow",
        "f",
        "s",
        "close",
        "bar_index",
        "sma",
        "lagged",
        "nz",
        "if",
    ] {
        assert!(label(&items, l), "{l} missing");
    }
    for l in ["d", "z", "acc", "x", "n"] {
        assert!(!label(&items, l), "{l} is not in scope");
    }
    let sma = items.iter().find(|i| i.label == "sma").unwrap();
    assert_eq!(
        sma.detail.as_deref(),
        Some("sma(src: series float, n: int) -> series float")
    );
    assert!(sma.documentation.is_some());
    let fast = items.iter().find(|i| i.label == "fast").unwrap();
    assert_eq!(fast.detail.as_deref(), Some("param int = 10"));
    // Inside the function: its parameters, not the strategy's names.
    let items = c.completion(&u, pos_of(DEMO, "acc\n}", 0, 0));
    for l in ["x", "n", "acc"] {
        assert!(label(&items, l), "{l} missing in the function");
    }
    for l in ["fast", "f"] {
        assert!(!label(&items, l), "{l} is not in the function's scope");
    }
    c.shutdown().unwrap();
}

#[test]
fn bad_requests_get_errors_and_the_server_keeps_going() {
    let mut c = Client::start(true);
    let u = uri("demo.btl");
    c.open(&u, DEMO);
    let r = c.raw_request("textDocument/formatting", serde_json::json!({}));
    assert_eq!(
        r.response_result.unwrap_err().code,
        lsp_server::ErrorCode::MethodNotFound as i32
    );
    let r = c.raw_request("textDocument/hover", serde_json::json!({"nonsense": 1}));
    assert_eq!(
        r.response_result.unwrap_err().code,
        lsp_server::ErrorCode::InvalidParams as i32
    );
    // Malformed notifications are ignored.
    c.conn
        .sender
        .send(Notification::new("textDocument/didChange".into(), serde_json::json!([1, 2])).into())
        .unwrap();
    // A document nobody opened: no answer, no error.
    assert!(c.hover(&uri("other.btl"), Position::new(0, 0)).is_none());
    // Positions far outside the document are clamped.
    assert!(c.hover(&u, Position::new(9999, 9999)).is_none());
    assert!(!c.completion(&u, Position::new(0, 9999)).is_empty());
    assert!(c.hover(&u, pos_of(DEMO, "let f", 0, 4)).is_some());
    c.shutdown().unwrap();
}

#[test]
fn exit_without_shutdown_stops_with_an_error() {
    let mut c = Client::start(true);
    c.notify::<Exit>(());
    let r = c.server.take().unwrap().join().unwrap();
    assert!(r.is_err());
}

#[test]
fn a_thousand_line_strategy_compiles_cleanly_through_the_server() {
    let text = btl::generate::big_strategy(1000, 14);
    assert!(text.lines().count() >= 995);
    let mut c = Client::start(true);
    let u = uri("big.btl");
    let p = c.open(&u, &text);
    assert!(p.diagnostics.is_empty(), "{:?}", &p.diagnostics[..1]);
    let hints = c.inlay_hints(&u, Range::new(Position::new(0, 0), Position::new(2000, 0)));
    assert_eq!(hints.len(), text.matches("let ").count());
    c.shutdown().unwrap();
}

/// Every diagnostic lies inside the document (lines as the protocol splits them: at `\n`,
/// `\r\n` or `\r`; UTF-8 columns).
fn check_ranges(text: &str, p: &PublishDiagnosticsParams, what: &str) -> Vec<String> {
    let lines: Vec<&str> = text
        .split("\r\n")
        .flat_map(|l| l.split(['\r', '\n']))
        .collect();
    let mut bad = Vec::new();
    let inside = |pos: Position| {
        lines
            .get(pos.line as usize)
            .is_some_and(|l| pos.character as usize <= l.len())
    };
    for d in &p.diagnostics {
        if !inside(d.range.start) || !inside(d.range.end) || d.range.start > d.range.end {
            bad.push(format!("{what}: diagnostic out of the document: {d:?}"));
        }
        if d.code.is_none() && !d.message.starts_with("internal error") {
            bad.push(format!("{what}: diagnostic without a code: {d:?}"));
        }
        if d.message.starts_with("internal error") {
            bad.push(format!("{what}: the compiler panicked: {}", d.message));
        }
    }
    bad
}

#[test]
fn the_server_survives_token_soup_and_mutated_programs() {
    let mut c = Client::start(true);
    let u = uri("fuzz.btl");
    c.open(&u, "");
    let mut bad = Vec::new();
    let examples: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "btl"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    let mut version = 1;
    for seed in 0..100u64 {
        let soup = btl::generate::token_soup(seed, 20 + (seed as usize * 7) % 120);
        let base = if seed % 2 == 0 {
            examples[seed as usize % examples.len()].clone()
        } else {
            btl::generate::valid_program(seed)
        };
        let mutated = btl::generate::mutate(seed, &base);
        for (kind, text) in [("soup", soup), ("mutation", mutated)] {
            version += 1;
            let what = format!("{kind} seed {seed}");
            c.change(&u, version, None, &text);
            let mut p = c.diagnostics(&u);
            while p.version != Some(version) {
                p = c.diagnostics(&u);
            }
            bad.extend(check_ranges(&text, &p, &what));
            // Requests at positions spread over the text, some past its end.
            let line_count = text.lines().count() as u32 + 2;
            for k in 0..6u32 {
                let line = (seed as u32 * 31 + k * 17) % line_count;
                let col = (seed as u32 * 7 + k * 13) % 40;
                let at = Position::new(line, col);
                let requests = [
                    (
                        "textDocument/hover",
                        serde_json::to_value(HoverParams {
                            text_document_position_params: Client::at(&u, at),
                            work_done_progress_params: Default::default(),
                        })
                        .unwrap(),
                    ),
                    (
                        "textDocument/definition",
                        serde_json::json!({"textDocument": {"uri": u.as_str()}, "position": at}),
                    ),
                    (
                        "textDocument/completion",
                        serde_json::json!({"textDocument": {"uri": u.as_str()}, "position": at}),
                    ),
                ];
                for (method, params) in requests {
                    let r = c.raw_request(method, params);
                    if let Err(e) = r.response_result {
                        bad.push(format!("{what}: {method} at {at:?}: {}", e.message));
                    }
                }
            }
            let whole = serde_json::json!({
                "textDocument": {"uri": u.as_str()},
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": line_count, "character": 0}},
            });
            for method in [
                "textDocument/inlayHint",
                "textDocument/documentSymbol",
                "textDocument/codeLens",
            ] {
                let r = c.raw_request(method, whole.clone());
                if let Err(e) = r.response_result {
                    bad.push(format!("{what}: {method}: {}", e.message));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} failures:\n{}",
        bad.len(),
        bad.join("\n")
    );
    c.shutdown().unwrap();
}

#[test]
fn inlay_hints_for_each_name_of_a_tuple() {
    let mut c = Client::start(true);
    let u = uri("tuple.btl");
    let text = "strategy t {\n    let (line, _, hist) = macd(close, 12, 26, 9)\n    plot(line + hist[1], \"x\")\n}\n";
    c.open(&u, text);
    let got = hint_labels(&c.inlay_hints(&u, Range::new(Position::new(0, 0), Position::new(9, 0))));
    let want = vec![
        (
            pos_of(text, "line,", 0, 4),
            "lookback 0 · warm-up 33".to_string(),
        ),
        (
            pos_of(text, "hist)", 0, 4),
            "lookback 1 · warm-up 33".to_string(),
        ),
    ];
    assert_eq!(got, want);
    c.shutdown().unwrap();
}

/// `btl lsp` fed `input` on stdin, to its end.
fn lsp_raw(input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_btl"))
        .arg("lsp")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Frames a client should never send (a huge Content-Length, one that does not fit in 64 bits,
/// a body that is not JSON) get a JSON-RPC error with `id: null`; the server stays up, answers
/// the next request and exits cleanly, with bounded memory.
#[test]
fn malformed_frames_get_errors_and_the_server_stays_up() {
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#;
    let shutdown = r#"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#;
    let exit = r#"{"jsonrpc":"2.0","method":"exit"}"#;
    let frame = |s: &str| format!("Content-Length: {}\r\n\r\n{s}", s.len());
    let mut input = String::new();
    input.push_str("Content-Length: 18446744073709551616\r\n\r\n");
    input.push_str(&frame("{not json"));
    input.push_str(&frame(init));
    input.push_str(&frame(
        r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#,
    ));
    input.push_str(&frame(shutdown));
    input.push_str(&frame(exit));
    // Last, a frame that claims 100 GB: never reached after `exit`.
    input.push_str("Content-Length: 99999999999\r\n\r\n");
    let out = lsp_raw(input.as_bytes());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches(r#""id":null"#).count(), 2, "{stdout}");
    assert!(stdout.contains("malformed Content-Length"), "{stdout}");
    assert!(stdout.contains("not a JSON-RPC message"), "{stdout}");
    assert!(stdout.contains(r#""capabilities""#), "{stdout}");
    assert!(stdout.contains(r#""id":2"#), "{stdout}");

    // A huge frame at the end of the input: skipped without allocating it; the input ends.
    let out = lsp_raw(b"Content-Length: 99999999999\r\n\r\n{}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("larger than the limit"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // No abort, no panic: an orderly end (the client went away before `initialize`).
    assert!(out.status.code().is_some(), "killed by a signal");
    assert_ne!(out.status.code(), Some(101), "panicked");
}

#[test]
fn hover_and_hints_say_which_feed_a_series_counts_in() {
    let src = "strategy t {\n    feed daily = resample(\"1d\")\n    let trend = daily.sma(close, 200)\n    let f = sma(close, 10)\n    if close > trend and f > trend { buy(1) }\n}\n";
    let mut c = Client::start(true);
    let u = uri("feeds.btl");
    c.open(&u, src);
    let all = Range::new(Position::new(0, 0), Position::new(99, 0));
    let got = hint_labels(&c.inlay_hints(&u, all));
    assert_eq!(
        got,
        vec![
            (
                pos_of(src, "let trend", 0, 9),
                "lookback 0 · warm-up 199 · in bars of daily".to_string()
            ),
            (
                pos_of(src, "let f", 0, 5),
                "lookback 0 · warm-up 9 · in bars of the primary feed".to_string()
            ),
        ]
    );
    let h = c.hover(&u, pos_of(src, "let trend", 0, 6)).unwrap();
    assert!(h.contains("in bars of daily"), "{h}");
    c.shutdown().unwrap();
}
