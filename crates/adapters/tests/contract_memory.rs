//! The shared contract suites against the memory stores.

quickscale_adapters::contract_tests!(quickscale_adapters::testing::memory_stores);
