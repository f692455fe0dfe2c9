//! A simulated broker with backtrader's default rules (`BackBroker`), so results can be checked
//! against it.
//!
//! Contract:
//! - Orders placed on bar t reach the broker when bar t+1 starts. They are first checked for cash
//!   (backtrader's `checksubmit`: pseudo-executed in order at their reference price: the close of
//!   bar t for market orders, the limit or stop price otherwise); an order the cash cannot cover is
//!   rejected and counted, never filled. Then every pending order is tried against bar t+1, in the
//!   order placed:
//!   - market: at the open;
//!   - limit: buy at the open if it is at or below the limit, else at the limit if the low reaches
//!     it (sell mirrored);
//!   - stop: buy at the open if it is at or above the stop (a gap), else at the stop if the high
//!     reaches it (sell mirrored);
//!   - stop-limit: triggered like a stop, then a limit order (backtrader's same-bar rules);
//!   - trailing stop: a stop whose price follows each close by an amount or a percentage, only in
//!     the favourable direction, starting from the close of the bar it was placed on;
//!   - bracket: a market entry; once it fills, a stop-loss and a take-profit (limit) become active
//!     from the next bar, and when one fills the other is cancelled.
//! - An order valid for N bars can fill on the N bars after the one it was placed on, then
//!   expires. `cancel_all()` cancels every pending order at once.
//! - Named orders: an order may carry a name (a small number). Placing a named order first
//!   cancels the pending order of that name (counted as cancelled), so a name has at most one
//!   pending order, as a re-placed stop in backtrader is cancel-then-place; `cancel(name)` cancels
//!   it. Each name keeps its last fill (quantity, price, and the bar the strategy sees it on: the
//!   bar of the fill for fills at the open or intrabar, the next bar for fills at the close) for
//!   `filled`, `fill_qty` and `fill_price`. A closed trade records the names of the orders that
//!   opened and closed it; bracket children have no name. With
//!   [`BrokerConfig::fill_on_close`], market orders fill at the close of the bar they are placed
//!   on instead (backtrader's cheat-on-close).
//! - Commission: a fraction of traded value plus an amount per unit, at least a minimum, on each
//!   part of a fill (closing and opening a position are two parts, as in backtrader).
//!   Slippage, as a fraction or a fixed amount, moves fills against the trader, within the bar's
//!   range; limit fills at the open never cross the limit, fills at a limit price are not slipped
//!   (backtrader with `slip_open=True, slip_match=True, slip_limit=True`).
//! - Stocks with `shortcash`: buying spends cash, selling (also short) receives it; the position
//!   is signed; value = cash + position × price. Short sales are margined (Regulation T's 50%
//!   initial margin, which backtrader does not check): an order that opens or adds to a short is
//!   rejected, at the cash check and at the fill, when the short's value would pass twice the
//!   account's value; so an all-in reversal from long to short passes, `sell(1e15)` does not.
//! - The position's price is the average entry price: increasing averages it, reducing keeps it,
//!   reversing restarts it at the fill price (backtrader's `Position.update`).
//! - A trade opens when the position leaves zero and closes when it returns to zero (a reversal
//!   closes one trade and opens the next). Its pnl is the gross profit of its closing fills; its
//!   net pnl also subtracts every commission paid on its fills.
//!
//! Documented differences: a cancel (`cancel(name)`, `cancel_all()`, or the replacement of a
//! named order) takes effect on an order placed earlier on the same bar; backtrader with its
//! default `checksubmit=True` keeps such an order in its `submitted` queue, where `cancel` does not
//! look, and fills it later (with `checksubmit=False` it agrees with btl). And when the real fill
//! needs more cash than is left (a gap after the check at the reference price), backtrader fills
//! only the closing part of the order and rejects the rest (status Margin; it does not stay
//! pending); btl rejects the whole order and counts it.

use crate::runtime::feed::Bar;
use crate::runtime::machine::FillView;
use crate::sema::builtins::{Action, MAX_ORDER_NAMES};

/// How orders fill; printed in every report.
pub fn fill_convention(c: &BrokerConfig) -> String {
    let market = if c.fill_on_close {
        "market orders fill at the close of the bar they are placed on (cheat-on-close)"
    } else {
        "market orders fill at the next bar's open"
    };
    format!(
        "{market}; limit, stop and trailing orders fill on later bars by backtrader's BackBroker rules; \
         cash checked at the order's reference price"
    )
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BrokerConfig {
    pub cash: f64,
    /// Commission as a fraction of traded value, e.g. 0.001.
    pub commission: f64,
    /// Commission per unit traded.
    pub commission_per_unit: f64,
    /// The least commission charged on a fill part.
    pub commission_min: f64,
    /// Slippage as a fraction of the price.
    pub slippage: f64,
    /// Slippage as a fixed amount (used when the fraction is 0).
    pub slippage_fixed: f64,
    /// Market orders fill at the close of their bar instead of the next open.
    pub fill_on_close: bool,
}

impl BrokerConfig {
    /// 100,000 cash, no costs, fills at the next open (a `const`, for `..BrokerConfig::DEFAULT`).
    pub const DEFAULT: BrokerConfig = BrokerConfig {
        cash: 100_000.0,
        commission: 0.0,
        commission_per_unit: 0.0,
        commission_min: 0.0,
        slippage: 0.0,
        slippage_fixed: 0.0,
        fill_on_close: false,
    };
}

impl Default for BrokerConfig {
    fn default() -> BrokerConfig {
        BrokerConfig::DEFAULT
    }
}

/// Why orders were ignored as invalid, counted per reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InvalidReasons {
    /// A quantity that is `na`, zero or negative.
    pub quantity: u64,
    /// A limit, stop or trail price (or amount) that is `na`, zero or negative.
    pub price: u64,
    /// A validity in bars that is `na` or less than 1.
    pub bars: u64,
    /// A bracket's stop or target that is `na`, zero or negative.
    pub bracket: u64,
}

impl InvalidReasons {
    /// Adds another broker's counts.
    pub fn add(&mut self, other: &InvalidReasons) {
        self.quantity += other.quantity;
        self.price += other.price;
        self.bars += other.bars;
        self.bracket += other.bracket;
    }

    /// `2 with a quantity na, zero or negative; 1 with a price ...`.
    pub fn describe(&self) -> String {
        [
            (self.quantity, "a quantity"),
            (self.price, "a price or trail amount"),
            (self.bracket, "a bracket stop or target"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} with {what} na, zero or negative"))
        .chain(
            (self.bars > 0).then(|| format!("{} with a validity in bars na or below 1", self.bars)),
        )
        .collect::<Vec<_>>()
        .join("; ")
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClosedTrade {
    pub entry_bar: u64,
    pub exit_bar: u64,
    /// Signed size at its largest: positive long, negative short.
    pub qty: f64,
    pub entry_price: f64,
    /// Average price of the closing fills.
    pub exit_price: f64,
    pub pnl: f64,
    pub pnl_net: f64,
    /// The names (numbers) of the orders that opened and closed the trade, when named.
    pub entry_order: Option<u32>,
    pub exit_order: Option<u32>,
    /// The times (ms since the epoch) of the bars of the opening and the closing fill.
    pub entry_time: i64,
    pub exit_time: i64,
    /// The kind of order whose fill closed the trade.
    pub exit_kind: FillKind,
    /// The symbol traded (0: the primary feed; see `runtime::host`).
    pub symbol: u32,
}

/// The kind of order that made a fill (a stop-limit counts as a stop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillKind {
    Market,
    Limit,
    Stop,
    Trail,
}

impl FillKind {
    /// What a fill of this kind that closes a position is called in reports.
    pub fn exit_reason(self) -> &'static str {
        match self {
            FillKind::Market => "signal",
            FillKind::Limit => "target",
            FillKind::Stop => "stop",
            FillKind::Trail => "trailing stop",
        }
    }

    fn of(kind: &Kind) -> FillKind {
        match kind {
            Kind::Market => FillKind::Market,
            Kind::Limit(_) => FillKind::Limit,
            Kind::Stop(_) | Kind::StopLimit { .. } => FillKind::Stop,
            Kind::Trail { .. } => FillKind::Trail,
        }
    }
}

/// What happened at the broker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// A fill of `size` (positive bought) at `price` by an order of `kind`; `exit` when it
    /// reduced the position.
    Fill {
        size: f64,
        price: f64,
        kind: FillKind,
        exit: bool,
    },
    Closed(ClosedTrade),
    Rejected,
    Expired,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Market,
    Limit(f64),
    Stop(f64),
    StopLimit {
        stop: f64,
        limit: f64,
        triggered: bool,
    },
    /// A trailing stop: its current stop, and the distance (an amount, or a fraction of the close).
    Trail {
        stop: f64,
        amount: f64,
        fraction: bool,
    },
}

#[derive(Debug, Clone, Copy)]
struct Order {
    id: u64,
    /// Signed size: positive buys.
    size: f64,
    kind: Kind,
    /// The price of the cash check.
    reference: f64,
    /// The last bar on which it may fill.
    valid_until: Option<u64>,
    /// Not yet checked for cash (placed on the previous bar).
    fresh: bool,
    /// The first bar it may fill on (bracket children: the bar after their entry filled).
    active_from: u64,
    /// Bracket children: (stop, target) to place once this entry fills.
    bracket: Option<(f64, f64)>,
    /// The other half of a one-cancels-other pair.
    oco: Option<u64>,
    /// The order's name, if it has one.
    name: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
struct OpenTrade {
    entry_bar: u64,
    qty: f64,
    entry_price: f64,
    pnl: f64,
    commission: f64,
    closed_size: f64,
    closed_value: f64,
    entry_order: Option<u32>,
    entry_time: i64,
}

#[derive(Debug, Clone)]
pub struct Broker {
    config: BrokerConfig,
    pub cash: f64,
    /// Signed quantity held.
    pub position: f64,
    /// Average entry price of the position (0 when flat).
    pub price: f64,
    orders: Vec<Order>,
    next_id: u64,
    trade: Option<OpenTrade>,
    pub rejected: u64,
    /// Orders with a quantity or price that is `na`, zero or negative: ignored, counted.
    pub invalid: u64,
    /// Why they were invalid (an order may count under several).
    pub invalid_reasons: InvalidReasons,
    pub fills: u64,
    pub expired: u64,
    pub cancelled: u64,
    /// Per order name, its last fill as the strategy sees it.
    pub last_fills: [FillView; MAX_ORDER_NAMES],
    /// The time of the bar the broker is at (set by the engine before each turn).
    pub now: i64,
}

/// Regulation T's initial margin for short sales, the one rule btl adds to backtrader's stock
/// broker (which lets a short of any size through, its proceeds counting as cash): after an order
/// that opens or adds to a short, the short's value at the price may be at most twice the
/// account's value (cash + position × price), i.e. the account holds the proceeds plus 50%.
fn short_margin_ok(cash: f64, position: f64, price: f64) -> bool {
    if position >= 0.0 {
        return true;
    }
    let short_value = -position * price;
    short_value <= 2.0 * (cash + position * price)
}

/// The result of one position update (backtrader's `Position.update`).
struct Update {
    opened: f64,
    closed: f64,
    new_price: f64,
}

fn update(size: f64, price: f64, old: f64, old_price: f64) -> Update {
    let new = old + size;
    if new == 0.0 {
        Update {
            opened: 0.0,
            closed: size,
            new_price: 0.0,
        }
    } else if old == 0.0 {
        Update {
            opened: size,
            closed: 0.0,
            new_price: price,
        }
    } else if (old > 0.0) == (size > 0.0) {
        Update {
            opened: size,
            closed: 0.0,
            new_price: (old_price * old + size * price) / new,
        }
    } else if (new > 0.0) == (old > 0.0) {
        Update {
            opened: 0.0,
            closed: size,
            new_price: old_price,
        }
    } else {
        Update {
            opened: new,
            closed: -old,
            new_price: price,
        }
    }
}

fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

impl Broker {
    pub fn new(config: BrokerConfig) -> Broker {
        Broker {
            config,
            cash: config.cash,
            position: 0.0,
            price: 0.0,
            orders: Vec::new(),
            next_id: 0,
            trade: None,
            rejected: 0,
            invalid: 0,
            invalid_reasons: InvalidReasons::default(),
            fills: 0,
            expired: 0,
            cancelled: 0,
            last_fills: [FillView::NONE; MAX_ORDER_NAMES],
            now: 0,
        }
    }

    /// Value at `price`: cash plus the position marked to it.
    pub fn value(&self, price: f64) -> f64 {
        self.cash + self.position * price
    }

    pub fn entry_price(&self) -> f64 {
        if self.position == 0.0 {
            f64::NAN
        } else {
            self.price
        }
    }

    /// Orders waiting: placed and not yet filled, rejected, cancelled or expired.
    pub fn pending_orders(&self) -> usize {
        self.orders.len()
    }

    fn commission(&self, size: f64, price: f64) -> f64 {
        if size == 0.0 {
            return 0.0;
        }
        let c = &self.config;
        (size.abs() * price * c.commission + size.abs() * c.commission_per_unit)
            .max(c.commission_min)
    }

    /// Cancels the pending orders named `name`; how many there were.
    fn cancel_named(&mut self, name: u32) -> u64 {
        let before = self.orders.len();
        self.orders.retain(|o| o.name != Some(name));
        let n = (before - self.orders.len()) as u64;
        self.cancelled += n;
        n
    }

    /// An action of the strategy on bar `bar`, whose close is `close`, with the order's name.
    pub fn submit(
        &mut self,
        bar: u64,
        action: Action,
        args: &[f64],
        close: f64,
        name: Option<u32>,
    ) {
        let arg = |i: usize| args.get(i).copied().unwrap_or(f64::NAN);
        let qty = arg(0);
        // The validity in bars, when the order has one as its last argument.
        let bars = |n: usize| (args.len() == n).then(|| arg(n - 1));
        let (size, kind, valid, bracket) = match action {
            Action::CancelAll => {
                self.cancelled += self.orders.len() as u64;
                self.orders.clear();
                return;
            }
            Action::Cancel => {
                if let Some(n) = name {
                    self.cancel_named(n);
                }
                return;
            }
            Action::ClosePosition => {
                // backtrader's close(): the opposite of the position when the order is placed.
                if self.position == 0.0 {
                    return;
                }
                (-self.position, Kind::Market, None, None)
            }
            Action::Buy => (qty, Kind::Market, None, None),
            Action::Sell => (-qty, Kind::Market, None, None),
            Action::BuyLimit => (qty, Kind::Limit(arg(1)), bars(3), None),
            Action::SellLimit => (-qty, Kind::Limit(arg(1)), bars(3), None),
            Action::BuyStop => (qty, Kind::Stop(arg(1)), bars(3), None),
            Action::SellStop => (-qty, Kind::Stop(arg(1)), bars(3), None),
            Action::BuyStopLimit => (
                qty,
                Kind::StopLimit {
                    stop: arg(1),
                    limit: arg(2),
                    triggered: false,
                },
                bars(4),
                None,
            ),
            Action::SellStopLimit => (
                -qty,
                Kind::StopLimit {
                    stop: arg(1),
                    limit: arg(2),
                    triggered: false,
                },
                bars(4),
                None,
            ),
            Action::BuyTrail | Action::SellTrail | Action::BuyTrailPct | Action::SellTrailPct => {
                let buy = matches!(action, Action::BuyTrail | Action::BuyTrailPct);
                let fraction = matches!(action, Action::BuyTrailPct | Action::SellTrailPct);
                let amount = if fraction { arg(1) / 100.0 } else { arg(1) };
                let distance = if fraction { close * amount } else { amount };
                let stop = if buy {
                    close + distance
                } else {
                    close - distance
                };
                let size = if buy { qty } else { -qty };
                (
                    size,
                    Kind::Trail {
                        stop,
                        amount,
                        fraction,
                    },
                    bars(3),
                    None,
                )
            }
            Action::BuyBracket => (qty, Kind::Market, None, Some((arg(1), arg(2)))),
            Action::SellBracket => (-qty, Kind::Market, None, Some((arg(1), arg(2)))),
        };
        let prices_ok = match kind {
            Kind::Market => true,
            Kind::Limit(p) | Kind::Stop(p) => positive(p),
            Kind::StopLimit { stop, limit, .. } => positive(stop) && positive(limit),
            Kind::Trail { stop, amount, .. } => positive(amount) && stop.is_finite(),
        };
        let valid_ok = valid.is_none_or(|b| b.is_finite() && b >= 1.0);
        let bracket_ok = bracket.is_none_or(|(s, t)| positive(s) && positive(t));
        let qty_ok = action == Action::ClosePosition || positive(qty);
        if !qty_ok || !prices_ok || !valid_ok || !bracket_ok {
            self.invalid += 1;
            let r = &mut self.invalid_reasons;
            r.quantity += u64::from(!qty_ok);
            r.price += u64::from(!prices_ok);
            r.bars += u64::from(!valid_ok);
            r.bracket += u64::from(!bracket_ok);
            return;
        }
        if let Some(n) = name {
            self.cancel_named(n);
        }
        let reference = match kind {
            Kind::Market => close,
            Kind::Limit(p) | Kind::Stop(p) => p,
            Kind::StopLimit { stop, .. } => stop,
            Kind::Trail { stop, .. } => stop,
        };
        self.next_id += 1;
        self.orders.push(Order {
            id: self.next_id,
            size,
            kind,
            reference,
            valid_until: valid.map(|b| bar + b as u64),
            fresh: true,
            active_from: bar + 1,
            bracket,
            oco: None,
            name,
        });
    }

    /// Cash left after a fill of `size` at `price` from a position `(pos, pos_price)`, and the new
    /// position. The part that closes the position is valued at `price`, not at the position's
    /// average price: what closing it brings back at that price (as backtrader's `_execute`: its
    /// pseudo-execution values the closed part at the order's price, its real execution at the
    /// average price plus the pnl at the fill price, which is the same).
    fn cash_after(
        &self,
        cash: f64,
        size: f64,
        price: f64,
        pos: f64,
        pos_price: f64,
    ) -> (f64, f64, f64) {
        let u = update(size, price, pos, pos_price);
        let mut cash = cash;
        if u.closed != 0.0 {
            cash += -u.closed * price;
            cash -= self.commission(u.closed, price);
        }
        if u.opened != 0.0 {
            cash -= u.opened * price;
            cash -= self.commission(u.opened, price);
        }
        (cash, pos + size, u.new_price)
    }

    /// The cash check of the orders placed on the previous bar, in order (backtrader's
    /// `check_submitted`).
    fn check_fresh(&mut self, on_event: &mut dyn FnMut(Event)) {
        let (mut cash, mut pos, mut pos_price) = (self.cash, self.position, self.price);
        // One pass, whatever the number of orders: none is removed from the middle of the list.
        let mut orders = std::mem::take(&mut self.orders);
        orders.retain_mut(|o| {
            if !o.fresh {
                return true;
            }
            let (c, p, pp) = self.cash_after(cash, o.size, o.reference, pos, pos_price);
            let opens = update(o.size, o.reference, pos, pos_price).opened != 0.0;
            if c >= 0.0 && (!opens || short_margin_ok(c, p, o.reference)) {
                (cash, pos, pos_price) = (c, p, pp);
                o.fresh = false;
                true
            } else {
                self.rejected += 1;
                on_event(Event::Rejected);
                false
            }
        });
        self.orders = orders;
    }

    /// Starts bar `bar`: checks the orders placed on the previous bar, expires the old ones and
    /// tries every pending order against the bar (see the module contract).
    #[inline]
    pub fn open_bar(&mut self, bar: u64, b: &Bar, on_event: &mut dyn FnMut(Event)) {
        if !self.orders.is_empty() {
            self.try_orders(bar, b, on_event);
        }
    }

    fn try_orders(&mut self, bar: u64, b: &Bar, on_event: &mut dyn FnMut(Event)) {
        self.check_fresh(on_event);
        // One pass over the orders in the order placed (linear in their number): the ones that
        // stay are kept in order; bracket children placed meanwhile go after them.
        let orders = std::mem::take(&mut self.orders);
        let mut keep: Vec<Order> = Vec::with_capacity(orders.len());
        // Orders later in the list cancelled by their other half this bar.
        let mut cancelled: Vec<u64> = Vec::new();
        for mut o in orders {
            if let Some(k) = cancelled.iter().position(|&id| id == o.id) {
                cancelled.swap_remove(k);
                continue;
            }
            if o.valid_until.is_some_and(|last| bar > last) {
                self.expired += 1;
                on_event(Event::Expired);
                continue;
            }
            if bar < o.active_from {
                keep.push(o);
                continue;
            }
            let placed = o;
            match self.try_fill(&mut o, b) {
                Some(price) => {
                    if !self.execute(bar, bar, &placed, price, on_event) {
                        continue;
                    }
                    if let Some(other) = placed.oco {
                        match keep.iter().position(|x| x.id == other) {
                            Some(j) => {
                                keep.remove(j);
                            }
                            None => cancelled.push(other),
                        }
                        self.cancelled += 1;
                        on_event(Event::Cancelled);
                    }
                    if let Some((stop, target)) = placed.bracket {
                        self.place_children(bar, &placed, stop, target);
                    }
                }
                None => {
                    if let Kind::Trail {
                        stop,
                        amount,
                        fraction,
                    } = placed.kind
                    {
                        // backtrader's trailadjust at the close, only in the favourable direction.
                        let d = if fraction { b.close * amount } else { amount };
                        let stop = if placed.size > 0.0 {
                            stop.min(b.close + d)
                        } else {
                            stop.max(b.close - d)
                        };
                        o.kind = Kind::Trail {
                            stop,
                            amount,
                            fraction,
                        };
                    }
                    keep.push(o);
                }
            }
        }
        keep.append(&mut self.orders);
        self.orders = keep;
    }

    /// Ends bar `bar` (after the strategy ran): with fill-on-close, the market orders placed on it
    /// fill at its close.
    #[inline]
    pub fn close_bar(&mut self, bar: u64, close: f64, on_event: &mut dyn FnMut(Event)) {
        if self.config.fill_on_close && !self.orders.is_empty() {
            self.fill_at_close(bar, close, on_event);
        }
    }

    fn fill_at_close(&mut self, bar: u64, close: f64, on_event: &mut dyn FnMut(Event)) {
        self.check_fresh(on_event);
        // The market orders placed on this bar fill, in order; the others stay, in order, with
        // any bracket children after them.
        let orders = std::mem::take(&mut self.orders);
        let mut keep = Vec::with_capacity(orders.len());
        for o in orders {
            if o.kind == Kind::Market && o.active_from == bar + 1 {
                if self.execute(bar, bar + 1, &o, close, on_event)
                    && let Some((stop, target)) = o.bracket
                {
                    self.place_children(bar, &o, stop, target);
                }
            } else {
                keep.push(o);
            }
        }
        keep.append(&mut self.orders);
        self.orders = keep;
    }

    fn place_children(&mut self, bar: u64, parent: &Order, stop: f64, target: f64) {
        let (stop_id, target_id) = (self.next_id + 1, self.next_id + 2);
        self.next_id += 2;
        for (id, kind, oco) in [
            (stop_id, Kind::Stop(stop), target_id),
            (target_id, Kind::Limit(target), stop_id),
        ] {
            self.orders.push(Order {
                id,
                size: -parent.size,
                kind,
                reference: stop,
                valid_until: None,
                fresh: false,
                active_from: bar + 1,
                bracket: None,
                oco: Some(oco),
                name: None,
            });
        }
    }

    fn slip_up(&self, price: f64, cap: f64) -> f64 {
        let c = &self.config;
        let slipped = if c.slippage != 0.0 {
            price * (1.0 + c.slippage)
        } else if c.slippage_fixed != 0.0 {
            price + c.slippage_fixed
        } else {
            return price;
        };
        slipped.min(cap)
    }

    fn slip_down(&self, price: f64, floor: f64) -> f64 {
        let c = &self.config;
        let slipped = if c.slippage != 0.0 {
            price * (1.0 - c.slippage)
        } else if c.slippage_fixed != 0.0 {
            price - c.slippage_fixed
        } else {
            return price;
        };
        slipped.max(floor)
    }

    /// The fill price of order `i` on bar `b`, if it fills (backtrader's `_try_exec_*`).
    fn try_fill(&self, order: &mut Order, b: &Bar) -> Option<f64> {
        let o = *order;
        let buy = o.size > 0.0;
        let limit = |me: &Self, limit: f64| -> Option<f64> {
            if buy {
                if limit >= b.open {
                    Some(me.slip_up(b.open, b.high.min(limit)))
                } else if limit >= b.low {
                    Some(limit)
                } else {
                    None
                }
            } else if limit <= b.open {
                Some(me.slip_down(b.open, b.low.max(limit)))
            } else if limit <= b.high {
                Some(limit)
            } else {
                None
            }
        };
        let stop = |me: &Self, stop: f64| -> Option<f64> {
            if buy {
                if b.open >= stop {
                    Some(me.slip_up(b.open, b.high))
                } else if b.high >= stop {
                    Some(me.slip_up(stop, b.high))
                } else {
                    None
                }
            } else if b.open <= stop {
                Some(me.slip_down(b.open, b.low))
            } else if b.low <= stop {
                Some(me.slip_down(stop, b.low))
            } else {
                None
            }
        };
        match o.kind {
            Kind::Market => Some(if buy {
                self.slip_up(b.open, b.high)
            } else {
                self.slip_down(b.open, b.low)
            }),
            Kind::Limit(p) => limit(self, p),
            Kind::Stop(p) | Kind::Trail { stop: p, .. } => stop(self, p),
            Kind::StopLimit {
                triggered: true,
                limit: l,
                ..
            } => limit(self, l),
            Kind::StopLimit {
                stop: s, limit: l, ..
            } => {
                if (buy && b.open >= s) || (!buy && b.open <= s) {
                    order.kind = Kind::StopLimit {
                        stop: s,
                        limit: l,
                        triggered: true,
                    };
                    return limit(self, l);
                }
                let touched = if buy { b.high >= s } else { b.low <= s };
                if !touched {
                    return None;
                }
                order.kind = Kind::StopLimit {
                    stop: s,
                    limit: l,
                    triggered: true,
                };
                // backtrader's same-bar rule after an intrabar trigger.
                if buy {
                    if l >= s {
                        Some(self.slip_up(s, b.high))
                    } else if b.open > b.close && l >= b.close {
                        Some(l)
                    } else {
                        None
                    }
                } else if l <= s {
                    Some(self.slip_down(s, b.low))
                } else if b.open <= b.close && l <= b.close {
                    Some(l)
                } else {
                    None
                }
            }
        }
    }

    /// Fills order `o` at `price` if the cash covers it; false (and rejected) if not. The
    /// strategy sees the fill on bar `visible`.
    fn execute(
        &mut self,
        bar: u64,
        visible: u64,
        o: &Order,
        price: f64,
        on_event: &mut dyn FnMut(Event),
    ) -> bool {
        let (c, p, _) = self.cash_after(self.cash, o.size, price, self.position, self.price);
        let u = update(o.size, price, self.position, self.price);
        if u.opened != 0.0 && (c < 0.0 || !short_margin_ok(c, p, price)) {
            self.rejected += 1;
            on_event(Event::Rejected);
            return false;
        }
        if let Some(view) = o.name.and_then(|n| self.last_fills.get_mut(n as usize)) {
            *view = FillView {
                bar: visible as f64,
                qty: o.size,
                price,
            };
        }
        self.fill(
            bar,
            o.size,
            price,
            (o.name, FillKind::of(&o.kind)),
            on_event,
        );
        true
    }

    fn fill(
        &mut self,
        bar: u64,
        size: f64,
        price: f64,
        (name, kind): (Option<u32>, FillKind),
        on_event: &mut dyn FnMut(Event),
    ) {
        let u = update(size, price, self.position, self.price);
        self.fills += 1;
        on_event(Event::Fill {
            size,
            price,
            kind,
            exit: u.closed != 0.0,
        });
        if u.closed != 0.0 {
            let pnl = -u.closed * (price - self.price);
            let comm = self.commission(u.closed, price);
            self.cash += -u.closed * self.price + pnl - comm;
            if let Some(t) = &mut self.trade {
                t.pnl += pnl;
                t.commission += comm;
                t.closed_size += u.closed.abs();
                t.closed_value += u.closed.abs() * price;
            }
        }
        self.position += u.closed;
        if self.position == 0.0
            && let Some(t) = self.trade.take()
        {
            on_event(Event::Closed(ClosedTrade {
                entry_bar: t.entry_bar,
                exit_bar: bar,
                qty: t.qty,
                entry_price: t.entry_price,
                exit_price: t.closed_value / t.closed_size,
                pnl: t.pnl,
                pnl_net: t.pnl - t.commission,
                entry_order: t.entry_order,
                exit_order: name,
                entry_time: t.entry_time,
                exit_time: self.now,
                exit_kind: kind,
                symbol: 0,
            }));
        }
        if u.opened != 0.0 {
            let comm = self.commission(u.opened, price);
            self.cash -= u.opened * price + comm;
            let was_flat = self.position == 0.0;
            self.position += u.opened;
            match &mut self.trade {
                Some(t) if !was_flat => {
                    t.commission += comm;
                    if t.qty.abs() < self.position.abs() {
                        t.qty = self.position;
                    }
                    t.entry_price = u.new_price;
                }
                _ => {
                    self.trade = Some(OpenTrade {
                        entry_bar: bar,
                        qty: self.position,
                        entry_price: price,
                        pnl: 0.0,
                        commission: comm,
                        closed_size: 0.0,
                        closed_value: 0.0,
                        entry_order: name,
                        entry_time: self.now,
                    })
                }
            }
        }
        self.price = u.new_price;
    }

    /// The open trade, if any: (entry bar, signed size, average entry price).
    /// The nearest pending stop and take-profit that would reduce the open position: for a
    /// long, the highest sell stop (a trailing stop's current level) and the lowest sell limit;
    /// for a short, the mirror. NaN where there is none.
    pub fn protective_levels(&self) -> (f64, f64) {
        let (mut stop, mut target) = (f64::NAN, f64::NAN);
        if self.position == 0.0 || self.orders.is_empty() {
            return (stop, target);
        }
        let long = self.position > 0.0;
        let nearer = |cur: f64, v: f64, higher: bool| {
            if cur.is_nan() || (higher && v > cur) || (!higher && v < cur) {
                v
            } else {
                cur
            }
        };
        for o in &self.orders {
            if (o.size < 0.0) != long {
                continue;
            }
            match o.kind {
                Kind::Stop(p) | Kind::StopLimit { stop: p, .. } | Kind::Trail { stop: p, .. } => {
                    stop = nearer(stop, p, long)
                }
                Kind::Limit(p) => target = nearer(target, p, !long),
                Kind::Market => {}
            }
        }
        (stop, target)
    }

    pub fn open_trade(&self) -> Option<(u64, f64, f64)> {
        self.trade
            .map(|t| (t.entry_bar, self.position, t.entry_price))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(open: f64, high: f64, low: f64, close: f64) -> Bar {
        Bar {
            time: 0,
            open,
            high,
            low,
            close,
            volume: 0.0,
        }
    }

    /// Runs orders `(bar, action, args)` over bars; returns the broker, closed trades and fills.
    fn run(
        orders: &[(u64, Action, &[f64])],
        bars: &[Bar],
    ) -> (Broker, Vec<ClosedTrade>, Vec<(u64, f64, f64)>) {
        let config = BrokerConfig {
            cash: 10_000.0,
            commission: 0.001,
            ..BrokerConfig::default()
        };
        let mut b = Broker::new(config);
        let (mut closed, mut fills) = (Vec::new(), Vec::new());
        for (t, data) in bars.iter().enumerate() {
            b.open_bar(t as u64, data, &mut |e| match e {
                Event::Closed(c) => closed.push(c),
                Event::Fill { size, price, .. } => fills.push((t as u64, size, price)),
                _ => {}
            });
            for &(at, action, args) in orders {
                if at == t as u64 {
                    b.submit(t as u64, action, args, data.close, None);
                }
            }
        }
        (b, closed, fills)
    }

    #[test]
    fn long_round_trip_pays_commission_on_both_fills() {
        let bars = [
            bar(100.0, 100.0, 100.0, 100.0),
            bar(101.0, 101.0, 101.0, 110.0),
            bar(111.0, 111.0, 111.0, 111.0),
        ];
        let (b, closed, _) = run(
            &[(0, Action::Buy, &[10.0]), (1, Action::ClosePosition, &[])],
            &bars,
        );
        assert_eq!(closed.len(), 1);
        let t = closed[0];
        assert_eq!((t.entry_bar, t.exit_bar, t.qty), (1, 2, 10.0));
        assert_eq!(t.pnl, 10.0 * (111.0 - 101.0));
        let comm = 10.0 * 101.0 * 0.001 + 10.0 * 111.0 * 0.001;
        assert!((t.pnl_net - (100.0 - comm)).abs() < 1e-9);
        assert!((b.cash - (10_000.0 + 100.0 - comm)).abs() < 1e-9);
    }

    #[test]
    fn limit_fills_at_the_open_through_a_gap_or_at_the_limit() {
        let bars = [
            bar(100.0, 100.0, 100.0, 100.0),
            bar(98.0, 99.0, 97.0, 98.0),
            bar(100.0, 101.0, 94.0, 95.0),
        ];
        let (_, _, fills) = run(
            &[
                (0, Action::BuyLimit, &[1.0, 98.5]),
                (0, Action::BuyLimit, &[1.0, 95.0]),
            ],
            &bars,
        );
        assert_eq!(fills, vec![(1, 1.0, 98.0), (2, 1.0, 95.0)]);
    }

    #[test]
    fn stops_trigger_on_the_range_and_gaps_fill_at_the_open() {
        let bars = [
            bar(100.0, 100.0, 100.0, 100.0),
            bar(100.0, 103.0, 99.0, 102.0),
            bar(106.0, 107.0, 105.0, 106.0),
        ];
        let (_, _, fills) = run(
            &[
                (0, Action::BuyStop, &[1.0, 102.0]),
                (0, Action::BuyStop, &[1.0, 105.0]),
            ],
            &bars,
        );
        assert_eq!(fills, vec![(1, 1.0, 102.0), (2, 1.0, 106.0)]);
    }

    #[test]
    fn orders_expire_after_their_bars() {
        let bars = [
            bar(100.0, 100.0, 100.0, 100.0),
            bar(100.0, 101.0, 99.0, 100.0),
            bar(100.0, 101.0, 99.0, 100.0),
            bar(90.0, 91.0, 89.0, 90.0),
        ];
        let (b, _, fills) = run(&[(0, Action::BuyLimit, &[1.0, 95.0, 2.0])], &bars);
        assert!(fills.is_empty());
        assert_eq!(b.expired, 1);
    }

    #[test]
    fn trailing_stop_follows_the_close_up() {
        let bars = [
            bar(100.0, 100.0, 100.0, 100.0),
            bar(100.0, 110.0, 100.0, 110.0),
            bar(110.0, 120.0, 110.0, 120.0),
            bar(119.0, 119.0, 114.0, 115.0),
        ];
        let (_, _, fills) = run(
            &[
                (0, Action::Buy, &[1.0]),
                (0, Action::SellTrail, &[1.0, 5.0]),
            ],
            &bars,
        );
        // Stop 95 at placement, 105 after bar 1's close, 115 after bar 2's: hit on bar 3.
        assert_eq!(fills, vec![(1, 1.0, 100.0), (3, -1.0, 115.0)]);
    }

    #[test]
    fn bracket_children_cancel_each_other() {
        let bars = [
            bar(100.0, 100.0, 100.0, 100.0),
            bar(100.0, 101.0, 99.0, 100.0),
            bar(100.0, 111.0, 99.0, 110.0),
            bar(110.0, 111.0, 80.0, 85.0),
        ];
        let (b, closed, fills) = run(&[(0, Action::BuyBracket, &[1.0, 90.0, 110.0])], &bars);
        assert_eq!(fills, vec![(1, 1.0, 100.0), (2, -1.0, 110.0)]);
        assert_eq!(closed.len(), 1);
        assert_eq!((b.pending_orders(), b.cancelled), (0, 1));
    }

    #[test]
    fn a_reversal_is_cash_checked_with_the_closed_side_at_the_order_price() {
        // Short 100 from 100; at 50, buying back 100 costs 5,000 (not the 10,000 it was sold
        // for), which leaves enough for 299 more: backtrader accepts the reversal.
        let bars = [
            bar(100.0, 100.0, 100.0, 100.0),
            bar(100.0, 100.0, 100.0, 100.0),
            bar(50.0, 50.0, 50.0, 50.0),
            bar(50.0, 50.0, 50.0, 50.0),
        ];
        let (b, closed, _) = run(
            &[(0, Action::Sell, &[100.0]), (2, Action::Buy, &[399.0])],
            &bars,
        );
        assert_eq!((b.rejected, b.position, closed.len()), (0, 299.0, 1));
    }

    #[test]
    fn a_reversal_the_cash_cannot_cover_at_its_fill_is_rejected_whole() {
        // The documented difference: checked at the close (100) the reversal fits; at the gap
        // open (120) it does not. backtrader would buy back the short and drop the rest; btl
        // rejects the whole order and the short stays.
        let bars = [
            bar(100.0, 100.0, 100.0, 100.0),
            bar(100.0, 100.0, 100.0, 100.0),
            bar(100.0, 100.0, 100.0, 100.0),
            bar(120.0, 120.0, 120.0, 120.0),
        ];
        let (b, closed, _) = run(
            &[(0, Action::Sell, &[100.0]), (2, Action::Buy, &[199.0])],
            &bars,
        );
        assert_eq!((b.rejected, b.position, closed.len()), (1, -100.0, 0));
    }

    #[test]
    fn orders_the_cash_cannot_cover_are_rejected_and_bad_ones_ignored() {
        let bars = [
            bar(100.0, 100.0, 100.0, 100.0),
            bar(100.0, 100.0, 100.0, 100.0),
        ];
        let (b, closed, _) = run(&[(0, Action::Buy, &[1000.0])], &bars);
        assert_eq!((b.rejected, b.position, closed.len()), (1, 0.0, 0));
        let (b, _, _) = run(
            &[
                (0, Action::Buy, &[f64::NAN]),
                (0, Action::Sell, &[-1.0]),
                (0, Action::BuyLimit, &[1.0, -5.0]),
            ],
            &bars,
        );
        assert_eq!((b.invalid, b.fills), (3, 0));
    }

    #[test]
    fn cancel_all_empties_the_book() {
        let bars = [
            bar(100.0, 100.0, 100.0, 100.0),
            bar(100.0, 100.0, 100.0, 100.0),
            bar(100.0, 100.0, 100.0, 100.0),
        ];
        let (b, _, fills) = run(
            &[
                (0, Action::BuyLimit, &[1.0, 50.0]),
                (1, Action::CancelAll, &[]),
            ],
            &bars,
        );
        assert!(fills.is_empty());
        assert_eq!((b.pending_orders(), b.cancelled), (0, 1));
    }
}
