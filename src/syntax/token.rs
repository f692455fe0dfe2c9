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
    #[token("=")]
    Assign,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
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
    let tokens = filter_newlines(raw);
    Lexed {
        tokens,
        docs,
        diagnostics,
    }
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
