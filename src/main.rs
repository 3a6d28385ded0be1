//! The `kafka-backup-operator` command. Everything it does lives in the library's `cli`.

fn main() -> std::process::ExitCode {
    kafka_backup_operator::cli::main()
}
