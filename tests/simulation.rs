//! A seeded simulation in the spirit of TigerBeetle's: many orders through the real engine against the real
//! sandbox, with every fault knob on at random (dropped, duplicated, late notifications; 5xx, SYSTEMERROR,
//! corrupted signatures, latency, refused connections; failed payments, payments that land after the close,
//! spurious ORDERNOTEXIST, a gateway clock off the till's), engine restarts mid-flow, and real SIGKILLs of a
//! child process running the engine. Then the invariants are checked:
//!
//! - every order the sandbox took money for is paid in the ledger, with the same amount and transaction_id;
//! - no order is paid in the ledger that the sandbox did not take;
//! - no out_trade_no is used twice;
//! - no order's status ever moved backwards (its history is one forward chain);
//! - every order reached a final state.
//!
//! `PAYDESK_SIM_ORDERS` sets its size (default 1000). `PAYDESK_SIM_SEED` replays a run's *script*, not its
//! execution. The seed fixes everything this test decides: each round's fault probabilities and the seed of
//! the sandbox's fault draws, batch sizes, carts, what each customer does and after how long, which orders are
//! cancelled, when connections are refused, which rounds are SIGKILLed and after how many charges, and
//! whether a round settles or stops abruptly. It does not fix what real time and the scheduler decide: order
//! numbers and transaction ids (clock and OS randomness), when a timer fires relative to a request, and so
//! which request a fault draw falls on. A failing seed therefore replays the same workload and fault mix,
//! which usually reproduces the failure, but not the same interleaving. The seed is printed at the start and
//! in every failure message.

mod support;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use paydesk::engine::{Cart, CartLine, Engine, EngineSettings};
use paydesk::ledger::{Ledger, OrderStatus};
use paydesk::money::Fen;
use paydesk::sandbox::{CustomerAction, Faults, Sandbox, SandboxConfig};
use paydesk::wxpay::TradeState;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn settings(dir: &std::path::Path, url: &str) -> EngineSettings {
    support::engine::engine_settings(dir, url)
}

fn random_cart(rng: &mut StdRng) -> Cart {
    let lines = (0..rng.random_range(1..=3))
        .map(|i| CartLine {
            name: format!("商品{i}, \"特价\""),
            unit_price: Fen::new(rng.random_range(1..=20_000)).unwrap(),
            qty: rng.random_range(1..=3),
        })
        .collect();
    Cart {
        lines,
        cashier: "模拟".into(),
    }
}

fn random_faults(rng: &mut StdRng) -> Faults {
    Faults {
        drop_notify: rng.random_range(0.0..0.6),
        duplicate_notify: rng.random_range(0.0..0.5),
        notify_delay: Duration::from_millis(rng.random_range(0..5)),
        system_error: rng.random_range(0.0..0.15),
        http_5xx: rng.random_range(0.0..0.15),
        latency: Duration::from_millis(rng.random_range(0..3)),
        refuse_connections: false,
        corrupt_sign: rng.random_range(0.0..0.1),
        // Late payments (reference §5 "Race": a customer who scanned pays as the order is closed), failed
        // payments, a gateway that forgets an order for a moment, and a gateway clock off the till's.
        pay_after_close: rng.random_range(0.0..0.8),
        late_payment_after: Duration::from_millis(rng.random_range(0..50)),
        pay_error: rng.random_range(0.0..0.2),
        spurious_not_exist: rng.random_range(0.0..0.1),
        clock_offset_secs: rng.random_range(-20..=20),
        seed: rng.random(),
        ..Faults::default()
    }
}

/// What the simulated customer does with a fresh order.
fn customer_plan(rng: &mut StdRng, sb: &Sandbox, no: &str) {
    let delay = Duration::from_millis(rng.random_range(0..150));
    let action = match rng.random_range(0..10) {
        0..=4 => Some(CustomerAction::Pay),
        5 => Some(CustomerAction::Fail),
        6 => Some(CustomerAction::Scan),
        _ => None, // walks away
    };
    if let Some(a) = action {
        // Refusals (already closed, expired) are part of the game.
        drop(sb.customer_after(delay, no, a));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulation() {
    let seed: u64 = std::env::var("PAYDESK_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let total: usize = std::env::var("PAYDESK_SIM_ORDERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    eprintln!("simulation seed: {seed} (replay with PAYDESK_SIM_SEED={seed}), {total} orders");
    let ctx = format!("seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);

    let dir = tempfile::tempdir().unwrap();
    let sb = Sandbox::start(
        SandboxConfig {
            close_min_age: Duration::ZERO,
            notify_time_scale: 0.0005,
            ..support::sandbox::oracle_config()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let url = sb.base_url();

    let mut charged = 0usize;
    let mut rounds = 0usize;
    let mut kills = 0usize;
    while charged < total {
        rounds += 1;
        sb.set_faults(random_faults(&mut rng));
        let batch = rng.random_range(10..60).min(total - charged).max(1);
        if rng.random_range(0..8) == 0 {
            // A real crash: a child process runs the engine and is SIGKILLed at a random point.
            let kill_after = rng.random_range(1..=batch);
            let mut child = Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "sim_child", "--ignored", "--nocapture"])
                .env("PAYDESK_SIM_CHILD_DIR", dir.path())
                .env("PAYDESK_SIM_CHILD_URL", &url)
                .env("PAYDESK_SIM_CHILD_COUNT", batch.to_string())
                .env("PAYDESK_SIM_CHILD_SEED", rng.random::<u64>().to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let seen = tokio::task::spawn_blocking(move || {
                let mut seen = Vec::new();
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(no) = line.strip_prefix("charged ") {
                        seen.push(no.trim().to_string()); // "?" when that charge failed
                        if seen.len() >= kill_after {
                            break;
                        }
                    }
                }
                seen
            })
            .await
            .unwrap();
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..30))).await;
            child.kill().unwrap(); // SIGKILL
            let _ = child.wait();
            kills += 1;
            for no in seen.iter().filter(|n| n.as_str() != "?") {
                customer_plan(&mut rng, &sb, no);
            }
            charged += seen.len().max(1);
            continue;
        }

        let engine = Engine::start(settings(dir.path(), &url))
            .await
            .unwrap_or_else(|e| panic!("{ctx}: start: {e}"));
        // Charges wait for the ledger's start-up check.
        assert!(
            engine.ledger_checked(Duration::from_secs(60)).await,
            "{ctx}: ledger check"
        );
        for _ in 0..batch {
            if rng.random_range(0..40) == 0 {
                sb.set_faults(Faults {
                    refuse_connections: true,
                    ..sb.faults()
                });
            } else if sb.faults().refuse_connections {
                sb.set_faults(Faults {
                    refuse_connections: false,
                    ..sb.faults()
                });
            }
            // A failed charge was stored before sending; the engine drives it to a final state.
            if let Ok(v) = engine.charge(random_cart(&mut rng)).await {
                customer_plan(&mut rng, &sb, &v.out_trade_no);
                if rng.random_range(0..10) == 0 {
                    let _ = engine.cancel(&v.out_trade_no).await;
                }
            }
            charged += 1;
            if rng.random_range(0..4) == 0 {
                tokio::time::sleep(Duration::from_millis(rng.random_range(0..20))).await;
            }
        }
        sb.set_faults(Faults {
            refuse_connections: false,
            ..sb.faults()
        });
        // Either let things settle a little, or stop abruptly mid-flow.
        if rng.random_bool(0.5) {
            engine
                .settle(Duration::from_millis(rng.random_range(0..300)))
                .await;
        }
        engine.shutdown().await;
    }

    // Calm weather: the last start reconciles everything left.
    sb.set_faults(Faults::default());
    tokio::time::sleep(Duration::from_millis(200)).await; // customers with pending delays act
    let engine = Engine::start(settings(dir.path(), &url)).await.unwrap();
    assert!(
        engine.settle(Duration::from_secs(120)).await,
        "{ctx}: orders still unfinished after reconciliation"
    );
    let ledger = support::engine::ledger(dir.path());
    check_invariants(&ledger, &sb, &ctx);
    eprintln!(
        "simulation seed {seed}: {charged} orders in {rounds} rounds, {kills} SIGKILLs: invariants hold"
    );
    engine.shutdown().await;
    sb.shutdown().await;
}

fn check_invariants(ledger: &Ledger, sb: &Sandbox, ctx: &str) {
    let far = chrono::Duration::days(3650);
    let orders = ledger
        .orders_between(Utc::now() - far, Utc::now() + far)
        .unwrap();
    assert!(
        ledger.unfinished().unwrap().is_empty(),
        "{ctx}: unfinished orders remain"
    );

    let mut seen = HashSet::new();
    for o in &orders {
        assert!(
            seen.insert(o.out_trade_no.clone()),
            "{ctx}: {} used twice",
            o.out_trade_no
        );
    }
    let gateway: HashMap<String, _> = sb
        .orders()
        .into_iter()
        .map(|g| (g.out_trade_no.clone(), g))
        .collect();
    for g in gateway.values() {
        assert!(
            seen.contains(&g.out_trade_no),
            "{ctx}: gateway order {} unknown to the ledger",
            g.out_trade_no
        );
    }

    let mut paid = 0;
    let late = orders
        .iter()
        .filter(|o| o.status == OrderStatus::PaidAfterCancel)
        .count();
    for o in &orders {
        let g = gateway.get(&o.out_trade_no);
        let gw_paid =
            g.is_some_and(|g| matches!(g.trade_state, TradeState::Success | TradeState::Refund));
        assert_eq!(
            o.status.is_paid(),
            gw_paid,
            "{ctx}: {} is {:?} in the ledger but {:?} at the gateway",
            o.out_trade_no,
            o.status,
            g.map(|g| g.trade_state.clone())
        );
        if let Some(g) = g.filter(|_| gw_paid) {
            paid += 1;
            assert_eq!(o.total, g.total_fee, "{ctx}: {} amount", o.out_trade_no);
            assert_eq!(
                o.transaction_id, g.transaction_id,
                "{ctx}: {} transaction_id",
                o.out_trade_no
            );
        }
        if o.status == OrderStatus::PaidAfterCancel {
            assert!(
                o.flagged,
                "{ctx}: {} paid after cancel but not flagged",
                o.out_trade_no
            );
        }
        // The history is one forward chain: each change starts where the last ended, no status twice.
        let mut visited = vec![OrderStatus::Creating];
        for e in ledger.events(&o.out_trade_no).unwrap() {
            if let Some((from, to)) = e.outcome.split_once(" -> ") {
                let from = OrderStatus::parse(from.trim()).unwrap();
                let to = OrderStatus::parse(to.trim()).unwrap();
                assert_eq!(
                    Some(&from),
                    visited.last(),
                    "{ctx}: {} history jumps: {:?}",
                    o.out_trade_no,
                    e
                );
                assert!(
                    !visited.contains(&to),
                    "{ctx}: {} moved back to {to:?}",
                    o.out_trade_no
                );
                visited.push(to);
            }
        }
        assert_eq!(
            visited.last(),
            Some(&o.status),
            "{ctx}: {} history does not end at its status",
            o.out_trade_no
        );
    }
    eprintln!(
        "{ctx}: {} orders in the ledger, {} at the gateway, {paid} paid ({late} after cancel)",
        orders.len(),
        gateway.len()
    );
    assert!(
        paid > 0,
        "{ctx}: a simulation in which nobody paid proves little"
    );
}

/// The engine in a child process, to be SIGKILLed by [`simulation`].
#[test]
#[ignore = "run by `simulation` as a child process"]
fn sim_child() {
    let Ok(dir) = std::env::var("PAYDESK_SIM_CHILD_DIR") else {
        return;
    };
    let url = std::env::var("PAYDESK_SIM_CHILD_URL").unwrap();
    let count: usize = std::env::var("PAYDESK_SIM_CHILD_COUNT")
        .unwrap()
        .parse()
        .unwrap();
    let seed: u64 = std::env::var("PAYDESK_SIM_CHILD_SEED")
        .unwrap()
        .parse()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let mut rng = StdRng::seed_from_u64(seed);
        let engine = Engine::start(settings(std::path::Path::new(&dir), &url))
            .await
            .unwrap();
        assert!(engine.ledger_checked(Duration::from_secs(60)).await);
        for _ in 0..count {
            if let Ok(v) = engine.charge(random_cart(&mut rng)).await {
                println!("charged {}", v.out_trade_no);
            } else {
                println!("charged ?");
            }
            use std::io::Write;
            std::io::stdout().flush().unwrap();
        }
        // Stay up, watching, until killed.
        tokio::time::sleep(Duration::from_secs(600)).await;
    });
}
