//! Linux helpers: pinning to a core, CPU time and resident memory of a process from `/proc`.

use std::io;

/// Pins the calling thread to `core` (threads it creates afterwards inherit the mask): call it
/// at the top of `main`, before building the runtime.
///
/// One `sched_setaffinity` call through `libc`, which is already in the dependency tree (tokio
/// uses it), rather than the `core_affinity` crate for the same call.
pub fn pin_to_core(core: usize) -> io::Result<()> {
    if core >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("core {core} out of range"),
        ));
    }
    // SAFETY: `cpu_set_t` is plain data, valid when zeroed; CPU_SET writes inside it (bounds
    // checked above); sched_setaffinity reads `size_of::<cpu_set_t>()` bytes of it.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Clock ticks per second (`_SC_CLK_TCK`), the unit of `/proc/PID/stat` CPU times.
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if v > 0 {
        v as u64
    } else {
        100
    }
}

/// User plus system CPU time of process `pid` (all its threads), in clock ticks, from
/// `/proc/PID/stat` fields 14 and 15.
pub fn cpu_ticks(pid: u32) -> io::Result<u64> {
    let (user, system) = cpu_ticks_split(pid)?;
    Ok(user + system)
}

/// User and system CPU time of process `pid` (all its threads), in clock ticks.
pub fn cpu_ticks_split(pid: u32) -> io::Result<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_cpu_ticks(&stat)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc/PID/stat"))
}

fn parse_cpu_ticks(stat: &str) -> Option<(u64, u64)> {
    // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime, stime))
}

/// CPU seconds of process `pid`.
pub fn cpu_seconds(pid: u32) -> io::Result<f64> {
    Ok(cpu_ticks(pid)? as f64 / clock_ticks_per_second() as f64)
}

/// User and system CPU seconds of process `pid`.
pub fn cpu_seconds_split(pid: u32) -> io::Result<(f64, f64)> {
    let (user, system) = cpu_ticks_split(pid)?;
    let hz = clock_ticks_per_second() as f64;
    Ok((user as f64 / hz, system as f64 / hz))
}

/// Resident memory of process `pid` in KiB, from `VmRSS` in `/proc/PID/status`.
pub fn rss_kib(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS in /proc/PID/status"))
}

/// The 1, 5 and 15 minute load averages and the runnable/total task counts, as the text line
/// of `/proc/loadavg`.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Raises the soft limit on open files to the hard limit (10,000 idle connections need it);
/// returns the new soft limit.
pub fn raise_nofile_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit read and write the struct passed by pointer.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        lim.rlim_cur as u64
    }
}

/// The machine: core count, CPU model, kernel.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    format!("{cpus} cores, {model}, Linux {kernel}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_in_the_name() {
        let stat = "1234 (my (odd) name) S 1 2 3 4 5 6 7 8 9 10 250 30 0 0 20 0 1 0";
        assert_eq!(parse_cpu_ticks(stat), Some((250, 30)));
    }

    #[test]
    fn own_process() {
        let pid = std::process::id();
        assert!(cpu_ticks(pid).is_ok());
        assert!(rss_kib(pid).unwrap() > 0);
    }
}
