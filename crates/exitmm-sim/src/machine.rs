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

/// Table memory: a two-level directory indexed by PFN.
#[derive(Default)]
struct TableMem {
    dir: Vec<Option<Leaf>>,
}

impl crate::tlb::Tables for TableMem {
    fn table(&self, pfn: Pfn) -> &Table {
        self.dir[(pfn >> 9) as usize]
            .as_ref()
            .and_then(|l| l[(pfn & 511) as usize].as_deref())
            .unwrap_or_else(|| panic!("frame {pfn} is not a page table"))
    }
}

/// Simulated RAM for table frames plus counters, and (optionally) CPUs with TLBs.
#[derive(Default)]
pub struct Machine {
    mem: TableMem,
    /// Counters.
    pub stats: HwStats,
    /// CPUs and TLBs; `None` runs without TLB modelling (and costs nothing).
    pub cpus: Option<crate::tlb::Cpus>,
}

impl Machine {
    /// A machine with nothing backed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A machine with `n` CPUs and TLB modelling, reproducible from `seed`.
    pub fn with_cpus(n: usize, seed: u64) -> Self {
        Machine {
            cpus: Some(crate::tlb::Cpus::new(n, seed)),
            ..Self::default()
        }
    }

    fn slot(&mut self, pfn: Pfn) -> &mut Option<Box<Table>> {
        let (hi, lo) = ((pfn >> 9) as usize, (pfn & 511) as usize);
        let dir = &mut self.mem.dir;
        if dir.len() <= hi {
            dir.resize_with(hi + 1, || None);
        }
        let leaf = dir[hi].get_or_insert_with(|| (0..512).map(|_| None).collect());
        &mut leaf[lo]
    }

    /// Lets the other CPUs run (their tasks access memory through their TLBs).
    pub fn others_run(&mut self) {
        if let Some(c) = self.cpus.as_mut() {
            c.others_run(&self.mem);
        }
    }

    /// An access by `cpu` through its TLB (false: not mapped, a fault).
    pub fn access(&mut self, cpu: usize, mm: MmId, va: u64, write: bool) -> bool {
        match self.cpus.as_mut() {
            Some(c) => c.access(&self.mem, cpu, mm, va, write),
            None => false,
        }
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
        if let Some(c) = self.cpus.as_mut() {
            c.frame_freed(pfn);
            c.others_run(&self.mem);
        }
    }

    #[inline]
    fn table(&self, pfn: Pfn) -> &Table {
        crate::tlb::Tables::table(&self.mem, pfn)
    }

    #[inline]
    fn table_mut(&mut self, pfn: Pfn) -> &mut Table {
        self.mem.dir[(pfn >> 9) as usize]
            .as_mut()
            .and_then(|l| l[(pfn & 511) as usize].as_deref_mut())
            .unwrap_or_else(|| panic!("frame {pfn} is not a page table"))
    }

    fn flush_tlb_mm(&mut self, mm: MmId) {
        self.stats.full_flushes += 1;
        if let Some(c) = self.cpus.as_mut() {
            c.flush(mm, None, true);
        }
    }

    fn flush_tlb_range(
        &mut self,
        mm: MmId,
        start: u64,
        end: u64,
        stride_shift: u32,
        freed_tables: bool,
    ) {
        self.stats.ranged_flushes += 1;
        if let Some(c) = self.cpus.as_mut() {
            c.flush(mm, Some((start, end, stride_shift)), freed_tables);
        }
    }

    fn destroy_context(&mut self, mm: MmId) {
        if let Some(c) = self.cpus.as_mut() {
            c.mm_gone(mm);
        }
    }

    fn frame_freed(&mut self, pfn: Pfn) {
        if let Some(c) = self.cpus.as_mut() {
            c.frame_freed(pfn);
            // Other CPUs run between any two steps of the kernel: right after a free too.
            c.runners_run(&self.mem);
        }
    }

    fn note_step(&mut self, step: &'static str) {
        if let Some(c) = self.cpus.as_mut() {
            c.step = step;
        }
    }

    fn cond_resched(&mut self) {
        self.others_run();
    }

    fn pte_unlock(&mut self, mm: MmId, start: u64, end: u64, dirty_shared: bool) {
        if let Some(c) = self.cpus.as_mut() {
            if dirty_shared {
                c.check_no_writable(mm, start, end);
            }
            c.others_run(&self.mem);
        }
    }
}
