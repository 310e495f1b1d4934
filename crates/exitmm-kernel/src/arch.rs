//! Architecture hooks: what the kernel-side model needs from hardware, as a trait.
//!
//! The simulator (`exitmm-sim`) implements it with simulated RAM for table frames and with
//! TLB bookkeeping; the model never names the simulator.

use crate::page::Pfn;

/// Identifies an address space (an `mm_struct`) to the hardware, as an ASID/CR3 would.
pub type MmId = u32;

/// The machine under the kernel: table memory, TLB and cache maintenance.
pub trait Hardware {
    /// A frame became a page table: back it with 512 zeroed entries.
    fn table_alloc(&mut self, pfn: Pfn);
    /// A page-table frame was freed; its backing may go.
    fn table_free(&mut self, pfn: Pfn);
    /// The 512 entries of table frame `pfn`.
    fn table(&self, pfn: Pfn) -> &[u64; 512];
    /// The 512 entries of table frame `pfn`, writable.
    fn table_mut(&mut self, pfn: Pfn) -> &mut [u64; 512];
    /// `flush_tlb_mm`: drop every translation of `mm` on every CPU that may hold one.
    fn flush_tlb_mm(&mut self, mm: MmId);
    /// `flush_tlb_mm_range`: drop translations of `mm` in `[start, end)`; `freed_tables` also
    /// reaches CPUs in lazy-TLB mode and paging-structure caches.
    fn flush_tlb_range(
        &mut self,
        mm: MmId,
        start: u64,
        end: u64,
        stride_shift: u32,
        freed_tables: bool,
    );
    /// `flush_cache_mm` (a no-op on x86, kept for the step's place in exit_mmap).
    fn flush_cache_mm(&mut self, _mm: MmId) {}
    /// `arch_exit_mmap` (x86: LDT and paravirt teardown; nothing to do for a model process).
    fn arch_exit_mmap(&mut self, _mm: MmId) {}
    /// `destroy_context` (from `__mmdrop`): the mm is gone; no CPU may keep it loaded.
    fn destroy_context(&mut self, _mm: MmId) {}
    /// A user page frame went back to the allocator (its last reference is gone). Machines that
    /// keep frame generations bump them here, so that a translation still pointing at the frame
    /// is caught as a use-after-free.
    fn frame_freed(&mut self, _pfn: Pfn) {}
    /// The kernel step now running (for reports of what freed a frame).
    fn note_step(&mut self, _step: &'static str) {}
    /// `cond_resched` and other points where another CPU may run while this one is in the
    /// kernel (between PTE tables of a zap, between VMAs of an exit).
    fn cond_resched(&mut self) {}
    /// The PTE lock of `[start, end)` of `mm` is released (end of one `zap_pte_range` pass);
    /// `dirty_shared` if that pass cleared a dirty PTE of a shared (file) page, after which no
    /// CPU may hold a writable translation into the range.
    fn pte_unlock(&mut self, _mm: MmId, _start: u64, _end: u64, _dirty_shared: bool) {}
}
