//! What recording a run costs a deploy, for `scripts/bench-store`: `store_write CONFIG N RECEIPT`
//! opens the store of CONFIG afresh N times (a deploy is a new process: a new connection, a
//! schema check, a fetch) and each time does what a deploy does with the record: takes the
//! app's deploy lock, writes the rollback target, appends the run (RECEIPT, a JSON receipt, with
//! a fresh id), lets go of the lock. Prints the median and the slowest time in milliseconds.

use std::io::Write as _;
use std::time::Instant;

use shipit::report::RunRecord;
use shipit::store::{self, LockHolder};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, config, n, receipt] = args.as_slice() else {
        anyhow::bail!("usage: store_write CONFIG N RECEIPT");
    };
    let n: usize = n.parse()?;
    let template: RunRecord = serde_json::from_str(&std::fs::read_to_string(receipt)?)?;
    let app = template
        .services
        .first()
        .map_or_else(|| "bench-app".to_owned(), |s| s.app.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let mut record = template.clone();
        record.id = format!("20990101T000000Z-write{i:05}");
        "2099-01-01T00:00:00Z".clone_into(&mut record.started_at);
        let config = std::path::Path::new(config);
        let started = Instant::now();
        runtime.block_on(async {
            let s = store::open_for_reading(config)?;
            let holder = LockHolder::here(&record.id, None, &record.started_at);
            let lock = s.lock(&app, &holder, None).await?;
            let target = serde_json::json!({"app": app, "version": 41, "image": "registry.fly.io/bench:deployment-v41"});
            s.put_target(&app, &target).await?;
            s.append_run(&record).await?;
            drop(lock);
            anyhow::Ok(())
        })?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let max = times[times.len() - 1];
    writeln!(std::io::stdout().lock(), "{median:.1} {max:.1}")?;
    Ok(())
}
