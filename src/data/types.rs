//! SQL types, as ksqlDB names them.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum SqlType {
    Boolean,
    Int,
    Bigint,
    Double,
    Decimal {
        precision: u32,
        scale: u32,
    },
    String,
    Bytes,
    Timestamp,
    Date,
    Time,
    Array(Box<SqlType>),
    Map(Box<SqlType>, Box<SqlType>),
    Struct(Vec<(String, SqlType)>),
    /// The type of a bare NULL literal: fits anywhere.
    Null,
}

impl SqlType {
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            SqlType::Int | SqlType::Bigint | SqlType::Double | SqlType::Decimal { .. }
        )
    }

    /// Rank in the numeric widening order INT < BIGINT < DECIMAL < DOUBLE.
    fn numeric_rank(&self) -> Option<u8> {
        match self {
            SqlType::Int => Some(0),
            SqlType::Bigint => Some(1),
            SqlType::Decimal { .. } => Some(2),
            SqlType::Double => Some(3),
            _ => None,
        }
    }

    /// The type two numeric operands are widened to, as ksqlDB does.
    pub fn common_numeric(a: &SqlType, b: &SqlType) -> Option<SqlType> {
        let (ra, rb) = (a.numeric_rank()?, b.numeric_rank()?);
        if let (
            SqlType::Decimal {
                precision: p1,
                scale: s1,
            },
            SqlType::Decimal {
                precision: p2,
                scale: s2,
            },
        ) = (a, b)
        {
            let scale = (*s1).max(*s2);
            let int_digits = (p1 - s1).max(p2 - s2);
            return Some(SqlType::Decimal {
                precision: (int_digits + scale).min(38),
                scale,
            });
        }
        Some(if ra >= rb { a.clone() } else { b.clone() })
    }

    /// The precision and scale of a DECIMAL type.
    fn decimal_digits(&self) -> Option<(u32, u32)> {
        match self {
            SqlType::Decimal { precision, scale } => Some((*precision, *scale)),
            _ => None,
        }
    }

    /// The type of a decimal times a decimal, as ksqlDB types it: the scales add up, and
    /// so do the precisions, plus one (at most 38 digits in all).
    pub fn decimal_product(a: &SqlType, b: &SqlType) -> SqlType {
        let (Some((p1, s1)), Some((p2, s2))) = (a.decimal_digits(), b.decimal_digits()) else {
            return a.clone();
        };
        let scale = (s1 + s2).min(38);
        SqlType::Decimal {
            precision: (p1 + p2 + 1).clamp(scale.max(1), 38),
            scale,
        }
    }

    /// The type of a decimal divided by a decimal, as ksqlDB types it: at least 6 digits
    /// after the point, more when the operands have more (the dividend's scale plus the
    /// divisor's precision plus one); at most 38 digits in all.
    pub fn decimal_quotient(a: &SqlType, b: &SqlType) -> SqlType {
        let (Some((p1, s1)), Some((p2, s2))) = (a.decimal_digits(), b.decimal_digits()) else {
            return a.clone();
        };
        let whole = (p1 - s1 + s2).min(38);
        let scale = (s1 + p2 + 1).max(6).min(38 - whole);
        SqlType::Decimal {
            precision: (whole + scale).max(1),
            scale,
        }
    }

    /// Can a value of `self` be stored where `target` is expected without a CAST?
    pub fn assignable_to(&self, target: &SqlType) -> bool {
        if self == target || *self == SqlType::Null {
            return true;
        }
        match (self, target) {
            (a, b) if a.is_numeric() && b.is_numeric() => a.numeric_rank() <= b.numeric_rank(),
            (SqlType::Array(a), SqlType::Array(b)) => a.assignable_to(b),
            (SqlType::Struct(a), SqlType::Struct(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((na, ta), (nb, tb))| na == nb && ta.assignable_to(tb))
            }
            (SqlType::Map(ka, va), SqlType::Map(kb, vb)) => {
                ka.assignable_to(kb) && va.assignable_to(vb)
            }
            // ksqlDB accepts a string where a timestamp is expected in INSERT VALUES
            (SqlType::String, SqlType::Timestamp | SqlType::Date | SqlType::Time) => true,
            _ => false,
        }
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Boolean => write!(f, "BOOLEAN"),
            SqlType::Int => write!(f, "INTEGER"),
            SqlType::Bigint => write!(f, "BIGINT"),
            SqlType::Double => write!(f, "DOUBLE"),
            SqlType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            SqlType::String => write!(f, "STRING"),
            SqlType::Bytes => write!(f, "BYTES"),
            SqlType::Timestamp => write!(f, "TIMESTAMP"),
            SqlType::Date => write!(f, "DATE"),
            SqlType::Time => write!(f, "TIME"),
            SqlType::Array(t) => write!(f, "ARRAY<{t}>"),
            SqlType::Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            SqlType::Struct(fields) => {
                write!(f, "STRUCT<")?;
                for (i, (n, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{n} {t}")?;
                }
                write!(f, ">")
            }
            SqlType::Null => write!(f, "NULL"),
        }
    }
}
