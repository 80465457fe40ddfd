//! The day report (日结): a business day's orders and money as the manager reads them at closing time.
//!
//! What belongs to a day follows the CSV export and WeChat's bill: an order that received money belongs to
//! the business day of its *payment* (`paid_at`), any other order to the day it was created in, and a refund
//! to the day of its success (else of its creation). So the report's totals are the CSV's sums for the same
//! day, row for row.
//!
//! These are the report's types: what the command line prints (`paydesk report`), what the window's
//! "日结 Day report" screen draws and what the receipt printer prints. The arithmetic is pure
//! ([`day_report_of`], [`daily_totals_of`]: rows in, report out); [`Ledger::day_report`] and
//! [`Ledger::daily_totals`] only read the rows (which rows belong to a day is [`super::day`]'s rule). Nothing
//! here draws, prints or talks to the gateway.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, Local, NaiveDate, TimeZone, Timelike, Utc};

use super::day::{self, DaySpan};
use super::model::{LedgerError, Order};
use super::reconcile::{self, ReconciliationRecord};
use super::refund::{DaySums, REFUND_WITH_ORDER_SELECT, Refund, refund_from_row};
use super::refund_state::{self, RefundState};
use super::state::OrderStatus;
use super::store::{Ledger, fen_at, time_at, to_ms};
use crate::calendar::day_bounds_in;
use crate::money::Fen;

/// A business day's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayReport {
    pub day: NaiveDate,
    /// The hour (local time) the business day starts at.
    pub day_start_hour: u8,
    /// Orders of the day by status, in [`OrderStatus::ALL`] order, statuses with no order left out.
    pub by_status: Vec<StatusLine>,
    /// Received, refunded, net: the same sums as the CSV's received and refunded columns.
    pub sums: DaySums,
    /// Orders that received money (paid, paid after cancel, refunded since).
    pub paid_orders: u32,
    /// Refunds that succeeded on the day.
    pub refunds: u32,
    /// Per cashier, by name, in name order.
    pub by_cashier: Vec<GroupLine>,
    /// Per station, by name, in name order.
    pub by_station: Vec<GroupLine>,
    /// Takings by the hour of the day (local clock hour of the payment or refund), hours with neither left out,
    /// in the business day's order (from `day_start_hour`).
    pub hourly: Vec<HourLine>,
    /// The latest reconciliation with WeChat's bill for this day (the bill's Beijing calendar day with the same
    /// date), if one ran: matched, differences, the bill's service fee.
    pub reconciliation: Option<ReconciliationRecord>,
}

/// Orders of one status on the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub status: OrderStatus,
    pub orders: u32,
    /// The sum of their totals.
    pub amount: Fen,
}

/// One cashier's or one station's part of the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLine {
    pub name: String,
    /// Orders that received money.
    pub paid_orders: u32,
    pub sums: DaySums,
}

/// One clock hour of the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourLine {
    /// 0–23, local time.
    pub hour: u8,
    pub paid_orders: u32,
    pub sums: DaySums,
}

/// One day's totals, for the chart of the last 30 days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyTotal {
    pub day: NaiveDate,
    pub paid_orders: u32,
    pub sums: DaySums,
}

/// A refund with its order's cashier and station (the report counts a refund for them, as the CSV's
/// refund row names them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRefund {
    pub refund: Refund,
    pub cashier: String,
    pub station: String,
}

/// The most days [`Ledger::daily_totals`] covers at once (ten years).
pub const MAX_DAILY_TOTALS_DAYS: u32 = 3660;

fn overflow(day: NaiveDate) -> LedgerError {
    LedgerError::Invalid(format!("the sums of {day} overflow"))
}

/// `sums += (received, refunded)`.
fn add_to(
    sums: &mut DaySums,
    received: Fen,
    refunded: Fen,
    day: NaiveDate,
) -> Result<(), LedgerError> {
    sums.received = sums
        .received
        .checked_add(received)
        .ok_or_else(|| overflow(day))?;
    sums.refunded = sums
        .refunded
        .checked_add(refunded)
        .ok_or_else(|| overflow(day))?;
    Ok(())
}

fn group<'a>(groups: &'a mut BTreeMap<String, GroupLine>, name: &str) -> &'a mut GroupLine {
    groups.entry(name.to_string()).or_insert_with(|| GroupLine {
        name: name.to_string(),
        paid_orders: 0,
        sums: DaySums::default(),
    })
}

/// Business day `day`'s report in `tz`, from rows: the orders and refunds given that belong to the day
/// (by [`Order::day_at`] and [`Refund::day_at`]; others are left out, so a wider set may be passed) and
/// the day's reconciliation, if one ran. Pure: no database, no clock.
pub fn day_report_of<Tz: TimeZone>(
    tz: &Tz,
    day: NaiveDate,
    day_start_hour: u8,
    orders: &[Order],
    refunds: &[DayRefund],
    reconciliation: Option<ReconciliationRecord>,
) -> Result<DayReport, LedgerError> {
    let (from, to) = day_bounds_in(tz, day, day_start_hour)?;
    let in_day = |t: DateTime<Utc>| t >= from && t < to;
    let hour_of = |t: DateTime<Utc>| t.with_timezone(tz).hour() as u8;

    let mut by_status = [(0u32, Fen::ZERO); OrderStatus::ALL.len()];
    let mut sums = DaySums::default();
    let mut paid_orders = 0u32;
    let mut refund_count = 0u32;
    let mut cashiers = BTreeMap::new();
    let mut stations = BTreeMap::new();
    let mut hours: BTreeMap<u8, HourLine> = BTreeMap::new();

    for o in orders.iter().filter(|o| in_day(o.day_at())) {
        let k = OrderStatus::ALL
            .iter()
            .position(|s| *s == o.status)
            .expect("every status is in ALL");
        by_status[k].0 += 1;
        by_status[k].1 = by_status[k]
            .1
            .checked_add(o.total)
            .ok_or_else(|| overflow(day))?;
        let received = refund_state::order_received_money(o.status);
        let paid = u32::from(received);
        let amount = if received { o.total } else { Fen::ZERO };
        add_to(&mut sums, amount, Fen::ZERO, day)?;
        paid_orders += paid;
        for g in [
            group(&mut cashiers, &o.cashier),
            group(&mut stations, &o.station),
        ] {
            g.paid_orders += paid;
            add_to(&mut g.sums, amount, Fen::ZERO, day)?;
        }
        if received {
            let h = hours
                .entry(hour_of(o.day_at()))
                .or_insert_with(|| HourLine {
                    hour: hour_of(o.day_at()),
                    paid_orders: 0,
                    sums: DaySums::default(),
                });
            h.paid_orders += 1;
            add_to(&mut h.sums, o.total, Fen::ZERO, day)?;
        }
    }
    for r in refunds.iter().filter(|r| in_day(r.refund.day_at())) {
        let succeeded = r.refund.status == RefundState::Success;
        let amount = if succeeded {
            r.refund.amount
        } else {
            Fen::ZERO
        };
        add_to(&mut sums, Fen::ZERO, amount, day)?;
        refund_count += u32::from(succeeded);
        for g in [
            group(&mut cashiers, &r.cashier),
            group(&mut stations, &r.station),
        ] {
            add_to(&mut g.sums, Fen::ZERO, amount, day)?;
        }
        if succeeded {
            let hour = hour_of(r.refund.day_at());
            let h = hours.entry(hour).or_insert_with(|| HourLine {
                hour,
                paid_orders: 0,
                sums: DaySums::default(),
            });
            add_to(&mut h.sums, Fen::ZERO, amount, day)?;
        }
    }
    let mut hourly: Vec<HourLine> = hours.into_values().collect();
    // The business day's order: from the start hour round the clock.
    hourly.sort_by_key(|h| (u16::from(h.hour) + 24 - u16::from(day_start_hour)) % 24);
    Ok(DayReport {
        day,
        day_start_hour,
        by_status: OrderStatus::ALL
            .into_iter()
            .zip(by_status)
            .filter(|(_, (n, _))| *n > 0)
            .map(|(status, (orders, amount))| StatusLine {
                status,
                orders,
                amount,
            })
            .collect(),
        sums,
        paid_orders,
        refunds: refund_count,
        by_cashier: cashiers.into_values().collect(),
        by_station: stations.into_values().collect(),
        hourly,
        reconciliation,
    })
}

/// The first of `days` days ending with `last_day`, and each day's UTC start followed by the last day's
/// end (`days + 1` instants).
fn day_starts<Tz: TimeZone>(
    tz: &Tz,
    last_day: NaiveDate,
    days: u32,
    day_start_hour: u8,
) -> Result<(NaiveDate, Vec<DateTime<Utc>>), LedgerError> {
    if days > MAX_DAILY_TOTALS_DAYS {
        return Err(LedgerError::Invalid(format!(
            "at most {MAX_DAILY_TOTALS_DAYS} days at once, not {days}"
        )));
    }
    let first = last_day
        .checked_sub_days(Days::new(u64::from(days.saturating_sub(1))))
        .ok_or_else(|| LedgerError::Invalid(format!("no {days} days before {last_day}")))?;
    let mut starts = Vec::with_capacity(days as usize + 1);
    let mut d = first;
    for k in 0..days {
        let (from, to) = day_bounds_in(tz, d, day_start_hour)?;
        starts.push(from);
        if k + 1 == days {
            starts.push(to);
        } else {
            d = d
                .succ_opt()
                .ok_or_else(|| LedgerError::Invalid(format!("no day after {d}")))?;
        }
    }
    Ok((first, starts))
}

/// `days` days' totals ending with `last_day`, oldest first, every day present (zeros on a day without
/// trade), in `tz`. `payments` are the day instant ([`Order::day_at`]) and total of orders that received
/// money; `refunds` the day instant ([`Refund::day_at`]) and amount of refunds that succeeded; those outside
/// the days are left out. Pure.
pub fn daily_totals_of<Tz: TimeZone>(
    tz: &Tz,
    last_day: NaiveDate,
    days: u32,
    day_start_hour: u8,
    payments: &[(DateTime<Utc>, Fen)],
    refunds: &[(DateTime<Utc>, Fen)],
) -> Result<Vec<DailyTotal>, LedgerError> {
    if days == 0 {
        // Still check the hour, as every other day query does.
        day_bounds_in(tz, last_day, day_start_hour)?;
        return Ok(Vec::new());
    }
    let (first, starts) = day_starts(tz, last_day, days, day_start_hour)?;
    let mut totals: Vec<DailyTotal> = first
        .iter_days()
        .take(days as usize)
        .map(|day| DailyTotal {
            day,
            paid_orders: 0,
            sums: DaySums::default(),
        })
        .collect();
    // The day holding `t`: the last start at or before it, if `t` is before the last day's end.
    let bucket = |t: DateTime<Utc>| match starts.partition_point(|s| *s <= t) {
        0 => None,
        n if n > days as usize => None,
        n => Some(n - 1),
    };
    for (t, total) in payments {
        if let Some(k) = bucket(*t) {
            let d = &mut totals[k];
            d.paid_orders += 1;
            add_to(&mut d.sums, *total, Fen::ZERO, d.day)?;
        }
    }
    for (t, amount) in refunds {
        if let Some(k) = bucket(*t) {
            let d = &mut totals[k];
            add_to(&mut d.sums, Fen::ZERO, *amount, d.day)?;
        }
    }
    Ok(totals)
}

impl Ledger {
    /// Business day `day`'s report in `tz`: the day's orders and refunds (the CSV export's rows) and the
    /// latest stored reconciliation for the same date, read in one transaction.
    pub fn day_report_in<Tz: TimeZone>(
        &self,
        tz: &Tz,
        day: NaiveDate,
        day_start_hour: u8,
    ) -> Result<DayReport, LedgerError> {
        let (from, to) = day_bounds_in(tz, day, day_start_hour)?;
        let mut conn = self.reader();
        // One snapshot: a payment landing meanwhile is in all of the report or in none of it.
        let tx = conn.transaction()?;
        let orders = day::orders_of_days(&tx, from, to)?;
        let refunds = day_refunds(&tx, from, to)?;
        let reconciliation = reconcile::latest_reconciliation(&tx, day)?;
        tx.finish()?;
        day_report_of(tz, day, day_start_hour, &orders, &refunds, reconciliation)
    }

    /// [`Ledger::day_report_in`] in local time.
    pub fn day_report(&self, day: NaiveDate, day_start_hour: u8) -> Result<DayReport, LedgerError> {
        self.day_report_in(&Local, day, day_start_hour)
    }

    /// `days` days ending with `last_day`, oldest first, every day present (days without trade are zeros),
    /// each day's numbers those of its [`Ledger::day_report_in`]. Two range queries (payments, refunds) over
    /// the whole span, bucketed by day here. At most [`MAX_DAILY_TOTALS_DAYS`] days; none for `days == 0`.
    pub fn daily_totals_in<Tz: TimeZone>(
        &self,
        tz: &Tz,
        last_day: NaiveDate,
        days: u32,
        day_start_hour: u8,
    ) -> Result<Vec<DailyTotal>, LedgerError> {
        if days == 0 {
            return daily_totals_of(tz, last_day, 0, day_start_hour, &[], &[]);
        }
        let (_, starts) = day_starts(tz, last_day, days, day_start_hour)?;
        let (from, to) = (starts[0], starts[starts.len() - 1]);
        let mut conn = self.reader();
        let tx = conn.transaction()?;
        let span = DaySpan::new(&tx, from, to)?;
        let payments = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {}, total_fen FROM orders WHERE {} AND status IN ({})",
                day::order_day_at_sql("orders"),
                DaySpan::condition("orders"),
                day::received_sql_list()
            ))?;
            let rows = stmt.query_map(span.params(), |r| Ok((time_at(r, 0)?, fen_at(r, 1)?)))?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        let refunds = {
            // The same condition as the index `refunds_by_day`.
            let mut stmt = tx.prepare_cached(
                "SELECT COALESCE(success_at, created_at), amount_fen FROM refunds \
                 WHERE COALESCE(success_at, created_at) >= ?1 AND COALESCE(success_at, created_at) < ?2 \
                 AND status = 'success'",
            )?;
            let rows = stmt.query_map([to_ms(from), to_ms(to)], |r| {
                Ok((time_at(r, 0)?, fen_at(r, 1)?))
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        tx.finish()?;
        daily_totals_of(tz, last_day, days, day_start_hour, &payments, &refunds)
    }

    /// Business day `day`'s report and the `days` days up to it (the report's chart), in one call: what the
    /// window's 日结 screen and `paydesk report` read.
    pub fn day_report_with_days(
        &self,
        day: NaiveDate,
        day_start_hour: u8,
        days: u32,
    ) -> Result<(DayReport, Vec<DailyTotal>), LedgerError> {
        let report = self.day_report(day, day_start_hour)?;
        let totals = self.daily_totals(day, days, day_start_hour)?;
        Ok((report, totals))
    }

    /// [`Ledger::daily_totals_in`] in local time.
    pub fn daily_totals(
        &self,
        last_day: NaiveDate,
        days: u32,
        day_start_hour: u8,
    ) -> Result<Vec<DailyTotal>, LedgerError> {
        self.daily_totals_in(&Local, last_day, days, day_start_hour)
    }
}

/// The refunds of `[from, to)` (by [`Refund::day_at`]) with their order's cashier and station, oldest first.
fn day_refunds(
    conn: &rusqlite::Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<DayRefund>, LedgerError> {
    let mut stmt = conn.prepare_cached(&format!(
        "{REFUND_WITH_ORDER_SELECT} WHERE COALESCE(r.success_at, r.created_at) >= ?1 \
         AND COALESCE(r.success_at, r.created_at) < ?2 \
         ORDER BY COALESCE(r.success_at, r.created_at), r.id"
    ))?;
    let rows = stmt.query_map([to_ms(from), to_ms(to)], |r| {
        Ok(DayRefund {
            refund: refund_from_row(r)?,
            cashier: r.get(14)?,
            station: r.get(15)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::refund::RefundSource;
    use chrono::{Duration, FixedOffset};

    fn bj() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    /// 2026-11-`d` `h`:`m` Beijing time.
    fn t(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        bj().with_ymd_and_hms(2026, 11, d, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn fen(v: i64) -> Fen {
        Fen::new(v).unwrap()
    }

    struct O(
        &'static str,
        OrderStatus,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        i64,
        &'static str,
    );

    fn order(o: O) -> Order {
        let O(otn, status, created_at, paid_at, total, cashier) = o;
        Order {
            out_trade_no: otn.into(),
            station: if cashier == "小李" {
                "前台2"
            } else {
                "前台1"
            }
            .into(),
            cashier: cashier.into(),
            created_at,
            expires_at: created_at + Duration::minutes(5),
            total: fen(total),
            body: "b".into(),
            notify_url: "n".into(),
            spbill_create_ip: "127.0.0.1".into(),
            product_id: otn.into(),
            device_info: None,
            time_start: created_at,
            time_expire: created_at + Duration::minutes(5),
            status,
            close_reason: None,
            code_url: None,
            prepay_id: None,
            transaction_id: paid_at.map(|_| format!("T{otn}")),
            paid_at,
            cash_fee: None,
            bank_type: None,
            openid: None,
            flagged: false,
            flag_reason: None,
            updated_at: created_at,
            rechecks: 0,
            refunded: Fen::ZERO,
            refund_pending: Fen::ZERO,
        }
    }

    fn refund(
        orn: &str,
        of: &Order,
        amount: i64,
        status: RefundState,
        created_at: DateTime<Utc>,
        success_at: Option<DateTime<Utc>>,
    ) -> DayRefund {
        DayRefund {
            refund: Refund {
                out_refund_no: orn.into(),
                out_trade_no: of.out_trade_no.clone(),
                amount: fen(amount),
                reason: String::new(),
                approved_by: "店长".into(),
                source: RefundSource::Till,
                status,
                refund_id: None,
                created_at,
                updated_at: created_at,
                success_at,
                recv_account: None,
                flagged: false,
                flag_reason: None,
            },
            cashier: of.cashier.clone(),
            station: of.station.clone(),
        }
    }

    use OrderStatus::*;

    /// Orders and refunds around the 27th, each placed by the rule.
    fn rows() -> (Vec<Order>, Vec<DayRefund>) {
        let orders: Vec<Order> = [
            // Yesterday's, paid yesterday; refunded today.
            O("Y", Paid, t(26, 15, 0), Some(t(26, 15, 1)), 2000, "老张"),
            // Rung up at 23:58 yesterday, paid at 00:01 today: today's takings.
            O("G", Paid, t(26, 23, 58), Some(t(27, 0, 1)), 700, "小王"),
            O("A", Paid, t(27, 9, 59), Some(t(27, 10, 0)), 1250, "小王"),
            O("B", Open, t(27, 11, 0), None, 300, "小李"),
            O("C", Cancelled, t(27, 12, 0), None, 400, "小王"),
            O(
                "D",
                PaidAfterCancel,
                t(27, 13, 0),
                Some(t(27, 13, 10)),
                500,
                "小李",
            ),
            O("E", Refunded, t(27, 14, 0), Some(t(27, 14, 1)), 800, "小王"),
            O("F", Paid, t(27, 15, 0), Some(t(27, 15, 0)), 1000, "小李"),
            // Rung up at 23:58 today, paid at 00:01 tomorrow: tomorrow's.
            O("H", Paid, t(27, 23, 58), Some(t(28, 0, 1)), 900, "小王"),
        ]
        .into_iter()
        .map(order)
        .collect();
        let by = |otn: &str| orders.iter().find(|o| o.out_trade_no == otn).unwrap();
        let refunds = vec![
            refund(
                "RY",
                by("Y"),
                2000,
                RefundState::Success,
                t(27, 8, 50),
                Some(t(27, 9, 0)),
            ),
            refund(
                "RE",
                by("E"),
                800,
                RefundState::Success,
                t(27, 14, 20),
                Some(t(27, 14, 30)),
            ),
            refund(
                "RF",
                by("F"),
                200,
                RefundState::Success,
                t(27, 15, 4),
                Some(t(27, 15, 5)),
            ),
            // In flight, and closed: rows of the day that are no money back.
            refund(
                "RF2",
                by("F"),
                100,
                RefundState::Processing,
                t(27, 16, 0),
                None,
            ),
            refund(
                "RF3",
                by("F"),
                100,
                RefundState::Closed,
                t(27, 16, 10),
                None,
            ),
            // Created today, the money back tomorrow: tomorrow's.
            refund(
                "RA",
                by("A"),
                250,
                RefundState::Success,
                t(27, 23, 55),
                Some(t(28, 0, 5)),
            ),
        ];
        (orders, refunds)
    }

    fn sums(received: i64, refunded: i64) -> DaySums {
        DaySums {
            received: fen(received),
            refunded: fen(refunded),
        }
    }

    #[test]
    fn a_day_by_status_cashier_station_and_hour() {
        let (orders, refunds) = rows();
        let r = day_report_of(&bj(), day(27), 0, &orders, &refunds, None).unwrap();
        assert_eq!(r.day, day(27));
        // G, A, D, E, F received; B open, C cancelled; Y is yesterday's, H tomorrow's.
        assert_eq!(
            r.sums,
            sums(700 + 1250 + 500 + 800 + 1000, 2000 + 800 + 200)
        );
        assert_eq!(r.sums.net_fen(), 4250 - 3000);
        assert_eq!((r.paid_orders, r.refunds), (5, 3));
        let status: Vec<_> = r
            .by_status
            .iter()
            .map(|l| (l.status, l.orders, l.amount.get()))
            .collect();
        assert_eq!(
            status,
            [
                (Open, 1, 300),
                (Paid, 3, 700 + 1250 + 1000),
                (PaidAfterCancel, 1, 500),
                (Cancelled, 1, 400),
                (Refunded, 1, 800),
            ]
        );
        let group = |g: &[GroupLine]| -> Vec<(String, u32, DaySums)> {
            g.iter()
                .map(|l| (l.name.clone(), l.paid_orders, l.sums))
                .collect()
        };
        assert_eq!(
            group(&r.by_cashier),
            [
                ("小李".to_string(), 2, sums(1500, 200)),
                ("小王".to_string(), 3, sums(2750, 800)),
                // Only a refund of yesterday's order today: counted for that order's cashier.
                ("老张".to_string(), 0, sums(0, 2000)),
            ]
        );
        assert_eq!(
            group(&r.by_station),
            [
                ("前台1".to_string(), 3, sums(2750, 2800)),
                ("前台2".to_string(), 2, sums(1500, 200)),
            ]
        );
        let hours: Vec<_> = r
            .hourly
            .iter()
            .map(|h| (h.hour, h.paid_orders, h.sums))
            .collect();
        assert_eq!(
            hours,
            [
                (0, 1, sums(700, 0)),
                (9, 0, sums(0, 2000)),
                (10, 1, sums(1250, 0)),
                (13, 1, sums(500, 0)),
                (14, 1, sums(800, 800)),
                (15, 1, sums(1000, 200)),
            ]
        );
        // Every view adds up to the day.
        for lines in [&r.by_cashier, &r.by_station] {
            let total = lines.iter().fold((0, 0, 0), |a, l| {
                (
                    a.0 + l.paid_orders,
                    a.1 + l.sums.received.get(),
                    a.2 + l.sums.refunded.get(),
                )
            });
            assert_eq!(
                total,
                (r.paid_orders, r.sums.received.get(), r.sums.refunded.get())
            );
        }
        let hourly = r.hourly.iter().fold((0, 0), |a, h| {
            (a.0 + h.sums.received.get(), a.1 + h.sums.refunded.get())
        });
        assert_eq!(hourly, (r.sums.received.get(), r.sums.refunded.get()));

        // The next day: H (paid after midnight) and RA (back after midnight).
        let r = day_report_of(&bj(), day(28), 0, &orders, &refunds, None).unwrap();
        assert_eq!(r.sums, sums(900, 250));
        assert_eq!((r.paid_orders, r.refunds), (1, 1));
        assert_eq!(r.sums.net_label(), "¥6.50");
        // Yesterday: Y, and its refund is not there.
        let r = day_report_of(&bj(), day(26), 0, &orders, &refunds, None).unwrap();
        assert_eq!(r.sums, sums(2000, 0));
    }

    #[test]
    fn a_day_starting_at_four_keeps_the_night_and_orders_hours_from_the_start() {
        let orders: Vec<Order> = [
            O("N1", Paid, t(27, 22, 0), Some(t(27, 22, 1)), 100, "小王"),
            O("N2", Paid, t(28, 1, 58), Some(t(28, 2, 0)), 200, "小王"),
            // Created before 04:00, paid after: the next business day.
            O("N3", Paid, t(28, 3, 59), Some(t(28, 4, 0)), 400, "小王"),
            O("M1", Paid, t(27, 5, 0), Some(t(27, 5, 1)), 800, "小王"),
            // Created 03:00 on the 27th, never paid: the 26th's.
            O("M0", Expired, t(27, 3, 0), None, 1600, "小王"),
        ]
        .into_iter()
        .map(order)
        .collect();
        let r = day_report_of(&bj(), day(27), 4, &orders, &[], None).unwrap();
        assert_eq!(r.day_start_hour, 4);
        assert_eq!(r.sums, sums(100 + 200 + 800, 0));
        let hours: Vec<_> = r.hourly.iter().map(|h| h.hour).collect();
        assert_eq!(hours, [5, 22, 2], "from 04:00 round the clock");
        let r = day_report_of(&bj(), day(26), 4, &orders, &[], None).unwrap();
        assert_eq!((r.sums, r.by_status.len()), (sums(0, 0), 1));
        assert_eq!(r.by_status[0].status, Expired);
        assert!(r.hourly.is_empty());
        assert!(day_report_of(&bj(), day(27), 24, &orders, &[], None).is_err());
    }

    #[test]
    fn an_empty_day_and_its_reconciliation() {
        let run = ReconciliationRecord {
            day: day(27),
            ran_at: t(28, 10, 30),
            had_bill: false,
            matched: 0,
            differences: 0,
            unexplained: 0,
            fee_e5: 0,
            report: "No Bill Exist".into(),
        };
        let r = day_report_of(&bj(), day(27), 0, &[], &[], Some(run.clone())).unwrap();
        assert_eq!(r.sums, DaySums::default());
        assert!(r.by_status.is_empty() && r.by_cashier.is_empty() && r.by_station.is_empty());
        assert!(r.hourly.is_empty());
        assert_eq!(r.reconciliation, Some(run));
    }

    #[test]
    fn daily_totals_have_every_day_oldest_first_and_match_the_reports() {
        let (orders, refunds) = rows();
        let payments: Vec<_> = orders
            .iter()
            .filter(|o| refund_state::order_received_money(o.status))
            .map(|o| (o.day_at(), o.total))
            .collect();
        let backs: Vec<_> = refunds
            .iter()
            .filter(|r| r.refund.status == RefundState::Success)
            .map(|r| (r.refund.day_at(), r.refund.amount))
            .collect();
        let totals = daily_totals_of(&bj(), day(29), 5, 0, &payments, &backs).unwrap();
        let days: Vec<_> = totals.iter().map(|d| d.day).collect();
        assert_eq!(days, [day(25), day(26), day(27), day(28), day(29)]);
        assert_eq!(totals[0].sums, DaySums::default(), "a day without trade");
        assert_eq!(totals[4].paid_orders, 0);
        for d in &totals {
            let r = day_report_of(&bj(), d.day, 0, &orders, &refunds, None).unwrap();
            assert_eq!(
                (d.paid_orders, d.sums),
                (r.paid_orders, r.sums),
                "{}",
                d.day
            );
        }
        // Outside the days: left out.
        let one = daily_totals_of(&bj(), day(27), 1, 0, &payments, &backs).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].sums, sums(4250, 3000));
        assert!(
            daily_totals_of(&bj(), day(27), 0, 0, &payments, &backs)
                .unwrap()
                .is_empty()
        );
        assert!(daily_totals_of(&bj(), day(27), MAX_DAILY_TOTALS_DAYS + 1, 0, &[], &[]).is_err());
        assert!(daily_totals_of(&bj(), day(27), 3, 24, &[], &[]).is_err());
    }
}
