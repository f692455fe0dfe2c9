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
    let tokens = lexed.tokens.into_iter().map(Ok::<_, ()>);
    let result = grammar::btl::FileParser::new().parse(&mut builder, tokens);
    if let Err(e) = result {
        builder.parse_error(Recovery::Item, e);
    }
    diagnostics.append(&mut builder.diagnostics);
    diagnostics
}
