//! Renderers of [`Diagnostic`]: the terminal (ariadne) and JSON lines in rustc's shape.
//!
//! Contract: both take the diagnostics and the [`SourceMap`] and return a `String`; neither writes to
//! a stream. Offsets are bytes (ariadne is configured with `IndexType::Byte`); colour is the caller's
//! choice, never guessed here. A [`Human`] renderer indexes each file's lines once, however many
//! diagnostics it renders (so rendering n diagnostics is linear in n, not n × file size).

use std::collections::HashMap;

use ariadne::{Config, IndexType, Label as ALabel, Report, ReportKind};
use serde_json::{Value, json};

use super::{Diagnostic, Severity};
use crate::source::{SourceMap, Span};

/// The files of a [`SourceMap`] as ariadne sources, each indexed once, when first shown.
struct SourceCache<'a> {
    sources: &'a SourceMap,
    indexed: HashMap<String, ariadne::Source<&'a str>>,
}

impl<'a> ariadne::Cache<String> for SourceCache<'a> {
    type Storage = &'a str;

    fn fetch(&mut self, id: &String) -> Result<&ariadne::Source<&'a str>, impl std::fmt::Debug> {
        if !self.indexed.contains_key(id) {
            let Some((_, file)) = self.sources.files().find(|(_, f)| f.name == *id) else {
                return Err(format!("no file named {id}"));
            };
            let text: &'a str = &file.text;
            self.indexed.insert(id.clone(), ariadne::Source::from(text));
        }
        self.indexed
            .get(id)
            .ok_or_else(|| format!("no file named {id}"))
    }

    fn display<'b>(&self, id: &'b String) -> Option<impl std::fmt::Display + 'b> {
        Some(id.clone())
    }
}

/// Renders diagnostics for a terminal, indexing each file once for all of them.
pub struct Human<'a> {
    cache: SourceCache<'a>,
    color: bool,
}

impl<'a> Human<'a> {
    pub fn new(sources: &'a SourceMap, color: bool) -> Human<'a> {
        Human {
            cache: SourceCache {
                sources,
                indexed: HashMap::new(),
            },
            color,
        }
    }

    /// Renders one diagnostic.
    pub fn render(&mut self, diag: &Diagnostic) -> String {
        render_human(diag, self.cache.sources, self.color, &mut self.cache)
    }
}

/// Renders one diagnostic for a terminal (for many, a [`Human`] indexes the files once).
pub fn human(diag: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    Human::new(sources, color).render(diag)
}

fn render_human(
    diag: &Diagnostic,
    sources: &SourceMap,
    color: bool,
    cache: &mut SourceCache<'_>,
) -> String {
    let kind = match diag.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
    };
    let config = Config::default()
        .with_index_type(IndexType::Byte)
        .with_color(color);
    let mut out = Vec::new();
    match diag.primary_span() {
        Some(span) => {
            let name = |s: Span| sources.get(s.file).name.clone();
            let mut builder = Report::build(kind, (name(span), span.range()))
                .with_config(config)
                .with_code(diag.code)
                .with_message(&diag.message);
            // In source order: ariadne starts a new snippet (headed with the report's location)
            // for a label above the previous one in the same file.
            let mut labels: Vec<&super::Label> = diag.labels.iter().collect();
            labels.sort_by_key(|l| (l.span.file != span.file, l.span.file, l.span.start));
            for (i, label) in labels.into_iter().enumerate() {
                let mut l = ALabel::new((name(label.span), label.span.range()))
                    .with_order(i as i32)
                    .with_priority(if label.primary { 1 } else { 0 });
                if !label.message.is_empty() {
                    l = l.with_message(&label.message);
                }
                if color {
                    l = l.with_color(if label.primary {
                        ariadne::Color::Red
                    } else {
                        ariadne::Color::Blue
                    });
                }
                builder = builder.with_label(l);
            }
            for note in &diag.notes {
                builder = builder.with_note(note);
            }
            for help in &diag.help {
                builder = builder.with_help(help);
            }
            if builder.finish().write(cache, &mut out).is_err() {
                out.clear();
                out.extend_from_slice(plain(diag).as_bytes());
            }
        }
        None => out.extend_from_slice(plain(diag).as_bytes()),
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A diagnostic without source context (used when it has no label).
fn plain(diag: &Diagnostic) -> String {
    let mut s = format!(
        "{}[{}]: {}\n",
        diag.severity.as_str(),
        diag.code,
        diag.message
    );
    for note in &diag.notes {
        s.push_str(&format!("  = note: {note}\n"));
    }
    for help in &diag.help {
        s.push_str(&format!("  = help: {help}\n"));
    }
    s
}

/// Renders one diagnostic as a JSON object in the shape of rustc's `--error-format=json`; its
/// `rendered` text comes from `human`.
pub fn json(diag: &Diagnostic, sources: &SourceMap, human: &mut Human<'_>) -> Value {
    let spans: Vec<Value> = diag
        .labels
        .iter()
        .map(|l| {
            let file = sources.get(l.span.file);
            let (line_start, column_start) = file.line_col(l.span.start);
            let (line_end, column_end) = file.line_col(l.span.end);
            let text: Vec<Value> = (line_start..=line_end)
                .map(|line| {
                    let t = file.line_text(line);
                    let len = t.chars().count() + 1;
                    json!({
                        "text": t,
                        "highlight_start": if line == line_start { column_start } else { 1 },
                        "highlight_end": if line == line_end { column_end } else { len },
                    })
                })
                .collect();
            json!({
                "file_name": file.name,
                "byte_start": l.span.start,
                "byte_end": l.span.end,
                "line_start": line_start,
                "line_end": line_end,
                "column_start": column_start,
                "column_end": column_end,
                "is_primary": l.primary,
                "text": text,
                "label": if l.message.is_empty() { Value::Null } else { json!(l.message) },
            })
        })
        .collect();
    let child = |level: &str, message: &String| json!({"message": message, "code": null, "level": level, "spans": [], "children": [], "rendered": null});
    let children: Vec<Value> = diag
        .notes
        .iter()
        .map(|n| child("note", n))
        .chain(diag.help.iter().map(|h| child("help", h)))
        .collect();
    json!({
        "$message_type": "diagnostic",
        "message": diag.message,
        "code": {"code": diag.code.as_str(), "explanation": diag.code.explanation()},
        "level": diag.severity.as_str(),
        "spans": spans,
        "children": children,
        "rendered": human.render(diag),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;
    use crate::source::SourceFile;

    /// Rendering many diagnostics indexes each file once, not once per diagnostic (which made
    /// `btl check` quadratic in the number of diagnostics).
    #[test]
    fn a_file_is_indexed_once_for_all_its_diagnostics() {
        let mut sources = SourceMap::new();
        let text: String = (0..100).map(|i| format!("let v{i} = close\n")).collect();
        let file = sources.add(SourceFile::new("a.btl", text, false));
        let other = sources.add(SourceFile::new("b.btl", "x\n", false));
        let mut human = Human::new(&sources, false);
        for i in 0..100u32 {
            let d = Diagnostic::new(Code::W0001, "never read").primary(
                Span::new(file, (i * 16 + 4) as usize, (i * 16 + 6) as usize),
                "here",
            );
            assert!(human.render(&d).contains("never read"));
        }
        assert_eq!(human.cache.indexed.len(), 1);
        let d = Diagnostic::new(Code::W0001, "x").primary(Span::new(other, 0, 1), "here");
        human.render(&d);
        assert_eq!(human.cache.indexed.len(), 2);
    }
}
