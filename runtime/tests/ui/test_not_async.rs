#[runtime::test]
fn t() {}

fn main() {}
