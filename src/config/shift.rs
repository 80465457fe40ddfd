//! The `[shift]` section: how cashiers sign in and hand over (交班). `blind = true` hides the expected totals
//! at handover; `[shift.cashier_pins]` holds, per cashier of `[store] cashiers`, the salted hash of their
//! sign-in PIN (an Argon2id PHC string written by `paydesk config set-cashier-pin NAME`, like the manager's),
//! never the PIN. A cashier without an entry signs in without a PIN.
//!
//! Not here: checking a PIN (`crate::app::manager_pin`, shared by both kinds of PIN), the sign-in itself (the
//! window and the ledger).

use std::collections::BTreeMap;

use serde::Deserialize;

/// How cashiers sign in and hand over.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShiftConfig {
    /// Hide the expected totals on the handover screen (the cashier counts without knowing them).
    pub blind: bool,
    /// Cashier name → the Argon2id hash of their PIN. Only names of `[store] cashiers`.
    pub pin_hashes: BTreeMap<String, String>,
}

impl ShiftConfig {
    /// The hash of `cashier`'s PIN, if they have one.
    pub fn pin_hash(&self, cashier: &str) -> Option<&str> {
        self.pin_hashes.get(cashier).map(String::as_str)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawShift {
    blind: Option<bool>,
    cashier_pins: Option<BTreeMap<String, String>>,
}

/// A problem: `(section, key, message)`; the key as written in the file.
pub(super) type Bad = (&'static str, String, String);

/// The section's TOML key of a cashier name (always quoted: names are often Chinese).
pub(super) fn quoted(name: &str) -> String {
    toml_edit::Key::new(name).display_repr().into_owned()
}

/// `[shift]`, against the configured `cashiers`: every PIN belongs to a listed cashier and is a hash.
pub(super) fn check_shift(raw: RawShift, cashiers: &[String], bad: &mut Vec<Bad>) -> ShiftConfig {
    let mut pin_hashes = BTreeMap::new();
    for (name, hash) in raw.cashier_pins.unwrap_or_default() {
        if !cashiers.contains(&name) {
            bad.push((
                "shift.cashier_pins",
                quoted(&name),
                format!(
                    "a PIN for {name:?}, who is not in [store] cashiers ({}): add them to the list, or remove \
                     this line",
                    if cashiers.is_empty() {
                        "the list is empty".to_owned()
                    } else {
                        cashiers.join(", ")
                    }
                ),
            ));
            continue;
        }
        if !hash.starts_with("$argon2id$") || hash.len() > 512 {
            bad.push((
                "shift.cashier_pins",
                quoted(&name),
                format!(
                    "expected an Argon2id hash (\"$argon2id$…\") written by `paydesk config set-cashier-pin \
                     {name}`; never the PIN itself"
                ),
            ));
            continue;
        }
        pin_hashes.insert(name, hash);
    }
    ShiftConfig {
        blind: raw.blind.unwrap_or(false),
        pin_hashes,
    }
}

/// The summary's lines about signing in.
pub(super) fn summary(cashiers: &[String], shift: &ShiftConfig) -> String {
    let mut s = match cashiers {
        [] => "sign-in: automatic (no [store] cashiers list; orders carry no name)\n".to_owned(),
        [one] if shift.pin_hash(one).is_none() => {
            format!("sign-in: automatic as {one} (the only cashier, no PIN)\n")
        }
        many => format!(
            "sign-in: choose from {}{}\n",
            many.iter()
                .map(|c| if shift.pin_hash(c).is_some() {
                    format!("{c} (PIN)")
                } else {
                    c.clone()
                })
                .collect::<Vec<_>>()
                .join(", "),
            if shift.pin_hashes.is_empty() {
                ""
            } else {
                "; `paydesk config set-cashier-pin NAME` sets or changes a PIN"
            }
        ),
    };
    if shift.blind {
        s.push_str("handover: blind (the expected totals are hidden)\n");
    }
    s
}

/// The commented section for the configuration template.
pub(super) const TEMPLATE: &str = r#"
# Shifts (交班): the cashier signs in at start, choosing their name from [store] cashiers (automatic with
# one cashier and no PIN), and hands over with "交班 Hand over". blind = true hides the expected totals then.
[shift]
blind = false
# Optional sign-in PINs: `paydesk config set-cashier-pin NAME` writes a cashier's salted hash here.
# [shift.cashier_pins]
# "收银员1" = "$argon2id$v=19$…"
"#;

#[cfg(test)]
mod tests {
    use crate::config::{Config, PinOwner, set_pin_hash};

    const HASH: &str = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";

    #[test]
    fn blind_and_pins_are_read_and_checked_against_the_cashier_list() {
        let c = Config::parse(&format!(
            "[store]\ncashiers = [\"小王\", \"小李\"]\n[shift]\nblind = true\n[shift.cashier_pins]\n\"小王\" = \"{HASH}\"\n"
        ))
        .unwrap();
        assert!(c.shift.blind);
        assert_eq!(c.shift.pin_hash("小王"), Some(HASH));
        assert_eq!(c.shift.pin_hash("小李"), None);
        assert!(c.summary().contains("小王 (PIN), 小李"), "{}", c.summary());
        assert!(c.summary().contains("handover: blind"));
        // Defaults: not blind, no PINs.
        let d = Config::parse("[store]\ncashiers = [\"小王\"]\n").unwrap();
        assert_eq!(d.shift, Default::default());
        assert!(d.summary().contains("automatic as 小王"), "{}", d.summary());

        // A PIN for someone not in the list, and one that is not a hash: both reported, with their lines.
        let e = Config::parse(
            "[store]\ncashiers = [\"小王\"]\n[shift.cashier_pins]\n\"小张\" = \"$argon2id$v=19$x\"\n\"小王\" = \"1234\"\n",
        )
        .unwrap_err();
        let text = e.to_string();
        assert_eq!(e.problems.len(), 2, "{text}");
        assert!(
            text.contains("\"小张\", who is not in [store] cashiers"),
            "{text}"
        );
        assert_eq!(e.problems[0].line, Some(4), "{text}");
        assert!(text.contains("set-cashier-pin 小王"), "{text}");
        assert_eq!(e.problems[1].line, Some(5), "{text}");
        // The same name twice cannot be told apart at sign-in.
        let e = Config::parse("[store]\ncashiers = [\"小王\", \"小王\"]\n").unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
    }

    #[test]
    fn a_cashier_pin_is_written_into_the_file_keeping_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("paydesk.toml");
        std::fs::write(
            &p,
            "# my shop\n[store]\ncashiers = [\"小王\", \"小李\"] # two\n",
        )
        .unwrap();
        set_pin_hash(&p, PinOwner::Cashier("小李"), HASH).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.starts_with("# my shop\n[store]\ncashiers = [\"小王\", \"小李\"] # two\n"),
            "{text}"
        );
        let c = Config::load(&p).unwrap();
        assert_eq!(c.shift.pin_hash("小李"), Some(HASH));
        assert_eq!(c.shift.pin_hash("小王"), None);
        // Another cashier, then the first again: one line each, the manager's untouched.
        set_pin_hash(&p, PinOwner::Cashier("小王"), HASH).unwrap();
        let other = HASH.replace("aGFzaGhh", "b3RoZXJo");
        set_pin_hash(&p, PinOwner::Cashier("小李"), &other).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.matches("$argon2id$").count(), 2, "{text}");
        let c = Config::load(&p).unwrap();
        assert_eq!(c.shift.pin_hash("小李"), Some(other.as_str()));
        assert_eq!(c.manager_pin_hash, None);
        // Someone not in the list: refused, the file left alone.
        let e = set_pin_hash(&p, PinOwner::Cashier("小张"), HASH).unwrap_err();
        assert!(e.contains("not in [store] cashiers"), "{e}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
        // The template has one cashier: a missing file gets them a PIN.
        let fresh = dir.path().join("new.toml");
        set_pin_hash(&fresh, PinOwner::Cashier("收银员1"), HASH).unwrap();
        assert_eq!(
            Config::load(&fresh).unwrap().shift.pin_hash("收银员1"),
            Some(HASH)
        );
    }
}
