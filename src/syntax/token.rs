//! Tokens (logos) and the lexer adapter that feeds the grammar.
//!
//! Contract: [`lex`] turns text into a token vector with byte spans and never fails: a character that
//! starts no token becomes a [`Tok::Error`] token plus an E0001 diagnostic (an unterminated string an
//! E0002), so the parser can recover past it. Comments are dropped; `///` doc comments are returned
//! on the side for the parser to attach to the next item. Newlines become statement separators except
//! where a statement obviously continues (inside brackets, after an operator, before `}` or `else`).

use logos::Logos;

use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};

#[derive(Logos, Debug, Clone, Copy, PartialEq, Eq)]
#[logos(skip r"[ \t\r\f]+")]
pub enum Tok<'a> {
    #[token("strategy")]
    Strategy,
    #[token("fn")]
    Fn,
    #[token("param")]
    Param,
    #[token("feed")]
    Feed,
    #[token("let")]
    Let,
    #[token("mut")]
    Mut,
    #[token("if")]
    If,
    #[token("else")]
    Else,
    #[token("for")]
    For,
    #[token("in")]
    In,
    #[token("break")]
    Break,
    #[token("continue")]
    Continue,
    #[token("and")]
    And,
    #[token("or")]
    Or,
    #[token("not")]
    Not,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("series")]
    Series,
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice())]
    Ident(&'a str),
    #[regex(r"[0-9][0-9_]*", |lex| lex.slice())]
    Int(&'a str),
    #[regex(r"[0-9][0-9_]*\.[0-9][0-9_]*([eE][+-]?[0-9]+)?", |lex| lex.slice())]
    #[regex(r"[0-9][0-9_]*[eE][+-]?[0-9]+", |lex| lex.slice())]
    Float(&'a str),
    #[regex(r#""[^"\n]*""#, |lex| { let s = lex.slice(); &s[1..s.len() - 1] })]
    Str(&'a str),
    #[regex(r#""[^"\n]*"#, priority = 1)]
    Unterminated,
    #[regex(r"//[^\n]*", allow_greedy = true)]
    Comment,
    #[token("\n")]
    Newline,
    #[token(";")]
    Semi,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token("->")]
    Arrow,
    #[token("..")]
    DotDot,
    #[token(".")]
    Dot,
    #[token("=")]
    Assign,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    /// `&&`, `&`, `||`, `|`, `!`: other languages' logic, read as `and`, `or`, `not` after an
    /// error that says so (so nothing else is reported for them).
    #[token("&&")]
    #[token("&")]
    AmpAnd,
    #[token("||")]
    #[token("|")]
    PipeOr,
    #[token("!")]
    Bang,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    /// A character that starts no token (reported by the lexer, skipped by the parser).
    Error,
}

impl Tok<'_> {
    /// A binary operator other than `-`: a line starting with one continues the previous line.
    fn continues_before(self) -> bool {
        matches!(
            self,
            Tok::RBrace
                | Tok::RParen
                | Tok::RBracket
                | Tok::Else
                | Tok::And
                | Tok::Or
                | Tok::EqEq
                | Tok::NotEq
                | Tok::Lt
                | Tok::Le
                | Tok::Gt
                | Tok::Ge
                | Tok::Plus
                | Tok::Star
                | Tok::Slash
                | Tok::Percent
                | Tok::DotDot
                | Tok::Arrow
                | Tok::LBrace
        )
    }

    /// A token after which the statement cannot end.
    fn continues_after(self) -> bool {
        matches!(
            self,
            Tok::LBrace
                | Tok::LParen
                | Tok::LBracket
                | Tok::Comma
                | Tok::Colon
                | Tok::Arrow
                | Tok::DotDot
                | Tok::Assign
                | Tok::EqEq
                | Tok::NotEq
                | Tok::Lt
                | Tok::Le
                | Tok::Gt
                | Tok::Ge
                | Tok::Plus
                | Tok::Minus
                | Tok::Star
                | Tok::Slash
                | Tok::Percent
                | Tok::And
                | Tok::Or
                | Tok::Not
                | Tok::Else
                | Tok::Newline
        )
    }

    /// How the token is named in "expected ..." messages.
    pub fn describe(self) -> String {
        match self {
            Tok::Ident(s) => format!("identifier `{s}`"),
            Tok::Int(s) | Tok::Float(s) => format!("number `{s}`"),
            Tok::Str(_) | Tok::Unterminated => "string".into(),
            Tok::Newline => "end of line".into(),
            Tok::Error => "invalid character".into(),
            Tok::Comment => "comment".into(),
            other => format!("`{}`", other.text()),
        }
    }

    fn text(self) -> &'static str {
        match self {
            Tok::Strategy => "strategy",
            Tok::Fn => "fn",
            Tok::Param => "param",
            Tok::Feed => "feed",
            Tok::Let => "let",
            Tok::Mut => "mut",
            Tok::If => "if",
            Tok::Else => "else",
            Tok::For => "for",
            Tok::In => "in",
            Tok::Break => "break",
            Tok::Continue => "continue",
            Tok::And => "and",
            Tok::Or => "or",
            Tok::Not => "not",
            Tok::True => "true",
            Tok::False => "false",
            Tok::Series => "series",
            Tok::Semi => ";",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Comma => ",",
            Tok::Colon => ":",
            Tok::Arrow => "->",
            Tok::DotDot => "..",
            Tok::Assign => "=",
            Tok::EqEq => "==",
            Tok::NotEq => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            _ => "?",
        }
    }
}

/// A `///` doc comment line: its span and its text without the slashes.
#[derive(Debug, Clone)]
pub struct DocLine {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// The result of lexing one file.
pub struct Lexed<'a> {
    pub tokens: Vec<(usize, Tok<'a>, usize)>,
    pub docs: Vec<DocLine>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Lexes a whole file (see the module contract).
pub fn lex(file: FileId, text: &str) -> Lexed<'_> {
    let mut raw = Vec::new();
    let mut docs = Vec::new();
    let mut diagnostics = Vec::new();
    let mut lexer = Tok::lexer(text);
    while let Some(result) = lexer.next() {
        let range = lexer.span();
        let span = Span::new(file, range.start, range.end);
        match result {
            Ok(Tok::Comment) => {
                let s = lexer.slice();
                if s.starts_with("///") && !s.starts_with("////") {
                    docs.push(DocLine {
                        start: range.start,
                        end: range.end,
                        text: s[3..].strip_prefix(' ').unwrap_or(&s[3..]).to_string(),
                    });
                }
            }
            Ok(Tok::Unterminated) => {
                diagnostics.push(
                    Diagnostic::new(Code::E0002, "unterminated string")
                        .primary(span, "this string has no closing `\"`")
                        .help("close the string on the same line: \"name\""),
                );
                raw.push((range.start, Tok::Error, range.end));
            }
            Ok(Tok::Semi) => raw.push((range.start, Tok::Newline, range.end)),
            Ok(alias @ (Tok::AmpAnd | Tok::PipeOr | Tok::Bang)) => {
                let (word, tok) = match alias {
                    Tok::AmpAnd => ("and", Tok::And),
                    Tok::PipeOr => ("or", Tok::Or),
                    _ => ("not", Tok::Not),
                };
                let written = lexer.slice();
                diagnostics.push(
                    Diagnostic::new(Code::E0001, format!("`{written}` is not a btl operator"))
                        .primary(span, format!("write `{word}`"))
                        .help(format!(
                            "btl spells logic in words: `and`, `or`, `not` (read here as `{word}`)"
                        )),
                );
                raw.push((range.start, tok, range.end));
            }
            Ok(Tok::Dot) if pine_namespace(&raw, range.start).is_some() => {
                // Pine's `ta.sma(...)`, `math.abs(...)`: drop the namespace and read the call.
                let (start, ns) = pine_namespace(&raw, range.start).unwrap_or((0, ""));
                raw.pop();
                let at = Span::new(file, start, range.end);
                let help = match ns {
                    "strategy" => "orders are actions: `buy(qty)`, `sell(qty)`, `close_position()`; `position`, `equity` and `cash` are inputs".to_string(),
                    _ => format!("call the function without `{ns}.`: `{ns}.sma(close, 10)` is `sma(close, 10)` (see docs/language.md and stdlib/)"),
                };
                diagnostics.push(
                    Diagnostic::new(Code::E0001, format!("`{ns}.` is Pine Script, not btl"))
                        .primary(at, "btl functions have no namespace")
                        .help(help),
                );
            }
            Ok(tok) => raw.push((range.start, tok, range.end)),
            Err(()) => {
                let ch = lexer.slice().chars().next().unwrap_or('?');
                diagnostics.push(
                    Diagnostic::new(
                        Code::E0001,
                        format!("unexpected character `{}`", ch.escape_debug()),
                    )
                    .primary(span, "no token starts with this character")
                    .help(hint_for(ch)),
                );
                // One error token per run of bad characters keeps the parser's recovery simple.
                if !matches!(raw.last(), Some((_, Tok::Error, end)) if *end == range.start) {
                    raw.push((range.start, Tok::Error, range.end));
                } else if let Some(last) = raw.last_mut() {
                    last.2 = range.end;
                }
            }
        }
    }
    pine_declarations(file, &mut raw, &mut diagnostics);
    let tokens = filter_newlines(raw);
    Lexed {
        tokens,
        docs,
        diagnostics,
    }
}

/// Pine's `var x = ...` and `x := ...`: an error that says what btl writes, and the tokens read
/// as `mut x = ...` and `x = ...` so that nothing else is reported for them.
fn pine_declarations(
    file: FileId,
    raw: &mut Vec<(usize, Tok<'_>, usize)>,
    diags: &mut Vec<Diagnostic>,
) {
    let mut i = 0;
    while i < raw.len() {
        let var_decl = matches!(raw[i].1, Tok::Ident("var"))
            && matches!(raw.get(i + 1), Some((_, Tok::Ident(_), _)))
            && matches!(raw.get(i + 2), Some((_, Tok::Assign | Tok::Colon, _)));
        if var_decl {
            let (s, _, e) = raw[i];
            diags.push(
                Diagnostic::new(Code::E0001, "`var` is Pine Script, not btl")
                    .primary(Span::new(file, s, e), "read here as `mut`")
                    .note("Pine's `var x = 0` keeps x from bar to bar; in btl a `let` series keeps its past")
                    .help("for a value carried across bars: `let x = nz(x[1]) + ...` (or `if na(x[1]) { seed } else { ... }`); for a value within one bar: `mut x = 0`"),
            );
            raw[i].1 = Tok::Mut;
        }
        let walrus = matches!(raw[i].1, Tok::Colon)
            && matches!(raw.get(i + 1), Some(&(s, Tok::Assign, _)) if s == raw[i].2);
        if walrus {
            let (s, _, _) = raw[i];
            let e = raw[i + 1].2;
            diags.push(
                Diagnostic::new(Code::E0001, "`:=` is Pine Script, not btl")
                    .primary(Span::new(file, s, e), "write `=`")
                    .help("a `mut` local is assigned with `=`: `x = x + 1`"),
            );
            raw[i] = (s, Tok::Assign, e);
            raw.remove(i + 1);
        }
        i += 1;
    }
}

/// The Pine namespace (`ta`, `math`, `str`, `strategy`, `input`, `request`) written just before
/// a `.` at `dot`, with its start.
fn pine_namespace<'a>(raw: &[(usize, Tok<'a>, usize)], dot: usize) -> Option<(usize, &'a str)> {
    let &(start, tok, end) = raw.last()?;
    if end != dot {
        return None;
    }
    let word = match tok {
        Tok::Ident(w) => w,
        Tok::Strategy => "strategy",
        _ => return None,
    };
    matches!(
        word,
        "ta" | "math" | "str" | "strategy" | "input" | "request"
    )
    .then_some((start, word))
}

fn hint_for(ch: char) -> String {
    match ch {
        '&' => "write `and` for a logical and".into(),
        '|' => "write `or` for a logical or".into(),
        '!' => "write `not` for a negation (`!=` compares)".into(),
        '#' => "comments start with `//`".into(),
        '\'' => "strings use double quotes: \"name\"".into(),
        _ => "remove it, or check the file's encoding".into(),
    }
}

/// Keeps only the newlines that end a statement (see the module contract).
fn filter_newlines(raw: Vec<(usize, Tok<'_>, usize)>) -> Vec<(usize, Tok<'_>, usize)> {
    let mut out: Vec<(usize, Tok<'_>, usize)> = Vec::with_capacity(raw.len());
    let mut depth: i64 = 0;
    for (i, &(s, tok, e)) in raw.iter().enumerate() {
        match tok {
            // A keyword that starts a statement or item ends any unclosed bracket: recovery.
            Tok::Let | Tok::Mut | Tok::Param | Tok::For | Tok::Fn | Tok::Strategy => depth = 0,
            Tok::LParen | Tok::LBracket => depth += 1,
            Tok::RParen | Tok::RBracket => depth = (depth - 1).max(0),
            Tok::LBrace | Tok::RBrace => depth = 0,
            _ => {}
        }
        if tok == Tok::Newline {
            let prev = out.last().map(|t| t.1);
            let next = raw[i + 1..]
                .iter()
                .map(|t| t.1)
                .find(|t| *t != Tok::Newline);
            let starts_statement = matches!(
                next,
                Some(Tok::Let | Tok::Mut | Tok::Param | Tok::For | Tok::Fn | Tok::Strategy)
            );
            let keep = prev.is_some_and(|p| p != Tok::Newline && p != Tok::LBrace)
                && (starts_statement
                    || (depth == 0
                        && prev.is_some_and(|p| !p.continues_after())
                        && next.is_some_and(|n| !n.continues_before())));
            if !keep {
                continue;
            }
        }
        out.push((s, tok, e));
    }
    out
}
