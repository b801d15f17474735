//! The abstract syntax tree: what a statement says, before any name is resolved.
//! Identifiers are already normalised (unquoted ones upper-cased, as ksqlDB shows them).

use serde::Serialize;

use super::span::Span;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ident {
    pub name: String,
    pub quoted: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    pub kind: StatementKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum StatementKind {
    CreateSource(CreateSource),
    CreateType(CreateType),
    CreateAsSelect(CreateAsSelect),
    CreateConnector(CreateConnector),
    InsertValues(InsertValues),
    InsertSelect(InsertSelect),
    Drop(Drop),
    Set(SetProperty),
    Unset(UnsetProperty),
    Show(Show),
    Describe(Describe),
    Explain(Explain),
    Print(Print),
    Terminate(Terminate),
    RunScript(RunScript),
    Broker(BrokerControl),
    Select(Box<Query>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SourceKind {
    Stream,
    Table,
    GlobalTable,
}

impl SourceKind {
    pub fn describe(self) -> &'static str {
        match self {
            SourceKind::Stream => "stream",
            SourceKind::Table => "table",
            SourceKind::GlobalTable => "global table",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateSource {
    pub kind: SourceKind,
    pub or_replace: bool,
    /// `CREATE SOURCE STREAM|TABLE`: read-only, no statement writes to it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    pub if_not_exists: bool,
    pub name: Ident,
    pub columns: Vec<ColumnDef>,
    pub properties: Vec<Property>,
}

/// `CREATE TYPE name AS type`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateType {
    pub name: Ident,
    pub ty: TypeExpr,
    pub if_not_exists: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateAsSelect {
    pub kind: SourceKind,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub name: Ident,
    pub properties: Vec<Property>,
    pub query: Box<Query>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ConnectorKind {
    Source,
    Sink,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateConnector {
    pub kind: ConnectorKind,
    pub if_not_exists: bool,
    pub name: Ident,
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KeyMarker {
    None,
    Key,
    PrimaryKey,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnDef {
    pub name: Ident,
    pub ty: TypeExpr,
    pub key: KeyMarker,
    /// `HEADERS` or `HEADER('k')`: the column is read from the record's headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderMarker>,
    pub span: Span,
}

/// Which of a record's headers a header column holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum HeaderMarker {
    /// `HEADERS`: every header, as `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`.
    All,
    /// `HEADER('k')`: the value of the last header with key `k`, as BYTES.
    Key(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TypeExpr {
    pub kind: TypeKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TypeKind {
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
    Array(Box<TypeExpr>),
    Map(Box<TypeExpr>, Box<TypeExpr>),
    Struct(Vec<(Ident, TypeExpr)>),
    /// A type declared with CREATE TYPE.
    Named(Ident),
}

/// `name = literal` inside `WITH (...)`. Names are lower-cased (`KAFKA_TOPIC` = `kafka_topic`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Property {
    pub name: String,
    pub name_span: Span,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InsertValues {
    pub target: Ident,
    pub columns: Option<Vec<Ident>>,
    pub values: Vec<Expr>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InsertSelect {
    pub target: Ident,
    pub query: Box<Query>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DropKind {
    Stream,
    Table,
    Connector,
    Type,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drop {
    pub kind: DropKind,
    pub if_exists: bool,
    pub name: Ident,
    pub delete_topic: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetProperty {
    pub name: String,
    pub value: String,
    pub name_span: Span,
    pub value_span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnsetProperty {
    pub name: String,
    pub name_span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ShowWhat {
    Streams,
    Tables,
    Topics,
    Queries,
    Connectors,
    ConsumerGroups,
    Brokers,
    Properties,
    Functions,
    Types,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Show {
    pub what: ShowWhat,
    /// `SHOW STREAMS EXTENDED`: each one described as DESCRIBE ... EXTENDED does.
    pub extended: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Describe {
    Source {
        name: Ident,
        extended: bool,
    },
    Topic {
        name: String,
        span: Span,
        /// With EXTENDED: also the storage reports (damage found and repaired).
        extended: bool,
    },
    ConsumerGroup {
        name: String,
        span: Span,
    },
    /// `DESCRIBE FUNCTION name`.
    Function {
        name: Ident,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Explain {
    Statement(Box<Statement>),
    QueryId(Ident),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Print {
    pub topic: String,
    pub topic_span: Span,
    pub from_beginning: bool,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Terminate {
    All,
    Query(Ident),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunScript {
    pub path: String,
    pub path_span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrokerControl {
    pub start: bool,
    pub broker: u32,
}

// ---------------------------------------------------------------- queries

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: FromItem,
    pub joins: Vec<Join>,
    pub window: Option<WindowSpec>,
    pub filter: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub having: Option<Expr>,
    pub partition_by: Vec<Expr>,
    pub emit: Option<Emit>,
    pub limit: Option<u64>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum SelectItem {
    Star(Span),
    QualifiedStar(Ident),
    /// `s->*`: each field of the struct `expr`; `span` covers the `->*` too.
    StructStar {
        expr: Expr,
        span: Span,
    },
    Expr {
        expr: Expr,
        alias: Option<Ident>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FromItem {
    pub name: Ident,
    pub alias: Option<Ident>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum JoinType {
    Inner,
    Left,
    Right,
    Full,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Join {
    pub join_type: JoinType,
    pub right: FromItem,
    pub within: Option<Within>,
    pub on: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Within {
    pub before: Duration,
    pub after: Duration,
    pub grace: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Duration {
    pub millis: i64,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowSpec {
    pub kind: WindowKind,
    pub retention: Option<Duration>,
    pub grace: Option<Duration>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum WindowKind {
    Tumbling { size: Duration },
    Hopping { size: Duration, advance: Duration },
    Session { gap: Duration },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EmitKind {
    Changes,
    Final,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Emit {
    pub kind: EmitKind,
    pub span: Span,
}

// ---------------------------------------------------------------- expressions

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Literal {
    Null,
    Boolean(bool),
    Integer(i64),
    /// A number with a decimal point or an exponent, kept as written.
    Decimal(String),
    String(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    /// `IS DISTINCT FROM`: `<>` where NULL equals NULL.
    Distinct,
    /// `IS NOT DISTINCT FROM`: `=` where NULL equals NULL.
    NotDistinct,
    Concat,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "OR",
            BinaryOp::And => "AND",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::Distinct => "IS DISTINCT FROM",
            BinaryOp::NotDistinct => "IS NOT DISTINCT FROM",
            BinaryOp::Concat => "||",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::NotEq
                | BinaryOp::Lt
                | BinaryOp::LtEq
                | BinaryOp::Gt
                | BinaryOp::GtEq
                | BinaryOp::Distinct
                | BinaryOp::NotDistinct
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ExprKind {
    Literal(Literal),
    Column {
        qualifier: Option<Ident>,
        name: Ident,
    },
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Function {
        name: Ident,
        args: Vec<Expr>,
        distinct: bool,
        star: bool,
    },
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    Cast {
        expr: Box<Expr>,
        ty: TypeExpr,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
        /// `ESCAPE 'c'`: the character that makes the next `%` or `_` literal.
        escape: Option<String>,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    Field {
        expr: Box<Expr>,
        field: Ident,
    },
    Subscript {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    Array(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    Struct(Vec<(Ident, Expr)>),
    /// `x => body` or `(a, b) => body`, only as a function's argument.
    Lambda {
        params: Vec<Ident>,
        body: Box<Expr>,
    },
}
