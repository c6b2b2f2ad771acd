#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| quickscale_fuzz::image_metadata(data));
