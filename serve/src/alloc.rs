//! A global allocator for the binary that serves the wire protocol: the system allocator,
//! except that allocations of `LAZY_ALLOCATION_BYTES_MIN` or more are anonymous mappings
//! that reserve no memory until touched.
//!
//! Why: the protocol's decoders size a vector from a count read off the wire before they
//! read its elements, so a frame of a few bytes that claims two billion entries asks for
//! tens of gigabytes. The system allocator refuses that, and Rust aborts the process on a
//! refused allocation. Mapped lazily, the request costs address space only; the decoder
//! then runs out of bytes, reports an error, and the mapping is released.

use std::alloc::{GlobalAlloc, Layout, System};

use crate::limits::LAZY_ALLOCATION_BYTES_MIN;

pub struct LazyLargeAllocations;

const PAGE_BYTES: usize = 4096;

fn is_lazy(layout: &Layout) -> bool {
    layout.size() >= LAZY_ALLOCATION_BYTES_MIN && layout.align() <= PAGE_BYTES
}

unsafe impl GlobalAlloc for LazyLargeAllocations {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !is_lazy(&layout) {
            return System.alloc(layout);
        }
        let p = libc::mmap(
            std::ptr::null_mut(),
            layout.size(),
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            std::ptr::null_mut()
        } else {
            p.cast()
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_lazy(&layout) {
            libc::munmap(ptr.cast(), layout.size());
        } else {
            System.dealloc(ptr, layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_lazy(&layout) {
            // Fresh anonymous mappings are zero-filled.
            self.alloc(layout)
        } else {
            System.alloc_zeroed(layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        if !is_lazy(&layout) && !is_lazy(&new_layout) {
            return System.realloc(ptr, layout, new_size);
        }
        let new = self.alloc(new_layout);
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}
