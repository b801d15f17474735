fn main() -> std::process::ExitCode {
    kql::cli::main()
}
