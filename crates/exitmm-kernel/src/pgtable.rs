//! x86-64 page-table entries with the real bit layout (arch/x86/include/asm/pgtable_types.h).
//!
//! Four levels: PGD → PUD → PMD → PTE (the P4D level is folded, as on a 4-level kernel). Every
//! table is a real frame holding 512 little-endian `u64` entries, reached through the
//! [`crate::arch::Hardware`] trait; this module only knows the entry format and the geometry.

use crate::page::Pfn;

/// `_PAGE_PRESENT`.
pub const PRESENT: u64 = 1 << 0;
/// `_PAGE_RW`.
pub const RW: u64 = 1 << 1;
/// `_PAGE_USER`.
pub const USER: u64 = 1 << 2;
/// `_PAGE_ACCESSED` (young).
pub const ACCESSED: u64 = 1 << 5;
/// `_PAGE_DIRTY`.
pub const DIRTY: u64 = 1 << 6;
/// `_PAGE_PSE` (a huge leaf at PMD/PUD level).
pub const PSE: u64 = 1 << 7;
/// `_PAGE_SPECIAL` (software bit 9): no `struct page` behind it (zero page, PFN maps).
pub const SPECIAL: u64 = 1 << 9;
/// `_PAGE_NX`.
pub const NX: u64 = 1 << 63;
/// Physical-address bits 12..=51.
pub const PFN_MASK: u64 = ((1u64 << 52) - 1) & !0xfff;
/// `_PAGE_TABLE`: how a present upper-level entry pointing to a table looks.
pub const TABLE: u64 = PRESENT | RW | USER | ACCESSED | DIRTY;

/// `PAGE_SHIFT`.
pub const PAGE_SHIFT: u32 = 12;
/// `PAGE_SIZE`.
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// `PMD_SHIFT`: one PTE table spans 2 MiB.
pub const PMD_SHIFT: u32 = 21;
/// `PMD_SIZE`.
pub const PMD_SIZE: u64 = 1 << PMD_SHIFT;
/// `PUD_SHIFT`: one PMD table spans 1 GiB.
pub const PUD_SHIFT: u32 = 30;
/// `PUD_SIZE`.
pub const PUD_SIZE: u64 = 1 << PUD_SHIFT;
/// `PGDIR_SHIFT`: one PUD table spans 512 GiB.
pub const PGDIR_SHIFT: u32 = 39;
/// `PGDIR_SIZE`.
pub const PGDIR_SIZE: u64 = 1 << PGDIR_SHIFT;
/// `PTRS_PER_*` on x86-64.
pub const PTRS: usize = 512;
/// `TASK_SIZE` for 4-level paging (47-bit user space, minus the guard page).
pub const TASK_SIZE: u64 = (1 << 47) - PAGE_SIZE;

/// Page-table levels, named as Linux names the table at that level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// A PTE table (leaves map 4 KiB).
    Pte = 1,
    /// A PMD table (entries cover 2 MiB).
    Pmd = 2,
    /// A PUD table (entries cover 1 GiB).
    Pud = 3,
    /// The PGD (entries cover 512 GiB).
    Pgd = 4,
}

impl Level {
    /// Shift of the span covered by one entry of a table at this level.
    pub const fn entry_shift(self) -> u32 {
        match self {
            Level::Pte => PAGE_SHIFT,
            Level::Pmd => PMD_SHIFT,
            Level::Pud => PUD_SHIFT,
            Level::Pgd => PGDIR_SHIFT,
        }
    }

    /// Index of `addr` in a table at this level.
    #[inline]
    pub const fn index(self, addr: u64) -> usize {
        ((addr >> self.entry_shift()) & 511) as usize
    }

    /// The level below.
    pub const fn below(self) -> Level {
        match self {
            Level::Pgd => Level::Pud,
            Level::Pud => Level::Pmd,
            _ => Level::Pte,
        }
    }
}

/// An entry value.
#[inline]
pub const fn pfn_of(entry: u64) -> Pfn {
    ((entry & PFN_MASK) >> PAGE_SHIFT) as Pfn
}

/// `pte_present`.
#[inline]
pub const fn present(entry: u64) -> bool {
    entry & PRESENT != 0
}

/// A swap entry's marker (a software bit of a non-present PTE; x86 keeps the type and the
/// offset inverted in the high bits, the model keeps the offset in the PFN field).
pub const SWP_ENTRY: u64 = 1 << 10;
/// `_PAGE_SWP_EXCLUSIVE`: the page swapped out was `PageAnonExclusive`.
pub const SWP_EXCLUSIVE: u64 = 1 << 11;

/// `swp_entry_to_pte`: a non-present PTE naming swap slot `offset`.
#[inline]
pub const fn mk_swap(offset: u32, exclusive: bool) -> u64 {
    ((offset as u64) << PAGE_SHIFT) | SWP_ENTRY | if exclusive { SWP_EXCLUSIVE } else { 0 }
}

/// `is_swap_pte`: a non-present PTE holding a swap entry.
#[inline]
pub const fn is_swap(entry: u64) -> bool {
    entry & (PRESENT | SWP_ENTRY) == SWP_ENTRY
}

/// `swp_offset(pte_to_swp_entry(e))`.
#[inline]
pub const fn swp_offset(entry: u64) -> u32 {
    ((entry & PFN_MASK) >> PAGE_SHIFT) as u32
}

/// `pte_none`.
#[inline]
pub const fn none(entry: u64) -> bool {
    entry == 0
}

/// `mk_pte` for a user page: present, user, accessed, with the given writability and dirtiness.
#[inline]
pub const fn mk_pte(pfn: Pfn, write: bool, dirty: bool, special: bool) -> u64 {
    let mut e = ((pfn as u64) << PAGE_SHIFT) | PRESENT | USER | ACCESSED | NX;
    if write {
        e |= RW;
    }
    if dirty {
        e |= DIRTY;
    }
    if special {
        e |= SPECIAL;
    }
    e
}

/// `pte_mkspecial(pfn_pte(pfn, prot))` as `remap_pfn_range` writes it: a raw PFN with no
/// `struct page` behind it, the memory type's cache bits (`cache`), writable or not.
#[inline]
pub const fn mk_pfn_pte(pfn: u64, write: bool, cache: u64) -> u64 {
    let mut e = (pfn << PAGE_SHIFT) & PFN_MASK | PRESENT | USER | ACCESSED | NX | SPECIAL | cache;
    if write {
        e |= RW | DIRTY;
    }
    e
}

/// `pmd_leaf` / `pud_leaf`: a present upper-level entry that maps a huge page itself instead
/// of pointing to a table.
#[inline]
pub const fn leaf(entry: u64) -> bool {
    entry & (PRESENT | PSE) == PRESENT | PSE
}

/// `mk_huge_pte` (arch/x86 `pfn_pmd`/`pfn_pud` with `_PAGE_PSE`): a huge leaf entry at PMD
/// or PUD level mapping the folio whose head is `pfn`.
#[inline]
pub const fn mk_huge(pfn: Pfn, write: bool, dirty: bool) -> u64 {
    mk_pte(pfn, write, dirty, false) | PSE
}

/// An upper-level entry pointing to a table frame.
#[inline]
pub const fn mk_table(pfn: Pfn) -> u64 {
    ((pfn as u64) << PAGE_SHIFT) | TABLE
}

/// `pmd_addr_end` and friends: end of the entry span containing `addr`, capped at `end`
/// (with `end == 0` meaning the top of the address space).
#[inline]
pub fn addr_end(addr: u64, end: u64, shift: u32) -> u64 {
    let boundary = addr.wrapping_add(1u64 << shift) & !((1u64 << shift) - 1);
    if boundary.wrapping_sub(1) < end.wrapping_sub(1) {
        boundary
    } else {
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_layout() {
        let e = mk_pte(0x1234, true, true, false);
        assert_eq!(e & 0xfff, 0x67);
        assert_eq!(pfn_of(e), 0x1234);
        assert!(present(e) && !none(e));
        assert_eq!(mk_table(7), 0x7067);
        assert_eq!(Level::Pgd.index(0x1000_0000_0000), 32);
        assert_eq!(Level::Pmd.index(0x1000_0020_0000), 1);
        assert_eq!(addr_end(0x1000, 0x5000_0000, PMD_SHIFT), 0x20_0000);
        assert_eq!(addr_end(0x1000, 0x3000, PMD_SHIFT), 0x3000);
        assert_eq!(addr_end(0xffff_ffff_ffe0_0000, 0, PMD_SHIFT), 0);
    }
}
