//! The type checker: cel 0.15 evaluates without checking types, so this infers the type of
//! every node of a parsed condition over the subset of CEL that routing needs, refuses what
//! cel would fail on at run time, and says where and how to fix it.

use cel::common::ast::{CallExpr, Expr, IdedExpr, LiteralValue, SourceInfo, operators};

use super::{
    ConditionError, ConditionErrorKind, MAX_DEPTH, MAX_NESTING, Uses, VARIABLE_LIST, VARS,
    is_namespace, variable,
};

/// The types the checker knows: CEL's, for the subset a condition may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
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
    pub(super) fn name(self) -> &'static str {
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
pub(super) struct Checker<'a> {
    source: &'a str,
    info: &'a SourceInfo,
    uses: Uses,
    /// How deep in the tree the node being checked is.
    depth: usize,
}

impl<'a> Checker<'a> {
    /// A checker for `source`, parsed with `info`.
    pub(super) fn new(source: &'a str, info: &'a SourceInfo) -> Checker<'a> {
        Checker {
            source,
            info,
            uses: Uses::NONE,
            depth: 0,
        }
    }

    /// The variables read by what was checked.
    pub(super) fn uses(&self) -> Uses {
        self.uses
    }

    /// The type of `e`; each dotted variable in it is folded into one identifier.
    pub(super) fn check(&mut self, e: &mut IdedExpr) -> Result<Ty, ConditionError> {
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

    pub(super) fn error(
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

pub(super) fn syntax_error(source: &str, errors: &cel::ParseErrors) -> ConditionError {
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
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
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
