//! Timeframes (`5m`, `1h`, `1d`, `1w`, `1M`) and the period a bar falls in, in a time zone.
//!
//! Contract: [`Timeframe::parse`] reads the text a program or a flag writes; [`Timeframe::period`]
//! maps a bar's time (milliseconds since 1970 UTC) to the period it belongs to, computed in the
//! exchange's time zone with its daylight-saving rules (jiff): minutes and hours are cut on the
//! local clock from midnight (a `4h` period starts at 00:00, 04:00, ... local time, and never
//! spans two days), days at local midnight, weeks on Monday, months on the 1st. A period's key
//! changes exactly when a new period starts; its start is the first instant of the period (the
//! time a resampled bar carries). Pure: no IO (the zone's rules come from jiff's database).

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// A bar period longer than the input's bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timeframe {
    /// `n` minutes, `n` dividing a day (`1m`...`720m`, `1h`...`12h`).
    Minutes(u32),
    Days,
    Weeks,
    Months,
}

/// The period a bar falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Equal for two bars exactly when they are in the same period.
    pub key: i64,
    /// The period's first instant, milliseconds since 1970 UTC.
    pub start: i64,
    /// The first instant after it (the next period's start): a bar in `start..end` is in it.
    pub end: i64,
}

impl Timeframe {
    /// `5m`, `15m`, `1h`, `4h`, `1d`, `1w`, `1M` (minutes `m`, hours `h`, days `d`, weeks `w`,
    /// months `M`; days, weeks and months only by one).
    pub fn parse(text: &str) -> Result<Timeframe, String> {
        let t = text.trim();
        let unit_at = t
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("`{text}` has no unit: write `5m`, `1h`, `1d`, `1w` or `1M`"))?;
        let (n, unit) = t.split_at(unit_at);
        if n.is_empty() {
            return Err(format!("`{text}` has no count: write `1{unit}`"));
        }
        let n: u32 = n
            .parse()
            .map_err(|_| format!("`{text}`: the count is too large"))?;
        if n == 0 {
            return Err(format!("`{text}`: a timeframe of zero"));
        }
        let minutes = match unit {
            "m" | "min" => Some(n),
            "h" => n.checked_mul(60),
            "d" | "D" | "w" | "W" | "M" if n != 1 => {
                return Err(format!(
                    "`{text}`: days, weeks and months are supported one at a time (`1{unit}`)"
                ));
            }
            "d" | "D" => return Ok(Timeframe::Days),
            "w" | "W" => return Ok(Timeframe::Weeks),
            "M" | "mo" => return Ok(Timeframe::Months),
            _ => {
                return Err(format!(
                    "`{text}`: unknown unit `{unit}` (use m, h, d, w or M)"
                ));
            }
        };
        match minutes {
            Some(m) if m < 1440 && 1440 % m == 0 => Ok(Timeframe::Minutes(m)),
            Some(1440) => Ok(Timeframe::Days),
            _ => Err(format!(
                "`{text}`: an intraday timeframe must divide a day (5m, 15m, 30m, 1h, 2h, 4h, ...)"
            )),
        }
    }

    /// The text `parse` reads back.
    pub fn name(self) -> String {
        match self {
            Timeframe::Minutes(m) if m % 60 == 0 => format!("{}h", m / 60),
            Timeframe::Minutes(m) => format!("{m}m"),
            Timeframe::Days => "1d".into(),
            Timeframe::Weeks => "1w".into(),
            Timeframe::Months => "1M".into(),
        }
    }

    /// The period of a bar at `time` (ms since 1970 UTC) in zone `tz`, days starting at local
    /// midnight; `None` for a time jiff cannot represent.
    pub fn period(self, time: i64, tz: &TimeZone) -> Option<Period> {
        self.period_in_session(time, tz, 0)
    }

    /// [`Timeframe::period`] with sessions starting `session_start` minutes after local
    /// midnight (0..1440; 1020 for a futures session opening at 17:00): every period is cut on
    /// the session's clock, so a day runs from one session start to the next, a `4h` period
    /// starts at 17:00, 21:00, ... A session starting in the afternoon or evening is dated by the
    /// day it ends on (its trading date), one starting in the morning by the day it starts on.
    pub fn period_in_session(self, time: i64, tz: &TimeZone, session_start: i32) -> Option<Period> {
        let wall = tz.to_datetime(Timestamp::from_millisecond(time).ok()?);
        // The session's clock: local time less the session start (plus a day for a session
        // opening from noon on: one opening at 17:00 trades the next date).
        let shift = if session_start >= 720 {
            session_start - 1440
        } else {
            session_start
        };
        let local = wall.checked_sub(shift.minutes()).ok()?;
        let date = local.date();
        let midnight = jiff::civil::Time::midnight();
        let (start, next, key): (DateTime, DateTime, i64) = match self {
            Timeframe::Minutes(m) => {
                let minute = i64::from(local.hour()) * 60 + i64::from(local.minute());
                let first = minute - minute % i64::from(m);
                let day = date.to_datetime(midnight);
                let start = day.checked_add((first as i32).minutes()).ok()?;
                let next = day
                    .checked_add(((first + i64::from(m)) as i32).minutes())
                    .ok()?;
                (start, next, day_number(date) * 1440 + first)
            }
            Timeframe::Days => (
                date.to_datetime(midnight),
                date.checked_add(1.days()).ok()?.to_datetime(midnight),
                day_number(date),
            ),
            Timeframe::Weeks => {
                let back = i64::from(date.weekday().to_monday_zero_offset());
                let monday = date.checked_sub((back as i32).days()).ok()?;
                (
                    monday.to_datetime(midnight),
                    monday.checked_add(7.days()).ok()?.to_datetime(midnight),
                    day_number(monday),
                )
            }
            Timeframe::Months => {
                let first = date.first_of_month();
                (
                    first.to_datetime(midnight),
                    first.checked_add(1.months()).ok()?.to_datetime(midnight),
                    i64::from(date.year()) * 12 + i64::from(date.month()),
                )
            }
        };
        // Back on the wall clock. A local time that does not exist (a DST gap) is taken as the
        // instant the clock jumps to, as most calendars do ("compatible").
        let instant = |dt: DateTime| {
            let dt = dt.checked_add(shift.minutes()).ok()?;
            tz.to_ambiguous_timestamp(dt)
                .compatible()
                .ok()
                .map(|t| t.as_millisecond())
        };
        Some(Period {
            key,
            start: instant(start)?,
            end: instant(next)?,
        })
    }
}

/// Days since 1970-01-01 of a civil date.
fn day_number(d: Date) -> i64 {
    let epoch = Date::constant(1970, 1, 1);
    d.duration_since(epoch).as_secs().div_euclid(86_400)
}

/// `HH:MM` (`17:00`) as minutes after midnight, for `--session-start`.
pub fn parse_session_start(text: &str) -> Result<i32, String> {
    let bad = || format!("`{text}`: expected HH:MM, such as 17:00 or 09:30");
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..24).contains(&h) || !(0..60).contains(&m) || text.trim().len() > 5 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// The zone named `name` (an IANA name such as `America/New_York`, or `UTC`).
pub fn zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|e| {
        format!("unknown time zone `{name}` ({e}); use an IANA name such as America/New_York")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str, tz: &TimeZone) -> i64 {
        let dt: DateTime = text.parse().unwrap();
        tz.to_ambiguous_timestamp(dt)
            .compatible()
            .unwrap()
            .as_millisecond()
    }

    #[test]
    fn parses_the_usual_timeframes() {
        assert_eq!(Timeframe::parse("5m"), Ok(Timeframe::Minutes(5)));
        assert_eq!(Timeframe::parse("4h"), Ok(Timeframe::Minutes(240)));
        assert_eq!(Timeframe::parse("24h"), Ok(Timeframe::Days));
        assert_eq!(Timeframe::parse("1d"), Ok(Timeframe::Days));
        assert_eq!(Timeframe::parse("1w"), Ok(Timeframe::Weeks));
        assert_eq!(Timeframe::parse("1M"), Ok(Timeframe::Months));
        for bad in ["", "d", "7m", "0h", "2d", "1y", "99999999999m"] {
            assert!(Timeframe::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Timeframe::Minutes(240).name(), "4h");
    }

    #[test]
    fn days_are_cut_at_local_midnight_across_dst() {
        let ny = zone("America/New_York").unwrap();
        let d = Timeframe::Days;
        // 23:30 and 00:30 local are different days, on both sides of the March change.
        for (a, b) in [
            ("2024-03-09T23:30", "2024-03-10T00:30"),
            ("2024-03-10T23:30", "2024-03-11T00:30"),
        ] {
            let (pa, pb) = (
                d.period(ms(a, &ny), &ny).unwrap(),
                d.period(ms(b, &ny), &ny).unwrap(),
            );
            assert_ne!(pa.key, pb.key);
            assert_eq!(pb.start, ms(&format!("{}T00:00", &b[..10]), &ny));
        }
        // The same instant is one day in UTC and another in New York.
        let t = ms("2024-03-12T02:00", &TimeZone::UTC);
        assert_ne!(
            d.period(t, &ny).unwrap().start,
            d.period(t, &TimeZone::UTC).unwrap().start
        );
    }

    #[test]
    fn hours_weeks_and_months() {
        let ny = zone("America/New_York").unwrap();
        let h4 = Timeframe::Minutes(240);
        let p = h4.period(ms("2024-03-11T09:31", &ny), &ny).unwrap();
        assert_eq!(p.start, ms("2024-03-11T08:00", &ny));
        let w = Timeframe::Weeks
            .period(ms("2024-03-14T10:00", &ny), &ny)
            .unwrap();
        assert_eq!(w.start, ms("2024-03-11T00:00", &ny));
        let m = Timeframe::Months
            .period(ms("2024-02-29T15:00", &ny), &ny)
            .unwrap();
        assert_eq!(m.start, ms("2024-02-01T00:00", &ny));
        assert_eq!(m.end, ms("2024-03-01T00:00", &ny));
        // The day of the spring change is 23 hours long.
        let d = Timeframe::Days
            .period(ms("2024-03-10T12:00", &ny), &ny)
            .unwrap();
        assert_eq!(d.end - d.start, 23 * 3_600_000);
    }

    #[test]
    fn sessions_that_start_in_the_evening_cut_days_there() {
        let chicago = zone("America/Chicago").unwrap();
        let day = |t: &str| {
            Timeframe::Days
                .period_in_session(ms(t, &chicago), &chicago, 17 * 60)
                .unwrap()
        };
        // Sunday 18:00 and Monday 15:00 are Monday's session; Monday 17:30 is Tuesday's.
        let (sun, mon, mon_late) = (
            day("2024-03-03T18:00"),
            day("2024-03-04T15:00"),
            day("2024-03-04T17:30"),
        );
        assert_eq!(sun.key, mon.key);
        assert_ne!(mon.key, mon_late.key);
        assert_eq!(mon.start, ms("2024-03-03T17:00", &chicago));
        assert_eq!(mon.end, ms("2024-03-04T17:00", &chicago));
        // 4h periods on the session's clock: 17:00, 21:00, 01:00, ...
        let h = Timeframe::Minutes(240)
            .period_in_session(ms("2024-03-04T22:30", &chicago), &chicago, 17 * 60)
            .unwrap();
        assert_eq!(h.start, ms("2024-03-04T21:00", &chicago));
        // A session from 09:30 is dated by the day it starts on; 09:00 belongs to the day before.
        let ny = zone("America/New_York").unwrap();
        let at = |t: &str| {
            Timeframe::Days
                .period_in_session(ms(t, &ny), &ny, 9 * 60 + 30)
                .unwrap()
        };
        assert_eq!(at("2024-03-05T10:00").start, ms("2024-03-05T09:30", &ny));
        assert_eq!(at("2024-03-05T09:00").start, ms("2024-03-04T09:30", &ny));
    }
}
