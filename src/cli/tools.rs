//! The offline commands: the CRDs, development certificates, and manifest validation.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::{api, certs, manifest_check};

#[derive(Args, Debug)]
pub struct CertsArgs {
    /// Directory to write the files into (created if missing).
    #[arg(long, env = "KAFKA_BACKUP_CERTS_OUT")]
    out: PathBuf,
    /// DNS name the certificate is valid for (repeatable).
    #[arg(long = "dns", env = "KAFKA_BACKUP_CERTS_DNS", value_delimiter = ',')]
    dns: Vec<String>,
    /// IP address the certificate is valid for (repeatable).
    #[arg(long = "ip", env = "KAFKA_BACKUP_CERTS_IP", value_delimiter = ',')]
    ip: Vec<IpAddr>,
    /// Days the certificates are valid for.
    #[arg(long, env = "KAFKA_BACKUP_CERTS_DAYS", default_value_t = 365)]
    days: i64,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Manifest file, directory (searched for .yaml, .yml and .json), or `-` for stdin.
    /// Repeatable.
    #[arg(
        short = 'f',
        long = "filename",
        env = "KAFKA_BACKUP_VALIDATE_FILES",
        value_delimiter = ',',
        required = true
    )]
    files: Vec<PathBuf>,
    /// Print only errors and the summary, not warnings.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// Prints the CRDs as YAML.
pub fn crds() -> anyhow::Result<ExitCode> {
    print!("{}", api::crds_yaml().context("serializing the CRDs")?);
    Ok(ExitCode::SUCCESS)
}

/// Writes a development CA and serving certificate.
pub fn certs(args: &CertsArgs) -> anyhow::Result<ExitCode> {
    let generated = certs::generate(
        &args.dns,
        &args.ip,
        time::OffsetDateTime::now_utc(),
        args.days,
    )?;
    generated.write_to(&args.out)?;
    println!(
        "wrote {dir}/ca.crt, {dir}/tls.crt and {dir}/tls.key",
        dir = args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn validate(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut inputs = Vec::new();
    for path in &args.files {
        inputs.extend(
            manifest_check::collect_inputs(path)
                .with_context(|| format!("reading {}", path.display()))?,
        );
    }
    let report = manifest_check::check(&inputs);
    for finding in &report.findings {
        if !(args.quiet && finding.is_warning) {
            println!("{finding}");
        }
    }
    println!("{}", report.summary());
    Ok(if report.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
