//! Routing rules (`bgw route add`): compiled once when the config is read, searched per
//! request in scope order (key → team → customer → global), by priority within a scope; the
//! first rule whose condition holds decides the targets.

use crate::govern::scope::Caller;
use crate::store::routes::RouteRecord;

use super::rule::{Condition, EvalError, Evaluator, Uses};

/// Whose requests a rule sees.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RuleScope {
    Key(String),
    Team(String),
    Customer(String),
    Global,
}

impl RuleScope {
    /// Reads `global`, `key:NAME`, `team:NAME` or `customer:NAME`.
    pub fn parse(text: &str) -> Result<RuleScope, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("global") {
            return Ok(RuleScope::Global);
        }
        let bad = || {
            format!(
                "`{text}` is not a rule scope: write `global`, `key:NAME`, `team:NAME` or `customer:NAME`"
            )
        };
        let (kind, name) = text.split_once(':').ok_or_else(bad)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad());
        }
        match kind.trim().to_ascii_lowercase().as_str() {
            "key" => Ok(RuleScope::Key(name.to_owned())),
            "team" => Ok(RuleScope::Team(name.to_owned())),
            "customer" => Ok(RuleScope::Customer(name.to_owned())),
            _ => Err(bad()),
        }
    }

    /// Whether a request of `caller` is in this scope.
    pub fn holds(&self, caller: &Caller) -> bool {
        let is = |name: &String, of: &Option<String>| of.as_deref() == Some(name.as_str());
        match self {
            RuleScope::Key(n) => is(n, &caller.key),
            RuleScope::Team(n) => is(n, &caller.team),
            RuleScope::Customer(n) => is(n, &caller.customer),
            RuleScope::Global => true,
        }
    }
}

impl std::fmt::Display for RuleScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuleScope::Key(n) => write!(f, "key:{n}"),
            RuleScope::Team(n) => write!(f, "team:{n}"),
            RuleScope::Customer(n) => write!(f, "customer:{n}"),
            RuleScope::Global => f.write_str("global"),
        }
    }
}

/// Reads `--to`: `provider/model` or `a=70,b=30` (weights on any positive scale).
pub fn parse_targets(text: &str) -> Result<Vec<(String, f64)>, String> {
    let mut out = Vec::new();
    let parts: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        return Err(
            "`--to` names no target: write `provider/model`, or `a=70,b=30` to split".into(),
        );
    }
    for part in &parts {
        let (address, weight) = match part.rsplit_once('=') {
            Some((a, w)) => {
                let w: f64 = w.trim().parse().map_err(|_| {
                    format!(
                        "`{part}`: the weight after `=` must be a number, as in `openai/gpt-4o=70`"
                    )
                })?;
                (a.trim(), w)
            }
            None if parts.len() == 1 => (*part, 1.0),
            None => {
                return Err(format!(
                    "`{part}` has no weight: give each target of a split one, as in `openai/gpt-4o=70,groq/llama-3.1-70b-versatile=30`"
                ));
            }
        };
        if !(weight.is_finite() && weight > 0.0) {
            return Err(format!("`{part}`: a weight must be a positive number"));
        }
        if out.iter().any(|(a, _): &(String, f64)| a == address) {
            return Err(format!("`{address}` is named twice in `--to`"));
        }
        out.push((address.to_owned(), weight));
    }
    Ok(out)
}

/// One rule, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub scope: RuleScope,
    pub priority: i32,
    pub condition: Condition,
    /// Targets with weights summing to 1.
    pub to: Vec<(String, f64)>,
    pub fallback: Vec<String>,
}

impl Rule {
    /// Compiles a stored rule.
    pub fn from_record(r: &RouteRecord) -> Result<Rule, String> {
        let condition = Condition::compile(&r.when).map_err(|e| e.to_string())?;
        let scope = RuleScope::parse(&r.scope)?;
        let total: f64 = r.to.iter().map(|(_, w)| w).sum();
        if r.to.is_empty() || !(total.is_finite() && total > 0.0) {
            return Err("it names no target with a positive weight".into());
        }
        Ok(Rule {
            name: r.name.clone(),
            scope,
            priority: r.priority,
            condition,
            to: r.to.iter().map(|(a, w)| (a.clone(), w / total)).collect(),
            fallback: r.fallback.clone(),
        })
    }

    /// The target a `roll` in [0, 1) falls on.
    pub fn choose(&self, roll: f64) -> usize {
        let weights: Vec<f64> = self.to.iter().map(|(_, w)| *w).collect();
        super::weighted_pick(&weights, roll).unwrap_or(0)
    }

    /// The addresses to try, in order: the chosen target, the fallbacks, the split's others.
    pub fn addresses(&self, chosen: usize) -> Vec<&str> {
        let mut out = vec![self.to[chosen].0.as_str()];
        for f in &self.fallback {
            if !out.contains(&f.as_str()) {
                out.push(f);
            }
        }
        for (i, (a, _)) in self.to.iter().enumerate() {
            if i != chosen && !out.contains(&a.as_str()) {
                out.push(a);
            }
        }
        out
    }
}

/// How one rule judged a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The caller is not in its scope.
    OutOfScope,
    /// Its condition is false.
    False,
    /// Its condition could not be evaluated (skipped).
    Failed(String),
    /// It decides the request.
    Matched,
}

/// Every enabled rule, compiled, in the order they are searched.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    uses: Uses,
    /// Stored rules that no longer compile (a bgw of another version wrote them), and why.
    pub broken: Vec<(String, String)>,
}

impl RuleSet {
    /// Compiles the enabled rules of `records`.
    pub fn new(records: &[RouteRecord]) -> RuleSet {
        let mut set = RuleSet::default();
        for r in records.iter().filter(|r| r.enabled) {
            match Rule::from_record(r) {
                Ok(rule) => {
                    set.uses = set.uses | rule.condition.uses();
                    set.rules.push(rule);
                }
                Err(why) => set.broken.push((r.name.clone(), why)),
            }
        }
        set.rules.sort_by(|a, b| {
            (&a.scope_rank(), std::cmp::Reverse(a.priority), &a.name).cmp(&(
                &b.scope_rank(),
                std::cmp::Reverse(b.priority),
                &b.name,
            ))
        });
        set
    }

    /// Whether there is no rule to search.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The variables any rule reads.
    pub fn uses(&self) -> Uses {
        self.uses
    }

    /// The rules in search order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The first rule in `caller`'s scopes whose condition holds; a rule whose evaluation
    /// fails is skipped and told to `failed`.
    pub fn first_match(
        &self,
        caller: &Caller,
        facts: &Evaluator<'_>,
        mut failed: impl FnMut(&Rule, &EvalError),
    ) -> Option<&Rule> {
        self.rules.iter().find(|r| {
            r.scope.holds(caller)
                && match r.condition.matches_in(facts) {
                    Ok(m) => m,
                    Err(e) => {
                        failed(r, &e);
                        false
                    }
                }
        })
    }

    /// Each rule's verdict up to the first that matches (`bgw route test`).
    pub fn explain(&self, caller: &Caller, facts: &Evaluator<'_>) -> Vec<(&Rule, Verdict)> {
        let mut out = Vec::new();
        for r in &self.rules {
            let verdict = if !r.scope.holds(caller) {
                Verdict::OutOfScope
            } else {
                match r.condition.matches_in(facts) {
                    Ok(true) => Verdict::Matched,
                    Ok(false) => Verdict::False,
                    Err(e) => Verdict::Failed(e.to_string()),
                }
            };
            let done = verdict == Verdict::Matched;
            out.push((r, verdict));
            if done {
                break;
            }
        }
        out
    }
}

impl Rule {
    /// Key scopes first, then team, customer, global.
    fn scope_rank(&self) -> u8 {
        match self.scope {
            RuleScope::Key(_) => 0,
            RuleScope::Team(_) => 1,
            RuleScope::Customer(_) => 2,
            RuleScope::Global => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, scope: &str, priority: i32, when: &str) -> RouteRecord {
        RouteRecord {
            name: name.into(),
            when: when.into(),
            to: vec![("openai/gpt-4o".into(), 1.0)],
            fallback: Vec::new(),
            scope: scope.into(),
            priority,
            enabled: true,
            created_ms: 0,
        }
    }

    fn caller(key: &str, team: &str) -> Caller {
        Caller {
            key: Some(key.into()),
            team: Some(team.into()),
            customer: None,
        }
    }

    #[test]
    fn targets_read_as_one_address_or_a_weighted_split() {
        assert_eq!(
            parse_targets("openai/gpt-5").unwrap(),
            [("openai/gpt-5".to_owned(), 1.0)]
        );
        assert_eq!(
            parse_targets("openai/gpt-4o=70, groq/llama-3.1-70b-versatile=30").unwrap(),
            [
                ("openai/gpt-4o".to_owned(), 70.0),
                ("groq/llama-3.1-70b-versatile".to_owned(), 30.0)
            ]
        );
        for bad in ["", "a/b=70,c/d", "a/b=-1", "a/b=x", "a/b=1,a/b=2", "a/b=0"] {
            assert!(parse_targets(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn weights_normalise_whatever_their_scale() {
        let mut r = record("ab", "global", 0, "true");
        r.to = vec![("a/x".into(), 70.0), ("b/y".into(), 30.0)];
        let percent = Rule::from_record(&r).unwrap();
        r.to = vec![("a/x".into(), 0.7), ("b/y".into(), 0.3)];
        let fraction = Rule::from_record(&r).unwrap();
        for rule in [&percent, &fraction] {
            assert!((rule.to[0].1 - 0.7).abs() < 1e-12 && (rule.to[1].1 - 0.3).abs() < 1e-12);
            assert_eq!((rule.choose(0.69), rule.choose(0.71)), (0, 1));
        }
    }

    #[test]
    fn scopes_are_searched_key_team_customer_global_and_by_priority_within() {
        let set = RuleSet::new(&[
            record("g-low", "global", 0, "true"),
            record("g-high", "global", 10, "true"),
            record("team", "team:eng", 0, "true"),
            record("key", "key:alice", -5, "true"),
            record("customer", "customer:acme", 0, "true"),
        ]);
        let order: Vec<&str> = set.rules().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(order, ["key", "team", "customer", "g-high", "g-low"]);
    }

    #[test]
    fn a_scope_holds_only_for_its_callers() {
        let alice = caller("alice", "eng");
        assert!(RuleScope::parse("team:eng").unwrap().holds(&alice));
        assert!(!RuleScope::parse("team:ops").unwrap().holds(&alice));
        assert!(
            RuleScope::parse("global")
                .unwrap()
                .holds(&Caller::default())
        );
        assert!(
            !RuleScope::parse("key:alice")
                .unwrap()
                .holds(&Caller::default())
        );
        for bad in ["team", "team:", "group:x", ""] {
            assert!(RuleScope::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_chosen_target_comes_first_then_fallbacks_then_the_splits_others() {
        let mut r = record("ab", "global", 0, "true");
        r.to = vec![("a/x".into(), 1.0), ("b/y".into(), 1.0)];
        r.fallback = vec!["c/z".into(), "a/x".into()];
        let rule = Rule::from_record(&r).unwrap();
        assert_eq!(rule.addresses(1), ["b/y", "c/z", "a/x"]);
        assert_eq!(rule.addresses(0), ["a/x", "c/z", "b/y"]);
    }

    #[test]
    fn disabled_and_broken_rules_are_not_searched() {
        let mut off = record("off", "global", 0, "true");
        off.enabled = false;
        let set = RuleSet::new(&[off, record("broken", "global", 0, "nope > 1")]);
        assert!(set.is_empty());
        assert_eq!(set.broken.len(), 1);
        assert_eq!(set.broken[0].0, "broken");
    }
}
