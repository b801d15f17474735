// Large allocations reserve memory lazily, so a Kafka request claiming billions of
// entries fails to decode instead of aborting the process (see kql_serve::alloc).
#[global_allocator]
static ALLOCATOR: kql_serve::alloc::LazyLargeAllocations = kql_serve::alloc::LazyLargeAllocations;

fn main() -> std::process::ExitCode {
    // A larger stack than the main thread's 8 MiB, as a margin for the recursive stages
    // (the parser's limits keep statements well inside it).
    const STACK_BYTES: usize = 64 * 1024 * 1024;
    match std::thread::Builder::new()
        .name("kql".into())
        .stack_size(STACK_BYTES)
        .spawn(kql::cli::main)
    {
        Ok(handle) => handle.join().unwrap_or(std::process::ExitCode::FAILURE),
        Err(_) => kql::cli::main(),
    }
}
