//! A `Hardware` for the kernel crate's own tests: table memory in a map, and a log of every
//! maintenance call, so tests can assert what the kernel asked for and in which order.

extern crate std;

use crate::arch::{Hardware, MmId};
use crate::page::Pfn;
use alloc::boxed::Box;
use alloc::vec::Vec;
use std::collections::HashMap;

/// One call the kernel made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HwCall {
    FlushMm(MmId),
    FlushRange {
        mm: MmId,
        start: u64,
        end: u64,
        freed_tables: bool,
    },
    FlushCacheMm(MmId),
    ArchExitMmap(MmId),
    TableFree(Pfn),
}

#[derive(Default)]
pub struct TestHw {
    tables: HashMap<Pfn, Box<[u64; 512]>>,
    pub log: Vec<HwCall>,
}

impl Hardware for TestHw {
    fn table_alloc(&mut self, pfn: Pfn) {
        assert!(
            self.tables.insert(pfn, Box::new([0; 512])).is_none(),
            "table {pfn} allocated twice"
        );
    }
    fn table_free(&mut self, pfn: Pfn) {
        assert!(
            self.tables.remove(&pfn).is_some(),
            "freeing unallocated table {pfn}"
        );
        self.log.push(HwCall::TableFree(pfn));
    }
    fn table(&self, pfn: Pfn) -> &[u64; 512] {
        &self.tables[&pfn]
    }
    fn table_mut(&mut self, pfn: Pfn) -> &mut [u64; 512] {
        self.tables.get_mut(&pfn).expect("not a table")
    }
    fn flush_tlb_mm(&mut self, mm: MmId) {
        self.log.push(HwCall::FlushMm(mm));
    }
    fn flush_tlb_range(
        &mut self,
        mm: MmId,
        start: u64,
        end: u64,
        _stride_shift: u32,
        freed_tables: bool,
    ) {
        self.log.push(HwCall::FlushRange {
            mm,
            start,
            end,
            freed_tables,
        });
    }
    fn flush_cache_mm(&mut self, mm: MmId) {
        self.log.push(HwCall::FlushCacheMm(mm));
    }
    fn arch_exit_mmap(&mut self, mm: MmId) {
        self.log.push(HwCall::ArchExitMmap(mm));
    }
}
