//! When the window repaints by itself. It repaints on input and on messages from the runtime (each followed
//! by `request_repaint`); on its own only while something on screen changes with time: the payment countdown
//! and the paid view's automatic return. An idle window draws nothing.
//!
//! Pure: it reads the state and the time and says how long to wait; [`super::app`] asks egui for it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::state::{Screen, UiState};

/// How long until the next frame is needed without input, or `None` when nothing changes by itself.
pub(crate) fn next_tick(state: &UiState, now: DateTime<Utc>) -> Option<Duration> {
    let ticking = match (state.screen, state.payment.as_ref()) {
        (Screen::Payment, Some(p)) => p.order.status.is_payable(),
        (Screen::Paid, Some(_)) => true,
        _ => false,
    };
    if !ticking {
        return None;
    }
    // Wake at the next whole second of the countdown, not later than one second from now.
    let ms = state
        .payment
        .as_ref()
        .map(|p| (p.order.expires_at - now).num_milliseconds())
        .unwrap_or(1000);
    let until_tick = if ms > 0 { ms % 1000 } else { 1000 };
    let wait = if until_tick == 0 { 1000 } else { until_tick };
    Some(Duration::from_millis(wait.clamp(50, 1000) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::window::{OrderStatus, OrderView};
    use crate::money::Fen;
    use crate::ui::state::PaymentState;
    use chrono::TimeZone;

    fn on_screen(screen: Screen, status: OrderStatus, left_ms: i64) -> (UiState, DateTime<Utc>) {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let order = OrderView {
            out_trade_no: "A".into(),
            total: Fen::new(100).unwrap(),
            status,
            code_url: None,
            created_at: now,
            expires_at: now + chrono::Duration::milliseconds(left_ms),
            transaction_id: None,
            paid_at: None,
            notice: None,
        };
        let state = UiState {
            screen,
            payment: Some(PaymentState::new(order)),
            ..UiState::default()
        };
        (state, now)
    }

    #[test]
    fn only_the_countdown_and_the_paid_view_tick() {
        assert_eq!(next_tick(&UiState::default(), Utc::now()), None);
        let (s, now) = on_screen(Screen::Payment, OrderStatus::Open, 61_250);
        assert_eq!(next_tick(&s, now), Some(Duration::from_millis(250)));
        let (s, now) = on_screen(Screen::Payment, OrderStatus::Open, 61_000);
        assert_eq!(next_tick(&s, now), Some(Duration::from_millis(1000)));
        let (s, now) = on_screen(Screen::Payment, OrderStatus::Open, 60_010);
        assert_eq!(next_tick(&s, now), Some(Duration::from_millis(50)));
        let (s, now) = on_screen(Screen::Payment, OrderStatus::Closing, 5_000);
        assert_eq!(next_tick(&s, now), None);
        let (s, now) = on_screen(Screen::Paid, OrderStatus::Paid, -5_000);
        assert_eq!(next_tick(&s, now), Some(Duration::from_millis(1000)));
        let (s, now) = on_screen(Screen::History, OrderStatus::Open, 5_000);
        assert_eq!(next_tick(&s, now), None);
        // The day report's charts do not move: no frames of its own.
        let (s, now) = on_screen(Screen::DayReport, OrderStatus::Open, 5_000);
        assert_eq!(next_tick(&s, now), None);
    }
}
