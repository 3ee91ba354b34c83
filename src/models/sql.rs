//! SQL text with bind values, for statements whose text is assembled at run time but that
//! should still be kept prepared (diesel's own `sql_query` never is).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{
    Array, BigInt, Date, Double, Nullable, Text, Timestamptz, Untyped, Uuid as SqlUuid,
};
use diesel::QueryResult;
use uuid::Uuid;

pub enum Bind {
    Uuid(Uuid),
    Uuids(Vec<Uuid>),
    Text(String),
    Texts(Vec<String>),
    Date(NaiveDate),
    Float(f64),
    Time(DateTime<Utc>),
    Int(i64),
    OptTexts(Vec<Option<String>>),
    Dates(Vec<NaiveDate>),
    OptDates(Vec<Option<NaiveDate>>),
}

/// SQL text with its bind values. Placeholders `$n` in the text refer to `binds[n - 1]`.
pub struct Sql {
    text: String,
    binds: Vec<Bind>,
    /// Whether diesel may keep this statement prepared (diesel's own `sql_query` never is).
    cacheable: bool,
}

impl Default for Sql {
    fn default() -> Self {
        Self::new()
    }
}

impl Sql {
    /// An empty statement that diesel keeps prepared unless told otherwise.
    pub fn new() -> Self {
        Sql {
            text: String::new(),
            binds: Vec::new(),
            cacheable: true,
        }
    }

    /// A statement of fixed text (binds may follow), kept prepared.
    pub fn text(text: &str) -> Self {
        let mut sql = Self::new();
        sql.push(text);
        sql
    }

    /// Whether the statement's text is one of a bounded set, so that keeping it prepared
    /// cannot grow the cache without limit.
    pub fn cacheable(&mut self, cacheable: bool) {
        self.cacheable = cacheable;
    }

    pub fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Adds a bind value and returns its placeholder.
    pub fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }
}

impl QueryFragment<Pg> for Sql {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        if !self.cacheable {
            out.unsafe_to_cache_prepared();
        }
        // diesel numbers the placeholders it writes itself, in the order binds are pushed.
        let mut rest = self.text.as_str();
        while let Some(at) = rest.find('$') {
            out.push_sql(&rest[..at]);
            let digits = rest[at + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            let n: usize = rest[at + 1..at + 1 + digits]
                .parse()
                .map_err(|_| diesel::result::Error::QueryBuilderError("bad placeholder".into()))?;
            match &self.binds[n - 1] {
                Bind::Uuid(v) => out.push_bind_param::<SqlUuid, _>(v)?,
                Bind::Uuids(v) => out.push_bind_param::<Array<SqlUuid>, _>(v)?,
                Bind::Text(v) => out.push_bind_param::<Text, _>(v)?,
                Bind::Texts(v) => out.push_bind_param::<Array<Text>, _>(v)?,
                Bind::Date(v) => out.push_bind_param::<Date, _>(v)?,
                Bind::Float(v) => out.push_bind_param::<Double, _>(v)?,
                Bind::Time(v) => out.push_bind_param::<Timestamptz, _>(v)?,
                Bind::Int(v) => out.push_bind_param::<BigInt, _>(v)?,
                Bind::OptTexts(v) => out.push_bind_param::<Array<Nullable<Text>>, _>(v)?,
                Bind::Dates(v) => out.push_bind_param::<Array<Date>, _>(v)?,
                Bind::OptDates(v) => out.push_bind_param::<Array<Nullable<Date>>, _>(v)?,
            }
            rest = &rest[at + 1 + digits..];
        }
        out.push_sql(rest);
        Ok(())
    }
}

impl QueryId for Sql {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Sql {
    type SqlType = Untyped;
}

/// `INSERT INTO table (columns) SELECT * FROM unnest(arrays)`: any number of rows in one
/// statement whose text does not depend on the number of rows, so it stays prepared (diesel's
/// multi-row `VALUES` is prepared anew for every count). Each column is (name, array type,
/// values).
pub fn insert_unnest(table: &str, columns: Vec<(&str, &str, Bind)>) -> Sql {
    let mut sql = Sql::new();
    let mut names = Vec::new();
    let mut arrays = Vec::new();
    for (name, array_type, values) in columns {
        names.push(name);
        let p = sql.bind(values);
        arrays.push(format!("{p}::{array_type}"));
    }
    sql.push(&format!(
        "INSERT INTO {table} ({}) SELECT * FROM unnest({})",
        names.join(", "),
        arrays.join(", ")
    ));
    sql
}
