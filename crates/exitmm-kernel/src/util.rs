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

#[cfg(test)]
mod tests {
    use crate::testhw::TestHw;
    use crate::{Config, Errno, Kernel};

    fn kernel(mode: u8) -> Kernel<TestHw> {
        Kernel::new(
            TestHw::default(),
            Config {
                ram_bytes: 1 << 30,
                overcommit_memory: mode,
                ..Config::default()
            },
        )
    }

    #[test]
    fn overcommit_modes() {
        let frames = 1i64 << 18;
        // 0 (guess): only a single request larger than RAM fails.
        let mut k = kernel(0);
        assert_eq!(k.vm_enough_memory(frames + 1), Err(Errno::ENOMEM));
        assert_eq!(k.committed, 0, "a refused charge is taken back");
        k.vm_enough_memory(frames).unwrap();
        k.vm_enough_memory(frames).unwrap();
        assert_eq!(k.committed, 2 * frames);
        // 1 (always): anything.
        let mut k = kernel(1);
        k.vm_enough_memory(10 * frames).unwrap();
        // 2 (never): the total stays within RAM x overcommit_ratio% (50%).
        let mut k = kernel(2);
        k.vm_enough_memory(frames / 2).unwrap();
        assert_eq!(k.vm_enough_memory(1), Err(Errno::ENOMEM));
        k.vm_unacct_memory(1);
        k.vm_enough_memory(1).unwrap();
    }
}
