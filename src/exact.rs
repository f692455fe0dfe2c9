//! Exact window sums: the correctly rounded value of the exact sum of the last `n` values of a
//! series, at O(1) per bar, for `window_sum` (and so `sma`, `sum`, Bollinger bands, ...): a running
//! sum in floating point drifts, and turns exact ties (a fast and a slow average equal in exact
//! arithmetic) into crossings.
//!
//! Contract: the state of one window is [`STATE`] `f64` cells (so both engines keep it in the
//! machine's plain `f64` memory; the cells hold integer bit patterns): a fixed-point accumulator
//! of `LIMBS` signed 64-bit limbs of 32-bit digits, from 2^-1074 (the smallest subnormal) up,
//! plus counts of the `na`, +∞ and −∞ values in the window. [`step`] adds the value entering the
//! window and removes the one leaving it, each exactly (no rounding anywhere), and returns the
//! sum rounded once, to nearest with ties to even: the value Python's `math.fsum` gives for the
//! window. `na` values count as 0 (as `nz` does); an infinity in the window gives that infinity
//! (both signs: `na`). Pure and allocation-free; never panics.

/// Digits of 32 bits each, from bit 0 = 2^-1074; 2098 bits hold every finite double, and the
/// rest leaves room for the carries of sums of up to 2^60 values.
const LIMBS: usize = 68;
/// Cells of one window's state.
pub const STATE: usize = LIMBS + 10;
const OPS: usize = LIMBS;
const NANS: usize = LIMBS + 1;
const POS_INF: usize = LIMBS + 2;
const NEG_INF: usize = LIMBS + 3;
/// The limbs ever touched, `lo..=hi`, stored as `LIMBS - lo` and `hi + 1` so that the zeros of
/// a fresh state mean "none": normalizing and rounding look at these only (prices of one
/// magnitude touch three or four limbs, not 68).
const LO: usize = LIMBS + 4;
const HI: usize = LIMBS + 5;
/// The fast form, used while every value fits: the sum as one 128-bit integer `FAST_HI:FAST_LO`
/// of units 2^(BASE - 1074). `MODE` is 0 before the first value, 1 in the fast form, 2 once the
/// values span too many magnitudes and the limbs hold the sum.
const MODE: usize = LIMBS + 6;
const BASE: usize = LIMBS + 7;
const FAST_LO: usize = LIMBS + 8;
const FAST_HI: usize = LIMBS + 9;
/// Bits below a first value's lowest bit where the fast form starts (a finer value rescales it
/// while there is room), and the most bits its integer may use.
const FAST_MARGIN: i64 = 0;
const FAST_BITS: u32 = 124;

fn fast(state: &[f64]) -> i128 {
    ((get(state, FAST_HI) as i128) << 64) | (get(state, FAST_LO) as u64 as i128)
}

fn set_fast(state: &mut [f64], v: i128) {
    set(state, FAST_LO, v as u64 as i64);
    set(state, FAST_HI, (v >> 64) as i64);
}

/// `x` (finite, not 0) as `mant` × 2^(`pos` - 1074), `mant` < 2^53.
fn parts(x: f64) -> (u64, i64) {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        (frac, 0)
    } else {
        (frac | (1u64 << 52), exp - 1)
    }
}

/// Adds `sign` × `x` (finite) in the fast form while it fits; else moves the sum to the limbs
/// (for good) and adds it there.
fn add(state: &mut [f64], x: f64, sign: i64) {
    if x == 0.0 {
        return;
    }
    let (mant, pos) = parts(x);
    let signed = if x < 0.0 { -sign } else { sign };
    let mode = get(state, MODE);
    if mode == 0 {
        set(state, MODE, 1);
        set(state, BASE, (pos - FAST_MARGIN).max(0));
        set_fast(state, 0);
    }
    if mode != 2 {
        let mut base = get(state, BASE);
        let mut v = fast(state);
        if pos < base {
            // A value below the units: rescale if the integer has room.
            let r = (base - pos) as u32;
            if v.unsigned_abs().leading_zeros() > r + (128 - FAST_BITS) {
                v <<= r;
                base = pos;
                set(state, BASE, base);
            } else {
                return to_limbs(state, x, sign);
            }
        }
        let shift = (pos - base) as u32;
        if shift + 53 < FAST_BITS {
            let delta = i128::from(mant) << shift;
            let sum = v + i128::from(signed) * delta;
            if sum.unsigned_abs().leading_zeros() > 128 - FAST_BITS {
                set_fast(state, sum);
                return;
            }
        }
        set_fast(state, v);
        return to_limbs(state, x, sign);
    }
    accumulate(state, x, sign);
}

/// Leaves the fast form: its sum goes into the limbs, then `sign` × `x`.
fn to_limbs(state: &mut [f64], x: f64, sign: i64) {
    let v = fast(state);
    let base = get(state, BASE);
    set(state, MODE, 2);
    set_fast(state, 0);
    // |v| in pieces of 50 bits, each an exact double at its place.
    let (mag, neg) = (v.unsigned_abs(), v < 0);
    for k in 0..3 {
        let piece = ((mag >> (50 * k)) & ((1u128 << 50) - 1)) as u64;
        if piece != 0 {
            let value = piece as f64 * pow2(base + 50 * k as i64 - 1074);
            accumulate(state, if neg { -value } else { value }, 1);
        }
    }
    accumulate(state, x, sign);
}

/// `v` rounded to the nearest double, ties to even, with the processor's i64 conversion: a wider
/// value is first cut to 63 bits with the bits cut off folded into the last one ("round to
/// odd", exact for a later rounding to 53 bits), then scaled back.
fn to_f64(v: i128) -> f64 {
    if let Ok(small) = i64::try_from(v) {
        return small as f64;
    }
    let mag = v.unsigned_abs();
    let cut = 65 - mag.leading_zeros();
    let kept = (mag >> cut) as u64 | u64::from(mag & ((1u128 << cut) - 1) != 0);
    let r = kept as i64 as f64 * pow2(i64::from(cut));
    if v < 0 { -r } else { r }
}

/// The fast form's sum rounded to the nearest double; `None` where scaling could round (a
/// result below the normal range), which the limbs then handle.
fn round_fast(state: &[f64]) -> Option<f64> {
    let v = fast(state);
    if v == 0 {
        return Some(0.0);
    }
    // Rust rounds integers to f64 to nearest, ties to even (from i64 in one instruction);
    // scaling by a power of two is exact for a normal result.
    let r = to_f64(v) * pow2(get(state, BASE) - 1074);
    (r.abs() >= f64::MIN_POSITIVE).then_some(r)
}

/// The range of limbs touched so far (`None` before the first).
fn range(state: &[f64]) -> Option<(usize, usize)> {
    let lo = LIMBS as i64 - get(state, LO);
    let hi = get(state, HI) - 1;
    (0 <= lo && lo <= hi && hi < LIMBS as i64).then_some((lo as usize, hi as usize))
}
/// Operations between carry propagations: a limb then stays far inside an i64. (Small under
/// test, so that the tests go through it.)
const NORMALIZE_EVERY: i64 = if cfg!(test) { 37 } else { 1 << 24 };

fn get(state: &[f64], i: usize) -> i64 {
    state.get(i).map_or(0, |c| c.to_bits() as i64)
}

fn set(state: &mut [f64], i: usize, v: i64) {
    if let Some(c) = state.get_mut(i) {
        *c = f64::from_bits(v as u64);
    }
}

/// Adds `sign` × `x` (finite) to the accumulator.
fn accumulate(state: &mut [f64], x: f64, sign: i64) {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (mant, shift) = if exp == 0 {
        (frac, 0) // subnormal: frac × 2^-1074
    } else {
        (frac | (1u64 << 52), exp - 1) // (2^52 + frac) × 2^(exp - 1075) = × 2^-1074 × 2^(exp - 1)
    };
    if mant == 0 {
        return;
    }
    let sign = if x < 0.0 { -sign } else { sign };
    let (limb, offset) = ((shift / 32) as usize, (shift % 32) as u32);
    let wide = u128::from(mant) << offset;
    for k in 0..3 {
        let digit = ((wide >> (32 * k)) & 0xffff_ffff) as i64;
        if digit != 0 {
            let i = limb + k;
            set(state, i, get(state, i) + sign * digit);
        }
    }
    // The touched range grows to cover these limbs (and the one above, for carries).
    let top = (limb + 3).min(LIMBS - 1);
    match range(state) {
        Some((lo, hi)) if lo <= limb && top <= hi => {}
        Some((lo, hi)) => {
            set(state, LO, (LIMBS - lo.min(limb)) as i64);
            set(state, HI, hi.max(top) as i64 + 1);
        }
        None => {
            set(state, LO, (LIMBS - limb) as i64);
            set(state, HI, top as i64 + 1);
        }
    }
    let ops = get(state, OPS) + 1;
    if ops >= NORMALIZE_EVERY {
        let mut limbs = [0i64; LIMBS];
        for (i, l) in limbs.iter_mut().enumerate() {
            *l = get(state, i);
        }
        normalize(&mut limbs);
        for (i, l) in limbs.iter().enumerate() {
            set(state, i, *l);
        }
        // Carries may have reached limbs above the range.
        if let Some(top) = limbs.iter().rposition(|&l| l != 0) {
            let hi = get(state, HI) - 1;
            set(state, HI, hi.max(top as i64) + 1);
        }
        set(state, OPS, 0);
    } else {
        set(state, OPS, ops);
    }
}

/// Propagates carries through `limbs`: every limb but the last in `0..2^32`, the last signed.
fn normalize(limbs: &mut [i64]) {
    for i in 0..limbs.len().saturating_sub(1) {
        let carry = limbs[i] >> 32;
        limbs[i] -= carry << 32;
        limbs[i + 1] += carry;
    }
}

/// The accumulator's value rounded to the nearest double (ties to even); ±∞ past the range.
fn round(state: &[f64]) -> f64 {
    let Some((lo, hi)) = range(state) else {
        return 0.0;
    };
    // The limbs from `lo` up with three above `hi` for carries (the last one signed): on the
    // stack, eight of them for the usual narrow range (prices of one magnitude), else all.
    const NARROW: usize = 8;
    let len = (hi - lo + 4).min(LIMBS - lo);
    if len <= NARROW {
        let mut w = [0i64; NARROW];
        for (k, l) in w.iter_mut().enumerate().take(hi - lo + 1) {
            *l = get(state, lo + k);
        }
        round_limbs(&mut w[..len], lo)
    } else {
        let mut w = [0i64; LIMBS];
        for (k, l) in w.iter_mut().enumerate().take(hi - lo + 1) {
            *l = get(state, lo + k);
        }
        round_limbs(&mut w[..LIMBS - lo], lo)
    }
}

/// Rounds the number whose limb `k` is `w[k]` × 2^(32 (lo + k) - 1074).
fn round_limbs(w: &mut [i64], lo: usize) -> f64 {
    normalize(w);
    let negative = w.last().is_some_and(|&l| l < 0);
    if negative {
        for l in w.iter_mut() {
            *l = -*l;
        }
        normalize(w);
    }
    let Some(top) = w.iter().rposition(|&l| l != 0) else {
        return 0.0;
    };
    let infinity = if negative {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    };
    if lo + top == LIMBS - 1 && w[top] >> 32 != 0 {
        // Far past the largest double.
        return infinity;
    }
    // The top three limbs as one integer, the lower ones only as "something below".
    let low = top.saturating_sub(2);
    let mut mant: u128 = 0;
    for &l in w[low..=top].iter().rev() {
        mant = (mant << 32) | (l as u64 as u128 & 0xffff_ffff);
    }
    let sticky = w[..low].iter().any(|&l| l != 0);
    let base = (lo + low) as i64 * 32 - 1074; // the exponent of `mant`'s bit 0
    let bits = 128 - i64::from(mant.leading_zeros());
    let top_exp = base + bits - 1;
    if top_exp > 1023 {
        return infinity;
    }
    // Bits kept: 53 for a normal result, fewer below 2^-1022 (at least 1: the sum is a multiple
    // of 2^-1074).
    let precision = if top_exp >= -1022 { 53 } else { top_exp + 1075 };
    let drop = bits - precision;
    let (kept, exp) = if drop > 0 {
        let d = drop as u32;
        let kept = mant >> d;
        let rest = mant & ((1u128 << d) - 1);
        let half = 1u128 << (d - 1);
        let up = rest > half || (rest == half && (sticky || kept & 1 == 1));
        (kept + u128::from(up), base + drop)
    } else {
        (mant, base)
    };
    // kept < 2^54, exactly a double; × 2^exp is exact unless it overflows.
    let v = kept as u64 as f64 * pow2(exp);
    if negative { -v } else { v }
}

/// 2^e for -1074 <= e <= 1023 (and beyond the top: a product that overflows to ∞ as it should).
fn pow2(e: i64) -> f64 {
    if e > 1023 {
        return f64::INFINITY;
    }
    if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (e + 1074).clamp(0, 51))
    }
}

fn count(state: &mut [f64], i: usize, by: i64) {
    set(state, i, get(state, i) + by);
}

/// One bar of a window sum: `new` enters the window, `old` leaves it (`na` for nothing, before
/// the window is full); returns the sum of the window (see the module contract).
pub fn step(state: &mut [f64], new: f64, old: f64) -> f64 {
    for (x, sign) in [(new, 1), (old, -1)] {
        if x.is_nan() {
            count(state, NANS, sign);
        } else if x == f64::INFINITY {
            count(state, POS_INF, sign);
        } else if x == f64::NEG_INFINITY {
            count(state, NEG_INF, sign);
        } else {
            add(state, x, sign);
        }
    }
    match (get(state, POS_INF) > 0, get(state, NEG_INF) > 0) {
        (true, true) => f64::NAN,
        (true, false) => f64::INFINITY,
        (false, true) => f64::NEG_INFINITY,
        (false, false) if get(state, MODE) != 2 => match round_fast(state) {
            Some(r) => r,
            None => {
                // A tiny sum: rounded through the limbs, where subnormals round right.
                let mut copy = [0.0; STATE];
                for (c, v) in copy.iter_mut().zip(state.iter()) {
                    *c = *v;
                }
                to_limbs(&mut copy, 0.0, 1);
                round(&copy)
            }
        },
        (false, false) => round(state),
    }
}

/// The correctly rounded sum of `xs` by another method, Python's `math.fsum` (Shewchuk's
/// partials, then one rounding): the definition [`step`] meets, for tests.
pub fn fsum(xs: &[f64]) -> f64 {
    let mut partials: Vec<f64> = Vec::new();
    for &x0 in xs {
        let mut x = x0;
        let mut i = 0;
        for j in 0..partials.len() {
            let mut y = partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        partials.truncate(i);
        partials.push(x);
    }
    let Some(mut hi) = partials.pop() else {
        return 0.0;
    };
    let mut lo = 0.0;
    while let Some(y) = partials.pop() {
        let x = hi;
        hi = x + y;
        let yr = hi - x;
        lo = y - yr;
        if lo != 0.0 {
            break;
        }
    }
    if let Some(&next) = partials.last()
        && ((lo < 0.0 && next < 0.0) || (lo > 0.0 && next > 0.0))
    {
        let y = lo * 2.0;
        let x = hi + y;
        if y == x - hi {
            hi = x;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::Rng;

    fn window_sums(xs: &[f64], n: usize) -> Vec<f64> {
        let mut state = [0.0; STATE];
        (0..xs.len())
            .map(|t| step(&mut state, xs[t], if t >= n { xs[t - n] } else { f64::NAN }))
            .collect()
    }

    #[test]
    fn equals_fsum_of_every_window() {
        let mut rng = Rng::new(7);
        for case in 0..40 {
            let scale = [1.0, 1e-300, 1e300, 1e-310, 123.4567][case % 5];
            let xs: Vec<f64> = (0..400)
                .map(|_| {
                    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                    let e = (rng.next_u64() % 60) as i32 - 30;
                    u * scale * 2f64.powi(if scale == 1.0 { e } else { 0 })
                })
                .collect();
            for n in [1, 2, 7, 30] {
                let got = window_sums(&xs, n);
                for t in 0..xs.len() {
                    let want = fsum(&xs[t.saturating_sub(n - 1)..=t]);
                    assert_eq!(got[t].to_bits(), want.to_bits(), "case {case} n {n} t {t}");
                }
            }
        }
    }

    #[test]
    fn cancels_exactly_where_a_running_sum_drifts() {
        let xs = [1e16, 1.0, -1e16, 3.0, 0.1, 0.2, 0.3];
        assert_eq!(window_sums(&xs, 3)[2], 1.0);
        assert_eq!(window_sums(&xs, 2)[3], -1e16 + 3.0);
        let w = window_sums(&xs, 3);
        assert_eq!(w[6], fsum(&[0.1, 0.2, 0.3]));
        assert_eq!(
            window_sums(&[f64::MAX, f64::MAX, -f64::MAX], 3)[2],
            f64::MAX
        );
        assert_eq!(window_sums(&[f64::MAX, f64::MAX], 2)[1], f64::INFINITY);
        let tiny = f64::from_bits(1);
        assert_eq!(window_sums(&[tiny, tiny, -tiny], 3)[2], tiny);
    }

    #[test]
    fn wide_integers_round_to_nearest_even() {
        for v in [
            (1i128 << 64) + 1,
            (1i128 << 100) + (1i128 << 47),
            (1i128 << 100) + (1i128 << 47) + 1,
            (1i128 << 100) + (3i128 << 47),
            -((1i128 << 90) + 12345),
            i128::MAX >> 3,
        ] {
            assert_eq!(to_f64(v).to_bits(), (v as f64).to_bits(), "{v}");
        }
    }

    #[test]
    fn na_counts_as_zero_and_infinities_win() {
        let w = window_sums(&[1.0, f64::NAN, 2.0, 4.0], 2);
        assert_eq!(w, [1.0, 1.0, 2.0, 6.0]);
        let w = window_sums(&[1.0, f64::INFINITY, 2.0, 4.0], 2);
        assert_eq!(w, [1.0, f64::INFINITY, f64::INFINITY, 6.0]);
        let w = window_sums(&[f64::NEG_INFINITY, f64::INFINITY, 2.0], 2);
        assert!(w[1].is_nan());
        assert_eq!(w[2], f64::INFINITY);
    }
}
