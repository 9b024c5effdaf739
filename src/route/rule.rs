//! Routing-rule conditions: a CEL expression over one request's facts
//! (`budget.used_pct > 85.0 && tier == "opus"`), compiled and checked once when a rule is
//! added or loaded, then evaluated per request by the `cel` crate.
//!
//! cel 0.15 parses and evaluates but checks no types, so [`Condition::compile`] infers the type
//! of every node over the subset of CEL that makes sense for routing and refuses the rest: a
//! condition that compiles can fail at run time only on the request's data (a header that is
//! absent, a division by zero), never on its types.
//!
//! Numbers follow what cel 0.15 does at run time: `int` and `double` compare with each other,
//! `==` included (`budget.used_pct > 85` holds at 90.0), but do not mix in arithmetic
//! (`tokens.input * 1.5` fails), so the checker allows the first and refuses the second.
//!
//! Per request, the facts become CEL values once ([`Vars`]), and one cel context lends them
//! to every condition ([`Evaluator`]), so that reading a variable copies nothing and a rule
//! costs no set-up of its own. A router reads the facts its rules' [`Uses`] name, then:
//! `let vars = Vars::new(&facts, uses); let evaluator = Evaluator::new(&vars);` and
//! `condition.matches_in(&evaluator)` for each rule in turn.

use std::fmt;
use std::sync::{Arc, LazyLock};

use cel::common::ast::IdedExpr;
use cel::common::traits::{Container, Indexer, Sizer};
use cel::common::types::{CelBool, CelDouble, CelInt, CelString, MAP_TYPE, Type};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::parser::Parser;
use cel::{Context, Env, ExecutionError, Value};
use http::HeaderMap;

mod check;

use check::{Checker, Ty, syntax_error};

/// A variable a condition can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    /// `model`: the model as requested.
    Model,
    /// `provider`: the provider the model resolves to.
    Provider,
    /// `tier`: `opus`, `sonnet`, `haiku`, `fable` or empty.
    Tier,
    /// `headers`: the request's headers by lower-case name.
    Headers,
    /// `session`: the Claude Code session.
    Session,
    /// `key`: the caller's virtual key.
    Key,
    /// `team`: the caller's team.
    Team,
    /// `customer`: the caller's customer.
    Customer,
    /// `budget.used_pct`: the highest share used of the budgets on the caller's chain.
    BudgetUsedPct,
    /// `budget.session.used_pct`.
    BudgetSession,
    /// `budget.key.used_pct`.
    BudgetKey,
    /// `budget.team.used_pct`.
    BudgetTeam,
    /// `budget.customer.used_pct`.
    BudgetCustomer,
    /// `budget.provider.used_pct`.
    BudgetProvider,
    /// `budget.global.used_pct`.
    BudgetGlobal,
    /// `tokens.input`: the request's input tokens, estimated.
    TokensInput,
    /// `request.stream`.
    RequestStream,
    /// `request.tools`: how many tools the request offers.
    RequestTools,
    /// `request.thinking`: whether extended thinking is on.
    RequestThinking,
    /// `request.max_tokens`.
    RequestMaxTokens,
    /// `time.hour`: the hour, 0 to 23, in UTC.
    TimeHour,
}

/// Every variable: its name in a condition, and its CEL type.
const VARS: [(&str, Var, Ty); 21] = [
    ("model", Var::Model, Ty::String),
    ("provider", Var::Provider, Ty::String),
    ("tier", Var::Tier, Ty::String),
    ("headers", Var::Headers, Ty::Headers),
    ("session", Var::Session, Ty::String),
    ("key", Var::Key, Ty::String),
    ("team", Var::Team, Ty::String),
    ("customer", Var::Customer, Ty::String),
    ("budget.used_pct", Var::BudgetUsedPct, Ty::Double),
    ("budget.session.used_pct", Var::BudgetSession, Ty::Double),
    ("budget.key.used_pct", Var::BudgetKey, Ty::Double),
    ("budget.team.used_pct", Var::BudgetTeam, Ty::Double),
    ("budget.customer.used_pct", Var::BudgetCustomer, Ty::Double),
    ("budget.provider.used_pct", Var::BudgetProvider, Ty::Double),
    ("budget.global.used_pct", Var::BudgetGlobal, Ty::Double),
    ("tokens.input", Var::TokensInput, Ty::Int),
    ("request.stream", Var::RequestStream, Ty::Bool),
    ("request.tools", Var::RequestTools, Ty::Int),
    ("request.thinking", Var::RequestThinking, Ty::Bool),
    ("request.max_tokens", Var::RequestMaxTokens, Ty::Int),
    ("time.hour", Var::TimeHour, Ty::Int),
];

/// The variables as a person reads them in a hint.
const VARIABLE_LIST: &str = "model, provider, tier, headers, session, key, team, customer, \
     budget.used_pct, budget.<scope>.used_pct (scope: session, key, team, customer, provider, \
     global), tokens.input, request.stream, request.tools, request.thinking, \
     request.max_tokens, time.hour";

fn variable(name: &str) -> Option<(Var, Ty)> {
    VARS.iter()
        .find(|(n, ..)| *n == name)
        .map(|&(_, var, ty)| (var, ty))
}

/// Whether `name` is the start of some variables' names (`budget`, `budget.team`), not a value.
fn is_namespace(name: &str) -> bool {
    VARS.iter().any(|(n, ..)| {
        n.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// Which variables a condition, or a set of them, reads: the facts a request must supply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Uses(u32);

impl Uses {
    /// No variable.
    pub const NONE: Uses = Uses(0);
    /// Every variable.
    pub const ALL: Uses = Uses((1 << VARS.len()) - 1);

    /// Whether `var` is read.
    pub fn contains(self, var: Var) -> bool {
        self.0 & Uses::bit(var) != 0
    }

    /// Whether every variable `other` reads is read here too.
    pub fn covers(self, other: Uses) -> bool {
        self.0 & other.0 == other.0
    }

    /// The variables read by either.
    pub fn union(self, other: Uses) -> Uses {
        Uses(self.0 | other.0)
    }

    fn with(self, var: Var) -> Uses {
        Uses(self.0 | Uses::bit(var))
    }

    fn bit(var: Var) -> u32 {
        1 << var as u32
    }
}

impl std::ops::BitOr for Uses {
    type Output = Uses;

    fn bitor(self, other: Uses) -> Uses {
        self.union(other)
    }
}

/// Use of one budget scope or of the caller's chain, in percent of its limit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BudgetUse {
    /// The highest on the caller's chain.
    pub used_pct: f64,
    /// The session's budget; 0.0 when there is none, as for each scope below.
    pub session: f64,
    /// The virtual key's budget.
    pub key: f64,
    /// The team's budget.
    pub team: f64,
    /// The customer's budget.
    pub customer: f64,
    /// The provider's budget.
    pub provider: f64,
    /// The budget over everything.
    pub global: f64,
}

/// One request's facts, borrowed from the request, its caller and the budgets: built per
/// request, it copies nothing.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The model as requested (`openai/gpt-5`, `claude-sonnet-4-5`).
    pub model: &'a str,
    /// The provider the model resolves to.
    pub provider: &'a str,
    /// `opus`, `sonnet`, `haiku`, `fable`, or empty.
    pub tier: &'a str,
    /// The request's headers (`http` keeps their names lower-case); a value that is not
    /// visible ASCII reads as absent.
    pub headers: &'a HeaderMap,
    /// The session, empty when none.
    pub session: &'a str,
    /// The virtual key, empty when none.
    pub key: &'a str,
    /// The team, empty when none.
    pub team: &'a str,
    /// The customer, empty when none.
    pub customer: &'a str,
    /// How much of the budgets is used.
    pub budget: BudgetUse,
    /// The input tokens, estimated.
    pub tokens_input: u64,
    /// Whether the response streams.
    pub stream: bool,
    /// How many tools the request offers.
    pub tools: u64,
    /// Whether extended thinking is on.
    pub thinking: bool,
    /// The request's `max_tokens`.
    pub max_tokens: u64,
    /// The hour, 0 to 23, in UTC.
    pub hour: u8,
}

/// The standard library, built once: building it takes hundreds of allocations.
static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| Arc::new(Env::stdlib()));

/// The longest condition, in bytes: parsing a chain (`a + b + c…`) recurses once per term, and
/// 4 KB is far more than a routing condition needs (a list of 50 models is 2 KB).
const MAX_LEN: usize = 4096;
/// How deeply brackets may nest, for cel's parser: it takes ~10 KB of stack a level, and its own
/// limit (96) would take half of a 2 MB thread (a tokio worker's).
const MAX_NESTING: u16 = 32;
/// How deep the expression tree may be: cel evaluates it recursively on the request's thread.
const MAX_DEPTH: usize = 64;

/// A routing rule's condition, compiled and type-checked.
#[derive(Debug, Clone)]
pub struct Condition {
    source: String,
    /// cel's expression tree, with each dotted variable (`budget.used_pct`) folded into one
    /// identifier: cel resolves a dotted name by joining its parts into a new string on every
    /// evaluation, an identifier by a plain lookup.
    expr: IdedExpr,
    uses: Uses,
}

impl Condition {
    /// Compiles and checks a condition: syntax, unknown variables, and type errors are refused.
    pub fn compile(source: &str) -> Result<Condition, ConditionError> {
        if source.len() > MAX_LEN {
            return Err(ConditionError {
                kind: ConditionErrorKind::TooComplex,
                condition: source.to_owned(),
                line: None,
                column: 1,
                message: format!(
                    "the condition is {} bytes long, more than {MAX_LEN}",
                    source.len()
                ),
                hint: "split it into several rules".to_owned(),
            });
        }
        let (mut expr, info) = Parser::new()
            .max_recursion_depth(MAX_NESTING)
            .parse_with_source_info(source)
            .map_err(|e| syntax_error(source, &e))?;
        let mut checker = Checker::new(source, &info);
        let ty = checker.check(&mut expr)?;
        if ty != Ty::Bool {
            return Err(checker.error(
                expr.id,
                ConditionErrorKind::NotBool,
                format!("the condition is a {}, not a bool", ty.name()),
                "compare it, for example `tokens.input > 100000`".to_owned(),
            ));
        }
        Ok(Condition {
            source: source.to_owned(),
            expr,
            uses: checker.uses(),
        })
    }

    /// The source text, as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The variables the condition reads.
    pub fn uses(&self) -> Uses {
        self.uses
    }

    /// Evaluates against one request's facts; a runtime error (e.g. a missing header key, a
    /// division by zero) is Err, never a panic.
    pub fn matches(&self, facts: &Facts<'_>) -> Result<bool, EvalError> {
        self.matches_in(&Evaluator::new(&Vars::new(facts, self.uses)))
    }

    /// Evaluates against a request's facts prepared once for a set of conditions.
    pub fn matches_in(&self, evaluator: &Evaluator<'_>) -> Result<bool, EvalError> {
        if !evaluator.uses.covers(self.uses) {
            return Err(EvalError {
                kind: EvalErrorKind::Unprepared,
                condition: self.source.clone(),
                message: "its variables were not prepared: build the evaluator with the union of \
                          the conditions' `uses()`"
                    .to_owned(),
            });
        }
        let value =
            Value::resolve_val(&self.expr, &evaluator.context).map_err(|e| self.eval_error(&e))?;
        match value.downcast_ref::<CelBool>() {
            Some(b) => Ok(*b.inner()),
            // The checker allows only bool results; kept as an error, not a panic.
            None => Err(EvalError {
                kind: EvalErrorKind::Other,
                condition: self.source.clone(),
                message: format!("it gave a {}, not a bool", value.get_type().name()),
            }),
        }
    }

    fn eval_error(&self, e: &ExecutionError) -> EvalError {
        let kind = match e {
            ExecutionError::NoSuchKey(_) => EvalErrorKind::MissingKey,
            ExecutionError::DivisionByZero(_)
            | ExecutionError::RemainderByZero(_)
            | ExecutionError::Overflow(..) => EvalErrorKind::Arithmetic,
            ExecutionError::FunctionError { .. } => EvalErrorKind::Conversion,
            _ => EvalErrorKind::Other,
        };
        EvalError {
            kind,
            condition: self.source.clone(),
            message: e.to_string(),
        }
    }
}

/// One request's facts as CEL values, built once per request and lent to every condition
/// evaluated for it.
#[derive(Debug)]
pub struct Vars<'a> {
    uses: Uses,
    model: CelString<'a>,
    provider: CelString<'a>,
    tier: CelString<'a>,
    headers: Headers<'a>,
    session: CelString<'a>,
    key: CelString<'a>,
    team: CelString<'a>,
    customer: CelString<'a>,
    /// Chain, session, key, team, customer, provider, global.
    budget: [CelDouble; 7],
    tokens_input: CelInt,
    stream: CelBool,
    tools: CelInt,
    thinking: CelBool,
    max_tokens: CelInt,
    hour: CelInt,
}

impl<'a> Vars<'a> {
    /// Prepares `facts` for conditions that read at most `uses` (the union of their `uses()`).
    pub fn new(facts: &Facts<'a>, uses: Uses) -> Vars<'a> {
        let b = &facts.budget;
        Vars {
            uses,
            model: facts.model.into(),
            provider: facts.provider.into(),
            tier: facts.tier.into(),
            // The only fact that costs an allocation: skipped unless a condition reads it.
            headers: if uses.contains(Var::Headers) {
                Headers::of(facts.headers)
            } else {
                Headers::default()
            },
            session: facts.session.into(),
            key: facts.key.into(),
            team: facts.team.into(),
            customer: facts.customer.into(),
            budget: [
                b.used_pct, b.session, b.key, b.team, b.customer, b.provider, b.global,
            ]
            .map(percent),
            tokens_input: int(facts.tokens_input),
            stream: facts.stream.into(),
            tools: int(facts.tools),
            thinking: facts.thinking.into(),
            max_tokens: int(facts.max_tokens),
            hour: CelInt::from(i64::from(facts.hour)),
        }
    }
}

/// A percentage as CEL reads it: NaN, which cel refuses to order, reads as 0.0.
fn percent(pct: f64) -> CelDouble {
    CelDouble::from(if pct.is_nan() { 0.0 } else { pct })
}

/// A count as a CEL int, which is signed: past `i64::MAX` it stays there.
fn int(n: u64) -> CelInt {
    CelInt::from(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A cel context over one request's [`Vars`], made once per request: a context per condition
/// would cost an `Arc` count and two map drops each.
pub struct Evaluator<'v> {
    context: Context<'v, 'v>,
    uses: Uses,
}

impl<'v> Evaluator<'v> {
    /// Lends `vars` to the conditions evaluated for their request.
    pub fn new(vars: &'v Vars<'_>) -> Evaluator<'v> {
        let mut context = Context::with_env(Arc::clone(&ENV));
        context.set_variable_resolver(vars);
        Evaluator {
            context,
            uses: vars.uses,
        }
    }
}

impl fmt::Debug for Evaluator<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evaluator")
            .field("uses", &self.uses)
            .finish_non_exhaustive()
    }
}

impl VariableResolver for Vars<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let value: &dyn Val = match variable {
            "model" => &self.model,
            "provider" => &self.provider,
            "tier" => &self.tier,
            "headers" => &self.headers,
            "session" => &self.session,
            "key" => &self.key,
            "team" => &self.team,
            "customer" => &self.customer,
            "budget.used_pct" => &self.budget[0],
            "budget.session.used_pct" => &self.budget[1],
            "budget.key.used_pct" => &self.budget[2],
            "budget.team.used_pct" => &self.budget[3],
            "budget.customer.used_pct" => &self.budget[4],
            "budget.provider.used_pct" => &self.budget[5],
            "budget.global.used_pct" => &self.budget[6],
            "tokens.input" => &self.tokens_input,
            "request.stream" => &self.stream,
            "request.tools" => &self.tools,
            "request.thinking" => &self.thinking,
            "request.max_tokens" => &self.max_tokens,
            "time.hour" => &self.hour,
            _ => return None,
        };
        Some(CowVal::Borrowed(value))
    }
}

/// The type cel reports for `headers`, a `map(string, string)` at run time.
static HEADERS_TYPE: Type = MAP_TYPE;

/// The request's headers as a CEL map: name and value borrowed from the request, looked up
/// by a scan (a request has a few dozen), so that a lookup lends the value rather than boxing
/// a new one.
#[derive(Debug, Clone, Default)]
struct Headers<'a>(Vec<(&'a str, CelString<'a>)>);

impl<'a> Headers<'a> {
    fn of(map: &'a HeaderMap) -> Headers<'a> {
        let mut pairs: Vec<(&'a str, CelString<'a>)> = Vec::with_capacity(map.keys_len());
        for (name, value) in map {
            let Ok(value) = value.to_str() else { continue };
            // A repeated header reads as its first value, as `HeaderMap::get` has it
            // (`HeaderMap` yields a name's values one after another).
            if pairs.last().is_some_and(|(last, _)| *last == name.as_str()) {
                continue;
            }
            pairs.push((name.as_str(), value.into()));
        }
        Headers(pairs)
    }

    fn find(&self, name: &dyn Val) -> Result<Option<&CelString<'a>>, ExecutionError> {
        let Some(name) = name.downcast_ref::<CelString>() else {
            return Err(ExecutionError::UnexpectedType {
                got: name.get_type().name().to_owned(),
                want: "string".to_owned(),
            });
        };
        let name = name.inner();
        Ok(self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v))
    }
}

impl Val for Headers<'_> {
    fn get_type(&self) -> &Type {
        &HEADERS_TYPE
    }

    fn cel_type() -> &'static Type {
        &HEADERS_TYPE
    }

    fn as_container(&self) -> Option<&dyn Container> {
        Some(self)
    }

    fn as_indexer<'b, 'v>(&'b self) -> Option<&'b (dyn Indexer + 'v)>
    where
        Self: 'v,
    {
        Some(self)
    }

    fn as_sizer(&self) -> Option<&dyn Sizer> {
        Some(self)
    }

    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v>
    where
        Self: 'v,
    {
        Box::new(self.clone())
    }
}

impl Indexer for Headers<'_> {
    fn get<'b, 'v>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'v>, ExecutionError>
    where
        Self: 'v,
    {
        match self.find(idx)? {
            Some(value) => Ok(CowVal::Borrowed(value)),
            None => Err(missing_header(idx)),
        }
    }

    fn steal<'v>(self: Box<Self>, idx: &dyn Val) -> Result<Box<dyn Val + 'v>, ExecutionError>
    where
        Self: 'v,
    {
        match self.find(idx)? {
            Some(value) => Ok(Box::new(value.clone())),
            None => Err(missing_header(idx)),
        }
    }
}

fn missing_header(name: &dyn Val) -> ExecutionError {
    let name = name.downcast_ref::<CelString>().map_or("", |s| s.inner());
    ExecutionError::no_such_key(name)
}

impl Container for Headers<'_> {
    fn contains(&self, name: &dyn Val) -> Result<bool, ExecutionError> {
        Ok(self.find(name)?.is_some())
    }
}

impl Sizer for Headers<'_> {
    fn size(&self) -> CelInt {
        int(self.0.len() as u64)
    }
}

/// What is wrong with a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionErrorKind {
    /// It does not parse.
    Syntax,
    /// It names a variable that does not exist.
    UnknownVariable,
    /// It names a field that does not exist (`request.foo`).
    UnknownMember,
    /// An operator or function is given values of the wrong types.
    Type,
    /// The whole condition is not a bool.
    NotBool,
    /// A header name with upper-case letters, which never matches.
    HeaderName,
    /// Valid CEL that conditions do not support (`matches`, macros, maps).
    Unsupported,
    /// Longer or more deeply nested than a condition may be.
    TooComplex,
}

/// A condition refused when compiled: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    /// What kind of mistake.
    pub kind: ConditionErrorKind,
    /// The condition as written.
    pub condition: String,
    /// The 1-based line, for a condition of several lines.
    pub line: Option<u32>,
    /// The 1-based column, in characters.
    pub column: u32,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}`: {} at column {}",
            self.condition, self.message, self.column
        )?;
        if let Some(line) = self.line {
            write!(f, " of line {line}")?;
        }
        write!(f, "; {}", self.hint)
    }
}

impl std::error::Error for ConditionError {}

/// Why a condition could not be evaluated for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalErrorKind {
    /// A header it reads is absent (`headers["x-task"]` without `"x-task" in headers`).
    MissingKey,
    /// A division or remainder by zero, or an overflow.
    Arithmetic,
    /// A conversion failed, such as `int("abc")`.
    Conversion,
    /// The evaluator was not prepared for the condition's variables.
    Unprepared,
    /// Anything else cel reports.
    Other,
}

/// A condition that failed on one request's data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("condition `{condition}` could not be evaluated: {message}")]
pub struct EvalError {
    /// What kind of failure.
    pub kind: EvalErrorKind,
    /// The condition as written.
    pub condition: String,
    /// What cel reported.
    pub message: String,
}

#[cfg(test)]
#[path = "rule_tests.rs"]
mod tests;
