//! A generator of random scripts over the deterministic operations of script.md (everything but
//! the global `commit`/`meminfo` and the model-only ops), reproducible from a seed.
//!
//! Addresses sit on the 4 KiB grid, biased towards 2 MiB and 1 GiB boundaries and towards
//! neighbour placements (the same 2 MiB slot, the same 1 GiB slot, adjacent to an earlier
//! mapping); lengths are small, so footprints stay far below the kernel runner's cap; mlock
//! totals stay below `memlock_limit`.

use std::fmt::Write;

/// SplitMix64: small, fast, and the same everywhere.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `num/den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Settings for generated scripts.
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// Most ops per script.
    pub max_ops: usize,
    /// Bytes that may be mlocked in total (RLIMIT_MEMLOCK; scripts stay below it).
    pub memlock_limit: u64,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            max_ops: 40,
            memlock_limit: 8 << 20,
        }
    }
}

struct State {
    /// Starts and ends of earlier mappings, for neighbour placements.
    edges: Vec<u64>,
    child: bool,
    locked: u64,
}

const K4: u64 = 4096;
const M2: u64 = 2 << 20;
const G1: u64 = 1 << 30;

fn offset(r: &mut Rng, st: &State) -> u64 {
    let base = match r.below(10) {
        0..=2 => *r.pick(&[0, M2, 2 * M2, 3 * M2]),
        3..=4 => *r.pick(&[G1 - M2, G1, G1 + M2]),
        5..=7 if !st.edges.is_empty() => *r.pick(&st.edges),
        _ => r.below(16) * M2,
    };
    let delta = r.below(48) as i64 - 16;
    (base as i64 + delta * K4 as i64).max(0) as u64
}

fn length(r: &mut Rng) -> u64 {
    match r.below(10) {
        0..=5 => (1 + r.below(16)) * K4,
        6..=8 => (1 + r.below(256)) * K4,
        _ => (1 + r.below(4)) * M2,
    }
}

fn prot(r: &mut Rng) -> &'static str {
    const PROTS: [&str; 7] = ["rw", "rw", "rw", "r", "none", "rwx", "r"];
    PROTS[r.below(PROTS.len() as u64) as usize]
}

fn num(v: u64) -> String {
    if v == 0 {
        "0".into()
    } else if v.is_multiple_of(1 << 20) {
        format!("{}M", v >> 20)
    } else if v.is_multiple_of(4096) {
        format!("{}K", v >> 10)
    } else {
        format!("{v:#x}")
    }
}

fn op(r: &mut Rng, st: &mut State, opts: &GenOptions) -> String {
    let o = offset(r, st);
    let l = length(r);
    match r.below(100) {
        0..=19 => {
            let flags = *r.pick(&[
                "private,anon",
                "private,anon",
                "private,anon",
                "shared,anon",
                "private,anon,noreserve",
                "shared,anon,noreserve",
                "private,anon,populate",
                "private,anon,fixed",
                "private,anon,growsdown",
            ]);
            st.edges.push(o);
            st.edges.push(o + l);
            format!("mmap {} {} {} {flags}", num(o), num(l), prot(r))
        }
        20..=25 => {
            let kind = *r.pick(&["shared", "private"]);
            let file = *r.pick(&["f", "g"]);
            st.edges.push(o);
            st.edges.push(o + l);
            format!(
                "mmap {} {} {} {kind} {file} {}",
                num(o),
                num(l),
                prot(r),
                num(r.below(64) * K4)
            )
        }
        26..=45 => {
            let stride = *r.pick(&[K4, K4, 3 * K4, 16 * K4]);
            format!(
                "touch {} {} {} {}",
                num(o),
                num(l),
                if r.chance(1, 2) { "w" } else { "r" },
                num(stride)
            )
        }
        46..=52 => format!("munmap {} {}", num(o), num(l)),
        53..=59 => format!("mprotect {} {} {}", num(o), num(l), prot(r)),
        60..=64 => {
            if st.locked + l > opts.memlock_limit {
                return format!("munlock {} {}", num(o), num(l));
            }
            st.locked += l;
            format!(
                "mlock {} {}{}",
                num(o),
                num(l),
                if r.chance(1, 3) { " onfault" } else { "" }
            )
        }
        65..=66 => format!("munlock {} {}", num(o), num(l)),
        67..=76 => {
            let a = *r.pick(&[
                "dontneed",
                "dontneed",
                "dontneed_locked",
                "free",
                "remove",
                "dontfork",
                "dofork",
                "wipeonfork",
                "keeponfork",
                "populate_read",
                "populate_write",
                "hugepage",
                "nohugepage",
                "random",
                "sequential",
                "normal",
                "dontdump",
                "dodump",
                "willneed",
            ]);
            format!("madvise {} {} {a}", num(o), num(l))
        }
        77..=82 => {
            let n = length(r);
            let to = offset(r, st);
            st.edges.push(to);
            match r.below(4) {
                0 => format!("mremap {} {} {}", num(o), num(l), num(n)),
                1 => format!(
                    "mremap {} {} {} maymove fixed={} dontunmap",
                    num(o),
                    num(l),
                    num(l),
                    num(to)
                ),
                _ => format!(
                    "mremap {} {} {} maymove fixed={}",
                    num(o),
                    num(l),
                    num(n),
                    num(to)
                ),
            }
        }
        83..=84 => {
            if st.locked > 0 {
                "munlockall".into()
            } else {
                "mlockall current future onfault".into()
            }
        }
        85..=89 => format!(
            "pagemap {} {}",
            num(o & !(M2 - 1)),
            num(M2.min(l + 64 * K4))
        ),
        90..=92 => "dump".into(),
        _ => "nop".into(),
    }
}

/// A random script from `seed`: two files, then ops in the parent and (after a `fork`) the
/// child, with at most one child at a time.
pub fn script(seed: u64, opts: &GenOptions) -> String {
    let mut r = Rng::new(seed);
    let mut st = State {
        edges: Vec::new(),
        child: false,
        locked: 0,
    };
    let mut s = String::new();
    let _ = writeln!(s, "# generated: seed {seed}");
    let _ = writeln!(s, "memfd f {} fill", num((1 + r.below(64)) * K4));
    let _ = writeln!(s, "shmfile g {}", num((1 + r.below(64)) * K4));
    let n = 1 + r.below(opts.max_ops as u64) as usize;
    for _ in 0..n {
        let roll = r.below(20);
        if roll == 0 && !st.child {
            s.push_str("fork\n");
            st.child = true;
            continue;
        }
        if roll == 1 && st.child {
            s.push_str("child_exit\n");
            st.child = false;
            continue;
        }
        let line = op(&mut r, &mut st, opts);
        if st.child && r.chance(1, 2) {
            let _ = writeln!(s, "child {line}");
        } else {
            let _ = writeln!(s, "{line}");
        }
    }
    if st.child {
        s.push_str("child dump\nchild_exit\n");
    }
    s.push_str("dump\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_script_and_scripts_parse() {
        let o = GenOptions::default();
        assert_eq!(script(7, &o), script(7, &o));
        assert_ne!(script(7, &o), script(8, &o));
        for seed in 0..500 {
            let s = script(seed, &o);
            exitmm_script::parse(&s).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{s}"));
            assert!(!exitmm_script::parse(&s).unwrap().model_only());
        }
    }
}
