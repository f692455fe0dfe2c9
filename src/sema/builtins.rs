//! The names the language provides: input series, strategy state and built-in functions.
//!
//! Contract: a static table, no state. Signatures are checked by `sema::check`; values are
//! computed by `crate::value` so that constant folding and the engines agree bit for bit.

/// A built-in series, read from the data feed or the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Input {
    Open,
    High,
    Low,
    Close,
    Volume,
    Time,
    BarIndex,
    Position,
    Cash,
    Equity,
    EntryPrice,
    PendingOrders,
}

impl Input {
    pub const ALL: &'static [Input] = &[
        Input::Open,
        Input::High,
        Input::Low,
        Input::Close,
        Input::Volume,
        Input::Time,
        Input::BarIndex,
        Input::Position,
        Input::Cash,
        Input::Equity,
        Input::EntryPrice,
        Input::PendingOrders,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Input::Open => "open",
            Input::High => "high",
            Input::Low => "low",
            Input::Close => "close",
            Input::Volume => "volume",
            Input::Time => "time",
            Input::BarIndex => "bar_index",
            Input::Position => "position",
            Input::Cash => "cash",
            Input::Equity => "equity",
            Input::EntryPrice => "entry_price",
            Input::PendingOrders => "pending_orders",
        }
    }

    pub fn from_name(name: &str) -> Option<Input> {
        Input::ALL.iter().copied().find(|i| i.name() == name)
    }

    /// Whether the value is the account's (the broker's) rather than the bar's.
    pub fn is_account(self) -> bool {
        matches!(
            self,
            Input::Position
                | Input::Cash
                | Input::Equity
                | Input::EntryPrice
                | Input::PendingOrders
        )
    }

    /// Whether the value is a symbol's rather than the whole account's (`qqq.position`).
    pub fn is_per_symbol(self) -> bool {
        matches!(self, Input::Position | Input::EntryPrice)
    }

    /// Whether the value is an `int` (otherwise `float`).
    pub fn is_int(self) -> bool {
        matches!(self, Input::Time | Input::BarIndex | Input::PendingOrders)
    }

    pub fn doc(self) -> &'static str {
        match self {
            Input::Open => "the bar's opening price",
            Input::High => "the bar's highest price",
            Input::Low => "the bar's lowest price",
            Input::Close => "the bar's closing price",
            Input::Volume => "the bar's traded volume (0 when the data have no volume column)",
            Input::Time => "the bar's time, in milliseconds since 1970-01-01 UTC",
            Input::BarIndex => "the bar's number, counted from 0",
            Input::Position => "the signed quantity held (positive long, negative short, 0 flat)",
            Input::Cash => "the broker's cash",
            Input::Equity => "cash plus the position valued at the close",
            Input::EntryPrice => "the average entry price of the open position; na when flat",
            Input::PendingOrders => {
                "the number of orders waiting at the broker (placed, not filled, cancelled or expired)"
            }
        }
    }
}

/// A built-in function: a pure one, `plot`, or an order action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    Abs,
    Min,
    Max,
    Sqrt,
    Log,
    Exp,
    Pow,
    Floor,
    Ceil,
    Round,
    Na,
    Nz,
    Valid,
    Plot,
    /// `hline(level, "pane")`: a horizontal level on the report's chart.
    Hline,
    /// `window_sum(src, n)`: the exact sum of the last `n` values.
    WindowSum,
    /// `filled("name")`, `fill_qty("name")`, `fill_price("name")`: a fill of a named order.
    Fill(FillField),
    /// An order action (`buy`, `sell_limit`, ...).
    Order(Action),
}

/// What the strategy reads of a named order's fill on the current bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FillField {
    /// Whether the order filled (its fill became visible) on this bar.
    Filled,
    /// The signed quantity filled; `na` on other bars.
    Qty,
    /// The fill price; `na` on other bars.
    Price,
}

/// The most distinct order names a strategy may use.
pub const MAX_ORDER_NAMES: usize = 16;

/// The built-ins that are not orders.
const NOT_ORDERS: [Builtin; 19] = [
    Builtin::Abs,
    Builtin::Min,
    Builtin::Max,
    Builtin::Sqrt,
    Builtin::Log,
    Builtin::Exp,
    Builtin::Pow,
    Builtin::Floor,
    Builtin::Ceil,
    Builtin::Round,
    Builtin::Na,
    Builtin::Nz,
    Builtin::Valid,
    Builtin::Plot,
    Builtin::Hline,
    Builtin::WindowSum,
    Builtin::Fill(FillField::Filled),
    Builtin::Fill(FillField::Qty),
    Builtin::Fill(FillField::Price),
];

impl Builtin {
    /// Every built-in: the ones that are not orders, then every order action.
    pub const ALL: &'static [Builtin] = &{
        let mut all = [Builtin::Abs; NOT_ORDERS.len() + Action::ALL.len()];
        let mut i = 0;
        while i < NOT_ORDERS.len() {
            all[i] = NOT_ORDERS[i];
            i += 1;
        }
        let mut j = 0;
        while j < Action::ALL.len() {
            all[i + j] = Builtin::Order(Action::ALL[j]);
            j += 1;
        }
        all
    };

    pub fn name(self) -> &'static str {
        match self {
            Builtin::Abs => "abs",
            Builtin::Min => "min",
            Builtin::Max => "max",
            Builtin::Sqrt => "sqrt",
            Builtin::Log => "log",
            Builtin::Exp => "exp",
            Builtin::Pow => "pow",
            Builtin::Floor => "floor",
            Builtin::Ceil => "ceil",
            Builtin::Round => "round",
            Builtin::Na => "na",
            Builtin::Nz => "nz",
            Builtin::Valid => "valid",
            Builtin::Plot => "plot",
            Builtin::Hline => "hline",
            Builtin::WindowSum => "window_sum",
            Builtin::Fill(FillField::Filled) => "filled",
            Builtin::Fill(FillField::Qty) => "fill_qty",
            Builtin::Fill(FillField::Price) => "fill_price",
            Builtin::Order(a) => a.name(),
        }
    }

    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.iter().copied().find(|b| b.name() == name)
    }

    /// Accepted argument counts (inclusive).
    pub fn arity(self) -> (usize, usize) {
        match self {
            Builtin::Abs => (1, 1),
            Builtin::Min => (2, 2),
            Builtin::Max => (2, 2),
            Builtin::Sqrt => (1, 1),
            Builtin::Log => (1, 1),
            Builtin::Exp => (1, 1),
            Builtin::Pow => (2, 2),
            Builtin::Floor => (1, 1),
            Builtin::Ceil => (1, 1),
            Builtin::Round => (1, 1),
            Builtin::Na => (1, 1),
            Builtin::Nz => (1, 2),
            Builtin::Valid => (1, 1),
            Builtin::Plot => (1, 2),
            Builtin::Hline => (1, 2),
            Builtin::WindowSum => (2, 2),
            Builtin::Fill(_) => (1, 1),
            Builtin::Order(a) => a.arity(),
        }
    }

    /// Actions change the broker's state or the run's output: strategy body only.
    pub fn is_action(self) -> bool {
        matches!(self, Builtin::Plot | Builtin::Hline | Builtin::Order(_))
    }

    /// The order action of an order built-in.
    pub fn order_action(self) -> Option<Action> {
        match self {
            Builtin::Order(a) => Some(a),
            _ => None,
        }
    }

    pub fn signature(self) -> &'static str {
        match self {
            Builtin::Abs => "abs(x: int|float) -> int|float",
            Builtin::Min => "min(a: int|float, b: int|float) -> int|float",
            Builtin::Max => "max(a: int|float, b: int|float) -> int|float",
            Builtin::Sqrt => "sqrt(x: float) -> float",
            Builtin::Log => "log(x: float) -> float",
            Builtin::Exp => "exp(x: float) -> float",
            Builtin::Pow => "pow(x: float, y: float) -> float",
            Builtin::Floor => "floor(x: float) -> int",
            Builtin::Ceil => "ceil(x: float) -> int",
            Builtin::Round => "round(x: float) -> int",
            Builtin::Na => "na(x) -> bool",
            Builtin::Nz => "nz(x, default = 0) -> type of x",
            Builtin::Valid => "valid(x) -> int",
            Builtin::Plot => "plot(x, name: string)",
            Builtin::Hline => "hline(level: float, pane: string)",
            Builtin::WindowSum => "window_sum(src: series float, n: int) -> series float",
            Builtin::Fill(FillField::Filled) => "filled(order: string) -> bool",
            Builtin::Fill(FillField::Qty) => "fill_qty(order: string) -> float",
            Builtin::Fill(FillField::Price) => "fill_price(order: string) -> float",
            Builtin::Order(a) => a.signature(),
        }
    }

    pub fn doc(self) -> &'static str {
        match self {
            Builtin::Abs => "absolute value",
            Builtin::Min => "the smaller of two values; an int when both are ints",
            Builtin::Max => "the larger of two values; an int when both are ints",
            Builtin::Sqrt => "square root (na for negative x)",
            Builtin::Log => "natural logarithm (na for x <= 0)",
            Builtin::Exp => "e to the power x",
            Builtin::Pow => "x to the power y",
            Builtin::Floor => "the largest int not above x",
            Builtin::Ceil => "the smallest int not below x",
            Builtin::Round => "x rounded to the nearest int, halves away from zero",
            Builtin::Na => "true when x is missing",
            Builtin::Nz => "x, or the default (0) when x is missing",
            Builtin::Valid => "1 when x is present, 0 when it is missing",
            Builtin::Plot => "records x in the run's output under a name",
            Builtin::WindowSum => {
                "the sum of the last n values of src, exact: the correctly rounded value of the window's exact sum (na counts as 0), at O(1) per bar; it never drifts"
            }
            Builtin::Hline => {
                "a horizontal level on the report's chart (a compile-time value), on the pane of the plot named `pane`, else of the plot written before it, else the price pane"
            }
            Builtin::Fill(FillField::Filled) => {
                "true on the bar the order of that name filled (at this bar's open, intrabar, or the previous bar's close with --fill close)"
            }
            Builtin::Fill(FillField::Qty) => {
                "the signed quantity the order of that name filled on this bar; na on other bars"
            }
            Builtin::Fill(FillField::Price) => {
                "the price at which the order of that name filled on this bar; na on other bars"
            }
            Builtin::Order(a) => a.doc(),
        }
    }
}

/// An order action of the strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Buy,
    Sell,
    ClosePosition,
    BuyLimit,
    SellLimit,
    BuyStop,
    SellStop,
    BuyStopLimit,
    SellStopLimit,
    BuyTrail,
    SellTrail,
    BuyTrailPct,
    SellTrailPct,
    BuyBracket,
    SellBracket,
    CancelAll,
    /// `cancel("name")`: cancels the pending order of that name.
    Cancel,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::Buy,
        Action::Sell,
        Action::ClosePosition,
        Action::BuyLimit,
        Action::SellLimit,
        Action::BuyStop,
        Action::SellStop,
        Action::BuyStopLimit,
        Action::SellStopLimit,
        Action::BuyTrail,
        Action::SellTrail,
        Action::BuyTrailPct,
        Action::SellTrailPct,
        Action::BuyBracket,
        Action::SellBracket,
        Action::CancelAll,
        Action::Cancel,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::Buy => "buy",
            Action::Sell => "sell",
            Action::ClosePosition => "close_position",
            Action::BuyLimit => "buy_limit",
            Action::SellLimit => "sell_limit",
            Action::BuyStop => "buy_stop",
            Action::SellStop => "sell_stop",
            Action::BuyStopLimit => "buy_stop_limit",
            Action::SellStopLimit => "sell_stop_limit",
            Action::BuyTrail => "buy_trail",
            Action::SellTrail => "sell_trail",
            Action::BuyTrailPct => "buy_trail_pct",
            Action::SellTrailPct => "sell_trail_pct",
            Action::BuyBracket => "buy_bracket",
            Action::SellBracket => "sell_bracket",
            Action::CancelAll => "cancel_all",
            Action::Cancel => "cancel",
        }
    }

    /// Accepted argument counts (inclusive): the quantity, prices, an optional validity in bars;
    /// not counting the order's name, an optional last string (required by `cancel`).
    pub fn arity(self) -> (usize, usize) {
        match self {
            Action::Buy => (1, 1),
            Action::Sell => (1, 1),
            Action::ClosePosition => (0, 0),
            Action::BuyLimit => (2, 3),
            Action::SellLimit => (2, 3),
            Action::BuyStop => (2, 3),
            Action::SellStop => (2, 3),
            Action::BuyStopLimit => (3, 4),
            Action::SellStopLimit => (3, 4),
            Action::BuyTrail => (2, 3),
            Action::SellTrail => (2, 3),
            Action::BuyTrailPct => (2, 3),
            Action::SellTrailPct => (2, 3),
            Action::BuyBracket => (3, 3),
            Action::SellBracket => (3, 3),
            Action::CancelAll => (0, 0),
            Action::Cancel => (0, 0),
        }
    }

    pub fn signature(self) -> &'static str {
        match self {
            Action::Buy => "buy(qty: float)",
            Action::Sell => "sell(qty: float)",
            Action::ClosePosition => "close_position()",
            Action::BuyLimit => "buy_limit(qty: float, price: float, bars: int = until cancelled)",
            Action::SellLimit => {
                "sell_limit(qty: float, price: float, bars: int = until cancelled)"
            }
            Action::BuyStop => "buy_stop(qty: float, price: float, bars: int = until cancelled)",
            Action::SellStop => "sell_stop(qty: float, price: float, bars: int = until cancelled)",
            Action::BuyStopLimit => {
                "buy_stop_limit(qty: float, stop: float, limit: float, bars: int = until cancelled)"
            }
            Action::SellStopLimit => {
                "sell_stop_limit(qty: float, stop: float, limit: float, bars: int = until cancelled)"
            }
            Action::BuyTrail => "buy_trail(qty: float, amount: float, bars: int = until cancelled)",
            Action::SellTrail => {
                "sell_trail(qty: float, amount: float, bars: int = until cancelled)"
            }
            Action::BuyTrailPct => {
                "buy_trail_pct(qty: float, percent: float, bars: int = until cancelled)"
            }
            Action::SellTrailPct => {
                "sell_trail_pct(qty: float, percent: float, bars: int = until cancelled)"
            }
            Action::BuyBracket => "buy_bracket(qty: float, stop: float, target: float)",
            Action::SellBracket => "sell_bracket(qty: float, stop: float, target: float)",
            Action::CancelAll => "cancel_all()",
            Action::Cancel => "cancel(order: string)",
        }
    }

    pub fn doc(self) -> &'static str {
        match self {
            Action::Buy => "a market order to buy qty at the next bar's open",
            Action::Sell => "a market order to sell qty at the next bar's open",
            Action::ClosePosition => "a market order that brings the position back to zero",
            Action::BuyLimit => {
                "a limit order to buy qty at price or lower; valid for `bars` bars if given"
            }
            Action::SellLimit => {
                "a limit order to sell qty at price or higher; valid for `bars` bars if given"
            }
            Action::BuyStop => "a stop order to buy qty once the price trades at or above `price`",
            Action::SellStop => {
                "a stop order to sell qty once the price trades at or below `price`"
            }
            Action::BuyStopLimit => {
                "a stop that, once triggered, becomes a limit order to buy at `limit` or lower"
            }
            Action::SellStopLimit => {
                "a stop that, once triggered, becomes a limit order to sell at `limit` or higher"
            }
            Action::BuyTrail => {
                "a trailing stop to buy: the stop follows the close down, `amount` above it"
            }
            Action::SellTrail => {
                "a trailing stop to sell: the stop follows the close up, `amount` below it"
            }
            Action::BuyTrailPct => {
                "a trailing stop to buy, `percent` % above the lowest close since it was placed"
            }
            Action::SellTrailPct => {
                "a trailing stop to sell, `percent` % below the highest close since it was placed"
            }
            Action::BuyBracket => {
                "a market buy with a protective sell stop at `stop` and a sell limit at `target`, placed once the entry fills; one cancels the other"
            }
            Action::SellBracket => {
                "a market sell (short) with a buy stop at `stop` and a buy limit at `target`, placed once the entry fills; one cancels the other"
            }
            Action::CancelAll => "cancels every pending order",
            Action::Cancel => "cancels the pending order of that name, if any",
        }
    }

    /// A small number identifying the action across the JIT's ABI.
    pub fn code(self) -> u32 {
        Action::ALL.iter().position(|a| *a == self).unwrap_or(0) as u32
    }

    pub fn from_code(code: u32) -> Option<Action> {
        Action::ALL.get(code as usize).copied()
    }
}
