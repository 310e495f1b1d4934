//! The simulated machine: memory backing for page-table frames, and TLB-flush bookkeeping.
//! It implements the kernel's `Hardware` trait and decides no kernel policy.

use exitmm_kernel::arch::{Hardware, MmId};
use exitmm_kernel::page::Pfn;

type Table = [u64; 512];
/// Frames per group of the PFN-indexed directory, as a shift.
const GROUP_SHIFT: u32 = 9;
const GROUP_FRAMES: usize = 1 << GROUP_SHIFT;
const ZERO: Table = [0; 512];

/// The table frames of one group of 512 PFNs. The kernel allocates a PTE table among the data
/// frames it maps, so a group in use most often holds one table: that case costs no slot array
/// (a 512-slot array per group would cost 4 KiB per 2 MiB of RAM, 2 MiB per simulated GiB).
#[derive(Default)]
enum Group {
    #[default]
    Empty,
    /// One table, at this offset in the group.
    One(u16, Box<Table>),
    /// Several.
    Many(Box<[Option<Box<Table>>; GROUP_FRAMES]>),
}

impl Group {
    #[inline]
    fn get(&self, lo: usize) -> Option<&Table> {
        match self {
            Group::One(o, t) if *o as usize == lo => Some(t),
            Group::Many(s) => s[lo].as_deref(),
            _ => None,
        }
    }

    #[inline]
    fn get_mut(&mut self, lo: usize) -> Option<&mut Table> {
        match self {
            Group::One(o, t) if *o as usize == lo => Some(t),
            Group::Many(s) => s[lo].as_deref_mut(),
            _ => None,
        }
    }

    /// Backs frame `lo` of the group with a zeroed table (`fresh` makes it); false if it
    /// already was.
    fn insert(&mut self, lo: usize, fresh: impl FnOnce() -> Box<Table>) -> bool {
        match self {
            Group::Empty => *self = Group::One(lo as u16, fresh()),
            Group::One(o, _) if *o as usize == lo => return false,
            Group::One(..) => {
                let Group::One(o, t) = core::mem::take(self) else {
                    unreachable!()
                };
                let mut slots = Box::new([const { None }; GROUP_FRAMES]);
                slots[o as usize] = Some(t);
                slots[lo] = Some(fresh());
                *self = Group::Many(slots);
            }
            Group::Many(s) => {
                if s[lo].is_some() {
                    return false;
                }
                s[lo] = Some(fresh());
            }
        }
        true
    }

    /// Drops the table of frame `lo`; false if there was none.
    fn remove(&mut self, lo: usize) -> bool {
        match self {
            Group::One(o, _) if *o as usize == lo => *self = Group::Empty,
            Group::Many(s) if s[lo].is_some() => s[lo] = None,
            _ => return false,
        }
        true
    }
}

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

/// Table memory: a directory of PFN groups.
#[derive(Default)]
struct TableMem {
    dir: Vec<Group>,
}

impl crate::tlb::Tables for TableMem {
    #[inline]
    fn table(&self, pfn: Pfn) -> &Table {
        self.dir
            .get((pfn >> GROUP_SHIFT) as usize)
            .and_then(|g| g.get(pfn as usize & (GROUP_FRAMES - 1)))
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
    /// The host memory the model lives in, backed ahead of it (large models only).
    backing: Option<crate::backing::Backing>,
    /// Where the frame metadata lies, until the helper starts ([`Machine::start_backing`]).
    backing_span: Option<exitmm_kernel::page_alloc::MemMapSpan>,
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

    /// Backs the model's host memory ahead of it ([`crate::backing`]: its frame metadata at
    /// `mem_map`, and the table frames this machine gives the kernel) once the metadata in
    /// use reaches [`crate::backing::START`], so that a small model (a run of `explore`
    /// makes one per schedule) never starts the helper.
    pub fn start_backing(&mut self, mem_map: exitmm_kernel::page_alloc::MemMapSpan) {
        self.backing_span = Some(mem_map);
    }

    /// Starts that helper now; false where the host cannot (one CPU for the process, no
    /// `MADV_POPULATE_WRITE`).
    pub fn start_backing_now(&mut self, mem_map: exitmm_kernel::page_alloc::MemMapSpan) -> bool {
        self.backing_span = None;
        self.backing = crate::backing::Backing::start(mem_map);
        self.backing.is_some()
    }

    /// Whether the helper of [`Machine::start_backing`] runs.
    pub fn backing_runs(&self) -> bool {
        self.backing.is_some()
    }

    /// Stops the helper [`Machine::start_backing`] started (before the memory it backs goes).
    pub fn stop_backing(&mut self) {
        self.backing_span = None;
        self.backing = None;
    }

    fn group(&mut self, pfn: Pfn) -> (&mut Group, usize) {
        let hi = (pfn >> GROUP_SHIFT) as usize;
        let dir = &mut self.mem.dir;
        if dir.len() <= hi {
            dir.resize_with(hi + 1, Group::default);
        }
        (&mut dir[hi], pfn as usize & (GROUP_FRAMES - 1))
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
        if let Some(span) = &self.backing_span {
            if span.used.load(std::sync::atomic::Ordering::Relaxed) >= crate::backing::START {
                let span = span.clone();
                self.start_backing_now(span);
            }
        }
        let stock = self.backing.as_ref().and_then(|b| b.table());
        let (g, lo) = self.group(pfn);
        let fresh = g.insert(lo, || stock.unwrap_or_else(|| Box::new(ZERO)));
        debug_assert!(fresh, "table frame {pfn} already backed");
        self.stats.tables += 1;
    }

    fn table_free(&mut self, pfn: Pfn) {
        let (g, lo) = self.group(pfn);
        let backed = g.remove(lo);
        debug_assert!(backed, "freeing unbacked table frame {pfn}");
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
        self.mem
            .dir
            .get_mut((pfn >> GROUP_SHIFT) as usize)
            .and_then(|g| g.get_mut(pfn as usize & (GROUP_FRAMES - 1)))
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
