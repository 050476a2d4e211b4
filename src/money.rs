//! Money: [`Amount`] (rupees, whole paise), [`Price`] (on the 0.05 tick) and
//! [`Qty`] (whole units), all exact, over `rust_decimal`. No floats anywhere.
//!
//! # Rounding rules
//!
//! - An [`Amount`] is always a whole number of paise, stored at scale 2. Products
//!   that need rounding (charges, a share of a cost basis) round to the paisa
//!   **half away from zero** ([`Amount::from_decimal_rounded`]): 0.005 -> 0.01.
//! - A [`Price`] is always a positive multiple of the 0.05 tick ([`PRICE_TICK`]).
//!   [`Price::round_nearest`] rounds a raw price half away from zero (100.025 ->
//!   100.05); [`Price::round_down`] and [`Price::round_up`] are the explicit,
//!   conservative choices for paper fills: a buy fills at the tick at or above the
//!   raw price, a sell at the tick at or below it ([`Price::round_for_buy`],
//!   [`Price::round_for_sell`]).
//! - `Qty * Price` of whole units and tick prices is exact at scale 2, so balances
//!   built from fills never round.
//!
//! # Serialization
//!
//! Architecture Invariant: these types derive no serde. The journal, snapshot and
//! JSON codecs convert through [`Amount::to_decimal`] / [`Amount::from_decimal`]
//! (and the same pair on [`Price`], [`Qty::get`] / [`Qty::new`]) in their own
//! dedicated record types.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

/// The price tick of Indian index options: Rs 0.05.
pub const PRICE_TICK: Decimal = Decimal::from_parts(5, 0, 0, false, 2);

/// The scale (decimal places) every [`Amount`] is stored at: paise.
pub const AMOUNT_SCALE: u32 = 2;

/// The most integer digits a user-typed amount may have: below Rs 10^15
/// (ten lakh crore), far beyond any wallet, well inside `i64` paise.
pub const AMOUNT_USER_DIGITS_MAX: usize = 15;

/// The rounding used for amounts and nearest-tick prices: ties away from zero.
const HALF_UP: RoundingStrategy = RoundingStrategy::MidpointAwayFromZero;

/// What a money constructor refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    /// An amount with fractions of a paisa, where an exact amount was required.
    NotWholePaise { value: Decimal },
    /// A price that is not a multiple of the 0.05 tick.
    NotOnTick { value: Decimal },
    /// A price that is zero or negative (also after rounding to the tick).
    NonPositivePrice { value: Decimal },
    /// The result does not fit in a `Decimal` (about 7.9 x 10^28).
    Overflow,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::NotWholePaise { value } => write!(
                f,
                "{value} is not a whole number of paise; amounts have at most two decimals"
            ),
            MoneyError::NotOnTick { value } => write!(
                f,
                "price {value} is not on the {PRICE_TICK} tick; round it to a multiple of {PRICE_TICK}"
            ),
            MoneyError::NonPositivePrice { value } => {
                write!(
                    f,
                    "price {value} is not positive; option prices start at one tick ({PRICE_TICK})"
                )
            }
            MoneyError::Overflow => f.write_str("amount out of range"),
        }
    }
}

impl std::error::Error for MoneyError {}

// ---------------------------------------------------------------------------
// Amount
// ---------------------------------------------------------------------------

/// A signed sum of rupees, always a whole number of paise (stored at scale 2).
///
/// Arithmetic is checked (`checked_*` return `None` on overflow); the wallet turns
/// that into a rejection rather than a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(Decimal);

/// Zero rupees at the canonical scale (so a default encodes like `ZERO`).
impl Default for Amount {
    fn default() -> Self {
        Amount::ZERO
    }
}

impl Amount {
    /// Rs 0.00.
    pub const ZERO: Amount = Amount(Decimal::from_parts(0, 0, 0, false, AMOUNT_SCALE));

    /// `paise` paise (100 paise = Rs 1).
    pub fn from_paise(paise: i64) -> Amount {
        Amount(Decimal::new(paise, AMOUNT_SCALE))
    }

    /// Whole rupees.
    pub fn from_rupees(rupees: i64) -> Amount {
        Amount(Decimal::from(rupees)).rescaled()
    }

    /// An exact amount: refuses fractions of a paisa. The edge codecs use this to
    /// decode what [`Amount::to_decimal`] encoded.
    pub fn from_decimal(value: Decimal) -> Result<Amount, MoneyError> {
        if value.round_dp(AMOUNT_SCALE) != value {
            return Err(MoneyError::NotWholePaise { value });
        }
        Ok(Amount(value).rescaled())
    }

    /// Rounds to the paisa, half away from zero (0.005 -> 0.01, -0.005 -> -0.01).
    pub fn from_decimal_rounded(value: Decimal) -> Amount {
        Amount(value.round_dp_with_strategy(AMOUNT_SCALE, HALF_UP)).rescaled()
    }

    /// The exact value in rupees, at scale 2.
    pub fn to_decimal(self) -> Decimal {
        self.0
    }

    /// The value in paise, if it fits in an `i64`.
    pub fn to_paise(self) -> Option<i64> {
        i64::try_from(self.0.mantissa()).ok()
    }

    /// The notional value of a fill, `qty x price`: exact, since both are exact.
    pub fn notional(qty: Qty, price: Price) -> Option<Amount> {
        qty.to_decimal()
            .checked_mul(price.0)
            .map(|d| Amount(d).rescaled())
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Strictly greater than zero.
    pub fn is_positive(self) -> bool {
        self.0.is_sign_positive() && !self.0.is_zero()
    }

    /// Strictly less than zero.
    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn checked_add(self, rhs: Amount) -> Option<Amount> {
        self.0.checked_add(rhs.0).map(|d| Amount(d).rescaled())
    }

    pub fn checked_sub(self, rhs: Amount) -> Option<Amount> {
        self.0.checked_sub(rhs.0).map(|d| Amount(d).rescaled())
    }

    pub fn abs(self) -> Amount {
        Amount(self.0.abs()).rescaled()
    }

    /// Parses an amount a user typed: rupees with at most two decimals, optionally
    /// with a leading `₹` and with Indian (`1,00,000.50`) or international
    /// (`100,000.50`) digit grouping. Negative amounts are refused. The error names
    /// the input and says how to write it.
    pub fn parse_user(input: &str) -> Result<Amount, ParseAmountError> {
        parse_user(input).map_err(|kind| ParseAmountError {
            input: input.to_owned(),
            kind,
        })
    }

    /// Keeps the representation canonical (scale 2), so equal amounts also encode
    /// to equal bytes. Every value reaching here is already whole paise, so this
    /// only ever adds zeros.
    fn rescaled(mut self) -> Amount {
        self.0.rescale(AMOUNT_SCALE);
        self
    }
}

/// Never overflows: `Decimal` is sign-magnitude.
impl std::ops::Neg for Amount {
    type Output = Amount;

    fn neg(self) -> Amount {
        Amount(-self.0).rescaled()
    }
}

/// Indian rupee format: `₹1,23,45,678.90`, `-₹1,500.00`. Honours width and
/// alignment (`{:>16}`) for tables.
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&format_inr(self.0))
    }
}

impl FromStr for Amount {
    type Err = ParseAmountError;

    /// Same as [`Amount::parse_user`].
    fn from_str(s: &str) -> Result<Amount, ParseAmountError> {
        Amount::parse_user(s)
    }
}

/// Formats a decimal as rupees with Indian digit grouping, rounded to the paisa.
fn format_inr(value: Decimal) -> String {
    let mut v = value.round_dp_with_strategy(AMOUNT_SCALE, HALF_UP);
    v.rescale(AMOUNT_SCALE);
    let paise = v.mantissa().unsigned_abs();
    let digits = (paise / 100).to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 2 + 8);
    if v.is_sign_negative() && paise != 0 {
        out.push('-');
    }
    out.push('₹');
    // The last three digits form one group, every group before them has two.
    let head_len = digits.len().saturating_sub(3);
    let (head, tail) = digits.split_at(head_len);
    for (i, c) in head.chars().enumerate() {
        if i > 0 && (head_len - i).is_multiple_of(2) {
            out.push(',');
        }
        out.push(c);
    }
    if !head.is_empty() {
        out.push(',');
    }
    out.push_str(tail);
    out.push('.');
    out.push_str(&format!("{:02}", paise % 100));
    out
}

/// Why a user amount could not be parsed; see [`ParseAmountError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseAmountErrorKind {
    Empty,
    Negative,
    InvalidCharacter(char),
    /// More than two digits after the decimal point.
    TooManyDecimals {
        digits: usize,
    },
    /// A decimal point without digits after it, or commas without digits.
    MissingDigits,
    /// Commas that are neither Indian (`1,00,000`) nor international (`100,000`)
    /// grouping.
    BadGrouping,
    /// More than [`AMOUNT_USER_DIGITS_MAX`] digits before the decimal point.
    TooLarge,
}

/// A user amount that could not be parsed. Its `Display` names the input, the
/// problem and the fix, in one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseAmountError {
    pub input: String,
    pub kind: ParseAmountErrorKind,
}

impl fmt::Display for ParseAmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid amount {:?}: ", self.input)?;
        match &self.kind {
            ParseAmountErrorKind::Empty => f.write_str("it is empty")?,
            ParseAmountErrorKind::Negative => {
                f.write_str("it is negative; give a positive amount")?
            }
            ParseAmountErrorKind::InvalidCharacter(c) => write!(f, "unexpected character {c:?}")?,
            ParseAmountErrorKind::TooManyDecimals { digits } => {
                write!(f, "{digits} decimals, but rupees have at most 2 (paise)")?
            }
            ParseAmountErrorKind::MissingDigits => f.write_str("digits are missing")?,
            ParseAmountErrorKind::BadGrouping => {
                f.write_str("commas must group digits as 1,00,000 or 100,000")?
            }
            ParseAmountErrorKind::TooLarge => {
                write!(f, "more than {AMOUNT_USER_DIGITS_MAX} digits of rupees")?
            }
        }
        f.write_str("; write rupees like 100000, 1,00,000 or 2500.50")
    }
}

impl std::error::Error for ParseAmountError {}

fn parse_user(input: &str) -> Result<Amount, ParseAmountErrorKind> {
    let s = input.trim();
    let s = s.strip_prefix('₹').unwrap_or(s).trim_start();
    if s.is_empty() {
        return Err(ParseAmountErrorKind::Empty);
    }
    if s.starts_with('-') {
        return Err(ParseAmountErrorKind::Negative);
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_digit() || *c == ',' || *c == '.'))
    {
        return Err(ParseAmountErrorKind::InvalidCharacter(c));
    }
    let (int_part, frac_part) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let frac = match frac_part {
        None => "",
        Some(f) if f.contains(['.', ',']) => {
            return Err(ParseAmountErrorKind::InvalidCharacter(if f.contains('.') {
                '.'
            } else {
                ','
            }));
        }
        Some("") => return Err(ParseAmountErrorKind::MissingDigits),
        Some(f) if f.len() > 2 => {
            return Err(ParseAmountErrorKind::TooManyDecimals { digits: f.len() });
        }
        Some(f) => f,
    };
    if int_part.is_empty() {
        return Err(ParseAmountErrorKind::MissingDigits);
    }
    let groups: Vec<&str> = int_part.split(',').collect();
    if groups.iter().any(|g| g.is_empty()) {
        return Err(ParseAmountErrorKind::MissingDigits);
    }
    if groups.len() > 1 {
        let (first, rest) = groups.split_first().expect("at least two groups");
        let (last, middle) = rest
            .split_last()
            .expect("at least one group after the first");
        let international = first.len() <= 3 && rest.iter().all(|g| g.len() == 3);
        let indian = first.len() <= 2 && last.len() == 3 && middle.iter().all(|g| g.len() == 2);
        if !(international || indian) {
            return Err(ParseAmountErrorKind::BadGrouping);
        }
    }
    let rupee_digits: String = groups.concat();
    let significant = rupee_digits.trim_start_matches('0');
    if significant.len() > AMOUNT_USER_DIGITS_MAX {
        return Err(ParseAmountErrorKind::TooLarge);
    }
    // Both parses succeed: at most 15 + 2 ASCII digits, checked above.
    let rupees: i64 = if significant.is_empty() {
        0
    } else {
        significant
            .parse()
            .map_err(|_| ParseAmountErrorKind::TooLarge)?
    };
    let frac_paise: i64 = match frac.len() {
        0 => 0,
        1 => {
            frac.parse::<i64>()
                .map_err(|_| ParseAmountErrorKind::MissingDigits)?
                * 10
        }
        _ => frac
            .parse::<i64>()
            .map_err(|_| ParseAmountErrorKind::MissingDigits)?,
    };
    Ok(Amount::from_paise(rupees * 100 + frac_paise))
}

// ---------------------------------------------------------------------------
// Price
// ---------------------------------------------------------------------------

/// How to bring a raw price onto the tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TickRounding {
    /// The nearest tick; a price exactly between two ticks goes up (half away
    /// from zero).
    Nearest,
    /// The tick at or below.
    Down,
    /// The tick at or above.
    Up,
}

/// A positive price on the 0.05 tick, in rupees per unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(Decimal);

impl Price {
    /// The smallest price: one tick, Rs 0.05.
    pub const MIN: Price = Price(PRICE_TICK);

    /// An exact price: refuses one off the tick or not positive. The edge codecs
    /// use this to decode what [`Price::to_decimal`] encoded.
    pub fn from_decimal(value: Decimal) -> Result<Price, MoneyError> {
        if value <= Decimal::ZERO {
            return Err(MoneyError::NonPositivePrice { value });
        }
        if !(value % PRICE_TICK).is_zero() {
            return Err(MoneyError::NotOnTick { value });
        }
        let mut v = value;
        v.rescale(AMOUNT_SCALE);
        Ok(Price(v))
    }

    /// `paise` paise, which must be on the tick (a multiple of 5).
    pub fn from_paise(paise: i64) -> Result<Price, MoneyError> {
        Price::from_decimal(Decimal::new(paise, AMOUNT_SCALE))
    }

    /// `ticks` ticks of Rs 0.05.
    pub fn from_ticks(ticks: u32) -> Result<Price, MoneyError> {
        Price::from_decimal(Decimal::from(ticks) * PRICE_TICK)
    }

    /// Brings a raw price (a feed value, a model premium, LTP +/- slippage) onto
    /// the tick. Refuses a result below one tick.
    pub fn round_to_tick(value: Decimal, rounding: TickRounding) -> Result<Price, MoneyError> {
        let ticks = value.checked_div(PRICE_TICK).ok_or(MoneyError::Overflow)?;
        let ticks = match rounding {
            TickRounding::Nearest => ticks.round_dp_with_strategy(0, HALF_UP),
            TickRounding::Down => ticks.floor(),
            TickRounding::Up => ticks.ceil(),
        };
        let rounded = ticks.checked_mul(PRICE_TICK).ok_or(MoneyError::Overflow)?;
        if rounded <= Decimal::ZERO {
            return Err(MoneyError::NonPositivePrice { value });
        }
        Price::from_decimal(rounded)
    }

    /// [`TickRounding::Nearest`]: 100.02 -> 100.00, 100.025 -> 100.05.
    pub fn round_nearest(value: Decimal) -> Result<Price, MoneyError> {
        Price::round_to_tick(value, TickRounding::Nearest)
    }

    /// [`TickRounding::Down`]: 100.04 -> 100.00.
    pub fn round_down(value: Decimal) -> Result<Price, MoneyError> {
        Price::round_to_tick(value, TickRounding::Down)
    }

    /// [`TickRounding::Up`]: 100.01 -> 100.05.
    pub fn round_up(value: Decimal) -> Result<Price, MoneyError> {
        Price::round_to_tick(value, TickRounding::Up)
    }

    /// The conservative fill price of a buy: never below the raw price (up).
    pub fn round_for_buy(value: Decimal) -> Result<Price, MoneyError> {
        Price::round_up(value)
    }

    /// The conservative fill price of a sell: never above the raw price (down).
    pub fn round_for_sell(value: Decimal) -> Result<Price, MoneyError> {
        Price::round_down(value)
    }

    /// The exact value in rupees, at scale 2.
    pub fn to_decimal(self) -> Decimal {
        self.0
    }
}

/// Rupees with Indian grouping, like [`Amount`]: `₹1,234.05`.
impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&format_inr(self.0))
    }
}

// ---------------------------------------------------------------------------
// Qty
// ---------------------------------------------------------------------------

/// A quantity in whole units (contracts x lot size), never negative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Qty(u64);

impl Qty {
    pub const ZERO: Qty = Qty(0);

    pub const fn new(units: u64) -> Qty {
        Qty(units)
    }

    /// `lots x lot_size` units, if it fits.
    pub fn from_lots(lots: u64, lot_size: u64) -> Option<Qty> {
        lots.checked_mul(lot_size).map(Qty)
    }

    /// The number of units.
    pub const fn get(self) -> u64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn checked_add(self, rhs: Qty) -> Option<Qty> {
        self.0.checked_add(rhs.0).map(Qty)
    }

    pub fn checked_sub(self, rhs: Qty) -> Option<Qty> {
        self.0.checked_sub(rhs.0).map(Qty)
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::from(self.0)
    }
}

impl fmt::Display for Qty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn inr_display_uses_indian_grouping() {
        fn check(paise: i64, expected: &str) {
            assert_eq!(
                Amount::from_paise(paise).to_string(),
                expected,
                "paise {paise}"
            );
        }
        check(0, "₹0.00");
        check(5, "₹0.05");
        check(-5, "-₹0.05");
        check(100, "₹1.00");
        check(99_999, "₹999.99");
        check(100_000, "₹1,000.00");
        check(-150_000, "-₹1,500.00");
        check(1_000_000, "₹10,000.00");
        check(10_000_000, "₹1,00,000.00");
        check(10_146_000, "₹1,01,460.00");
        check(1_234_567_890, "₹1,23,45,678.90");
        check(12_345_678_900, "₹12,34,56,789.00");
        check(123_456_789_000, "₹1,23,45,67,890.00");
        check(-123_456_789_012, "-₹1,23,45,67,890.12");
        assert_eq!(
            format!("[{:>12}]", Amount::from_rupees(1500)),
            "[   ₹1,500.00]"
        );
        assert_eq!(Price::from_paise(12_005).unwrap().to_string(), "₹120.05");
    }

    #[test]
    fn parse_user_amounts() {
        fn check(input: &str, expected: Result<i64, ParseAmountErrorKind>) {
            let got = Amount::parse_user(input)
                .map(|a| a.to_paise().unwrap())
                .map_err(|e| e.kind);
            assert_eq!(got, expected, "input {input:?}");
        }
        use ParseAmountErrorKind::*;
        check("100000", Ok(10_000_000));
        check("  100000 ", Ok(10_000_000));
        check("1,00,000.50", Ok(10_000_050));
        check("100,000.5", Ok(10_000_050));
        check("₹1,23,45,678.90", Ok(1_234_567_890));
        check("₹ 20", Ok(2000));
        check("0.05", Ok(5));
        check("0", Ok(0));
        check("007", Ok(700));
        check("12,34,567", Ok(123_456_700));
        check("1,234,567", Ok(123_456_700));
        check("", Err(Empty));
        check("   ", Err(Empty));
        check("₹", Err(Empty));
        check("-500", Err(Negative));
        check("+500", Err(InvalidCharacter('+')));
        check("1e5", Err(InvalidCharacter('e')));
        check("10 000", Err(InvalidCharacter(' ')));
        check("100.505", Err(TooManyDecimals { digits: 3 }));
        check("100.", Err(MissingDigits));
        check(".50", Err(MissingDigits));
        check("1..0", Err(InvalidCharacter('.')));
        check("1.0,0", Err(InvalidCharacter(',')));
        check(",100", Err(MissingDigits));
        check("1,,000", Err(MissingDigits));
        check("1,0000", Err(BadGrouping));
        check("10,00", Err(BadGrouping));
        check("1234,567", Err(BadGrouping));
        check("1000000000000000", Err(TooLarge));
        check("999999999999999.99", Ok(99_999_999_999_999_999));
    }

    #[test]
    fn parse_error_names_input_and_fix() {
        let err = Amount::parse_user("1,0000").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid amount \"1,0000\": commas must group digits as 1,00,000 or 100,000; \
             write rupees like 100000, 1,00,000 or 2500.50"
        );
        let err: ParseAmountError = "-5".parse::<Amount>().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid amount \"-5\": it is negative"),
            "{err}"
        );
    }

    #[test]
    fn amount_from_decimal_is_exact_and_canonical() {
        assert_eq!(
            Amount::from_decimal(dec("1.5"))
                .unwrap()
                .to_decimal()
                .scale(),
            2
        );
        assert_eq!(
            Amount::from_decimal(dec("1.50")),
            Ok(Amount::from_paise(150))
        );
        assert_eq!(
            Amount::from_decimal(dec("1.500")),
            Ok(Amount::from_paise(150))
        );
        assert_eq!(
            Amount::from_decimal(dec("1.505")),
            Err(MoneyError::NotWholePaise {
                value: dec("1.505")
            })
        );
        // Round-trip through the codec pair keeps bytes equal.
        let a = Amount::from_paise(-123_456);
        assert_eq!(
            Amount::from_decimal(a.to_decimal())
                .unwrap()
                .to_decimal()
                .serialize(),
            a.to_decimal().serialize()
        );
    }

    #[test]
    fn amount_rounding_is_half_away_from_zero() {
        fn check(raw: &str, paise: i64) {
            assert_eq!(
                Amount::from_decimal_rounded(dec(raw)),
                Amount::from_paise(paise),
                "raw {raw}"
            );
        }
        check("0.005", 1);
        check("0.0049", 0);
        check("2.62725", 263);
        check("0.225", 23);
        check("-0.005", -1);
        check("4.0752", 408);
    }

    #[test]
    fn price_tick_rounding() {
        fn check(raw: &str, rounding: TickRounding, expected: Result<i64, ()>) {
            let got = Price::round_to_tick(dec(raw), rounding)
                .map(|p| p.to_decimal())
                .map_err(|_| ());
            assert_eq!(
                got,
                expected.map(|paise| Decimal::new(paise, 2)),
                "raw {raw} {rounding:?}"
            );
        }
        use TickRounding::*;
        check("100", Nearest, Ok(10_000));
        check("100.02", Nearest, Ok(10_000));
        check("100.025", Nearest, Ok(10_005));
        check("100.03", Nearest, Ok(10_005));
        check("100.074", Nearest, Ok(10_005));
        check("100.075", Nearest, Ok(10_010));
        check("100.04", Down, Ok(10_000));
        check("100.05", Down, Ok(10_005));
        check("100.01", Up, Ok(10_005));
        check("100.05", Up, Ok(10_005));
        check("0.01", Up, Ok(5));
        check("0.02", Nearest, Err(()));
        check("0.04", Down, Err(()));
        check("-1", Up, Err(()));
        assert_eq!(
            Price::round_for_buy(dec("99.96")).unwrap(),
            Price::from_paise(10_000).unwrap()
        );
        assert_eq!(
            Price::round_for_sell(dec("99.96")).unwrap(),
            Price::from_paise(9_995).unwrap()
        );
    }

    #[test]
    fn price_constructors_refuse_off_tick_and_non_positive() {
        assert_eq!(
            Price::from_paise(10_003),
            Err(MoneyError::NotOnTick {
                value: dec("100.03")
            })
        );
        assert_eq!(
            Price::from_paise(0),
            Err(MoneyError::NonPositivePrice { value: dec("0.00") })
        );
        assert_eq!(Price::from_ticks(1), Ok(Price::MIN));
        assert_eq!(
            Price::from_decimal(dec("120"))
                .unwrap()
                .to_decimal()
                .scale(),
            2
        );
        assert!(
            MoneyError::NotOnTick {
                value: dec("100.03")
            }
            .to_string()
            .contains("0.05 tick")
        );
    }

    #[test]
    fn notional_is_exact() {
        let n = Amount::notional(Qty::new(75), Price::from_paise(10_005).unwrap()).unwrap();
        assert_eq!(n, Amount::from_paise(750_375));
        assert_eq!(n.to_decimal().scale(), 2);
        assert_eq!(Qty::from_lots(3, 75), Some(Qty::new(225)));
        assert_eq!(Qty::from_lots(u64::MAX, 2), None);
    }
}
