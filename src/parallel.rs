//! An ordered parallel map: items `0..n` are worked on by `jobs` threads, and their results are
//! handed to the caller in item order, whatever order they finish in.
//!
//! Contract: each item is worked on once; `each` is called on the calling thread, in item order;
//! only the results that finished ahead of an unfinished one are held. No IO.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Runs `work(i)` for every `i` in `0..n` on `jobs` threads (at least one, at most `n`) and calls
/// `each` with the results in order of `i`.
pub fn ordered<T: Send>(
    n: u64,
    jobs: usize,
    work: impl Fn(u64) -> T + Sync,
    mut each: impl FnMut(T),
) {
    let next = AtomicU64::new(0);
    let jobs = jobs.max(1).min(n.max(1) as usize);
    let (tx, rx) = std::sync::mpsc::channel::<(u64, T)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || {
                loop {
                    let at = next.fetch_add(1, Ordering::Relaxed);
                    if at >= n || tx.send((at, work(at))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut waiting = BTreeMap::new();
        let mut due = 0u64;
        for (at, result) in rx {
            waiting.insert(at, result);
            while let Some(result) = waiting.remove(&due) {
                each(result);
                due += 1;
            }
        }
    });
}
