//! The builder the grammar's actions call: it allocates nodes in the [`Ast`] arenas, records spans,
//! attaches doc comments and turns recovered parse errors into diagnostics.
//!
//! Contract: every method is total; malformed pieces (a number that does not fit, an unknown type
//! name) become diagnostics plus a placeholder node, never a panic.

use lalrpop_util::{ErrorRecovery, ParseError};

use super::ast::*;
use super::token::{DocLine, Tok};
use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};

/// Where the parser recovered, which decides the wording of the diagnostic.
#[derive(Debug, Clone, Copy)]
pub enum Recovery {
    Item,
    Stmt,
}

/// Integers must be exact as `f64`, the run-time representation.
pub const MAX_INT: i64 = 1 << 53;
/// The deepest nesting of expressions and blocks; deeper nodes become errors (E0115). A chain of
/// one operator level (`a + b - c + ...`, `x and y and ...`) is long, not deep: it counts once.
pub const MAX_DEPTH: u32 = 256;
/// The longest path from the root of a statement to a leaf, chains included (E0115): every later
/// pass recurses along it.
pub const MAX_PATH: u32 = 20_000;

/// The operators that chain at one level (left-associative, same precedence).
fn level(op: BinOp) -> u8 {
    match op {
        BinOp::Add | BinOp::Sub => 1,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 2,
        BinOp::And => 3,
        BinOp::Or => 4,
        _ => 0,
    }
}

pub struct Builder<'a> {
    pub ast: &'a mut Ast,
    pub file: FileId,
    pub text: &'a str,
    pub docs: Vec<DocLine>,
    pub diagnostics: Vec<Diagnostic>,
    /// Nesting depth of every node built so far.
    pub expr_depth: slotmap::SecondaryMap<ExprId, u32>,
    pub stmt_depth: slotmap::SecondaryMap<StmtId, u32>,
    /// The longest path below every node built so far (see [`MAX_PATH`]).
    pub expr_path: slotmap::SecondaryMap<ExprId, u32>,
    pub stmt_path: slotmap::SecondaryMap<StmtId, u32>,
    pub too_deep: bool,
}

impl<'a> Builder<'a> {
    fn span(&self, l: usize, r: usize) -> Span {
        Span::new(self.file, l, r)
    }

    /// The largest of `stmts` (the statements' depths or paths) over a block's statements.
    fn block_max(b: &Block, stmts: &slotmap::SecondaryMap<StmtId, u32>) -> u32 {
        b.stmts
            .iter()
            .map(|s| stmts.get(*s).copied().unwrap_or(0))
            .max()
            .unwrap_or(0)
    }

    fn block_depth(&self, b: &Block) -> u32 {
        Self::block_max(b, &self.stmt_depth)
    }

    fn block_path(&self, b: &Block) -> u32 {
        Self::block_max(b, &self.stmt_path)
    }

    /// One more than the largest measure (`exprs`, `stmts`: depths or paths) of `e`'s parts.
    fn above(
        &self,
        e: &Expr,
        exprs: &slotmap::SecondaryMap<ExprId, u32>,
        stmts: &slotmap::SecondaryMap<StmtId, u32>,
    ) -> u32 {
        let m = |x: &ExprId| exprs.get(*x).copied().unwrap_or(0);
        1 + match e {
            Expr::Unary(_, a) | Expr::Paren(a) | Expr::In(_, a) => m(a),
            Expr::Binary(_, a, b) | Expr::Index(a, b) => m(a).max(m(b)),
            Expr::Call(_, args) | Expr::Tuple(args) => args.iter().map(m).max().unwrap_or(0),
            Expr::If(c, t, f) => m(c)
                .max(Self::block_max(t, stmts))
                .max(f.as_ref().map_or(0, |b| Self::block_max(b, stmts))),
            _ => 0,
        }
    }

    fn path_of(&self, e: &Expr) -> u32 {
        self.above(e, &self.expr_path, &self.stmt_path)
    }

    fn depth_of(&self, e: &Expr) -> u32 {
        let d = |x: &ExprId| self.expr_depth.get(*x).copied().unwrap_or(0);
        if let Expr::Binary(op, a, b) = e
            && level(*op) != 0
            && matches!(self.ast.exprs.get(*a), Some(Expr::Binary(op2, ..)) if level(*op2) == level(*op))
        {
            // The next link of a chain: as deep as the chain, or as its right operand.
            return d(a).max(d(b) + 1);
        }
        self.above(e, &self.expr_depth, &self.stmt_depth)
    }

    fn too_deep(&mut self, l: usize, r: usize) {
        if !self.too_deep {
            self.too_deep = true;
            let span = self.span(l, r);
            self.diagnostics.push(
                Diagnostic::new(
                    Code::E0115,
                    format!("nested more than {MAX_DEPTH} levels deep"),
                )
                .primary(span, "this is nested too deeply")
                .help("name intermediate values with `let` instead of nesting them"),
            );
        }
    }

    fn too_long(&mut self, l: usize, r: usize) {
        if !self.too_deep {
            self.too_deep = true;
            let span = self.span(l, r);
            self.diagnostics.push(
                Diagnostic::new(
                    Code::E0115,
                    format!("expression longer than {MAX_PATH} operations in a row"),
                )
                .primary(span, "this is too long")
                .help("split it into `let`s of a few thousand terms each"),
            );
        }
    }

    fn expr(&mut self, e: Expr, l: usize, r: usize) -> ExprId {
        let mut depth = self.depth_of(&e);
        let mut path = self.path_of(&e);
        let e = if depth > MAX_DEPTH {
            self.too_deep(l, r);
            (depth, path) = (1, 1);
            Expr::Error
        } else if path > MAX_PATH {
            self.too_long(l, r);
            (depth, path) = (1, 1);
            Expr::Error
        } else {
            e
        };
        let id = self.ast.exprs.insert(e);
        self.ast.expr_spans.insert(id, Span::new(self.file, l, r));
        self.expr_depth.insert(id, depth);
        self.expr_path.insert(id, path);
        id
    }

    fn stmt(&mut self, s: Stmt, l: usize, r: usize) -> StmtId {
        // The statement's expressions and block, measured twice: nesting and longest path.
        let (exprs, body): (Vec<ExprId>, Option<&Block>) = match &s {
            Stmt::Param { default: e, .. }
            | Stmt::Let { value: e, .. }
            | Stmt::Mut { value: e, .. }
            | Stmt::Assign { value: e, .. }
            | Stmt::LetTuple { value: e, .. }
            | Stmt::Expr(e) => (vec![*e], None),
            Stmt::For { lo, hi, body, .. } => (vec![*lo, *hi], Some(body)),
            Stmt::Feed { value, .. } => (value.iter().copied().collect(), None),
            Stmt::Break | Stmt::Continue | Stmt::Error => (Vec::new(), None),
        };
        let deepest = |map: &slotmap::SecondaryMap<ExprId, u32>| {
            exprs
                .iter()
                .map(|x| map.get(*x).copied().unwrap_or(0))
                .max()
                .unwrap_or(0)
        };
        let mut depth = 1 + deepest(&self.expr_depth).max(body.map_or(0, |b| self.block_depth(b)));
        let mut path = 1 + deepest(&self.expr_path).max(body.map_or(0, |b| self.block_path(b)));
        let s = if depth > MAX_DEPTH {
            self.too_deep(l, r);
            (depth, path) = (1, 1);
            Stmt::Error
        } else if path > MAX_PATH {
            self.too_long(l, r);
            (depth, path) = (1, 1);
            Stmt::Error
        } else {
            s
        };
        let id = self.ast.stmts.insert(s);
        self.ast.stmt_spans.insert(id, Span::new(self.file, l, r));
        self.stmt_depth.insert(id, depth);
        self.stmt_path.insert(id, path);
        id
    }

    /// The `///` lines directly above offset `l` (only whitespace between them and `l`).
    fn doc_before(&self, l: usize) -> Option<String> {
        let mut lines = Vec::new();
        let mut cursor = l;
        for d in self.docs.iter().rev().filter(|d| d.end <= l) {
            if !self.text[d.end..cursor].trim().is_empty() {
                break;
            }
            lines.push(d.text.clone());
            cursor = d.start;
        }
        if lines.is_empty() {
            return None;
        }
        lines.reverse();
        Some(lines.join("\n"))
    }

    pub fn ident(&mut self, s: &str, l: usize, r: usize) -> Ident {
        Ident {
            name: s.to_string(),
            span: self.span(l, r),
        }
    }

    pub fn type_expr(&mut self, series: bool, name: Ident, l: usize, r: usize) -> TypeExpr {
        let base = match name.name.as_str() {
            "int" => Some(BaseType::Int),
            "float" => Some(BaseType::Float),
            "bool" => Some(BaseType::Bool),
            other => {
                let mut d = Diagnostic::new(Code::E0100, format!("unknown type `{other}`"))
                    .primary(name.span, "not a type")
                    .help(
                        "the types are `int`, `float` and `bool`, optionally preceded by `series`",
                    );
                if let Some(s) = crate::diag::suggest(other, ["int", "float", "bool"]) {
                    d = d.help(format!("did you mean `{s}`?"));
                }
                self.diagnostics.push(d);
                None
            }
        };
        TypeExpr {
            series,
            base,
            span: self.span(l, r),
        }
    }

    pub fn strategy(&mut self, name: Ident, body: Block, l: usize, r: usize) {
        let doc = self.doc_before(l);
        let span = self.span(l, r);
        self.ast.items.push((
            self.file,
            Item::Strategy(StrategyDef {
                name,
                body,
                doc,
                span,
            }),
        ));
    }

    pub fn function(
        &mut self,
        name: Ident,
        params: Vec<FnParam>,
        (ret, rets): (Option<TypeExpr>, Vec<TypeExpr>),
        body: Block,
        l: usize,
        r: usize,
    ) {
        let doc = self.doc_before(l);
        let span = self.span(l, r);
        self.ast.items.push((
            self.file,
            Item::Fn(FnDef {
                name,
                params,
                ret,
                rets,
                body,
                doc,
                span,
            }),
        ));
    }

    pub fn block(&mut self, stmts: Vec<StmtId>, l: usize, r: usize) -> Block {
        Block {
            stmts,
            span: self.span(l, r),
        }
    }

    pub fn param(
        &mut self,
        name: Ident,
        ty: TypeExpr,
        default: ExprId,
        l: usize,
        r: usize,
    ) -> StmtId {
        let doc = self.doc_before(l);
        self.stmt(
            Stmt::Param {
                name,
                ty,
                default,
                doc,
            },
            l,
            r,
        )
    }

    pub fn let_(
        &mut self,
        name: Ident,
        ty: Option<TypeExpr>,
        value: ExprId,
        l: usize,
        r: usize,
    ) -> StmtId {
        let doc = self.doc_before(l);
        self.stmt(
            Stmt::Let {
                name,
                ty,
                value,
                doc,
            },
            l,
            r,
        )
    }

    /// `name: ty` or `name: ty = default` (the default's text kept for signatures).
    pub fn fn_param(
        &mut self,
        name: Ident,
        ty: TypeExpr,
        default: Option<(usize, ExprId, usize)>,
    ) -> FnParam {
        FnParam {
            name,
            ty,
            default: default.map(|(_, e, _)| e),
            default_text: default.map(|(l, _, r)| self.text[l..r].trim().to_string()),
        }
    }

    pub fn let_tuple(&mut self, names: Vec<Ident>, value: ExprId, l: usize, r: usize) -> StmtId {
        let doc = self.doc_before(l);
        self.stmt(Stmt::LetTuple { names, value, doc }, l, r)
    }

    /// `break` (`is_break`) or `continue`.
    pub fn jump_stmt(&mut self, is_break: bool, l: usize, r: usize) -> StmtId {
        let s = if is_break {
            Stmt::Break
        } else {
            Stmt::Continue
        };
        self.stmt(s, l, r)
    }

    pub fn let_recover(
        &mut self,
        name: Ident,
        ty: Option<TypeExpr>,
        e: ErrorRecovery<usize, Tok<'_>, ()>,
        l: usize,
        r: usize,
    ) -> StmtId {
        let (el, er) = recovery_range(&e);
        self.recover(Recovery::Stmt, e);
        let value = self.expr(Expr::Error, el, er.max(el));
        self.let_(name, ty, value, l, r)
    }

    pub fn mut_(
        &mut self,
        name: Ident,
        ty: Option<TypeExpr>,
        value: ExprId,
        l: usize,
        r: usize,
    ) -> StmtId {
        self.stmt(Stmt::Mut { name, ty, value }, l, r)
    }

    pub fn assign(&mut self, name: Ident, value: ExprId, l: usize, r: usize) -> StmtId {
        self.stmt(Stmt::Assign { name, value }, l, r)
    }

    pub fn for_(
        &mut self,
        var: Ident,
        lo: ExprId,
        hi: ExprId,
        body: Block,
        l: usize,
        r: usize,
    ) -> StmtId {
        self.stmt(Stmt::For { var, lo, hi, body }, l, r)
    }

    pub fn expr_stmt(&mut self, e: ExprId, l: usize, r: usize) -> StmtId {
        self.stmt(Stmt::Expr(e), l, r)
    }

    pub fn binary(&mut self, op: BinOp, a: ExprId, c: ExprId, l: usize, r: usize) -> ExprId {
        self.expr(Expr::Binary(op, a, c), l, r)
    }

    pub fn unary(&mut self, op: UnOp, e: ExprId, l: usize, r: usize) -> ExprId {
        self.expr(Expr::Unary(op, e), l, r)
    }

    pub fn index(&mut self, base: ExprId, i: ExprId, l: usize, r: usize) -> ExprId {
        self.expr(Expr::Index(base, i), l, r)
    }

    pub fn int(&mut self, s: &str, l: usize, r: usize) -> ExprId {
        let digits: String = s.chars().filter(|c| *c != '_').collect();
        match digits.parse::<i64>() {
            Ok(v) if v <= MAX_INT => self.expr(Expr::Int(v), l, r),
            _ => {
                let span = self.span(l, r);
                self.diagnostics.push(
                    Diagnostic::new(Code::E0004, "integer literal out of range")
                        .primary(span, "larger than 2^53")
                        .note("btl integers are exact up to 2^53 = 9007199254740992")
                        .help("write it as a float literal if an approximation is fine: 1e18"),
                );
                self.expr(Expr::Error, l, r)
            }
        }
    }

    pub fn float(&mut self, s: &str, l: usize, r: usize) -> ExprId {
        let digits: String = s.chars().filter(|c| *c != '_').collect();
        match digits.parse::<f64>() {
            Ok(v) if v.is_finite() => self.expr(Expr::Float(v), l, r),
            _ => {
                let span = self.span(l, r);
                self.diagnostics.push(
                    Diagnostic::new(Code::E0004, "float literal out of range")
                        .primary(span, "not a finite number")
                        .help("float literals must be finite, below about 1.8e308"),
                );
                self.expr(Expr::Error, l, r)
            }
        }
    }

    pub fn string(&mut self, s: &str, l: usize, r: usize) -> ExprId {
        self.expr(Expr::Str(s.to_string()), l, r)
    }

    pub fn boolean(&mut self, v: bool, l: usize, r: usize) -> ExprId {
        self.expr(Expr::Bool(v), l, r)
    }

    pub fn name(&mut self, n: Ident, l: usize, r: usize) -> ExprId {
        self.expr(Expr::Name(n), l, r)
    }

    pub fn call(&mut self, n: Ident, args: Vec<ExprId>, l: usize, r: usize) -> ExprId {
        self.expr(Expr::Call(n, args), l, r)
    }

    pub fn in_feed(&mut self, feed: Ident, e: ExprId, l: usize, r: usize) -> ExprId {
        self.expr(Expr::In(feed, e), l, r)
    }

    pub fn feed(&mut self, name: Ident, value: Option<ExprId>, l: usize, r: usize) -> StmtId {
        let doc = self.doc_before(l);
        self.stmt(Stmt::Feed { name, value, doc }, l, r)
    }

    pub fn paren(&mut self, e: ExprId, l: usize, r: usize) -> ExprId {
        self.expr(Expr::Paren(e), l, r)
    }

    /// `(first, rest...)`; `(e,)` is `(e)`.
    pub fn tuple(&mut self, first: ExprId, rest: Vec<ExprId>, l: usize, r: usize) -> ExprId {
        if rest.is_empty() {
            return self.paren(first, l, r);
        }
        let mut all = vec![first];
        all.extend(rest);
        self.expr(Expr::Tuple(all), l, r)
    }

    pub fn if_(&mut self, c: ExprId, t: Block, e: Option<Block>, l: usize, r: usize) -> ExprId {
        self.expr(Expr::If(c, t, e), l, r)
    }

    pub fn else_if(&mut self, c: ExprId, t: Block, nested: ExprId, l: usize, r: usize) -> ExprId {
        let span = self.ast.expr_span(nested);
        let stmt = self.stmt(Stmt::Expr(nested), span.start as usize, span.end as usize);
        let block = Block {
            stmts: vec![stmt],
            span,
        };
        self.expr(Expr::If(c, t, Some(block)), l, r)
    }

    pub fn recover_stmt(&mut self, e: ErrorRecovery<usize, Tok<'_>, ()>) -> StmtId {
        let (l, r) = recovery_range(&e);
        self.recover(Recovery::Stmt, e);
        self.stmt(Stmt::Error, l, r)
    }

    pub fn recover(&mut self, kind: Recovery, e: ErrorRecovery<usize, Tok<'_>, ()>) {
        self.parse_error(kind, e.error);
    }

    /// Converts a parse error to a diagnostic (errors at lexer error tokens were already reported).
    pub fn parse_error(&mut self, kind: Recovery, e: ParseError<usize, Tok<'_>, ()>) {
        let what = match kind {
            Recovery::Item => "a `strategy` or `fn`",
            Recovery::Stmt => "a statement",
        };
        let d = match e {
            ParseError::UnrecognizedToken {
                token: (_, Tok::Error, _),
                ..
            }
            | ParseError::InvalidToken { .. }
            | ParseError::User { .. } => return,
            ParseError::UnrecognizedToken {
                token: (l, tok, r),
                expected,
            } => {
                let r = if tok == Tok::Newline { l } else { r };
                Diagnostic::new(Code::E0003, format!("unexpected {}", tok.describe()))
                    .primary(self.span(l, r), expected_phrase(&expected, what))
                    .help(help_for(tok))
            }
            ParseError::ExtraToken { token: (l, tok, r) } => {
                Diagnostic::new(Code::E0003, format!("unexpected {}", tok.describe()))
                    .primary(self.span(l, r), format!("expected {what}"))
                    .help(help_for(tok))
            }
            ParseError::UnrecognizedEof { location, expected } => {
                let end = self.text.len();
                let at = location.min(end);
                Diagnostic::new(Code::E0003, "unexpected end of file")
                    .primary(self.span(at, end), expected_phrase(&expected, what))
                    .help("a `{` may be missing its `}`")
            }
        };
        self.diagnostics.push(d);
    }
}

fn recovery_range(e: &ErrorRecovery<usize, Tok<'_>, ()>) -> (usize, usize) {
    let from_error = match &e.error {
        ParseError::UnrecognizedToken {
            token: (l, _, r), ..
        }
        | ParseError::ExtraToken { token: (l, _, r) } => (*l, *r),
        ParseError::UnrecognizedEof { location, .. } | ParseError::InvalidToken { location } => {
            (*location, *location)
        }
        ParseError::User { .. } => (0, 0),
    };
    let l = e
        .dropped_tokens
        .first()
        .map(|t| t.0)
        .unwrap_or(from_error.0)
        .min(from_error.0);
    let r = e
        .dropped_tokens
        .last()
        .map(|t| t.2)
        .unwrap_or(from_error.1)
        .max(from_error.1);
    (l, r)
}

fn expected_phrase(expected: &[String], what: &str) -> String {
    let mut names: Vec<String> = expected
        .iter()
        .map(|e| match e.as_str() {
            "Ident" => "a name".to_string(),
            "IntLit" | "FloatLit" => "a number".to_string(),
            "StrLit" => "a string".to_string(),
            "NL" => "end of line".to_string(),
            "BadChar" => String::new(),
            other => format!("`{}`", other.trim_matches('"')),
        })
        .filter(|s| !s.is_empty())
        .collect();
    names.dedup();
    let has = |t: &str| expected.iter().any(|e| e == t);
    if has("Ident") && has("IntLit") && !has("\"let\"") {
        return "expected an expression".to_string();
    }
    if has("NL") && has("\"+\"") {
        return "expected an operator or the end of the line".to_string();
    }
    match names.len() {
        0 => format!("expected {what}"),
        1..=6 => format!("expected {}", names.join(", ")),
        _ => format!("expected {what} or an expression here"),
    }
}

fn help_for(tok: Tok<'_>) -> String {
    match tok {
        Tok::Assign => "`=` defines or assigns; compare with `==`".into(),
        Tok::Newline => "the line ends early: the expression is incomplete".into(),
        Tok::Else => "`else` must follow the `}` of an `if` block".into(),
        Tok::RBrace => "an opening `{` or an expression may be missing".into(),
        Tok::Ident(_) => {
            "two expressions in a row: an operator or a line break may be missing".into()
        }
        _ => "check the syntax near here against docs/language.md".into(),
    }
}
