//! Language-server latency: from `didChange` to `publishDiagnostics` on a 1,000-line strategy.
//!
//! Runs `btl::lsp::serve` in process over `Connection::memory()`, opens a generated strategy of
//! 1,000 lines (`btl::generate::big_strategy`: about 3,400 series after expansion), then sends
//! full-text changes one at a time (alternating a parameter's default, so every change really
//! recompiles) and times each until the diagnostics for that version arrive. Prints min, median,
//! p95 and max over the samples, the compile alone for comparison, and whether the p95 is
//! within the 50 ms budget. `cargo bench --bench lsp_latency` (release profile).
//! `BTL_LSP_SAMPLES` sets the number of changes (default 200).

use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use lsp_types::notification::{
    DidChangeTextDocument, DidOpenTextDocument, Exit, Initialized,
    Notification as NotificationTrait, PublishDiagnostics,
};
use lsp_types::request::{Initialize, Request as RequestTrait, Shutdown};
use lsp_types::{
    DidChangeTextDocumentParams, DidOpenTextDocumentParams, InitializeParams,
    PublishDiagnosticsParams, TextDocumentContentChangeEvent, TextDocumentItem, Uri,
    VersionedTextDocumentIdentifier,
};

const BUDGET: Duration = Duration::from_millis(50);

fn send_request<R: RequestTrait>(c: &Connection, id: i32, params: R::Params) {
    c.sender
        .send(Request::new(RequestId::from(id), R::METHOD.to_string(), params).into())
        .unwrap();
}

fn notify<N: NotificationTrait>(c: &Connection, params: N::Params) {
    c.sender
        .send(Notification::new(N::METHOD.to_string(), params).into())
        .unwrap();
}

/// Waits for the diagnostics of `version`; returns how many there were.
fn wait_diagnostics(c: &Connection, version: i32) -> usize {
    loop {
        match c.receiver.recv_timeout(Duration::from_secs(60)) {
            Ok(Message::Notification(n)) if n.method == PublishDiagnostics::METHOD => {
                let p: PublishDiagnosticsParams = serde_json::from_value(n.params).unwrap();
                if p.version == Some(version) {
                    return p.diagnostics.len();
                }
            }
            Ok(_) => {}
            Err(e) => panic!("no diagnostics: {e}"),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let samples: usize = std::env::var("BTL_LSP_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let texts = [
        btl::generate::big_strategy(1000, 14),
        btl::generate::big_strategy(1000, 15),
    ];
    let lines = texts[0].lines().count();

    let comp = btl::compile("big.btl", &texts[0], &[]);
    assert!(!comp.has_errors(), "the generated strategy compiles");
    let program = comp.program.as_ref().unwrap();
    let series = program.order.len();

    let (server_conn, c) = Connection::memory();
    let server =
        std::thread::spawn(move || btl::lsp::serve(&server_conn, &btl::lsp::Config::default()));
    send_request::<Initialize>(&c, 1, InitializeParams::default());
    match c.receiver.recv_timeout(Duration::from_secs(60)) {
        Ok(Message::Response(_)) => {}
        other => panic!("no initialize response: {other:?}"),
    }
    notify::<Initialized>(&c, lsp_types::InitializedParams {});
    let uri: Uri = "file:///bench/big.btl".parse().unwrap();
    notify::<DidOpenTextDocument>(
        &c,
        DidOpenTextDocumentParams {
            text_document: TextDocumentItem::new(uri.clone(), "btl".into(), 1, texts[0].clone()),
        },
    );
    assert_eq!(wait_diagnostics(&c, 1), 0);

    let mut times = Vec::with_capacity(samples);
    for k in 0..samples {
        let version = k as i32 + 2;
        let text = texts[(k + 1) % 2].clone();
        let t = Instant::now();
        notify::<DidChangeTextDocument>(
            &c,
            DidChangeTextDocumentParams {
                text_document: VersionedTextDocumentIdentifier::new(uri.clone(), version),
                content_changes: vec![TextDocumentContentChangeEvent {
                    range: None,
                    range_length: None,
                    text,
                }],
            },
        );
        let n = wait_diagnostics(&c, version);
        times.push(t.elapsed());
        assert_eq!(n, 0);
    }
    send_request::<Shutdown>(&c, 2, ());
    let _ = c.receiver.recv_timeout(Duration::from_secs(60));
    notify::<Exit>(&c, ());
    server.join().unwrap().unwrap();

    let mut compile_times: Vec<Duration> = (0..50.min(samples.max(1)))
        .map(|i| {
            let t = Instant::now();
            let c = btl::compile("big.btl", &texts[i % 2], &[]);
            let d = t.elapsed();
            std::hint::black_box(c);
            d
        })
        .collect();
    compile_times.sort();
    times.sort();
    let median = percentile(&times, 0.5);
    println!(
        "lsp latency, didChange → publishDiagnostics: {lines}-line strategy, {series} series, {samples} changes"
    );
    println!(
        "  min {}  median {}  p95 {}  max {}",
        ms(times[0]),
        ms(median),
        ms(percentile(&times, 0.95)),
        ms(times[times.len() - 1])
    );
    println!(
        "  compile alone (btl::compile): median {} over {} runs",
        ms(percentile(&compile_times, 0.5)),
        compile_times.len()
    );
    println!(
        "  budget {}: {}",
        ms(BUDGET),
        if percentile(&times, 0.95) <= BUDGET {
            "met (p95)"
        } else {
            "NOT met"
        }
    );
}
