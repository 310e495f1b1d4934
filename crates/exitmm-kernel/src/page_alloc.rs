//! The buddy allocator over sparse sections (mm/page_alloc.c, mm/sparse.c).
//!
//! Frame metadata lives in one array indexed by frame number, grown a section of
//! [`SECTION_PAGES`] frames at a time when the allocator first hands out a frame of a section
//! beyond it, so a large simulated RAM costs nothing until used (the sections are taken from
//! the lowest up).
//! Free blocks of order 0..=[`MAX_ORDER`] sit on intrusive doubly linked lists threaded through
//! their head page's metadata; order-0 frees go to a small per-CPU-style cache first (`pcp`),
//! as in Linux, and are drained to the buddy lists in batches.

use crate::page::{Page, PageFlags, Pfn, NO_PFN};
use alloc::vec::Vec;

/// Largest buddy order (4 MiB blocks), `MAX_PAGE_ORDER` on x86-64.
pub const MAX_ORDER: u32 = 10;
/// Frames per sparse section (128 MiB, `PAGES_PER_SECTION` on x86-64).
pub const SECTION_PAGES: usize = 1 << 15;
const PCP_HIGH: usize = 512;
const PCP_BATCH: usize = 64;

/// Why an allocation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocError {
    /// No free block large enough.
    OutOfMemory,
    /// Failure injected on purpose ([`PhysMem::fail_after`]).
    Injected,
}

/// Physical memory: frame metadata, the free lists, and counters.
pub struct PhysMem {
    /// Frame metadata, indexed by frame number, for the sections up to the highest one
    /// touched (an untouched section below it is all defaults and never read).
    pages: Vec<Page>,
    /// Which sections have been touched (their frames handed to the free lists).
    touched: Vec<bool>,
    /// Sections never touched yet, taken from the end (all their frames are free).
    untouched: Vec<u32>,
    free_head: [Pfn; MAX_ORDER as usize + 1],
    /// Bit `o` set: the order-`o` free list is not empty (a summary of `free_head`, so
    /// `rmqueue` finds the lowest usable order in one step).
    nonempty: u32,
    pcp: Vec<Pfn>,
    /// The CPU's folio batches (mm/swap.c), kept here so that a free can mark their entries
    /// for the frame stale (the model does not let a batch's reference delay a free).
    pub(crate) fbatches: crate::swap::FolioBatches,
    /// Frames a secondary MMU has translated to, each with a generation bumped on every free.
    device_gens: alloc::collections::BTreeMap<Pfn, u16>,
    nr_frames: u64,
    nr_free: u64,
    fail_after: Option<u64>,
    /// Large (order-9) anonymous folios still whole: head → its frames not yet freed.
    large: alloc::collections::BTreeMap<Pfn, LargeFolio>,
    /// Tests: refill the per-CPU list frame by frame only.
    #[cfg(test)]
    test_sequential_refill: bool,
    /// Bytes of `pages` in use, published for [`PhysMem::mem_map_reserve`]'s caller.
    mem_map_used: Option<alloc::sync::Arc<core::sync::atomic::AtomicUsize>>,
}

/// Where the frame metadata lies in the memory of the host process the model runs in, for a
/// simulator that backs that memory ahead of the model ([`PhysMem::mem_map_reserve`]). It
/// has no kernel meaning.
#[derive(Clone, Debug)]
pub struct MemMapSpan {
    /// The address of the metadata of frame 0.
    pub base: usize,
    /// The bytes reserved for the metadata of every frame.
    pub bytes: usize,
    /// The bytes of it in use so far: it grows as sections of frames are first used.
    pub used: alloc::sync::Arc<core::sync::atomic::AtomicUsize>,
}

/// What the allocator keeps of a large folio (`compound_head`, `_nr_pages_mapped` in spirit):
/// which of its 512 frames have gone back already. Its frames are counted one by one (see
/// `huge_memory`), so a frame may be freed, and even reused, before the folio is gone.
#[derive(Clone, Debug)]
struct LargeFolio {
    live: u32,
    freed: [u64; 8],
}

impl PhysMem {
    /// The 512 frames from `head` form a large folio (a new THP).
    pub fn make_large(&mut self, head: Pfn) {
        self.large.insert(
            head,
            LargeFolio {
                live: 512,
                freed: [0; 8],
            },
        );
    }

    /// The large folio is split into base pages (`split_folio`).
    pub fn unmake_large(&mut self, head: Pfn) {
        self.large.remove(&head);
    }

    /// The head of the large folio frame `pfn` belongs to, if it is still part of one.
    pub fn large_folio_of(&self, pfn: Pfn) -> Option<Pfn> {
        let head = pfn & !511;
        let f = self.large.get(&head)?;
        let i = (pfn - head) as usize;
        (f.freed[i / 64] & (1 << (i % 64)) == 0).then_some(head)
    }

    /// Frees a whole large folio whose 512 frames each hold just one reference (the caller's,
    /// now dropped) as the one block it is, as the kernel frees a folio; false (nothing done)
    /// if it is not whole or a frame is referenced elsewhere.
    pub fn free_large_folio(&mut self, head: Pfn) -> bool {
        if self.large.get(&head).is_none_or(|f| f.live != 512) {
            return false;
        }
        let sole = (head..head + 512).all(|pfn| {
            let p = self.page(pfn);
            p.refcount == 1 && !p.flags.intersects(PageFlags::RESERVED | PageFlags::HUGETLB)
        });
        if !sole {
            return false;
        }
        for pfn in head..head + 512 {
            *self.page_mut(pfn) = Page::default();
            self.note_freed(pfn);
        }
        self.large.remove(&head);
        self.nr_free += 512;
        self.free_one(head, 9);
        true
    }

    /// A frame of a large folio went back to the allocator.
    fn large_frame_freed(&mut self, pfn: Pfn) {
        if let Some(head) = self.large_folio_of(pfn) {
            let f = self.large.get_mut(&head).expect("just found");
            let i = (pfn - head) as usize;
            f.freed[i / 64] |= 1 << (i % 64);
            f.live -= 1;
            if f.live == 0 {
                self.large.remove(&head);
            }
        }
    }

    /// Simulated RAM of `bytes` (rounded down to whole sections, at least one).
    pub fn new(bytes: u64) -> Self {
        let nsec = ((bytes / 4096) as usize / SECTION_PAGES).max(1);
        let mut untouched: Vec<u32> = (0..nsec as u32).collect();
        untouched.reverse();
        PhysMem {
            pages: Vec::new(),
            touched: alloc::vec![false; nsec],
            untouched,
            free_head: [NO_PFN; MAX_ORDER as usize + 1],
            nonempty: 0,
            pcp: Vec::with_capacity(PCP_HIGH + PCP_BATCH),
            fbatches: Default::default(),
            device_gens: Default::default(),
            nr_frames: (nsec * SECTION_PAGES) as u64,
            nr_free: (nsec * SECTION_PAGES) as u64,
            fail_after: None,
            large: Default::default(),
            #[cfg(test)]
            test_sequential_refill: false,
            mem_map_used: None,
        }
    }

    /// Not a kernel step: reserves the host memory for the metadata of every frame now (it
    /// is used, and so backed by the host, only section by section as before), so that it
    /// never moves, and says where it lies. `None` if the host cannot reserve that much.
    pub fn mem_map_reserve(&mut self) -> Option<MemMapSpan> {
        let all = self.nr_frames as usize;
        self.pages
            .try_reserve_exact(all.saturating_sub(self.pages.len()))
            .ok()?;
        let size = core::mem::size_of::<Page>();
        let used = alloc::sync::Arc::new(core::sync::atomic::AtomicUsize::new(
            self.pages.len() * size,
        ));
        self.mem_map_used = Some(used.clone());
        Some(MemMapSpan {
            base: self.pages.as_ptr() as usize,
            bytes: self.pages.capacity() * size,
            used,
        })
    }

    /// Total frames of simulated RAM.
    pub fn nr_frames(&self) -> u64 {
        self.nr_frames
    }

    /// Whether any large folio is still whole (its frames may lie in several VMAs).
    pub fn has_large_folios(&self) -> bool {
        !self.large.is_empty()
    }

    /// Free frames.
    pub fn nr_free(&self) -> u64 {
        self.nr_free
    }

    /// Make the allocation after the next `n` successful ones fail (`None` switches it off).
    pub fn fail_after(&mut self, n: Option<u64>) {
        self.fail_after = n;
    }

    /// Metadata of a frame that has a section.
    #[inline]
    pub fn page(&self, pfn: Pfn) -> &Page {
        &self.pages[pfn as usize]
    }

    /// Mutable metadata of a frame that has a section.
    #[inline]
    pub fn page_mut(&mut self, pfn: Pfn) -> &mut Page {
        &mut self.pages[pfn as usize]
    }

    /// True if `pfn` lies in a section that has metadata.
    pub fn has_section(&self, pfn: Pfn) -> bool {
        self.touched
            .get(pfn as usize / SECTION_PAGES)
            .is_some_and(|&t| t)
    }

    /// Iterates over every frame that has metadata: `(pfn, &page)`.
    pub fn frames(&self) -> impl Iterator<Item = (Pfn, &Page)> {
        self.touched
            .iter()
            .enumerate()
            .filter(|(_, &t)| t)
            .flat_map(|(i, _)| {
                let base = i * SECTION_PAGES;
                self.pages[base..base + SECTION_PAGES]
                    .iter()
                    .enumerate()
                    .map(move |(j, p)| ((base + j) as Pfn, p))
            })
    }

    fn list_add(&mut self, pfn: Pfn, order: u32) {
        let head = self.free_head[order as usize];
        {
            let p = self.page_mut(pfn);
            p.flags = PageFlags::BUDDY;
            p.mapcount = order as i32;
            p.mapping = head;
            p.index = NO_PFN;
            p.refcount = 0;
        }
        if head != NO_PFN {
            self.page_mut(head).index = pfn;
        }
        self.free_head[order as usize] = pfn;
        self.nonempty |= 1 << order;
    }

    fn list_del(&mut self, pfn: Pfn, order: u32) {
        let (next, prev) = {
            let p = self.page(pfn);
            (p.mapping, p.index)
        };
        if prev != NO_PFN {
            self.page_mut(prev).mapping = next;
        } else {
            self.free_head[order as usize] = next;
            if next == NO_PFN {
                self.nonempty &= !(1 << order);
            }
        }
        if next != NO_PFN {
            self.page_mut(next).index = prev;
        }
        let p = self.page_mut(pfn);
        p.flags.remove(PageFlags::BUDDY);
        p.mapping = 0;
        p.index = 0;
        p.mapcount = 0;
    }

    /// Section `s` gets metadata: the array grows to cover it if it ends below (its capacity
    /// doubling, so growing is amortized; capacity not yet used is never written).
    fn make_section(&mut self, s: usize) {
        let end = (s + 1) * SECTION_PAGES;
        if self.pages.len() < end {
            self.pages.reserve(end - self.pages.len());
            self.pages.resize(end, Page::default());
            if let Some(u) = &self.mem_map_used {
                let bytes = self.pages.len() * core::mem::size_of::<Page>();
                u.store(bytes, core::sync::atomic::Ordering::Relaxed);
            }
        }
        self.touched[s] = true;
    }

    fn touch_section(&mut self) -> bool {
        let Some(s) = self.untouched.pop() else {
            return false;
        };
        self.make_section(s as usize);
        let base = s as usize * SECTION_PAGES;
        let block = 1usize << MAX_ORDER;
        for b in (0..SECTION_PAGES).step_by(block).rev() {
            self.list_add((base + b) as Pfn, MAX_ORDER);
        }
        true
    }

    fn rmqueue(&mut self, order: u32) -> Option<Pfn> {
        loop {
            let usable = self.nonempty >> order;
            if usable != 0 {
                let mut o = order + usable.trailing_zeros();
                let pfn = self.free_head[o as usize];
                self.list_del(pfn, o);
                while o > order {
                    o -= 1;
                    self.list_add(pfn + (1 << o), o);
                }
                return Some(pfn);
            }
            if !self.touch_section() {
                return None;
            }
        }
    }

    /// `rmqueue_bulk`: the empty per-CPU list gets [`PCP_BATCH`] frames, each split off the
    /// buddy lists by `__rmqueue_smallest`. It adds each frame at the list's tail and the list
    /// is taken from its head: the batch goes out in the order the buddy lists gave it (the
    /// model's list is taken from its end, so the batch goes in reversed).
    ///
    /// When every order below the batch's (64 frames: order 6) is empty, as all along a run
    /// of faults, the 64 splits hand out the first 64 frames of the lowest non-empty order's
    /// first block in address order, each frame having been a free block's head on the way,
    /// and leave that block's buddies from order 6 up on their (empty before) lists. That is
    /// done here at once, to the same lists and the same metadata.
    fn rmqueue_bulk(&mut self) {
        const BATCH_ORDER: u32 = PCP_BATCH.trailing_zeros();
        let low = (1u32 << BATCH_ORDER) - 1;
        let whole = self.nonempty & low == 0 && (self.nonempty != 0 || self.touch_section());
        if whole && !self.sequential_refill() {
            let o = self.nonempty.trailing_zeros();
            let b = self.free_head[o as usize];
            self.list_del(b, o);
            for k in (BATCH_ORDER..o).rev() {
                self.list_add(b + (1 << k), k);
            }
            // What list_add then list_del leave of a head: its buddy fields cleared.
            for p in &mut self.pages[b as usize..b as usize + PCP_BATCH] {
                p.flags = PageFlags::empty();
                p.refcount = 0;
                p.mapcount = 0;
                p.mapping = 0;
                p.index = 0;
            }
            self.pcp.extend((0..PCP_BATCH as Pfn).rev().map(|i| b + i));
            return;
        }
        for _ in 0..PCP_BATCH {
            match self.rmqueue(0) {
                Some(p) => self.pcp.push(p),
                None => break,
            }
        }
        self.pcp.reverse();
    }

    /// Whether [`PhysMem::rmqueue_bulk`] must split frame by frame (a test compares the two).
    #[inline]
    fn sequential_refill(&self) -> bool {
        #[cfg(test)]
        return self.test_sequential_refill;
        #[cfg(not(test))]
        false
    }

    /// `alloc_pages(order)`: a block of `2^order` frames, the head returned with refcount 1.
    pub fn alloc_pages(&mut self, order: u32) -> Result<Pfn, AllocError> {
        if let Some(n) = self.fail_after.as_mut() {
            if *n == 0 {
                return Err(AllocError::Injected);
            }
            *n -= 1;
        }
        let pfn = if order == 0 {
            if self.pcp.is_empty() {
                self.rmqueue_bulk();
            }
            self.pcp.pop().ok_or(AllocError::OutOfMemory)?
        } else {
            self.rmqueue(order).ok_or(AllocError::OutOfMemory)?
        };
        self.nr_free -= 1 << order;
        *self.page_mut(pfn) = Page {
            refcount: 1,
            ..Page::default()
        };
        Ok(pfn)
    }

    /// `__free_pages(pfn, order)`: returns a block whose last reference is gone (what refers to
    /// the head frame without a reference is told: [`PhysMem::note_freed`]).
    #[inline]
    pub fn free_pages(&mut self, pfn: Pfn, order: u32) {
        Self::free_page_prepare(self.page_mut(pfn));
        self.free_prepared(pfn, order);
    }

    /// The metadata part of freeing (`free_pages_prepare`): cleared.
    #[inline]
    pub(crate) fn free_page_prepare(p: &mut Page) {
        debug_assert_eq!({ p.refcount }, 0, "freeing a referenced frame");
        *p = Page::default();
    }

    /// Frame `pfn` (the head of what is freed) is free: the folio batches' entries for it and
    /// the secondary-MMU translations to it become stale. Costs two tests when there are none.
    #[inline]
    fn note_freed(&mut self, pfn: Pfn) {
        self.fbatches.frame_freed(pfn);
        if !self.device_gens.is_empty() {
            if let Some(g) = self.device_gens.get_mut(&pfn) {
                *g = g.wrapping_add(1);
            }
        }
    }

    /// The generation of frame `pfn` for a secondary MMU's translation made now: a frame
    /// some translation was ever made to has one, bumped whenever the frame is freed, so a
    /// translation to a frame freed since is told apart (the frames a device ever mapped are
    /// few: they stay in the table).
    pub fn device_gen(&mut self, pfn: Pfn) -> u16 {
        *self.device_gens.entry(pfn).or_insert(0)
    }

    /// Whether a translation made at generation `gen` to `pfn` still names the same use of
    /// the frame (it has not been freed since).
    pub fn device_gen_is(&self, pfn: Pfn, gen: u16) -> bool {
        self.device_gens.get(&pfn) == Some(&gen)
    }

    /// Whether a free of a base page is only its metadata cleared and the per-CPU list (no
    /// folio batch entries, no large folio, no device translation to tell): it stays so while
    /// frames are only freed.
    #[inline]
    pub(crate) fn frees_are_plain(&self) -> bool {
        self.fbatches.is_empty() && self.large.is_empty() && self.device_gens.is_empty()
    }

    /// [`PhysMem::free_prepared`] of a base page where [`PhysMem::frees_are_plain`].
    #[inline]
    pub(crate) fn free_prepared_plain(&mut self, pfn: Pfn) {
        debug_assert!(self.frees_are_plain());
        self.free_to_pcp(pfn);
    }

    /// An order-0 frame goes on the per-CPU list, whose oldest batch goes back to the buddy
    /// lists once it is full.
    #[inline]
    fn free_to_pcp(&mut self, pfn: Pfn) {
        self.nr_free += 1;
        self.pcp.push(pfn);
        if self.pcp.len() >= PCP_HIGH + PCP_BATCH {
            self.free_pcppages_bulk();
        }
    }

    /// The rest of `__free_pages` once [`PhysMem::free_page_prepare`] has cleared the head.
    #[inline]
    pub(crate) fn free_prepared(&mut self, pfn: Pfn, order: u32) {
        self.note_freed(pfn);
        if order == 0 {
            if !self.large.is_empty() {
                self.large_frame_freed(pfn);
            }
            self.free_to_pcp(pfn);
            return;
        }
        self.nr_free += 1 << order;
        self.free_one(pfn, order);
    }

    /// `free_pcppages_bulk`: the oldest batch of the per-CPU list goes back to the buddy
    /// lists. The frames go in address order, each aligned run of them as one block: the free
    /// blocks that result are the same as frame by frame (buddy merging is canonical), only
    /// their order on the free lists may differ, which no figure shows (PFNs are never
    /// compared); the merges of a run are done once instead of once per frame.
    #[inline(never)]
    fn free_pcppages_bulk(&mut self) {
        let mut old = [0 as Pfn; PCP_BATCH];
        for (o, p) in old.iter_mut().zip(self.pcp.drain(..PCP_BATCH)) {
            *o = p;
        }
        if !old.is_sorted() {
            old.sort_unstable();
        }
        let mut i = 0;
        while i < PCP_BATCH {
            let pfn = old[i];
            let mut order = 0;
            while order < MAX_ORDER {
                let len = 2usize << order;
                let aligned = pfn as usize & (len - 1) == 0;
                // Sorted and distinct: the run is whole if its last frame is where it belongs.
                if !aligned
                    || i + len > PCP_BATCH
                    || old[i + len - 1] as usize != pfn as usize + len - 1
                {
                    break;
                }
                order += 1;
            }
            self.free_one(pfn, order);
            i += 1 << order;
        }
    }

    /// `__free_one_page`: merge with free buddies as far as possible.
    fn free_one(&mut self, mut pfn: Pfn, mut order: u32) {
        while order < MAX_ORDER {
            let buddy = pfn ^ (1 << order);
            let p = self.page(buddy);
            if !(p.flags.contains(PageFlags::BUDDY) && p.mapcount == order as i32) {
                break;
            }
            self.list_del(buddy, order);
            pfn &= !(1 << order);
            order += 1;
        }
        self.list_add(pfn, order);
    }

    /// `alloc_contig_pages` (mm/page_alloc.c), as hugetlb takes a gigantic page: `2^order`
    /// frames (`order` above [`MAX_ORDER`]), naturally aligned, from sections that are wholly
    /// free. The head is returned with refcount 1; `None` if no such range is free.
    pub fn alloc_contig_pages(&mut self, order: u32) -> Option<Pfn> {
        debug_assert!(order > MAX_ORDER);
        let per = (1usize << order) / SECTION_PAGES;
        let block = 1usize << MAX_ORDER;
        let free_section = |m: &Self, s: usize| {
            !m.touched[s]
                || (0..SECTION_PAGES).step_by(block).all(|b| {
                    let p = m.page((s * SECTION_PAGES + b) as Pfn);
                    p.flags.contains(PageFlags::BUDDY) && p.mapcount == MAX_ORDER as i32
                })
        };
        let first = (0..self.touched.len() / per)
            .map(|g| g * per)
            .find(|&s| (s..s + per).all(|i| free_section(self, i)))?;
        for s in first..first + per {
            if !self.touched[s] {
                self.untouched.retain(|&u| u as usize != s);
                self.make_section(s);
            } else {
                for b in (0..SECTION_PAGES).step_by(block) {
                    self.list_del((s * SECTION_PAGES + b) as Pfn, MAX_ORDER);
                }
            }
        }
        self.nr_free -= 1 << order;
        let pfn = (first * SECTION_PAGES) as Pfn;
        *self.page_mut(pfn) = Page {
            refcount: 1,
            ..Page::default()
        };
        Some(pfn)
    }

    /// `free_contig_range`: gives back a range [`alloc_contig_pages`] handed out, as blocks of
    /// the largest buddy order (the head frame's lazy users are told, as for any free).
    pub fn free_contig_pages(&mut self, pfn: Pfn, order: u32) {
        {
            let p = self.page_mut(pfn);
            debug_assert_eq!({ p.refcount }, 0, "freeing a referenced range");
            *p = Page::default();
        }
        self.note_freed(pfn);
        self.nr_free += 1 << order;
        for b in (0..1u32 << order).step_by(1 << MAX_ORDER) {
            self.list_add(pfn + b, MAX_ORDER);
        }
    }

    /// Drains the order-0 cache into the buddy lists (`drain_all_pages`).
    pub fn drain_pcp(&mut self) {
        while let Some(p) = self.pcp.pop() {
            self.free_one(p, 0);
        }
    }

    /// The first order whose bit in the non-empty summary disagrees with its free list, if
    /// any (for invariant checks).
    pub fn nonempty_mismatch(&self) -> Option<u32> {
        (0..=MAX_ORDER)
            .find(|&o| (self.nonempty >> o & 1 == 1) != (self.free_head[o as usize] != NO_PFN))
    }

    /// Counts free frames by walking the free lists and the caches (for invariant checks).
    pub fn count_free_walk(&self) -> u64 {
        let mut n = self.pcp.len() as u64 + (self.untouched.len() * SECTION_PAGES) as u64;
        for o in 0..=MAX_ORDER {
            let mut p = self.free_head[o as usize];
            while p != NO_PFN {
                n += 1 << o;
                p = self.page(p).mapping;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_free_and_merge_back() {
        let mut m = PhysMem::new(256 << 20);
        let total = m.nr_free();
        let mut v = Vec::new();
        for _ in 0..5000 {
            v.push(m.alloc_pages(0).unwrap());
        }
        let big = m.alloc_pages(3).unwrap();
        assert_eq!(m.nr_free(), total - 5008);
        assert_eq!(m.count_free_walk(), m.nr_free());
        assert_eq!(m.nonempty_mismatch(), None);
        let v0 = v[0];
        m.fbatches.test_add(v0);
        let g = m.device_gen(v0);
        for p in v.drain(..) {
            m.page_mut(p).refcount = 0;
            m.free_pages(p, 0);
        }
        m.page_mut(big).refcount = 0;
        m.free_pages(big, 3);
        assert_eq!(
            m.fbatches.lru_add,
            [(v0, true)],
            "a free marks batch entries stale"
        );
        assert!(
            !m.device_gen_is(v0, g),
            "a free changes a device's generation"
        );
        m.drain_pcp();
        assert_eq!(m.nr_free(), total);
        assert_eq!(m.count_free_walk(), total);
        assert_eq!(m.nonempty_mismatch(), None);
        // everything merged back into max-order blocks
        for o in 0..MAX_ORDER {
            assert_eq!(m.free_head[o as usize], NO_PFN, "order {o} not merged");
        }
    }

    /// The batch refill of the per-CPU list leaves the same frames in the same order, the
    /// same free lists and the same metadata as splitting frame by frame, over random
    /// allocations (single frames and blocks) and frees.
    #[test]
    fn batch_refill_is_frame_by_frame_refill() {
        let mut a = PhysMem::new(512 << 20);
        let mut b = PhysMem::new(512 << 20);
        b.test_sequential_refill = true;
        let mut held: Vec<(Pfn, u32)> = Vec::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for step in 0..60_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 8 < 5 || held.is_empty() {
                let order = if x.is_multiple_of(64) {
                    (x >> 8) as u32 % 5
                } else {
                    0
                };
                let (pa, pb) = (a.alloc_pages(order), b.alloc_pages(order));
                assert_eq!(pa, pb, "step {step}: alloc of order {order}");
                if let Ok(p) = pa {
                    held.push((p, order));
                }
            } else {
                let (p, order) = held.swap_remove((x >> 8) as usize % held.len());
                for m in [&mut a, &mut b] {
                    m.page_mut(p).refcount = 0;
                    m.free_pages(p, order);
                }
            }
            if step.is_multiple_of(5000) || step == 59_999 {
                assert_eq!(a.pcp, b.pcp, "step {step}: per-CPU list");
                assert_eq!(a.free_head, b.free_head, "step {step}: free lists");
                assert_eq!(a.nonempty, b.nonempty, "step {step}: non-empty orders");
                assert!(a.pages == b.pages, "step {step}: frame metadata differs");
                assert_eq!(a.count_free_walk(), a.nr_free());
            }
        }
    }

    #[test]
    fn runs_out_and_injects_failures() {
        let mut m = PhysMem::new(128 << 20);
        let n = m.nr_frames();
        for _ in 0..n {
            m.alloc_pages(0).unwrap();
        }
        assert_eq!(m.alloc_pages(0), Err(AllocError::OutOfMemory));
        let mut m = PhysMem::new(128 << 20);
        m.fail_after(Some(2));
        assert!(m.alloc_pages(0).is_ok());
        assert!(m.alloc_pages(0).is_ok());
        assert_eq!(m.alloc_pages(0), Err(AllocError::Injected));
    }

    #[test]
    fn gigantic_ranges_come_from_whole_free_sections() {
        let mut m = PhysMem::new(4 << 30);
        let small = m.alloc_pages(0).unwrap();
        let total = m.nr_free();
        let g = m.alloc_contig_pages(18).unwrap();
        assert_eq!(g % (1 << 18), 0, "naturally aligned");
        assert!(g >= 1 << 18, "the first GiB holds an allocated frame");
        assert_eq!(m.nr_free(), total - (1 << 18));
        assert_eq!(m.count_free_walk(), m.nr_free());
        let h = m.alloc_contig_pages(18).unwrap();
        let i = m.alloc_contig_pages(18).unwrap();
        assert!(
            m.alloc_contig_pages(18).is_none(),
            "the first GiB is not wholly free"
        );
        for p in [g, h, i] {
            m.page_mut(p).refcount = 0;
            m.free_contig_pages(p, 18);
        }
        assert_eq!(m.nr_free(), total);
        assert_eq!(m.count_free_walk(), total);
        m.page_mut(small).refcount = 0;
        m.free_pages(small, 0);
        m.drain_pcp();
        assert!(
            m.alloc_contig_pages(18).is_some(),
            "freed ranges can be taken again"
        );
    }

    #[test]
    fn sections_are_made_on_demand() {
        let m = PhysMem::new(16 << 30);
        assert_eq!(m.touched.iter().filter(|&&t| t).count(), 0);
        let mut m = m;
        let p = m.alloc_pages(0).unwrap();
        assert!(m.has_section(p));
        assert_eq!(m.touched.iter().filter(|&&t| t).count(), 1);
    }
}
