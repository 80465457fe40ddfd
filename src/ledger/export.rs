//! The manager's CSV export, and a business day's orders.
//!
//! Which orders and refunds belong to a business day is [`super::day`]'s rule, like WeChat's bill: an order
//! that received money is on the day of its *payment*, any other order on the day it was created in, a
//! refund on the day of its success (else of its creation). Where a day begins and ends is
//! [`crate::calendar`]'s. So the sums of a day's received and refunded columns are the day report's
//! ([`Ledger::day_report`]) and [`Ledger::day_sums`].
//!
//! The CSV is UTF-8 with a byte-order mark (so Excel on a Chinese Windows shows the item names), CRLF line
//! ends, fields quoted where needed by the `csv` crate, one row per order, oldest (by creation) first, then
//! one row per refund, oldest first. Columns, with bilingual headers ([`HEADER`]):
//!
//! | header | content |
//! |---|---|
//! | `时间 time` | created, local time, `YYYY-MM-DD HH:MM:SS` |
//! | `商户订单号 out_trade_no` | |
//! | `微信支付订单号 transaction_id` | empty unless paid |
//! | `商品 items` | `可乐 ×2; 薯片 ×1` |
//! | `金额(元) amount_yuan` | the order total, exact, two decimals: `12.50` |
//! | `状态 status` | [`OrderStatus::label`]: `已支付 paid`, `取消后已支付 paid after cancel`, … |
//! | `收银员 cashier` | |
//! | `收银台 station` | |
//! | `备注 note` | why the order is flagged for the manager, if it is; `部分退款 partially refunded 5.00` or
//! | | `退款中 refunding 5.00` while only part of it is back |
//! | `实收(元) received_yuan` | the total if the order received money (paid, paid after cancel, refunded since), else `0.00` |
//! | `退款(元) refunded_yuan` | `0.00` on an order's row (its refunds have their own rows) |
//! | `净额(元) net_yuan` | received − refunded |
//!
//! A refund is its own row on the business day of its success (else of its creation), whatever day its
//! order is from: the time of that instant, the order's out_trade_no and transaction_id, no items, the
//! amount negative (`-12.50`), the refund's status ([`RefundState::label`]: `已退款 refunded`,
//! `退款中 refunding`, `退款关闭 refund closed`, …), the order's cashier and station, and the note
//! `退款 refund of <out_trade_no>: <reason>; <out_refund_no>, approved by <name>` (plus why it is flagged).
//! Only `已退款 refunded` rows are money back: a closed refund keeps its row, with its status. A refund row's
//! received is `0.00`, its refunded the amount if it succeeded (else `0.00`), its net minus that (`-5.00`).
//! So over a day's CSV, sum(received) − sum(refunded) = sum(net) = the day's net.
//!
//! Text fields that Excel would read as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) are
//! prefixed with `'`.
//!
//! Times are shown in `chrono::Local`; every function has an `_in` twin taking any [`TimeZone`], which is
//! what the tests use.

use std::fmt::Write as _;
use std::fs;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Local, NaiveDate, TimeZone, Utc};

use super::day::DaySpan;
use super::model::{LedgerError, Order};
use super::refund_state::{self, RefundState};
use super::store::{Ledger, status_at, to_ms};
use crate::calendar::day_bounds_in;
use crate::money::Fen;

#[cfg(doc)]
use super::state::OrderStatus;

/// The export's header row.
pub const HEADER: [&str; 12] = [
    "时间 time",
    "商户订单号 out_trade_no",
    "微信支付订单号 transaction_id",
    "商品 items",
    "金额(元) amount_yuan",
    "状态 status",
    "收银员 cashier",
    "收银台 station",
    "备注 note",
    "实收(元) received_yuan",
    "退款(元) refunded_yuan",
    "净额(元) net_yuan",
];

/// UTF-8 byte-order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `YYYY-MM-DD HH:MM:SS` of a unix-millisecond instant in `tz`, appended to `buf`.
fn push_local_time<Tz: TimeZone>(buf: &mut String, tz: &Tz, ms: i64) {
    use chrono::{Datelike, Timelike};
    match tz.timestamp_millis_opt(ms).single() {
        Some(t) => {
            let n = t.naive_local();
            let _ = write!(
                buf,
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                n.year(),
                n.month(),
                n.day(),
                n.hour(),
                n.minute(),
                n.second()
            );
        }
        None => {
            let _ = write!(buf, "@{ms}");
        }
    }
}

/// Append `s` to `buf`, defusing what Excel would run as a formula.
fn push_text(buf: &mut String, s: &str) {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        buf.push('\'');
    }
    buf.push_str(s);
}

/// Append `fen` as yuan with two decimals; a negative amount as `-3.00`.
fn push_yuan(buf: &mut String, fen: i64) {
    if fen < 0 {
        buf.push('-');
    }
    let abs = fen.unsigned_abs();
    let _ = write!(buf, "{}.{:02}", abs / 100, abs % 100);
}

/// The row being assembled while the joined order/item rows stream by.
#[derive(Default)]
struct Row {
    id: Option<i64>,
    fields: [String; HEADER.len()],
}

impl Row {
    fn clear(&mut self) {
        self.id = None;
        for f in &mut self.fields {
            f.clear();
        }
    }
}

impl Ledger {
    /// The orders of business day `day` (local time), oldest (by creation) first: those paid on the day
    /// and the others created on it ([`super::day`]'s rule, as in the CSV and the day report).
    pub fn orders_for_day(
        &self,
        day: NaiveDate,
        day_start_hour: u8,
    ) -> Result<Vec<Order>, LedgerError> {
        self.orders_for_day_in(&Local, day, day_start_hour)
    }

    /// [`Ledger::orders_for_day`] in any time zone.
    pub fn orders_for_day_in<Tz: TimeZone>(
        &self,
        tz: &Tz,
        day: NaiveDate,
        day_start_hour: u8,
    ) -> Result<Vec<Order>, LedgerError> {
        let (from, to) = day_bounds_in(tz, day, day_start_hour)?;
        self.orders_of_days_between(from, to)
    }

    /// Write business day `day` (local time) as CSV to `out`; returns the number of rows (orders and
    /// refunds). See the module documentation for the format.
    pub fn export_day<W: Write>(
        &self,
        day: NaiveDate,
        day_start_hour: u8,
        out: W,
    ) -> Result<usize, LedgerError> {
        self.export_day_in(&Local, day, day_start_hour, out)
    }

    /// [`Ledger::export_day`] in any time zone.
    pub fn export_day_in<Tz: TimeZone, W: Write>(
        &self,
        tz: &Tz,
        day: NaiveDate,
        day_start_hour: u8,
        out: W,
    ) -> Result<usize, LedgerError> {
        let (from, to) = day_bounds_in(tz, day, day_start_hour)?;
        self.export_between_in(tz, from, to, out)
    }

    /// Write the orders of the business days in `[from, to)` ([`Ledger::orders_of_days_between`]), then the
    /// refunds of `[from, to)`, as CSV, times shown in local time. With `DateTime::<Utc>::MIN_UTC` and
    /// `MAX_UTC` this is the whole ledger.
    pub fn export_between<W: Write>(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        out: W,
    ) -> Result<usize, LedgerError> {
        self.export_between_in(&Local, from, to, out)
    }

    /// [`Ledger::export_between`] in any time zone.
    pub fn export_between_in<Tz: TimeZone, W: Write>(
        &self,
        tz: &Tz,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        mut out: W,
    ) -> Result<usize, LedgerError> {
        out.write_all(BOM)?;
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .buffer_capacity(64 * 1024)
            .from_writer(out);
        csv.write_record(HEADER)?;

        let conn = self.reader();
        // One pass over orders in created_at order (the index, over the span's creation times), each joined
        // with its lines in line order (the primary key): no sort, no per-order query.
        let span = DaySpan::new(&conn, from, to)?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT o.id, o.created_at, o.out_trade_no, o.transaction_id, o.total_fen, o.status, \
                    o.cashier, o.station, o.flag_reason, i.name, i.qty, \
                    (SELECT COALESCE(SUM(r.amount_fen), 0) FROM refunds r \
                     WHERE r.order_id = o.id AND r.status = 'success'), \
                    (SELECT COALESCE(SUM(r.amount_fen), 0) FROM refunds r \
                     WHERE r.order_id = o.id AND r.status IN ('requesting', 'processing', 'change')) \
             FROM orders o LEFT JOIN order_items i ON i.order_id = o.id \
             WHERE {} \
             ORDER BY o.created_at, o.id, i.line_no",
            DaySpan::condition("o")
        ))?;
        let mut rows = stmt.query(span.params())?;
        let mut row = Row::default();
        let mut count = 0usize;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            if row.id != Some(id) {
                if row.id.is_some() {
                    csv.write_record(&row.fields)?;
                    count += 1;
                }
                row.clear();
                row.id = Some(id);
                let f = &mut row.fields;
                push_local_time(&mut f[0], tz, r.get(1)?);
                push_text(&mut f[1], r.get_ref(2)?.as_str()?);
                if let Some(tid) = r.get_ref(3)?.as_str_or_null()? {
                    push_text(&mut f[2], tid);
                }
                push_yuan(&mut f[4], r.get(4)?);
                // `OrderStatus::label`, without a String per row.
                let status = status_at(r, 5)?;
                f[5].push_str(status.word_zh());
                f[5].push(' ');
                f[5].push_str(status.word_en());
                push_text(&mut f[6], r.get_ref(6)?.as_str()?);
                push_text(&mut f[7], r.get_ref(7)?.as_str()?);
                if let Some(note) = r.get_ref(8)?.as_str_or_null()? {
                    push_text(&mut f[8], note);
                }
                push_refund_progress(&mut f[8], r.get(4)?, r.get(11)?, r.get(12)?);
                // Received: the order's money, on the day of its payment; its refunds are their own rows.
                let received = if refund_state::order_received_money(status) {
                    r.get(4)?
                } else {
                    0
                };
                push_money_columns(f, received, 0);
            }
            if let Some(name) = r.get_ref(9)?.as_str_or_null()? {
                let items = &mut row.fields[3];
                if items.is_empty() {
                    push_text(items, name);
                } else {
                    items.push_str("; ");
                    items.push_str(name);
                }
                let qty: i64 = r.get(10)?;
                let _ = write!(items, " ×{qty}");
            }
        }
        if row.id.is_some() {
            csv.write_record(&row.fields)?;
            count += 1;
        }
        drop(rows);
        count += write_refund_rows(&conn, tz, from, to, &mut csv, &mut row)?;
        csv.flush()?;
        Ok(count)
    }

    /// [`Ledger::export_day`] to a file: written to a temporary file in the same directory and renamed into
    /// place, so a failed export never leaves a half file (and never damages an existing one).
    pub fn export_day_to_file(
        &self,
        day: NaiveDate,
        day_start_hour: u8,
        path: &Path,
    ) -> Result<usize, LedgerError> {
        let mut rows = 0;
        write_atomically(path, |tmp| {
            let file = fs::File::create(tmp).map_err(|source| LedgerError::WriteFile {
                path: path.to_path_buf(),
                source,
            })?;
            let mut out = std::io::BufWriter::new(file);
            rows = self.export_day(day, day_start_hour, &mut out)?;
            let file = out.into_inner().map_err(|e| LedgerError::WriteFile {
                path: path.to_path_buf(),
                source: e.into_error(),
            })?;
            file.sync_all().map_err(|source| LedgerError::WriteFile {
                path: path.to_path_buf(),
                source,
            })
        })?;
        Ok(rows)
    }
}

/// Fill the received, refunded and net columns.
fn push_money_columns(f: &mut [String; HEADER.len()], received: i64, refunded: i64) {
    push_yuan(&mut f[9], received);
    push_yuan(&mut f[10], refunded);
    push_yuan(&mut f[11], received - refunded);
}

/// Append an order's refund progress (partially refunded, refunding) to its note.
fn push_refund_progress(note: &mut String, total: i64, refunded: i64, pending: i64) {
    use super::refund_state::{RefundProgress, refund_progress};
    let (Some(total), Some(refunded), Some(pending)) =
        (Fen::new(total), Fen::new(refunded), Fen::new(pending))
    else {
        return;
    };
    let amount = match refund_progress(total, refunded, pending) {
        RefundProgress::Partial => refunded,
        RefundProgress::Refunding => pending,
        RefundProgress::None | RefundProgress::Full => return,
    };
    if !note.is_empty() {
        note.push_str("; ");
    }
    note.push_str(refund_progress(total, refunded, pending).label());
    note.push(' ');
    push_yuan(note, amount.get());
}

/// Write the refunds of `[from, to)` (by success, else creation), oldest first; returns how many.
fn write_refund_rows<Tz: TimeZone, W: Write>(
    conn: &rusqlite::Connection,
    tz: &Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    csv: &mut csv::Writer<W>,
    row: &mut Row,
) -> Result<usize, LedgerError> {
    let mut stmt = conn.prepare_cached(
        "SELECT COALESCE(r.success_at, r.created_at), o.out_trade_no, o.transaction_id, r.amount_fen, \
                r.status, o.cashier, o.station, r.reason, r.out_refund_no, r.approved_by, r.flag_reason \
         FROM refunds r JOIN orders o ON o.id = r.order_id \
         WHERE COALESCE(r.success_at, r.created_at) >= ?1 AND COALESCE(r.success_at, r.created_at) < ?2 \
         ORDER BY COALESCE(r.success_at, r.created_at), r.id",
    )?;
    let mut rows = stmt.query([to_ms(from), to_ms(to)])?;
    let mut count = 0;
    while let Some(r) = rows.next()? {
        row.clear();
        let f = &mut row.fields;
        push_local_time(&mut f[0], tz, r.get(0)?);
        let otn = r.get_ref(1)?.as_str()?;
        push_text(&mut f[1], otn);
        if let Some(tid) = r.get_ref(2)?.as_str_or_null()? {
            push_text(&mut f[2], tid);
        }
        let amount: i64 = r.get(3)?;
        push_yuan(&mut f[4], -amount);
        let status = r.get_ref(4)?.as_str()?;
        let status = RefundState::parse(status).ok_or_else(|| {
            LedgerError::Invalid(format!("unknown refund status {status:?} in the ledger"))
        })?;
        f[5].push_str(status.word_zh());
        f[5].push(' ');
        f[5].push_str(status.word_en());
        push_text(&mut f[6], r.get_ref(5)?.as_str()?);
        push_text(&mut f[7], r.get_ref(6)?.as_str()?);
        let reason = r.get_ref(7)?.as_str()?;
        let _ = write!(f[8], "退款 refund of {otn}");
        if !reason.is_empty() {
            let _ = write!(f[8], ": {}", reason.replace(['\n', '\r'], " "));
        }
        let _ = write!(
            f[8],
            "; {}, approved by {}",
            r.get_ref(8)?.as_str()?,
            r.get_ref(9)?.as_str()?
        );
        if let Some(flag) = r.get_ref(10)?.as_str_or_null()? {
            let _ = write!(f[8], "; {flag}");
        }
        // Only money back counts as refunded.
        let refunded = if status == RefundState::Success {
            amount
        } else {
            0
        };
        push_money_columns(f, 0, refunded);
        csv.write_record(&row.fields)?;
        count += 1;
    }
    Ok(count)
}

/// [`crate::fsutil::write_atomically`] for a writer that fails with a [`LedgerError`]: that error comes back
/// as it was; a failure of the file handling itself becomes [`LedgerError::WriteFile`].
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), LedgerError>,
) -> Result<(), LedgerError> {
    let mut failed = None;
    let result = crate::fsutil::write_atomically(path, |tmp| {
        write(tmp).map_err(|e| {
            let io = std::io::Error::other(e.to_string());
            failed = Some(e);
            io
        })
    });
    match (result, failed) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(e)) => Err(e),
        (Err(source), None) => Err(LedgerError::WriteFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_formatted_exactly() {
        let mut s = String::new();
        for fen in [0, 1, 10, 1250, 99_999_999] {
            s.clear();
            push_yuan(&mut s, fen);
            assert_eq!(s, crate::money::Fen::new(fen).unwrap().yuan_string());
        }
        for (fen, text) in [(-300, "-3.00"), (-1, "-0.01"), (-1250, "-12.50")] {
            s.clear();
            push_yuan(&mut s, fen);
            assert_eq!(s, text);
        }
        s.clear();
        push_text(&mut s, "=SUM(A1)");
        assert_eq!(s, "'=SUM(A1)");
        s.clear();
        push_local_time(&mut s, &Utc, 1_000);
        assert_eq!(s, "1970-01-01 00:00:01");
    }
}
