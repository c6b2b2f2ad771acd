#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| quickscale_fuzz::data_validator(data));
