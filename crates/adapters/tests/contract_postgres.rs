//! The shared contract suites against the postgres stores.

quickscale_adapters::contract_tests!(quickscale_adapters::testing::postgres_stores);
