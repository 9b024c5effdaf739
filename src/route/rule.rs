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

use cel::common::ast::{CallExpr, Expr, IdedExpr, LiteralValue, SourceInfo, operators};
use cel::common::traits::{Container, Indexer, Sizer};
use cel::common::types::{CelBool, CelDouble, CelInt, CelString, MAP_TYPE, Type};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::parser::Parser;
use cel::{Context, Env, ExecutionError, Value};
use http::HeaderMap;

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
        let mut checker = Checker {
            source,
            info: &info,
            uses: Uses::NONE,
            depth: 0,
        };
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
            uses: checker.uses,
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

/// The types the checker knows: CEL's, for the subset a condition may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Bool,
    Int,
    Double,
    String,
    /// `map(string, string)`: only `headers` has it.
    Headers,
    /// A list literal, of scalars.
    List(&'static Ty),
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Bool => "bool",
            Ty::Int => "int",
            Ty::Double => "double",
            Ty::String => "string",
            Ty::Headers => "map(string, string)",
            Ty::List(Ty::Bool) => "list(bool)",
            Ty::List(Ty::Int) => "list(int)",
            Ty::List(Ty::Double) => "list(double)",
            Ty::List(_) => "list(string)",
        }
    }

    fn is_number(self) -> bool {
        matches!(self, Ty::Int | Ty::Double)
    }

    fn is_scalar(self) -> bool {
        matches!(self, Ty::Bool | Ty::Int | Ty::Double | Ty::String)
    }

    /// A list of this type, if it can be an element.
    fn list(self) -> Option<Ty> {
        match self {
            Ty::Bool => Some(Ty::List(&Ty::Bool)),
            Ty::Int => Some(Ty::List(&Ty::Int)),
            Ty::Double => Some(Ty::List(&Ty::Double)),
            Ty::String => Some(Ty::List(&Ty::String)),
            Ty::Headers | Ty::List(_) => None,
        }
    }

    /// Whether values of the two types can be equal, as cel compares them.
    fn comparable(self, other: Ty) -> bool {
        self == other || (self.is_number() && other.is_number())
    }

    /// A literal of the type, for hints.
    fn example(self) -> &'static str {
        match self {
            Ty::Bool => "`true`",
            Ty::Int => "`3`",
            Ty::Double => "`85.0`",
            Ty::String => "`\"text\"`",
            Ty::Headers => "`headers`",
            Ty::List(_) => "`[\"a\", \"b\"]`",
        }
    }
}

/// Infers the type of each node of a parsed condition, refusing what cel would fail on at
/// run time, and notes the variables read.
struct Checker<'a> {
    source: &'a str,
    info: &'a SourceInfo,
    uses: Uses,
    /// How deep in the tree the node being checked is.
    depth: usize,
}

impl Checker<'_> {
    fn check(&mut self, e: &mut IdedExpr) -> Result<Ty, ConditionError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(
                e.id,
                ConditionErrorKind::TooComplex,
                format!("the condition nests more than {MAX_DEPTH} levels deep"),
                "split it into several rules".to_owned(),
            ));
        }
        self.depth += 1;
        let ty = self.check_node(e);
        self.depth -= 1;
        ty
    }

    fn check_node(&mut self, e: &mut IdedExpr) -> Result<Ty, ConditionError> {
        let id = e.id;
        match &mut e.expr {
            Expr::Literal(literal) => self.literal(id, literal),
            Expr::Ident(name) => {
                let name = name.clone();
                self.name(id, &name)
            }
            Expr::Select(select) if select.test => {
                // `has(headers.x)`: the only field that may be absent is a header.
                let field = select.field.clone();
                if !matches!(&select.operand.expr, Expr::Ident(name) if name == "headers") {
                    return Err(self.error(
                        id,
                        ConditionErrorKind::Unsupported,
                        "`has()` tests a header, as in `has(headers.authorization)`".to_owned(),
                        "variables are always present; test a header with `\"x-name\" in headers`"
                            .to_owned(),
                    ));
                }
                self.check(&mut select.operand)?;
                self.header_name(id, &field)?;
                Ok(Ty::Bool)
            }
            Expr::Select(_) => {
                if let Some((name, root)) = dotted_name(&e.expr) {
                    if let Some((var, ty)) = variable(&name) {
                        self.uses = self.uses.with(var);
                        // The identifier's node places the name where it starts.
                        e.id = root;
                        e.expr = Expr::Ident(name);
                        return Ok(ty);
                    }
                    if !name.starts_with("headers.") {
                        return Err(self.unknown(root, &name));
                    }
                }
                let Expr::Select(select) = &mut e.expr else {
                    return Err(self.error(
                        id,
                        ConditionErrorKind::Unsupported,
                        "unexpected expression".to_owned(),
                        format!("use the variables: {VARIABLE_LIST}"),
                    ));
                };
                let field = select.field.clone();
                let ty = self.check(&mut select.operand)?;
                if ty != Ty::Headers {
                    return Err(self.error(
                        id,
                        ConditionErrorKind::UnknownMember,
                        format!("a {} has no field `{field}`", ty.name()),
                        format!("the variables are: {VARIABLE_LIST}"),
                    ));
                }
                self.header_name(id, &field)?;
                Ok(Ty::String)
            }
            Expr::Call(call) => self.call(id, call),
            Expr::List(list) => {
                let mut elements = list.elements.iter_mut();
                let Some(first) = elements.next() else {
                    return Err(self.error(
                        id,
                        ConditionErrorKind::Unsupported,
                        "an empty list contains nothing".to_owned(),
                        "list the values to test, for example `tier in [\"opus\", \"sonnet\"]`"
                            .to_owned(),
                    ));
                };
                let ty = self.check(first)?;
                for element in elements {
                    let other = self.check(element)?;
                    if other != ty {
                        return Err(self.error(
                            element.id,
                            ConditionErrorKind::Type,
                            format!(
                                "a list of {} holds a {}",
                                ty.name(),
                                other.name()
                            ),
                            "give every element of a list the same type".to_owned(),
                        ));
                    }
                }
                ty.list().ok_or_else(|| {
                    self.error(
                        id,
                        ConditionErrorKind::Unsupported,
                        format!("a list of {} is not supported", ty.name()),
                        "list strings or numbers, for example `tier in [\"opus\", \"sonnet\"]`"
                            .to_owned(),
                    )
                })
            }
            Expr::Map(_) | Expr::Struct(_) => Err(self.error(
                id,
                ConditionErrorKind::Unsupported,
                "map and message literals are not supported in a condition".to_owned(),
                "test the variables with `==`, `in` and the string functions".to_owned(),
            )),
            Expr::Comprehension(_) => Err(self.error(
                id,
                ConditionErrorKind::Unsupported,
                "`all`, `exists`, `exists_one`, `map` and `filter` are not supported in a condition"
                    .to_owned(),
                "test a list with `in`, for example `model in [\"openai/gpt-5\", \"openai/o3\"]`"
                    .to_owned(),
            )),
            Expr::Unspecified => Err(self.error(
                id,
                ConditionErrorKind::Syntax,
                "the condition is incomplete".to_owned(),
                "write a test, for example `budget.used_pct > 85.0`".to_owned(),
            )),
        }
    }

    fn literal(&mut self, id: u64, literal: &LiteralValue) -> Result<Ty, ConditionError> {
        match literal {
            LiteralValue::Boolean(_) => Ok(Ty::Bool),
            LiteralValue::Int(_) => Ok(Ty::Int),
            LiteralValue::Double(_) => Ok(Ty::Double),
            LiteralValue::String(_) => Ok(Ty::String),
            LiteralValue::UInt(_) => Err(self.error(
                id,
                ConditionErrorKind::Unsupported,
                "unsigned ints are not supported in a condition".to_owned(),
                "drop the `u`: counts are ints".to_owned(),
            )),
            LiteralValue::Bytes(_) => Err(self.error(
                id,
                ConditionErrorKind::Unsupported,
                "bytes are not supported in a condition".to_owned(),
                "drop the `b`: headers and names are strings".to_owned(),
            )),
            LiteralValue::Null => Err(self.error(
                id,
                ConditionErrorKind::Unsupported,
                "`null` is not supported in a condition".to_owned(),
                "a missing name is the empty string `\"\"`; test a header with \
                 `\"x-name\" in headers`"
                    .to_owned(),
            )),
        }
    }

    /// A variable named by an identifier.
    fn name(&mut self, id: u64, name: &str) -> Result<Ty, ConditionError> {
        match variable(name) {
            Some((var, ty)) => {
                self.uses = self.uses.with(var);
                Ok(ty)
            }
            None => Err(self.unknown(id, name)),
        }
    }

    fn unknown(&self, id: u64, name: &str) -> ConditionError {
        let root = name.split('.').next().unwrap_or(name);
        let (kind, what) = if is_namespace(name) {
            (
                ConditionErrorKind::UnknownMember,
                format!("`{name}` is not a value"),
            )
        } else if is_namespace(root) || variable(root).is_some() {
            (
                ConditionErrorKind::UnknownMember,
                format!("unknown variable `{name}`"),
            )
        } else {
            (
                ConditionErrorKind::UnknownVariable,
                format!("unknown variable `{name}`"),
            )
        };
        let hint = match closest(name) {
            Some(near) => format!("did you mean `{near}`? Variables: {VARIABLE_LIST}"),
            None => format!("Variables: {VARIABLE_LIST}"),
        };
        self.error(id, kind, what, hint)
    }

    /// Refuses a header name a lookup could never find: the names are lower-case.
    fn header_name(&self, id: u64, name: &str) -> Result<(), ConditionError> {
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(self.error(
                id,
                ConditionErrorKind::HeaderName,
                format!("header `{name}` has upper-case letters, and header names are lower-case"),
                format!("write `{}`", name.to_ascii_lowercase()),
            ));
        }
        Ok(())
    }

    fn call(&mut self, id: u64, call: &mut CallExpr) -> Result<Ty, ConditionError> {
        let name = call.func_name.as_str();
        if let Some(target) = call.target.as_deref_mut() {
            let on = self.check(target)?;
            let args = self.args(&mut call.args)?;
            return self.method(id, name, on, &args);
        }
        let args = self.args(&mut call.args)?;
        match (name, args.as_slice()) {
            (operators::LOGICAL_AND | operators::LOGICAL_OR, &[(a, aid), (b, bid)]) => {
                let op = symbol(name);
                for (ty, at) in [(a, aid), (b, bid)] {
                    if ty != Ty::Bool {
                        return Err(self.error(
                            at,
                            ConditionErrorKind::Type,
                            format!("`{op}` joins bools, and this is a {}", ty.name()),
                            "compare it, for example `tokens.input > 100000`".to_owned(),
                        ));
                    }
                }
                Ok(Ty::Bool)
            }
            (operators::LOGICAL_NOT, &[(a, _)]) => {
                if a != Ty::Bool {
                    return Err(self.error(
                        id,
                        ConditionErrorKind::Type,
                        format!("`!` negates a bool, not a {}", a.name()),
                        "compare it first, for example `!(tier == \"opus\")`".to_owned(),
                    ));
                }
                Ok(Ty::Bool)
            }
            (operators::NEGATE, &[(a, _)]) => {
                if !a.is_number() {
                    return Err(self.error(
                        id,
                        ConditionErrorKind::Type,
                        format!("`-` negates a number, not a {}", a.name()),
                        "negate an int or a double".to_owned(),
                    ));
                }
                Ok(a)
            }
            (operators::CONDITIONAL, &[(c, _), (a, _), (b, _)]) => {
                if c != Ty::Bool {
                    return Err(self.error(
                        id,
                        ConditionErrorKind::Type,
                        format!("`? :` needs a bool before `?`, not a {}", c.name()),
                        "compare it, for example `request.stream ? 1 : 2`".to_owned(),
                    ));
                }
                if a != b {
                    return Err(self.error(
                        id,
                        ConditionErrorKind::Type,
                        format!(
                            "the two branches of `? :` differ: {} and {}",
                            a.name(),
                            b.name()
                        ),
                        "give both branches the same type (`85.0`, not `85`, for a double)"
                            .to_owned(),
                    ));
                }
                Ok(a)
            }
            (operators::EQUALS | operators::NOT_EQUALS, &[(a, _), (b, _)]) => {
                let op = symbol(name);
                if !a.is_scalar() || !b.is_scalar() {
                    return Err(self.error(
                        id,
                        ConditionErrorKind::Type,
                        format!(
                            "`{op}` compares strings, numbers or bools, not {} and {}",
                            a.name(),
                            b.name()
                        ),
                        "compare single values: `headers[\"x-task\"] == \"review\"`, \
                         `\"x-task\" in headers`"
                            .to_owned(),
                    ));
                }
                if !a.comparable(b) {
                    return Err(self.error(
                        id,
                        ConditionErrorKind::Type,
                        format!(
                            "`{op}` between a {} and a {} is never true",
                            a.name(),
                            b.name()
                        ),
                        format!(
                            "compare a {} with a {}, such as {}",
                            a.name(),
                            a.name(),
                            a.example()
                        ),
                    ));
                }
                Ok(Ty::Bool)
            }
            (
                operators::LESS
                | operators::LESS_EQUALS
                | operators::GREATER
                | operators::GREATER_EQUALS,
                &[(a, _), (b, _)],
            ) => {
                let op = symbol(name);
                let strings = a == Ty::String && b == Ty::String;
                if !(a.is_number() && b.is_number() || strings) {
                    return Err(self.error(
                        id,
                        ConditionErrorKind::Type,
                        format!(
                            "`{op}` orders two numbers or two strings, not a {} and a {}",
                            a.name(),
                            b.name()
                        ),
                        if a.is_number() || a == Ty::String {
                            format!(
                                "compare a {} with a {}, such as {}",
                                a.name(),
                                a.name(),
                                a.example()
                            )
                        } else {
                            "order numbers, for example `budget.used_pct > 85.0`".to_owned()
                        },
                    ));
                }
                Ok(Ty::Bool)
            }
            (
                operators::ADD
                | operators::SUBSTRACT
                | operators::MULTIPLY
                | operators::DIVIDE
                | operators::MODULO,
                &[(a, aid), (b, bid)],
            ) => self.arithmetic(id, name, (a, aid), (b, bid), &call.args),
            (operators::INDEX, &[(a, _), (b, bid)]) => match (a, b) {
                (Ty::Headers, Ty::String) => {
                    if let Some(key) = string_literal(&call.args, 1) {
                        self.header_name(bid, key)?;
                    }
                    Ok(Ty::String)
                }
                (Ty::List(element), Ty::Int) => Ok(*element),
                _ => Err(self.error(
                    id,
                    ConditionErrorKind::Type,
                    format!("a {} cannot be indexed with a {}", a.name(), b.name()),
                    "look a header up by name: `headers[\"x-task\"]`".to_owned(),
                )),
            },
            (operators::IN, &[(a, aid), (b, _)]) => match (a, b) {
                (Ty::String, Ty::Headers) => {
                    if let Some(key) = string_literal(&call.args, 0) {
                        self.header_name(aid, key)?;
                    }
                    Ok(Ty::Bool)
                }
                (a, Ty::List(element)) if a.comparable(*element) => Ok(Ty::Bool),
                _ => Err(self.error(
                    id,
                    ConditionErrorKind::Type,
                    format!("`in` cannot look for a {} in a {}", a.name(), b.name()),
                    "look for a header name in `headers`, or for a value in a list of its type: \
                     `tier in [\"opus\", \"sonnet\"]`"
                        .to_owned(),
                )),
            },
            ("size", &[(a, _)]) => self.size(id, a),
            ("int", &[(a, _)]) => self.convert(id, "int", a, &[Ty::Int, Ty::Double, Ty::String]),
            ("double", &[(a, _)]) => {
                self.convert(id, "double", a, &[Ty::Int, Ty::Double, Ty::String])
            }
            ("string", &[(a, _)]) => self.convert(
                id,
                "string",
                a,
                &[Ty::Int, Ty::Double, Ty::String, Ty::Bool],
            ),
            ("matches", _) => Err(self.no_regex(id)),
            ("size" | "int" | "double" | "string" | "startsWith" | "endsWith" | "contains", _) => {
                Err(self.call_error(
                    id,
                    name,
                    ConditionErrorKind::Type,
                    format!("`{name}` is not called like this"),
                    FUNCTIONS_HINT.to_owned(),
                ))
            }
            _ => Err(self.call_error(
                id,
                name,
                ConditionErrorKind::Unsupported,
                format!("unknown function `{name}`"),
                FUNCTIONS_HINT.to_owned(),
            )),
        }
    }

    /// A call on a target: `model.startsWith("openai/")`, `headers.size()`.
    fn method(
        &self,
        id: u64,
        name: &str,
        on: Ty,
        args: &[(Ty, u64)],
    ) -> Result<Ty, ConditionError> {
        match (name, on, args) {
            ("startsWith" | "endsWith" | "contains", Ty::String, &[(Ty::String, _)]) => {
                Ok(Ty::Bool)
            }
            ("startsWith" | "endsWith" | "contains", _, _) => Err(self.call_error(
                id,
                name,
                ConditionErrorKind::Type,
                format!(
                    "`{name}` is called on a string with a string, not on a {}{}",
                    on.name(),
                    match args {
                        [(a, _)] => format!(" with a {}", a.name()),
                        _ => format!(" with {} arguments", args.len()),
                    }
                ),
                format!("for example `model.{name}(\"openai/\")`"),
            )),
            ("size", _, &[]) => self.size(id, on),
            ("matches", ..) => Err(self.no_regex(id)),
            _ => Err(self.call_error(
                id,
                name,
                ConditionErrorKind::Unsupported,
                format!("unknown function `{name}` on a {}", on.name()),
                FUNCTIONS_HINT.to_owned(),
            )),
        }
    }

    fn args(&mut self, args: &mut [IdedExpr]) -> Result<Vec<(Ty, u64)>, ConditionError> {
        args.iter_mut()
            .map(|a| Ok((self.check(a)?, a.id)))
            .collect()
    }

    fn arithmetic(
        &self,
        id: u64,
        name: &str,
        (a, aid): (Ty, u64),
        (b, bid): (Ty, u64),
        exprs: &[IdedExpr],
    ) -> Result<Ty, ConditionError> {
        let op = symbol(name);
        if a.is_number() && b.is_number() && a != b {
            // cel 0.15 orders an int against a double but does not add them.
            let (int_at, int_index) = if a == Ty::Int { (aid, 0) } else { (bid, 1) };
            let hint = match int_literal(exprs, int_index) {
                Some(n) => format!("write the int as a double: `{n}.0` rather than `{n}`"),
                None => "convert one side: `double(tokens.input)`, or `int(...)`".to_owned(),
            };
            return Err(self.error(
                int_at,
                ConditionErrorKind::Type,
                format!("`{op}` does not mix an int and a double"),
                hint,
            ));
        }
        let ok = match name {
            operators::ADD => a == b && matches!(a, Ty::Int | Ty::Double | Ty::String),
            operators::MODULO => a == Ty::Int && b == Ty::Int,
            _ => a == b && a.is_number(),
        };
        if !ok {
            let takes = match name {
                operators::ADD => "two ints, two doubles or two strings",
                operators::MODULO => "two ints",
                _ => "two ints or two doubles",
            };
            return Err(self.error(
                id,
                ConditionErrorKind::Type,
                format!(
                    "`{op}` takes {takes}, not a {} and a {}",
                    a.name(),
                    b.name()
                ),
                "for example `tokens.input + request.max_tokens > 150000`".to_owned(),
            ));
        }
        Ok(a)
    }

    fn size(&self, id: u64, of: Ty) -> Result<Ty, ConditionError> {
        match of {
            Ty::String | Ty::Headers | Ty::List(_) => Ok(Ty::Int),
            _ => Err(self.call_error(
                id,
                "size",
                ConditionErrorKind::Type,
                format!(
                    "`size` measures a string, a list or `headers`, not a {}",
                    of.name()
                ),
                "for example `size(model) > 20`".to_owned(),
            )),
        }
    }

    fn convert(&self, id: u64, to: &str, from: Ty, accepts: &[Ty]) -> Result<Ty, ConditionError> {
        if !accepts.contains(&from) {
            return Err(self.call_error(
                id,
                to,
                ConditionErrorKind::Type,
                format!("`{to}()` cannot convert a {}", from.name()),
                format!(
                    "`{to}()` takes {}",
                    accepts
                        .iter()
                        .map(|t| format!("a {}", t.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        Ok(match to {
            "int" => Ty::Int,
            "double" => Ty::Double,
            _ => Ty::String,
        })
    }

    fn no_regex(&self, id: u64) -> ConditionError {
        self.call_error(
            id,
            "matches",
            ConditionErrorKind::Unsupported,
            "`matches` is not available: bgw is built without regular expressions".to_owned(),
            "use `startsWith`, `endsWith` or `contains`, or list the values with `in`".to_owned(),
        )
    }

    fn error(
        &self,
        id: u64,
        kind: ConditionErrorKind,
        message: String,
        hint: String,
    ) -> ConditionError {
        let offset = self
            .info
            .offset_for(id)
            .map_or(0, |(start, _)| start as usize);
        self.error_at(offset, kind, message, hint)
    }

    /// An error about a call of `name`, shown at the name rather than at its `(`, where cel
    /// places the call.
    fn call_error(
        &self,
        id: u64,
        name: &str,
        kind: ConditionErrorKind,
        message: String,
        hint: String,
    ) -> ConditionError {
        let paren = self
            .info
            .offset_for(id)
            .map_or(0, |(start, _)| start as usize);
        let before = self.source.get(..paren).unwrap_or_default().trim_end();
        let offset = if before.ends_with(name) {
            before.len() - name.len()
        } else {
            paren
        };
        self.error_at(offset, kind, message, hint)
    }

    fn error_at(
        &self,
        offset: usize,
        kind: ConditionErrorKind,
        message: String,
        hint: String,
    ) -> ConditionError {
        let (line, column) = position(self.source, offset);
        ConditionError {
            kind,
            condition: self.source.to_owned(),
            line: self.source.contains('\n').then_some(line),
            column,
            message,
            hint,
        }
    }
}

const FUNCTIONS_HINT: &str = "the functions are `size()`, `int()`, `double()`, `string()`, and \
     on strings `startsWith()`, `endsWith()` and `contains()`";

/// The operator as written, for messages.
fn symbol(name: &str) -> &str {
    name.trim_matches('_')
        .strip_prefix('@')
        .unwrap_or(name.trim_matches('_'))
}

/// The string literal at `index` among `args`, if it is one.
fn string_literal(args: &[IdedExpr], index: usize) -> Option<&str> {
    match &args.get(index)?.expr {
        Expr::Literal(LiteralValue::String(s)) => Some(s.inner()),
        _ => None,
    }
}

/// The int literal at `index` among `args`, if it is one.
fn int_literal(args: &[IdedExpr], index: usize) -> Option<i64> {
    match &args.get(index)?.expr {
        Expr::Literal(LiteralValue::Int(n)) => Some(*n.inner()),
        _ => None,
    }
}

/// The dotted name an identifier and its field selections spell (`budget.team.used_pct`),
/// and the identifier's node, where the name starts.
fn dotted_name(expr: &Expr) -> Option<(String, u64)> {
    let mut fields = Vec::new();
    let mut at = expr;
    loop {
        match at {
            Expr::Select(select) if !select.test => {
                fields.push(select.field.as_str());
                if let Expr::Ident(root) = &select.operand.expr {
                    fields.push(root.as_str());
                    fields.reverse();
                    return Some((fields.join("."), select.operand.id));
                }
                at = &select.operand.expr;
            }
            _ => return None,
        }
    }
}

/// The 1-based line and column (in characters) of a byte offset in `source`, as cel's parser
/// records them.
fn position(source: &str, offset: usize) -> (u32, u32) {
    let (mut line, mut column) = (1u32, 1u32);
    let before = source.get(..offset).unwrap_or(source);
    for c in before.chars() {
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

fn syntax_error(source: &str, errors: &cel::ParseErrors) -> ConditionError {
    if let Some(e) = errors
        .errors
        .iter()
        .find(|e| e.msg.contains("Recursion limit"))
    {
        return ConditionError {
            kind: ConditionErrorKind::TooComplex,
            condition: source.to_owned(),
            line: source
                .contains('\n')
                .then_some(u32::try_from(e.pos.0).unwrap_or(1).max(1)),
            column: u32::try_from(e.pos.1).unwrap_or(1).max(1),
            message: format!("brackets nest more than {MAX_NESTING} deep"),
            hint: "split it into several rules".to_owned(),
        };
    }
    let (line, column, message) = match errors.errors.first() {
        Some(e) => (
            u32::try_from(e.pos.0).unwrap_or(1).max(1),
            u32::try_from(e.pos.1).unwrap_or(1).max(1),
            parse_message(&e.msg),
        ),
        None => (1, 1, "the condition cannot be parsed".to_owned()),
    };
    ConditionError {
        kind: ConditionErrorKind::Syntax,
        condition: source.to_owned(),
        line: source.contains('\n').then_some(line),
        column,
        message: format!("syntax error: {message}"),
        hint: "conditions are CEL, for example `budget.used_pct > 85.0 && tier == \"opus\"`; \
               strings take double quotes"
            .to_owned(),
    }
}

/// cel's parse error for a person: without its `Syntax error:` prefix and the list of the
/// grammar's tokens it expected, which names ANTLR's token kinds (`NUM_UINT`).
fn parse_message(msg: &str) -> String {
    let msg = msg.strip_prefix("Syntax error: ").unwrap_or(msg);
    match msg.split_once(" expecting {") {
        Some((head, _)) => head.to_owned(),
        None => msg.to_owned(),
    }
}

/// The variable whose name is nearest `name`, if one is near enough to be a slip.
fn closest(name: &str) -> Option<&'static str> {
    let most = (name.chars().count() / 3).clamp(1, 3);
    VARS.iter()
        .map(|(n, ..)| (edit_distance(name, n), *n))
        .filter(|&(d, _)| d <= most)
        .min_by_key(|&(d, _)| d)
        .map(|(_, n)| n)
}

/// Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the table: two back, one back, this one.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut last: Vec<usize> = (0..=b.len()).collect();
    let mut row: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        row[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (last[j] + 1).min(row[j - 1] + 1).min(last[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            row[j] = d;
        }
        std::mem::swap(&mut before, &mut last);
        std::mem::swap(&mut last, &mut row);
    }
    last[b.len()]
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
