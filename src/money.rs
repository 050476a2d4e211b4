//! Money: [`Amount`] (rupees, whole paise), [`Price`] (on the 0.05 tick) and
//! [`Qty`] (whole units), all exact. No floats anywhere.
//!
//! # Representation
//!
//! [`Amount`] and [`Price`] hold a whole number of paise in an `i128`, bounded
//! by [`PAISE_MAX`] (the 96-bit mantissa of a `rust_decimal::Decimal`), so every
//! value converts to a `Decimal` at scale 2 and back without loss. Arithmetic is
//! integer arithmetic, checked: a result outside the bound is `None` (the wallet
//! turns that into a rejection), never a wrap or a panic. `Decimal` stays at the
//! edges: parsing, rounding raw prices, JSON and the binary codecs
//! ([`Amount::to_decimal`], [`Amount::from_decimal`]).
//!
//! # Rounding rules
//!
//! - An [`Amount`] is always a whole number of paise. Products that need
//!   rounding (charges, a share of a cost basis) round to the paisa **half away
//!   from zero** ([`Amount::from_decimal_rounded`], [`Amount::checked_share`]):
//!   0.005 -> 0.01.
//! - A [`Price`] is always a positive multiple of the 0.05 tick ([`PRICE_TICK`]).
//!   [`Price::round_nearest`] rounds a raw price half away from zero (100.025 ->
//!   100.05); [`Price::round_down`] and [`Price::round_up`] are the explicit,
//!   conservative choices for paper fills: a buy fills at the tick at or above the
//!   raw price, a sell at the tick at or below it ([`Price::round_for_buy`],
//!   [`Price::round_for_sell`]).
//! - `Qty * Price` of whole units and tick prices is exact, so balances built
//!   from fills never round.
//!
//! # Serialization
//!
//! Architecture Invariant: these types derive no serde. The journal, snapshot and
//! JSON codecs convert through [`Amount::to_decimal`] / [`Amount::from_decimal`]
//! (and the same pair on [`Price`], [`Qty::get`] / [`Qty::new`]) in their own
//! dedicated record types. `to_decimal` always gives scale 2, so equal amounts
//! encode to equal bytes.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

/// The price tick of Indian index options: Rs 0.05.
pub const PRICE_TICK: Decimal = Decimal::from_parts(5, 0, 0, false, 2);

/// The price tick in paise.
const TICK_PAISE: i128 = 5;

/// The scale (decimal places) every [`Amount`] converts to: paise.
pub const AMOUNT_SCALE: u32 = 2;

/// The largest magnitude, in paise, of an [`Amount`] or a [`Price`]: the
/// largest mantissa of a `Decimal` (2^96 - 1, about 7.9 x 10^26 rupees).
pub const PAISE_MAX: i128 = (1 << 96) - 1;

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
    /// The result is beyond [`PAISE_MAX`] (about 7.9 x 10^26 rupees).
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

/// `paise` if it is within [`PAISE_MAX`].
#[inline]
fn bounded(paise: i128) -> Option<i128> {
    (paise.unsigned_abs() <= PAISE_MAX as u128).then_some(paise)
}

/// 10^n for n <= 28 (a `Decimal` scale).
fn pow10(n: u32) -> i128 {
    10i128.pow(n)
}

/// The exact number of paise of `value`. Fractions of a paisa are
/// `NotWholePaise`, a result beyond [`PAISE_MAX`] is `Overflow`.
#[inline]
fn paise_of(value: Decimal) -> Result<i128, MoneyError> {
    let mantissa = value.mantissa();
    let scale = value.scale();
    if scale == AMOUNT_SCALE {
        // A mantissa is at most 96 bits: within the bound.
        return Ok(mantissa);
    }
    if scale < AMOUNT_SCALE {
        return mantissa
            .checked_mul(pow10(AMOUNT_SCALE - scale))
            .and_then(bounded)
            .ok_or(MoneyError::Overflow);
    }
    let divisor = pow10(scale - AMOUNT_SCALE);
    if mantissa % divisor != 0 {
        return Err(MoneyError::NotWholePaise { value });
    }
    Ok(mantissa / divisor)
}

/// `paise` as a `Decimal` at scale 2. Infallible: `|paise| <= PAISE_MAX`.
#[inline]
fn decimal_of(paise: i128) -> Decimal {
    let m = paise.unsigned_abs();
    Decimal::from_parts(
        m as u32,
        (m >> 32) as u32,
        (m >> 64) as u32,
        paise < 0,
        AMOUNT_SCALE,
    )
}

// ---------------------------------------------------------------------------
// Amount
// ---------------------------------------------------------------------------

/// A signed sum of rupees, always a whole number of paise (at most
/// [`PAISE_MAX`] in magnitude).
///
/// Arithmetic is checked (`checked_*` return `None` on overflow); the wallet turns
/// that into a rejection rather than a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(i128);

impl Amount {
    /// Rs 0.00.
    pub const ZERO: Amount = Amount(0);

    /// `paise` paise (100 paise = Rs 1).
    pub const fn from_paise(paise: i64) -> Amount {
        Amount(paise as i128)
    }

    /// Whole rupees.
    pub const fn from_rupees(rupees: i64) -> Amount {
        // |i64| x 100 is far inside PAISE_MAX.
        Amount(rupees as i128 * 100)
    }

    /// An exact amount: refuses fractions of a paisa (and values beyond
    /// [`PAISE_MAX`]). The edge codecs use this to decode what
    /// [`Amount::to_decimal`] encoded.
    pub fn from_decimal(value: Decimal) -> Result<Amount, MoneyError> {
        paise_of(value).map(Amount)
    }

    /// Rounds to the paisa, half away from zero (0.005 -> 0.01, -0.005 -> -0.01).
    /// A value beyond [`PAISE_MAX`] (about 7.9 x 10^26 rupees, far beyond any
    /// real amount) saturates at the bound.
    pub fn from_decimal_rounded(value: Decimal) -> Amount {
        let rounded = value.round_dp_with_strategy(AMOUNT_SCALE, HALF_UP);
        match paise_of(rounded) {
            Ok(paise) => Amount(paise),
            Err(_) if value.is_sign_negative() => Amount(-PAISE_MAX),
            Err(_) => Amount(PAISE_MAX),
        }
    }

    /// The exact value in rupees, at scale 2.
    pub fn to_decimal(self) -> Decimal {
        decimal_of(self.0)
    }

    /// The value in paise, if it fits in an `i64`.
    pub fn to_paise(self) -> Option<i64> {
        i64::try_from(self.0).ok()
    }

    /// The exact value in paise (at most [`PAISE_MAX`] in magnitude). The
    /// binary codecs write it as a `Decimal` mantissa at scale 2.
    pub const fn paise(self) -> i128 {
        self.0
    }

    /// `paise` paise, if within [`PAISE_MAX`]: the inverse of
    /// [`Amount::paise`].
    pub fn from_paise_i128(paise: i128) -> Option<Amount> {
        bounded(paise).map(Amount)
    }

    /// The notional value of a fill, `qty x price`: exact, since both are exact.
    #[inline]
    pub fn notional(qty: Qty, price: Price) -> Option<Amount> {
        i128::from(qty.0)
            .checked_mul(price.0)
            .and_then(bounded)
            .map(Amount)
    }

    /// `self x part / whole`, rounded to the paisa half away from zero: the
    /// share of a cost basis that `part` of `whole` units carry. `None` when
    /// `whole` is zero or the product is out of range.
    #[inline]
    pub fn checked_share(self, part: Qty, whole: Qty) -> Option<Amount> {
        if whole.is_zero() {
            return None;
        }
        let product = self.0.checked_mul(i128::from(part.0))?;
        let whole = i128::from(whole.0);
        let quotient = product / whole;
        let remainder = product % whole;
        // Half away from zero: round up the magnitude when 2|r| >= whole.
        let rounded = if remainder.unsigned_abs() * 2 >= whole.unsigned_abs() {
            quotient + product.signum()
        } else {
            quotient
        };
        bounded(rounded).map(Amount)
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Strictly greater than zero.
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Strictly less than zero.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    #[inline]
    pub fn checked_add(self, rhs: Amount) -> Option<Amount> {
        self.0.checked_add(rhs.0).and_then(bounded).map(Amount)
    }

    #[inline]
    pub fn checked_sub(self, rhs: Amount) -> Option<Amount> {
        self.0.checked_sub(rhs.0).and_then(bounded).map(Amount)
    }

    pub fn abs(self) -> Amount {
        // The bound is symmetric.
        Amount(self.0.abs())
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
}

/// Never overflows: the bound is symmetric.
impl std::ops::Neg for Amount {
    type Output = Amount;

    fn neg(self) -> Amount {
        Amount(-self.0)
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

/// Formats paise as rupees with Indian digit grouping.
fn format_inr(paise: i128) -> String {
    let magnitude = paise.unsigned_abs();
    let digits = (magnitude / 100).to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 2 + 8);
    if paise < 0 {
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
    out.push_str(&format!("{:02}", magnitude % 100));
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

/// A positive price on the 0.05 tick, in rupees per unit (held in paise).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(i128);

impl Price {
    /// The smallest price: one tick, Rs 0.05.
    pub const MIN: Price = Price(TICK_PAISE);

    /// An exact price: refuses one off the tick, not positive, or beyond
    /// [`PAISE_MAX`]. The edge codecs use this to decode what
    /// [`Price::to_decimal`] encoded.
    pub fn from_decimal(value: Decimal) -> Result<Price, MoneyError> {
        if value <= Decimal::ZERO {
            return Err(MoneyError::NonPositivePrice { value });
        }
        match paise_of(value) {
            Ok(paise) if paise % TICK_PAISE == 0 => Ok(Price(paise)),
            Ok(_) | Err(MoneyError::NotWholePaise { .. }) => Err(MoneyError::NotOnTick { value }),
            Err(e) => Err(e),
        }
    }

    /// `paise` paise, which must be on the tick (a multiple of 5).
    pub fn from_paise(paise: i64) -> Result<Price, MoneyError> {
        let paise = i128::from(paise);
        if paise > 0 && paise % TICK_PAISE == 0 {
            return Ok(Price(paise));
        }
        Price::from_decimal(decimal_of(paise))
    }

    /// `ticks` ticks of Rs 0.05.
    pub fn from_ticks(ticks: u32) -> Result<Price, MoneyError> {
        if ticks == 0 {
            return Err(MoneyError::NonPositivePrice {
                value: decimal_of(0),
            });
        }
        Ok(Price(i128::from(ticks) * TICK_PAISE))
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
        decimal_of(self.0)
    }

    /// The exact value in paise (a positive multiple of 5, at most
    /// [`PAISE_MAX`]).
    pub const fn paise(self) -> i128 {
        self.0
    }

    /// `paise` paise, if it is a valid price (positive, on the tick, within
    /// [`PAISE_MAX`]): the inverse of [`Price::paise`].
    pub fn from_paise_i128(paise: i128) -> Option<Price> {
        (paise > 0 && paise % TICK_PAISE == 0)
            .then_some(paise)
            .and_then(bounded)
            .map(Price)
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
    fn checked_share_rounds_half_away_from_zero() {
        let a = Amount::from_paise(1_001);
        // 1001 x 1 / 2 = 500.5 -> 501; 1001 x 1 / 3 = 333.67 -> 334.
        assert_eq!(
            a.checked_share(Qty::new(1), Qty::new(2)),
            Some(Amount::from_paise(501))
        );
        assert_eq!(
            a.checked_share(Qty::new(1), Qty::new(3)),
            Some(Amount::from_paise(334))
        );
        // 1001 x 1 / 4 = 250.25 -> 250.
        assert_eq!(
            a.checked_share(Qty::new(1), Qty::new(4)),
            Some(Amount::from_paise(250))
        );
        // Negative: -1001 / 2 = -500.5 -> -501.
        assert_eq!(
            (-a).checked_share(Qty::new(1), Qty::new(2)),
            Some(Amount::from_paise(-501))
        );
        assert_eq!(a.checked_share(Qty::new(1), Qty::ZERO), None);
        // The same as the decimal rule it replaces, on a grid of cases.
        for cost in [1i64, 5, 99, 1_001, 750_375, 123_456_789] {
            for whole in 1u64..=12 {
                for part in 0..=whole {
                    let exact = Decimal::new(cost, 2) * Decimal::from(part) / Decimal::from(whole);
                    assert_eq!(
                        Amount::from_paise(cost).checked_share(Qty::new(part), Qty::new(whole)),
                        Some(Amount::from_decimal_rounded(exact)),
                        "{cost} x {part} / {whole}"
                    );
                }
            }
        }
    }

    #[test]
    fn arithmetic_refuses_to_leave_the_decimal_range() {
        let max = Amount::from_decimal(Decimal::from_parts(u32::MAX, u32::MAX, u32::MAX, false, 2))
            .unwrap();
        assert_eq!(max.to_decimal().mantissa(), PAISE_MAX);
        assert_eq!(max.checked_add(Amount::from_paise(1)), None);
        assert_eq!((-max).checked_sub(Amount::from_paise(1)), None);
        assert_eq!(
            max.checked_sub(Amount::from_paise(1)).map(|a| a < max),
            Some(true)
        );
        assert_eq!(-(-max), max);
        assert_eq!(max.abs(), (-max).abs());
        assert_eq!(
            Amount::notional(Qty::new(u64::MAX), Price::from_paise(5).unwrap())
                .map(|a| a.to_decimal()),
            Some(Decimal::from(u64::MAX) * PRICE_TICK)
        );
        assert_eq!(
            Amount::notional(Qty::new(u64::MAX), Price::from_ticks(u32::MAX).unwrap())
                .and_then(|a| a.checked_add(max)),
            None
        );
        // Beyond 96 bits at scale 2: refused, not rounded.
        assert_eq!(
            Amount::from_decimal(Decimal::MAX),
            Err(MoneyError::Overflow)
        );
        assert_eq!(Price::from_decimal(Decimal::MAX), Err(MoneyError::Overflow));
        assert_eq!(Amount::from_decimal_rounded(Decimal::MIN), -max);
        assert_eq!(max.to_paise(), None);
        assert_eq!(Amount::from_paise(i64::MIN).to_paise(), Some(i64::MIN));
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
