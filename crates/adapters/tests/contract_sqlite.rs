//! The shared contract suites against the sqlite stores.

quickscale_adapters::contract_tests!(quickscale_adapters::testing::sqlite_stores);
