//! End-to-end latencies against the sandbox on loopback, with the real engine and a real ledger file:
//! Charge → code_url; the customer pays → the order is paid in the ledger, by the notification path and by
//! polling alone (live timing: first query after 3 s, then every 2 s).
//! Run: `cargo bench --bench engine`. Prints p50/p99 for each. Then the gateway unreachable at start-up: the
//! CPU the engine uses over 10 s with 50 unfinished orders and a gateway port that drops every connection
//! (`ENGINE_BENCH_ONLY=offline` runs only that).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use paydesk::app::{engine_settings, sandbox_merchant};
use paydesk::config::Config;
use paydesk::engine::{Cart, CartLine, Engine, EngineEvent, Gateway, Timing};
use paydesk::money::Fen;
use paydesk::sandbox::{CustomerAction, Faults, Sandbox, SandboxConfig};

fn cart(i: u32) -> Cart {
    Cart {
        lines: vec![CartLine {
            name: format!("商品{i}"),
            unit_price: Fen::new(1250).unwrap(),
            qty: 1,
        }],
        cashier: "bench".into(),
    }
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut v: Vec<Duration>) {
    let (p50, p99) = (pct(&mut v, 0.50), pct(&mut v, 0.99));
    println!(
        "{name:<44} n={:<4} p50={:>9.2?} p99={:>9.2?} max={:>9.2?}",
        v.len(),
        p50,
        p99,
        v.last().unwrap()
    );
}

async fn engine(dir: &std::path::Path, sb: &Sandbox, timing: Timing) -> Engine {
    let gateway = Gateway {
        primary: sb.base_url(),
        backup: None,
        merchant: sandbox_merchant(),
        sandbox: true,
    };
    let mut s = engine_settings(&Config::sandbox_default(), dir, gateway);
    s.timing = timing;
    Engine::start(s).await.unwrap()
}

/// Pay `n` orders at staggered moments; return the time from each payment to its Paid event.
async fn pay_latencies(engine: &Engine, sb: &Sandbox, n: u32, spread: Duration) -> Vec<Duration> {
    let mut events = engine.subscribe();
    let mut paid_at: HashMap<String, Instant> = HashMap::new();
    let mut orders = Vec::new();
    for i in 0..n {
        orders.push(engine.charge(cart(i)).await.unwrap().out_trade_no);
    }
    let start = Instant::now();
    let mut pay_times: HashMap<String, Instant> = HashMap::new();
    let sb_url = sb.base_url();
    let pays: Arc<tokio::sync::Mutex<HashMap<String, Instant>>> = Arc::default();
    for (i, no) in orders.iter().enumerate() {
        let offset = spread.mul_f64(i as f64 / n as f64);
        let (no, pays, url) = (no.clone(), pays.clone(), sb_url.clone());
        tokio::spawn(async move {
            tokio::time::sleep_until((start + offset).into()).await;
            // Recorded before paying: the engine may see the payment before this call returns, and the
            // loop below must find every pay time once every order is paid.
            pays.lock().await.insert(no.clone(), Instant::now());
            paydesk::sandbox::remote_customer(&url, &no, CustomerAction::Pay)
                .await
                .unwrap();
        });
    }
    while paid_at.len() < orders.len() {
        if let Ok(EngineEvent::Order(v)) = events.recv().await
            && v.status == paydesk::ledger::OrderStatus::Paid
        {
            paid_at.entry(v.out_trade_no).or_insert_with(Instant::now);
        }
    }
    pay_times.extend(pays.lock().await.drain());
    orders
        .iter()
        .map(|no| paid_at[no].saturating_duration_since(pay_times[no]))
        .collect()
}

/// The CPU time this process has used (Linux: utime + stime of /proc/self/stat, in clock ticks of 1/100 s,
/// the kernel's USER_HZ on every Linux PayDesk runs on).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the command name: state is field 3, utime field 14, stime field 15.
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// A power cut with the router still down: orders left unfinished, then a start whose every query fails.
/// Prints the engine's CPU over 10 s and how many connections it tried.
async fn offline(sb: &Sandbox) {
    const ORDERS: u32 = 50;
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), sb, Timing::live()).await;
    for i in 0..ORDERS {
        e.charge(cart(i)).await.unwrap();
    }
    e.shutdown().await;
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", tcp.local_addr().unwrap());
    let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = attempts.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = tcp.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(conn);
        }
    });
    let gateway = Gateway {
        primary: url,
        backup: None,
        merchant: sandbox_merchant(),
        sandbox: true,
    };
    let mut s = engine_settings(&Config::sandbox_default(), dir.path(), gateway);
    s.timing = Timing::live();
    let e = Engine::start(s).await.unwrap();
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (cpu1, wall) = (cpu_time(), wall0.elapsed());
    match (cpu0, cpu1) {
        (Some(a), Some(b)) => println!(
            "{:<44} CPU {:.2} % of one core over {:.1?}, {} query attempts for {ORDERS} orders",
            "gateway unreachable at start-up",
            (b - a).as_secs_f64() / wall.as_secs_f64() * 100.0,
            wall,
            attempts.load(std::sync::atomic::Ordering::SeqCst)
        ),
        _ => println!("gateway unreachable at start-up: CPU not measured (no /proc/self/stat)"),
    }
    e.shutdown().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let only_offline = std::env::var("ENGINE_BENCH_ONLY").is_ok_and(|v| v == "offline");
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sb = Sandbox::start(
            SandboxConfig {
                close_min_age: Duration::ZERO,
                ..SandboxConfig::default()
            },
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        if only_offline {
            offline(&sb).await;
            sb.shutdown().await;
            return;
        }

        // Charge → code_url (the order stored durably first, then unifiedorder).
        // The sandbox closes at once, so a cancelled order ends instead of polling for five minutes; each
        // charge is measured with the previous one finished, not while hundreds are still being polled.
        let mut timing = Timing::live();
        timing.close_min_age = Duration::ZERO;
        let e = engine(dir.path(), &sb, timing).await;
        let mut charge = Vec::new();
        for i in 0..200 {
            let t = Instant::now();
            let v = e.charge(cart(i)).await.unwrap();
            charge.push(t.elapsed());
            assert!(v.code_url.is_some());
            e.cancel(&v.out_trade_no).await.unwrap();
            assert!(
                e.settle(Duration::from_secs(30)).await,
                "the cancelled order ends"
            );
        }
        report("charge -> code_url", charge);
        e.shutdown().await;

        // Notification path: polling so slow it never contributes.
        let mut slow = Timing::live();
        slow.first_query_after = Duration::from_secs(3600);
        slow.poll_interval = Duration::from_secs(3600);
        let e = engine(dir.path(), &sb, slow).await;
        report(
            "pay -> paid in ledger (notification)",
            pay_latencies(&e, &sb, 200, Duration::from_secs(4)).await,
        );
        e.shutdown().await;

        // Polling only: every notification dropped.
        sb.set_faults(Faults {
            drop_notify: 1.0,
            ..Faults::default()
        });
        let e = engine(dir.path(), &sb, Timing::live()).await;
        report(
            "pay -> paid in ledger (polling only, 2 s)",
            pay_latencies(&e, &sb, 200, Duration::from_secs(6)).await,
        );
        e.shutdown().await;
        offline(&sb).await;
        sb.shutdown().await;
    });
}
