//! Joins of sources whose keys carry windows (declared with WINDOW_TYPE), as ksqlDB
//! allows them: both sides windowed or neither, sessions with sessions and time windows
//! with time windows, each side joined on its own key with the same key layout (a
//! windowed key cannot be re-keyed), so that rows meet only within the same window.

use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::span::Span;

use super::catalog::SourceDef;
use super::expr::{TExpr, TypedExpr};
use super::schema::PSEUDO_COLUMNS;

/// One side of the join: its source, the name the query gives it, and whether joining on
/// its ON expression would re-key it.
pub struct WindowedSide<'a> {
    pub def: &'a SourceDef,
    pub name: &'a str,
    pub rekeyed: bool,
}

impl<'a> WindowedSide<'a> {
    /// A side whose fields start at `offset` in the joined row, joined on `key`: it is
    /// re-keyed unless `key` is its one key column.
    pub fn new(def: &'a SourceDef, name: &'a str, offset: usize, key: &TypedExpr) -> Self {
        let mut keys = def
            .key_columns()
            .map(|(i, _)| offset + PSEUDO_COLUMNS.len() + i);
        let own_key = match (keys.next(), keys.next()) {
            (Some(k), None) => key.kind == TExpr::Column(k),
            _ => false,
        };
        WindowedSide {
            def,
            name,
            rekeyed: !own_key,
        }
    }

    /// The rows of an earlier join are re-keyed for the next one.
    pub fn after_join(mut self, joined: bool) -> Self {
        self.rekeyed |= joined;
        self
    }
}

/// Why two sides cannot be joined for their windows, or Ok.
pub fn check(left: WindowedSide, right: WindowedSide, join: Span) -> Result<(), Diagnostic> {
    let describe = |s: &WindowedSide| match s.def.window {
        Some(w) => format!("`{}` is {} windowed", s.name, w.name()),
        None => format!("`{}` is not windowed", s.name),
    };
    match (left.def.window, right.def.window) {
        (None, None) => Ok(()),
        (Some(_), None) | (None, Some(_)) => Err(Diagnostic::new(
            Code::InvalidJoin,
            format!(
                "Can not join windowed source to non-windowed source: {}, {}",
                describe(&left),
                describe(&right)
            ),
        )
        .label(join, "joined here")
        .help("join two windowed sources, or two sources without windows")),
        (Some(l), Some(r)) if !l.joins_with(&r) => Err(Diagnostic::new(
            Code::InvalidJoin,
            format!(
                "Incompatible windowed sources: the left is {}, the right {}",
                l.name(),
                r.name()
            ),
        )
        .label(join, "joined here")
        .help("session windowed sources join only session windowed sources; hopping and tumbling ones join only hopping and tumbling ones")),
        (Some(l), Some(r)) if left.rekeyed || right.rekeyed || !l.same_key(&r) => {
            let span = if left.rekeyed || right.rekeyed {
                "not on the windowed key of both sides"
            } else {
                "windows of different kinds or sizes"
            };
            Err(Diagnostic::new(
                Code::Unsupported,
                "Implicit repartitioning of windowed sources is not supported.",
            )
            .label(join, span)
            .label(left.def.declared_at, l.describe_key())
            .label(right.def.declared_at, r.describe_key())
            .help("join windowed sources on their key columns, with windows of the same kind and size"))
        }
        _ => Ok(()),
    }
}
