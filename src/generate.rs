//! Seeded generators of test inputs: random token soup, mutations of programs, and random
//! *valid* strategies.
//!
//! Contract: every function is pure and deterministic (the same arguments give the same text on
//! every platform and run) and never calls the compiler. [`token_soup`] and [`mutate`] produce
//! arbitrary, mostly invalid text (stray and non-ASCII characters, unbalanced brackets, huge
//! numbers, unterminated strings) for robustness tests: on such text the compiler must return
//! diagnostics, never panic or hang. [`valid_program`] produces a strategy of 5 to 60 lines that
//! compiles with zero error diagnostics (warnings such as W0001 are allowed) under the rules of
//! `docs/language.md`; it stays valid when its params are raised (`--param`), since every bound
//! it relies on is a lower bound. A generated program the compiler rejects is a bug in one of the
//! two. A quarter of them declare another data feed `b` and a weekly timeframe `w`, read them in
//! their contexts and trade `b` (the differential harness generates `b`'s bars). The stdlib
//! functions it calls are read from the embedded stdlib sources (their `int`
//! parameters are given periods in 1..=50), so stdlib signature changes need no change here.
//! The randomness is [`Rng`], a SplitMix64 generator; no external crates.

/// A small seeded pseudo-random generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// A number in `lo..=hi` (`lo` when `hi < lo`).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
        }
    }

    /// True with the given probability in percent.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

// ---------------------------------------------------------------------------------------------
// Token soup and mutation
// ---------------------------------------------------------------------------------------------

/// Tokens, near-tokens and fragments of btl.
const SOUP: &[&str] = &[
    // keywords and type names
    "strategy",
    "fn",
    "param",
    "let",
    "mut",
    "if",
    "else",
    "for",
    "in",
    "and",
    "or",
    "not",
    "true",
    "false",
    "series",
    "int",
    "float",
    "bool",
    "string",
    // names the language knows
    "close",
    "open",
    "high",
    "low",
    "volume",
    "time",
    "bar_index",
    "position",
    "cash",
    "equity",
    "entry_price",
    "sma",
    "ema",
    "rma",
    "wma",
    "highest",
    "lowest",
    "stdev",
    "rsi",
    "crossover",
    "crossunder",
    "atr",
    "true_range",
    "macd_line",
    "macd_hist",
    "stoch_d",
    "bb_upper",
    "na",
    "nz",
    "valid",
    "abs",
    "min",
    "max",
    "sqrt",
    "log",
    "exp",
    "pow",
    "floor",
    "ceil",
    "round",
    "buy",
    "sell",
    "close_position",
    "plot",
    // other names
    "x",
    "y",
    "e",
    "n",
    "fast",
    "slow",
    "_",
    "__",
    "a1",
    "src",
    "i",
    // numbers
    "0",
    "1",
    "2",
    "10",
    "50",
    "0.5",
    "1e-3",
    "2.5e10",
    "99999999999999999999",
    "1e400",
    "1e-400",
    "9007199254740993",
    "9007199254740992",
    "1_000",
    "1__0",
    "1.",
    ".5",
    "1e",
    "0x10",
    "007",
    "1.5.5",
    "1000001",
    "4294967296",
    "-1",
    // strings and comments
    "\"fast\"",
    "\"\"",
    "\"unterminated",
    "\"é→\"",
    "// comment",
    "/// doc",
    "//",
    "////",
    "/// é → \u{2212}",
    // punctuation
    "\n",
    "\n",
    "\n",
    ";",
    "{",
    "}",
    "{",
    "}",
    "(",
    ")",
    "(",
    ")",
    "[",
    "]",
    "[",
    "]",
    ",",
    ":",
    "->",
    "..",
    "...",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "=>",
    "<-",
    // stray characters
    "@",
    "#",
    "$",
    "&",
    "|",
    "!",
    "'",
    "`",
    "?",
    "\\",
    "~",
    "^",
    "é",
    "→",
    "\u{2212}",
    "\u{0}",
    "\u{feff}",
    "\u{1F600}",
    "\t",
    "\r\n",
    "\r",
    // fragments
    "strategy s {",
    "fn f(x: series float, n: int) -> series float {",
    "for i in 0..",
    "x[",
    "[1]",
    "[0]",
    "[-1]",
    "[n]",
    "let x = ",
    "let e = nz(e[1]) + ",
    "param n: int = ",
    "if close > open {",
    "} else {",
    "} else if",
    "sma(close, ",
    "buy(1)",
    "close_position()",
    "plot(x, \"x\")",
    "mut acc = 0.0",
    "acc = acc + ",
    "-> series bool",
    ": series int",
];

const SPACES: &[&str] = &[
    "", " ", " ", " ", " ", "  ", "\n", "\n", "\t", "\r\n", "    ",
];

fn random_number(rng: &mut Rng) -> String {
    let mut s = String::new();
    let digits = 1 + rng.below(24);
    for i in 0..digits {
        let d = rng.below(10) as u8;
        s.push(char::from(
            b'0' + if i == 0 && digits > 1 { d.max(1) } else { d },
        ));
        if rng.chance(3) {
            s.push('_');
        }
    }
    if rng.chance(30) {
        s.push('.');
        for _ in 0..rng.below(6) {
            s.push(char::from(b'0' + rng.below(10) as u8));
        }
    }
    if rng.chance(25) {
        s.push(*rng.pick(&['e', 'E']));
        if rng.chance(50) {
            s.push(*rng.pick(&['+', '-']));
        }
        s.push_str(&rng.range(0, 500).to_string());
    }
    s
}

fn random_ident(rng: &mut Rng) -> String {
    const FIRST: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
    const REST: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
    let mut s = String::new();
    s.push(char::from(*rng.pick(FIRST)));
    for _ in 0..rng.below(8) {
        s.push(char::from(*rng.pick(REST)));
    }
    s
}

fn soup_piece(rng: &mut Rng) -> String {
    match rng.below(10) {
        0..=6 => rng.pick(SOUP).to_string(),
        7 => random_number(rng),
        8 => random_ident(rng),
        _ => {
            // a random character, mostly from the first planes
            let c = match rng.below(3) {
                0 => char::from_u32(rng.range(0x20, 0x7e) as u32),
                1 => char::from_u32(rng.range(0x80, 0x2FFF) as u32),
                _ => char::from_u32(rng.range(0, 0x10FFFF) as u32),
            };
            c.unwrap_or('\u{FFFD}').to_string()
        }
    }
}

/// A random stream of `len` btl tokens and near-tokens joined by random whitespace; for some
/// seeds it is wrapped in `strategy s { ... }` or a `fn` so that it reaches the checker.
pub fn token_soup(seed: u64, len: usize) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::new();
    let wrap = rng.below(4);
    match wrap {
        1 => out.push_str("strategy s {\n"),
        2 => out.push_str("fn f(x: series float, n: int) -> series float {\n"),
        _ => {}
    }
    for _ in 0..len {
        out.push_str(&soup_piece(&mut rng));
        out.push_str(SPACES[rng.below(SPACES.len())]);
    }
    match wrap {
        1 => out.push_str("\n}\n"),
        2 => out.push_str("\n}\nstrategy s { plot(f(close, 3)) }\n"),
        _ => {}
    }
    out
}

/// Splits text into tokens the way a person sees them: runs of whitespace, comments, strings
/// (to the closing quote or the end of the line), words and numbers, two-character operators
/// and single characters. Concatenating the pieces gives the text back.
fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let c = text[i..].chars().next().unwrap_or(' ');
        let len = if c.is_whitespace() {
            text[i..]
                .find(|c: char| !c.is_whitespace())
                .unwrap_or(text.len() - i)
        } else if text[i..].starts_with("//") {
            text[i..].find('\n').unwrap_or(text.len() - i)
        } else if c == '"' {
            match text[i + 1..].find(['"', '\n']) {
                Some(j) if b[i + 1 + j] == b'"' => j + 2,
                Some(j) => j + 1,
                None => text.len() - i,
            }
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let mut j = i;
            while j < text.len()
                && (b[j].is_ascii_alphanumeric()
                    || b[j] == b'_'
                    || (b[j] == b'.'
                        && b[i].is_ascii_digit()
                        && b.get(j + 1).is_some_and(u8::is_ascii_digit)))
            {
                j += 1;
            }
            j - i
        } else if ["->", "..", "==", "!=", "<=", ">="]
            .iter()
            .any(|op| text[i..].starts_with(op))
        {
            2
        } else {
            c.len_utf8()
        };
        out.push(&text[i..i + len.max(1)]);
        i += len.max(1);
    }
    out
}

const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "1000000",
    "1000001",
    "99999999999999999999",
    "1e400",
    "9007199254740993",
    "9007199254740992",
    "4294967296",
    "2147483648",
    "1.5",
    "na",
    "-0",
    "1e20",
    "3e19",
    "1e300",
    "-1e300",
    "(9007199254740992 * 1024)",
    "(0 - 9007199254740992 * 1024)",
    "(1e308 * 10)",
    "(0 - 1e308 * 10)",
];

/// A copy of `program` with one to five random edits: a token deleted, duplicated, swapped with
/// another, replaced (by a soup token, an extreme number or another name of the program), a
/// soup token inserted, or every number literal replaced by an extreme value (`1e20`, `-1e300`,
/// `(9007199254740992 * 1024)`, ...).
pub fn mutate(seed: u64, program: &str) -> String {
    let mut rng = Rng::new(seed);
    let mut toks: Vec<String> = pieces(program).into_iter().map(String::from).collect();
    let words: Vec<String> = toks
        .iter()
        .filter(|t| t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
        .cloned()
        .collect();
    let edits = 1 + rng.below(5);
    for _ in 0..edits {
        if toks.is_empty() {
            toks.push(soup_piece(&mut rng));
            continue;
        }
        // Prefer tokens that are not whitespace.
        let mut i = rng.below(toks.len());
        for _ in 0..4 {
            if !toks[i].trim().is_empty() {
                break;
            }
            i = rng.below(toks.len());
        }
        match rng.below(10) {
            0 | 1 => {
                toks.remove(i);
            }
            8 | 9 => {
                for t in toks.iter_mut() {
                    if t.starts_with(|c: char| c.is_ascii_digit()) && rng.chance(70) {
                        *t = rng.pick(EXTREMES).to_string();
                    }
                }
            }
            2 => {
                let t = toks[i].clone();
                toks.insert(i, t);
            }
            3 => {
                let j = rng.below(toks.len());
                toks.swap(i, j);
            }
            4 => toks[i] = soup_piece(&mut rng),
            5 => {
                if toks[i].starts_with(|c: char| c.is_ascii_digit()) || rng.chance(30) {
                    toks[i] = rng.pick(EXTREMES).to_string();
                } else {
                    toks[i] = soup_piece(&mut rng);
                }
            }
            6 => {
                if !words.is_empty() {
                    toks[i] = rng.pick(&words).clone();
                }
            }
            _ => {
                let p = soup_piece(&mut rng);
                toks.insert(i, p);
            }
        }
    }
    toks.concat()
}

// ---------------------------------------------------------------------------------------------
// Valid programs
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Int,
    Float,
    Bool,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Int => "int",
            Ty::Float => "float",
            Ty::Bool => "bool",
        }
    }
}

/// What the generator knows about a name. Invariant: the name's actual type fits `Var::ty`
/// (an `int` may stand where a `float` was planned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A `let`, a built-in input or a `series` fn parameter: it has a history, and may be indexed
    /// inside a loop.
    Series,
    /// An int `let` whose values the compiler can prove to lie in `lo..=hi`: usable as an index.
    Bounded(i64, i64),
    /// A compile-time value (a param, a scalar fn parameter, a constant `let`); ints lie in
    /// `lo..=hi`.
    Konst(i64, i64),
    /// A `mut` local: no history.
    Mut,
    /// A loop variable taking values in `lo..=hi`: no history.
    Loop(i64, i64),
}

#[derive(Debug, Clone)]
struct Var {
    name: String,
    ty: Ty,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PKind {
    Series(Ty),
    /// `n: int`, a compile-time period in 1..=FN_PERIOD_MAX.
    Period,
    /// `k: float`, a compile-time float.
    KFloat,
}

const FN_PERIOD_MAX: i64 = 30;

#[derive(Debug, Clone)]
struct FnSig {
    name: String,
    params: Vec<PKind>,
    ret: Ty,
    stateful: bool,
    calls: usize,
}

/// The stdlib functions the generator can call, read from the embedded stdlib sources: those
/// whose parameters are `series` values, `int` (given a period in 1..=50) or `float` (given a
/// compile-time float), and whose result is a value.
fn stdlib_fns() -> Vec<FnSig> {
    let mut out: Vec<FnSig> = Vec::new();
    for (_, text) in crate::stdlib::FILES {
        for line in text.lines() {
            let Some(sig) = line.strip_prefix("fn ").and_then(parse_signature) else {
                continue;
            };
            out.retain(|f| f.name != sig.name);
            out.push(sig);
        }
    }
    out
}

fn parse_type(t: &str) -> Option<(bool, Ty)> {
    let t = t.trim();
    let (series, base) = match t.strip_prefix("series ") {
        Some(b) => (true, b.trim()),
        None => (false, t),
    };
    let ty = match base {
        "int" => Ty::Int,
        "float" => Ty::Float,
        "bool" => Ty::Bool,
        _ => return None,
    };
    Some((series, ty))
}

/// `name(a: series float, n: int) -> series float {` (after `fn `).
fn parse_signature(rest: &str) -> Option<FnSig> {
    let (name, rest) = rest.split_once('(')?;
    let (params, rest) = rest.split_once(')')?;
    let mut kinds = Vec::new();
    for p in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (_, t) = p.split_once(':')?;
        // `n: int = 14`: the type before the default.
        let t = t.split('=').next()?;
        kinds.push(match parse_type(t)? {
            (true, ty) => PKind::Series(ty),
            (false, Ty::Int) => PKind::Period,
            (false, Ty::Float) => PKind::KFloat,
            (false, Ty::Bool) => return None,
        });
    }
    let ret = rest.split_once("->")?.1.split('{').next()?;
    Some(FnSig {
        name: name.trim().to_string(),
        params: kinds,
        ret: parse_type(ret)?.1,
        stateful: true,
        calls: 0,
    })
}

/// The order names generated programs use.
const ORDER_NAMES: [&str; 3] = ["entry", "stop", "exit"];

const INPUTS: &[(&str, Ty, u64)] = &[
    ("close", Ty::Float, 40),
    ("open", Ty::Float, 12),
    ("high", Ty::Float, 12),
    ("low", Ty::Float, 12),
    ("volume", Ty::Float, 6),
    ("position", Ty::Float, 3),
    ("equity", Ty::Float, 3),
    ("cash", Ty::Float, 2),
    ("entry_price", Ty::Float, 2),
    ("bar_index", Ty::Int, 8),
    ("time", Ty::Int, 2),
];

/// User definitions of stdlib functions, with the stdlib's signatures: they shadow the stdlib's
/// (also inside the stdlib's own functions, which call them).
const SHADOWS: &[&str] = &[
    "fn change(src: series float) -> series float {\n    src - nz(src[1], src)\n}",
    "fn mom(src: series float, n: int) -> series float { src - src[n] }",
    "fn crossover(a: series float, b: series float) -> series bool {\n    a > b and not (a[1] > b[1])\n}",
    "fn highest(src: series float, n: int) -> series float {\n    mut m = src\n    for i in 0..n {\n        m = max(m, src[i])\n    }\n    m\n}",
    "/// A slow simple average.\nfn sma(src: series float, n: int) -> series float {\n    mut t = 0.0\n    for i in 0..n {\n        t = t + src[i]\n    }\n    t / n\n}",
    "fn true_range() -> series float { high - low }",
];

struct Gen {
    rng: Rng,
    /// Callable stdlib functions.
    stdlib: Vec<FnSig>,
    scopes: Vec<Vec<Var>>,
    fns: Vec<FnSig>,
    next_id: usize,
    in_fn: bool,
    /// Inside a function that must stay free of state (no `let`, history or stateful calls).
    pure: bool,
    loop_depth: usize,
    /// The `let` being defined: it may read its own past (index 1 or more).
    defining: Option<(String, Ty)>,
    /// Inside the base of a history read: `mut` locals and loop variables have no history.
    no_mut: usize,
    lines: Vec<String>,
    indent: usize,
    actions: usize,
    plots: usize,
}

/// Removes one pair of parentheses around the whole of `s` (not around an `if` expression).
fn strip(s: String) -> String {
    if !(s.starts_with('(') && s.ends_with(')')) || s.starts_with("(if ") {
        return s;
    }
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 && i + 1 != s.len() {
                    return s;
                }
            }
            _ => {}
        }
    }
    s[1..s.len() - 1].to_string()
}

impl Gen {
    fn new(seed: u64) -> Gen {
        Gen {
            rng: Rng::new(seed ^ 0xB7E1_5162_8AED_2A6B),
            stdlib: stdlib_fns(),
            scopes: vec![Vec::new()],
            fns: Vec::new(),
            next_id: 0,
            in_fn: false,
            pure: false,
            loop_depth: 0,
            defining: None,
            no_mut: 0,
            lines: Vec::new(),
            indent: 0,
            actions: 0,
            plots: 0,
        }
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

    fn line(&mut self, s: impl AsRef<str>) {
        let pad = "    ".repeat(self.indent);
        for l in s.as_ref().split('\n') {
            self.lines.push(format!("{pad}{l}"));
        }
    }

    fn declare(&mut self, name: &str, ty: Ty, kind: Kind) {
        let v = Var {
            name: name.to_string(),
            ty,
            kind,
        };
        if let Some(s) = self.scopes.last_mut() {
            s.push(v);
        }
    }

    fn visible(&self, f: impl Fn(&Var) -> bool) -> Vec<Var> {
        let no_mut = self.no_mut > 0;
        self.scopes
            .iter()
            .flatten()
            .filter(|v| !(no_mut && matches!(v.kind, Kind::Mut | Kind::Loop(..))))
            .filter(|v| f(v))
            .cloned()
            .collect()
    }

    /// Whether calls of functions with state are allowed here.
    fn stateful_ok(&self) -> bool {
        !self.pure && self.loop_depth == 0
    }

    fn input(&mut self, ty: Ty) -> String {
        let total: u64 = INPUTS
            .iter()
            .filter(|i| ty == Ty::Float || i.1 == ty)
            .map(|i| i.2)
            .sum();
        let mut r = self.rng.next_u64() % total.max(1);
        for &(name, t, w) in INPUTS {
            if ty == Ty::Float || t == ty {
                if r < w {
                    return name.to_string();
                }
                r -= w;
            }
        }
        "close".to_string()
    }

    fn float_lit(&mut self) -> String {
        let v = *self.rng.pick(&[
            "0.5", "1.0", "2.0", "0.1", "1.5", "100.0", "0.9", "3.25", "1e-3", "2.5e1", "0.0",
        ]);
        v.to_string()
    }

    // --- expressions: every result is an atom (name, literal, call, index or parenthesized) ---

    fn expr(&mut self, ty: Ty, d: u32) -> String {
        match ty {
            Ty::Int => self.int(d),
            Ty::Float => self.float(d),
            Ty::Bool => self.boolean(d),
        }
    }

    fn any(&mut self, d: u32) -> String {
        let ty = *self.rng.pick(&[Ty::Float, Ty::Float, Ty::Int, Ty::Bool]);
        self.expr(ty, d)
    }

    fn num(&mut self, d: u32) -> String {
        if self.rng.chance(75) {
            self.float(d)
        } else {
            self.int(d)
        }
    }

    fn leaf(&mut self, ty: Ty) -> String {
        // The value being defined, in the past.
        if let Some((name, dty)) = self.defining.clone() {
            let fits = dty == ty || (ty == Ty::Float && dty == Ty::Int);
            if fits && !self.pure && self.rng.chance(25) {
                let k = self.index(1);
                return format!("{name}[{}]", strip(k));
            }
        }
        let vars = self.visible(|v| v.ty == ty || (ty == Ty::Float && v.ty == Ty::Int));
        let r = self.rng.below(10);
        if !vars.is_empty() && r < 5 {
            return self.rng.pick(&vars).name.clone();
        }
        match ty {
            Ty::Float => match r {
                5 if self.rng.chance(15) => {
                    let f = self.rng.pick(&["fill_price", "fill_qty"]);
                    format!("nz({f}(\"{}\"), close)", self.rng.pick(&ORDER_NAMES))
                }
                5..=7 => self.input(Ty::Float),
                8 => self.float_lit(),
                _ => self.rng.range(0, 100).to_string(),
            },
            Ty::Int => match r {
                5..=7 => self.rng.range(0, 100).to_string(),
                8 => self.input(Ty::Int),
                _ => format!("(-{})", self.rng.range(1, 9)),
            },
            Ty::Bool => match r {
                5 if self.rng.chance(30) => {
                    format!("filled(\"{}\")", self.rng.pick(&ORDER_NAMES))
                }
                5..=6 => "true".to_string(),
                7..=8 => "false".to_string(),
                _ => {
                    let a = self.input(Ty::Float);
                    let b = self.input(Ty::Float);
                    format!("({a} > {b})")
                }
            },
        }
    }

    fn float(&mut self, d: u32) -> String {
        if d == 0 || self.rng.chance(25) {
            return self.leaf(Ty::Float);
        }
        match self.rng.below(14) {
            0..=2 => {
                let a = self.num(d - 1);
                let b = self.num(d - 1);
                let op = *self
                    .rng
                    .pick(&["+", "-", "*", "/", "+", "-", "*", "/", "%"]);
                format!("({a} {op} {b})")
            }
            3 => format!("(-{})", self.float(d - 1)),
            4 => self.math(d),
            5 => {
                let a = strip(self.num(d - 1));
                if self.rng.chance(50) {
                    format!("nz({a})")
                } else {
                    let b = strip(self.num(d - 1));
                    format!("nz({a}, {b})")
                }
            }
            6 => self.if_expr(Ty::Float, d),
            7 | 8 => self
                .history(Ty::Float, d)
                .unwrap_or_else(|| self.leaf(Ty::Float)),
            9..=11 if self.stateful_ok() => self
                .stdlib_call(Ty::Float, d)
                .unwrap_or_else(|| self.leaf(Ty::Float)),
            12 => self
                .user_call(Ty::Float, d)
                .unwrap_or_else(|| self.leaf(Ty::Float)),
            13 => self.int(d - 1),
            _ => self.leaf(Ty::Float),
        }
    }

    fn math(&mut self, d: u32) -> String {
        let a = strip(self.num(d - 1));
        match self.rng.below(8) {
            0 => format!("abs({a})"),
            1 => format!("min({a}, {})", strip(self.num(d - 1))),
            2 => format!("max({a}, {})", strip(self.num(d - 1))),
            3 => format!("sqrt(abs({a}))"),
            4 => format!("log({a})"),
            5 => format!("exp(min({a}, 10))"),
            6 => format!("pow({a}, {})", self.rng.range(0, 3)),
            _ => format!("sqrt({a})"),
        }
    }

    fn int(&mut self, d: u32) -> String {
        if d == 0 || self.rng.chance(30) {
            return self.leaf(Ty::Int);
        }
        match self.rng.below(11) {
            0 | 1 => {
                let a = self.int(d - 1);
                let b = self.int(d - 1);
                let op = *self.rng.pick(&["+", "-", "*"]);
                format!("({a} {op} {b})")
            }
            2 => format!("({} % {})", self.int(d - 1), self.rng.range(2, 9)),
            3 => {
                let f = *self.rng.pick(&["floor", "ceil", "round"]);
                format!("{f}({})", strip(self.num(d - 1)))
            }
            4 => format!("valid({})", strip(self.any(d - 1))),
            5 => {
                let a = strip(self.int(d - 1));
                match self.rng.below(5) {
                    0 => format!("abs({a})"),
                    1 => format!("min({a}, {})", strip(self.int(d - 1))),
                    2 => format!("max({a}, {})", strip(self.int(d - 1))),
                    3 => format!("nz({a})"),
                    _ => format!("nz({a}, {})", strip(self.int(d - 1))),
                }
            }
            6 => self.if_expr(Ty::Int, d),
            7 | 8 => self
                .history(Ty::Int, d)
                .unwrap_or_else(|| self.leaf(Ty::Int)),
            9 => self
                .user_call(Ty::Int, d)
                .unwrap_or_else(|| self.leaf(Ty::Int)),
            _ => format!("(-{})", self.int(d - 1)),
        }
    }

    fn boolean(&mut self, d: u32) -> String {
        if d == 0 || self.rng.chance(20) {
            return self.leaf(Ty::Bool);
        }
        match self.rng.below(13) {
            0..=3 => {
                let a = self.num(d - 1);
                let b = self.num(d - 1);
                let op = *self.rng.pick(&["<", "<=", ">", ">=", "==", "!="]);
                format!("({a} {op} {b})")
            }
            4 | 5 => {
                let a = self.boolean(d - 1);
                let b = self.boolean(d - 1);
                let op = *self.rng.pick(&["and", "or"]);
                format!("({a} {op} {b})")
            }
            6 => format!("(not {})", self.boolean(d - 1)),
            7 => format!("na({})", strip(self.any(d - 1))),
            8 if self.stateful_ok() => self
                .stdlib_call(Ty::Bool, d)
                .unwrap_or_else(|| self.leaf(Ty::Bool)),
            9 => self
                .history(Ty::Bool, d)
                .unwrap_or_else(|| self.leaf(Ty::Bool)),
            10 => self.if_expr(Ty::Bool, d),
            11 => {
                let a = self.boolean(d - 1);
                let b = self.boolean(d - 1);
                let op = *self.rng.pick(&["==", "!="]);
                format!("({a} {op} {b})")
            }
            12 => self
                .user_call(Ty::Bool, d)
                .unwrap_or_else(|| self.leaf(Ty::Bool)),
            _ => self.leaf(Ty::Bool),
        }
    }

    /// A condition the warm-up inference understands: `bar_index >= K`, `na(x)` and the like.
    fn guard(&mut self, d: u32) -> String {
        let k = if self.rng.chance(70) {
            self.rng.range(0, 60).to_string()
        } else {
            self.period(50)
        };
        let op = *self.rng.pick(&[">=", ">", "<", "<="]);
        match self.rng.below(5) {
            0 => format!("bar_index {op} {k}"),
            1 => format!("({k}) {op} bar_index"),
            2 => format!("na({})", strip(self.float(d))),
            3 => format!("not na({})", strip(self.float(d))),
            _ => format!("bar_index {op} {k} and not na({})", strip(self.float(d))),
        }
    }

    fn if_expr(&mut self, ty: Ty, d: u32) -> String {
        let c = if self.rng.chance(25) {
            self.guard(d - 1)
        } else {
            strip(self.boolean(d - 1))
        };
        let a = strip(self.expr(ty, d - 1));
        let b = if self.rng.chance(20) {
            "na".to_string()
        } else {
            strip(self.expr(ty, d - 1))
        };
        match self.rng.below(6) {
            0 => {
                let c2 = strip(self.boolean(d - 1));
                let e = strip(self.expr(ty, d - 1));
                format!("(if {c} {{ {a} }} else if {c2} {{ {b} }} else {{ {e} }})")
            }
            1 if ty == Ty::Float && self.no_mut == 0 => {
                // a block with a statement before its value
                let m = self.fresh("t");
                format!("(if {c} {{ mut {m}: float = {a}; {m} = {m} * 0.5; {m} }} else {{ {b} }})")
            }
            _ => format!("(if {c} {{ {a} }} else {{ {b} }})"),
        }
    }

    /// `x[k]` of a value of type `ty` (an int series for a float).
    fn history(&mut self, ty: Ty, d: u32) -> Option<String> {
        if self.pure {
            return None;
        }
        if let Some((name, dty)) = self.defining.clone() {
            let fits = dty == ty || (ty == Ty::Float && dty == Ty::Int);
            if fits && self.rng.chance(40) {
                let k = self.index(1);
                return Some(format!("{name}[{}]", strip(k)));
            }
        }
        if self.loop_depth == 0 && self.rng.chance(30) {
            // History of a computed expression.
            self.no_mut += 1;
            let base = self.expr(ty, d - 1);
            self.no_mut -= 1;
            let k = self.index(0);
            return Some(format!("{base}[{}]", strip(k)));
        }
        let mut named = self.visible(|v| {
            (v.ty == ty || (ty == Ty::Float && v.ty == Ty::Int))
                && matches!(v.kind, Kind::Series | Kind::Bounded(..))
        });
        if ty != Ty::Bool {
            for _ in 0..2 {
                let name = self.input(ty);
                let ity = if name == "bar_index" || name == "time" {
                    Ty::Int
                } else {
                    Ty::Float
                };
                named.push(Var {
                    name,
                    ty: ity,
                    kind: Kind::Series,
                });
            }
        }
        if named.is_empty() {
            return None;
        }
        let base = self.rng.pick(&named).name.clone();
        let k = self.index(0);
        Some(format!("{base}[{}]", strip(k)))
    }

    /// An int expression whose interval the compiler proves to lie in `min..=~80`.
    fn index(&mut self, min: i64) -> String {
        let in_loop = self.loop_depth > 0 && self.rng.chance(60);
        for attempt in 0..8 {
            let choice = if in_loop && attempt == 0 {
                4
            } else {
                self.rng.below(10)
            };
            match choice {
                0..=2 => return self.rng.range(min, min + 4).to_string(),
                3 => {
                    let ks = self.visible(|v| {
                        v.ty == Ty::Int
                            && matches!(v.kind, Kind::Konst(lo, hi) if lo >= min && hi <= 60)
                    });
                    if !ks.is_empty() {
                        let v = self.rng.pick(&ks).clone();
                        let Kind::Konst(lo, _) = v.kind else { continue };
                        if lo > min && self.rng.chance(50) {
                            return format!("({} - {})", v.name, self.rng.range(1, lo - min));
                        }
                        return v.name;
                    }
                }
                4 | 5 => {
                    let ls = self.visible(|v| matches!(v.kind, Kind::Loop(..)));
                    if !ls.is_empty() {
                        let v = self.rng.pick(&ls).clone();
                        let Kind::Loop(lo, _) = v.kind else { continue };
                        if lo >= min && self.rng.chance(60) {
                            return v.name;
                        }
                        let c = (min - lo).max(0) + self.rng.range(0, 2);
                        return format!("({} + {c})", v.name);
                    }
                }
                6 => {
                    let k = self.rng.range(1, 40);
                    return if min == 0 {
                        format!("min(bar_index, {k})")
                    } else {
                        format!("(min(bar_index, {k}) + {min})")
                    };
                }
                7 => {
                    let k = self.rng.range(1, 30);
                    if min == 0 && self.rng.chance(50) {
                        return format!("(bar_index % {k})");
                    }
                    let f = strip(self.float(1));
                    return format!("max(min(round({f}), {k}), {min})");
                }
                8 => {
                    let k = self.rng.range(1, 30);
                    let f = strip(self.num(1));
                    let r = *self.rng.pick(&["round", "floor", "ceil"]);
                    return if min == 0 {
                        format!("min(abs({r}({f})), {k})")
                    } else {
                        format!("(min(abs({r}({f})), {k}) + {min})")
                    };
                }
                _ => {
                    let bs = self.visible(|v| matches!(v.kind, Kind::Bounded(lo, _) if lo >= min));
                    if !bs.is_empty() {
                        return self.rng.pick(&bs).name.clone();
                    }
                }
            }
        }
        min.to_string()
    }

    /// A compile-time int in `1..=max`: a literal, a param, or arithmetic of those.
    fn period(&mut self, max: i64) -> String {
        let ks =
            self.visible(|v| v.ty == Ty::Int && matches!(v.kind, Kind::Konst(lo, _) if lo >= 1));
        if ks.is_empty() || self.rng.chance(40) {
            return self.rng.range(1, max.min(20)).to_string();
        }
        let v = self.rng.pick(&ks).clone();
        let Kind::Konst(lo, hi) = v.kind else {
            return "1".to_string();
        };
        let n = v.name;
        match self.rng.below(5) {
            0 if hi <= max => n,
            1 if hi < max => {
                let c = self.rng.range(1, (max - hi).min(5));
                format!("{n} + {c}")
            }
            2 if hi <= max => {
                let c = self.rng.range(1, 5);
                format!("max({n} - {c}, 1)")
            }
            3 if hi * 2 <= max && lo >= 1 => format!("{n} * 2"),
            _ => format!("min({n}, {})", self.rng.range(1, max)),
        }
    }

    /// A compile-time float.
    fn kfloat(&mut self) -> String {
        let ks = self.visible(|v| v.ty != Ty::Bool && matches!(v.kind, Kind::Konst(..)));
        if !ks.is_empty() && self.rng.chance(50) {
            let n = self.rng.pick(&ks).name.clone();
            return if self.rng.chance(50) {
                n
            } else {
                format!("{n} * 0.5")
            };
        }
        self.rng
            .pick(&["2.0", "1.5", "2", "0.5", "1e0"])
            .to_string()
    }

    /// A call of a stdlib function returning `ret` (int parameters get periods in 1..=50).
    fn stdlib_call(&mut self, ret: Ty, d: u32) -> Option<String> {
        let sub = d.saturating_sub(2);
        let cands: Vec<usize> = (0..self.stdlib.len())
            .filter(|&i| self.stdlib[i].ret == ret)
            .collect();
        if cands.is_empty() {
            return None;
        }
        // The common averages a little more often.
        let mut f = self.stdlib[*self.rng.pick(&cands)].clone();
        if ret == Ty::Float
            && self.rng.chance(25)
            && let Some(g) = self
                .stdlib
                .iter()
                .find(|g| g.name == "sma" || g.name == "ema")
        {
            f = g.clone();
        }
        let mut args = Vec::new();
        for p in &f.params {
            args.push(match *p {
                PKind::Series(t) => strip(self.expr(t, sub)),
                PKind::Period => self.period(50),
                PKind::KFloat => self.kfloat(),
            });
        }
        Some(format!("{}({})", f.name, args.join(", ")))
    }

    fn user_call(&mut self, ret: Ty, d: u32) -> Option<String> {
        let ok = self.stateful_ok();
        let cands: Vec<FnSig> = self
            .fns
            .iter()
            .filter(|f| {
                (f.ret == ret || (ret == Ty::Float && f.ret == Ty::Int)) && (ok || !f.stateful)
            })
            .filter(|f| !(self.pure && f.stateful))
            .cloned()
            .collect();
        if cands.is_empty() {
            return None;
        }
        let f = self.rng.pick(&cands).clone();
        if let Some(g) = self.fns.iter_mut().find(|g| g.name == f.name) {
            g.calls += 1;
        }
        self.call_args(&f, d)
    }

    fn call_args(&mut self, f: &FnSig, d: u32) -> Option<String> {
        let mut args = Vec::new();
        for p in &f.params {
            args.push(match *p {
                PKind::Series(t) => strip(self.expr(t, d.saturating_sub(2))),
                PKind::Period => self.period(FN_PERIOD_MAX),
                PKind::KFloat => self.kfloat(),
            });
        }
        Some(format!("{}({})", f.name, args.join(", ")))
    }

    // --- statements ---

    fn doc(&mut self) {
        if self.rng.chance(12) {
            let text = *self.rng.pick(&[
                "/// A value of the strategy.",
                "/// Prix moyen → é (a doc comment with non-ASCII text).",
                "///",
                "/// Two\n/// lines.",
            ]);
            self.line(text);
        }
    }

    fn comment(&mut self) {
        if self.rng.chance(8) {
            let text = *self.rng.pick(&[
                "// a comment",
                "// é → \u{2212} non-ASCII in a comment",
                "//",
                "//// four slashes",
            ]);
            self.line(text);
        }
    }

    fn trailing_comment(&mut self) -> &'static str {
        if self.rng.chance(6) {
            const TRAILING: [&str; 3] = [" // note", " // é→", " /// not a doc"];
            TRAILING[self.rng.below(TRAILING.len())]
        } else {
            ""
        }
    }

    fn let_stmt(&mut self, depth: u32) {
        let ty = *self.rng.pick(&[
            Ty::Float,
            Ty::Float,
            Ty::Float,
            Ty::Float,
            Ty::Int,
            Ty::Bool,
            Ty::Bool,
        ]);
        let name = self.fresh("v");
        let self_ref = self.rng.chance(25);
        let value = if self_ref && self.rng.chance(50) {
            let x = strip(self.float(depth.saturating_sub(1)));
            match ty {
                Ty::Float => match self.rng.below(3) {
                    0 => format!("nz({name}[1]) * 0.9 + {x}"),
                    1 => format!(
                        "if na({name}[1]) {{ {x} }} else {{ {name}[1] + ({x} - {name}[1]) * 0.1 }}"
                    ),
                    _ => format!("nz({name}[1], {x}) * 0.5 + close * 0.5"),
                },
                Ty::Int => match self.rng.below(2) {
                    0 => format!("if na({name}[1]) {{ 0 }} else {{ {name}[1] + 1 }}"),
                    _ => format!("nz({name}[1]) + valid({x})"),
                },
                Ty::Bool => {
                    let c = strip(self.boolean(1));
                    format!("if na({name}[1]) {{ {c} }} else {{ not {name}[1] }}")
                }
            }
        } else {
            if self_ref {
                self.defining = Some((name.clone(), ty));
            }
            let v = strip(self.expr(ty, depth));
            self.defining = None;
            v
        };
        let annotate = (self_ref && ty != Ty::Float) || self.rng.chance(15);
        let ann = if annotate {
            format!(": {}", ty.name())
        } else {
            String::new()
        };
        self.doc();
        let tc = self.trailing_comment();
        self.line(format!("let {name}{ann} = {value}{tc}"));
        self.declare(&name, ty, Kind::Series);
    }

    /// A `let` whose value is broken over two lines after or before a binary operator.
    fn multiline_let(&mut self) {
        let name = self.fresh("v");
        if self.rng.chance(60) {
            let a = self.num(2);
            let b = self.num(2);
            let op = *self.rng.pick(&["+", "*", "/", "-", "%"]);
            let text = if op != "-" && self.rng.chance(50) {
                format!("let {name} = {a}\n    {op} {b}")
            } else {
                format!("let {name} = {a} {op}\n    {b}")
            };
            self.line(text);
            self.declare(&name, Ty::Float, Kind::Series);
        } else {
            let a = self.boolean(2);
            let b = self.boolean(2);
            let op = *self.rng.pick(&["and", "or", "==", "!="]);
            let text = if self.rng.chance(50) {
                format!("let {name} = {a}\n    {op} {b}")
            } else {
                format!("let {name} = {a} {op}\n    {b}")
            };
            self.line(text);
            self.declare(&name, Ty::Bool, Kind::Series);
        }
    }

    /// A constant `let`: arithmetic of params and literals.
    fn konst_let(&mut self) {
        let name = self.fresh("k");
        let ks =
            self.visible(|v| v.ty == Ty::Int && matches!(v.kind, Kind::Konst(lo, _) if lo >= 1));
        if !ks.is_empty() && self.rng.chance(70) {
            let v = self.rng.pick(&ks).clone();
            let Kind::Konst(lo, hi) = v.kind else { return };
            let (text, lo, hi) = match self.rng.below(3) {
                0 => {
                    let c = self.rng.range(0, 5);
                    (format!("{} + {c}", v.name), lo + c, hi + c)
                }
                1 => (format!("{} * 2", v.name), lo * 2, hi * 2),
                _ => {
                    let c = self.rng.range(1, 5);
                    (format!("max({} - {c}, 1)", v.name), 1, hi.max(1))
                }
            };
            self.line(format!("let {name} = {text}"));
            self.declare(&name, Ty::Int, Kind::Konst(lo, hi));
        } else if self.rng.chance(50) {
            let v = self.rng.range(1, 20);
            let c = self.rng.range(0, 5);
            self.line(format!("let {name}: int = {v} + {c}"));
            self.declare(&name, Ty::Int, Kind::Konst(v + c, v + c));
        } else {
            let k = self.kfloat();
            self.line(format!("let {name} = {k} * 1.5"));
            self.declare(&name, Ty::Float, Kind::Konst(0, 0));
        }
    }

    /// An int `let` usable as an index.
    fn bounded_let(&mut self) {
        let name = self.fresh("j");
        let k = self.rng.range(1, 40);
        let (text, lo, hi) = match self.rng.below(4) {
            0 => (format!("min(bar_index, {k})"), 0, k),
            1 => (format!("bar_index % {k}"), 0, k - 1),
            2 => {
                let f = strip(self.float(2));
                (format!("max(min(round({f}), {k}), 1)"), 1, k.max(1))
            }
            _ => {
                let f = strip(self.float(2));
                (format!("min(abs(floor({f})), {k})"), 0, k)
            }
        };
        self.line(format!("let {name} = {text}"));
        self.declare(&name, Ty::Int, Kind::Bounded(lo, hi));
    }

    /// `mut m = ...` then a bounded `for` loop updating it; returns the mut's name and type.
    fn loop_block(&mut self) -> (String, Ty) {
        let ty = *self
            .rng
            .pick(&[Ty::Float, Ty::Float, Ty::Float, Ty::Int, Ty::Bool]);
        let m = self.fresh("m");
        let init = match ty {
            Ty::Float => match self.rng.below(4) {
                0 => format!("mut {m}: float = {}", strip(self.float(2))),
                1 => format!("mut {m} = 0.0"),
                2 => format!("mut {m} = {} * 1.0", self.float(1)),
                _ => format!("mut {m} = close"),
            },
            Ty::Int => format!("mut {m} = {}", strip(self.int(2))),
            Ty::Bool => {
                if self.rng.chance(50) {
                    format!("mut {m} = false")
                } else {
                    format!("mut {m}: bool = {}", strip(self.boolean(2)))
                }
            }
        };
        self.line(init);
        self.declare(&m, ty, Kind::Mut);
        self.for_loop(&m, ty, 0);
        (m, ty)
    }

    fn for_loop(&mut self, m: &str, ty: Ty, nest: usize) {
        let i = self.fresh("i");
        let (lo, hi_text, hi) = if self.rng.chance(70) {
            let p = self.period(40);
            (0, p, 39)
        } else if self.rng.chance(50) {
            let p = self.period(40);
            (1, format!("{p} + 1"), 40)
        } else {
            let h = self.rng.range(2, 12);
            (1, h.to_string(), h - 1)
        };
        self.line(format!("for {i} in {lo}..{hi_text} {{"));
        self.indent += 1;
        self.scopes.push(Vec::new());
        self.declare(&i, Ty::Int, Kind::Loop(lo, hi));
        self.loop_depth += 1;
        let n = 1 + self.rng.below(3);
        for _ in 0..n {
            match self.rng.below(11) {
                0..=3 => self.assign(m, ty),
                10 if !self.pure => {
                    // the classic: a sum over the window
                    let h = self
                        .history(Ty::Float, 1)
                        .unwrap_or_else(|| format!("close[{i}]"));
                    match ty {
                        Ty::Float => self.line(format!("{m} = {m} + {h}")),
                        Ty::Int => self.line(format!("{m} = {m} + valid({h})")),
                        Ty::Bool => self.line(format!("{m} = {m} or {h} > close")),
                    }
                }
                4..=6 => {
                    let c = strip(self.boolean(2));
                    self.line(format!("if {c} {{"));
                    self.indent += 1;
                    self.assign(m, ty);
                    self.indent -= 1;
                    self.line("}");
                }
                7 => {
                    let t = self.fresh("t");
                    let v = strip(self.float(2));
                    self.line(format!("mut {t}: float = {v}"));
                    self.declare(&t, Ty::Float, Kind::Mut);
                    if ty == Ty::Float {
                        self.line(format!("{m} = {m} + {t}"));
                    }
                }
                8 if nest == 0 && self.rng.chance(50) => self.for_loop(m, ty, nest + 1),
                8 => {
                    let c = strip(self.boolean(2));
                    let word = self.rng.pick(&["break", "continue"]);
                    self.line(format!("if {c} {{ {word} }}"));
                }
                9 if !self.in_fn && self.rng.chance(30) => {
                    let c = strip(self.boolean(2));
                    self.line(format!("if {c} {{ buy(1) }}"));
                    self.actions += 1;
                }
                _ => self.assign(m, ty),
            }
        }
        self.loop_depth -= 1;
        self.scopes.pop();
        self.indent -= 1;
        self.line("}");
    }

    fn assign(&mut self, m: &str, ty: Ty) {
        let text = match ty {
            Ty::Float => match self.rng.below(4) {
                0 => format!("{m} = {m} + {}", self.float(2)),
                1 => format!("{m} = max({m}, {})", strip(self.float(2))),
                2 => format!("{m} = {m} * 0.5 + {}", self.num(2)),
                _ => format!("{m} = {}", strip(self.num(2))),
            },
            Ty::Int => match self.rng.below(3) {
                0 => format!("{m} = {m} + {}", self.int(2)),
                1 => format!("{m} = {m} + valid({})", strip(self.any(1))),
                _ => format!("{m} = {}", strip(self.int(2))),
            },
            Ty::Bool => match self.rng.below(2) {
                0 => format!("{m} = {m} or {}", self.boolean(2)),
                _ => format!("{m} = {}", strip(self.boolean(2))),
            },
        };
        self.line(text);
    }

    fn action(&mut self) -> String {
        let a = self.unnamed_action();
        if a == "cancel_all()" || !self.rng.chance(30) {
            return a;
        }
        let name = self.rng.pick(&ORDER_NAMES);
        if self.rng.chance(15) {
            return format!("cancel(\"{name}\")");
        }
        // The name is the last argument.
        let head = a.strip_suffix(')').unwrap_or(&a);
        if head.ends_with('(') {
            format!("{head}\"{name}\")")
        } else {
            format!("{head}, \"{name}\")")
        }
    }

    fn unnamed_action(&mut self) -> String {
        self.actions += 1;
        let q = self.qty();
        match self.rng.below(16) {
            0..=2 => format!("buy({q})"),
            3..=5 => format!("sell({q})"),
            6 | 7 => "close_position()".to_string(),
            8 => format!("buy_limit({q}, {}{})", self.price(-1), self.bars()),
            9 => format!("sell_limit({q}, {}{})", self.price(1), self.bars()),
            10 => format!("buy_stop({q}, {}{})", self.price(1), self.bars()),
            11 => format!("sell_stop({q}, {}{})", self.price(-1), self.bars()),
            12 => format!(
                "{}({q}, {}, {}{})",
                self.rng.pick(&["buy_stop_limit", "sell_stop_limit"]),
                self.price(1),
                self.price(-1),
                self.bars()
            ),
            13 => format!(
                "{}({q}, {}{})",
                self.rng.pick(&["buy_trail", "sell_trail"]),
                self.rng.range(1, 10),
                self.bars()
            ),
            14 => format!(
                "{}({q}, {}, {})",
                self.rng.pick(&["buy_bracket", "sell_bracket"]),
                self.price(-1),
                self.price(1)
            ),
            _ => {
                if self.rng.below(2) == 0 {
                    "cancel_all()".to_string()
                } else {
                    format!("sell_trail_pct({q}, {})", self.rng.range(1, 10))
                }
            }
        }
    }

    /// A price near the close, above it (`side` > 0) or below it.
    fn price(&mut self, side: i32) -> String {
        let pct = self.rng.range(1, 8);
        let op = if side > 0 { "+" } else { "-" };
        match self.rng.below(3) {
            0 => format!("close * (1 {op} 0.0{pct})"),
            1 => format!("close {op} {pct}"),
            _ => {
                if side > 0 {
                    format!("high[{}]", self.rng.range(0, 3))
                } else {
                    format!("low[{}]", self.rng.range(0, 3))
                }
            }
        }
    }

    /// An optional validity in bars.
    fn bars(&mut self) -> String {
        match self.rng.below(3) {
            0 => format!(", {}", self.rng.range(1, 10)),
            _ => String::new(),
        }
    }

    fn qty(&mut self) -> String {
        let ks = self.visible(|v| v.ty != Ty::Bool && matches!(v.kind, Kind::Konst(..)));
        match self.rng.below(5) {
            0 if !ks.is_empty() => self.rng.pick(&ks).name.clone(),
            1 => "max(1, floor(equity / close / 10))".to_string(),
            2 => self.float_lit(),
            _ => self.rng.range(1, 100).to_string(),
        }
    }

    fn cond(&mut self) -> String {
        let c = strip(self.boolean(3));
        match self.rng.below(6) {
            0 => format!("position == 0 and {}", self.boolean(2)),
            1 => format!("position > 0 and {}", self.boolean(2)),
            _ => c,
        }
    }

    fn action_if(&mut self) {
        let c = self.cond();
        match self.rng.below(4) {
            0 | 1 => {
                let a = self.action();
                self.line(format!("if {c} {{ {a} }}"));
            }
            2 => {
                let a = self.action();
                let b = self.action();
                self.line(format!("if {c} {{ {a} }} else {{ {b} }}"));
            }
            _ => {
                self.line(format!("if {c} {{"));
                self.indent += 1;
                let a = self.action();
                self.line(a);
                let muts = self.visible(|v| v.kind == Kind::Mut);
                if !muts.is_empty() && self.rng.chance(40) {
                    let v = self.rng.pick(&muts).clone();
                    self.assign(&v.name, v.ty);
                }
                self.indent -= 1;
                if self.rng.chance(60) {
                    let c2 = self.cond();
                    self.line(format!("}} else if {c2} {{"));
                    self.indent += 1;
                    let b = self.action();
                    self.line(b);
                    self.indent -= 1;
                }
                if self.rng.chance(50) {
                    self.line("} else {");
                    self.indent += 1;
                    let b = self.action();
                    self.line(b);
                    self.indent -= 1;
                }
                self.line("}");
            }
        }
    }

    /// `let (a, _, c) = f(...)` of a stdlib function returning a tuple.
    fn tuple_let(&mut self) {
        let (f, n) = match self.rng.below(5) {
            0 => {
                let src = strip(self.float(1));
                let (a, b, c) = (self.period(30), self.period(30), self.period(20));
                (format!("macd({src}, {a}, {b}, {c})"), 3)
            }
            1 => {
                let src = strip(self.float(1));
                (
                    format!("bbands({src}, {}, {})", self.period(40), self.kfloat()),
                    3,
                )
            }
            2 => {
                let (a, b, c) = (self.period(20), self.period(10), self.period(10));
                (format!("stoch({a}, {b}, {c})"), 2)
            }
            3 => (format!("dmi(high, low, close, {})", self.period(30)), 4),
            _ => (format!("dmi(high, low, close, {})", self.period(30)), 4),
        };
        let mut names = Vec::new();
        let mut bound = Vec::new();
        for _ in 0..n {
            if self.rng.chance(35) {
                names.push("_".to_string());
            } else {
                let v = self.fresh("v");
                names.push(v.clone());
                bound.push(v);
            }
        }
        self.line(format!("let ({}) = {f}", names.join(", ")));
        for v in bound {
            self.declare(&v, Ty::Float, Kind::Series);
            if self.rng.chance(50) {
                self.line(format!("plot({v}, \"{v}\")"));
                self.plots += 1;
            }
        }
    }

    /// Two `let`s reading each other: the first reads the second's past, above its definition.
    fn forward_lets(&mut self) {
        let (a, b) = (self.fresh("v"), self.fresh("v"));
        let k = self.rng.range(1, 4);
        let x = strip(self.float(2));
        let seed = if self.rng.chance(50) {
            format!("nz({b}[{k}])")
        } else {
            format!("(if na({b}[{k}]) {{ close }} else {{ {b}[{k}] }})")
        };
        self.line(format!("let {a} = {seed} * 0.5 + {x}"));
        self.declare(&a, Ty::Float, Kind::Series);
        let y = strip(self.float(2));
        self.line(format!("let {b} = {a} * 0.5 + {y}"));
        self.declare(&b, Ty::Float, Kind::Series);
    }

    /// An `if` block holding a `let` (its update is hoisted: it runs on every bar).
    fn if_with_let(&mut self) {
        let c = self.cond();
        self.line(format!("if {c} {{"));
        self.indent += 1;
        self.scopes.push(Vec::new());
        self.let_stmt(2);
        let inner = self.scopes.last().and_then(|s| s.last()).cloned();
        if let Some(v) = inner {
            let act = self.action();
            let cmp = match v.ty {
                Ty::Bool => v.name.clone(),
                _ => format!("{} > close", v.name),
            };
            self.line(format!("if {cmp} {{ {act} }}"));
        }
        self.scopes.pop();
        self.indent -= 1;
        self.line("}");
    }

    fn plot(&mut self) {
        self.plots += 1;
        let x = strip(self.any(2));
        let name = *self
            .rng
            .pick(&["fast", "slow", "signal", "prix → é", "a b", "x"]);
        if self.rng.chance(20) {
            self.line(format!("plot({x})"));
        } else {
            self.line(format!("plot({x}, \"{name}\")"));
        }
    }

    fn params(&mut self) {
        let n = 1 + self.rng.below(4);
        for _ in 0..n {
            let name = self.fresh("p");
            self.doc();
            match self.rng.below(6) {
                0..=2 => {
                    let v = self.rng.range(1, 40);
                    self.line(format!("param {name}: int = {v}"));
                    self.declare(&name, Ty::Int, Kind::Konst(v, v));
                }
                3 | 4 => {
                    let v = *self.rng.pick(&["0.5", "-0.5", "2.0", "100", "1e-2", "-3"]);
                    self.line(format!("param {name}: float = {v}"));
                    self.declare(&name, Ty::Float, Kind::Konst(0, 0));
                }
                _ => {
                    let v = *self.rng.pick(&["true", "false"]);
                    self.line(format!("param {name}: bool = {v}"));
                    self.declare(&name, Ty::Bool, Kind::Konst(0, 0));
                }
            }
        }
    }

    fn function(&mut self, budget: usize) {
        let pure = self.rng.chance(30);
        let name = self.fresh("f");
        let np = 1 + self.rng.below(3);
        let mut params = Vec::new();
        let mut texts = Vec::new();
        self.scopes.push(Vec::new());
        for j in 0..np {
            let pk = if j == 0 {
                PKind::Series(Ty::Float)
            } else {
                match self.rng.below(6) {
                    0 | 1 => PKind::Period,
                    2 => PKind::KFloat,
                    3 => PKind::Series(Ty::Bool),
                    4 => PKind::Series(Ty::Int),
                    _ => PKind::Series(Ty::Float),
                }
            };
            let pn = self.fresh("a");
            let (text, ty, kind) = match pk {
                PKind::Series(t) => (format!("{pn}: series {}", t.name()), t, Kind::Series),
                PKind::Period => (format!("{pn}: int"), Ty::Int, Kind::Konst(1, FN_PERIOD_MAX)),
                PKind::KFloat => (format!("{pn}: float"), Ty::Float, Kind::Konst(0, 0)),
            };
            self.declare(&pn, ty, kind);
            params.push(pk);
            texts.push(text);
        }
        let ret = *self
            .rng
            .pick(&[Ty::Float, Ty::Float, Ty::Float, Ty::Bool, Ty::Int]);
        let ret_text = match self.rng.below(4) {
            0 => format!(" -> series {}", ret.name()),
            1 => format!(" -> {}", ret.name()),
            _ => String::new(),
        };
        self.doc();
        self.line(format!("fn {name}({}){ret_text} {{", texts.join(", ")));
        self.indent += 1;
        self.in_fn = true;
        self.pure = pure;
        let stmts = self.rng.below(budget.min(4) + 1);
        for _ in 0..stmts {
            match self.rng.below(5) {
                0..=2 if !pure => self.let_stmt(2),
                3 => {
                    self.loop_block();
                }
                _ => {
                    if !pure {
                        self.let_stmt(2);
                    }
                }
            }
        }
        let value = strip(self.expr(ret, 3));
        self.line(value);
        self.in_fn = false;
        self.pure = false;
        self.indent -= 1;
        self.line("}");
        self.scopes.pop();
        self.fns.push(FnSig {
            name,
            params,
            ret,
            stateful: !pure,
            calls: 0,
        });
    }

    fn program(&mut self, target: usize) -> String {
        if self.rng.chance(3) {
            // Actions without arguments as the whole body: a program with no register at all.
            let sname = self.fresh("s");
            let a = self.rng.pick(&["close_position()", "cancel(\"stop\")"]);
            return format!(
                "strategy {sname} {{\n    // only actions\n    {a}\n    cancel_all()\n}}\n"
            );
        }
        self.comment();
        if target >= 12 && self.rng.chance(12) {
            // A user fn shadowing a stdlib fn with the same signature.
            // Only while the stdlib still has the function with this very signature.
            let text = *self.rng.pick(SHADOWS);
            let header = text
                .lines()
                .find_map(|l| l.strip_prefix("fn "))
                .and_then(|l| l.split(" {").next())
                .unwrap_or("");
            let same = crate::stdlib::FILES
                .iter()
                .any(|(_, t)| t.lines().any(|l| l.starts_with(&format!("fn {header} {{"))));
            if same {
                self.line(text);
            }
        }
        // Functions first, about a third of the lines at most.
        let nfns = if target >= 14 {
            self.rng.below(1 + (target / 14).min(3))
        } else {
            0
        };
        for _ in 0..nfns {
            let budget = (target.saturating_sub(self.lines.len()) / 4).max(1);
            self.function(budget);
        }
        self.doc();
        let sname = self.fresh("s");
        self.line(format!("strategy {sname} {{"));
        self.indent += 1;
        self.params();
        // A quarter of the programs read another feed and a weekly timeframe (clocks).
        let feeds = self.rng.chance(25);
        if feeds {
            self.line("feed b");
            self.line("feed w = resample(\"1w\")");
        }
        // Reserve: a possible action and plot, and the closing brace.
        while self.lines.len() + 4 < target {
            let room = target - self.lines.len() - 4;
            self.comment();
            match self.rng.below(20) {
                0..=6 => self.let_stmt(3),
                7 if room >= 6 => {
                    let (m, ty) = self.loop_block();
                    if self.rng.chance(60) {
                        let v = self.fresh("v");
                        let val = match ty {
                            Ty::Float | Ty::Int if self.rng.chance(50) => format!("{m} / 2"),
                            _ => m,
                        };
                        self.line(format!("let {v} = {val}"));
                        let vty = if ty == Ty::Int && val.contains('/') {
                            Ty::Float
                        } else {
                            ty
                        };
                        self.declare(&v, vty, Kind::Series);
                    }
                }
                8..=10 => self.action_if(),
                11 | 12 => self.plot(),
                13 if room >= 3 => self.if_with_let(),
                14 => self.multiline_let(),
                15 => self.konst_let(),
                16 => self.bounded_let(),
                18 if self.rng.chance(50) => self.tuple_let(),
                18 => self.forward_lets(),
                19 if self.rng.chance(30) => {
                    // The protective stop of a named entry, placed when it fills.
                    self.line("if filled(\"entry\") { sell_stop(1, fill_price(\"entry\") * 0.97, \"stop\") }");
                    self.actions += 1;
                }
                17 => {
                    // two statements on one line
                    let name = self.fresh("v");
                    let x = strip(self.float(2));
                    self.line(format!("let {name} = {x}; plot({name}, \"{name}\")"));
                    self.declare(&name, Ty::Float, Kind::Series);
                    self.plots += 1;
                }
                _ => self.let_stmt(2),
            }
        }
        let uncalled: Vec<FnSig> = self.fns.iter().filter(|f| f.calls == 0).cloned().collect();
        for f in uncalled {
            let v = self.fresh("v");
            let call = self.call_args(&f, 2).unwrap_or_default();
            if self.rng.chance(50) {
                self.line(format!("let {v} = {call}"));
                self.declare(&v, f.ret, Kind::Series);
            } else {
                self.line(format!("plot({call}, \"{}\")", f.name));
                self.plots += 1;
            }
        }
        if feeds {
            let f = self.fresh("fb");
            let n = self.rng.range(2, 12);
            let ind = *self.rng.pick(&["sma", "ema", "highest", "rsi"]);
            self.line(format!("let {f} = b.{ind}(close, {n})"));
            let g = self.fresh("fw");
            let k = self.rng.range(0, 3);
            self.line(format!("let {g} = w.(close[{k}] - open + bar_index)"));
            let q = self.rng.range(1, 5);
            self.line(format!(
                "if b.position == 0 and {f} > {f}[1] {{ b.buy({q}) }} else if b.position > 0 and {g} < 0 {{ b.close_position() }}"
            ));
            self.line(format!("plot({f} - {g} + close - b.close, \"{f}\")"));
            self.plots += 1;
            self.actions += 1;
        }
        if self.actions == 0 {
            let c = self.cond();
            let a = self.action();
            self.line(format!("if {c} {{ {a} }}"));
        }
        if self.plots == 0 {
            self.plot();
        }
        self.indent -= 1;
        self.line("}");
        let mut out = self.lines.join("\n");
        out.push('\n');
        out
    }
}

/// A random valid strategy of about `lines_hint` lines (clamped to 5..=60; a few constructs
/// span several lines, so the result may be a little shorter or longer, but stays in 5..=60).
pub fn valid_program_size(seed: u64, lines_hint: usize) -> String {
    let mut target = lines_hint.clamp(6, 50);
    let mut text = String::new();
    // A few constructs (nested loops, long if chains) can overshoot: retry smaller.
    for attempt in 0..8u64 {
        text = Gen::new(seed.wrapping_add(attempt.wrapping_mul(0x1000_0000_0001))).program(target);
        if (5..=60).contains(&text.lines().count()) {
            break;
        }
        target = (target * 3 / 4).max(6);
    }
    text
}

/// A random valid strategy (see the module contract), 5 to 60 lines long.
pub fn valid_program(seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let hint = rng.range(6, 50) as usize;
    valid_program_size(seed, hint)
}

/// A long, valid strategy of about `lines` lines: `let`s chaining stdlib indicators, each reading
/// the previous one, with a param `len` (for editor latency tests and benchmarks).
pub fn big_strategy(lines: usize, len: u32) -> String {
    let fns = [
        "sma", "ema", "rsi", "highest", "lowest", "mom", "wma", "rma",
    ];
    let mut out = format!("strategy big {{\n    param len: int = {len}\n");
    out.push_str("    let a0 = sma(close, len)\n");
    let mut i = 1;
    // Two lines of header, the last `let`, and the closing two lines.
    while i + 4 < lines.max(5) {
        let src = if i % 3 == 0 {
            "close".to_string()
        } else {
            format!("a{}", i - 1)
        };
        out.push_str(&format!(
            "    let a{i} = {}({src}, {}) + nz(a{}[1]) * 0.0\n",
            fns[i % fns.len()],
            i % 20 + 2,
            i - 1
        ));
        i += 1;
    }
    out.push_str(&format!(
        "    if position == 0 and a{} > a0 {{ buy(1) }}\n}}\n",
        i - 1
    ));
    out
}
