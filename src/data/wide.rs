//! Unsigned 256-bit integers, for the decimal products and quotients whose intermediate
//! does not fit in 128 bits (two 38-digit mantissas multiply to 76 digits). Only the slow
//! path of `decimal.rs` uses them.

use std::cmp::Ordering;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct U256 {
    hi: u128,
    lo: u128,
}

impl From<u128> for U256 {
    fn from(lo: u128) -> U256 {
        U256 { hi: 0, lo }
    }
}

impl Ord for U256 {
    fn cmp(&self, other: &U256) -> Ordering {
        (self.hi, self.lo).cmp(&(other.hi, other.lo))
    }
}

impl PartialOrd for U256 {
    fn partial_cmp(&self, other: &U256) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl U256 {
    /// The full product of two 128-bit numbers.
    pub fn mul(a: u128, b: u128) -> U256 {
        let mask = u64::MAX as u128;
        let (a1, a0) = (a >> 64, a & mask);
        let (b1, b0) = (b >> 64, b & mask);
        let p00 = a0 * b0;
        let p01 = a0 * b1;
        let p10 = a1 * b0;
        let p11 = a1 * b1;
        let mid = (p00 >> 64) + (p01 & mask) + (p10 & mask);
        let lo = (p00 & mask) | (mid << 64);
        let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
        U256 { hi, lo }
    }

    /// Below 10^38: the mantissa of a decimal.
    pub fn fits_digits(&self) -> bool {
        self.hi == 0 && self.lo < super::decimal::pow10(38) as u128
    }

    pub fn low(&self) -> u128 {
        self.lo
    }

    pub fn to_u128(self) -> Option<u128> {
        (self.hi == 0).then_some(self.lo)
    }

    /// Quotient and remainder by a small divisor.
    pub fn div_small(self, d: u64) -> (U256, u64) {
        let d = d as u128;
        let (qh, rh) = (self.hi / d, self.hi % d);
        // (rh * 2^128 + lo) / d, in two 64-bit steps: rh < d < 2^64 keeps each step in range
        let mask = u64::MAX as u128;
        let n1 = (rh << 64) | (self.lo >> 64);
        let (q1, r1) = (n1 / d, n1 % d);
        let n0 = (r1 << 64) | (self.lo & mask);
        let (q0, r0) = (n0 / d, n0 % d);
        (
            U256 {
                hi: qh,
                lo: (q1 << 64) | q0,
            },
            r0 as u64,
        )
    }

    /// self * 10^n, None past 256 bits.
    pub fn mul_pow10(self, n: u32) -> Option<U256> {
        let mut v = self;
        for _ in 0..n {
            v = v.mul_small(10)?;
        }
        Some(v)
    }

    fn mul_small(self, k: u128) -> Option<U256> {
        let low = U256::mul(self.lo, k);
        let hi = self.hi.checked_mul(k)?.checked_add(low.hi)?;
        Some(U256 { hi, lo: low.lo })
    }

    /// Twice self (self is below 2^255 wherever it is used: a remainder below a divisor).
    pub fn double(self) -> U256 {
        U256 {
            hi: (self.hi << 1) | (self.lo >> 127),
            lo: self.lo << 1,
        }
    }

    fn sub(self, other: U256) -> U256 {
        let (lo, borrow) = self.lo.overflowing_sub(other.lo);
        U256 {
            hi: self.hi - other.hi - borrow as u128,
            lo,
        }
    }

    fn bit(&self, i: u32) -> bool {
        if i >= 128 {
            self.hi >> (i - 128) & 1 == 1
        } else {
            self.lo >> i & 1 == 1
        }
    }

    fn set_bit(&mut self, i: u32) {
        if i >= 128 {
            self.hi |= 1 << (i - 128);
        } else {
            self.lo |= 1 << i;
        }
    }

    /// Quotient and remainder, by binary long division (den > 0).
    pub fn div_rem(self, den: U256) -> (U256, U256) {
        let zero = U256 { hi: 0, lo: 0 };
        let (mut q, mut r) = (zero, zero);
        let top = 256
            - if self.hi != 0 {
                self.hi.leading_zeros()
            } else {
                128 + self.lo.leading_zeros()
            };
        for i in (0..top).rev() {
            r = r.double();
            if self.bit(i) {
                r.lo |= 1;
            }
            if r >= den {
                r = r.sub(den);
                q.set_bit(i);
            }
        }
        (q, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_and_quotients_past_128_bits() {
        let big = 99_999_999_999_999_999_999_999_999_999_999_999_999u128;
        let p = U256::mul(big, big);
        assert!(p > U256::from(u128::MAX));
        let (q, r) = p.div_rem(U256::from(big));
        assert_eq!((q.to_u128(), r.to_u128()), (Some(big), Some(0)));
        let (q, rem) = U256::from(1234).div_small(10);
        assert_eq!((q.to_u128(), rem), (Some(123), 4));
        let (q, rem) = p.div_small(7);
        let (q2, r2) = p.div_rem(U256::from(7));
        assert_eq!((q, rem as u128), (q2, r2.low()));
        assert_eq!(U256::from(5).mul_pow10(3).unwrap().to_u128(), Some(5000));
        assert_eq!(p.mul_pow10(10), None);
    }
}
