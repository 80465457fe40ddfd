//! The ledger's SQL schema and its migrations.
//!
//! The schema version is SQLite's `PRAGMA user_version`: 0 for a new file, then the number of migrations
//! applied. Each migration runs in its own transaction together with the version bump, so a crash leaves the
//! file at one version or the next. Never edit a released migration; append a new one.
//!
//! Conventions: amounts are INTEGER fen (`*_fen`), instants are INTEGER unix milliseconds UTC (`*_at`,
//! `time_*`), statuses are [`OrderStatus::as_str`](super::state::OrderStatus::as_str) text. Tables are
//! STRICT. Events are append-only (triggers refuse UPDATE and DELETE), and orders are never deleted.

/// `PRAGMA application_id` of a PayDesk ledger ("PDSK").
pub const APPLICATION_ID: i32 = 0x5044_534B;

/// The migrations, in order; `MIGRATIONS[n]` brings a file from version `n` to `n + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: orders, their item lines, their history.
    r#"
CREATE TABLE orders (
    id               INTEGER PRIMARY KEY,
    out_trade_no     TEXT    NOT NULL UNIQUE,
    station          TEXT    NOT NULL,
    cashier          TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    total_fen        INTEGER NOT NULL CHECK (total_fen >= 0),
    status           TEXT    NOT NULL CHECK (status IN ('creating', 'open', 'user_paying', 'closing',
                         'paid', 'paid_after_cancel', 'failed', 'cancelled', 'expired', 'refunded')),
    close_reason     TEXT    CHECK (close_reason IN ('cancel', 'expire')),
    body             TEXT    NOT NULL,
    notify_url       TEXT    NOT NULL,
    spbill_create_ip TEXT    NOT NULL,
    product_id       TEXT    NOT NULL,
    device_info      TEXT,
    time_start       INTEGER NOT NULL,
    time_expire      INTEGER NOT NULL,
    code_url         TEXT,
    prepay_id        TEXT,
    transaction_id   TEXT,
    paid_at          INTEGER,
    cash_fee_fen     INTEGER CHECK (cash_fee_fen >= 0),
    bank_type        TEXT,
    openid           TEXT,
    flagged          INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
    flag_reason      TEXT,
    updated_at       INTEGER NOT NULL
) STRICT;

-- A business day's orders, and any time range.
CREATE INDEX orders_by_created_at ON orders (created_at);
-- Start-up reconciliation: only the few orders that are not final.
CREATE INDEX orders_unfinished ON orders (created_at)
    WHERE status IN ('creating', 'open', 'user_paying', 'closing');

CREATE TABLE order_items (
    order_id       INTEGER NOT NULL REFERENCES orders (id),
    line_no        INTEGER NOT NULL,
    name           TEXT    NOT NULL,
    unit_price_fen INTEGER NOT NULL CHECK (unit_price_fen >= 0),
    qty            INTEGER NOT NULL CHECK (qty >= 0),
    line_total_fen INTEGER NOT NULL CHECK (line_total_fen >= 0),
    PRIMARY KEY (order_id, line_no)
) STRICT, WITHOUT ROWID;

CREATE TABLE order_events (
    id       INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders (id),
    at       INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    source   TEXT    NOT NULL,
    detail   TEXT    NOT NULL,
    outcome  TEXT    NOT NULL
) STRICT;
CREATE INDEX order_events_by_order ON order_events (order_id, id);

CREATE TRIGGER order_events_append_only_update BEFORE UPDATE ON order_events
BEGIN SELECT RAISE(ABORT, 'order_events is append-only'); END;
CREATE TRIGGER order_events_append_only_delete BEFORE DELETE ON order_events
BEGIN SELECT RAISE(ABORT, 'order_events is append-only'); END;
CREATE TRIGGER orders_never_deleted BEFORE DELETE ON orders
BEGIN SELECT RAISE(ABORT, 'orders are never deleted'); END;
CREATE TRIGGER order_items_never_deleted BEFORE DELETE ON order_items
BEGIN SELECT RAISE(ABORT, 'order items are never deleted'); END;
"#,
    // 2: re-checks of given-up orders (a payment may still land after the close), and a third close reason:
    // a failed payment (PAYERROR) is closed at the gateway before it is final. SQLite cannot alter a CHECK,
    // so the constraint's text is widened in place (the documented procedure for relaxing a constraint:
    // every row valid before stays valid).
    r#"
ALTER TABLE orders ADD COLUMN rechecks INTEGER NOT NULL DEFAULT 0 CHECK (rechecks >= 0);
-- Start-up re-checks: orders given up within a day of their time_expire.
CREATE INDEX orders_given_up ON orders (time_expire)
    WHERE status IN ('failed', 'cancelled', 'expired');
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, 'close_reason IN (''cancel'', ''expire'')',
                          'close_reason IN (''cancel'', ''expire'', ''pay_error'')')
 WHERE type = 'table' AND name = 'orders';
PRAGMA writable_schema = RESET;
"#,
    // 3: refunds, each linked to its order, with their own states (`refund_state::RefundState::as_str`).
    // An order's refunded / pending sums are derived from this table, never stored twice.
    r#"
CREATE TABLE refunds (
    id            INTEGER PRIMARY KEY,
    out_refund_no TEXT    NOT NULL UNIQUE,
    order_id      INTEGER NOT NULL REFERENCES orders (id),
    amount_fen    INTEGER NOT NULL CHECK (amount_fen > 0),
    reason        TEXT    NOT NULL,
    approved_by   TEXT    NOT NULL,
    source        TEXT    NOT NULL CHECK (source IN ('till', 'merchant_platform', 'bill')),
    status        TEXT    NOT NULL CHECK (status IN ('requesting', 'processing', 'success', 'change',
                      'closed', 'failed')),
    refund_id     TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    success_at    INTEGER,
    recv_account  TEXT,
    flagged       INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
    flag_reason   TEXT
) STRICT;

-- An order's refunds, and its sums.
CREATE INDEX refunds_by_order ON refunds (order_id, id);
-- A business day's refunds: on the day of their success, else of their creation.
CREATE INDEX refunds_by_day ON refunds (COALESCE(success_at, created_at));
-- Start-up reconciliation: only the few refunds in flight.
CREATE INDEX refunds_unfinished ON refunds (created_at)
    WHERE status IN ('requesting', 'processing');

CREATE TRIGGER refunds_never_deleted BEFORE DELETE ON refunds
BEGIN SELECT RAISE(ABORT, 'refunds are never deleted'); END;
"#,
    // 4: reconciliations with WeChat's trade bill, one row per run (the latest run of a day is its state).
    // `day` is the Beijing calendar day of the bill (`YYYY-MM-DD`); the fee is the bill's service fee in
    // 0.00001 yuan, as the bill gives it (`wxpay::bill::Fee`); `report` is the printed result, each difference
    // explained. Orders are found by payment time for this, hence the index.
    r#"
CREATE TABLE reconciliations (
    id          INTEGER PRIMARY KEY,
    day         TEXT    NOT NULL CHECK (length(day) = 10),
    ran_at      INTEGER NOT NULL,
    bill        TEXT    NOT NULL CHECK (bill IN ('bill', 'no_bill')),
    matched     INTEGER NOT NULL CHECK (matched >= 0),
    differences INTEGER NOT NULL CHECK (differences >= 0),
    unexplained INTEGER NOT NULL CHECK (unexplained >= 0 AND unexplained <= differences),
    fee_e5      INTEGER NOT NULL,
    report      TEXT    NOT NULL
) STRICT;
CREATE INDEX reconciliations_by_day ON reconciliations (day, id);
CREATE INDEX orders_by_paid_at ON orders (paid_at) WHERE paid_at IS NOT NULL;

CREATE TRIGGER reconciliations_never_deleted BEFORE DELETE ON reconciliations
BEGIN SELECT RAISE(ABORT, 'reconciliations are never deleted'); END;
"#,
    // 5: cashiers' shifts at a station, from sign-in to handover (`shift`). An open shift has no
    // handed_over_at and no summary; the handover writes both at once, once (a trigger refuses any other
    // change), and a station has at most one open shift. The summary is what the shift counted at handover
    // (`shift::ShiftSummary`), kept as it was then even if a late payment or refund changes the sums later.
    r#"
CREATE TABLE shifts (
    id             INTEGER PRIMARY KEY,
    station        TEXT    NOT NULL,
    cashier        TEXT    NOT NULL,
    signed_in_at   INTEGER NOT NULL,
    handed_over_at INTEGER CHECK (handed_over_at >= signed_in_at),
    orders         INTEGER CHECK (orders >= 0),
    received_fen   INTEGER CHECK (received_fen >= 0),
    refunds        INTEGER CHECK (refunds >= 0),
    refunded_fen   INTEGER CHECK (refunded_fen >= 0),
    net_fen        INTEGER CHECK (net_fen = received_fen - refunded_fen),
    CHECK ((handed_over_at IS NULL AND orders IS NULL AND received_fen IS NULL AND refunds IS NULL
                AND refunded_fen IS NULL AND net_fen IS NULL)
        OR (handed_over_at IS NOT NULL AND orders IS NOT NULL AND received_fen IS NOT NULL
                AND refunds IS NOT NULL AND refunded_fen IS NOT NULL AND net_fen IS NOT NULL))
) STRICT;
-- One open shift per station: the one a restarted till resumes.
CREATE UNIQUE INDEX shifts_open_per_station ON shifts (station) WHERE handed_over_at IS NULL;
CREATE INDEX shifts_by_signed_in_at ON shifts (signed_in_at);
-- A shift's orders: this station and cashier, by payment time.
CREATE INDEX orders_by_station_cashier ON orders (station, cashier, paid_at);

CREATE TRIGGER shifts_never_deleted BEFORE DELETE ON shifts
BEGIN SELECT RAISE(ABORT, 'shifts are never deleted'); END;
CREATE TRIGGER shifts_handed_over_once BEFORE UPDATE ON shifts
WHEN OLD.handed_over_at IS NOT NULL OR NEW.id IS NOT OLD.id OR NEW.station IS NOT OLD.station
    OR NEW.cashier IS NOT OLD.cashier OR NEW.signed_in_at IS NOT OLD.signed_in_at
BEGIN SELECT RAISE(ABORT, 'a shift changes once, at its handover'); END;
"#,
];

/// The schema version this PayDesk writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;
