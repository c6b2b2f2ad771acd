//! One contract suite per port, written once and run against every implementation.
//!
//! A backend's test file calls [`crate::contract_tests!`] with a function that makes fresh
//! stores; the macro expands to one `#[tokio::test]` per contract, so `cargo test` reports how
//! many ran for each backend.
//!
//! The contracts are listed once, in [`crate::contract_tests!`]: every backend's tests and
//! [`contracts`] are made from that list. A contract is a function `async fn NAME(stores:
//! Stores)` of one of the suite modules below, visible to this module only, so one left out of
//! the list is dead code (a warning, an error under `clippy -D warnings`), and the test
//! `every_contract_is_listed` below compares the list with the functions the suites define.

use std::future::Future;
use std::pin::Pin;

use crate::Stores;

mod accounts;
mod api_keys;
mod billing;
mod caps;
mod credits;
mod limits;
mod notifications;
mod site;
mod subscriptions;
mod usage;
mod users;

pub use usage::overdraft_drill_on_two_instances;

/// One contract: a check every implementation of a port passes.
#[derive(Clone, Copy, Debug)]
pub struct Contract {
    /// The suite it belongs to (`credits`, `users`, `billing` ...).
    pub suite: &'static str,
    /// Its name, which is also the name of the test that runs it on each backend.
    pub name: &'static str,
    /// Runs it on fresh stores; it panics when the stores break it.
    pub run: fn(Stores) -> Pin<Box<dyn Future<Output = ()> + Send>>,
}

crate::contract_tests!(@table);

/// The contract of `suite` named `name`.
///
/// # Panics
/// When there is none (the tests [`crate::contract_tests!`] makes only ask for listed ones).
pub fn contract(suite: &str, name: &str) -> Contract {
    contracts()
        .into_iter()
        .find(|c| c.suite == suite && c.name == name)
        .unwrap_or_else(|| panic!("no contract {suite}::{name}"))
}

/// Expands to one test per contract, each on fresh stores from `$make` (an async fn returning
/// `Option<TestStores>`; `None` skips, which the PostgreSQL harness only allows when
/// PostgreSQL is not required).
///
/// This is the one list of the contracts: each backend's tests and
/// [`testing::contract::contracts`](crate::testing::contract::contracts) are made from it.
#[macro_export]
macro_rules! contract_tests {
    (@table) => {
        $crate::contract_tests!(@list table ());
    };
    (@list $what:ident $arg:tt) => {
        $crate::contract_tests!(@$what $arg;
        credits::credits_open_account_is_idempotent_and_unknown_accounts_are_errors,
        credits::credits_grants_show_in_balance_history_and_round_trip,
        credits::credits_consumption_spends_expiring_grants_first,
        credits::credits_insufficient_credits_change_nothing,
        credits::credits_replays_return_the_first_receipt,
        credits::credits_expiry_is_swept_and_never_spent,
        credits::credits_reversal_restores_grants_once,
        credits::credits_clawback_takes_what_is_left_and_reports_the_shortfall,
        credits::credits_history_pages_newest_first,
        credits::credits_concurrent_consumers_never_overdraw,
        credits::credits_concurrent_replays_debit_once,
        credits::credits_accounts_are_independent,
        credits::credits_holds_reserve_then_settle_or_release_once,
        credits::credits_hold_replays_and_second_endings_change_nothing,
        credits::credits_concurrent_holds_never_overdraw,
        users::users_insert_and_find_by_id_and_email,
        users::users_duplicate_email_is_a_domain_error,
        users::users_concurrent_duplicate_registrations_create_one_account,
        users::users_login_state_is_compare_and_swap,
        users::users_updates_change_one_user,
        users::users_onboarding_is_recorded,
        users::users_search_filters_pages_and_escapes_wildcards,
        users::users_client_login_states_are_kept_per_account_and_client,
        users::users_sign_in_locks_a_client_after_failures_and_resets_on_success,
        users::users_failures_from_many_clients_never_lock_the_owner_out,
        users::users_concurrent_failures_are_all_counted,
        users::users_change_password_needs_the_current_one,
        users::users_profiles_emails_activity_and_deletion,
        accounts::tokens_are_single_use_expiring_and_purpose_bound,
        accounts::audit_entries_are_kept_and_filtered,
        accounts::the_outbox_keeps_messages_until_sent_and_schedules_retries,
        api_keys::api_keys_authenticate_finds_active_keys_and_records_their_use,
        api_keys::api_keys_last_use_is_written_at_most_once_a_minute,
        api_keys::api_keys_active_keys_are_capped_per_user,
        api_keys::api_keys_concurrent_creates_never_pass_the_cap,
        api_keys::api_keys_duplicate_hash_is_refused_and_stored_once,
        api_keys::api_keys_list_shows_a_users_keys_newest_first,
        api_keys::api_keys_revoke_is_once_and_only_by_the_owner,
        api_keys::api_keys_revoke_all_ends_one_users_active_keys,
        usage::usage_claims_are_unique_per_user_and_key,
        usage::usage_finish_records_the_outcome_and_lists_filter,
        usage::usage_charges_page_a_users_runs_in_id_order,
        usage::runner_charges_once_and_refunds_failures_and_timeouts,
        usage::runner_double_submit_charges_once,
        usage::runner_300_concurrent_runs_on_100_credits_succeed_100_times,
        usage::runner_refuses_bad_input_and_short_balances_without_charging,
        usage::runner_recovers_runs_interrupted_by_a_crash,
        usage::runner_records_the_end_of_a_run_through_a_short_outage,
        usage::service_settings_follow_the_registry_and_keep_admin_choices,
        usage::usage_samples_cover_every_user_since_a_date,
        usage::usage_background_runs_start_progress_and_end_once,
        usage::runner_background_runs_hold_then_settle_or_release_once,
        usage::runner_recovers_background_runs_and_releases_their_hold,
        site::sessions_round_trip_and_expire,
        site::sessions_of_a_user_can_be_ended_except_the_current_one,
        site::contact_messages_are_kept_newest_first,
        limits::limits_a_burst_then_one_per_interval,
        limits::limits_scopes_and_keys_are_independent,
        limits::limits_concurrent_spenders_never_pass_the_burst,
        limits::limits_forgetting_idle_budgets_changes_no_answer,
        billing::billing_packs_customers_and_payments_are_stored_once,
        billing::billing_refunds_never_exceed_the_payment_even_concurrently,
        billing::billing_inbox_stores_each_event_once_and_schedules_retries,
        billing::billing_a_purchase_grants_credits_once_and_a_refund_claws_them_back,
        billing::billing_gateway_outages_leave_no_half_state_and_reconciliation_recovers,
        billing::billing_reviews_are_recorded_once_settled_once_and_resolved_once,
        billing::billing_a_session_the_app_did_not_start_grants_only_a_pack_at_its_price,
        subscriptions::subscriptions_plans_round_trip_and_update_by_id,
        subscriptions::subscriptions_plans_list_by_display_order_then_name,
        subscriptions::subscriptions_a_plans_price_id_is_unique,
        subscriptions::subscriptions_newer_views_replace_the_stored_one,
        subscriptions::subscriptions_older_views_change_nothing_and_equal_ones_resave,
        subscriptions::subscriptions_concurrent_views_keep_the_newest,
        subscriptions::subscriptions_are_found_by_id_and_listed_per_user,
        api_keys::api_keys_limits_are_stored_and_changed_only_by_the_owner,
        caps::caps_50_concurrent_runs_on_a_key_capped_at_10_succeed_10_times,
        caps::caps_the_plans_monthly_api_bound_holds_across_keys,
        notifications::notifications_preferences_round_trip_per_user,
        notifications::notifications_deliveries_are_once_per_event_and_log_every_attempt,
        notifications::notifications_concurrent_attempts_get_distinct_numbers,
        notifications::runner_publishes_each_run_end_once
        );
    };
    (@tests $make:path; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let Some(under_test) = $make().await else { return };
                let contract =
                    $crate::testing::contract::contract(stringify!($module), stringify!($name));
                (contract.run)(under_test.stores.clone()).await;
                drop(under_test);
            }
        )*
    };
    (@table (); $($module:ident :: $name:ident),* $(,)?) => {
        /// Every contract, in the order of the list.
        pub fn contracts() -> Vec<Contract> {
            vec![
                $(
                    Contract {
                        suite: stringify!($module),
                        name: stringify!($name),
                        run: |stores| Box::pin($module::$name(stores)),
                    },
                )*
            ]
        }
    };
    ($make:path) => {
        $crate::contract_tests!(@list tests $make);
    };
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Every contract a suite module defines is in the list that each backend's tests are made
    /// from (and the list names no function that is not there), as every migration file must be
    /// registered: a contract left out would silently never run.
    #[test]
    fn every_contract_is_listed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/testing/contract");
        let mut defined = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).expect("the contract folder") {
            let path = entry.expect("a folder entry").path();
            let suite = path.file_stem().unwrap().to_string_lossy().into_owned();
            if suite == "mod" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("readable");
            for name in contract_functions(&text) {
                defined.insert((suite.clone(), name));
            }
        }
        let listed: BTreeSet<(String, String)> = super::contracts()
            .iter()
            .map(|c| (c.suite.to_owned(), c.name.to_owned()))
            .collect();
        assert_eq!(
            super::contracts().len(),
            listed.len(),
            "a contract is listed twice"
        );
        let unlisted: Vec<_> = defined.difference(&listed).collect();
        let undefined: Vec<_> = listed.difference(&defined).collect();
        assert!(
            unlisted.is_empty() && undefined.is_empty(),
            "contracts defined but not listed in contract_tests!: {unlisted:?}; listed but not \
             found as `async fn NAME(stores: Stores)`: {undefined:?}"
        );
    }

    /// The names of the `async fn`s of a suite module that take the stores by value (helpers
    /// take `&Stores`).
    fn contract_functions(text: &str) -> Vec<String> {
        text.split("async fn ")
            .skip(1)
            .filter_map(|rest| {
                let (name, rest) = rest.split_once('(')?;
                let params = rest.split_once(')')?.0;
                let params: String = params.split_whitespace().collect();
                (params.trim_end_matches(',') == "stores:Stores").then(|| name.trim().to_owned())
            })
            .collect()
    }

    #[test]
    fn contract_functions_are_found_whatever_their_layout() {
        let text = "pub(super) async fn a(stores: Stores) {}\n\
                    async fn helper(stores: &Stores, user: u32) {}\n\
                    pub(super) async fn b(\n    stores: Stores,\n) {}\n";
        assert_eq!(contract_functions(text), ["a", "b"]);
    }
}
