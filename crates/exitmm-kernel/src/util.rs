//! Commit accounting (mm/util.c): `vm_committed_as`, the overcommit modes, `__vm_enough_memory`.

use crate::arch::Hardware;
use crate::{Errno, Kernel};

impl<H: Hardware> Kernel<H> {
    /// `vm_acct_memory`.
    pub fn vm_acct_memory(&mut self, pages: i64) {
        self.committed += pages;
    }

    /// `vm_unacct_memory`.
    pub fn vm_unacct_memory(&mut self, pages: i64) {
        self.committed -= pages;
    }

    /// `vm_commit_limit`: (RAM × overcommit_ratio / 100) + swap (the model has no swap).
    pub fn vm_commit_limit(&self) -> i64 {
        (self.mem.nr_frames() * self.config.overcommit_ratio / 100) as i64
    }

    /// `__vm_enough_memory`: charge `pages` (optimistically), then check the overcommit policy;
    /// on refusal the charge is taken back and the answer is ENOMEM.
    pub fn vm_enough_memory(&mut self, pages: i64) -> Result<(), Errno> {
        self.vm_acct_memory(pages);
        let ok = match self.config.overcommit_memory {
            1 => true,
            2 => self.committed <= self.vm_commit_limit(),
            _ => pages <= self.mem.nr_frames() as i64,
        };
        if ok {
            Ok(())
        } else {
            self.vm_unacct_memory(pages);
            Err(Errno::ENOMEM)
        }
    }
}
