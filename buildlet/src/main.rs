//! `buildlet`: see [`buildlet::cli`].

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    buildlet::cli::run(std::env::args().skip(1)).await
}
