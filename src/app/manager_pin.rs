//! The manager's PIN, which every refund needs: its rules (4–12 digits), its salted slow hash (Argon2id, a
//! PHC string kept in the configuration's `[manager] pin_hash`, never the PIN), and the lockout after
//! [`MAX_FAILURES`] wrong PINs in a row (refunds refused for [`LOCKOUT`]).
//!
//! The failures are counted in a small file in the data directory ([`FAILURES_FILE`]), written atomically,
//! so the window and `paydesk refund` share one count and a restart does not reset it. The decisions
//! (valid PIN, hash and verify, locked or not) are pure functions; [`check`] puts them together with the
//! file. In sandbox mode with no PIN set the PIN is [`SANDBOX_PIN`]; live refunds are refused until one is
//! set (`paydesk config set-manager-pin`).
//!
//! Cashiers' sign-in PINs (`[shift.cashier_pins]`) follow the same rules, hash and lockout, each cashier
//! with a failure count of their own ([`FailureStore::for_cashier`]), so a guesser locks one name out, not
//! the till.
//!
//! Not here: writing the hash into the configuration file ([`crate::config::set_pin_hash`]),
//! asking for the PIN (the window, the command line), refunds themselves (the engine).

use std::path::{Path, PathBuf};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};

/// Wrong PINs in a row that lock refunds.
pub const MAX_FAILURES: u32 = 5;
/// How long refunds stay locked after [`MAX_FAILURES`] wrong PINs.
pub const LOCKOUT: Duration = Duration::from_secs(5 * 60);
/// The PIN in sandbox mode while none is set.
pub const SANDBOX_PIN: &str = "0000";
/// The failure count's file in the data directory.
pub const FAILURES_FILE: &str = "manager-pin-failures.toml";

/// Why a PIN was not accepted. The texts are meant for the cashier and the manager.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("the manager PIN must be 4 to 12 digits")]
    Invalid,
    #[error(
        "live refunds need a manager PIN: set one with `paydesk config set-manager-pin` (in sandbox mode the \
         PIN is 0000 until one is set)"
    )]
    NotSet,
    #[error("wrong manager PIN ({left} more wrong PIN(s) lock refunds for 5 minutes)")]
    Wrong { left: u32 },
    #[error(
        "too many wrong manager PINs: refunds are locked until {}",
        .until.with_timezone(&chrono::Local).format("%H:%M:%S")
    )]
    Locked { until: DateTime<Utc> },
    #[error("the stored manager PIN hash is unreadable ({0}); set the PIN again")]
    BadHash(String),
    #[error("cannot keep the count of wrong PINs in {path}: {error}")]
    Storage { path: String, error: String },
}

/// Whether `pin` is an acceptable PIN: 4 to 12 ASCII digits.
pub fn valid_pin(pin: &str) -> bool {
    (4..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

/// The Argon2id parameters new hashes use (OWASP's minimum: 19 MiB, 2 passes, 1 lane). Verifying reads them
/// from the stored string, so they can be raised later without invalidating a PIN.
fn hasher() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("valid parameters"),
    )
}

/// Hash a PIN with a fresh random salt: the PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) to store.
pub fn hash_pin(pin: &str) -> Result<String, PinError> {
    hash_pin_with(pin, &hasher())
}

fn hash_pin_with(pin: &str, argon: &Argon2<'_>) -> Result<String, PinError> {
    if !valid_pin(pin) {
        return Err(PinError::Invalid);
    }
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| PinError::BadHash(e.to_string()))?;
    argon
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PinError::BadHash(e.to_string()))
}

/// Whether a stored hash is one [`verify_pin`] can read (the configuration check uses it).
pub fn valid_hash(phc: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(phc).map_err(|e| e.to_string())?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(format!(
            "expected an argon2id hash, found {}",
            parsed.algorithm
        ));
    }
    Ok(())
}

/// Whether `pin` matches the stored PHC string (in constant time, by the argon2 crate).
pub fn verify_pin(pin: &str, phc: &str) -> Result<bool, PinError> {
    let parsed = PasswordHash::new(phc).map_err(|e| PinError::BadHash(e.to_string()))?;
    Ok(hasher().verify_password(pin.as_bytes(), &parsed).is_ok())
}

/// The wrong PINs counted so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    /// Wrong PINs in a row.
    pub count: u32,
    /// When the last one was entered.
    pub last: Option<DateTime<Utc>>,
}

/// Until when refunds are locked, if they are: after [`MAX_FAILURES`] wrong PINs, for [`LOCKOUT`] from the
/// last one.
pub fn locked_until(f: &Failures, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let lockout = chrono::Duration::from_std(LOCKOUT).expect("fits");
    match f.last {
        Some(last) if f.count >= MAX_FAILURES && now < last + lockout => Some(last + lockout),
        _ => None,
    }
}

/// The count after one more wrong PIN at `now`: a lockout that has run out starts a fresh count.
pub fn after_failure(f: &Failures, now: DateTime<Utc>) -> Failures {
    let count = if f.count >= MAX_FAILURES && locked_until(f, now).is_none() {
        1
    } else {
        f.count.saturating_add(1)
    };
    Failures {
        count,
        last: Some(now),
    }
}

/// What the PIN is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected<'a> {
    /// The configured hash.
    Hash(&'a str),
    /// Sandbox mode with no PIN set: [`SANDBOX_PIN`].
    SandboxDefault,
    /// Live mode with no PIN set: refunds are refused.
    NotSet,
}

impl<'a> Expected<'a> {
    /// From the configuration: its hash, else the sandbox's PIN in sandbox mode.
    pub fn of(pin_hash: Option<&'a str>, sandbox: bool) -> Expected<'a> {
        match (pin_hash, sandbox) {
            (Some(h), _) => Expected::Hash(h),
            (None, true) => Expected::SandboxDefault,
            (None, false) => Expected::NotSet,
        }
    }
}

/// The failure count kept in `data_dir`.
pub struct FailureStore {
    path: PathBuf,
}

impl FailureStore {
    pub fn new(data_dir: &Path) -> FailureStore {
        FailureStore {
            path: data_dir.join(FAILURES_FILE),
        }
    }

    /// The count of `cashier`'s wrong sign-in PINs, in a file of its own (the name hex-encoded, so any name
    /// makes a valid file name).
    pub fn for_cashier(data_dir: &Path, cashier: &str) -> FailureStore {
        let hex: String = cashier.bytes().map(|b| format!("{b:02x}")).collect();
        FailureStore {
            path: data_dir.join(format!("cashier-pin-failures-{hex}.toml")),
        }
    }

    /// The count as stored; a missing or unreadable file counts as none (it only ever holds a count).
    pub fn load(&self) -> Failures {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return Failures::default();
        };
        let Ok(table) = toml::from_str::<toml::Table>(&text) else {
            return Failures::default();
        };
        Failures {
            count: table
                .get("failures")
                .and_then(|v| v.as_integer())
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
            last: table
                .get("last_failure")
                .and_then(|v| v.as_str())
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&Utc)),
        }
    }

    /// Hold this while reading, checking and writing the count: PIN checks take turns across processes (the
    /// window, several `paydesk refund` at once), so parallel guesses are each counted.
    fn lock(&self) -> Result<std::fs::File, PinError> {
        let storage = |e: std::io::Error| PinError::Storage {
            path: self.path.display().to_string(),
            error: e.to_string(),
        };
        if let Some(dir) = self.path.parent() {
            crate::fsutil::create_private_dir(dir).map_err(storage)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path.with_extension("lock"))
            .map_err(storage)?;
        file.lock().map_err(storage)?;
        Ok(file)
    }

    fn save(&self, f: &Failures) -> Result<(), PinError> {
        let text = match f.last {
            Some(last) => format!(
                "# Wrong PINs in a row (locked after {MAX_FAILURES}).\nfailures = {}\nlast_failure = \"{}\"\n",
                f.count,
                last.to_rfc3339()
            ),
            None => format!("failures = {}\n", f.count),
        };
        let write = || {
            if let Some(dir) = self.path.parent() {
                crate::fsutil::create_private_dir(dir)?;
            }
            crate::fsutil::write_atomically(&self.path, |tmp| std::fs::write(tmp, &text))
        };
        write().map_err(|e| PinError::Storage {
            path: self.path.display().to_string(),
            error: e.to_string(),
        })
    }
}

/// Check `pin` for a refund at `now`: refused while locked; a wrong PIN is counted (the fifth locks); a
/// right one clears the count. The hash is verified on the calling thread: call it off the UI thread
/// (and off async worker threads: it takes tens of milliseconds on purpose).
pub fn check(
    expected: Expected<'_>,
    store: &FailureStore,
    pin: &str,
    now: DateTime<Utc>,
) -> Result<(), PinError> {
    if matches!(expected, Expected::NotSet) {
        return Err(PinError::NotSet);
    }
    let _turn = store.lock()?;
    let failures = store.load();
    if let Some(until) = locked_until(&failures, now) {
        return Err(PinError::Locked { until });
    }
    // Counted as wrong before the (slow) check, cleared if it was right: a check cut short still counts.
    let after = after_failure(&failures, now);
    store.save(&after)?;
    let right = match expected {
        Expected::NotSet => return Err(PinError::NotSet),
        Expected::SandboxDefault => {
            use subtle::ConstantTimeEq;
            bool::from(pin.as_bytes().ct_eq(SANDBOX_PIN.as_bytes()))
        }
        Expected::Hash(phc) => valid_pin(pin) && verify_pin(pin, phc)?,
    };
    if right {
        store.save(&Failures::default())?;
        return Ok(());
    }
    match locked_until(&after, now) {
        Some(until) => Err(PinError::Locked { until }),
        None => Err(PinError::Wrong {
            left: MAX_FAILURES - after.count,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap()
    }

    /// Cheap parameters: the tests check the format and the logic, not the cost.
    fn cheap() -> Argon2<'static> {
        Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(64, 1, 1, None).unwrap(),
        )
    }

    #[test]
    fn pins_are_four_to_twelve_digits() {
        for ok in ["0000", "1234", "123456789012"] {
            assert!(valid_pin(ok), "{ok}");
        }
        for bad in [
            "",
            "123",
            "1234567890123",
            "12a4",
            " 1234",
            "１２３４",
            "12.4",
        ] {
            assert!(!valid_pin(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_hash_is_a_salted_argon2id_phc_string_that_never_contains_the_pin() {
        let a = hash_pin_with("246810", &cheap()).unwrap();
        let b = hash_pin_with("246810", &cheap()).unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        assert!(!a.contains("246810"));
        assert!(valid_hash(&a).is_ok());
        assert!(verify_pin("246810", &a).unwrap());
        assert!(!verify_pin("246811", &a).unwrap());
        assert_eq!(hash_pin_with("12", &cheap()), Err(PinError::Invalid));
        assert!(valid_hash("plain text").is_err());
        assert!(matches!(
            verify_pin("1234", "not a hash"),
            Err(PinError::BadHash(_))
        ));
        // The production parameters are what new hashes carry.
        let real = hash_pin("1234").unwrap();
        assert!(
            real.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{real}"
        );
        assert!(verify_pin("1234", &real).unwrap());
    }

    #[test]
    fn five_wrong_pins_lock_for_five_minutes_then_the_count_starts_again() {
        let mut f = Failures::default();
        for i in 1..MAX_FAILURES {
            f = after_failure(&f, t0());
            assert_eq!(f.count, i);
            assert_eq!(locked_until(&f, t0()), None);
        }
        f = after_failure(&f, t0());
        let until = t0() + chrono::Duration::minutes(5);
        assert_eq!(locked_until(&f, t0()), Some(until));
        assert_eq!(
            locked_until(&f, until - chrono::Duration::seconds(1)),
            Some(until)
        );
        assert_eq!(locked_until(&f, until), None);
        // After the lockout one wrong PIN does not lock again at once.
        let again = after_failure(&f, until);
        assert_eq!(again.count, 1);
        assert_eq!(locked_until(&again, until), None);
        assert_eq!(locked_until(&Failures::default(), t0()), None);
    }

    #[test]
    fn which_pin_is_expected() {
        assert_eq!(Expected::of(Some("$h"), false), Expected::Hash("$h"));
        assert_eq!(Expected::of(Some("$h"), true), Expected::Hash("$h"));
        assert_eq!(Expected::of(None, true), Expected::SandboxDefault);
        assert_eq!(Expected::of(None, false), Expected::NotSet);
    }

    #[test]
    fn guesses_made_at_the_same_time_are_each_counted() {
        let dir = tempfile::tempdir().unwrap();
        let hash = hash_pin_with("9876", &cheap()).unwrap();
        let results: Vec<Result<(), PinError>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..10)
                .map(|i| {
                    let (dir, hash) = (dir.path(), hash.as_str());
                    s.spawn(move || {
                        // Each guess from its own handle, as from separate `paydesk refund` processes.
                        let store = FailureStore::new(dir);
                        check(
                            Expected::Hash(hash),
                            &store,
                            &format!("{:04}", 1000 + i),
                            t0(),
                        )
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let wrong = results
            .iter()
            .filter(|r| matches!(r, Err(PinError::Wrong { .. })))
            .count();
        assert_eq!(wrong, MAX_FAILURES as usize - 1, "{results:?}");
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Err(PinError::Wrong { .. } | PinError::Locked { .. }))),
            "{results:?}"
        );
        assert_eq!(FailureStore::new(dir.path()).load().count, MAX_FAILURES);
    }

    #[test]
    fn check_counts_durably_locks_and_clears() {
        let dir = tempfile::tempdir().unwrap();
        let store = FailureStore::new(dir.path());
        let hash = hash_pin_with("9876", &cheap()).unwrap();
        let expected = Expected::Hash(&hash);
        assert_eq!(check(expected, &store, "9876", t0()), Ok(()));
        assert_eq!(
            check(expected, &store, "1111", t0()),
            Err(PinError::Wrong { left: 4 })
        );
        // A second handle (another process) sees the same count.
        assert_eq!(FailureStore::new(dir.path()).load().count, 1);
        assert_eq!(check(expected, &store, "9876", t0()), Ok(()));
        assert_eq!(store.load().count, 0);
        for left in (1..MAX_FAILURES).rev() {
            assert_eq!(
                check(expected, &store, "1111", t0()),
                Err(PinError::Wrong { left })
            );
        }
        let until = t0() + chrono::Duration::minutes(5);
        assert_eq!(
            check(expected, &store, "1111", t0()),
            Err(PinError::Locked { until })
        );
        // Locked: even the right PIN is refused, and nothing more is counted.
        let later = t0() + chrono::Duration::minutes(4);
        assert_eq!(
            check(expected, &store, "9876", later),
            Err(PinError::Locked { until })
        );
        assert_eq!(check(expected, &store, "9876", until), Ok(()));
        assert_eq!(store.load(), Failures::default());
        // Sandbox without a PIN: 0000; live without one: refused, whatever is typed.
        assert_eq!(
            check(Expected::SandboxDefault, &store, "0000", t0()),
            Ok(())
        );
        assert_eq!(
            check(Expected::SandboxDefault, &store, "1234", t0()),
            Err(PinError::Wrong { left: 4 })
        );
        assert_eq!(
            check(Expected::NotSet, &store, "0000", t0()),
            Err(PinError::NotSet)
        );
    }
}
