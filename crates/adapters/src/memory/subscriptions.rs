use std::sync::Mutex;

use async_trait::async_trait;
use quickscale_domain_billing::{Plan, PlanId, Subscription, SubscriptionRepository};
use quickscale_domain_kernel::{StorageError, StorageFailure};
use uuid::Uuid;

use super::lock;

#[derive(Debug, Default)]
struct State {
    plans: Vec<Plan>,
    subscriptions: Vec<Subscription>,
}

/// Plans and subscriptions in memory, with the same uniqueness and ordering rules as the SQL
/// stores.
#[derive(Debug, Default)]
pub struct MemorySubscriptionRepository {
    state: Mutex<State>,
}

#[async_trait]
impl SubscriptionRepository for MemorySubscriptionRepository {
    async fn plans(&self, active_only: bool) -> Result<Vec<Plan>, StorageError> {
        let mut plans: Vec<Plan> = lock(&self.state)
            .plans
            .iter()
            .filter(|p| !active_only || p.active)
            .cloned()
            .collect();
        plans.sort_by(|a, b| {
            a.display_order
                .cmp(&b.display_order)
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(plans)
    }

    async fn plan(&self, id: PlanId) -> Result<Option<Plan>, StorageError> {
        Ok(lock(&self.state).plans.iter().find(|p| p.id == id).cloned())
    }

    async fn plan_by_price(&self, price_id: &str) -> Result<Option<Plan>, StorageError> {
        Ok(lock(&self.state)
            .plans
            .iter()
            .find(|p| p.stripe_price_id == price_id)
            .cloned())
    }

    async fn save_plan(&self, plan: &Plan) -> Result<(), StorageError> {
        let mut state = lock(&self.state);
        if state
            .plans
            .iter()
            .any(|p| p.stripe_price_id == plan.stripe_price_id && p.id != plan.id)
        {
            return Err(StorageError::new(
                StorageFailure::Other,
                "a plan with this price id is stored already",
            ));
        }
        state.plans.retain(|p| p.id != plan.id);
        state.plans.push(plan.clone());
        Ok(())
    }

    async fn save_subscription(
        &self,
        subscription: &Subscription,
    ) -> Result<Subscription, StorageError> {
        let mut state = lock(&self.state);
        match state
            .subscriptions
            .iter_mut()
            .find(|s| s.id == subscription.id)
        {
            None => {
                state.subscriptions.push(subscription.clone());
                Ok(subscription.clone())
            }
            Some(stored) => {
                // A subscription stays its first user's; an older view changes nothing.
                if stored.updated_at <= subscription.updated_at {
                    *stored = Subscription {
                        user: stored.user,
                        ..subscription.clone()
                    };
                }
                Ok(stored.clone())
            }
        }
    }

    async fn subscription(&self, id: &str) -> Result<Option<Subscription>, StorageError> {
        Ok(lock(&self.state)
            .subscriptions
            .iter()
            .find(|s| s.id == id)
            .cloned())
    }

    async fn subscriptions_of(&self, user: Uuid) -> Result<Vec<Subscription>, StorageError> {
        let mut found: Vec<Subscription> = lock(&self.state)
            .subscriptions
            .iter()
            .filter(|s| s.user == user)
            .cloned()
            .collect();
        found.sort_by(|a, b| {
            b.current_period_start
                .cmp(&a.current_period_start)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(found)
    }
}
