//! Comparing records of the model with the kernel's, by the rules of script.md: `R`, `D`, `T`,
//! `M`, `G` lines exactly; `V` lines without `Referenced`, `LazyFree`, `KSM`, `THPeligible` and
//! with `VmFlags` reduced to the compared mnemonics; `K Committed_AS` as deltas between
//! consecutive `commit`s; `X` and census lines (model only) not at all.
//!
//! 1 GiB hugetlb VMAs (records format v2): the kernel's split of their pages between
//! `Shared_Hugetlb` and `Private_Hugetlb`, and its `H`/`h` choice, vary from run to run, so only
//! their sum is compared. A `V` line with `KernelPageSize=1048576` compares
//! `Shared_Hugetlb + Private_Hugetlb` instead of each; in a `G` line, a page inside a 1 GiB
//! hugetlb VMA of that role compares `h` as `H`. Which ranges those are is read from the records
//! themselves (see [`Gigantic`]); 2 MiB hugetlb pages compare in full.

use exitmm_script::{HugeSize, Op};
use std::collections::BTreeSet;

/// The VmFlags mnemonics that are compared.
pub const COMPARED_FLAGS: [&str; 22] = [
    "rd", "wr", "ex", "sh", "mr", "mw", "me", "ms", "gd", "pf", "lo", "io", "lf", "dc", "de", "ac",
    "nr", "hg", "nh", "wf", "dd", "ht",
];

/// The `V` field of a VMA of 1 GiB huge pages.
const GIGANTIC: &str = "KernelPageSize=1048576";

/// The first difference found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The op's header (`# <line> <text>`), or a description.
    pub op: String,
    /// The model's line (normalised).
    pub model: String,
    /// The kernel's line (normalised).
    pub kernel: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n  model:  {}\n  kernel: {}",
            self.op, self.model, self.kernel
        )
    }
}

/// Normalise a line for comparison; `None` for lines that are not compared. `gigantic` gives
/// the 1 GiB hugetlb ranges of each role at this point, for `G` lines.
fn normalise(line: &str, gigantic: &Gigantic) -> Option<String> {
    if line.starts_with("X ") || line.contains(" census ") {
        return None;
    }
    if line.starts_with("K ")
        && MEMINFO_DELTAS
            .iter()
            .any(|k| line.contains(&format!(" {k}=")))
    {
        return None; // compared as deltas, separately
    }
    if line.starts_with("G ") {
        return Some(gigantic.normalise_g(line));
    }
    if !line.starts_with("V ") {
        return Some(line.to_string());
    }
    // 1 GiB pages: the sum of Shared_Hugetlb and Private_Hugetlb, where Shared_Hugetlb was.
    let gig = line.split(' ').any(|w| w == GIGANTIC);
    let value = |key: &str| -> u64 {
        line.split(' ')
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
            .unwrap_or(0)
    };
    let mut out = Vec::new();
    for w in line.split(' ') {
        let key = w.split('=').next().unwrap_or("");
        match key {
            "Referenced" | "LazyFree" | "KSM" | "THPeligible" => {}
            "Shared_Hugetlb" if gig => out.push(format!(
                "Shared_Hugetlb+Private_Hugetlb={}",
                value("Shared_Hugetlb") + value("Private_Hugetlb")
            )),
            "Private_Hugetlb" if gig => {}
            "VmFlags" => {
                let flags: Vec<&str> = w["VmFlags=".len()..]
                    .split('.')
                    .filter(|f| COMPARED_FLAGS.contains(f))
                    .collect();
                out.push(format!("VmFlags={}", flags.join(".")));
            }
            _ => out.push(w.to_string()),
        }
    }
    Some(out.join(" "))
}

fn blocks(records: &str) -> Vec<(String, Vec<String>)> {
    let mut v: Vec<(String, Vec<String>)> = Vec::new();
    for l in records.lines() {
        if l.starts_with("# kernel ") || l.starts_with(BASELINE) {
            continue;
        }
        if let Some(h) = l.strip_prefix("# ") {
            v.push((h.to_string(), Vec::new()));
        } else if let Some(b) = v.last_mut() {
            b.1.push(l.to_string());
        }
    }
    v
}

/// The global `/proc/meminfo` figures compared as deltas between consecutive readings of the
/// same key (other work on the machine moves their absolute values).
const MEMINFO_DELTAS: [&str; 3] = ["Committed_AS", "SwapFree", "SwapTotal"];

/// The readings of meminfo `key` (`K <role> <key>=<kB>` lines), with the op each came from.
fn readings(records: &str, key: &str) -> Vec<(String, i64)> {
    let mut head = String::new();
    let mut v = Vec::new();
    let pat = format!(" {key}=");
    for l in records.lines() {
        if let Some(h) = l.strip_prefix("# ") {
            head = h.to_string();
        } else if l.starts_with("K ") && !l.contains(" census ") {
            if let Some(x) = l.split(pat.as_str()).nth(1) {
                v.push((head.clone(), x.trim().parse().unwrap_or(i64::MIN)));
            }
        }
    }
    v
}

/// How a golden file records a huge page pool the host had before the script ran (the kernel
/// may hold reservations it leaked), so that the model boots with the same pools:
/// `# hugetlb-baseline <kB>kB nr=.. surplus=.. resv=..`.
pub const BASELINE: &str = "# hugetlb-baseline ";

/// The header lines of the pools in `b` that are not empty.
pub fn baseline_lines(b: &[exitmm_kernel::HugetlbBaseline; 2]) -> String {
    exitmm_kernel::hugetlb::HugeSize::ALL
        .iter()
        .filter(|h| b[h.index()] != Default::default())
        .map(|h| {
            let p = b[h.index()];
            format!(
                "{BASELINE}{}kB nr={} surplus={} resv={}\n",
                h.bytes() >> 10,
                p.nr,
                p.surplus,
                p.resv
            )
        })
        .collect()
}

/// The pools a golden file's header records (empty ones where it has none).
pub fn golden_baseline(golden: &str) -> [exitmm_kernel::HugetlbBaseline; 2] {
    let mut b: [exitmm_kernel::HugetlbBaseline; 2] = Default::default();
    for l in golden.lines().filter_map(|l| l.strip_prefix(BASELINE)) {
        let mut words = l.split(' ');
        let kb: u64 = words
            .next()
            .and_then(|w| w.strip_suffix("kB"))
            .and_then(|w| w.parse().ok())
            .unwrap_or(0);
        let Some(h) = exitmm_kernel::hugetlb::HugeSize::ALL
            .into_iter()
            .find(|h| h.bytes() >> 10 == kb)
        else {
            continue;
        };
        for w in words {
            let (k, v) = w.split_once('=').unwrap_or((w, ""));
            let v = v.parse().unwrap_or(0);
            match k {
                "nr" => b[h.index()].nr = v,
                "surplus" => b[h.index()].surplus = v,
                "resv" => b[h.index()].resv = v,
                _ => {}
            }
        }
    }
    b
}

/// Compares the model's records with the kernel's; `Ok` when equal on every compared field.
pub fn compare(model: &str, kernel: &str) -> Result<(), Mismatch> {
    let (m, k) = (blocks(model), blocks(kernel));
    // Each side's 1 GiB hugetlb ranges, from its own records up to the op being compared: the
    // two agree as long as everything before compared equal.
    let (mut mg, mut kg) = (Gigantic::default(), Gigantic::default());
    for (i, ((mh, ml), (kh, kl))) in m.iter().zip(k.iter()).enumerate() {
        if mh != kh {
            return Err(Mismatch {
                op: format!("op {}", i + 1),
                model: format!("# {mh}"),
                kernel: format!("# {kh}"),
            });
        }
        let (raw_m, raw_k) = (ml, kl);
        let ml: Vec<String> = ml.iter().filter_map(|l| normalise(l, &mg)).collect();
        let kl: Vec<String> = kl.iter().filter_map(|l| normalise(l, &kg)).collect();
        mg.after(mh, raw_m);
        kg.after(kh, raw_k);
        for j in 0..ml.len().max(kl.len()) {
            let (a, b) = (
                ml.get(j).cloned().unwrap_or_default(),
                kl.get(j).cloned().unwrap_or_default(),
            );
            if a != b {
                return Err(Mismatch {
                    op: format!("# {mh}"),
                    model: a,
                    kernel: b,
                });
            }
        }
    }
    if m.len() != k.len() {
        return Err(Mismatch {
            op: "number of ops".into(),
            model: m.len().to_string(),
            kernel: k.len().to_string(),
        });
    }
    for key in MEMINFO_DELTAS {
        let (mc, kc) = (readings(model, key), readings(kernel, key));
        for i in 1..mc.len().min(kc.len()) {
            let (dm, dk) = (mc[i].1 - mc[i - 1].1, kc[i].1 - kc[i - 1].1);
            if dm != dk {
                return Err(Mismatch {
                    op: format!("# {} ({key} since the previous reading)", mc[i].0),
                    model: format!("delta {dm} kB"),
                    kernel: format!("delta {dk} kB"),
                });
            }
        }
    }
    Ok(())
}

/// Ranges `[start, end)` of arena offsets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Ranges(Vec<(u64, u64)>);

impl Ranges {
    fn contains(&self, a: u64) -> bool {
        self.0.iter().any(|&(s, e)| s <= a && a < e)
    }

    fn covers(&self, s: u64, e: u64) -> bool {
        s < e && self.0.iter().any(|&(rs, re)| rs <= s && e <= re)
    }

    fn remove(&mut self, s: u64, e: u64) {
        let mut out = Vec::new();
        for &(rs, re) in &self.0 {
            if re <= s || e <= rs {
                out.push((rs, re));
                continue;
            }
            if rs < s {
                out.push((rs, s));
            }
            if e < re {
                out.push((e, re));
            }
        }
        self.0 = out;
    }

    fn add(&mut self, s: u64, e: u64) {
        self.remove(s, e);
        if s < e {
            self.0.push((s, e));
        }
    }
}

/// The 1 GiB hugetlb VMAs of each role (`P`, `C`) as far as the records tell, for `G` lines.
///
/// A `dump` gives the truth: its `V` lines with `KernelPageSize=1048576` are the role's 1 GiB
/// VMAs (all of them: a dump lists every arena VMA). Between dumps the op headers and results
/// keep it up to date: a successful `mmap ... hugetlb=1G`, or an `mmap` of a file made by
/// `memfd ... hugetlb=1G`, adds its range (LEN rounded up to 1 GiB, as the kernel does); `mmap`
/// (successful or `fixed`), `munmap` and `mremap` remove what they may have replaced or moved
/// (a move of a 1 GiB range adds its new place, from `mremap_result=`); `fork` gives the child
/// the parent's ranges, `child_exit` and `exit` clear them. Ops that cannot change which pages
/// belong to a 1 GiB VMA leave them; an op the comparison cannot read clears that role's ranges.
/// The errors are all on one side: a range it does not know compares `H`/`h` exactly (a
/// difference shown, never one hidden), and a range is only taken for 1 GiB after the kernel
/// (or the model) reported it so.
#[derive(Clone, Debug, Default)]
pub struct Gigantic {
    ranges: [Ranges; 2],
    /// Names of the role's `memfd ... hugetlb=1G` files.
    files: [BTreeSet<String>; 2],
}

fn role_index(r: &str) -> Option<usize> {
    match r {
        "P" => Some(0),
        "C" => Some(1),
        _ => None,
    }
}

fn parse_off(s: &str) -> Option<u64> {
    if s == "0" {
        return Some(0);
    }
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

impl Gigantic {
    /// `G <role> <hex offset> <chars>` with `h` read as `H` inside the role's 1 GiB ranges.
    fn normalise_g(&self, line: &str) -> String {
        let w: Vec<&str> = line.splitn(4, ' ').collect();
        let (Some(r), Some(start), Some(chars)) = (
            w.get(1).and_then(|r| role_index(r)),
            w.get(2).and_then(|o| parse_off(o)),
            w.get(3),
        ) else {
            return line.to_string();
        };
        if self.ranges[r].0.is_empty() {
            return line.to_string();
        }
        let chars: String = chars
            .chars()
            .enumerate()
            .map(|(i, c)| {
                let a = start.saturating_add(i as u64 * 4096);
                if c == 'h' && self.ranges[r].contains(a) {
                    'H'
                } else {
                    c
                }
            })
            .collect();
        format!("{} {} {} {chars}", w[0], w[1], w[2])
    }

    /// Takes in one op's block: its header (`<line> <text>`) and its lines.
    pub fn after(&mut self, header: &str, lines: &[String]) {
        let text = header.split_once(' ').map_or("", |(_, t)| t);
        let (r, text) = match text.strip_prefix("child ") {
            Some(t) => (1, t),
            None => (0, text),
        };
        let rc = lines
            .iter()
            .find_map(|l| {
                l.strip_prefix("R ")?
                    .split_once(" rc=")?
                    .1
                    .split(' ')
                    .next()
            })
            .and_then(|v| v.parse::<i64>().ok());
        let ok = rc == Some(0);
        let round = |off: u64, len: u64| {
            let l = HugeSize::G1.round_up(len).unwrap_or(u64::MAX);
            (off, off.saturating_add(l))
        };
        if text == "child_exit" {
            self.ranges[1] = Ranges::default();
            self.files[1].clear();
            return;
        }
        let op = match exitmm_script::parse(text) {
            Ok(s) if s.lines.len() == 1 => s.lines[0].op.clone(),
            _ => {
                self.ranges[r] = Ranges::default();
                return;
            }
        };
        match op {
            Op::Swapon { .. } | Op::Thp { .. } => {}
            Op::Dump => {
                let mut g = Ranges::default();
                for l in lines {
                    let w: Vec<&str> = l.split(' ').collect();
                    if w.first() != Some(&"V") || !w.contains(&GIGANTIC) {
                        continue;
                    }
                    if let Some((s, e)) = w.get(2).and_then(|x| x.split_once('-')) {
                        if let (Some(s), Some(e)) = (parse_off(s), parse_off(e)) {
                            g.add(s, e);
                        }
                    }
                }
                self.ranges[r] = g;
            }
            Op::Mmap {
                off,
                len,
                flags,
                file,
                ..
            } => {
                let (s, e) = round(off, len);
                if ok || flags.fixed {
                    self.ranges[r].remove(s, e);
                }
                let gig_file = file.as_ref().is_some_and(|f| self.files[r].contains(f));
                if ok && (flags.hugetlb == Some(HugeSize::G1) || gig_file) {
                    self.ranges[r].add(s, e);
                }
            }
            Op::MakeFile { name, hugetlb, .. } => {
                if hugetlb == Some(HugeSize::G1) {
                    // (the runner keeps a file whose fill failed)
                    self.files[r].insert(name);
                } else if ok {
                    self.files[r].remove(&name);
                }
            }
            Op::Munmap { off, len } => {
                if ok {
                    self.ranges[r].remove(off, off.saturating_add(len));
                }
            }
            Op::Mremap {
                off,
                old_len,
                new_len,
                ..
            } => {
                if ok {
                    let moved = self.ranges[r].covers(off, off.saturating_add(old_len));
                    self.ranges[r].remove(off, off.saturating_add(old_len));
                    let to = lines
                        .iter()
                        .find_map(|l| l.split(' ').find_map(|w| w.strip_prefix("mremap_result=")))
                        .and_then(parse_off);
                    match to {
                        Some(to) => {
                            let (s, e) = round(to, new_len);
                            self.ranges[r].remove(s, e);
                            if moved {
                                self.ranges[r].add(s, e);
                            }
                        }
                        None => self.ranges[r] = Ranges::default(),
                    }
                }
            }
            Op::Fork => {
                self.ranges[1] = self.ranges[0].clone();
                self.files[1] = self.files[0].clone();
            }
            Op::ChildExit => {
                self.ranges[1] = Ranges::default();
                self.files[1].clear();
            }
            Op::Exit => {
                self.ranges[0] = Ranges::default();
                self.files[0].clear();
            }
            // These leave every VMA's page size as it is (they split VMAs at most).
            Op::Touch { .. }
            | Op::Mprotect { .. }
            | Op::Mlock { .. }
            | Op::Munlock { .. }
            | Op::Mlockall { .. }
            | Op::Munlockall
            | Op::Madvise { .. }
            | Op::Pagemap { .. }
            | Op::Commit
            | Op::Meminfo { .. }
            | Op::Nop
            | Op::HugetlbPool { .. }
            | Op::HugetlbStat { .. }
            | Op::OomVictim
            | Op::Census
            | Op::Cpu { .. }
            | Op::Thread { .. }
            | Op::Access { .. }
            | Op::Background { .. }
            | Op::ThreadExit { .. }
            | Op::PerfRing { .. }
            | Op::Close { .. }
            | Op::Iomap { .. }
            | Op::Pat
            | Op::Codefile { .. }
            | Op::Diskfile { .. }
            | Op::Uprobe { .. }
            | Op::UprobeRemove { .. }
            | Op::Call { .. }
            | Op::OomScoreAdj { .. }
            | Op::OomKill { .. }
            | Op::Kill { .. }
            | Op::Mrelease { .. }
            | Op::Wait
            | Op::Secondary { .. }
            | Op::DeviceAccess { .. }
            | Op::Msync { .. }
            | Op::Write { .. }
            | Op::Truncate { .. }
            | Op::Fallocate { .. }
            | Op::Fsync { .. }
            | Op::Shmget { .. }
            | Op::Shmdt { .. }
            | Op::Shmrm { .. }
            | Op::MadviseRaw { .. }
            | Op::Mlock2Raw { .. }
            | Op::MlockallRaw { .. }
            | Op::BrkStart { .. }
            | Op::Brk { .. }
            | Op::Setrlimit { .. }
            | Op::DropCapIpcLock
            // Scripts make hugetlb segments of 2 MiB pages only.
            | Op::Shmat { .. } => {}
            Op::Reopen { name, alias, .. } => {
                if ok && self.files[r].contains(&name) {
                    self.files[r].insert(alias);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_golden_header_gives_the_pools_back() {
        let mut b: [exitmm_kernel::HugetlbBaseline; 2] = Default::default();
        assert_eq!(baseline_lines(&b), "");
        b[0] = exitmm_kernel::HugetlbBaseline {
            nr: 1,
            surplus: 0,
            resv: 1,
        };
        let head = baseline_lines(&b);
        assert_eq!(head, "# hugetlb-baseline 2048kB nr=1 surplus=0 resv=1\n");
        let golden = format!("# kernel x\n{head}# 1 nop\nR P rc=0 err=0\n");
        assert_eq!(golden_baseline(&golden), b);
        assert_eq!(blocks(&golden).len(), 1, "the header is not an op");
    }

    #[test]
    fn ignores_what_is_not_compared_and_catches_what_is() {
        let k = "# kernel x\n# 1 nop\nK P Committed_AS=1000\nV P 0-0x1000 rw-p Rss=4 Referenced=4 VmFlags=rd.wr.mr.mw.me.ac.sd\nR P rc=0 err=0\n# 2 commit\nK P Committed_AS=1004\n";
        let m = "# 1 nop\nK P Committed_AS=0\nV P 0-0x1000 rw-p Rss=4 Referenced=0 VmFlags=rd.wr.mr.mw.me.ac\nR P rc=0 err=0\nX P unmap_vmas ptes=1\n# 2 commit\nK P Committed_AS=4\n";
        assert_eq!(compare(m, k), Ok(()));
        let bad = m.replace("Rss=4", "Rss=8");
        assert!(compare(&bad, k).unwrap_err().model.contains("Rss=8"));
        let bad = m.replace("Committed_AS=4", "Committed_AS=8");
        assert!(compare(&bad, k).unwrap_err().op.contains("Committed_AS"));
        let bad = m.replace("# 2 commit", "# 2 nop");
        assert!(compare(&bad, k).is_err());
    }

    /// A V line of one VMA with the given hugetlb figures.
    fn v(range: &str, shared: u64, private: u64, page_kb: u64) -> String {
        format!(
            "V P {range} rw-p Rss=0 Pss=0 Swap=0 Locked=0 Shared_Hugetlb={shared} Private_Hugetlb={private} KernelPageSize={page_kb} MMUPageSize={page_kb} THPeligible=0 VmFlags=rd.wr.mr.mw.me.de.ht"
        )
    }

    /// Records: `# n text` headers, each with its lines and an `R P rc=0` line.
    fn recs(ops: &[(&str, &[String])]) -> String {
        let mut s = String::new();
        for (i, (text, lines)) in ops.iter().enumerate() {
            s += &format!("# {} {text}\n", i + 1);
            for l in *lines {
                s += l;
                s.push('\n');
            }
            let role = if text.starts_with("child ") { 'C' } else { 'P' };
            if !lines
                .iter()
                .any(|l| l.starts_with("R ") && l.contains(" rc="))
            {
                s += &format!("R {role} rc=0 err=0\n");
            }
        }
        s
    }

    #[test]
    fn v_hugetlb_keys_are_compared_and_1g_vmas_only_by_their_sum() {
        let one = |line: String| recs(&[("dump", &[line])]);
        // 2 MiB: each of Shared_Hugetlb and Private_Hugetlb.
        let k = one(v("0-0x400000", 0, 4096, 2048));
        assert_eq!(compare(&k, &k), Ok(()));
        let m = one(v("0-0x400000", 2048, 2048, 2048));
        let e = compare(&m, &k).unwrap_err();
        assert!(
            e.model.contains("Shared_Hugetlb=2048 Private_Hugetlb=2048"),
            "{e}"
        );
        // KernelPageSize and MMUPageSize are compared.
        let m = one(v("0-0x400000", 0, 4096, 4));
        assert!(compare(&m, &k)
            .unwrap_err()
            .model
            .contains("KernelPageSize=4"));
        let m = one(v("0-0x400000", 0, 4096, 2048).replace("MMUPageSize=2048", "MMUPageSize=4"));
        assert!(compare(&m, &k).unwrap_err().model.contains("MMUPageSize=4"));
        // 1 GiB: only the sum.
        let k = one(v("0-0x80000000", 0, 2 << 20, 1 << 20));
        let m = one(v("0-0x80000000", 1 << 20, 1 << 20, 1 << 20));
        assert_eq!(compare(&m, &k), Ok(()));
        let m = one(v("0-0x80000000", 1 << 20, 0, 1 << 20));
        let e = compare(&m, &k).unwrap_err();
        assert!(
            e.model.contains("Shared_Hugetlb+Private_Hugetlb=1048576")
                && e.kernel.contains("Shared_Hugetlb+Private_Hugetlb=2097152"),
            "{e}"
        );
        // ht and de are compared VmFlags; sd (soft-dirty) is not.
        let k = one(v("0-0x400000", 0, 4096, 2048));
        let m = k.replace(".de.ht", ".de.sd.ht");
        assert_eq!(compare(&m, &k), Ok(()));
        assert!(compare(&k.replace(".de.ht", ".ht"), &k).is_err());
        let m = k.replace(".de.ht", ".de");
        assert!(compare(&m, &k)
            .unwrap_err()
            .kernel
            .contains("VmFlags=rd.wr.mr.mw.me.de.ht"));
    }

    #[test]
    fn t_hugetlb_is_compared() {
        let t = |h: u64| {
            recs(&[(
                "nop",
                &[format!(
                    "T P nvma=1 size=2048 rss=0 Swap=0 AnonHugePages=0 hugetlb={h}"
                )],
            )])
        };
        assert_eq!(compare(&t(2048), &t(2048)), Ok(()));
        assert!(compare(&t(0), &t(2048))
            .unwrap_err()
            .model
            .contains("hugetlb=0"));
        // 1 GiB or not, the total is compared.
        assert!(compare(&t(1 << 20), &t(2 << 20)).is_err());
    }

    #[test]
    fn g_lines_of_1g_hugetlb_vmas_read_h_as_h_after_a_dump() {
        let g = |c: &str| vec![format!("G P 0x3fffe000 ..{c}{c}")];
        let dump1g = vec![v("0x40000000-0x80000000", 0, 1 << 20, 1 << 20)];
        let k = recs(&[("dump", &dump1g), ("pagemap 0x3fffe000 16K", &g("H"))]);
        let m = recs(&[("dump", &dump1g), ("pagemap 0x3fffe000 16K", &g("h"))]);
        assert_eq!(compare(&m, &k), Ok(()));
        // Not present against present is still a difference.
        let m = recs(&[("dump", &dump1g), ("pagemap 0x3fffe000 16K", &g("."))]);
        assert!(compare(&m, &k).is_err());
        // The pages before the 1 GiB VMA compare exactly.
        let k2 = recs(&[
            ("dump", &dump1g),
            (
                "pagemap 0x3fffe000 16K",
                &["G P 0x3fffe000 HhHH".to_string()],
            ),
        ]);
        let m2 = recs(&[
            ("dump", &dump1g),
            (
                "pagemap 0x3fffe000 16K",
                &["G P 0x3fffe000 HHHH".to_string()],
            ),
        ]);
        assert!(compare(&m2, &k2).is_err());
        // A dump that shows no 1 GiB VMA there any more ends it.
        let dump2m = vec![v("0x40000000-0x40400000", 0, 2048, 2048)];
        let k = recs(&[
            ("dump", &dump1g),
            ("dump", &dump2m),
            ("pagemap 0x3fffe000 16K", &g("H")),
        ]);
        let m = recs(&[
            ("dump", &dump1g),
            ("dump", &dump2m),
            ("pagemap 0x3fffe000 16K", &g("h")),
        ]);
        assert!(compare(&m, &k).is_err());
        // So does a dump of an empty arena (no V lines at all).
        let k = recs(&[
            ("dump", &dump1g),
            ("dump", &[]),
            ("pagemap 0x3fffe000 16K", &g("H")),
        ]);
        let m = recs(&[
            ("dump", &dump1g),
            ("dump", &[]),
            ("pagemap 0x3fffe000 16K", &g("h")),
        ]);
        assert!(compare(&m, &k).is_err());
    }

    #[test]
    fn a_2m_h_against_h_difference_is_caught() {
        let dump2m = vec![v("0-0x400000", 0, 4096, 2048)];
        let k = recs(&[
            ("mmap 0 4M rw private,anon,hugetlb", &[]),
            ("dump", &dump2m),
            ("pagemap 0 8K", &["G P 0 HH".to_string()]),
        ]);
        let m = k.replace("G P 0 HH", "G P 0 hh");
        let e = compare(&m, &k).unwrap_err();
        assert_eq!(
            (e.model.as_str(), e.kernel.as_str()),
            ("G P 0 hh", "G P 0 HH")
        );
        // Also without a dump, and in the child.
        let k = recs(&[
            ("mmap 0 2M rw private,anon,hugetlb=2M", &[]),
            ("fork", &[]),
            ("child pagemap 0 4K", &["G C 0 h".to_string()]),
        ]);
        assert!(compare(&k.replace("G C 0 h", "G C 0 H"), &k).is_err());
    }

    #[test]
    fn g_lines_follow_1g_mappings_through_the_op_headers() {
        let gh = |r: char, off: &str, c: &str| vec![format!("G {r} {off} {c}")];
        // mmap hugetlb=1G, without a dump: its range (LEN rounded up to 1 GiB) reads h as H.
        let ops = |c: &'static str| -> String {
            recs(&[
                ("mmap 1G 4K rw private,anon,hugetlb=1G", &[]),
                ("pagemap 2G-4K 4K", &gh('P', "0x7ffff000", c)),
            ])
        };
        assert_eq!(compare(&ops("h"), &ops("H")), Ok(()));
        // A failed mmap adds nothing.
        let failed = |c: &str| {
            recs(&[
                (
                    "mmap 1G 1G rw private,anon,hugetlb=1G",
                    &["R P rc=-12 err=ENOMEM".to_string()],
                ),
                ("pagemap 1G 4K", &gh('P', "0x40000000", c)),
            ])
        };
        assert!(compare(&failed("h"), &failed("H")).is_err());
        // A 1 GiB memfd mapped as a FILE.
        let file = |c: &str| {
            recs(&[
                ("memfd g 1G hugetlb=1G fill", &[]),
                ("mmap 0 1G rw shared g", &[]),
                ("pagemap 0 4K", &gh('P', "0", c)),
            ])
        };
        assert_eq!(compare(&file("h"), &file("H")), Ok(()));
        // ... but not a 2 MiB one.
        let file2m = |c: &str| {
            recs(&[
                ("memfd g 2M hugetlb fill", &[]),
                ("mmap 0 2M rw shared g", &[]),
                ("pagemap 0 4K", &gh('P', "0", c)),
            ])
        };
        assert!(compare(&file2m("h"), &file2m("H")).is_err());
        // munmap ends it; a 2 MiB mapping in its place compares exactly.
        let replaced = |c: &str| {
            recs(&[
                ("mmap 0 1G rw private,anon,hugetlb=1G", &[]),
                ("munmap 0 1G", &[]),
                ("mmap 0 2M rw private,anon,hugetlb", &[]),
                ("pagemap 0 4K", &gh('P', "0", c)),
            ])
        };
        assert!(compare(&replaced("h"), &replaced("H")).is_err());
        // So does a fixed mmap over it, even one that failed.
        let fixed = |c: &str| {
            recs(&[
                ("mmap 0 1G rw private,anon,hugetlb=1G", &[]),
                (
                    "mmap 0 2M rw private,anon,hugetlb,fixed",
                    &["R P rc=-22 err=EINVAL".to_string()],
                ),
                ("pagemap 0 4K", &gh('P', "0", c)),
            ])
        };
        assert!(compare(&fixed("h"), &fixed("H")).is_err());
        // fork gives the child the parent's ranges; child_exit takes them away.
        let child = |c: &str| {
            recs(&[
                ("mmap 0 1G rw private,anon,hugetlb=1G", &[]),
                ("fork", &[]),
                ("child pagemap 0 4K", &gh('C', "0", c)),
            ])
        };
        assert_eq!(compare(&child("h"), &child("H")), Ok(()));
        let gone = |c: &str| {
            recs(&[
                ("mmap 0 1G rw private,anon,hugetlb=1G", &[]),
                ("fork", &[]),
                ("child_exit", &[]),
                ("fork", &[]),
                ("child munmap 0 1G", &[]),
                ("child mmap 0 2M rw private,anon,hugetlb", &[]),
                ("child pagemap 0 4K", &gh('C', "0", c)),
                ("pagemap 0 4K", &gh('P', "0", c)),
            ])
        };
        let e = compare(&gone("h"), &gone("H")).unwrap_err();
        assert!(e.op.contains("child pagemap"), "{e}");
        // The parent's ranges are its own: the child's munmap leaves them.
        let parent = |c: &str| {
            recs(&[
                ("mmap 0 1G rw private,anon,hugetlb=1G", &[]),
                ("fork", &[]),
                ("child munmap 0 1G", &[]),
                ("pagemap 0 4K", &gh('P', "0", c)),
            ])
        };
        assert_eq!(compare(&parent("h"), &parent("H")), Ok(()));
        // mremap moves a 1 GiB range to where the kernel says it went.
        let moved = |c: &str| {
            recs(&[
                ("mmap 0 1G rw private,anon,hugetlb=1G", &[]),
                (
                    "mremap 0 1G 1G maymove fixed=4G",
                    &["R P mremap_result=0x100000000".to_string()],
                ),
                ("pagemap 4G 4K", &gh('P', "0x100000000", c)),
                ("pagemap 0 4K", &gh('P', "0", c)),
            ])
        };
        let e = compare(&moved("h"), &moved("H")).unwrap_err();
        assert!(e.op.contains("pagemap 0 4K"), "{e}");
    }
}
