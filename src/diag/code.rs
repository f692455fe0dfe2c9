//! The stable list of diagnostic codes.
//!
//! Contract: a code, once published, keeps its meaning forever. Each code has exactly one
//! documentation page in `docs/codes/CODE.md` (what, why, example, fix), embedded in the binary
//! and printed by `btl explain CODE`. Adding a code means adding a variant here, a row in
//! [`Code::ALL`] and its page; a test checks that every code has a page.

/// A diagnostic code. `E` codes are errors, `W` codes warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// A character that starts no token.
    E0001,
    /// A string literal with no closing quote.
    E0002,
    /// The parser met a token it did not expect.
    E0003,
    /// A number literal that does not fit (integer beyond 2^53, malformed float).
    E0004,
    E0005,
    /// A name that is not defined (with "did you mean").
    E0100,
    /// A name defined twice in the same scope.
    E0101,
    /// A call of a function that does not exist.
    E0102,
    /// A call with the wrong number of arguments.
    E0103,
    /// A value of the wrong type.
    E0104,
    /// A series (varying) value where a compile-time value is required.
    E0105,
    /// A `for` loop bound that is not a compile-time integer.
    E0106,
    /// Assignment to something that is not a `mut` local.
    E0107,
    /// A function that calls itself, directly or through others.
    E0108,
    /// An action (`buy`, `sell`, `close_position`, `plot`) or `param` outside a strategy body.
    E0109,
    /// A `let` or a stateful call inside a `for` loop.
    E0110,
    /// History (`x[k]`) of a `mut` local or of a loop variable.
    E0111,
    /// The file has no strategy or more than one.
    E0112,
    /// An `if` used as a value without an `else`.
    E0113,
    /// The program is too large once every function call is expanded.
    E0114,
    /// An expression or block nested too deeply.
    E0115,
    E0116,
    E0117,
    E0118,
    /// A `feed` declaration that is misplaced or malformed (bad `resample`, bad timeframe).
    E0119,
    /// A feed that does not exist, or something a feed's context cannot hold (orders, plots,
    /// the account).
    E0120,
    /// A history index whose upper bound cannot be proven at compile time.
    E0200,
    /// A history index that is or may be negative (look-ahead).
    E0201,
    /// A series that reads its own present value (a cycle).
    E0202,
    /// A lookback beyond the documented maximum.
    E0203,
    E0204,
    E0205,
    /// A `--param` that names no parameter of the strategy.
    E0300,
    /// A `--param` value that is not of the parameter's type.
    E0301,
    /// A `--param` argument that is not of the form NAME=VALUE.
    E0302,
    /// A `let` series that is never read.
    W0001,
    /// The strategy's actions read a value that is never present: it never trades.
    W0002,
}

impl Code {
    /// Every code, in order.
    pub const ALL: &'static [Code] = &[
        Code::E0001,
        Code::E0002,
        Code::E0003,
        Code::E0004,
        Code::E0005,
        Code::E0100,
        Code::E0101,
        Code::E0102,
        Code::E0103,
        Code::E0104,
        Code::E0105,
        Code::E0106,
        Code::E0107,
        Code::E0108,
        Code::E0109,
        Code::E0110,
        Code::E0111,
        Code::E0112,
        Code::E0113,
        Code::E0114,
        Code::E0115,
        Code::E0116,
        Code::E0117,
        Code::E0118,
        Code::E0119,
        Code::E0120,
        Code::E0200,
        Code::E0201,
        Code::E0202,
        Code::E0203,
        Code::E0204,
        Code::E0205,
        Code::E0300,
        Code::E0301,
        Code::E0302,
        Code::W0001,
        Code::W0002,
    ];

    /// The code as printed: `E0200`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::E0001 => "E0001",
            Code::E0002 => "E0002",
            Code::E0003 => "E0003",
            Code::E0004 => "E0004",
            Code::E0005 => "E0005",
            Code::E0100 => "E0100",
            Code::E0101 => "E0101",
            Code::E0102 => "E0102",
            Code::E0103 => "E0103",
            Code::E0104 => "E0104",
            Code::E0105 => "E0105",
            Code::E0106 => "E0106",
            Code::E0107 => "E0107",
            Code::E0108 => "E0108",
            Code::E0109 => "E0109",
            Code::E0110 => "E0110",
            Code::E0111 => "E0111",
            Code::E0112 => "E0112",
            Code::E0113 => "E0113",
            Code::E0114 => "E0114",
            Code::E0115 => "E0115",
            Code::E0116 => "E0116",
            Code::E0117 => "E0117",
            Code::E0118 => "E0118",
            Code::E0119 => "E0119",
            Code::E0120 => "E0120",
            Code::E0200 => "E0200",
            Code::E0201 => "E0201",
            Code::E0202 => "E0202",
            Code::E0203 => "E0203",
            Code::E0204 => "E0204",
            Code::E0205 => "E0205",
            Code::E0300 => "E0300",
            Code::E0301 => "E0301",
            Code::E0302 => "E0302",
            Code::W0001 => "W0001",
            Code::W0002 => "W0002",
        }
    }

    /// Looks a code up by its printed form, case-insensitively.
    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The documentation page of the code (markdown).
    pub fn explanation(self) -> &'static str {
        match self {
            Code::E0001 => include_str!("../../docs/codes/E0001.md"),
            Code::E0002 => include_str!("../../docs/codes/E0002.md"),
            Code::E0003 => include_str!("../../docs/codes/E0003.md"),
            Code::E0004 => include_str!("../../docs/codes/E0004.md"),
            Code::E0005 => include_str!("../../docs/codes/E0005.md"),
            Code::E0100 => include_str!("../../docs/codes/E0100.md"),
            Code::E0101 => include_str!("../../docs/codes/E0101.md"),
            Code::E0102 => include_str!("../../docs/codes/E0102.md"),
            Code::E0103 => include_str!("../../docs/codes/E0103.md"),
            Code::E0104 => include_str!("../../docs/codes/E0104.md"),
            Code::E0105 => include_str!("../../docs/codes/E0105.md"),
            Code::E0106 => include_str!("../../docs/codes/E0106.md"),
            Code::E0107 => include_str!("../../docs/codes/E0107.md"),
            Code::E0108 => include_str!("../../docs/codes/E0108.md"),
            Code::E0109 => include_str!("../../docs/codes/E0109.md"),
            Code::E0110 => include_str!("../../docs/codes/E0110.md"),
            Code::E0111 => include_str!("../../docs/codes/E0111.md"),
            Code::E0112 => include_str!("../../docs/codes/E0112.md"),
            Code::E0113 => include_str!("../../docs/codes/E0113.md"),
            Code::E0114 => include_str!("../../docs/codes/E0114.md"),
            Code::E0115 => include_str!("../../docs/codes/E0115.md"),
            Code::E0116 => include_str!("../../docs/codes/E0116.md"),
            Code::E0117 => include_str!("../../docs/codes/E0117.md"),
            Code::E0118 => include_str!("../../docs/codes/E0118.md"),
            Code::E0119 => include_str!("../../docs/codes/E0119.md"),
            Code::E0120 => include_str!("../../docs/codes/E0120.md"),
            Code::E0200 => include_str!("../../docs/codes/E0200.md"),
            Code::E0201 => include_str!("../../docs/codes/E0201.md"),
            Code::E0202 => include_str!("../../docs/codes/E0202.md"),
            Code::E0203 => include_str!("../../docs/codes/E0203.md"),
            Code::E0204 => include_str!("../../docs/codes/E0204.md"),
            Code::E0205 => include_str!("../../docs/codes/E0205.md"),
            Code::E0300 => include_str!("../../docs/codes/E0300.md"),
            Code::E0301 => include_str!("../../docs/codes/E0301.md"),
            Code::E0302 => include_str!("../../docs/codes/E0302.md"),
            Code::W0001 => include_str!("../../docs/codes/W0001.md"),
            Code::W0002 => include_str!("../../docs/codes/W0002.md"),
        }
    }

    /// Whether the code is an error (as opposed to a warning).
    pub fn is_error(self) -> bool {
        self.as_str().starts_with('E')
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
