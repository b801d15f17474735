//! Pest pairs to AST statements. Every node gets the span of the text it came from.

use pest::iterators::Pair;

use super::ast::*;
use super::expr::{expr, literal_string};
use super::span::{SourceId, Span};
use super::Rule;
use crate::diagnostic::{Code, Diagnostic};

pub(crate) struct Ctx {
    pub source: SourceId,
    /// Where the statement's text starts in its source.
    pub offset: usize,
}

impl Ctx {
    pub fn span(&self, pair: &Pair<Rule>) -> Span {
        // Pest lets a rule's span run over the whitespace after it; labels should not.
        let s = pair.as_span();
        let len = pair.as_str().trim_end().len();
        Span::new(
            self.source,
            self.offset + s.start(),
            self.offset + s.start() + len,
        )
    }
}

pub(crate) type Result<T> = std::result::Result<T, Diagnostic>;

/// Is this pair a keyword (an upper-case rule)? Builders skip them unless they matter.
pub(crate) fn is_keyword(rule: Rule) -> bool {
    format!("{rule:?}")
        .chars()
        .all(|c| c.is_ascii_uppercase() || c == '_')
}

/// The meaningful children of a pair: keywords left out.
pub(crate) fn children<'a>(pair: Pair<'a, Rule>) -> impl Iterator<Item = Pair<'a, Rule>> {
    pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
}

pub(crate) fn has_keyword(pair: &Pair<Rule>, rule: Rule) -> bool {
    pair.clone().into_inner().any(|p| p.as_rule() == rule)
}

pub(crate) fn ident(ctx: &Ctx, pair: Pair<Rule>) -> Ident {
    let span = ctx.span(&pair);
    match pair.as_rule() {
        Rule::quoted_identifier => {
            let t = pair.as_str();
            Ident {
                name: t[1..t.len() - 1].to_string(),
                quoted: true,
                span,
            }
        }
        _ => Ident {
            name: pair.as_str().to_ascii_uppercase(),
            quoted: false,
            span,
        },
    }
}

pub(crate) fn statement(ctx: &Ctx, top: Pair<Rule>) -> Result<Statement> {
    let pair = top
        .into_inner()
        .find(|p| p.as_rule() != Rule::EOI)
        .ok_or_else(|| Diagnostic::internal("empty statement"))?;
    let span = ctx.span(&pair);
    let kind = match pair.as_rule() {
        Rule::create_source => StatementKind::CreateSource(create_source(ctx, pair)?),
        Rule::create_type => {
            let mut it = children(pair);
            let mut if_not_exists = false;
            let mut next = it.next().unwrap();
            if next.as_rule() == Rule::if_not_exists {
                if_not_exists = true;
                next = it.next().unwrap();
            }
            let name = ident(ctx, next);
            let ty = data_type(ctx, it.next().unwrap())?;
            StatementKind::CreateType(CreateType {
                name,
                ty,
                if_not_exists,
            })
        }
        Rule::create_as_select => StatementKind::CreateAsSelect(create_as_select(ctx, pair)?),
        Rule::create_connector => StatementKind::CreateConnector(create_connector(ctx, pair)?),
        Rule::insert_values => StatementKind::InsertValues(insert_values(ctx, pair)?),
        Rule::insert_select => {
            let mut it = children(pair);
            let target = ident(ctx, it.next().unwrap());
            let query = Box::new(query(ctx, it.next().unwrap())?);
            StatementKind::InsertSelect(InsertSelect { target, query })
        }
        Rule::drop_source => StatementKind::Drop(drop_source(ctx, pair)),
        Rule::set_property => {
            let mut it = children(pair);
            let (n, v) = (it.next().unwrap(), it.next().unwrap());
            StatementKind::Set(SetProperty {
                name: literal_string(n.as_str()),
                value: literal_string(v.as_str()),
                name_span: ctx.span(&n),
                value_span: ctx.span(&v),
            })
        }
        Rule::unset_property => {
            let n = children(pair).next().unwrap();
            StatementKind::Unset(UnsetProperty {
                name: literal_string(n.as_str()),
                name_span: ctx.span(&n),
            })
        }
        Rule::show => StatementKind::Show(show(pair)),
        Rule::describe => StatementKind::Describe(describe(ctx, pair)),
        Rule::explain => StatementKind::Explain(explain(ctx, pair)?),
        Rule::print_topic => StatementKind::Print(print(ctx, pair)?),
        Rule::terminate => {
            let target = match children(pair).next() {
                Some(id) => Terminate::Query(ident(ctx, id)),
                None => Terminate::All,
            };
            StatementKind::Terminate(target)
        }
        Rule::run_script => {
            let p = children(pair).next().unwrap();
            StatementKind::RunScript(RunScript {
                path: literal_string(p.as_str()),
                path_span: ctx.span(&p),
            })
        }
        Rule::broker_control => {
            let start = has_keyword(&pair, Rule::START);
            let n = children(pair).next().unwrap();
            StatementKind::Broker(BrokerControl {
                start,
                broker: integer_in(ctx, &n, "a broker id")?,
            })
        }
        Rule::select_query => StatementKind::Select(Box::new(query(ctx, pair)?)),
        r => {
            return Err(Diagnostic::internal(format!(
                "unexpected statement rule {r:?}"
            )))
        }
    };
    Ok(Statement { kind, span })
}

fn source_kind(pair: &Pair<Rule>) -> SourceKind {
    if has_keyword(pair, Rule::GLOBAL) {
        SourceKind::GlobalTable
    } else if has_keyword(pair, Rule::TABLE) {
        SourceKind::Table
    } else {
        SourceKind::Stream
    }
}

fn create_source(ctx: &Ctx, pair: Pair<Rule>) -> Result<CreateSource> {
    let mut out = CreateSource {
        kind: SourceKind::Stream,
        or_replace: false,
        read_only: false,
        if_not_exists: false,
        name: Ident {
            name: String::new(),
            quoted: false,
            span: ctx.span(&pair),
        },
        columns: Vec::new(),
        properties: Vec::new(),
    };
    for p in children(pair) {
        match p.as_rule() {
            Rule::or_replace => out.or_replace = true,
            Rule::read_only => out.read_only = true,
            Rule::source_kind => out.kind = source_kind(&p),
            Rule::if_not_exists => out.if_not_exists = true,
            Rule::column_def => out.columns.push(column_def(ctx, p)?),
            Rule::with_clause => out.properties = with_clause(ctx, p)?,
            _ => out.name = ident(ctx, p),
        }
    }
    Ok(out)
}

fn create_as_select(ctx: &Ctx, pair: Pair<Rule>) -> Result<CreateAsSelect> {
    let span = ctx.span(&pair);
    let mut kind = SourceKind::Stream;
    let (mut or_replace, mut if_not_exists) = (false, false);
    let mut name = None;
    let mut properties = Vec::new();
    let mut q = None;
    for p in children(pair) {
        match p.as_rule() {
            Rule::or_replace => or_replace = true,
            Rule::source_kind => kind = source_kind(&p),
            Rule::if_not_exists => if_not_exists = true,
            Rule::with_clause => properties = with_clause(ctx, p)?,
            Rule::select_query => q = Some(query(ctx, p)?),
            _ => name = Some(ident(ctx, p)),
        }
    }
    Ok(CreateAsSelect {
        kind,
        or_replace,
        if_not_exists,
        name: name.ok_or_else(|| {
            Diagnostic::internal("CREATE AS SELECT without a name").label(span, "here")
        })?,
        properties,
        query: Box::new(q.ok_or_else(|| {
            Diagnostic::internal("CREATE AS SELECT without a query").label(span, "here")
        })?),
    })
}

fn create_connector(ctx: &Ctx, pair: Pair<Rule>) -> Result<CreateConnector> {
    let mut kind = ConnectorKind::Source;
    let mut if_not_exists = false;
    let mut name = None;
    let mut properties = Vec::new();
    for p in children(pair) {
        match p.as_rule() {
            Rule::connector_kind => {
                if has_keyword(&p, Rule::SINK) {
                    kind = ConnectorKind::Sink
                }
            }
            Rule::if_not_exists => if_not_exists = true,
            Rule::with_clause => properties = with_clause(ctx, p)?,
            _ => name = Some(ident(ctx, p)),
        }
    }
    Ok(CreateConnector {
        kind,
        if_not_exists,
        name: name.ok_or_else(|| Diagnostic::internal("connector without a name"))?,
        properties,
    })
}

fn column_def(ctx: &Ctx, pair: Pair<Rule>) -> Result<ColumnDef> {
    let span = ctx.span(&pair);
    let mut it = children(pair);
    let name = ident(ctx, it.next().unwrap());
    let ty = data_type(ctx, it.next().unwrap())?;
    let (mut key, mut header) = (KeyMarker::None, None);
    match it.next() {
        Some(m) if m.as_rule() == Rule::header_marker => {
            header = Some(match m.into_inner().find(|p| p.as_rule() == Rule::string) {
                Some(k) => HeaderMarker::Key(literal_string(k.as_str())),
                None => HeaderMarker::All,
            });
        }
        Some(k) if has_keyword(&k, Rule::PRIMARY) => key = KeyMarker::PrimaryKey,
        Some(_) => key = KeyMarker::Key,
        None => {}
    }
    Ok(ColumnDef {
        name,
        ty,
        key,
        header,
        span,
    })
}

pub(crate) fn data_type(ctx: &Ctx, pair: Pair<Rule>) -> Result<TypeExpr> {
    let span = ctx.span(&pair);
    let inner = pair.into_inner().next().unwrap();
    let kind = match inner.as_rule() {
        Rule::BOOLEAN => TypeKind::Boolean,
        Rule::INT | Rule::INTEGER => TypeKind::Int,
        Rule::BIGINT => TypeKind::Bigint,
        Rule::DOUBLE => TypeKind::Double,
        Rule::VARCHAR | Rule::STRING => TypeKind::String,
        Rule::BYTES => TypeKind::Bytes,
        Rule::TIMESTAMP => TypeKind::Timestamp,
        Rule::DATE => TypeKind::Date,
        Rule::TIME => TypeKind::Time,
        Rule::array_type => {
            TypeKind::Array(Box::new(data_type(ctx, children(inner).next().unwrap())?))
        }
        Rule::map_type => {
            let mut it = children(inner);
            let k = data_type(ctx, it.next().unwrap())?;
            let v = data_type(ctx, it.next().unwrap())?;
            TypeKind::Map(Box::new(k), Box::new(v))
        }
        Rule::struct_type => {
            let mut fields = Vec::new();
            for f in children(inner) {
                let mut it = children(f);
                let n = ident(ctx, it.next().unwrap());
                fields.push((n, data_type(ctx, it.next().unwrap())?));
            }
            TypeKind::Struct(fields)
        }
        Rule::decimal_type => {
            let mut it = children(inner);
            let precision = integer_in(ctx, &it.next().unwrap(), "a precision")?;
            let scale = integer_in(ctx, &it.next().unwrap(), "a scale")?;
            TypeKind::Decimal { precision, scale }
        }
        Rule::custom_type => TypeKind::Named(ident(ctx, children(inner).next().unwrap())),
        r => return Err(Diagnostic::internal(format!("unexpected type rule {r:?}"))),
    };
    Ok(TypeExpr { kind, span })
}

fn with_clause(ctx: &Ctx, pair: Pair<Rule>) -> Result<Vec<Property>> {
    let mut props = Vec::new();
    for p in children(pair) {
        let mut it = children(p);
        let name_pair = it.next().unwrap();
        let name_span = ctx.span(&name_pair);
        let inner = name_pair.into_inner().next().unwrap();
        let name = match inner.as_rule() {
            Rule::string => literal_string(inner.as_str()),
            _ => inner.as_str().trim_matches('`').to_string(),
        }
        .to_ascii_lowercase();
        let value = super::expr::literal(ctx, it.next().unwrap())?;
        props.push(Property {
            name,
            name_span,
            value,
        });
    }
    Ok(props)
}

fn insert_values(ctx: &Ctx, pair: Pair<Rule>) -> Result<InsertValues> {
    let mut target = None;
    let mut columns = None;
    let mut values = Vec::new();
    for p in children(pair) {
        match p.as_rule() {
            Rule::column_list => columns = Some(children(p).map(|c| ident(ctx, c)).collect()),
            Rule::expr_list => values = expr_list(ctx, p)?,
            _ => target = Some(ident(ctx, p)),
        }
    }
    Ok(InsertValues {
        target: target.ok_or_else(|| Diagnostic::internal("INSERT without a target"))?,
        columns,
        values,
    })
}

fn drop_source(ctx: &Ctx, pair: Pair<Rule>) -> Drop {
    let mut out = Drop {
        kind: DropKind::Stream,
        if_exists: false,
        name: Ident {
            name: String::new(),
            quoted: false,
            span: ctx.span(&pair),
        },
        delete_topic: false,
    };
    for p in children(pair) {
        match p.as_rule() {
            Rule::drop_kind => {
                out.kind = if has_keyword(&p, Rule::TABLE) {
                    DropKind::Table
                } else if has_keyword(&p, Rule::CONNECTOR) {
                    DropKind::Connector
                } else if has_keyword(&p, Rule::TYPE) {
                    DropKind::Type
                } else {
                    DropKind::Stream
                }
            }
            Rule::if_exists => out.if_exists = true,
            Rule::delete_topic => out.delete_topic = true,
            _ => out.name = ident(ctx, p),
        }
    }
    out
}

fn show(pair: Pair<Rule>) -> Show {
    let extended = has_keyword(&pair, Rule::EXTENDED);
    let what = children(pair).next().unwrap();
    let first = what.into_inner().next().unwrap().as_rule();
    let what = match first {
        Rule::STREAMS => ShowWhat::Streams,
        Rule::TABLES => ShowWhat::Tables,
        Rule::TOPICS => ShowWhat::Topics,
        Rule::QUERIES => ShowWhat::Queries,
        Rule::CONNECTORS => ShowWhat::Connectors,
        Rule::CONSUMER => ShowWhat::ConsumerGroups,
        Rule::BROKERS => ShowWhat::Brokers,
        Rule::FUNCTIONS => ShowWhat::Functions,
        Rule::TYPES => ShowWhat::Types,
        _ => ShowWhat::Properties,
    };
    Show { what, extended }
}

fn topic_name(ctx: &Ctx, pair: Pair<Rule>) -> (String, Span) {
    let span = ctx.span(&pair);
    let inner = pair.into_inner().next().unwrap();
    let name = match inner.as_rule() {
        Rule::string => literal_string(inner.as_str()),
        // An unquoted topic name keeps its case, as ksqlDB's PRINT does.
        _ => inner.as_str().trim_matches('`').to_string(),
    };
    (name, span)
}

fn describe(ctx: &Ctx, pair: Pair<Rule>) -> Describe {
    let inner = children(pair).next().unwrap();
    match inner.as_rule() {
        Rule::describe_topic => {
            let extended = has_keyword(&inner, Rule::EXTENDED);
            let (name, span) = topic_name(ctx, children(inner).next().unwrap());
            Describe::Topic {
                name,
                span,
                extended,
            }
        }
        Rule::describe_group => {
            let (name, span) = topic_name(ctx, children(inner).next().unwrap());
            Describe::ConsumerGroup { name, span }
        }
        Rule::describe_function => Describe::Function {
            name: ident(ctx, children(inner).next().unwrap()),
        },
        _ => {
            let extended = has_keyword(&inner, Rule::EXTENDED);
            let name = ident(ctx, children(inner).next().unwrap());
            Describe::Source { name, extended }
        }
    }
}

fn explain(ctx: &Ctx, pair: Pair<Rule>) -> Result<Explain> {
    let inner = children(pair).next().unwrap();
    let span = ctx.span(&inner);
    let kind = match inner.as_rule() {
        Rule::select_query => StatementKind::Select(Box::new(query(ctx, inner)?)),
        Rule::create_as_select => StatementKind::CreateAsSelect(create_as_select(ctx, inner)?),
        Rule::insert_select => {
            let mut it = children(inner);
            let target = ident(ctx, it.next().unwrap());
            let query = Box::new(query(ctx, it.next().unwrap())?);
            StatementKind::InsertSelect(InsertSelect { target, query })
        }
        _ => return Ok(Explain::QueryId(ident(ctx, inner))),
    };
    Ok(Explain::Statement(Box::new(Statement { kind, span })))
}

fn print(ctx: &Ctx, pair: Pair<Rule>) -> Result<Print> {
    let mut out = Print {
        topic: String::new(),
        topic_span: ctx.span(&pair),
        from_beginning: false,
        limit: None,
    };
    for p in children(pair) {
        match p.as_rule() {
            Rule::topic_name => (out.topic, out.topic_span) = topic_name(ctx, p),
            Rule::from_beginning => out.from_beginning = true,
            Rule::limit => out.limit = Some(integer_u64(ctx, &children(p).next().unwrap())?),
            _ => {}
        }
    }
    Ok(out)
}

pub(crate) fn integer_u64(ctx: &Ctx, pair: &Pair<Rule>) -> Result<u64> {
    pair.as_str().parse::<u64>().map_err(|_| {
        Diagnostic::new(
            Code::InvalidLiteral,
            format!("the number {} is too large", pair.as_str()),
        )
        .label(ctx.span(pair), "does not fit in 64 bits")
    })
}

/// An integer literal that must fit in `T` (a u32 broker id, an i64 duration): a larger
/// one is an error, never wrapped around.
pub(crate) fn integer_in<T>(ctx: &Ctx, pair: &Pair<Rule>, what: &str) -> Result<T>
where
    T: TryFrom<u64> + Bounded,
{
    let n = integer_u64(ctx, pair)?;
    T::try_from(n).map_err(|_| {
        Diagnostic::new(
            Code::InvalidLiteral,
            format!("the number {} is too large for {what}", pair.as_str()),
        )
        .label(ctx.span(pair), format!("at most {}", T::MAX_TEXT))
    })
}

/// The largest value of an integer type, as text for messages.
pub(crate) trait Bounded {
    const MAX_TEXT: &'static str;
}

impl Bounded for u32 {
    const MAX_TEXT: &'static str = "4294967295";
}

impl Bounded for i64 {
    const MAX_TEXT: &'static str = "9223372036854775807";
}

pub(crate) fn expr_list(ctx: &Ctx, pair: Pair<Rule>) -> Result<Vec<Expr>> {
    children(pair).map(|p| expr(ctx, p)).collect()
}

// ---------------------------------------------------------------- queries

pub(crate) fn query(ctx: &Ctx, pair: Pair<Rule>) -> Result<Query> {
    let span = ctx.span(&pair);
    let mut select = Vec::new();
    let mut from = None;
    let mut q_joins = Vec::new();
    let mut window = None;
    let mut filter = None;
    let mut group_by = Vec::new();
    let mut having = None;
    let mut partition_by = Vec::new();
    let mut emit = None;
    let mut limit = None;
    for p in children(pair) {
        match p.as_rule() {
            Rule::select_items => {
                for item in children(p) {
                    select.push(select_item(ctx, item)?);
                }
            }
            Rule::from_item => from = Some(from_item(ctx, p)),
            Rule::join_clause => q_joins.push(join(ctx, p)?),
            Rule::window_clause => window = Some(window_spec(ctx, p)?),
            Rule::where_clause => filter = Some(expr(ctx, children(p).next().unwrap())?),
            Rule::group_by => {
                for item in children(p) {
                    match item.as_rule() {
                        Rule::grouping_set => group_by.extend(expr_list(ctx, item)?),
                        _ => group_by.push(expr(ctx, item)?),
                    }
                }
            }
            Rule::having => having = Some(expr(ctx, children(p).next().unwrap())?),
            Rule::partition_by => partition_by = expr_list(ctx, children(p).next().unwrap())?,
            Rule::emit => {
                let span = ctx.span(&p);
                let kind = if has_keyword(&children(p).next().unwrap(), Rule::FINAL) {
                    EmitKind::Final
                } else {
                    EmitKind::Changes
                };
                emit = Some(Emit { kind, span });
            }
            Rule::limit => limit = Some(integer_u64(ctx, &children(p).next().unwrap())?),
            r => return Err(Diagnostic::internal(format!("unexpected query rule {r:?}"))),
        }
    }
    Ok(Query {
        select,
        from: from.ok_or_else(|| Diagnostic::internal("query without FROM"))?,
        joins: q_joins,
        window,
        filter,
        group_by,
        having,
        partition_by,
        emit,
        limit,
        span,
    })
}

fn select_item(ctx: &Ctx, pair: Pair<Rule>) -> Result<SelectItem> {
    let mut it = children(pair);
    let first = it.next().unwrap();
    Ok(match first.as_rule() {
        Rule::star => SelectItem::Star(ctx.span(&first)),
        Rule::qualified_star => {
            SelectItem::QualifiedStar(ident(ctx, children(first).next().unwrap()))
        }
        Rule::struct_star => {
            let span = ctx.span(&first);
            let base = children(first).next().unwrap();
            SelectItem::StructStar {
                expr: expr(ctx, base)?,
                span,
            }
        }
        _ => {
            let e = expr(ctx, first)?;
            let alias = it.next().map(|a| ident(ctx, a));
            SelectItem::Expr { expr: e, alias }
        }
    })
}

fn from_item(ctx: &Ctx, pair: Pair<Rule>) -> FromItem {
    let mut it = children(pair);
    let name = ident(ctx, it.next().unwrap());
    let alias = it
        .next()
        .and_then(|a| children(a).next())
        .map(|a| ident(ctx, a));
    FromItem { name, alias }
}

fn join(ctx: &Ctx, pair: Pair<Rule>) -> Result<Join> {
    let span = ctx.span(&pair);
    let mut join_type = JoinType::Inner;
    let mut right = None;
    let mut within = None;
    let mut on = None;
    for p in children(pair) {
        match p.as_rule() {
            Rule::join_type => {
                join_type = if has_keyword(&p, Rule::LEFT) {
                    JoinType::Left
                } else if has_keyword(&p, Rule::RIGHT) {
                    JoinType::Right
                } else if has_keyword(&p, Rule::FULL) {
                    JoinType::Full
                } else {
                    JoinType::Inner
                }
            }
            Rule::from_item => right = Some(from_item(ctx, p)),
            Rule::within => {
                let mut durations = Vec::new();
                let mut grace = None;
                for w in children(p) {
                    match w.as_rule() {
                        Rule::duration => durations.push(duration(ctx, w)?),
                        Rule::grace => grace = Some(duration(ctx, children(w).next().unwrap())?),
                        _ => {}
                    }
                }
                let before = durations[0];
                let after = *durations.get(1).unwrap_or(&before);
                within = Some(Within {
                    before,
                    after,
                    grace,
                });
            }
            _ => on = Some(expr(ctx, p)?),
        }
    }
    Ok(Join {
        join_type,
        right: right.ok_or_else(|| Diagnostic::internal("join without a source"))?,
        within,
        on: on.ok_or_else(|| Diagnostic::internal("join without ON"))?,
        span,
    })
}

fn window_spec(ctx: &Ctx, pair: Pair<Rule>) -> Result<WindowSpec> {
    let span = ctx.span(&pair);
    let kind = children(pair)
        .find(|p| p.as_rule() == Rule::window_kind)
        .expect("the grammar's window clause has a kind");
    let kind_pair = children(kind).next().unwrap();
    let rule = kind_pair.as_rule();
    let mut durations = Vec::new();
    let mut retention = None;
    let mut grace = None;
    for p in children(kind_pair) {
        match p.as_rule() {
            Rule::duration => durations.push(duration(ctx, p)?),
            Rule::window_option => {
                let opt = children(p).next().unwrap();
                let d = duration(ctx, children(opt.clone()).next().unwrap())?;
                if opt.as_rule() == Rule::retention {
                    retention = Some(d)
                } else {
                    grace = Some(d)
                }
            }
            _ => {}
        }
    }
    let kind = match rule {
        Rule::tumbling => WindowKind::Tumbling { size: durations[0] },
        Rule::hopping => WindowKind::Hopping {
            size: durations[0],
            advance: durations[1],
        },
        _ => WindowKind::Session { gap: durations[0] },
    };
    Ok(WindowSpec {
        kind,
        retention,
        grace,
        span,
    })
}

pub(crate) fn duration(ctx: &Ctx, pair: Pair<Rule>) -> Result<Duration> {
    let span = ctx.span(&pair);
    let mut it = children(pair);
    let n_pair = it.next().unwrap();
    let n: i64 = integer_in(ctx, &n_pair, "a duration")?;
    let unit = it.next().unwrap().as_str().to_ascii_uppercase();
    let factor: i64 = match unit.trim_end_matches('S') {
        "MILLISECOND" => 1,
        "SECOND" => 1_000,
        "MINUTE" => 60_000,
        "HOUR" => 3_600_000,
        _ => 86_400_000,
    };
    let millis = n.checked_mul(factor).ok_or_else(|| {
        Diagnostic::new(Code::InvalidLiteral, "this duration is too long")
            .label(span, "does not fit in 64-bit milliseconds")
    })?;
    Ok(Duration { millis, span })
}
