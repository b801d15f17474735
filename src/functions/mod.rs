//! The function registry: every function kql knows, in one table. Each entry has its name,
//! its signature as users write it, the rule that types a call (and checks its
//! arguments), its implementation, and a one-line description with an example. The
//! planner binds calls with it, the evaluator runs them through it, and the shell's
//! completion, `docs/language.md` and the inspection statements list it.

mod aggregate;
mod collections;
mod json;
mod json_path;
mod lambda;
mod math;
mod nulls;
mod pattern;
pub mod rules;
mod string;
mod table;
#[cfg(test)]
mod testing;
mod text;
pub mod time;
mod url;

/// Base64 text (standard or URL-safe alphabet, padding optional) as bytes.
pub use text::base64_decode;

use crate::data::{SqlType, Value};

/// What kind of function an entry is; aggregates are bound and run by the aggregation
/// (`plan/aggregate.rs`, `exec/operators/aggregate.rs`), which reads their names here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Scalar,
    Aggregate,
    /// A table function: one input row gives a row per element of its result
    /// (`functions/table.rs`); only a SELECT list over a stream may call one.
    Table,
}

/// The groups the documentation lists functions under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    String,
    Math,
    Nulls,
    DateTime,
    Collections,
    Json,
    Url,
    Lambda,
    Aggregate,
    Table,
}

impl Category {
    pub fn title(self) -> &'static str {
        match self {
            Category::String => "Strings",
            Category::Math => "Numbers",
            Category::Nulls => "NULL handling and conditions",
            Category::DateTime => "Dates and times",
            Category::Collections => "Arrays and maps",
            Category::Json => "JSON",
            Category::Url => "URLs",
            Category::Lambda => "Lambdas",
            Category::Aggregate => "Aggregates",
            Category::Table => "Table functions (one row in, several rows out)",
        }
    }
}

/// How a function treats NULL arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nulls {
    /// Any NULL argument makes the result NULL; the implementation never sees one.
    Propagate,
    /// The implementation decides (COALESCE, CONCAT, ...).
    Handled,
}

/// An argument error found while typing a call: which argument, and what it should be.
pub type ArgError = (usize, String);

/// The return-type rule: the argument types in, the result type out (or which argument
/// is wrong).
pub type TypeRule = fn(&[SqlType]) -> Result<SqlType, ArgError>;

/// A call being evaluated: the argument values, their types, and the result type.
pub struct Args<'a> {
    pub values: &'a [Value],
    pub types: &'a [SqlType],
    pub ty: &'a SqlType,
}

impl<'a> Args<'a> {
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn get(&self, i: usize) -> &'a Value {
        &self.values[i]
    }

    /// Argument `i` as text (empty when it is not a string).
    pub fn str(&self, i: usize) -> &'a str {
        match &self.values[i] {
            Value::String(s) => s,
            _ => "",
        }
    }

    pub fn int(&self, i: usize) -> i64 {
        self.values[i].as_i64().unwrap_or(0)
    }

    pub fn f64(&self, i: usize) -> f64 {
        self.values[i].as_f64().unwrap_or(f64::NAN)
    }

    pub fn type_of(&self, i: usize) -> &'a SqlType {
        &self.types[i]
    }
}

pub type Implementation = fn(&Args) -> Value;

/// The code of a function that takes lambdas: the arguments (a lambda's slot holds NULL)
/// and `apply(i, params)`, the value of the lambda at argument `i` for those parameters.
pub type LambdaImplementation = fn(&Args, &dyn Fn(usize, &[Value]) -> Value) -> Value;

/// What makes a function take lambdas.
pub struct LambdaDef {
    /// The types of every lambda's parameters, from the other arguments' types (a
    /// lambda's own slot reads NULL).
    pub params: fn(&[SqlType]) -> Result<Vec<SqlType>, ArgError>,
    pub eval: LambdaImplementation,
}

/// One function of the registry.
pub struct FunctionDef {
    pub name: &'static str,
    pub kind: Kind,
    pub category: Category,
    /// The arguments as a user writes them, e.g. `LPAD(input, length, padding)`.
    pub signature: &'static str,
    pub min_args: usize,
    /// `usize::MAX` for variadic functions.
    pub max_args: usize,
    pub returns: TypeRule,
    pub nulls: Nulls,
    pub eval: Implementation,
    /// Arguments are widened to the result type before the call (COALESCE's arguments).
    pub widen_args: bool,
    /// The first argument is a time unit written as a bare word (`DATEADD(DAYS, 1, d)`).
    pub time_unit_first: bool,
    /// Set for the functions that take lambdas (their type rule sees each lambda as the
    /// type of its body).
    pub lambda: Option<LambdaDef>,
    pub doc: &'static str,
    pub example: &'static str,
}

impl std::fmt::Debug for FunctionDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Entries compare by name: a name is registered once.
impl PartialEq for FunctionDef {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// A scalar function with the common defaults (NULL in gives NULL out).
#[allow(clippy::too_many_arguments)]
pub(crate) const fn scalar(
    name: &'static str,
    category: Category,
    signature: &'static str,
    args: (usize, usize),
    returns: TypeRule,
    eval: Implementation,
    doc: &'static str,
    example: &'static str,
) -> FunctionDef {
    FunctionDef {
        name,
        kind: Kind::Scalar,
        category,
        signature,
        min_args: args.0,
        max_args: args.1,
        returns,
        nulls: Nulls::Propagate,
        eval,
        widen_args: false,
        time_unit_first: false,
        lambda: None,
        doc,
        example,
    }
}

impl FunctionDef {
    /// The same function, taking lambdas.
    pub(crate) const fn with_lambdas(mut self, lambda: LambdaDef) -> FunctionDef {
        self.lambda = Some(lambda);
        self.nulls = Nulls::Handled;
        self
    }

    /// The same function, its first argument a time unit word.
    pub(crate) const fn time_unit_first(mut self) -> FunctionDef {
        self.time_unit_first = true;
        self
    }

    /// The same function, seeing NULL arguments itself.
    pub(crate) const fn handles_nulls(mut self) -> FunctionDef {
        self.nulls = Nulls::Handled;
        self
    }

    /// The same function, with its arguments widened to its result type.
    pub(crate) const fn widening(mut self) -> FunctionDef {
        self.widen_args = true;
        self
    }

    /// Runs the function on evaluated arguments.
    pub fn call(&self, args: &Args) -> Value {
        if self.nulls == Nulls::Propagate && args.values.iter().any(Value::is_null) {
            return Value::Null;
        }
        (self.eval)(args)
    }

    /// How to call it, for a diagnostic's help.
    pub fn usage(&self) -> String {
        format!(
            "call it as {}, for example {}",
            self.signature, self.example
        )
    }

    /// How many arguments it takes, as a message says it.
    pub fn arity_text(&self) -> String {
        match (self.min_args, self.max_args) {
            (a, b) if a == b => format!("{a}"),
            (a, usize::MAX) => format!("at least {a}"),
            (a, b) => format!("{a} to {b}"),
        }
    }
}

const TABLES: &[&[FunctionDef]] = &[
    string::FUNCTIONS,
    text::FUNCTIONS,
    math::FUNCTIONS,
    math::TRIGONOMETRY,
    nulls::FUNCTIONS,
    time::FUNCTIONS,
    collections::FUNCTIONS,
    json::FUNCTIONS,
    url::FUNCTIONS,
    lambda::FUNCTIONS,
    aggregate::FUNCTIONS,
    table::FUNCTIONS,
];

/// Every registered function, grouped by category.
pub fn all() -> impl Iterator<Item = &'static FunctionDef> {
    TABLES.iter().flat_map(|t| t.iter())
}

/// The function of this (upper-case) name.
pub fn lookup(name: &str) -> Option<&'static FunctionDef> {
    all().find(|f| f.name == name)
}

/// Is this (upper-case) name an aggregate function?
pub fn is_aggregate(name: &str) -> bool {
    lookup(name).is_some_and(|f| f.kind == Kind::Aggregate)
}

/// Is this (upper-case) name a table function?
pub fn is_table_function(name: &str) -> bool {
    lookup(name).is_some_and(|f| f.kind == Kind::Table)
}

/// Names other SQL dialects use for kql's functions, for a "did you mean".
pub const ALIASES: &[(&str, &str)] = &[
    ("UPPER", "UCASE"),
    ("LOWER", "LCASE"),
    ("CHAR_LENGTH", "LEN"),
    ("SUBSTR", "SUBSTRING"),
    ("NVL", "IFNULL"),
    ("NOW", "UNIX_TIMESTAMP"),
    ("POW", "POWER"),
    ("CEILING", "CEIL"),
];

/// The function reference of `docs/language.md`, generated from the registry.
pub fn reference_markdown() -> String {
    let mut out = String::new();
    let mut categories: Vec<Category> = all().map(|f| f.category).collect();
    categories.sort();
    categories.dedup();
    for c in categories {
        out.push_str(&format!(
            "\n### {}\n\n| function | what it does | example |\n|---|---|---|\n",
            c.title()
        ));
        let mut defs: Vec<&FunctionDef> = all().filter(|f| f.category == c).collect();
        defs.sort_by_key(|f| f.name);
        for f in defs {
            out.push_str(&format!(
                "| `{}` | {} | `{}` |\n",
                f.signature.replace('|', "\\|"),
                f.doc.replace('|', "\\|"),
                f.example.replace('|', "\\|")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_registered_once_and_upper_case() {
        let mut names: Vec<&str> = all().map(|f| f.name).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "a name is registered twice");
        assert!(names.iter().all(|n| *n == n.to_ascii_uppercase()));
    }

    #[test]
    fn every_example_calls_its_function() {
        for f in all() {
            assert!(
                f.example.contains(&format!("{}(", f.name)),
                "{}: {}",
                f.name,
                f.example
            );
            assert!(f.signature.starts_with(f.name), "{}", f.name);
        }
    }

    /// docs/language.md carries the generated reference between two markers; run with
    /// `KQL_UPDATE_DOCS=1` to rewrite it after changing the registry.
    #[test]
    fn the_language_page_lists_every_function() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/language.md");
        let page = std::fs::read_to_string(path).unwrap();
        let (begin, end) = (
            "<!-- functions: generated from src/functions, do not edit -->",
            "<!-- end of functions -->",
        );
        let start = page.find(begin).expect("begin marker") + begin.len();
        let stop = page.find(end).expect("end marker");
        let generated = reference_markdown();
        if std::env::var_os("KQL_UPDATE_DOCS").is_some() {
            let updated = format!("{}{}\n{}", &page[..start], generated, &page[stop..]);
            std::fs::write(path, updated).unwrap();
            return;
        }
        assert!(
            page[start..stop].trim() == generated.trim(),
            "docs/language.md is out of date: run KQL_UPDATE_DOCS=1 cargo test -p kql --lib functions"
        );
    }
}
