//! Decodes written traces with the same Perfetto definitions and checks their tracks, the
//! nesting of their slices, their flows and their counters against the run they show.

use exitmm_sim::cost::{exit_counts, predict, Costs};
use exitmm_sim::tracing::trace_run;
use exitmm_sim::Options;
use perfetto_protos::trace::Trace;
use perfetto_protos::track_event::track_event::Type;
use protobuf::Message;
use std::collections::{BTreeMap, BTreeSet};

/// A slice as decoded: track name, name, begin, end, the names of the slices it is inside.
#[derive(Debug)]
struct Slice {
    track: String,
    name: String,
    begin: u64,
    end: u64,
    parents: Vec<String>,
    flows_out: Vec<u64>,
    flows_in: Vec<u64>,
}

struct Decoded {
    tracks: BTreeMap<u64, (String, bool)>,
    slices: Vec<Slice>,
    counters: BTreeMap<String, Vec<(u64, i64)>>,
}

fn decode(bytes: &[u8]) -> Decoded {
    let trace = Trace::parse_from_bytes(bytes).expect("the trace decodes");
    let mut tracks = BTreeMap::new();
    for p in &trace.packet {
        if p.has_track_descriptor() {
            let d = p.track_descriptor();
            tracks.insert(d.uuid(), (d.name().to_string(), d.counter.is_some()));
        }
    }
    let mut open: BTreeMap<u64, Vec<Slice>> = BTreeMap::new();
    let mut slices = Vec::new();
    let mut counters: BTreeMap<String, Vec<(u64, i64)>> = BTreeMap::new();
    let mut last_ts = 0;
    for p in trace.packet.iter().filter(|p| p.has_track_event()) {
        let ts = p.timestamp();
        assert!(ts >= last_ts, "packets in timestamp order");
        last_ts = ts;
        let e = p.track_event();
        let track = e.track_uuid();
        let (tname, is_counter) = tracks.get(&track).cloned().expect("a described track");
        match e.type_() {
            Type::TYPE_SLICE_BEGIN => {
                assert!(!is_counter);
                let stack = open.entry(track).or_default();
                let parents = stack.iter().map(|s| s.name.clone()).collect();
                stack.push(Slice {
                    track: tname,
                    name: e.name().to_string(),
                    begin: ts,
                    end: 0,
                    parents,
                    flows_out: e.flow_ids.clone(),
                    flows_in: e.terminating_flow_ids.clone(),
                });
            }
            Type::TYPE_SLICE_END => {
                let mut s = open
                    .get_mut(&track)
                    .and_then(|st| st.pop())
                    .unwrap_or_else(|| panic!("an end without a begin on {tname}"));
                s.end = ts;
                slices.push(s);
            }
            Type::TYPE_COUNTER => {
                assert!(is_counter, "a counter value on a counter track");
                counters
                    .entry(tname)
                    .or_default()
                    .push((ts, e.counter_value()));
            }
            t => panic!("unexpected event type {t:?}"),
        }
    }
    assert!(open.values().all(|s| s.is_empty()), "every slice ends");
    Decoded {
        tracks,
        slices,
        counters,
    }
}

fn d_field(line: &str, key: &str) -> i64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// A script whose exit flushes other CPUs: a thread on CPU 1 shares the mm and another runs
/// in the background on CPU 2 while the process exits.
const IPI_SCRIPT: &str = "\
mmap 0 8M rw private,anon
touch 0 8M w
thread t1 1
access 0 1M w
thread t2 2
background t2 4M 2M w
munmap 6M 2M
thread_exit t1
fork
child touch 0 64K w
child_exit
exit
";

#[test]
fn trace_has_tracks_nesting_flows_and_counters() {
    let script = exitmm_script::parse(IPI_SCRIPT).unwrap();
    let costs = Costs::shipped();
    let run = trace_run(&script, &Options::default()).unwrap();
    let d = decode(&exitmm_trace::encode(&run, &costs));
    let names: BTreeSet<&str> = d.tracks.values().map(|t| t.0.as_str()).collect();
    for want in [
        "P ops",
        "C ops",
        "exit P",
        "exit C",
        "CPU 0",
        "CPU 1",
        "CPU 2",
        "CPU 3",
        "P RssAnon",
        "P VmPTE",
        "C RssAnon",
        "free frames",
        "Committed_AS",
        "swap in use",
    ] {
        assert!(names.contains(want), "track {want} missing: {names:?}");
    }
    // The child's teardown is on its own track.
    assert!(d
        .slices
        .iter()
        .any(|s| s.track == "exit C" && s.name == "check_mm"));
    // Nesting as in the call tree.
    let vma = d
        .slices
        .iter()
        .find(|s| s.track == "exit P" && s.name == "unmap_single_vma")
        .expect("the parent's exit unmaps a VMA");
    for p in [
        "do_exit",
        "exit_mm",
        "mmput",
        "__mmput",
        "exit_mmap",
        "unmap_vmas",
    ] {
        assert!(
            vma.parents.iter().any(|x| x == p),
            "{p} above unmap_single_vma"
        );
    }
    let pte = d
        .slices
        .iter()
        .find(|s| s.track == "exit P" && s.name == "zap_pte_range")
        .unwrap();
    assert!(pte.parents.ends_with(&[
        "unmap_single_vma".to_string(),
        "unmap_page_range".to_string(),
        "zap_p4d_range".to_string(),
        "zap_pud_range".to_string(),
        "zap_pmd_range".to_string()
    ]));
    // Every IPI is a flow from a flush on one CPU to the IPI slice on another.
    let ipis: Vec<&Slice> = d
        .slices
        .iter()
        .filter(|s| s.name == "IPI: flush_tlb_func")
        .collect();
    let tlb_ipis: u64 = run
        .flushes
        .iter()
        .flatten()
        .map(|f| f.ipis.len() as u64)
        .sum();
    assert!(tlb_ipis > 0, "the script sends IPIs");
    assert_eq!(ipis.len() as u64, tlb_ipis);
    for ipi in &ipis {
        assert_eq!(ipi.flows_in.len(), 1);
        let from = d
            .slices
            .iter()
            .find(|s| s.flows_out.contains(&ipi.flows_in[0]))
            .expect("the flow starts at a flush");
        assert!(from.name.starts_with("flush") && from.track != ipi.track);
    }
    // Counters: after each of P's ops, P's RssAnon and VmPTE as its D line says.
    let p_d: Vec<&String> = run
        .results
        .iter()
        .filter(|r| r.role == exitmm_script::Role::P)
        .filter_map(|r| r.records.iter().find(|l| l.starts_with("D P ")))
        .collect();
    for (name, key) in [("P RssAnon", "RssAnon"), ("P VmPTE", "VmPTE")] {
        let got: Vec<i64> = d.counters[name].iter().map(|c| c.1).collect();
        let want: Vec<i64> = p_d.iter().map(|l| d_field(l, key)).collect();
        assert_eq!(got, want, "{name}");
    }
    let frames: Vec<i64> = d.counters["free frames"].iter().map(|c| c.1).collect();
    let sampled: Vec<i64> = run.samples.iter().map(|s| s.free_frames as i64).collect();
    assert_eq!(frames, sampled);
}

#[test]
fn slice_lengths_come_from_the_cost_model() {
    let script = exitmm_script::parse(IPI_SCRIPT).unwrap();
    let run = trace_run(&script, &Options::default()).unwrap();
    let records: String = run
        .results
        .iter()
        .flat_map(|r| r.records.iter().map(|l| format!("{l}\n")))
        .collect();
    let (counts, vmas) = exit_counts(&records, 'P');
    for scale in [1.0, 10.0] {
        let mut costs = Costs::shipped();
        costs.anon_page_ns *= scale;
        costs.base_ns = 20_000.0;
        costs.ipi_ns = 1_234.0 * scale;
        let d = decode(&exitmm_trace::encode(&run, &costs));
        // An IPI slice lasts what the costs price an IPI at.
        let ipis: Vec<&Slice> = d
            .slices
            .iter()
            .filter(|s| s.name == "IPI: flush_tlb_func")
            .collect();
        assert!(!ipis.is_empty());
        for s in ipis {
            assert_eq!(s.end - s.begin, (1_234.0 * scale) as u64, "{s:?}");
        }
        let exit = d
            .slices
            .iter()
            .find(|s| s.track == "exit P" && s.name == "do_exit")
            .unwrap();
        let predicted = predict(&counts, &costs).total_ns as u64;
        // Unpriced steps add their minimum length each (the steps, and per VMA its walk).
        let slack = (40 + 7 * vmas.len() as u64) * exitmm_trace::MIN_STEP_NS;
        let len = exit.end - exit.begin;
        assert!(
            len + 100 >= predicted && len <= predicted + slack,
            "scale {scale}: exit lasts {len} ns, the cost model says {predicted}"
        );
    }
}

#[test]
fn concurrent_actors_get_their_own_tracks() {
    let script = exitmm_script::parse(exitmm_sim::DEMO_OOM).unwrap();
    let run = trace_run(&script, &Options::default()).unwrap();
    let d = decode(&exitmm_trace::encode(&run, &Costs::shipped()));
    let actors: Vec<&str> = run
        .results
        .iter()
        .flat_map(|r| &r.records)
        .filter_map(|l| l.strip_prefix("A "))
        .filter(|a| a.contains(" rc="))
        .filter_map(|a| a[2..].split_whitespace().next())
        .filter(|n| !n.starts_with("exit:"))
        .collect();
    assert!(!actors.is_empty(), "the OOM demo runs a reaper or mrelease");
    for a in actors {
        assert!(
            d.slices.iter().any(|s| s.track == a && s.name == a),
            "a slice of {a} on its track"
        );
    }
    assert!(d
        .slices
        .iter()
        .any(|s| s.track == "exit C" && s.name == "exit_mmap"));
}
