#[runtime::test(flavor = "multi_thread")]
async fn t() {}

fn main() {}
