//! The key of a join's rows, and the column of the projection that holds it, with
//! ksqlDB's naming rules:
//!
//! - A join's rows are keyed by its join expression. Every column that is a join
//!   expression of this join, or of an inner join whose key it carries on (the join
//!   equivalence set), equals the key in every row: selecting one of them makes it the
//!   key column (the first of them, in join order, that the projection selects).
//! - A FULL join (either side may be missing) and a join on expressions that are not
//!   columns have no such column: the key is a synthetic column, ROWKEY (ROWKEY_n when a
//!   source already has a column of that name), holding the join expression (for a FULL
//!   join, the first side's that is not NULL).
//! - A persistent query must select the key: it names the sink's key column.

use crate::data::SqlType;
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::JoinType;
use crate::syntax::span::Span;

use super::expr::{TExpr, TypedExpr};
use super::schema::Schema;

/// The key of the rows of a FROM clause with joins.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinKey {
    /// Row positions of the columns equal to the key in every row, in join order.
    pub viable: Vec<usize>,
    /// The key's value in a joined row.
    pub value: TypedExpr,
    /// The name of the synthetic key column, when no column equals the key.
    pub synthetic: Option<String>,
    /// Expressions (span-free) equal to the key: what a further join may carry on.
    equivalent: Vec<TypedExpr>,
    /// The join expressions as written, for the message when none is selected.
    pub texts: Vec<String>,
    /// A foreign-key join's rows are keyed by all the left table's key columns, which the
    /// projection must all select (row positions).
    pub all_of: Vec<usize>,
}

/// The key of a query's output: the projection's key column, or what it must select.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyColumn {
    /// The output columns that hold the key (empty: the projection does not select it).
    pub columns: Vec<usize>,
    /// What a projection must select, as written (the synthetic column's name, or the
    /// viable join expressions).
    pub required: Vec<String>,
    pub synthetic: bool,
    /// A foreign-key join: every column in `required` must be selected.
    pub foreign: bool,
    /// Other output columns that select the key again (names): ksqlDB refuses them in a
    /// persistent query, as the key column can be only one.
    pub repeated: Vec<(String, Span)>,
    pub span: Span,
}

impl JoinKey {
    /// The key after one more join `left_key = right_key` of the given type; `previous`
    /// is the key of the left side when it is itself a join.
    pub fn after_join(
        previous: Option<&JoinKey>,
        join_type: JoinType,
        left_key: &TypedExpr,
        right_key: &TypedExpr,
        texts: (String, String),
        schema: &Schema,
    ) -> JoinKey {
        let (l, r) = (left_key.without_spans(), right_key.without_spans());
        let equivalent = if join_type == JoinType::Full {
            Vec::new()
        } else {
            let mut keys = vec![l.clone(), r.clone()];
            if let Some(p) = previous.filter(|p| p.equivalent.contains(&l)) {
                keys.extend(p.equivalent.iter().cloned());
            }
            keys
        };
        let mut viable: Vec<usize> = Vec::new();
        let candidates = previous
            .map(|p| p.viable.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|c| TypedExpr {
                kind: TExpr::Column(c),
                ty: schema.fields[c].ty.clone(),
                span: Span::default(),
            })
            .chain([l.clone(), r.clone()]);
        for c in candidates {
            if let TExpr::Column(i) = c.kind {
                if equivalent.contains(&c) && !viable.contains(&i) {
                    viable.push(i);
                }
            }
        }
        let value = match join_type {
            JoinType::Right => right_key.clone(),
            JoinType::Full => coalesce(left_key, right_key),
            JoinType::Inner | JoinType::Left => left_key.clone(),
        };
        let synthetic = viable.is_empty().then(|| synthetic_name(schema));
        JoinKey {
            viable,
            value,
            synthetic,
            equivalent,
            texts: vec![texts.0, texts.1],
            all_of: Vec::new(),
        }
    }

    /// The key of a foreign-key join: the left table's key columns (row positions and
    /// names), unchanged.
    pub fn foreign_key(left_key: &[(usize, String)], schema: &Schema) -> JoinKey {
        let column = |&(c, _): &(usize, String)| TypedExpr {
            kind: TExpr::Column(c),
            ty: schema.fields[c].ty.clone(),
            span: Span::default(),
        };
        let value = left_key.first().map(column).unwrap_or(TypedExpr {
            kind: TExpr::Literal(crate::data::Value::Null),
            ty: SqlType::Null,
            span: Span::default(),
        });
        JoinKey {
            viable: left_key.iter().map(|(c, _)| *c).collect(),
            equivalent: left_key.iter().map(column).collect(),
            value,
            synthetic: None,
            texts: left_key.iter().map(|(_, n)| n.clone()).collect(),
            all_of: left_key.iter().map(|(c, _)| *c).collect(),
        }
    }

    /// Chooses the key column among the projection's items (their expressions): the first
    /// viable column, in join order, that is selected, or the synthetic column. The chosen
    /// item's value becomes the key's own (a LEFT join's right column is NULL where the key
    /// is not).
    pub fn choose(&self, items: &mut [(String, TypedExpr)], span: Span) -> KeyColumn {
        if !self.all_of.is_empty() {
            return self.choose_all(items, span);
        }
        let value = self.value.without_spans();
        let column = match &self.synthetic {
            Some(_) => items.iter().position(|(_, e)| e.without_spans() == value),
            None => self
                .viable
                .iter()
                .find_map(|&v| items.iter().position(|(_, e)| e.kind == TExpr::Column(v))),
        };
        let mut repeated = Vec::new();
        let mut key_span = span;
        if let Some(i) = column {
            key_span = items[i].1.span;
            let chosen = items[i].1.without_spans();
            repeated = items
                .iter()
                .enumerate()
                .filter(|&(j, (_, e))| j != i && e.without_spans() == chosen)
                .map(|(_, (name, e))| (name.clone(), e.span))
                .collect();
            let span = items[i].1.span;
            items[i].1 = TypedExpr {
                span,
                ..self.value.clone()
            };
        }
        KeyColumn {
            columns: column.into_iter().collect(),
            required: match &self.synthetic {
                Some(name) => vec![name.clone()],
                None => self.texts.clone(),
            },
            synthetic: self.synthetic.is_some(),
            foreign: false,
            repeated,
            span: key_span,
        }
    }
}

impl JoinKey {
    /// A foreign-key join's key columns: each of the left table's, selected once.
    fn choose_all(&self, items: &[(String, TypedExpr)], span: Span) -> KeyColumn {
        let found: Vec<Option<usize>> = self
            .all_of
            .iter()
            .map(|&c| items.iter().position(|(_, e)| e.kind == TExpr::Column(c)))
            .collect();
        let missing: Vec<String> = found
            .iter()
            .zip(&self.texts)
            .filter(|(f, _)| f.is_none())
            .map(|(_, t)| t.clone())
            .collect();
        let columns: Vec<usize> = found.iter().flatten().copied().collect();
        let mut repeated = Vec::new();
        for &i in &columns {
            let chosen = &items[i].1.kind;
            repeated.extend(
                items
                    .iter()
                    .enumerate()
                    .filter(|&(j, (_, e))| j != i && &e.kind == chosen)
                    .map(|(_, (name, e))| (name.clone(), e.span)),
            );
        }
        KeyColumn {
            columns: if missing.is_empty() {
                columns
            } else {
                Vec::new()
            },
            required: if missing.is_empty() {
                self.texts.clone()
            } else {
                missing
            },
            synthetic: false,
            foreign: true,
            repeated,
            span,
        }
    }
}

impl KeyColumn {
    /// The error of a persistent query that does not select its join's key.
    pub fn missing(&self, sink: &str) -> Diagnostic {
        let what = if self.foreign {
            format!(
                "the key column{} {} of the left table of its foreign-key join",
                if self.required.len() == 1 { "" } else { "s" },
                self.required.join(", ")
            )
        } else if self.required.len() == 1 {
            format!("the join expression {}", self.required[0])
        } else {
            format!("one of the join expressions {}", self.required.join(", "))
        };
        let mut d = Diagnostic::new(
            Code::JoinKeyNotSelected,
            format!("the query used to build {sink} must include {what} in its projection"),
        )
        .label(self.span, "the join's key is not selected")
        .help(format!(
            "select it (it becomes {sink}'s key column): SELECT {}, ...",
            self.required[0]
        ));
        if self.synthetic {
            d = d.note(format!(
                "{} is the key of a FULL join or of a join on expressions: no source column equals it in every row; it may be aliased",
                self.required[0]
            ));
        }
        d
    }
}

impl KeyColumn {
    /// The error of a persistent query that selects its join's key more than once.
    pub fn repeated_error(&self, sink: &str, names: &[String]) -> Option<Diagnostic> {
        let column = *self.columns.first()?;
        let (first, _) = self.repeated.first()?;
        let key = &names[column];
        let again: Vec<&str> = self.repeated.iter().map(|(n, _)| n.as_str()).collect();
        let mut d = Diagnostic::new(
            Code::DuplicateColumn,
            format!(
                "the projection of {sink} contains its key column {key} more than once (also as {})",
                again.join(", ")
            ),
        )
        .label(self.span, format!("the join's key, {sink}'s key column {key}"));
        for (name, span) in &self.repeated {
            d = d.label(*span, format!("the key again, as {name}"));
        }
        Some(d.help(format!(
            "select the key once; to copy it into the value as well, use AS_VALUE: AS_VALUE(...) AS {first}"
        )))
    }
}

/// COALESCE(left, right): a FULL join's key, from whichever side the row has.
fn coalesce(left: &TypedExpr, right: &TypedExpr) -> TypedExpr {
    let func = crate::functions::lookup("COALESCE").expect("COALESCE is a built-in function");
    let ty = if left.ty == SqlType::Null {
        right.ty.clone()
    } else {
        left.ty.clone()
    };
    TypedExpr {
        kind: TExpr::Call {
            func,
            args: vec![left.clone(), right.clone()],
            types: vec![left.ty.clone(), right.ty.clone()],
        },
        ty,
        span: left.span.to(right.span),
    }
}

/// ROWKEY, or ROWKEY_n past every ROWKEY-named column of the sources (ksqlDB's rule).
fn synthetic_name(schema: &Schema) -> String {
    let taken = schema.fields.iter().filter_map(|f| match f.name.as_str() {
        "ROWKEY" => Some(0),
        n => n
            .strip_prefix("ROWKEY_")
            .and_then(|d| d.parse::<u64>().ok()),
    });
    match taken.max() {
        None => "ROWKEY".to_string(),
        Some(n) => format!("ROWKEY_{}", n + 1),
    }
}
