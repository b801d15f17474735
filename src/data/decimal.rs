//! Exact decimal numbers with up to 38 significant digits, ksqlDB's bound for DECIMAL(p, s).
//!
//! A value is a 128-bit integer (the unscaled value, or mantissa) and a scale: the number is
//! `mantissa / 10^scale`. Every operation on values that fit in 128 bits is plain integer
//! arithmetic; only a product or a quotient whose intermediate needs more than 128 bits
//! takes the slower 256-bit path (`wide.rs`). Rounding is HALF_UP, as ksqlDB rounds.
//!
//! The mantissa is stored as two 64-bit halves so that a `Value` keeps an 8-byte alignment
//! (an `i128` field would give it 16).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::wide::U256;

/// The most digits a decimal holds (ksqlDB's DECIMAL precision bound).
pub const DIGITS_MAX: u32 = 38;

/// 10^0 ..= 10^38.
const POW10: [i128; 39] = {
    let mut t = [1i128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// 10^n for n <= 38.
pub fn pow10(n: u32) -> i128 {
    POW10[n as usize]
}

/// How a value is rounded when digits are dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// To the nearest, a tie away from zero (ksqlDB's ROUND and casts).
    HalfUp,
    /// To the nearest, a tie toward positive infinity (ksqlDB's ROUND of any sign).
    HalfCeiling,
    /// Toward zero (TRUNC).
    Down,
    /// Toward negative infinity (FLOOR).
    Floor,
    /// Toward positive infinity (CEIL).
    Ceiling,
}

#[derive(Clone, Copy, Default)]
pub struct Decimal {
    lo: u64,
    hi: i64,
    scale: u8,
}

impl Decimal {
    pub const ZERO: Decimal = Decimal {
        lo: 0,
        hi: 0,
        scale: 0,
    };

    /// `mantissa / 10^scale`, or None when the mantissa has more than 38 digits or the scale
    /// is above 38.
    pub fn from_parts(mantissa: i128, scale: u32) -> Option<Decimal> {
        (mantissa.unsigned_abs() < POW10[38] as u128 && scale <= DIGITS_MAX)
            .then(|| Decimal::raw(mantissa, scale))
    }

    fn raw(mantissa: i128, scale: u32) -> Decimal {
        Decimal {
            lo: mantissa as u64,
            hi: (mantissa >> 64) as i64,
            scale: scale as u8,
        }
    }

    pub fn mantissa(&self) -> i128 {
        ((self.hi as i128) << 64) | self.lo as i128
    }

    pub fn scale(&self) -> u32 {
        self.scale as u32
    }

    /// How many digits the mantissa has (0 has one).
    pub fn digits(&self) -> u32 {
        let m = self.mantissa().unsigned_abs();
        (1..=DIGITS_MAX)
            .find(|&n| m < POW10[n as usize] as u128)
            .unwrap_or(39)
    }

    pub fn is_zero(&self) -> bool {
        self.mantissa() == 0
    }

    pub fn is_negative(&self) -> bool {
        self.hi < 0
    }

    /// The double nearest this value.
    pub fn to_f64(&self) -> f64 {
        let (m, s) = (self.mantissa(), self.scale);
        if m.unsigned_abs() < 1 << 53 && s <= 22 {
            // both exact as doubles, so the one division is correctly rounded
            return m as f64 / POW10[s as usize] as f64;
        }
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// A double's shortest decimal spelling as a decimal (None for NaN, the infinities and
    /// numbers of more than 38 digits).
    pub fn from_f64(f: f64) -> Option<Decimal> {
        if !f.is_finite() {
            return None;
        }
        format!("{f}").parse().ok()
    }

    /// The whole part (scale 0), toward zero.
    pub fn trunc(&self) -> Decimal {
        self.round(0, Rounding::Down)
    }

    pub fn to_i64(&self) -> Option<i64> {
        i64::try_from(self.trunc().mantissa()).ok()
    }

    pub fn to_i32(&self) -> Option<i32> {
        i32::try_from(self.trunc().mantissa()).ok()
    }

    pub fn abs(&self) -> Decimal {
        Decimal::raw(self.mantissa().abs(), self.scale())
    }

    /// This value with `scale` digits after the point: digits dropped are rounded as
    /// `mode` says, zeros added when the scale grows. None when the result needs more than 38
    /// digits.
    pub fn rescale(&self, scale: u32, mode: Rounding) -> Option<Decimal> {
        let (m, s) = (self.mantissa(), self.scale());
        if scale >= s {
            let factor = *POW10.get((scale - s) as usize)?;
            return Decimal::from_parts(m.checked_mul(factor)?, scale);
        }
        Some(Decimal::raw(
            divide_rounded(m, pow10_or_beyond(s - scale), mode),
            scale,
        ))
    }

    /// This value rounded to at most `dp` digits after the point (the scale never grows);
    /// a negative `dp` rounds to tens, hundreds..., keeping scale 0.
    pub fn round(&self, dp: i64, mode: Rounding) -> Decimal {
        let s = self.scale() as i64;
        if dp >= s {
            return *self;
        }
        let dropped = (s - dp).min(DIGITS_MAX as i64 + 1) as u32;
        let q = divide_rounded(self.mantissa(), pow10_or_beyond(dropped), mode);
        if dp >= 0 {
            return Decimal::raw(q, dp as u32);
        }
        // back to units: q counts 10^-dp; 0 when that is out of range
        let back = (-dp) as u32;
        match POW10.get(back as usize).and_then(|f| q.checked_mul(*f)) {
            Some(m) if m.unsigned_abs() < POW10[38] as u128 => Decimal::raw(m, 0),
            _ => Decimal::ZERO,
        }
    }

    /// Both values at the larger scale, or None when one then needs more than 38 digits.
    fn aligned(self, other: Decimal) -> Option<(i128, i128, u32)> {
        let s = self.scale().max(other.scale());
        Some((
            self.rescale(s, Rounding::Down)?.mantissa(),
            other.rescale(s, Rounding::Down)?.mantissa(),
            s,
        ))
    }

    pub fn checked_add(self, other: Decimal) -> Option<Decimal> {
        if self.scale == other.scale {
            // the common case (a column's values share its scale): one addition
            return Decimal::from_parts(
                self.mantissa().checked_add(other.mantissa())?,
                self.scale(),
            );
        }
        let (a, b, s) = self.aligned(other)?;
        Decimal::from_parts(a.checked_add(b)?, s)
    }

    pub fn checked_sub(self, other: Decimal) -> Option<Decimal> {
        if self.scale == other.scale {
            return Decimal::from_parts(
                self.mantissa().checked_sub(other.mantissa())?,
                self.scale(),
            );
        }
        let (a, b, s) = self.aligned(other)?;
        Decimal::from_parts(a.checked_sub(b)?, s)
    }

    /// The exact product (scale the sum of the scales); when that has more than 38 digits,
    /// digits after the point are rounded off until it fits. None when the whole part alone
    /// is too long.
    pub fn checked_mul(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale() + other.scale();
        let (a, b) = (self.mantissa(), other.mantissa());
        if let Some(m) = a.checked_mul(b) {
            if let Some(d) = Decimal::from_parts(m, scale) {
                return Some(d);
            }
        }
        let negative = (a < 0) != (b < 0);
        let mut wide = U256::mul(a.unsigned_abs(), b.unsigned_abs());
        let mut scale = scale;
        let mut last = 0;
        while !wide.fits_digits() {
            if scale == 0 {
                return None;
            }
            (wide, last) = wide.div_small(10);
            scale -= 1;
        }
        let mut m = wide.low() as i128;
        if last >= 5 {
            m += 1;
            if m == POW10[38] {
                // 99..9.5 rounded up: one digit more, so one fewer after the point
                scale = scale.checked_sub(1)?;
                m /= 10;
            }
        }
        Decimal::from_parts(if negative { -m } else { m }, scale)
    }

    /// The quotient with `scale` digits after the point, HALF_UP; None for a zero divisor or
    /// a quotient of more than 38 digits.
    pub fn checked_div_to(self, other: Decimal, scale: u32) -> Option<Decimal> {
        let (a, b) = (self.mantissa(), other.mantissa());
        if b == 0 || scale > DIGITS_MAX {
            return None;
        }
        // q = a * 10^(scale + sb - sa) / b
        let shift = scale as i64 + other.scale() as i64 - self.scale() as i64;
        let negative = (a < 0) != (b < 0);
        let (mut num, mut den) = (U256::from(a.unsigned_abs()), U256::from(b.unsigned_abs()));
        if shift >= 0 {
            num = num.mul_pow10(shift as u32)?;
        } else {
            den = den.mul_pow10((-shift) as u32)?;
        }
        let (q, r) = num.div_rem(den);
        let mut q = q.to_u128()?;
        if r.double() >= den {
            q += 1;
        }
        let q = i128::try_from(q).ok()?;
        Decimal::from_parts(if negative { -q } else { q }, scale)
    }

    /// The remainder of the division toward zero (the dividend's sign), at the larger scale.
    pub fn checked_rem(self, other: Decimal) -> Option<Decimal> {
        let (a, b, s) = self.aligned(other)?;
        Decimal::from_parts(a.checked_rem(b)?, s)
    }

    /// Bytes of the state codec: the mantissa (16 bytes, little-endian), then the scale.
    pub fn to_bytes(&self) -> [u8; 17] {
        let mut out = [0; 17];
        out[..16].copy_from_slice(&self.mantissa().to_le_bytes());
        out[16] = self.scale;
        out
    }

    pub fn from_bytes(b: &[u8; 17]) -> Option<Decimal> {
        let m = i128::from_le_bytes(b[..16].try_into().ok()?);
        Decimal::from_parts(m, b[16] as u32)
    }

    /// A value in the 16-byte layout of the decimal library kql used before 38-digit
    /// decimals (96-bit mantissa), as older state snapshots hold it.
    pub fn from_legacy_bytes(b: &[u8; 16]) -> Option<Decimal> {
        let word = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let flags = word(0);
        let m = (word(12) as i128) << 64 | (word(8) as i128) << 32 | word(4) as i128;
        let scale = (flags >> 16) & 0xff;
        let negative = flags & 0x8000_0000 != 0;
        Decimal::from_parts(if negative { -m } else { m }, scale)
    }
}

/// 10^n, or a number larger than any 38-digit mantissa when n is above 38.
fn pow10_or_beyond(n: u32) -> i128 {
    POW10.get(n as usize).copied().unwrap_or(i128::MAX)
}

/// `m / d` rounded as `mode` says (d > 0).
fn divide_rounded(m: i128, d: i128, mode: Rounding) -> i128 {
    let (q, r) = (m / d, m % d);
    if r == 0 {
        return q;
    }
    let away = if m < 0 { -1 } else { 1 };
    match mode {
        Rounding::Down => q,
        Rounding::HalfUp => {
            // |r| >= d - |r| means the dropped part is at least one half
            if r.unsigned_abs() >= d.unsigned_abs() - r.unsigned_abs() {
                q + away
            } else {
                q
            }
        }
        Rounding::HalfCeiling => {
            let twice = r.unsigned_abs().saturating_mul(2);
            match twice.cmp(&d.unsigned_abs()) {
                Ordering::Greater => q + away,
                Ordering::Equal if m > 0 => q + 1,
                _ => q,
            }
        }
        Rounding::Floor => {
            if m < 0 {
                q - 1
            } else {
                q
            }
        }
        Rounding::Ceiling => {
            if m > 0 {
                q + 1
            } else {
                q
            }
        }
    }
}

impl From<i32> for Decimal {
    fn from(i: i32) -> Decimal {
        Decimal::raw(i as i128, 0)
    }
}

impl From<i64> for Decimal {
    fn from(i: i64) -> Decimal {
        Decimal::raw(i as i128, 0)
    }
}

impl std::ops::Neg for Decimal {
    type Output = Decimal;
    fn neg(self) -> Decimal {
        Decimal::raw(-self.mantissa(), self.scale())
    }
}

/// Values compare as numbers: 1.0 equals 1.00.
impl PartialEq for Decimal {
    fn eq(&self, other: &Decimal) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Decimal) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Decimal) -> Ordering {
        if self.scale == other.scale {
            return self.mantissa().cmp(&other.mantissa());
        }
        match (self.is_negative(), other.is_negative()) {
            (false, true) => return Ordering::Greater,
            (true, false) => return Ordering::Less,
            _ => {}
        }
        // same sign: a mantissa that overflows when brought to the larger scale is the
        // larger in magnitude
        let s = self.scale().max(other.scale());
        let up = |d: &Decimal| d.mantissa().checked_mul(POW10[(s - d.scale()) as usize]);
        match (up(self), up(other)) {
            (Some(a), Some(b)) => a.cmp(&b),
            (None, _) if !self.is_negative() => Ordering::Greater,
            (None, _) => Ordering::Less,
            (_, None) if !other.is_negative() => Ordering::Less,
            (_, None) => Ordering::Greater,
        }
    }
}

impl std::hash::Hash for Decimal {
    /// Equal values (1.0, 1.00) hash alike: the hash is of the value without trailing zeros.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let (mut m, mut s) = (self.mantissa(), self.scale());
        while s > 0 && m % 10 == 0 {
            m /= 10;
            s -= 1;
        }
        m.hash(state);
        s.hash(state);
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// Plain notation with exactly `scale` digits after the point, as ksqlDB writes decimals.
/// Written from a buffer on the stack: no allocation per value.
impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // at most a sign, 39 digits (a leading 0 before the point) and the point
        let mut buf = [0u8; 41];
        let mut at = buf.len();
        let mut m = self.mantissa().unsigned_abs();
        let scale = self.scale as usize;
        let mut written = 0;
        while m > 0 || written <= scale {
            if written == scale && scale > 0 {
                at -= 1;
                buf[at] = b'.';
            }
            at -= 1;
            buf[at] = b'0' + (m % 10) as u8;
            m /= 10;
            written += 1;
        }
        if self.is_negative() {
            at -= 1;
            buf[at] = b'-';
        }
        // only ASCII digits, '.' and '-' were written
        f.write_str(std::str::from_utf8(&buf[at..]).unwrap_or_default())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseDecimalError;

impl fmt::Display for ParseDecimalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a decimal number")
    }
}

/// Plain (`-12.50`, `.5`, `3.`) or scientific (`1.5E-3`) notation. Digits past the 38th
/// significant one are rounded off (HALF_UP) when they are after the point; a whole part of
/// more than 38 digits is an error.
impl FromStr for Decimal {
    type Err = ParseDecimalError;

    fn from_str(text: &str) -> Result<Decimal, ParseDecimalError> {
        let t = text.trim();
        let (negative, t) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (number, exponent) = match t.find(['e', 'E']) {
            Some(i) => (
                &t[..i],
                t[i + 1..].parse::<i64>().map_err(|_| ParseDecimalError)?,
            ),
            None => (t, 0),
        };
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole
                .bytes()
                .chain(frac.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return Err(ParseDecimalError);
        }
        // the significant digits and the scale they are at
        // digits go into a u64 while they fit (19), then into the i128
        let mut small: u64 = 0;
        let mut m: i128 = 0;
        let mut scale: i64 = frac.len() as i64 - exponent;
        let mut round_up = false;
        let mut kept = 0u32;
        let mut dropped_frac = 0i64;
        for (i, b) in whole.bytes().chain(frac.bytes()).enumerate() {
            let d = (b - b'0') as i128;
            if kept == 0 && d == 0 {
                continue;
            }
            if kept < 19 {
                small = small * 10 + d as u64;
                kept += 1;
            } else if kept < DIGITS_MAX {
                if kept == 19 {
                    m = small as i128;
                }
                m = m * 10 + d;
                kept += 1;
            } else {
                // past 38 significant digits: only digits after the point may go
                let position_from_end = (whole.len() + frac.len() - i) as i64;
                if position_from_end > scale {
                    return Err(ParseDecimalError);
                }
                if dropped_frac == 0 {
                    round_up = d >= 5;
                }
                dropped_frac += 1;
            }
        }
        if kept <= 19 {
            m = small as i128;
        }
        scale -= dropped_frac;
        if round_up {
            m += 1;
            if m == POW10[38] {
                m /= 10;
                scale -= 1;
            }
        }
        if scale < 0 {
            m = m
                .checked_mul(*POW10.get((-scale) as usize).ok_or(ParseDecimalError)?)
                .ok_or(ParseDecimalError)?;
            scale = 0;
        }
        if scale > DIGITS_MAX as i64 {
            // a tiny number: keep 38 digits after the point
            let drop = scale - DIGITS_MAX as i64;
            let m = divide_rounded(m, pow10_or_beyond(drop.min(39) as u32), Rounding::HalfUp);
            return Decimal::from_parts(if negative { -m } else { m }, DIGITS_MAX)
                .ok_or(ParseDecimalError);
        }
        Decimal::from_parts(if negative { -m } else { m }, scale as u32).ok_or(ParseDecimalError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(t: &str) -> Decimal {
        t.parse().unwrap_or_else(|_| panic!("{t}"))
    }

    #[test]
    fn text_round_trips_at_its_scale() {
        for t in [
            "0",
            "0.12",
            "-12345.1200000000000000",
            "12345678987654321.2345678987654321",
            "99999999999999999999999999999999999999",
            "-0.00000000000000000000000000000000000001",
        ] {
            assert_eq!(d(t).to_string(), t);
        }
        assert_eq!(d(".12").to_string(), "0.12");
        assert_eq!(d("1.5E3").to_string(), "1500");
        assert_eq!(d("1.5e-3").to_string(), "0.0015");
        assert!("100000000000000000000000000000000000000"
            .parse::<Decimal>()
            .is_err());
        assert!("1.2.3".parse::<Decimal>().is_err());
        assert!("".parse::<Decimal>().is_err());
        assert!("-".parse::<Decimal>().is_err());
    }

    #[test]
    fn digits_past_38_after_the_point_are_rounded_off() {
        assert_eq!(
            d("1.234567890123456789012345678901234567895").to_string(),
            "1.2345678901234567890123456789012345679"
        );
    }

    #[test]
    fn rescale_pads_and_rounds_half_up() {
        let r = |t: &str, s| d(t).rescale(s, Rounding::HalfUp).map(|x| x.to_string());
        assert_eq!(r("0.12", 16).as_deref(), Some("0.1200000000000000"));
        assert_eq!(r("2.5", 0).as_deref(), Some("3"));
        assert_eq!(r("-2.5", 0).as_deref(), Some("-3"));
        assert_eq!(r("2.449", 1).as_deref(), Some("2.4"));
        assert_eq!(r("12345678987654321.2345678987654321", 30), None);
    }

    #[test]
    fn round_to_tens_keeps_scale_zero() {
        let x = d("12345678987654321.2345678987654321");
        assert_eq!(
            x.round(-1, Rounding::HalfUp).to_string(),
            "12345678987654320"
        );
        assert_eq!(
            x.round(-2, Rounding::HalfUp).to_string(),
            "12345678987654300"
        );
        assert_eq!(
            x.round(10, Rounding::HalfUp).to_string(),
            "12345678987654321.2345678988"
        );
        assert_eq!(d("-1.5").round(0, Rounding::Floor).to_string(), "-2");
        assert_eq!(d("-1.5").round(0, Rounding::Ceiling).to_string(), "-1");
        assert_eq!(d("-1.5").round(0, Rounding::Down).to_string(), "-1");
    }

    #[test]
    fn arithmetic_is_exact_to_38_digits() {
        let a = d("12345678987654321.2345678987654321");
        assert_eq!(
            a.checked_add(a).unwrap().to_string(),
            "24691357975308642.4691357975308642"
        );
        assert_eq!(a.checked_sub(a).unwrap().to_string(), "0.0000000000000000");
        assert_eq!(
            d("1.5").checked_mul(d("-2.25")).unwrap().to_string(),
            "-3.375"
        );
        // a product past 38 digits loses digits after the point, rounded
        assert_eq!(
            a.checked_mul(a).unwrap().to_string(),
            "152415789666209426002133747904283.09709"
        );
        assert_eq!(
            d("99999999999999999999999999999999999999").checked_mul(d("10")),
            None
        );
        let max = d("99999999999999999999999999999999999999");
        assert_eq!(max.checked_add(max), None);
        assert_eq!((-max).checked_sub(max), None);
        assert_eq!(
            d("1234567890123456789012.5").to_string(),
            "1234567890123456789012.5"
        );
        assert_eq!(
            d("10.10").checked_div_to(d("2.00"), 7).unwrap().to_string(),
            "5.0500000"
        );
        assert_eq!(
            d("1").checked_div_to(d("3"), 6).unwrap().to_string(),
            "0.333333"
        );
        assert_eq!(
            d("-2").checked_div_to(d("3"), 6).unwrap().to_string(),
            "-0.666667"
        );
        assert_eq!(d("1").checked_div_to(d("0"), 6), None);
        assert_eq!(
            a.checked_div_to(d("0.0000000001"), 6).unwrap().to_string(),
            "123456789876543212345678987.654321"
        );
        assert_eq!(
            d("10.10").checked_rem(d("-2.00")).unwrap().to_string(),
            "0.10"
        );
    }

    #[test]
    fn values_compare_as_numbers() {
        assert_eq!(d("1.0"), d("1.00"));
        assert!(d("-1.5") < d("-1.25"));
        assert!(d("99999999999999999999999999999999999999") > d("0.1"));
        assert!(d("-99999999999999999999999999999999999999") < d("-0.1"));
        assert!(d("0.00000000000000000000000000000000000001") > d("0"));
    }

    #[test]
    fn doubles_and_integers_convert() {
        assert_eq!(Decimal::from_f64(0.1).unwrap().to_string(), "0.1");
        assert_eq!(Decimal::from_f64(f64::NAN), None);
        assert_eq!(d("-12.75").to_f64(), -12.75);
        assert_eq!(
            d("12345678987654321.2345678987654321").to_f64(),
            12345678987654321.2345678987654321
        );
        assert_eq!(d("-12.75").to_i64(), Some(-12));
        assert_eq!(d("99999999999999999999").to_i64(), None);
    }

    #[test]
    fn legacy_snapshot_bytes_are_read() {
        // -123.45 in the old 16-byte layout: flags (scale 2, sign), lo, mid, hi
        let mut b = [0u8; 16];
        b[0..4].copy_from_slice(&(0x8000_0000u32 | (2 << 16)).to_le_bytes());
        b[4..8].copy_from_slice(&12345u32.to_le_bytes());
        assert_eq!(
            Decimal::from_legacy_bytes(&b).unwrap().to_string(),
            "-123.45"
        );
        let x = d("-12345678987654321.2345678987654321");
        assert_eq!(
            Decimal::from_bytes(&x.to_bytes()).unwrap().to_string(),
            x.to_string()
        );
    }
}
