//! `#[runtime::main]` and `#[runtime::test]`: behaviour, and the compile errors locked by
//! trybuild snapshots in `tests/ui/`.

#[runtime::test]
async fn test_macro_runs_the_body_on_a_loop() {
    let t = runtime::spawn(async { 1 });
    assert_eq!(t.await.unwrap(), 1);
}

#[runtime::test(start_paused = true)]
async fn test_macro_can_start_paused() {
    let start = runtime::time::Instant::now();
    runtime::sleep(std::time::Duration::from_secs(1000)).await;
    assert_eq!(start.elapsed(), std::time::Duration::from_secs(1000));
}

#[runtime::test]
async fn test_macro_allows_a_result() -> Result<(), runtime::TaskError> {
    runtime::spawn(async {}).await?;
    Ok(())
}

#[test]
fn main_macro_compile_errors() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/main_ok.rs");
    t.pass("tests/ui/main_result.rs");
    t.compile_fail("tests/ui/main_not_async.rs");
    t.compile_fail("tests/ui/main_with_args.rs");
    t.compile_fail("tests/ui/main_with_options.rs");
    t.compile_fail("tests/ui/test_unknown_option.rs");
    t.compile_fail("tests/ui/test_not_async.rs");
    t.compile_fail("tests/ui/test_bad_value.rs");
}
