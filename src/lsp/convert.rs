//! Conversions between btl's byte offsets and LSP positions, and from btl's [`Diagnostic`] to the
//! protocol's diagnostic.
//!
//! Contract: pure. A [`LineIndex`] maps byte offsets of one text to `Position`s and back in the
//! negotiated [`Encoding`] (UTF-8 code units = bytes, or UTF-16 code units); lines end at `\n`,
//! `\r\n` or `\r`, as the protocol says. Conversions never panic: offsets past the end, or
//! inside a character, are clamped to the nearest character boundary at or before them; positions
//! past the end of a line or of the text are clamped to that line's end or the text's end, and a
//! UTF-16 position inside a surrogate pair maps to the start of that character.
//! [`diagnostic`] turns one [`Diagnostic`] into the protocol's form for the document of the user's
//! file: secondary labels (and labels in other files, such as the stdlib) become related
//! information, notes and help lines are appended to the message; a diagnostic with no label in
//! the user's file but labels elsewhere is dropped (btl already moves stdlib errors to the user's
//! call site), one with no label at all sits at the start of the document.

use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, DiagnosticTag, Location, NumberOrString,
    Position, PositionEncodingKind, Range, Uri,
};

use crate::diag::{Code, Diagnostic, Severity};
use crate::source::{FileId, Span};

/// The unit of `Position::character`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

impl Encoding {
    /// UTF-8 when the client offers it, else UTF-16 (the protocol's default).
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Encoding {
        match offered {
            Some(kinds) if kinds.contains(&PositionEncodingKind::UTF8) => Encoding::Utf8,
            _ => Encoding::Utf16,
        }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }
    }

    fn units(self, c: char) -> usize {
        match self {
            Encoding::Utf8 => c.len_utf8(),
            Encoding::Utf16 => c.len_utf16(),
        }
    }
}

/// Line starts of one text, for offset ↔ position conversion.
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                line_starts.push(i + 1);
            }
        }
        LineIndex {
            line_starts,
            len: text.len(),
        }
    }

    /// The byte range of a 0-based line's content (without its `\n`, `\r\n` or `\r`).
    fn line_range(&self, text: &str, line: usize) -> (usize, usize) {
        let bytes = text.as_bytes();
        let start = self.line_starts[line].min(text.len());
        let mut end = self
            .line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(text.len())
            .min(text.len());
        if line + 1 < self.line_starts.len() {
            if end > start && bytes[end - 1] == b'\n' {
                end -= 1;
            }
            if end > start && bytes[end - 1] == b'\r' {
                end -= 1;
            }
        }
        (start, end.max(start))
    }

    /// The position of a byte offset of `text` (the text this index was built from).
    pub fn position(&self, text: &str, offset: usize, enc: Encoding) -> Position {
        let mut offset = offset.min(text.len()).min(self.len);
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.line_starts.binary_search(&offset) {
            Ok(l) => l,
            Err(l) => l - 1,
        };
        let (start, end) = self.line_range(text, line);
        let upto = offset.clamp(start, end);
        let character: usize = text[start..upto].chars().map(|c| enc.units(c)).sum();
        Position::new(line as u32, character as u32)
    }

    /// The byte offset of a position in `text` (clamped, see the module contract).
    pub fn offset(&self, text: &str, pos: Position, enc: Encoding) -> usize {
        let line = pos.line as usize;
        if line >= self.line_starts.len() {
            return text.len();
        }
        let (start, end) = self.line_range(text, line);
        let want = pos.character as usize;
        let mut units = 0;
        for (i, c) in text[start..end].char_indices() {
            let next = units + enc.units(c);
            if next > want {
                return start + i;
            }
            units = next;
        }
        end
    }

    pub fn range(&self, text: &str, start: usize, end: usize, enc: Encoding) -> Range {
        Range::new(
            self.position(text, start, enc),
            self.position(text, end.max(start), enc),
        )
    }
}

/// What [`diagnostic`] needs to place spans: the user's file and document, and a location for a
/// span in any file.
pub trait Locate {
    fn user_file(&self) -> FileId;
    /// The range of a span in its own file.
    fn span_range(&self, span: Span) -> Range;
    /// The location of a span (the document, a stdlib cache file), if it can be shown.
    fn location(&self, span: Span) -> Option<Location>;
}

/// A btl diagnostic for the user's document (see the module contract); `None` when it belongs
/// to another file only.
pub fn diagnostic(d: &Diagnostic, at: &impl Locate) -> Option<lsp_types::Diagnostic> {
    let user = at.user_file();
    let primary = d.labels.iter().position(|l| l.primary);
    let anchor = match primary {
        Some(p) if d.labels[p].span.file == user => Some(p),
        _ => d.labels.iter().position(|l| l.span.file == user),
    };
    let range = match anchor {
        Some(i) => at.span_range(d.labels[i].span),
        None if d.labels.is_empty() => Range::default(),
        None => return None,
    };
    let mut message = d.message.clone();
    if let Some(i) = anchor {
        let label = &d.labels[i].message;
        if !label.is_empty() && *label != d.message {
            message.push_str(&format!("\n{label}"));
        }
    }
    for note in &d.notes {
        message.push_str(&format!("\nnote: {note}"));
    }
    for help in &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != anchor)
        .filter_map(|(_, l)| {
            Some(DiagnosticRelatedInformation {
                location: at.location(l.span)?,
                message: if l.message.is_empty() {
                    "related".to_string()
                } else {
                    l.message.clone()
                },
            })
        })
        .collect();
    Some(lsp_types::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.as_str().to_string())),
        code_description: None,
        source: Some("btl".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: (d.code == Code::W0001).then(|| vec![DiagnosticTag::UNNECESSARY]),
        data: None,
    })
}

/// A `file://` URI for an absolute path (bytes other than unreserved ones and `/` are
/// percent-encoded).
pub fn file_uri(path: &std::path::Path) -> Option<Uri> {
    let text = path.to_str()?;
    let mut out = String::from("file://");
    if !text.starts_with('/') {
        // A Windows path: `C:\x` → `file:///C:/x`.
        out.push('/');
    }
    for b in text.bytes() {
        let b = if b == b'\\' && cfg!(windows) { b'/' } else { b };
        if b.is_ascii_alphanumeric() || b"-._~/:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.parse().ok()
}

/// The path of a `file://` URI (percent-decoded), or `None` for other schemes.
pub fn uri_path(uri: &Uri) -> Option<std::path::PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    // Skip an authority (`file://host/path`): the path starts at the first `/`.
    let rest = &rest[rest.find('/')?..];
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    let text = String::from_utf8(out).ok()?;
    let text = match text.as_bytes() {
        // `/C:/x` on Windows.
        [b'/', d, b':', ..] if cfg!(windows) && d.is_ascii_alphabetic() => text[1..].to_string(),
        _ => text,
    };
    Some(std::path::PathBuf::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_in_both_encodings() {
        let text = "a𝄞b\r\né = 1\n\nlast";
        assert_eq!(LineIndex::new("a\rb\r\nc\n").line_starts, [0, 2, 5, 7]);
        let idx = LineIndex::new(text);
        // `b` is at byte 5: 1 + 4 (𝄞 is 4 bytes, 2 UTF-16 units).
        assert_eq!(idx.position(text, 5, Encoding::Utf8), Position::new(0, 5));
        assert_eq!(idx.position(text, 5, Encoding::Utf16), Position::new(0, 3));
        assert_eq!(idx.offset(text, Position::new(0, 3), Encoding::Utf16), 5);
        // Inside the surrogate pair: the start of 𝄞.
        assert_eq!(idx.offset(text, Position::new(0, 2), Encoding::Utf16), 1);
        // Past the line's end: before `\r\n`.
        assert_eq!(idx.offset(text, Position::new(0, 99), Encoding::Utf8), 6);
        // `=` on line 1: é is 2 bytes, 1 unit.
        let eq = text.find('=').unwrap();
        assert_eq!(idx.position(text, eq, Encoding::Utf8), Position::new(1, 3));
        assert_eq!(idx.position(text, eq, Encoding::Utf16), Position::new(1, 2));
        assert_eq!(idx.offset(text, Position::new(1, 2), Encoding::Utf16), eq);
        // Past the end.
        assert_eq!(
            idx.offset(text, Position::new(9, 0), Encoding::Utf8),
            text.len()
        );
        assert_eq!(
            idx.position(text, 999, Encoding::Utf16),
            Position::new(3, 4)
        );
        // Inside a character: its start.
        assert_eq!(idx.position(text, 2, Encoding::Utf8), Position::new(0, 1));
    }

    #[test]
    fn file_uris_round_trip() {
        let p = std::path::Path::new("/tmp/a b/ü#.btl");
        let uri = file_uri(p).unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/a%20b/%C3%BC%23.btl");
        assert_eq!(uri_path(&uri).unwrap(), p);
        let other: Uri = "untitled:Untitled-1".parse().unwrap();
        assert!(uri_path(&other).is_none());
    }
}
