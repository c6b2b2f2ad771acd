#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| quickscale_fuzz::paging(data));
