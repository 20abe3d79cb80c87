//! The tables a statement names, `db.table` as written (quotes removed, case kept), in order
//! of first appearance, without CTE names; [`crate::analyze_in`] then qualifies a bare name
//! with the current database (the event's, or the last `USE` of the text before it), as the
//! server does.
//!
//! From sqlparser's tree when the statement parses, from the tokens otherwise. A list holds at
//! most [`MAX_TABLES`] names, so a hostile statement cannot make it grow without bound; a full
//! list makes the analysis [`crate::Analysis::partial`].

use std::borrow::Cow;
use std::ops::ControlFlow;

use sqlparser::ast::{Ident, ObjectName, Query, Statement, Visit, Visitor};

use crate::class::StatementClass;
use crate::lexer::Token;
use crate::name::Table;

/// The most names kept per event.
pub const MAX_TABLES: usize = 64;

/// Adds `name` unless it is already there or the list is full.
pub(crate) fn push_unique<T: PartialEq>(tables: &mut Vec<T>, name: T) {
    if tables.len() < MAX_TABLES && !tables.contains(&name) {
        tables.push(name);
    }
}

/// The (database, table) of a name of one or two parts (a third part, which MySQL refuses,
/// is dropped with the first): sqlparser's, text (the text it read is UTF-8).
fn from_parts(mut parts: Vec<String>) -> Table {
    let name = parts.pop().unwrap_or_default();
    Table::new(parts.pop().unwrap_or_default(), name)
}

/// [`from_parts`] of the tokens' parts, bytes as the server spells them.
fn from_byte_parts(mut parts: Vec<Cow<'_, [u8]>>) -> Table {
    let name = parts.pop().unwrap_or_default();
    let database = parts.pop().unwrap_or_default();
    Table::from_bytes(&database, &name)
}

pub(crate) fn object_name(name: &ObjectName) -> Table {
    from_parts(
        name.0
            .iter()
            .map(|p| {
                p.as_ident()
                    .map_or_else(|| p.to_string(), |i| i.value.clone())
            })
            .collect(),
    )
}

/// Collects relations and the names CTEs define (which are not tables).
#[derive(Default)]
struct Relations {
    names: Vec<ObjectName>,
    ctes: Vec<Ident>,
}

impl Visitor for Relations {
    type Break = ();

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        self.names.push(relation.clone());
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            self.ctes
                .extend(with.cte_tables.iter().map(|c| c.alias.name.clone()));
        }
        ControlFlow::Continue(())
    }
}

/// Tables named by parsed statements, as written (the database empty when not named).
pub fn from_ast(statements: &[Statement]) -> Vec<Table> {
    let mut relations = Relations::default();
    for s in statements {
        if let Statement::LockTables { tables } = s {
            relations.names.extend(
                tables
                    .iter()
                    .map(|t| ObjectName::from(vec![t.table.clone()])),
            );
            continue;
        }
        if crate::class::classify_ast(s).is_some_and(|(class, _)| !names_tables(class)) {
            continue;
        }
        // The names only the statement's head gives come first, where the text has them.
        explicit_names(s, &mut relations.names);
        match without_delete_targets(s) {
            Some(rest) => {
                let _ = rest.visit(&mut relations);
            }
            None => {
                let _ = s.visit(&mut relations);
            }
        }
    }
    let is_cte = |n: &ObjectName| {
        n.0.len() == 1
            && n.0.first().and_then(|p| p.as_ident()).is_some_and(|i| {
                relations
                    .ctes
                    .iter()
                    .any(|c| c.value.eq_ignore_ascii_case(&i.value))
            })
    };
    // `FROM DUAL` names no table (MySQL's dummy table name; a table named so is back-quoted).
    let is_dual = |n: &ObjectName| match n.0.as_slice() {
        [part] => part
            .as_ident()
            .is_some_and(|i| i.quote_style.is_none() && i.value.eq_ignore_ascii_case("DUAL")),
        _ => false,
    };
    let mut tables = Vec::new();
    for name in relations.names.iter().filter(|n| !is_cte(n) && !is_dual(n)) {
        push_unique(&mut tables, object_name(name));
    }
    tables
}

/// `DELETE FROM x, y USING refs`: the statement without its targets, which are aliases or
/// tables of `refs` (MariaDB refuses a target that is neither: "Unknown table in MULTI
/// DELETE"), so an alias is no table (review 31 advE: `DELETE FROM x USING orders AS x` named
/// `x`). `None` for any other statement.
fn without_delete_targets(statement: &Statement) -> Option<Statement> {
    match statement {
        Statement::Delete(delete) if delete.using.is_some() => {
            let mut rest = delete.clone();
            rest.from = sqlparser::ast::FromTable::WithFromKeyword(Vec::new());
            Some(Statement::Delete(rest))
        }
        _ => None,
    }
}

/// Whether sqlparser read a MySQL modifier as a table: `UPDATE IGNORE t SET` and `UPDATE
/// LOW_PRIORITY t SET` parse as the table `IGNORE` (`LOW_PRIORITY`) with the alias `t` (review
/// 31: the table changed was left out). The tokens read them right.
pub(crate) fn misread_by_the_parser(statement: &Statement) -> bool {
    let Statement::Update(update) = statement else {
        return false;
    };
    let sqlparser::ast::TableFactor::Table { name, .. } = &update.table.relation else {
        return false;
    };
    match name.0.as_slice() {
        [part] => part.as_ident().is_some_and(|i| {
            i.quote_style.is_none()
                && ["IGNORE", "LOW_PRIORITY"]
                    .iter()
                    .any(|m| i.value.eq_ignore_ascii_case(m))
        }),
        _ => false,
    }
}

/// Names the visitor does not report as relations.
fn explicit_names(statement: &Statement, names: &mut Vec<ObjectName>) {
    use sqlparser::ast::ObjectType;
    match statement {
        // `DROP TEMPORARY SEQUENCE s`: see [`temporary_sequence`].
        Statement::Drop {
            object_type: ObjectType::Sequence,
            temporary: true,
            ..
        } => {}
        Statement::Drop {
            object_type: ObjectType::Table | ObjectType::View | ObjectType::Sequence,
            names: dropped,
            ..
        } => names.extend(dropped.iter().cloned()),
        Statement::RenameTable(renames) => {
            for r in renames {
                names.push(r.old_name.clone());
                names.push(r.new_name.clone());
            }
        }
        Statement::Truncate(t) => names.extend(t.table_names.iter().map(|t| t.name.clone())),
        Statement::LoadData { table_name, .. } => names.push(table_name.clone()),
        // `ALTER TABLE t RENAME TO u`: the new name as well (the visitor gives `t`).
        Statement::AlterTable(alter) => {
            use sqlparser::ast::{AlterTableOperation, RenameTableNameKind};
            for op in &alter.operations {
                if let AlterTableOperation::RenameTable {
                    table_name: RenameTableNameKind::As(n) | RenameTableNameKind::To(n),
                } = op
                {
                    names.push(alter.name.clone());
                    names.push(n.clone());
                }
            }
        }
        // MySQL's `DROP INDEX i ON t`: the table whose index goes.
        Statement::Drop {
            object_type: ObjectType::Index,
            table: Some(table),
            ..
        } => names.push(table.clone()),
        // `CREATE TRIGGER trg BEFORE INSERT ON t ...`: the table the trigger is defined on.
        Statement::CreateTrigger(trigger) => names.push(trigger.table_name.clone()),
        _ => {}
    }
}

/// Words that end a table reference (an alias is any other word).
const STOP: &[&str] = &[
    "AS",
    "WHERE",
    "SET",
    "JOIN",
    "LEFT",
    "RIGHT",
    "INNER",
    "OUTER",
    "CROSS",
    "NATURAL",
    "STRAIGHT_JOIN",
    "ON",
    "USING",
    "GROUP",
    "ORDER",
    "LIMIT",
    "HAVING",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "FOR",
    "LOCK",
    "WINDOW",
    "PARTITION",
    "USE",
    "IGNORE",
    "FORCE",
    "VALUES",
    "VALUE",
    "SELECT",
    "READ",
    "WRITE",
    "TO",
    "INTO",
    "WITH",
    "RETURNING",
    "ADD",
    "DROP",
    "MODIFY",
    "CHANGE",
    "RENAME",
    "ENGINE",
    "DEFAULT",
    "CHARSET",
    "COLLATE",
    "LIKE",
    "PROCEDURE",
];

/// Words that may stand between a keyword and the table it introduces.
const MODIFIERS: &[&str] = &[
    "TABLE",
    "IF",
    "NOT",
    "EXISTS",
    "IGNORE",
    "LOW_PRIORITY",
    "DELAYED",
    "HIGH_PRIORITY",
    "INTO",
];

/// Keywords of this reading that MariaDB 10.11 also takes as unquoted table names (checked on
/// the server for every word of [`STOP`], [`MODIFIERS`], [`REFERENCES_END`] and the words that
/// start references: `UPDATE value, w SET ...` runs and writes `value`; review 31's adversary
/// E: the table and those after it were hidden). Each is a keyword only where
/// [`acts_as_keyword`] says; `QUICK`, `TEMPORARY` and `ONLY`, also taken as names, never come
/// between a keyword and its table, so they are no [`MODIFIERS`]. `RETURNING`, reserved in
/// MariaDB, is a name in MySQL.
const NAME_KEYWORDS: &[&str] = &[
    "VALUE",
    "WINDOW",
    "MODIFY",
    "ENGINE",
    "CHARSET",
    "DUPLICATE",
    "TABLES",
    "TRUNCATE",
    "RETURNING",
    "SEQUENCE",
];

/// Reserved words outside [`STOP`] and [`MODIFIERS`] that start references or statements: never
/// an unquoted name (`DELETE tables FROM t`: `FROM` is no table).
const RESERVED: &[&str] = &[
    "FROM", "TABLE", "UPDATE", "DELETE", "INSERT", "REPLACE", "KEY", "INDEX",
];

fn is_any(t: &Token<'_>, words: &[&str]) -> bool {
    words.iter().any(|w| t.is(w))
}

/// Whether the word at `i` can only be a keyword where a name may stand: a reserved word of
/// [`STOP`], [`MODIFIERS`] or [`RESERVED`], not one of [`NAME_KEYWORDS`].
fn reserved(t: &Token<'_>) -> bool {
    (is_any(t, STOP) || is_any(t, MODIFIERS) || is_any(t, RESERVED)) && !is_any(t, NAME_KEYWORDS)
}

/// Whether the word at `i`, a keyword of this reading, is used as one here: a word of
/// [`NAME_KEYWORDS`] is a name next to a `.` (`value.id`), before `,`, `)` or the end, or, as
/// an alias, before a reserved word (`UPDATE t value SET`; MariaDB takes no `window` alias).
fn acts_as_keyword(tokens: &[Token<'_>], i: usize) -> bool {
    let Some(t) = tokens.get(i) else {
        return false;
    };
    if !is_any(t, NAME_KEYWORDS) {
        return true;
    }
    let before = i.checked_sub(1).and_then(|p| tokens.get(p));
    !matches!(
        (before, tokens.get(i + 1)),
        (Some(Token::Punct(b'.')), _) | (_, None | Some(Token::Punct(b'.' | b',' | b')')))
    )
}

/// Whether `t` (a word of [`STOP`]) is an alias at `at`: a word of [`NAME_KEYWORDS`] other
/// than `WINDOW` before `,`, `)`, the end or a reserved word.
fn keyword_alias(tokens: &[Token<'_>], at: usize) -> bool {
    let Some(t) = tokens.get(at) else {
        return false;
    };
    if !is_any(t, NAME_KEYWORDS) || t.is("WINDOW") {
        return false;
    }
    match tokens.get(at + 1) {
        None | Some(Token::Punct(b',' | b')')) => true,
        Some(next) => reserved(next),
    }
}

/// Whether statements of `class` are read for tables: reads, DML and DDL. Others name
/// databases or users (`SHOW TABLES FROM db`, `GRANT ... ON db.*`) or explain a statement
/// they do not run.
pub fn names_tables(class: StatementClass) -> bool {
    matches!(
        class,
        StatementClass::Select | StatementClass::Dml | StatementClass::Ddl
    )
}

/// Table maintenance statements (`OPTIMIZE TABLE t1, t2`): administration that names tables.
const MAINTENANCE: &[&str] = &["OPTIMIZE", "REPAIR", "ANALYZE", "CHECK", "CHECKSUM"];

/// Tables named by the tokens of one statement of class `class`, as written (the database
/// empty when not named). `IMPORT TABLE FROM` names files, not tables.
pub fn from_tokens(tokens: &[Token<'_>], class: StatementClass, tables: &mut Vec<Table>) {
    let first = tokens.first().copied();
    if first.is_some_and(|t| t.is("LOCK")) {
        return locked_tables(tokens, tables);
    }
    if first.is_some_and(|t| t.is("HANDLER")) {
        return opened_handler(tokens, tables);
    }
    if first.is_some_and(|t| t.is("FLUSH")) {
        return flushed_tables(tokens, tables);
    }
    if temporary_sequence(tokens) {
        return;
    }
    let maintenance = first.is_some_and(|t| MAINTENANCE.iter().any(|m| t.is(m)));
    if !(names_tables(class) || maintenance) || first.is_some_and(|t| t.is("IMPORT")) {
        return;
    }
    let ctes = cte_names(tokens);
    // `RENAME TABLE a TO b`; in an `ALTER`, only `RENAME [TO|AS] b` (`CONVERT TO CHARACTER SET`
    // names no table).
    let renames = first.is_some_and(|t| t.is("RENAME"));
    let alters = first.is_some_and(|t| t.is("ALTER"));
    // `DELETE FROM t USING t JOIN u`: the tables after `USING` (a join's `USING (col)` is not).
    let deletes = first.is_some_and(|t| t.is("DELETE"));
    // `DELETE FROM x, y USING refs`: the targets between `FROM` and `USING` are aliases or
    // tables of `refs` (see [`without_delete_targets`]), not read.
    let targets = if deletes {
        delete_targets(tokens)
    } else {
        0..0
    };
    let mut index_seen = false;
    // `CREATE TRIGGER trg BEFORE INSERT ON t`: the first `ON` after `TRIGGER` names the
    // table (a later one is the body's join condition).
    let mut trigger_on = false;
    // Per parenthesis depth, whether its tokens are table references (see [`References`]).
    let mut refs = References::default();
    let mut i = 0;
    while let Some(t) = tokens.get(i) {
        if targets.contains(&i) {
            i += 1;
            continue;
        }
        if let Some(next) = refs.step(tokens, i) {
            i = match next {
                Next::Names(at) => read_names(tokens, at, true, false, &ctes, tables),
                Next::Token(at) => at,
            };
            continue;
        }
        // `ON value.id = t.id`: a table's name, no keyword.
        if !acts_as_keyword(tokens, i) {
            i += 1;
            continue;
        }
        // `CREATE INDEX i ON t`, `DROP INDEX i ON t`; not `FORCE INDEX (i) JOIN u ON u.id = ...`.
        index_seen |= t.is("INDEX") && first.is_some_and(|f| f.is("CREATE") || f.is("DROP"));
        trigger_on |= t.is("TRIGGER");
        let on_trigger = trigger_on && t.is("ON");
        trigger_on &= !on_trigger;
        let list = t.is("FROM")
            || t.is("TABLE")
            || t.is("TABLES")
            || t.is("SEQUENCE")
            || starts_update(tokens, i);
        // A join among references (`SELECT STRAIGHT_JOIN a FROM t`: a modifier).
        let single = ((t.is("JOIN") || t.is("STRAIGHT_JOIN")) && *refs.top())
            || (t.is("INTO") && class != StatementClass::Select)
            || t.is("TRUNCATE")
            || ((t.is("INSERT") || t.is("REPLACE")) && i == 0)
            || (t.is("ON") && index_seen)
            || on_trigger;
        if alters && t.is("RENAME") {
            i = match renamed_to(tokens, i) {
                Some(at) => read_names(tokens, at, false, false, &ctes, tables),
                None => i + 1,
            };
            continue;
        }
        let using = deletes && t.is("USING") && tokens.get(i + 1) != Some(&Token::Punct(b'('));
        let list = list || (t.is("TO") && renames) || using;
        if list || single {
            // `INSERT INTO t (a)`, `CREATE TABLE t (a INT)`: a column list; among references,
            // `JSON_TABLE(...)` is a table function, no table.
            let function_ok = !(t.is("FROM")
                || t.is("JOIN")
                || t.is("STRAIGHT_JOIN")
                || starts_update(tokens, i)
                || using);
            i = read_names(tokens, i + 1, list, function_ok, &ctes, tables);
        } else {
            i += 1;
        }
    }
}

/// The tokens of a `DELETE FROM targets USING refs`'s targets: from its first `FROM` to the
/// `USING` at depth 0 that opens no column list; empty when there is none.
fn delete_targets(tokens: &[Token<'_>]) -> std::ops::Range<usize> {
    let mut depth = 0usize;
    let mut from = None;
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::Punct(b'(') => depth += 1,
            Token::Punct(b')') => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            _ if t.is("FROM") && from.is_none() => from = Some(i),
            _ if t.is("USING") && tokens.get(i + 1) != Some(&Token::Punct(b'(')) => {
                return from.map_or(0..0, |f| f..i);
            }
            _ => {}
        }
    }
    0..0
}

/// `LOCK TABLE[S] t [[AS] a] READ [LOCAL], db.u [[AS] b] [LOW_PRIORITY] WRITE, ...`: each
/// table locked (the server logs a READ or WRITE event for each; a lock changes no data).
fn locked_tables(tokens: &[Token<'_>], tables: &mut Vec<Table>) {
    let Some(start) = tokens.iter().position(|t| t.is("TABLES") || t.is("TABLE")) else {
        return;
    };
    let mut at = start + 1;
    while let Some((name, _, next)) = qualified_name(tokens, at) {
        push_unique(tables, name);
        let Some(comma) = tokens
            .iter()
            .skip(next)
            .position(|t| *t == Token::Punct(b','))
        else {
            return;
        };
        at = next + comma + 1;
    }
}

/// `FLUSH [NO_WRITE_TO_BINLOG | LOCAL] TABLE[S] t, db.u WITH READ LOCK` (or `FOR EXPORT`):
/// each table, which the server locks and logs a READ event for (checked on MariaDB 10.11:
/// `review33_flush_seq.log`). `FLUSH TABLES t` without a lock, and `FLUSH TABLES WITH READ
/// LOCK` (every table), log none: no table is named.
fn flushed_tables(tokens: &[Token<'_>], tables: &mut Vec<Table>) {
    let mut at = 1;
    if tokens
        .get(at)
        .is_some_and(|t| t.is("NO_WRITE_TO_BINLOG") || t.is("LOCAL"))
    {
        at += 1;
    }
    if !tokens
        .get(at)
        .is_some_and(|t| t.is("TABLES") || t.is("TABLE"))
    {
        return;
    }
    let mut named = Vec::new();
    at += 1;
    while let Some((name, _, next)) = qualified_name(tokens, at) {
        named.push(name);
        at = next;
        if tokens.get(at) != Some(&Token::Punct(b',')) {
            break;
        }
        at += 1;
    }
    let word = |i: usize, w: &str| tokens.get(i).is_some_and(|t| t.is(w));
    let locks =
        (word(at, "WITH") && word(at + 1, "READ")) || (word(at, "FOR") && word(at + 1, "EXPORT"));
    if locks {
        for name in named {
            push_unique(tables, name);
        }
    }
}

/// Whether `tokens` are `CREATE [OR REPLACE] TEMPORARY SEQUENCE s ...` or `DROP TEMPORARY
/// SEQUENCE s`: the server logs no table event for a temporary sequence (nor for a temporary
/// table), so the statement names none (checked on MariaDB 10.11: `review33_flush_seq.log`).
/// A later `NEXTVAL(s)` or `DROP SEQUENCE s` reaches the temporary sequence when there is one,
/// which the text cannot know: `s` is named there.
fn temporary_sequence(tokens: &[Token<'_>]) -> bool {
    let word = |i: usize, w: &str| tokens.get(i).is_some_and(|t| t.is(w));
    let at = if word(0, "CREATE") && word(1, "OR") && word(2, "REPLACE") {
        3
    } else if word(0, "CREATE") || word(0, "DROP") {
        1
    } else {
        return false;
    };
    word(at, "TEMPORARY") && word(at + 1, "SEQUENCE")
}

/// `HANDLER t OPEN [[AS] h]`: the table opened. A later `HANDLER h READ` names the handler,
/// which is the table's name only when it was opened without `AS`: not read.
fn opened_handler(tokens: &[Token<'_>], tables: &mut Vec<Table>) {
    if let Some((name, _, next)) = qualified_name(tokens, 1)
        && tokens.get(next).is_some_and(|t| t.is("OPEN"))
    {
        push_unique(tables, name);
    }
}

/// Where the main loop of [`from_tokens`] goes on after a token [`References::step`] took.
enum Next {
    /// Read names from here (a table reference starts).
    Names(usize),
    /// Go on at this token.
    Token(usize),
}

/// Whether the tokens at each parenthesis depth are table references: from `FROM`, `UPDATE`,
/// a join or a `DELETE`'s `USING` to a clause (`SET`, `WHERE`, `ORDER`...). There a comma
/// starts another reference (`t JOIN u ON u.id = t.id, w`), and so does a parenthesis that
/// opens no subquery (`JOIN (u, v)`); a subquery's, a join condition's or an index list's
/// commas are not (review 31: the tables after such commas were missing, and a statement that
/// changed them hidden from `--table`).
#[derive(Default)]
struct References {
    /// The statement's own flag, outside any parenthesis.
    base: bool,
    /// One flag per open parenthesis.
    open: Vec<bool>,
}

/// Words that end the table references of their depth (`ORDER`, `GROUP` not in an index hint:
/// `USE INDEX FOR ORDER BY (i)`; `FOR` only as `FOR UPDATE|SHARE`, not `FOR SYSTEM_TIME` nor
/// a hint's).
const REFERENCES_END: &[&str] = &[
    "SET",
    "WHERE",
    "GROUP",
    "ORDER",
    "LIMIT",
    "HAVING",
    "WINDOW",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "SELECT",
    "VALUES",
    "VALUE",
    "INTO",
    "RETURNING",
    "LOCK",
    "PROCEDURE",
    "DUPLICATE",
];

/// Whether the token at `i` is the `UPDATE` of `UPDATE t SET`, not of `ON DUPLICATE KEY UPDATE
/// c = 1`, `FOR UPDATE` nor a column's `ON UPDATE CURRENT_TIMESTAMP`.
fn starts_update(tokens: &[Token<'_>], i: usize) -> bool {
    tokens.get(i).is_some_and(|t| t.is("UPDATE")) && !after_any(tokens, i, &["KEY", "FOR", "ON"])
}

/// Whether the token before `i` is one of `words`.
fn after_any(tokens: &[Token<'_>], i: usize, words: &[&str]) -> bool {
    i.checked_sub(1)
        .and_then(|p| tokens.get(p))
        .is_some_and(|p| words.iter().any(|w| p.is(w)))
}

impl References {
    /// The flag of the innermost open parenthesis, or the statement's.
    fn top(&mut self) -> &mut bool {
        self.open.last_mut().unwrap_or(&mut self.base)
    }

    /// Notes the token at `i`; when it is a parenthesis or a comma it handles, where to go on.
    fn step(&mut self, tokens: &[Token<'_>], i: usize) -> Option<Next> {
        let t = tokens.get(i)?;
        let before = i.checked_sub(1).and_then(|p| tokens.get(p));
        match t {
            Token::Punct(b'(') => {
                let subquery = tokens.get(i + 1).is_some_and(|n| {
                    ["SELECT", "WITH", "VALUES", "TABLE"]
                        .iter()
                        .any(|w| n.is(w))
                });
                let starts = before.is_some_and(|b| {
                    matches!(b, Token::Punct(b',' | b'('))
                        || ["FROM", "UPDATE", "IGNORE", "LOW_PRIORITY"]
                            .iter()
                            .any(|w| b.is(w))
                        || (["JOIN", "STRAIGHT_JOIN"].iter().any(|w| b.is(w))
                            && !after_any(tokens, i.saturating_sub(1), &["FOR"]))
                });
                let inner = *self.top() && starts && !subquery;
                self.open.push(inner);
                Some(if inner {
                    Next::Names(i + 1)
                } else {
                    Next::Token(i + 1)
                })
            }
            Token::Punct(b')') => {
                self.open.pop();
                Some(Next::Token(i + 1))
            }
            Token::Punct(b',') if *self.top() => Some(Next::Names(i + 1)),
            _ if !acts_as_keyword(tokens, i) => None,
            _ => {
                let hint = before.is_some_and(|b| b.is("FOR"));
                let locking = t.is("FOR")
                    && tokens
                        .get(i + 1)
                        .is_some_and(|n| n.is("UPDATE") || n.is("SHARE"));
                if (REFERENCES_END.iter().any(|w| t.is(w)) && !hint) || locking {
                    *self.top() = false;
                } else if t.is("FROM")
                    // A join only among references: `SELECT STRAIGHT_JOIN a, b FROM t` is a
                    // modifier, `FOR JOIN (i)` an index hint.
                    || (["JOIN", "STRAIGHT_JOIN"].iter().any(|w| t.is(w)) && *self.top() && !hint)
                    || starts_update(tokens, i)
                    || (t.is("USING")
                        && tokens.first().is_some_and(|f| f.is("DELETE"))
                        && tokens.get(i + 1) != Some(&Token::Punct(b'(')))
                {
                    *self.top() = true;
                }
                None
            }
        }
    }
}

/// Where the new name of `ALTER TABLE t RENAME [TO|AS] name` starts, `at` the `RENAME`
/// (`RENAME COLUMN|INDEX|KEY a TO b` renames no table).
fn renamed_to(tokens: &[Token<'_>], at: usize) -> Option<usize> {
    let next = tokens.get(at + 1)?;
    if ["COLUMN", "INDEX", "KEY"].iter().any(|w| next.is(w)) {
        None
    } else if next.is("TO") || next.is("AS") {
        Some(at + 2)
    } else {
        Some(at + 1)
    }
}

/// Reads `name [alias] [, name [alias] ...]` from `at`; returns where it stopped.
fn read_names(
    tokens: &[Token<'_>],
    mut at: usize,
    list: bool,
    function_ok: bool,
    ctes: &[Vec<u8>],
    tables: &mut Vec<Table>,
) -> usize {
    loop {
        // Parentheses are [`References`]' to count.
        while tokens
            .get(at)
            .is_some_and(|t| MODIFIERS.iter().any(|m| t.is(m)))
        {
            at += 1;
        }
        let Some((name, parts, next)) = qualified_name(tokens, at) else {
            return at;
        };
        let is_function = tokens.get(next) == Some(&Token::Punct(b'('));
        let is_cte = parts == 1
            && ctes
                .iter()
                .any(|c| c.eq_ignore_ascii_case(name.name.as_bytes()));
        if (function_ok || !is_function) && !is_cte && !name.name.eq_ignore_ascii_case("DUAL") {
            push_unique(tables, name);
        }
        at = skip_alias(tokens, next);
        if !(list && tokens.get(at) == Some(&Token::Punct(b','))) {
            return at;
        }
        at += 1;
    }
}

/// `name`, `` `db`.`t` ``: the table, how many parts, where it ends.
pub(crate) fn qualified_name(tokens: &[Token<'_>], mut at: usize) -> Option<(Table, usize, usize)> {
    let mut parts = Vec::new();
    loop {
        let part = match tokens.get(at)? {
            Token::Word(w) if parts.is_empty() && reserved(&Token::Word(w)) => {
                return None;
            }
            Token::Word(w) => Cow::Borrowed(*w),
            Token::Ident(w, q) => ident(w, *q),
            _ if parts.is_empty() => return None,
            _ => break,
        };
        parts.push(part);
        at += 1;
        if tokens.get(at) != Some(&Token::Punct(b'.')) || parts.len() == 3 {
            break;
        }
        at += 1;
    }
    let n = parts.len();
    Some((from_byte_parts(parts), n, at))
}

/// A quoted name's bytes without its quotes: two of the closing `quote` inside are one
/// (`` `a``b` `` is ``a`b``; `"x""y"` under `ANSI_QUOTES` is `x"y`, session 33 advS F4:
/// it was `x""y`, a table that does not exist; `[x]]y]` under `MSSQL` is `x]y`).
pub(crate) fn ident(quoted: &[u8], quote: u8) -> Cow<'_, [u8]> {
    let pair = [quote, quote];
    if memchr::memmem::find(quoted, &pair).is_none() {
        return Cow::Borrowed(quoted);
    }
    let mut out = Vec::with_capacity(quoted.len());
    let mut rest = quoted;
    while let Some(at) = memchr::memmem::find(rest, &pair) {
        // The first of the two kept, the second dropped.
        out.extend_from_slice(rest.get(..=at).unwrap_or_default());
        rest = rest.get(at + 2..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    Cow::Owned(out)
}

pub(crate) fn skip_alias(tokens: &[Token<'_>], at: usize) -> usize {
    match tokens.get(at) {
        Some(t) if t.is("AS") => at + 2,
        Some(Token::Ident(..)) => at + 1,
        Some(t @ Token::Word(_)) if !is_any(t, STOP) || keyword_alias(tokens, at) => at + 1,
        _ => at,
    }
}

/// Names defined by `WITH name [(cols)] AS (` at depth 0.
fn cte_names(tokens: &[Token<'_>]) -> Vec<Vec<u8>> {
    let mut names = Vec::new();
    if !tokens.first().is_some_and(|t| t.is("WITH")) {
        return names;
    }
    let mut depth = 0usize;
    let mut last_name: Option<&[u8]> = None;
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::Punct(b'(') => depth += 1,
            Token::Punct(b')') => depth = depth.saturating_sub(1),
            Token::Word(w) | Token::Ident(w, _) if depth == 0 => {
                let opens = tokens.get(i + 1) == Some(&Token::Punct(b'('));
                if t.is("AS") && opens {
                    names.extend(last_name.take().map(<[u8]>::to_vec));
                } else if !t.is("RECURSIVE") && !t.is("WITH") && !t.is("AS") {
                    last_name = Some(w);
                }
            }
            _ => {}
        }
        if names.len() >= MAX_TABLES {
            break;
        }
    }
    names
}
