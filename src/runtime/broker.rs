//! A simulated broker with backtrader's default rules (`BackBroker`), so results can be checked
//! against it.
//!
//! Contract:
//! - A market order placed on bar t is checked for cash when bar t+1 starts, at bar t's close
//!   (backtrader's `checksubmit`, pseudo-executing the bar's orders in order), and fills at bar
//!   t+1's open. An order the cash cannot cover is rejected and counted, never filled.
//! - Commission is a fraction of traded value, charged on every fill.
//! - Stocks with `shortcash`: buying spends cash, selling (also short) receives it; the position is
//!   signed; value = cash + position × price.
//! - The position's price is the average entry price: increasing averages it, reducing keeps it,
//!   reversing restarts it at the fill price (backtrader's `Position.update`).
//! - A trade opens when the position leaves zero and closes when it returns to zero (a reversal
//!   closes one trade and opens the next). Its pnl is the gross profit of its closing fills; its net
//!   pnl also subtracts every commission paid on its fills.
//!
//! Documented difference: when the real fill at the open needs more cash than is left (a gap after
//! the check at the close), backtrader fills only the closing part of the order; btl rejects the
//! opening part too and counts the order as rejected, closing nothing it was not asked to. Both
//! happen only on gaps larger than the cash cushion.

use crate::sema::elab::Action;

/// How orders fill; printed in every report.
pub const FILL_CONVENTION: &str = "market orders fill at the next bar's open; cash checked at the signal bar's close (backtrader BackBroker defaults)";

#[derive(Debug, Clone, Copy)]
pub struct BrokerConfig {
    pub cash: f64,
    /// Fraction of traded value, e.g. 0.001.
    pub commission: f64,
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
}

#[derive(Debug, Clone, Copy)]
struct Order {
    /// Signed size: positive buys.
    size: f64,
    /// The close of the bar it was placed on.
    created_price: f64,
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
}

#[derive(Debug, Clone)]
pub struct Broker {
    config: BrokerConfig,
    pub cash: f64,
    /// Signed quantity held.
    pub position: f64,
    /// Average entry price of the position (0 when flat).
    pub price: f64,
    pending: Vec<Order>,
    trade: Option<OpenTrade>,
    pub rejected: u64,
    /// Orders with a quantity that is `na`, zero or negative: ignored, counted.
    pub invalid: u64,
    pub fills: u64,
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

impl Broker {
    pub fn new(config: BrokerConfig) -> Broker {
        Broker {
            config,
            cash: config.cash,
            position: 0.0,
            price: 0.0,
            pending: Vec::new(),
            trade: None,
            rejected: 0,
            invalid: 0,
            fills: 0,
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

    /// An action of the strategy on the bar whose close is `close`.
    pub fn submit(&mut self, action: Action, qty: f64, close: f64) {
        let size = match action {
            Action::Buy | Action::Sell if qty.is_nan() || qty <= 0.0 || qty.is_infinite() => {
                self.invalid += 1;
                return;
            }
            Action::Buy => qty,
            Action::Sell => -qty,
            // backtrader's close(): the opposite of the position when the order is placed.
            Action::ClosePosition => {
                if self.position == 0.0 {
                    return;
                }
                -self.position
            }
        };
        self.pending.push(Order {
            size,
            created_price: close,
        });
    }

    /// Cash left after a fill of `size` at `price` from a position `(pos, pos_price)` (no pnl, as
    /// backtrader's pseudo-execution), and the new position.
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
            cash += -u.closed * pos_price;
            cash -= u.closed.abs() * price * self.config.commission;
        }
        if u.opened != 0.0 {
            cash -= u.opened * price;
            cash -= u.opened.abs() * price * self.config.commission;
        }
        (cash, pos + size, u.new_price)
    }

    /// Starts bar `bar`: checks the orders placed on the previous bar and fills the accepted ones
    /// at `open`. Closed trades are passed to `on_close`.
    pub fn open_bar(&mut self, bar: u64, open: f64, on_close: &mut dyn FnMut(ClosedTrade)) {
        if self.pending.is_empty() {
            return;
        }
        let orders = std::mem::take(&mut self.pending);
        // The check at submission: pseudo-execute in order at the created price.
        let (mut cash, mut pos, mut pos_price) = (self.cash, self.position, self.price);
        let mut accepted = Vec::with_capacity(orders.len());
        for o in orders {
            let (c, p, pp) = self.cash_after(cash, o.size, o.created_price, pos, pos_price);
            if c >= 0.0 {
                (cash, pos, pos_price) = (c, p, pp);
                accepted.push(o);
            } else {
                self.rejected += 1;
            }
        }
        for o in accepted {
            let (c, _, _) = self.cash_after(self.cash, o.size, open, self.position, self.price);
            let u = update(o.size, open, self.position, self.price);
            if c < 0.0 && u.opened != 0.0 {
                self.rejected += 1;
                continue;
            }
            self.fill(bar, o.size, open, on_close);
        }
    }

    fn fill(&mut self, bar: u64, size: f64, price: f64, on_close: &mut dyn FnMut(ClosedTrade)) {
        let commission = self.config.commission;
        let u = update(size, price, self.position, self.price);
        self.fills += 1;
        if u.closed != 0.0 {
            let pnl = -u.closed * (price - self.price);
            let comm = u.closed.abs() * price * commission;
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
            on_close(ClosedTrade {
                entry_bar: t.entry_bar,
                exit_bar: bar,
                qty: t.qty,
                entry_price: t.entry_price,
                exit_price: t.closed_value / t.closed_size,
                pnl: t.pnl,
                pnl_net: t.pnl - t.commission,
            });
        }
        if u.opened != 0.0 {
            let comm = u.opened.abs() * price * commission;
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
                    })
                }
            }
        }
        self.price = u.new_price;
    }

    /// The open trade, if any: (entry bar, signed size, average entry price).
    pub fn open_trade(&self) -> Option<(u64, f64, f64)> {
        self.trade
            .map(|t| (t.entry_bar, self.position, t.entry_price))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(orders: &[(u64, Action, f64, f64)], opens: &[f64]) -> (Broker, Vec<ClosedTrade>) {
        let mut b = Broker::new(BrokerConfig {
            cash: 10_000.0,
            commission: 0.001,
        });
        let mut closed = Vec::new();
        for (bar, &open) in opens.iter().enumerate() {
            b.open_bar(bar as u64, open, &mut |t| closed.push(t));
            for &(at, action, qty, close) in orders {
                if at == bar as u64 {
                    b.submit(action, qty, close);
                }
            }
        }
        (b, closed)
    }

    #[test]
    fn long_round_trip_pays_commission_on_both_fills() {
        let (b, closed) = run(
            &[
                (0, Action::Buy, 10.0, 100.0),
                (1, Action::ClosePosition, 0.0, 110.0),
            ],
            &[100.0, 101.0, 111.0],
        );
        assert_eq!(closed.len(), 1);
        let t = closed[0];
        assert_eq!((t.entry_bar, t.exit_bar, t.qty), (1, 2, 10.0));
        assert_eq!(t.pnl, 10.0 * (111.0 - 101.0));
        let comm = 10.0 * 101.0 * 0.001 + 10.0 * 111.0 * 0.001;
        assert!((t.pnl_net - (100.0 - comm)).abs() < 1e-9);
        assert!((b.cash - (10_000.0 + 100.0 - comm)).abs() < 1e-9);
        assert_eq!(b.position, 0.0);
    }

    #[test]
    fn reversal_closes_one_trade_and_opens_another() {
        let (b, closed) = run(
            &[
                (0, Action::Buy, 10.0, 100.0),
                (1, Action::Sell, 20.0, 100.0),
            ],
            &[100.0, 100.0, 90.0, 95.0],
        );
        assert_eq!(closed.len(), 1);
        assert_eq!(b.position, -10.0);
        assert_eq!(b.open_trade().map(|t| (t.0, t.2)), Some((2, 90.0)));
        // Value marks the short to market.
        assert!(b.value(80.0) > b.value(90.0));
    }

    #[test]
    fn orders_the_cash_cannot_cover_are_rejected() {
        let (b, closed) = run(&[(0, Action::Buy, 1000.0, 100.0)], &[100.0, 100.0]);
        assert_eq!(b.rejected, 1);
        assert_eq!(b.position, 0.0);
        assert!(closed.is_empty());
        let (b, _) = run(
            &[
                (0, Action::Buy, f64::NAN, 100.0),
                (0, Action::Sell, -1.0, 100.0),
            ],
            &[100.0, 100.0],
        );
        assert_eq!((b.invalid, b.fills), (2, 0));
    }
}
