//! A request under budgets: admitted against every budget on its chain before it is sent,
//! and charged once, from its actual usage, when it ends however it ends.

use std::sync::Arc;

use super::Gateway;
use super::auth::Identity;
use super::config::Config;
use crate::catalog::{Pricing, Usd};
use crate::govern::admit::{self, Admission, Facts};
use crate::messages::{ApiError, Usage};
use crate::providers::Target;
use crate::store::logs::RequestId;

/// What a request may spend, and what it spent.
pub struct Spend {
    pub id: RequestId,
    admission: Option<Admission>,
    pricing: Arc<Pricing>,
    /// Input tokens as usually counted, for a request cut before the provider said.
    input_typical: u64,
    /// It reached a provider (a rate limit counts it).
    sent: bool,
    /// The provider answered it with success: it billed the request, whatever comes after.
    answered: bool,
    /// The provider and model it was admitted for.
    target: Option<(String, String)>,
}

impl Spend {
    /// A request no budget applies to (yet).
    pub fn new(id: RequestId, config: &Config) -> Spend {
        Spend {
            id,
            admission: None,
            pricing: Arc::clone(&config.pricing),
            input_typical: 0,
            sent: false,
            answered: false,
            target: None,
        }
    }

    /// Reserves room for the request in every budget on its chain (the first target's);
    /// refuses it when one has none. The worst case is the dearest of its targets', since a
    /// failover may end on any of them. A caller with no budget on its chain passes at no cost.
    pub async fn admit(
        &mut self,
        gateway: &Gateway,
        config: &Config,
        who: &Identity,
        plan: &[Target],
        body: &[u8],
    ) -> Result<(), ApiError> {
        let Some(target) = plan.first() else {
            return Ok(());
        };
        let chain = config.budgets.chain(
            gateway.session.as_ref(),
            &who.caller,
            &target.provider,
            target.key_name.as_deref(),
        );
        if chain.is_empty() {
            return Ok(());
        }
        let mut facts = Facts::of(
            body,
            &target.provider,
            &target.upstream_model,
            &config.pricing,
        );
        let worst = |f: &Facts| {
            config
                .pricing
                .price(f.provider, f.model)
                .map(|e| f.worst_cost(&e.price))
        };
        for other in &plan[1..] {
            let f = Facts::of(
                body,
                &other.provider,
                &other.upstream_model,
                &config.pricing,
            );
            if worst(&f).is_some_and(|w| worst(&facts).is_none_or(|d| w > d)) {
                facts = f;
            }
        }
        self.input_typical = facts.input_typical;
        self.target = Some((target.provider.to_string(), target.upstream_model.clone()));
        self.admission =
            admit::admit(&gateway.leases, &chain, &facts, crate::store::now_ms()).await?;
        Ok(())
    }

    /// The request is going to a provider.
    pub fn sent(&mut self) {
        self.sent = true;
    }

    /// The provider answered with success (its body may still fail to arrive or to read).
    pub fn answered(&mut self) {
        self.answered = true;
    }

    /// The request failed: charged nothing if no provider answered it with success, else its
    /// input as estimated (the provider billed it; its usage never came); its cost.
    pub fn settle_failed(&mut self) -> Option<Usd> {
        match (self.answered, self.target.clone()) {
            (true, Some((provider, model))) => {
                let usage = self.estimated_input();
                self.settle(&provider, &model, &usage)
            }
            _ => self.settle("", "", &Usage::default()),
        }
    }

    fn estimated_input(&self) -> Usage {
        Usage {
            input_tokens: self.input_typical,
            ..Usage::default()
        }
    }

    /// Whether budgets count this request (then a cut stream's usage is estimated).
    pub fn is_metered(&self) -> bool {
        self.admission.is_some()
    }

    /// Input tokens as usually counted for this request's body.
    pub fn input_estimate(&self) -> u64 {
        self.input_typical
    }

    /// The usage headers Claude Code warns from, for a caller with a money budget on its
    /// chain ([`crate::govern::notice`]); none for anyone else.
    pub fn usage_headers(&self, gateway: &Gateway) -> Vec<(&'static str, String)> {
        self.admission
            .as_ref()
            .map(|a| a.usage_headers(&gateway.leases))
            .unwrap_or_default()
    }

    /// Charges the request's `usage` at `target`'s price to its budgets (once: later calls
    /// charge nothing); its cost, when it was counted here.
    pub fn settle(&mut self, provider: &str, model: &str, usage: &Usage) -> Option<Usd> {
        let admission = self.admission.take()?;
        let cost = self.pricing.cost(provider, model, usage);
        admission.settle(self.id, usage, cost, self.sent);
        cost
    }
}

impl Drop for Spend {
    /// A request dropped after it was sent and before it was settled (the client went away
    /// while the provider had not answered yet) is charged its input as estimated, which a
    /// provider may bill already; what it had written of an answer nobody saw is not known.
    fn drop(&mut self) {
        if !self.sent {
            return;
        }
        if let Some((provider, model)) = self.target.clone() {
            let usage = self.estimated_input();
            self.settle(&provider, &model, &usage);
        }
    }
}
