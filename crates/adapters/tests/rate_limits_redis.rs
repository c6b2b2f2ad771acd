//! The rate-limit stores' contract suite against Redis (the other stores in memory): every
//! contract of the `limits` suite, as the database backends run them.

use quickscale_adapters::testing::contract::contracts;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_rate_limit_contract_holds_in_redis() {
    let limits: Vec<_> = contracts()
        .into_iter()
        .filter(|c| c.suite == "limits")
        .collect();
    assert!(limits.len() >= 4, "the limits suite is found");
    for contract in limits {
        let Some(under_test) = quickscale_adapters::testing::redis_stores().await else {
            return;
        };
        eprintln!("{}", contract.name);
        (contract.run)(under_test.stores.clone()).await;
    }
}
