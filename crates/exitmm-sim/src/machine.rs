//! The simulated machine: memory backing for page-table frames, and TLB-flush bookkeeping.
//! It implements the kernel's `Hardware` trait and decides no kernel policy.

use exitmm_kernel::arch::{Hardware, MmId};
use exitmm_kernel::page::Pfn;

type Table = [u64; 512];
/// 512 table slots: one leaf of the PFN-indexed directory.
type Leaf = Box<[Option<Box<Table>>]>;
const ZERO: Table = [0; 512];

/// Counters of what the kernel asked the hardware to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HwStats {
    /// `flush_tlb_mm` calls.
    pub full_flushes: u64,
    /// `flush_tlb_range` calls.
    pub ranged_flushes: u64,
    /// Table frames currently backed.
    pub tables: u64,
}

/// Simulated RAM for table frames (two-level, indexed by PFN) plus counters.
#[derive(Default)]
pub struct Machine {
    dir: Vec<Option<Leaf>>,
    /// Counters.
    pub stats: HwStats,
}

impl Machine {
    /// A machine with nothing backed yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&mut self, pfn: Pfn) -> &mut Option<Box<Table>> {
        let (hi, lo) = ((pfn >> 9) as usize, (pfn & 511) as usize);
        if self.dir.len() <= hi {
            self.dir.resize_with(hi + 1, || None);
        }
        let leaf = self.dir[hi].get_or_insert_with(|| (0..512).map(|_| None).collect());
        &mut leaf[lo]
    }
}

impl Hardware for Machine {
    fn table_alloc(&mut self, pfn: Pfn) {
        let s = self.slot(pfn);
        debug_assert!(s.is_none(), "table frame {pfn} already backed");
        *s = Some(Box::new(ZERO));
        self.stats.tables += 1;
    }

    fn table_free(&mut self, pfn: Pfn) {
        let s = self.slot(pfn);
        debug_assert!(s.is_some(), "freeing unbacked table frame {pfn}");
        *s = None;
        self.stats.tables -= 1;
    }

    #[inline]
    fn table(&self, pfn: Pfn) -> &Table {
        self.dir[(pfn >> 9) as usize]
            .as_ref()
            .and_then(|l| l[(pfn & 511) as usize].as_deref())
            .unwrap_or_else(|| panic!("frame {pfn} is not a page table"))
    }

    #[inline]
    fn table_mut(&mut self, pfn: Pfn) -> &mut Table {
        self.dir[(pfn >> 9) as usize]
            .as_mut()
            .and_then(|l| l[(pfn & 511) as usize].as_deref_mut())
            .unwrap_or_else(|| panic!("frame {pfn} is not a page table"))
    }

    fn flush_tlb_mm(&mut self, _mm: MmId) {
        self.stats.full_flushes += 1;
    }

    fn flush_tlb_range(
        &mut self,
        _mm: MmId,
        _start: u64,
        _end: u64,
        _stride_shift: u32,
        _freed_tables: bool,
    ) {
        self.stats.ranged_flushes += 1;
    }
}
