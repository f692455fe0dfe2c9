//! The abstract syntax tree: nodes in slotmap arenas, spans in side tables.
//!
//! Contract: one [`Ast`] holds the items of every parsed file (the stdlib prelude and the user's
//! program). Expressions and statements live in arenas and are referred to by [`ExprId`] and
//! [`StmtId`]; their spans live in `SecondaryMap`s beside them. Items keep source order in a `Vec`.
//! Parse errors leave `Error` nodes in place so later passes still see the rest of the tree.

use slotmap::{SecondaryMap, SlotMap, new_key_type};

use crate::source::{FileId, Span};

new_key_type! {
    pub struct ExprId;
    pub struct StmtId;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BaseType {
    Int,
    Float,
    Bool,
}

impl BaseType {
    pub fn as_str(self) -> &'static str {
        match self {
            BaseType::Int => "int",
            BaseType::Float => "float",
            BaseType::Bool => "bool",
        }
    }
}

/// A written type: `float`, `series int`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeExpr {
    pub series: bool,
    pub base: Option<BaseType>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }

    pub fn is_logical(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Name(Ident),
    Unary(UnOp, ExprId),
    Binary(BinOp, ExprId, ExprId),
    Call(Ident, Vec<ExprId>),
    /// `base[index]`: the value of `base` `index` bars ago.
    Index(ExprId, ExprId),
    /// `if cond { .. } else { .. }`; `else if` is an else block holding one `If` expression.
    If(ExprId, Block, Option<Block>),
    /// `( e )`, kept so spans and printed names follow the source.
    Paren(ExprId),
    /// `(a, b, ...)`: several values, only as the result of a function that returns a tuple.
    Tuple(Vec<ExprId>),
    /// `feed.expr`: `expr` evaluated in the context of a feed (its inputs, its clock).
    In(Ident, ExprId),
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub stmts: Vec<StmtId>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Param {
        name: Ident,
        ty: TypeExpr,
        default: ExprId,
        doc: Option<String>,
    },
    Let {
        name: Ident,
        ty: Option<TypeExpr>,
        value: ExprId,
        doc: Option<String>,
    },
    /// `let (a, _, c) = f(...)`: one series per named element of a tuple (`_` ignores one).
    LetTuple {
        names: Vec<Ident>,
        value: ExprId,
        doc: Option<String>,
    },
    /// `feed qqq` (a data feed bound by `--data qqq=FILE`) or `feed daily = resample("1d")`.
    Feed {
        name: Ident,
        value: Option<ExprId>,
        doc: Option<String>,
    },
    Mut {
        name: Ident,
        ty: Option<TypeExpr>,
        value: ExprId,
    },
    Assign {
        name: Ident,
        value: ExprId,
    },
    For {
        var: Ident,
        lo: ExprId,
        hi: ExprId,
        body: Block,
    },
    Expr(ExprId),
    /// Leaves the innermost `for` loop.
    Break,
    /// Goes on with the next iteration of the innermost `for` loop.
    Continue,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FnParam {
    pub name: Ident,
    pub ty: TypeExpr,
    /// `n: int = 14`: the value when a call leaves the parameter out (a literal, or for a series
    /// parameter an input such as `close`).
    pub default: Option<ExprId>,
    /// The default as written, for signatures.
    pub default_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FnDef {
    pub name: Ident,
    pub params: Vec<FnParam>,
    pub ret: Option<TypeExpr>,
    /// The element types of a tuple result `-> (series float, series float)` (then `ret` is
    /// `None`); empty for a single result.
    pub rets: Vec<TypeExpr>,
    pub body: Block,
    pub doc: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StrategyDef {
    pub name: Ident,
    pub body: Block,
    pub doc: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Strategy(StrategyDef),
    Fn(FnDef),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Strategy(s) => s.span,
            Item::Fn(f) => f.span,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Ast {
    pub exprs: SlotMap<ExprId, Expr>,
    pub expr_spans: SecondaryMap<ExprId, Span>,
    pub stmts: SlotMap<StmtId, Stmt>,
    pub stmt_spans: SecondaryMap<StmtId, Span>,
    /// Items of every file, in source order, tagged with their file.
    pub items: Vec<(FileId, Item)>,
}

impl Ast {
    pub fn expr(&self, id: ExprId) -> &Expr {
        &self.exprs[id]
    }

    pub fn expr_span(&self, id: ExprId) -> Span {
        self.expr_spans[id]
    }

    pub fn stmt(&self, id: StmtId) -> &Stmt {
        &self.stmts[id]
    }

    pub fn stmt_span(&self, id: StmtId) -> Span {
        self.stmt_spans[id]
    }

    /// Strips parentheses.
    pub fn unparen(&self, mut id: ExprId) -> ExprId {
        while let Expr::Paren(inner) = self.exprs[id] {
            id = inner;
        }
        id
    }

    /// The trailing expression of a block, which is its value.
    pub fn block_value(&self, block: &Block) -> Option<ExprId> {
        match block.stmts.last().map(|s| &self.stmts[*s]) {
            Some(Stmt::Expr(e)) => Some(*e),
            _ => None,
        }
    }
}
