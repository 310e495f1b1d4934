//! Prints a trace's slices as text, one per line with its track, depth, begin and length:
//! `cargo run -p exitmm-trace --example dump FILE.pftrace [TRACK]`.

use perfetto_protos::trace::Trace;
use perfetto_protos::track_event::track_event::Type;
use protobuf::Message;
use std::collections::BTreeMap;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: dump FILE.pftrace [TRACK]");
        std::process::exit(2);
    };
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let trace = Trace::parse_from_bytes(&bytes).expect("a Perfetto trace");
    let mut names = BTreeMap::new();
    for p in trace.packet.iter().filter(|p| p.has_track_descriptor()) {
        let d = p.track_descriptor();
        names.insert(d.uuid(), d.name().to_string());
    }
    let mut open: BTreeMap<u64, Vec<(String, u64, usize)>> = BTreeMap::new();
    let mut lines: Vec<(u64, String)> = Vec::new();
    for p in trace.packet.iter().filter(|p| p.has_track_event()) {
        let e = p.track_event();
        let track = names.get(&e.track_uuid()).cloned().unwrap_or_default();
        if args.get(2).is_some_and(|t| *t != track) {
            continue;
        }
        let stack = open.entry(e.track_uuid()).or_default();
        match e.type_() {
            Type::TYPE_SLICE_BEGIN => {
                let flows = if e.flow_ids.is_empty() && e.terminating_flow_ids.is_empty() {
                    String::new()
                } else {
                    format!(" flow {:?}{:?}", e.flow_ids, e.terminating_flow_ids)
                };
                lines.push((p.timestamp(), String::new()));
                stack.push((
                    format!("{}{flows}", e.name()),
                    p.timestamp(),
                    lines.len() - 1,
                ));
            }
            Type::TYPE_SLICE_END => {
                let (name, begin, at) = stack.pop().expect("nested");
                lines[at].1 = format!(
                    "{track:<14} {:>10} {:>9} ns {}{name}",
                    begin,
                    p.timestamp() - begin,
                    "  ".repeat(stack.len())
                );
            }
            Type::TYPE_COUNTER => lines.push((
                p.timestamp(),
                format!("{track:<14} {:>10} = {}", p.timestamp(), e.counter_value()),
            )),
            _ => {}
        }
    }
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for (_, l) in lines {
        if writeln!(out, "{l}").is_err() {
            return; // a closed pipe (| head)
        }
    }
}
