//! Resource limits and capabilities (kernel/sys.c `do_prlimit`, kernel/capability.c
//! `capset`), as far as the mm code reads them: `RLIMIT_MEMLOCK`, `RLIMIT_AS`,
//! `RLIMIT_DATA`, `CAP_IPC_LOCK`.

use crate::arch::Hardware;
use crate::mm_types::{Mm, Rlim};
use crate::{Errno, Kernel};

/// The limits scripts set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// `RLIMIT_MEMLOCK`.
    Memlock,
    /// `RLIMIT_AS`.
    As,
    /// `RLIMIT_DATA`.
    Data,
}

impl<H: Hardware> Kernel<H> {
    /// `do_prlimit(current, resource, new)`: soft above hard is `EINVAL`; raising the hard
    /// limit needs `CAP_SYS_RESOURCE` (`EPERM`).
    pub fn do_prlimit(&mut self, mm: &mut Mm, resource: Resource, new: Rlim) -> Result<(), Errno> {
        if new.cur > new.max {
            return Err(Errno::EINVAL);
        }
        let old = match resource {
            Resource::Memlock => &mut mm.limits.memlock,
            Resource::As => &mut mm.limits.as_,
            Resource::Data => &mut mm.limits.data,
        };
        if new.max > old.max && !mm.limits.cap_sys_resource {
            return Err(Errno::EPERM);
        }
        *old = new;
        Ok(())
    }

    /// `capset` without `CAP_IPC_LOCK` in the effective and permitted sets: lock limits
    /// apply from now on (and to children forked after).
    pub fn drop_cap_ipc_lock(&mut self, mm: &mut Mm) {
        mm.limits.cap_ipc_lock = false;
    }
}
