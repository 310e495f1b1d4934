//! Per-frame metadata (`struct page`, include/linux/mm_types.h and page-flags.h), compact.
//!
//! One [`Page`] per 4 KiB frame, 22 bytes (packed to 2-byte alignment: with the 8-byte PTE that
//! maps it, a simulated page costs 30 bytes of host memory). Fields are reused the way Linux
//! reuses its unions: while a frame is free in the buddy allocator, `mapping`/`index` hold its
//! free-list links and `mapcount` holds its order.
//!
//! There is no per-frame generation: the few places that refer to a frame without holding a
//! reference (the CPU's folio batches, a secondary MMU's translations) are told when it is
//! freed, by [`crate::page_alloc::PhysMem`]'s free paths.

/// A physical frame number.
pub type Pfn = u32;

/// "No frame" in links and table entries.
pub const NO_PFN: Pfn = u32::MAX;

bitflags::bitflags! {
    /// Page flags (a subset of Linux's `PG_*`, plus the page-type bits the model needs).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct PageFlags: u16 {
        /// `PageAnon`: mapped by anonymous memory; `mapping` names the anon_vma.
        const ANON = 1 << 0;
        /// `PG_swapbacked`: shmem/anon backing (counts as MM_SHMEMPAGES when not anon).
        const SWAPBACKED = 1 << 1;
        /// `PG_dirty`.
        const DIRTY = 1 << 2;
        /// `PG_referenced`.
        const REFERENCED = 1 << 3;
        /// `PG_mlocked`.
        const MLOCKED = 1 << 4;
        /// `PG_lru`.
        const LRU = 1 << 5;
        /// `PageTable`: this frame holds a page table.
        const PGTABLE = 1 << 6;
        /// `PG_reserved`: never freed (the zero page).
        const RESERVED = 1 << 7;
        /// `PageAnonExclusive` (meaningful on a 4 KiB anonymous page only): the page is known to
        /// be this mapping's alone, so a write fault reuses it without looking at counts. Set
        /// on a new anonymous page, cleared when fork shares it, set again when
        /// `wp_can_reuse_anon_folio` finds the mapping is the last holder.
        const ANON_EXCLUSIVE = 1 << 8;
        /// `PageBuddy`: free, in the buddy allocator (head of a free block).
        const BUDDY = 1 << 9;
        /// In the page cache of a file (`mapping` names the file, `index` the page offset).
        const PAGECACHE = 1 << 10;
        /// `PG_uptodate`.
        const UPTODATE = 1 << 11;
        /// The head frame of a hugetlb folio (its tail frames carry no state of their own).
        const HUGETLB = 1 << 12;
        /// A hugetlb folio of 1 GiB (without it, 2 MiB).
        const HUGE_1G = 1 << 13;
        /// `hugetlb_restore_reserve`: freeing this hugetlb folio gives a reservation back.
        const RESTORE_RESERVE = 1 << 14;
        /// `PG_active`: on (or bound for) the active LRU list.
        const ACTIVE = 1 << 15;
    }
}

/// Metadata of one frame.
///
/// Invariants (checked by `check_invariants`): a frame in use has `refcount >= 1`; its
/// `refcount` equals the references found (page-table entries, page cache, gather batches,
/// reserved); `mapcount` equals the number of present PTEs mapping it; a free frame has
/// refcount 0 and is on exactly one free list (as part of a block).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, packed(2))]
pub struct Page {
    /// `_refcount`.
    pub refcount: u32,
    /// Number of PTE mappings (`_mapcount + 1`); the buddy order while free.
    pub mapcount: i32,
    /// Page flags.
    pub flags: PageFlags,
    /// File id (page cache), anon_vma id (anon), or next free block (buddy).
    pub mapping: u32,
    /// Page offset in the file or anon linear index, or previous free block (buddy).
    pub index: u32,
    /// A content tag standing for the page's bytes (zero for a zero-filled page).
    pub content: u32,
}

const _: () = assert!(core::mem::size_of::<Page>() == 22);
