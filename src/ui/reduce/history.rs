//! The history screen (a day's orders and sums, the order picked), the export to a file and the day report:
//! what to load for a day, and the busy state of an export.
//!
//! It draws nothing and reads no ledger: the answers come back as messages (see the dispatch in `mod.rs`).
//! The refund form of the history screen is in `refund.rs`.

use chrono::NaiveDate;

use super::Reducer;
use crate::ui::effects::Intent;

impl Reducer<'_> {
    pub(super) fn load_history(&mut self, day: NaiveDate) {
        let h = &mut self.ui.history;
        h.day = Some(day);
        h.loading = true;
        h.selected = None;
        h.detail = None;
        h.refunds = None;
        h.refund = None;
        self.fields.refund = Default::default();
        self.fields.history_day.set(day);
        self.intents.push(Intent::LoadHistory(day));
        self.ui.history.sums = None;
        self.intents.push(Intent::LoadDaySums(day));
    }

    pub(super) fn load_day_report(&mut self, day: NaiveDate) {
        let r = &mut self.ui.day_report;
        r.day = Some(day);
        r.loading = true;
        r.exported = None;
        r.export_cancelled = false;
        self.fields.day_report_day.set(day);
        self.intents.push(Intent::LoadDayReport(day));
    }

    pub(super) fn start_report_export(&mut self) {
        let r = &mut self.ui.day_report;
        r.exporting = true;
        r.export_cancelled = false;
        r.exported = None;
    }

    pub(super) fn select_order(&mut self, no: String) {
        let h = &mut self.ui.history;
        if h.refund.as_ref().is_some_and(|f| f.out_trade_no != no) {
            h.refund = None;
            self.fields.refund = Default::default();
        }
        h.selected = Some(no.clone());
        h.detail = None;
        h.refunds = None;
        self.intents.push(Intent::LoadDetail(no.clone()));
        self.intents.push(Intent::LoadRefunds(no));
    }

    pub(super) fn start_export(&mut self) {
        let e = &mut self.ui.export;
        e.busy = true;
        e.cancelled = false;
        e.result = None;
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::money::Fen;
    use crate::ui::command::UiCommand;
    use crate::ui::effects::{Intent, Msg};
    use crate::ui::state::{Fields, Screen};

    #[test]
    fn the_day_report_is_read_on_each_visit_and_only_the_days_answer_is_kept() {
        use crate::app::window::{DayReport, DaySums};
        // Signed in: nothing but the sign-in screen otherwise.
        let (mut ui, mut fields) = (signed_in("小王"), Fields::default());
        let today = crate::calendar::business_day(t0(), 0);
        let before = today.pred_opt().unwrap();
        let report = |day| DayReport {
            day,
            day_start_hour: 0,
            by_status: vec![],
            sums: DaySums {
                received: Fen::ZERO,
                refunded: Fen::ZERO,
            },
            paid_orders: 0,
            refunds: 0,
            by_cashier: vec![],
            by_station: vec![],
            hourly: vec![],
            reconciliation: None,
        };
        let intents = run(
            &mut ui,
            &mut fields,
            vec![UiCommand::Navigate(Screen::DayReport)],
        );
        assert_eq!(intents, vec![Intent::LoadDayReport(today)]);
        assert!(ui.day_report.loading);
        assert_eq!(fields.day_report_day.text, today.to_string());

        // The cashier clicks on to the day before; today's late answer is dropped.
        let intents = run(&mut ui, &mut fields, vec![UiCommand::LoadDayReport(before)]);
        assert_eq!(intents, vec![Intent::LoadDayReport(before)]);
        receive(
            &mut ui,
            &mut fields,
            Msg::DayReport(today, Ok((report(today), vec![]))),
        );
        assert!(ui.day_report.loading && ui.day_report.data.is_none());
        receive(
            &mut ui,
            &mut fields,
            Msg::DayReport(before, Ok((report(before), vec![]))),
        );
        assert!(!ui.day_report.loading);
        assert!(matches!(&ui.day_report.data, Some(Ok((r, _))) if r.day == before));

        // Export to a file: busy until the answer, then where it went.
        let path = std::path::PathBuf::from("/tmp/r.csv");
        let intents = run(
            &mut ui,
            &mut fields,
            vec![UiCommand::ExportDayReportTo(before, path.clone())],
        );
        assert_eq!(
            intents,
            vec![Intent::ExportDayReportTo(before, path.clone())]
        );
        assert!(ui.day_report.exporting);
        receive(
            &mut ui,
            &mut fields,
            Msg::DayReportExported(Ok(path.clone())),
        );
        assert!(!ui.day_report.exporting);
        assert_eq!(ui.day_report.exported, Some(Ok(path)));

        // Away and back: read again (the day's money moves while the window is open).
        run(
            &mut ui,
            &mut fields,
            vec![UiCommand::Navigate(Screen::Sale)],
        );
        let intents = run(
            &mut ui,
            &mut fields,
            vec![UiCommand::Navigate(Screen::DayReport)],
        );
        assert_eq!(intents, vec![Intent::LoadDayReport(before)]);
    }

    #[test]
    fn the_history_reads_the_days_sums_with_its_orders() {
        use crate::app::window::DaySums;
        // Signed in: nothing but the sign-in screen otherwise.
        let (mut ui, mut fields) = (signed_in("小王"), Fields::default());
        let today = crate::calendar::business_day(t0(), 0);
        let intents = run(
            &mut ui,
            &mut fields,
            vec![UiCommand::Navigate(Screen::History)],
        );
        assert_eq!(
            intents,
            vec![Intent::LoadHistory(today), Intent::LoadDaySums(today)]
        );
        let sums = DaySums {
            received: Fen::new(2500).unwrap(),
            refunded: Fen::new(500).unwrap(),
        };
        // An answer for another day is not this day's.
        receive(
            &mut ui,
            &mut fields,
            Msg::DaySums(today.pred_opt().unwrap(), Ok(sums)),
        );
        assert!(ui.history.sums.is_none());
        receive(&mut ui, &mut fields, Msg::DaySums(today, Ok(sums)));
        assert_eq!(ui.history.sums, Some(Ok(sums)));
    }
}
