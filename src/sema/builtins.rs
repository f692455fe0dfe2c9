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

/// The values of every input on one bar, indexed by `Input as usize`.
pub type Inputs = [f64; 12];

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

/// A built-in function.
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
    Plot,
}

impl Builtin {
    pub const ALL: &'static [Builtin] = &[
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
        Builtin::Buy,
        Builtin::Sell,
        Builtin::ClosePosition,
        Builtin::BuyLimit,
        Builtin::SellLimit,
        Builtin::BuyStop,
        Builtin::SellStop,
        Builtin::BuyStopLimit,
        Builtin::SellStopLimit,
        Builtin::BuyTrail,
        Builtin::SellTrail,
        Builtin::BuyTrailPct,
        Builtin::SellTrailPct,
        Builtin::BuyBracket,
        Builtin::SellBracket,
        Builtin::CancelAll,
        Builtin::Plot,
    ];

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
            Builtin::Buy => "buy",
            Builtin::Sell => "sell",
            Builtin::ClosePosition => "close_position",
            Builtin::BuyLimit => "buy_limit",
            Builtin::SellLimit => "sell_limit",
            Builtin::BuyStop => "buy_stop",
            Builtin::SellStop => "sell_stop",
            Builtin::BuyStopLimit => "buy_stop_limit",
            Builtin::SellStopLimit => "sell_stop_limit",
            Builtin::BuyTrail => "buy_trail",
            Builtin::SellTrail => "sell_trail",
            Builtin::BuyTrailPct => "buy_trail_pct",
            Builtin::SellTrailPct => "sell_trail_pct",
            Builtin::BuyBracket => "buy_bracket",
            Builtin::SellBracket => "sell_bracket",
            Builtin::CancelAll => "cancel_all",
            Builtin::Plot => "plot",
        }
    }

    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.iter().copied().find(|b| b.name() == name)
    }

    /// Accepted argument counts (inclusive).
    pub fn arity(self) -> (usize, usize) {
        match self {
            Builtin::Min | Builtin::Max | Builtin::Pow => (2, 2),
            Builtin::Nz | Builtin::Plot => (1, 2),
            Builtin::ClosePosition => (0, 0),
            Builtin::BuyLimit
            | Builtin::SellLimit
            | Builtin::BuyStop
            | Builtin::SellStop
            | Builtin::BuyTrail
            | Builtin::SellTrail
            | Builtin::BuyTrailPct
            | Builtin::SellTrailPct => (2, 3),
            Builtin::BuyStopLimit | Builtin::SellStopLimit => (3, 4),
            Builtin::BuyBracket | Builtin::SellBracket => (3, 3),
            Builtin::CancelAll => (0, 0),
            _ => (1, 1),
        }
    }

    /// Actions change the broker's state or the run's output: strategy body only.
    pub fn is_action(self) -> bool {
        self == Builtin::Plot || self.order_action().is_some()
    }

    /// The order action of an order built-in.
    pub fn order_action(self) -> Option<Action> {
        Some(match self {
            Builtin::Buy => Action::Buy,
            Builtin::Sell => Action::Sell,
            Builtin::ClosePosition => Action::ClosePosition,
            Builtin::BuyLimit => Action::BuyLimit,
            Builtin::SellLimit => Action::SellLimit,
            Builtin::BuyStop => Action::BuyStop,
            Builtin::SellStop => Action::SellStop,
            Builtin::BuyStopLimit => Action::BuyStopLimit,
            Builtin::SellStopLimit => Action::SellStopLimit,
            Builtin::BuyTrail => Action::BuyTrail,
            Builtin::SellTrail => Action::SellTrail,
            Builtin::BuyTrailPct => Action::BuyTrailPct,
            Builtin::SellTrailPct => Action::SellTrailPct,
            Builtin::BuyBracket => Action::BuyBracket,
            Builtin::SellBracket => Action::SellBracket,
            Builtin::CancelAll => Action::CancelAll,
            _ => return None,
        })
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
            Builtin::Buy => "buy(qty: float)",
            Builtin::Sell => "sell(qty: float)",
            Builtin::ClosePosition => "close_position()",
            Builtin::BuyLimit => "buy_limit(qty: float, price: float, bars: int = until cancelled)",
            Builtin::SellLimit => {
                "sell_limit(qty: float, price: float, bars: int = until cancelled)"
            }
            Builtin::BuyStop => "buy_stop(qty: float, price: float, bars: int = until cancelled)",
            Builtin::SellStop => "sell_stop(qty: float, price: float, bars: int = until cancelled)",
            Builtin::BuyStopLimit => {
                "buy_stop_limit(qty: float, stop: float, limit: float, bars: int = until cancelled)"
            }
            Builtin::SellStopLimit => {
                "sell_stop_limit(qty: float, stop: float, limit: float, bars: int = until cancelled)"
            }
            Builtin::BuyTrail => {
                "buy_trail(qty: float, amount: float, bars: int = until cancelled)"
            }
            Builtin::SellTrail => {
                "sell_trail(qty: float, amount: float, bars: int = until cancelled)"
            }
            Builtin::BuyTrailPct => {
                "buy_trail_pct(qty: float, percent: float, bars: int = until cancelled)"
            }
            Builtin::SellTrailPct => {
                "sell_trail_pct(qty: float, percent: float, bars: int = until cancelled)"
            }
            Builtin::BuyBracket => "buy_bracket(qty: float, stop: float, target: float)",
            Builtin::SellBracket => "sell_bracket(qty: float, stop: float, target: float)",
            Builtin::CancelAll => "cancel_all()",
            Builtin::Plot => "plot(x, name: string)",
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
            Builtin::Buy => "a market order to buy qty at the next bar's open",
            Builtin::Sell => "a market order to sell qty at the next bar's open",
            Builtin::ClosePosition => "a market order that brings the position back to zero",
            Builtin::BuyLimit => {
                "a limit order to buy qty at price or lower; valid for `bars` bars if given"
            }
            Builtin::SellLimit => {
                "a limit order to sell qty at price or higher; valid for `bars` bars if given"
            }
            Builtin::BuyStop => "a stop order to buy qty once the price trades at or above `price`",
            Builtin::SellStop => {
                "a stop order to sell qty once the price trades at or below `price`"
            }
            Builtin::BuyStopLimit => {
                "a stop that, once triggered, becomes a limit order to buy at `limit` or lower"
            }
            Builtin::SellStopLimit => {
                "a stop that, once triggered, becomes a limit order to sell at `limit` or higher"
            }
            Builtin::BuyTrail => {
                "a trailing stop to buy: the stop follows the close down, `amount` above it"
            }
            Builtin::SellTrail => {
                "a trailing stop to sell: the stop follows the close up, `amount` below it"
            }
            Builtin::BuyTrailPct => {
                "a trailing stop to buy, `percent` % above the lowest close since it was placed"
            }
            Builtin::SellTrailPct => {
                "a trailing stop to sell, `percent` % below the highest close since it was placed"
            }
            Builtin::BuyBracket => {
                "a market buy with a protective sell stop at `stop` and a sell limit at `target`, placed once the entry fills; one cancels the other"
            }
            Builtin::SellBracket => {
                "a market sell (short) with a buy stop at `stop` and a buy limit at `target`, placed once the entry fills; one cancels the other"
            }
            Builtin::CancelAll => "cancels every pending order",
            Builtin::Plot => "records x in the run's output under a name",
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
    ];

    /// A small number identifying the action across the JIT's ABI.
    pub fn code(self) -> u32 {
        Action::ALL.iter().position(|a| *a == self).unwrap_or(0) as u32
    }

    pub fn from_code(code: u32) -> Option<Action> {
        Action::ALL.get(code as usize).copied()
    }
}
