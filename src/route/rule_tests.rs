use super::*;
use http::HeaderValue;

/// Headers as Claude Code sends them, plus a task tag.
fn headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-task", HeaderValue::from_static("review"));
    h.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
    h.append("x-tag", HeaderValue::from_static("first"));
    h.append("x-tag", HeaderValue::from_static("second"));
    h
}

/// One request: a Sonnet-tier model over OpenAI, streaming with three tools, at 23:00 UTC.
fn facts(headers: &HeaderMap) -> Facts<'_> {
    Facts {
        model: "openai/gpt-5",
        provider: "openai",
        tier: "sonnet",
        headers,
        session: "s-1",
        key: "alice",
        team: "eng",
        customer: "",
        budget: BudgetUse {
            used_pct: 90.0,
            session: 10.0,
            key: 20.0,
            team: 30.0,
            customer: 0.0,
            provider: 50.0,
            global: 60.0,
        },
        tokens_input: 120_000,
        stream: true,
        tools: 3,
        thinking: false,
        max_tokens: 32_000,
        hour: 23,
    }
}

fn eval(condition: &str) -> Result<bool, EvalError> {
    let compiled = Condition::compile(condition).unwrap_or_else(|e| panic!("{e}"));
    compiled.matches(&facts(&headers()))
}

fn refused(condition: &str) -> ConditionError {
    match Condition::compile(condition) {
        Ok(_) => panic!("`{condition}` compiled"),
        Err(e) => e,
    }
}

#[test]
fn each_variable_reads_its_fact() {
    for (condition, expected) in [
        (r#"model == "openai/gpt-5""#, true),
        (r#"model == "claude-sonnet-4-5""#, false),
        (r#"provider == "openai""#, true),
        (r#"provider == "anthropic""#, false),
        (r#"tier == "sonnet""#, true),
        (r#"tier == "opus""#, false),
        (r#"headers["x-task"] == "review""#, true),
        (r#"headers["x-task"] == "plan""#, false),
        (r#"session == "s-1""#, true),
        (r#"session == "s-2""#, false),
        (r#"key == "alice""#, true),
        (r#"key == "bob""#, false),
        (r#"team == "eng""#, true),
        (r#"team == "ops""#, false),
        (r#"customer == """#, true),
        (r#"customer == "acme""#, false),
        ("budget.used_pct > 85.0", true),
        ("budget.used_pct > 95.0", false),
        ("budget.session.used_pct == 10.0", true),
        ("budget.session.used_pct > 10.0", false),
        ("budget.key.used_pct == 20.0", true),
        ("budget.key.used_pct > 20.0", false),
        ("budget.team.used_pct == 30.0", true),
        ("budget.team.used_pct > 30.0", false),
        ("budget.customer.used_pct == 0.0", true),
        ("budget.customer.used_pct > 0.0", false),
        ("budget.provider.used_pct == 50.0", true),
        ("budget.provider.used_pct > 50.0", false),
        ("budget.global.used_pct == 60.0", true),
        ("budget.global.used_pct > 60.0", false),
        ("tokens.input > 100000", true),
        ("tokens.input > 200000", false),
        ("request.stream", true),
        ("!request.stream", false),
        ("request.tools == 3", true),
        ("request.tools == 0", false),
        ("!request.thinking", true),
        ("request.thinking", false),
        ("request.max_tokens >= 32000", true),
        ("request.max_tokens > 32000", false),
        ("time.hour >= 22 || time.hour < 6", true),
        ("time.hour >= 9 && time.hour < 18", false),
    ] {
        assert_eq!(eval(condition), Ok(expected), "{condition}");
    }
}

#[test]
fn headers_answer_in_index_size_and_has() {
    for (condition, expected) in [
        (r#""x-task" in headers"#, true),
        (r#""x-absent" in headers"#, false),
        (
            r#""x-task" in headers && headers["x-task"] == "review""#,
            true,
        ),
        // The guard keeps the lookup of an absent header from failing.
        (
            r#""x-absent" in headers && headers["x-absent"] == "review""#,
            false,
        ),
        // A repeated header reads as its first value, and counts once.
        (r#"headers["x-tag"] == "first""#, true),
        ("size(headers) == 3", true),
        ("headers.size() == 3", true),
        ("has(headers.anthropic_version)", false),
        (r#"headers["anthropic-version"].startsWith("2023")"#, true),
    ] {
        assert_eq!(eval(condition), Ok(expected), "{condition}");
    }
}

#[test]
fn strings_lists_and_conversions_work_as_in_cel() {
    for (condition, expected) in [
        (r#"model.startsWith("openai/")"#, true),
        (r#"model.endsWith("-mini")"#, false),
        (r#"model.contains("gpt")"#, true),
        (r#"tier in ["opus", "sonnet"]"#, true),
        (r#"provider in ["groq", "cerebras"]"#, false),
        ("request.tools in [1, 2, 3]", true),
        ("size(model) == 12", true),
        (r#"string(request.tools) == "3""#, true),
        (r#"int("12") + request.tools == 15"#, true),
        ("double(tokens.input) / 1000.0 > 100.0", true),
        ("(request.stream ? 1 : 2) == 1", true),
        (r#"model + "@" + provider == "openai/gpt-5@openai""#, true),
        ("tokens.input % 1000 == 0", true),
        ("-request.tools < 0", true),
    ] {
        assert_eq!(eval(condition), Ok(expected), "{condition}");
    }
}

#[test]
fn an_int_compares_with_a_double_as_cel_does_at_run_time() {
    // cel 0.15 orders and equates int and double by value: `85` works where `85.0` is meant.
    assert_eq!(eval("budget.used_pct > 85"), Ok(true));
    assert_eq!(eval("budget.used_pct == 90"), Ok(true));
    assert_eq!(eval("tokens.input == 120000.0"), Ok(true));
    assert_eq!(eval("request.tools in [3.0]"), Ok(true));
}

#[test]
fn an_int_and_a_double_do_not_mix_in_arithmetic() {
    // cel 0.15 fails `90.0 + 5` at run time, so the checker refuses it, naming the fix.
    let e = refused("budget.used_pct + 5 > 90.0");
    assert_eq!((e.kind, e.column), (ConditionErrorKind::Type, 19));
    assert!(e.hint.contains("`5.0` rather than `5`"), "{e}");
    let e = refused("tokens.input * 1.5 > 1000.0");
    assert_eq!((e.kind, e.column), (ConditionErrorKind::Type, 1));
    assert!(e.hint.contains("double(tokens.input)"), "{e}");
}

#[test]
fn a_syntax_error_shows_where_cel_found_it() {
    let e = refused("model ==");
    assert_eq!(
        (e.kind, e.line, e.column),
        (ConditionErrorKind::Syntax, None, 9)
    );
    assert_eq!(
        e.to_string(),
        "`model ==`: syntax error: mismatched input '<EOF>' at column 9; conditions are CEL, \
         for example `budget.used_pct > 85.0 && tier == \"opus\"`; strings take double quotes"
    );
    let e = refused("tier == 'opus' &&\n  (tokens.input > 1");
    assert_eq!((e.line, e.column), (Some(2), 20));
}

#[test]
fn an_unknown_variable_is_refused_with_the_nearest_name() {
    let e = refused("budget.usd_pct > 85.0");
    assert_eq!((e.kind, e.column), (ConditionErrorKind::UnknownMember, 1));
    assert_eq!(
        e.to_string(),
        "`budget.usd_pct > 85.0`: unknown variable `budget.usd_pct` at column 1; did you mean \
         `budget.used_pct`? Variables: model, provider, tier, headers, session, key, team, \
         customer, budget.used_pct, budget.<scope>.used_pct (scope: session, key, team, \
         customer, provider, global), tokens.input, request.stream, request.tools, \
         request.thinking, request.max_tokens, time.hour"
    );
    let e = refused(r#"tier == "opus" && modle == "x""#);
    assert_eq!(
        (e.kind, e.column),
        (ConditionErrorKind::UnknownVariable, 19)
    );
    assert!(e.hint.starts_with("did you mean `model`?"), "{e}");
    let e = refused("kye == \"alice\"");
    assert!(e.hint.starts_with("did you mean `key`?"), "{e}");
}

#[test]
fn a_name_far_from_every_variable_lists_them_all() {
    let e = refused(r#"colour == "red""#);
    assert_eq!(e.kind, ConditionErrorKind::UnknownVariable);
    assert!(e.hint.starts_with("Variables: model, provider"), "{e}");
}

#[test]
fn an_unknown_member_is_refused() {
    let e = refused("request.foo > 0");
    assert_eq!((e.kind, e.column), (ConditionErrorKind::UnknownMember, 1));
    assert!(e.message.contains("`request.foo`"), "{e}");
    let e = refused("budget.team > 50.0");
    assert_eq!(e.kind, ConditionErrorKind::UnknownMember);
    assert!(e.message.contains("`budget.team` is not a value"), "{e}");
    let e = refused(r#"model.vendor == "openai""#);
    assert_eq!(e.kind, ConditionErrorKind::UnknownMember);
    let e = refused("request > 1");
    assert_eq!(e.kind, ConditionErrorKind::UnknownMember);
}

#[test]
fn a_wrong_type_is_refused_at_its_operator() {
    let e = refused("model > 3");
    assert_eq!((e.kind, e.column), (ConditionErrorKind::Type, 7));
    assert!(e.message.contains("not a string and a int"), "{e}");
    for condition in [
        "model == 3",
        "request.stream && request.tools",
        "!tier",
        r#"tier in headers && tokens.input in ["a"]"#,
        r#"model.startsWith(3)"#,
        "size(request.tools) > 0",
        r#"headers == headers"#,
        "request.tools ? 1 : 2",
        "(request.stream ? 1 : 2.0) > 1",
        "headers[1] == \"x\"",
        "budget.used_pct % 2.0 == 0.0",
        "int(request.stream) == 1",
        "[1, \"a\"] == [1]",
    ] {
        assert_eq!(
            refused(condition).kind,
            ConditionErrorKind::Type,
            "{condition}"
        );
    }
}

#[test]
fn a_condition_that_is_not_a_bool_is_refused() {
    let e = refused("tokens.input + 1");
    assert_eq!(e.kind, ConditionErrorKind::NotBool);
    assert!(e.message.contains("is a int, not a bool"), "{e}");
    assert_eq!(refused("model").kind, ConditionErrorKind::NotBool);
}

#[test]
fn matches_is_refused_for_want_of_regular_expressions() {
    let e = refused(r#"tier == "opus" || model.matches("gpt-.*")"#);
    assert_eq!((e.kind, e.column), (ConditionErrorKind::Unsupported, 25));
    assert!(e.hint.contains("startsWith"), "{e}");
    let e = refused(r#"matches(model, "gpt-.*")"#);
    assert_eq!((e.kind, e.column), (ConditionErrorKind::Unsupported, 1));
}

#[test]
fn cel_outside_the_routing_subset_is_refused() {
    for condition in [
        r#"["a", "b"].exists(t, t == tier)"#,
        r#"{"a": 1}["a"] == 1"#,
        "customer == null",
        "request.tools == 3u",
        r#"b"x" == b"x""#,
        r#"type(model) == string"#,
        "model in []",
        "has(request.tools)",
        r#"timestamp("2025-01-01T00:00:00Z") < timestamp("2026-01-01T00:00:00Z")"#,
    ] {
        assert_eq!(
            refused(condition).kind,
            ConditionErrorKind::Unsupported,
            "{condition}"
        );
    }
}

#[test]
fn an_upper_case_header_name_is_refused_as_it_never_matches() {
    let e = refused(r#"headers["X-Task"] == "review""#);
    assert_eq!((e.kind, e.column), (ConditionErrorKind::HeaderName, 9));
    assert_eq!(e.hint, "write `x-task`");
    assert_eq!(
        refused(r#""X-Task" in headers"#).kind,
        ConditionErrorKind::HeaderName
    );
}

#[test]
fn a_runtime_failure_is_an_error_not_a_panic() {
    let e = eval(r#"headers["absent"] == "x""#).unwrap_err();
    assert_eq!(e.kind, EvalErrorKind::MissingKey);
    assert!(
        e.to_string().contains("`headers[\"absent\"] == \"x\"`"),
        "{e}"
    );
    let e = eval("tokens.input / (request.tools - 3) > 1").unwrap_err();
    assert_eq!(e.kind, EvalErrorKind::Arithmetic);
    let e = eval(r#"int(headers["x-task"]) > 1"#).unwrap_err();
    assert_eq!(e.kind, EvalErrorKind::Conversion);
}

#[test]
fn odd_input_is_refused_without_a_panic() {
    for condition in [
        "",
        " ",
        "(((",
        "\"open",
        "🙂 == model",
        "model ==== 1",
        "a..b",
    ] {
        assert_eq!(
            refused(condition).kind,
            ConditionErrorKind::Syntax,
            "{condition}"
        );
    }
}

#[test]
fn a_condition_too_long_or_too_deep_is_refused_before_it_can_exhaust_the_stack() {
    // Each would overflow a 2 MB stack in the parser, the checker or cel's interpreter.
    let brackets = format!("{}true{}", "(".repeat(300), ")".repeat(300));
    let chain = format!("{}1 > 0", "1 + ".repeat(200));
    let long = format!("model in [{}\"x\"]", "\"openai/gpt-5\", ".repeat(300));
    for condition in [&brackets, &chain, &long] {
        assert_eq!(refused(condition).kind, ConditionErrorKind::TooComplex);
    }
    // Sixty levels, within the bounds, still evaluate.
    let within = format!("{}1 > 60", "1 + ".repeat(60));
    assert_eq!(eval(&within), Ok(true));
}

#[test]
fn a_column_counts_characters() {
    let e = refused(r#""é" == model && nope"#);
    assert_eq!(e.column, 17);
}

#[test]
fn uses_lists_the_variables_read() {
    let c = Condition::compile(r#"budget.team.used_pct > 85.0 && "x-task" in headers"#).unwrap();
    assert!(c.uses().contains(Var::BudgetTeam));
    assert!(c.uses().contains(Var::Headers));
    assert!(!c.uses().contains(Var::Model));
    assert!(!c.uses().contains(Var::BudgetUsedPct));
    assert_eq!(
        c.source(),
        r#"budget.team.used_pct > 85.0 && "x-task" in headers"#
    );
}

#[test]
fn one_evaluator_serves_every_condition_it_was_prepared_for() {
    let conditions = [r#"tier == "opus""#, r#"headers["x-task"] == "review""#]
        .map(|c| Condition::compile(c).unwrap());
    let uses = conditions.iter().fold(Uses::NONE, |u, c| u | c.uses());
    let h = headers();
    let vars = Vars::new(&facts(&h), uses);
    let evaluator = Evaluator::new(&vars);
    let results: Vec<_> = conditions
        .iter()
        .map(|c| c.matches_in(&evaluator))
        .collect();
    assert_eq!(results, [Ok(false), Ok(true)]);
    // Prepared without the headers, the second refuses rather than read none.
    let vars = Vars::new(&facts(&h), conditions[0].uses());
    let e = conditions[1]
        .matches_in(&Evaluator::new(&vars))
        .unwrap_err();
    assert_eq!(e.kind, EvalErrorKind::Unprepared);
}

#[test]
fn conditions_are_shared_across_threads_and_an_evaluator_may_cross_an_await() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Condition>();
    send_sync::<Vars<'_>>();
    send_sync::<Evaluator<'_>>();
}

#[test]
fn a_nan_budget_reads_as_zero() {
    let h = headers();
    let mut f = facts(&h);
    f.budget.used_pct = f64::NAN;
    let c = Condition::compile("budget.used_pct < 1.0").unwrap();
    assert_eq!(c.matches(&f), Ok(true));
}

#[test]
fn edit_distance_counts_a_swap_as_one() {
    assert_eq!(check::edit_distance("kye", "key"), 1);
    assert_eq!(check::edit_distance("budget.usd_pct", "budget.used_pct"), 1);
    assert_eq!(check::edit_distance("", "abc"), 3);
}
