// Large allocations reserve memory lazily, so a Kafka request claiming billions of
// entries fails to decode instead of aborting the process (see kql_serve::alloc).
#[global_allocator]
static ALLOCATOR: kql_serve::alloc::LazyLargeAllocations = kql_serve::alloc::LazyLargeAllocations;

fn main() -> std::process::ExitCode {
    keep_large_buffers();
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

/// The log's record batches (about 1 MiB from a connector, a few hundred KiB from a sink)
/// are allocated and freed all run long. glibc maps an allocation that large on its own
/// and unmaps it when freed, so every batch took fresh pages from the kernel (a page fault
/// each 4 KiB) and gave them back. Served from the heap, and the heap's free top kept,
/// their memory is used again (W1: CPU 0.96, system time 0.83, peak RSS +4 MiB).
fn keep_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets the allocator's thresholds, before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}
