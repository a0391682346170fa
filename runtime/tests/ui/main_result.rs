#[runtime::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    runtime::spawn(async {}).await?;
    Ok(())
}
