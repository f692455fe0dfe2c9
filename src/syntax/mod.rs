//! Syntax: text to [`Ast`].
//!
//! Contract: [`parse`] is the only entry point. It never fails and never panics: it appends the
//! file's items to the given [`Ast`] (with `Error` nodes where the parser recovered) and returns
//! the lexical and syntax diagnostics, one per independent problem.

pub mod ast;
pub mod build;
pub mod token;

#[allow(clippy::all, unused_parens, dead_code)]
mod grammar {
    lalrpop_util::lalrpop_mod!(pub btl);
}

use crate::diag::Diagnostic;
use crate::source::FileId;
use ast::Ast;
use build::{Builder, Recovery};

/// A `{` left open: reported once, at the opening, when the next item (`strategy`, `fn`) or the
/// end of the file shows it; the missing `}`s are inserted there, so that nothing after it is
/// reported as a consequence.
fn close_open_braces<'a>(
    file: FileId,
    end: usize,
    tokens: Vec<(usize, token::Tok<'a>, usize)>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(usize, token::Tok<'a>, usize)> {
    use token::Tok;
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut out = Vec::with_capacity(tokens.len());
    let mut report = |open: &mut Vec<(usize, usize)>, at: usize, out: &mut Vec<_>| {
        if let Some(&(s, e)) = open.last() {
            let more = open.len() - 1;
            let mut d = Diagnostic::new(crate::diag::Code::E0003, "unclosed `{`")
                .primary(
                    crate::source::Span::new(file, s, e),
                    "this `{` is never closed",
                )
                .help("add the `}` where the block ends");
            if more > 0 {
                d = d.note(format!(
                    "{more} enclosing block{} also left open",
                    if more == 1 { " is" } else { "s are" }
                ));
            }
            diagnostics.push(d);
        }
        for _ in open.drain(..) {
            out.push((at, Tok::RBrace, at));
        }
    };
    for (s, tok, e) in tokens {
        match tok {
            Tok::LBrace => open.push((s, e)),
            Tok::RBrace => {
                open.pop();
            }
            Tok::Strategy | Tok::Fn if !open.is_empty() => report(&mut open, s, &mut out),
            _ => {}
        }
        out.push((s, tok, e));
    }
    report(&mut open, end, &mut out);
    out
}

/// Parses one file into `ast` (see the module contract).
pub fn parse(ast: &mut Ast, file: FileId, text: &str) -> Vec<Diagnostic> {
    let lexed = token::lex(file, text);
    let mut diagnostics = lexed.diagnostics;
    let mut builder = Builder {
        ast,
        file,
        text,
        docs: lexed.docs,
        diagnostics: Vec::new(),
        expr_depth: slotmap::SecondaryMap::new(),
        stmt_depth: slotmap::SecondaryMap::new(),
        expr_path: slotmap::SecondaryMap::new(),
        stmt_path: slotmap::SecondaryMap::new(),
        too_deep: false,
    };
    let tokens = close_open_braces(file, text.len(), lexed.tokens, &mut diagnostics);
    let tokens = tokens.into_iter().map(Ok::<_, ()>);
    let result = grammar::btl::FileParser::new().parse(&mut builder, tokens);
    if let Err(e) = result {
        builder.parse_error(Recovery::Item, e);
    }
    diagnostics.append(&mut builder.diagnostics);
    diagnostics
}
