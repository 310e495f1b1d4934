//! A file's page cache index, page offset → frame (`mapping->i_pages`, an xarray in the
//! kernel, lib/xarray.c).
//!
//! The kernel's xarray is a radix tree of 64-slot nodes; this one keeps the same leaf shape,
//! chunks of 64 slots for 64 consecutive offsets, in an ordered map by chunk. A file of N
//! cached pages costs about N/64 chunk allocations (a map entry per page would cost one tree
//! node per few pages), and a walk in offset order reads its slots in place.

use crate::page::{Pfn, NO_PFN};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use core::ops::Range;

const CHUNK_SHIFT: u32 = 6;
const CHUNK: u64 = 1 << CHUNK_SHIFT;

/// 64 slots, [`NO_PFN`] where empty, and how many are not.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Chunk {
    used: u32,
    slot: [Pfn; CHUNK as usize],
}

/// Page offset → frame, in offset order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageCache {
    chunks: BTreeMap<u64, Box<Chunk>>,
    len: usize,
}

impl PageCache {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cached pages.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// No page cached.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The frame cached at `index` (`xa_load`).
    #[inline]
    pub fn get(&self, index: &u64) -> Option<&Pfn> {
        let c = self.chunks.get(&(index >> CHUNK_SHIFT))?;
        let p = &c.slot[(index & (CHUNK - 1)) as usize];
        (*p != NO_PFN).then_some(p)
    }

    /// Whether a frame is cached at `index`.
    #[inline]
    pub fn contains_key(&self, index: &u64) -> bool {
        self.get(index).is_some()
    }

    /// Caches `pfn` at `index` (`xa_store`), giving back the frame that was there.
    pub fn insert(&mut self, index: u64, pfn: Pfn) -> Option<Pfn> {
        debug_assert_ne!(pfn, NO_PFN, "the empty-slot marker cached");
        let c = self.chunks.entry(index >> CHUNK_SHIFT).or_insert_with(|| {
            Box::new(Chunk {
                used: 0,
                slot: [NO_PFN; CHUNK as usize],
            })
        });
        let old = core::mem::replace(&mut c.slot[(index & (CHUNK - 1)) as usize], pfn);
        if old == NO_PFN {
            c.used += 1;
            self.len += 1;
            None
        } else {
            Some(old)
        }
    }

    /// Takes the frame cached at `index` out (`xa_erase`); a chunk left empty goes.
    pub fn remove(&mut self, index: &u64) -> Option<Pfn> {
        let key = index >> CHUNK_SHIFT;
        let c = self.chunks.get_mut(&key)?;
        let old = core::mem::replace(&mut c.slot[(index & (CHUNK - 1)) as usize], NO_PFN);
        if old == NO_PFN {
            return None;
        }
        c.used -= 1;
        self.len -= 1;
        if c.used == 0 {
            self.chunks.remove(&key);
        }
        Some(old)
    }

    /// Every cached page in offset order: (offset, frame).
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Pfn)> + '_ {
        self.range(0..u64::MAX)
    }

    /// The cached pages at offsets in `r`, in order (`xa_for_each_range`).
    pub fn range(&self, r: Range<u64>) -> impl Iterator<Item = (u64, &Pfn)> + '_ {
        let (lo, hi) = (r.start, r.end);
        let chunks = if lo < hi {
            Some(
                self.chunks
                    .range(lo >> CHUNK_SHIFT..=(hi - 1) >> CHUNK_SHIFT),
            )
        } else {
            None
        };
        chunks.into_iter().flatten().flat_map(move |(&k, c)| {
            let base = k << CHUNK_SHIFT;
            c.slot
                .iter()
                .enumerate()
                .map(move |(i, p)| (base + i as u64, p))
                .filter(move |&(i, p)| *p != NO_PFN && i >= lo && i < hi)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Against an ordered map, over inserts and removes that cross chunks.
    #[test]
    fn behaves_as_an_ordered_map() {
        let mut x = PageCache::new();
        let mut m = BTreeMap::new();
        let mut s: u64 = 12345;
        for step in 0..20_000u64 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let idx = (s >> 33) % 700;
            if step % 3 == 2 {
                assert_eq!(x.remove(&idx), m.remove(&idx));
            } else {
                let pfn = (s >> 20) as Pfn & 0xffff;
                assert_eq!(x.insert(idx, pfn), m.insert(idx, pfn));
            }
            assert_eq!(x.len(), m.len());
            assert_eq!(x.get(&idx), m.get(&idx));
            if step % 97 == 0 {
                let a: Vec<_> = x.iter().map(|(i, p)| (i, *p)).collect();
                let b: Vec<_> = m.iter().map(|(i, p)| (*i, *p)).collect();
                assert_eq!(a, b);
                let (lo, hi) = (idx / 2, idx + 70);
                let a: Vec<_> = x.range(lo..hi).map(|(i, p)| (i, *p)).collect();
                let b: Vec<_> = m.range(lo..hi).map(|(i, p)| (*i, *p)).collect();
                assert_eq!(a, b);
            }
        }
        assert_eq!(x.range(5..5).count(), 0);
        for i in m.keys().copied().collect::<Vec<_>>() {
            x.remove(&i);
        }
        assert!(x.is_empty() && x.chunks.is_empty(), "empty chunks go");
    }
}
