//! Prometheus text metrics: request counts and latency histograms by route and status,
//! plus process memory. Hand-written: a few counters don't justify a metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

pub struct Metrics {
    started: Instant,
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self { started: Instant::now(), series: Mutex::new(BTreeMap::new()) }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut map = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let s = map.entry((method.to_owned(), route.to_owned(), status)).or_default();
        s.count += 1;
        s.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    pub fn render(&self, db_up: bool) -> String {
        let mut out = String::new();
        let map = self.series.lock().unwrap_or_else(|e| e.into_inner());
        out.push_str("# HELP thanglong_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE thanglong_http_requests_total counter\n");
        for ((m, r, st), s) in map.iter() {
            let _ = writeln!(out, "thanglong_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{st}\"}} {}", escape(r), s.count);
        }
        out.push_str("# HELP thanglong_http_request_duration_seconds Time to answer HTTP requests.\n");
        out.push_str("# TYPE thanglong_http_request_duration_seconds histogram\n");
        for ((m, r, st), s) in map.iter() {
            let labels = format!("method=\"{m}\",route=\"{}\",status=\"{st}\"", escape(r));
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(out, "thanglong_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}", s.buckets[i]);
            }
            let _ = writeln!(out, "thanglong_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "thanglong_http_request_duration_seconds_sum{{{labels}}} {}", s.sum);
            let _ = writeln!(out, "thanglong_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
        drop(map);
        out.push_str("# HELP thanglong_database_up Whether the database answered the last readiness probe.\n");
        out.push_str("# TYPE thanglong_database_up gauge\n");
        let _ = writeln!(out, "thanglong_database_up {}", u8::from(db_up));
        out.push_str("# HELP thanglong_uptime_seconds Seconds since the process started.\n# TYPE thanglong_uptime_seconds gauge\n");
        let _ = writeln!(out, "thanglong_uptime_seconds {:.0}", self.started.elapsed().as_secs_f64());
        if let Some(rss) = resident_bytes() {
            out.push_str(
                "# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\n",
            );
            let _ = writeln!(out, "process_resident_memory_bytes {rss}");
        }
        let _ = writeln!(out, "# HELP thanglong_build_info Version of the running binary.\n# TYPE thanglong_build_info gauge\nthanglong_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
        out
    }
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
