//! Perfetto traces of model runs (`exitmm run --trace FILE`, `exitmm demo --trace FILE`),
//! written with the published Perfetto protobuf definitions (the `perfetto_protos` crate).
//!
//! Tracks: one per script role for its ops (`P ops`, `C ops`); one per actor whose work the
//! model reports (`exit P`, `exit C`, the concurrent actors of a `wait`: `oom_reaper:P`,
//! `mrelease:...`, ..., and each secondary MMU, `device NAME`: its accesses and the release
//! callback of the exit that drops it); one per simulated CPU (its TLB flushes, and the IPIs it received, each
//! joined to the flush that sent it by a flow); counters over time (per role: RssAnon, RssFile,
//! RssShmem, VmPTE, VmSwap; for the machine: free frames, Committed_AS, swap in use).
//!
//! Time comes from the cost model ([`exitmm_sim::cost::Costs`]): each teardown step lasts what
//! the costs price it at (a step they do not price lasts [`MIN_STEP_NS`], so it shows), and a
//! teardown's steps are nested as in the kernel's call tree. Ops other than exits are not
//! priced: each is an [`OP_NS`] marker.

use exitmm_sim::cost::{exit_counts, Costs};
use exitmm_sim::report::x_lines;
use exitmm_sim::tracing::TraceRun;
use perfetto_protos::counter_descriptor::CounterDescriptor;
use perfetto_protos::debug_annotation::DebugAnnotation;
use perfetto_protos::trace::Trace;
use perfetto_protos::trace_packet::TracePacket;
use perfetto_protos::track_descriptor::TrackDescriptor;
use perfetto_protos::track_event::{track_event::Type, TrackEvent};
use protobuf::Message;
use tracks::*;

/// How long an op that is not an exit lasts in a trace (ns): a marker, not a prediction.
pub const OP_NS: u64 = 1_000;
/// The shortest a teardown step lasts (ns), so that a step the costs do not price shows.
pub const MIN_STEP_NS: u64 = 50;
/// How long a flush the cost model does not price on its own lasts (ns: the final flush of
/// an exit is in its base, a munmap's in nothing priced): a marker of when and where.
pub const FLUSH_NS: u64 = 500;
/// Time between two ops (ns).
const GAP_NS: u64 = 200;
/// The trace's one packet sequence.
const SEQ: u32 = 1;

mod tracks {
    //! Track ids.
    /// The ops of a role.
    pub fn ops_track(role: usize) -> u64 {
        10 + role as u64
    }
    /// The exit of a role.
    pub fn exit_track(role: usize) -> u64 {
        20 + role as u64
    }
    /// A simulated CPU.
    pub fn cpu_track(cpu: usize) -> u64 {
        1000 + cpu as u64
    }
}

/// An argument of a slice.
enum Arg {
    Int(i64),
    Str(String),
}

struct Writer {
    packets: Vec<TracePacket>,
    next_uuid: u64,
    next_flow: u64,
}

impl Writer {
    fn track(&mut self, uuid: u64, name: &str, counter: Option<&str>) {
        let mut d = TrackDescriptor::new();
        d.set_uuid(uuid);
        d.set_name(name.to_string());
        if let Some(unit) = counter {
            let mut c = CounterDescriptor::new();
            c.set_unit_name(unit.to_string());
            d.counter = protobuf::MessageField::some(c);
        }
        let mut p = TracePacket::new();
        p.set_trusted_packet_sequence_id(SEQ);
        p.set_track_descriptor(d);
        self.packets.push(p);
    }

    fn event(&mut self, ts: u64, e: TrackEvent) {
        let mut p = TracePacket::new();
        p.set_timestamp(ts);
        p.set_trusted_packet_sequence_id(SEQ);
        p.set_track_event(e);
        self.packets.push(p);
    }

    fn begin(&mut self, ts: u64, track: u64, name: &str, args: Vec<(&str, Arg)>) -> usize {
        let mut e = TrackEvent::new();
        e.set_type(Type::TYPE_SLICE_BEGIN);
        e.set_track_uuid(track);
        e.set_name(name.to_string());
        for (k, v) in args {
            let mut a = DebugAnnotation::new();
            a.set_name(k.to_string());
            match v {
                Arg::Int(i) => a.set_int_value(i),
                Arg::Str(s) => a.set_string_value(s),
            }
            e.debug_annotations.push(a);
        }
        self.event(ts, e);
        self.packets.len() - 1
    }

    fn end(&mut self, ts: u64, track: u64) {
        let mut e = TrackEvent::new();
        e.set_type(Type::TYPE_SLICE_END);
        e.set_track_uuid(track);
        self.event(ts, e);
    }

    fn counter(&mut self, ts: u64, track: u64, v: i64) {
        let mut e = TrackEvent::new();
        e.set_type(Type::TYPE_COUNTER);
        e.set_track_uuid(track);
        e.set_counter_value(v);
        self.event(ts, e);
    }

    /// A new flow from the slice begun at packet `from` to the one begun at packet `to`.
    fn flow(&mut self, from: usize, to: usize) {
        self.next_flow += 1;
        let id = self.next_flow;
        self.packets[from].mut_track_event().flow_ids.push(id);
        self.packets[to]
            .mut_track_event()
            .terminating_flow_ids
            .push(id);
    }
}

/// A field of a `D` line.
fn d_field(line: &str, key: &str) -> Option<i64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

/// The per-role counters, from each op's `D` line.
const ROLE_COUNTERS: [&str; 5] = ["RssAnon", "RssFile", "RssShmem", "VmPTE", "VmSwap"];
/// The machine's counters, from each op's sample.
const MACHINE_COUNTERS: [&str; 3] = ["free frames", "Committed_AS", "swap in use"];

fn role_counter_track(role: usize, i: usize) -> u64 {
    100 + 10 * role as u64 + i as u64
}

fn machine_counter_track(i: usize) -> u64 {
    200 + i as u64
}

/// Lays out one teardown report on `track` from `t0`; returns its end and the intervals of
/// the steps flushes happen in (`tlb_finish_mmu`, and `unmap_vmas` for the gather's forced
/// flushes).
fn teardown(
    w: &mut Writer,
    track: u64,
    role: char,
    r: &exitmm_kernel::exit::TeardownReport,
    costs: &Costs,
    t0: u64,
) -> (u64, Vec<(&'static str, u64, u64)>) {
    let lines = x_lines(role, r).join("\n");
    let (c, _) = exit_counts(&lines, role);
    let anon: u64 = r
        .steps
        .iter()
        .flat_map(|s| &s.vmas)
        .map(|v| v.zap.anon.saturating_sub(v.zap.huge_pmd * 512))
        .sum();
    let share = if anon == 0 {
        1.0
    } else {
        c.anon_freed as f64 / anon as f64
    };
    let ns = |x: f64| (x.round() as u64).max(MIN_STEP_NS);
    let mut t = t0;
    let mut open: Vec<(u8, &'static str, u64)> = Vec::new();
    let mut spans = Vec::new();
    let close = |w: &mut Writer,
                 open: &mut Vec<(u8, &'static str, u64)>,
                 spans: &mut Vec<(&'static str, u64, u64)>,
                 depth: u8,
                 t: u64| {
        while open.last().is_some_and(|o| o.0 >= depth) {
            let (_, f, start) = open.pop().expect("open");
            w.end(t, track);
            if matches!(
                f,
                "tlb_finish_mmu" | "unmap_vmas" | "__oom_reap_task_mm" | "mmu_notifier_release"
            ) {
                spans.push((f, start, t));
            }
        }
    };
    for s in &r.steps {
        close(w, &mut open, &mut spans, s.depth, t);
        let args = s
            .facts
            .iter()
            .map(|(k, v)| (*k, Arg::Int(*v)))
            .collect::<Vec<_>>();
        w.begin(t, track, s.func, args);
        let fact = |k: &str| s.facts.iter().find(|f| f.0 == k).map_or(0, |f| f.1.max(0)) as f64;
        let own = match s.func {
            "do_exit" => ns(costs.base_ns),
            "munlock_vma_pages_all" => ns(fact("pages") * costs.locked_page_ns),
            "__oom_reap_task_mm" => ns(fact("pages_freed") * costs.anon_page_ns
                + (fact("ptes") - fact("pages_freed")).max(0.0) * costs.kept_pte_ns),
            "remove_vma" => ns(fact("vmas") * costs.vma_ns),
            // the gather's forced flushes happen inside unmap_vmas; the final flush's IPIs
            // inside tlb_finish_mmu (the final flush itself is in the exit's base)
            "unmap_vmas" => ns(c.forced_flushes as f64 * costs.flush_ns),
            "free_pgtables" => ns(c.tables as f64 * costs.table_ns),
            "tlb_finish_mmu" => ns(c.ipis as f64 * costs.ipi_ns),
            _ => MIN_STEP_NS,
        };
        t += own;
        open.push((s.depth, s.func, t - own));
        for v in &s.vmas {
            let z = &v.zap;
            let vma_ns = exitmm_sim::cost::vma_cost(z, share, costs) - costs.vma_ns;
            let range = format!(
                "{:#x}-{:#x}",
                v.start.wrapping_sub(exitmm_sim::ARENA),
                v.end.wrapping_sub(exitmm_sim::ARENA)
            );
            w.begin(
                t,
                track,
                "unmap_single_vma",
                vec![
                    ("vma", Arg::Str(range)),
                    ("branch", Arg::Str(v.branch.name().to_string())),
                    ("ptes", Arg::Int(z.ptes as i64)),
                    ("anon", Arg::Int(z.anon as i64)),
                    ("file", Arg::Int(z.file as i64)),
                    ("shmem", Arg::Int(z.shmem as i64)),
                    ("swap", Arg::Int(z.swap as i64)),
                    ("zero", Arg::Int(z.zero as i64)),
                    ("pfn", Arg::Int(z.pfn as i64)),
                    ("huge_pmd", Arg::Int(z.huge_pmd as i64)),
                    ("hugetlb", Arg::Int(z.hugetlb as i64)),
                ],
            );
            t += MIN_STEP_NS;
            let chain: &[&str] = match v.branch {
                exitmm_kernel::memory::UnmapBranch::PageRange => &[
                    "unmap_page_range",
                    "zap_p4d_range",
                    "zap_pud_range",
                    "zap_pmd_range",
                    "zap_pte_range",
                ],
                exitmm_kernel::memory::UnmapBranch::Hugetlb => &["__unmap_hugepage_range_final"],
                exitmm_kernel::memory::UnmapBranch::Skip => &[],
            };
            for f in chain {
                w.begin(t, track, f, Vec::new());
            }
            if !chain.is_empty() {
                t += ns(vma_ns);
            }
            for _ in chain {
                w.end(t, track);
            }
            w.end(t, track);
        }
    }
    close(w, &mut open, &mut spans, 0, t);
    (t, spans)
}

/// Writes the trace of a run as Perfetto protobuf bytes.
pub fn encode(run: &TraceRun, costs: &Costs) -> Vec<u8> {
    let mut w = Writer {
        packets: Vec::new(),
        next_uuid: 10_000,
        next_flow: 0,
    };
    let roles = ['P', 'C'];
    for (i, r) in roles.iter().enumerate() {
        w.track(ops_track(i), &format!("{r} ops"), None);
        w.track(exit_track(i), &format!("exit {r}"), None);
        for (k, name) in ROLE_COUNTERS.iter().enumerate() {
            w.track(role_counter_track(i, k), &format!("{r} {name}"), Some("kB"));
        }
    }
    for (k, name) in MACHINE_COUNTERS.iter().enumerate() {
        let unit = if k == 0 { "frames" } else { "kB" };
        w.track(machine_counter_track(k), name, Some(unit));
    }
    for cpu in 0..run.cpus {
        w.track(cpu_track(cpu), &format!("CPU {cpu}"), None);
    }
    let mut actors: Vec<(String, u64)> = Vec::new();
    // Secondary MMUs (`secondary NAME ...`), by role: their track, while they are subscribed.
    let mut devices: Vec<(usize, String, u64)> = Vec::new();
    let mut busy = vec![0u64; run.cpus];
    let mut t = 1_000u64;
    for (i, r) in run.results.iter().enumerate() {
        let role = r.role as usize;
        let start = t;
        // The teardowns this op ran: its own exit, or the exits a `wait` ran to their end.
        let mut reports: Vec<(usize, char, &exitmm_kernel::exit::TeardownReport)> = Vec::new();
        if let Some(rep) = &r.report {
            let ro = run.report_roles.get(i).copied().unwrap_or(r.role);
            reports.push((ro as usize, ro.letter(), rep));
        }
        for (ro, rep) in &r.reports {
            reports.push((*ro as usize, ro.letter(), rep));
        }
        let mut end = start + OP_NS;
        let mut spans = Vec::new();
        let mut releases = Vec::new();
        for (ro, letter, rep) in &reports {
            let (e, s) = teardown(&mut w, exit_track(*ro), *letter, rep, costs, start);
            end = end.max(e);
            if let Some(&(_, a, b)) = s.iter().find(|s| s.0 == "mmu_notifier_release") {
                releases.push((*ro, a, b));
            }
            spans.extend(s);
        }
        // Other actors whose results the op printed (`A <role> NAME rc=...` lines).
        for a in r.records.iter().filter_map(|l| l.strip_prefix("A ")) {
            let mut words = a[2..].split_whitespace();
            let Some(name) = words.next().filter(|n| !n.starts_with("exit:")) else {
                continue;
            };
            let facts: Vec<(&str, &str)> = words.filter_map(|kv| kv.split_once('=')).collect();
            if facts.is_empty() {
                continue; // "started"
            }
            let track = match actors.iter().find(|x| x.0 == name) {
                Some(x) => x.1,
                None => {
                    w.next_uuid += 1;
                    let u = w.next_uuid;
                    w.track(u, name, None);
                    actors.push((name.to_string(), u));
                    u
                }
            };
            let freed = facts
                .iter()
                .find(|f| f.0 == "pages_freed")
                .and_then(|f| f.1.parse::<f64>().ok())
                .unwrap_or(0.0);
            let args = facts
                .iter()
                .map(|(k, v)| match v.parse::<i64>() {
                    Ok(n) => (*k, Arg::Int(n)),
                    Err(_) => (*k, Arg::Str(v.to_string())),
                })
                .collect();
            w.begin(start, track, name, args);
            let e = start + ((freed * costs.anon_page_ns) as u64).max(MIN_STEP_NS);
            w.end(e, track);
            end = end.max(e);
        }
        // Its flushes: those of tlb_finish_mmu inside that step, the forced ones inside
        // unmap_vmas, the reaper's inside its step, the others (munmap, mprotect, ...) over
        // the op.
        let flushes = run.flushes.get(i).map(|f| f.as_slice()).unwrap_or(&[]);
        let span_of = |step: &str| -> (u64, u64) {
            let want = match step {
                "tlb_finish_mmu" => "tlb_finish_mmu",
                // The gather's forced flushes, and the dirty-shared-PTE flush zap_pte_range
                // makes before dropping the PTE lock (the step is still exit_mmap's then).
                "tlb_flush_mmu" | "exit_mmap" => "unmap_vmas",
                "__oom_reap_task_mm" => "__oom_reap_task_mm",
                _ => "",
            };
            spans
                .iter()
                .find(|s| s.0 == want)
                .map(|s| (s.1, s.2))
                .unwrap_or((start, end))
        };
        // Each flush gets a slot in its step's interval; a CPU's slices never overlap (a
        // later one waits for the CPU), so every track nests.
        let mut by_span: std::collections::BTreeMap<(u64, u64), Vec<&exitmm_sim::tlb::FlushEvent>> =
            Default::default();
        for f in flushes {
            by_span.entry(span_of(f.step)).or_default().push(f);
        }
        let mut placed: Vec<(u64, u64, &exitmm_sim::tlb::FlushEvent)> = Vec::new();
        for ((a, b), fs) in by_span {
            let slot = ((b - a) / fs.len() as u64).max(2);
            for (k, f) in fs.into_iter().enumerate() {
                // a forced flush lasts what the costs price it at, within its slot
                let len = match f.step {
                    "tlb_flush_mmu" | "exit_mmap" => (costs.flush_ns as u64).max(1),
                    _ => FLUSH_NS,
                };
                placed.push((a + slot * k as u64, len.clamp(1, (slot / 2).max(1)), f));
            }
        }
        placed.sort_by_key(|p| p.0);
        for (at, dur, f) in placed {
            let at = at.max(busy[f.cpu]);
            let kind = if f.full {
                "flush (full)"
            } else {
                "flush (range)"
            };
            let from = w.begin(
                at,
                cpu_track(f.cpu),
                kind,
                vec![
                    ("step", Arg::Str(f.step.to_string())),
                    ("ipis", Arg::Int(f.ipis.len() as i64)),
                ],
            );
            w.end(at + dur, cpu_track(f.cpu));
            busy[f.cpu] = at + dur;
            // an IPI lasts what the costs price it at (flush_tlb_func on the CPU it reaches)
            let ipi_len = if costs.ipi_ns >= 1.0 {
                costs.ipi_ns.round() as u64
            } else {
                dur
            };
            for &target in &f.ipis {
                let ipi_at = (at + dur / 2).max(busy[target]);
                let to = w.begin(
                    ipi_at,
                    cpu_track(target),
                    "IPI: flush_tlb_func",
                    vec![("from_cpu", Arg::Int(f.cpu as i64))],
                );
                w.end(ipi_at + ipi_len, cpu_track(target));
                busy[target] = ipi_at + ipi_len;
                w.flow(from, to);
            }
            end = end.max(busy.iter().copied().max().unwrap_or(0));
        }
        // Secondary MMUs: a track each from its `secondary` op; its accesses, and the
        // release callback of the exit that drops its subscription.
        let mut words = r.text.split_whitespace();
        let (w0, w1) = (words.next(), words.next());
        let (op, dev) = if w0 == Some("child") {
            (w1, words.next())
        } else {
            (w0, w1)
        };
        if let (Some("secondary"), Some(name), 0) = (op, dev, r.rc) {
            w.next_uuid += 1;
            let u = w.next_uuid;
            w.track(u, &format!("device {name}"), None);
            devices.push((role, name.to_string(), u));
        }
        if let (Some("device_access"), Some(name)) = (op, dev) {
            if let Some(d) = devices.iter().find(|d| d.0 == role && d.1 == name) {
                let args = r
                    .records
                    .iter()
                    .filter(|l| l.starts_with("R ") && l.contains(" device="))
                    .flat_map(|l| l.split_whitespace().skip(2))
                    .filter_map(|kv| kv.split_once('='))
                    .filter_map(|(k, v)| Some((k, Arg::Int(v.parse().ok()?))))
                    .collect();
                w.begin(start, d.2, "device_access", args);
                w.end(start + OP_NS, d.2);
            }
        }
        for (ro, a, b) in releases {
            for d in devices.iter().filter(|d| d.0 == ro) {
                w.begin(a, d.2, "release (mmu_notifier_release)", Vec::new());
                w.end(b, d.2);
            }
            devices.retain(|d| d.0 != ro);
        }
        // The op on its role's track.
        w.begin(
            start,
            ops_track(role),
            &r.text,
            vec![
                ("line", Arg::Int(r.line as i64)),
                ("rc", Arg::Int(r.rc as i64)),
            ],
        );
        w.end(end, ops_track(role));
        // Counters after the op.
        if let Some(d) = r.records.iter().find(|l| l.starts_with("D ")) {
            for (k, name) in ROLE_COUNTERS.iter().enumerate() {
                if let Some(v) = d_field(d, name) {
                    w.counter(end, role_counter_track(role, k), v);
                }
            }
        }
        if let Some(s) = run.samples.get(i) {
            let vals = [s.free_frames, s.committed_kb, s.swap_kb];
            for (k, v) in vals.iter().enumerate() {
                w.counter(end, machine_counter_track(k), *v as i64);
            }
        }
        t = end + GAP_NS;
    }
    // Perfetto wants packets of a sequence in timestamp order; descriptors (no timestamp)
    // first. A stable sort keeps a slice's begin before its end at equal times.
    w.packets
        .sort_by_key(|p| if p.has_timestamp() { p.timestamp() } else { 0 });
    if let Some(first) = w.packets.first_mut() {
        const SEQ_INCREMENTAL_STATE_CLEARED: u32 = 1;
        first.set_sequence_flags(SEQ_INCREMENTAL_STATE_CLEARED);
        first.set_first_packet_on_sequence(true);
    }
    let mut trace = Trace::new();
    trace.packet = w.packets;
    trace.write_to_bytes().expect("a trace encodes")
}
