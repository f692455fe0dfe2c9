//! Helpers shared by the integration tests.

use std::io::Write;
use std::path::Path;

/// Writes `n` minute bars of a seeded random walk as CSV (epoch-second timestamps).
pub fn write_bars(path: &Path, n: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "timestamp,open,high,low,close,volume").unwrap();
    let mut price = 100.0f64;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let step = ((state % 2001) as f64 - 1000.0) / 1000.0 * 0.01;
        let open = price;
        price = (price * (1.0 + step)).max(1.0);
        let (hi, lo) = (open.max(price) * 1.002, open.min(price) * 0.998);
        writeln!(
            f,
            "{},{open:.4},{hi:.4},{lo:.4},{price:.4},{}",
            946_684_800 + i as i64 * 60,
            1000 + i % 500
        )
        .unwrap();
    }
}
