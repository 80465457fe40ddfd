//! Money as integer fen (1/100 CNY).
//!
//! Every amount in PayDesk is a [`Fen`]: parsed exactly from what a cashier types, stored as an integer,
//! summed with overflow checks, and formatted as `¥12.50`. No floating point touches money anywhere.
//! This module knows nothing about orders, the protocol or storage.

use std::fmt;
use std::str::FromStr;

/// An amount of money in fen. Never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(i64);

/// Why a typed amount was refused. The messages are meant for the cashier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount is empty")]
    Empty,
    #[error("amount cannot be negative")]
    Negative,
    #[error("at most two decimals (fen) are allowed")]
    TooManyDecimals,
    #[error("amount is too large (at most {max})")]
    TooLarge { max: Fen },
    #[error("not a number: {0:?}")]
    Invalid(String),
}

impl Fen {
    pub const ZERO: Fen = Fen(0);
    /// The largest single amount PayDesk accepts: WeChat's `total_fee` is an Int, so stay within i32.
    pub const MAX: Fen = Fen(i32::MAX as i64);

    /// An amount in fen. Returns `None` for negative values.
    pub const fn new(fen: i64) -> Option<Fen> {
        if fen < 0 { None } else { Some(Fen(fen)) }
    }

    /// The amount in fen.
    pub const fn get(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn checked_mul(self, qty: u32) -> Option<Fen> {
        self.0.checked_mul(i64::from(qty)).map(Fen)
    }

    /// Sum of amounts, `None` on overflow.
    pub fn checked_sum<I: IntoIterator<Item = Fen>>(items: I) -> Option<Fen> {
        items.into_iter().try_fold(Fen::ZERO, Fen::checked_add)
    }

    /// `12.50`: yuan with exactly two decimals, no currency sign (for CSV and the bill).
    pub fn yuan_string(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }

    /// Parse what a cashier typed: `12`, `12.5`, `12.50`, `0.01`, optionally with a leading `¥`/`￥`
    /// and surrounding spaces. Refuses negatives, more than two decimals, amounts over [`Fen::MAX`]
    /// and anything else that is not a plain decimal number.
    pub fn parse_yuan(input: &str) -> Result<Fen, MoneyError> {
        let s = input.trim();
        let s = s
            .strip_prefix('¥')
            .or_else(|| s.strip_prefix('￥'))
            .unwrap_or(s)
            .trim();
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        if s.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        let s = s.strip_prefix('+').unwrap_or(s);
        let (int_part, frac_part) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        let invalid = || MoneyError::Invalid(input.trim().to_string());
        // "12." and ".5" are refused: a cashier who typed them probably meant something else.
        if !digits(int_part) {
            return Err(invalid());
        }
        let frac_fen = match frac_part {
            None => 0,
            Some(f) if !digits(f) => return Err(invalid()),
            Some(f) if f.len() > 2 => {
                // "12.500" is still exact; "12.505" is not.
                if f[2..].bytes().all(|b| b == b'0') {
                    two_digit(&f[..2])
                } else {
                    return Err(MoneyError::TooManyDecimals);
                }
            }
            Some(f) => two_digit(f),
        };
        let too_large = MoneyError::TooLarge { max: Fen::MAX };
        let int_trimmed = int_part.trim_start_matches('0');
        if int_trimmed.len() > 12 {
            return Err(too_large);
        }
        let yuan: i64 = if int_trimmed.is_empty() {
            0
        } else {
            int_trimmed.parse().map_err(|_| invalid())?
        };
        let fen = yuan
            .checked_mul(100)
            .and_then(|v| v.checked_add(frac_fen))
            .ok_or(too_large.clone())?;
        if fen > Fen::MAX.0 {
            return Err(too_large);
        }
        Ok(Fen(fen))
    }
}

fn two_digit(f: &str) -> i64 {
    let b = f.as_bytes();
    let d0 = i64::from(b[0] - b'0');
    let d1 = b.get(1).map_or(0, |d| i64::from(d - b'0'));
    d0 * 10 + d1
}

impl fmt::Display for Fen {
    /// `¥12.50`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "¥{}", self.yuan_string())
    }
}

impl FromStr for Fen {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fen::parse_yuan(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cashier_input_exactly() {
        let cases = [
            ("12", 1200),
            ("12.5", 1250),
            ("12.50", 1250),
            ("0.01", 1),
            ("0", 0),
            (" 7.05 ", 705),
            ("¥3.20", 320),
            ("￥3", 300),
            ("007.10", 710),
            ("1.230", 123),
            ("21474836.47", i64::from(i32::MAX)),
        ];
        for (input, fen) in cases {
            assert_eq!(Fen::parse_yuan(input), Ok(Fen(fen)), "{input}");
        }
    }

    #[test]
    fn refuses_bad_input_with_a_reason() {
        assert_eq!(Fen::parse_yuan(""), Err(MoneyError::Empty));
        assert_eq!(Fen::parse_yuan("  ¥ "), Err(MoneyError::Empty));
        assert_eq!(Fen::parse_yuan("-1"), Err(MoneyError::Negative));
        assert_eq!(Fen::parse_yuan("1.005"), Err(MoneyError::TooManyDecimals));
        assert_eq!(
            Fen::parse_yuan("21474836.48"),
            Err(MoneyError::TooLarge { max: Fen::MAX })
        );
        assert!(matches!(
            Fen::parse_yuan("99999999999999999999"),
            Err(MoneyError::TooLarge { .. })
        ));
        for bad in [
            "abc", "1,5", "1.", ".5", "1.2.3", "1e3", "12元", "NaN", "0x10", "1 2",
        ] {
            assert!(
                matches!(Fen::parse_yuan(bad), Err(MoneyError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn formats_with_sign_and_two_decimals() {
        assert_eq!(Fen(1250).to_string(), "¥12.50");
        assert_eq!(Fen(1).to_string(), "¥0.01");
        assert_eq!(Fen(0).yuan_string(), "0.00");
        assert_eq!(Fen(123456789).yuan_string(), "1234567.89");
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Fen(150).checked_mul(3), Some(Fen(450)));
        assert_eq!(Fen(i64::MAX).checked_add(Fen(1)), None);
        assert_eq!(Fen::checked_sum([Fen(1), Fen(2), Fen(3)]), Some(Fen(6)));
        assert_eq!(Fen::new(-1), None);
    }
}
