//! The daemon's resident memory: freed heap handed back to the system, and sled's cache let
//! go when it outgrows its bound.
//!
//! sled 0.34 keeps in memory every page its background segment cleaner rewrites, and every
//! page a full scan reads, whatever `cache_capacity` says (its LRU sees neither). After a poll
//! round that wrote thousands of items, the cleaner relocates pages for minutes and the heap
//! grows by tens of megabytes. The only way to make sled drop them is to close and reopen the
//! database ([`crate::store::Store::release_memory`]): full scans do every
//! [`crate::store::SCAN_RELEASE_EVERY`] items, the store itself after every
//! [`crate::store::sled_store::WRITE_RELEASE_EVERY`] items written, and [`HeapWatch`] decides
//! when otherwise. [`tune_allocator`] keeps glibc from holding on to what is freed.

use std::time::{Duration, Instant};

/// Blocks at least this big are mapped on their own and unmapped when freed. glibc's default
/// threshold starts at 128 KiB but rises to the size of the largest mapped block freed so far
/// (up to 32 MiB): after sled frees a page table or a reopen frees a cache, blocks of several
/// megabytes come from the heap and stay resident after they are freed. A fixed threshold
/// keeps the dynamic rise off.
pub const MMAP_THRESHOLD: usize = 256 * 1024;
/// Free memory at the top of a heap beyond which glibc gives it back on `free` (the default
/// follows the mapping threshold up to 64 MiB when that rises).
pub const TRIM_THRESHOLD: usize = 1024 * 1024;

/// Tunes glibc's allocator for a small resident size; call it first thing in `main`, before
/// any thread is started. Measured with `bench/memory.sh` (100,000 items, 50 sources): the
/// fixed thresholds took 11 MiB off the first round's peak, and as many arenas as cores
/// (glibc's default is eight per core, one per thread that meets a busy one: the tokio
/// workers, the parse and store threads, sled's flusher) 4 MiB more.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        let settings = [
            (libc::M_ARENA_MAX, arenas),
            (libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int),
            (libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD as libc::c_int),
        ];
        for (param, value) in settings {
            // SAFETY: mallopt only sets glibc's own tuning parameters; a refused value leaves
            // the default, which is still correct, only larger.
            unsafe {
                libc::mallopt(param, value);
            }
        }
    }
}

/// Hands memory the process has freed back to the system. glibc keeps freed heap pages mapped
/// (a reopened store's cache, a large export, a first poll round), so without this a daemon's
/// resident size only ever grows to its highest point.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas; it takes no pointers of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Bytes of heap in use (allocated and not freed) in every glibc arena; `None` elsewhere.
pub fn heap_in_use() -> Option<usize> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads glibc's own counters and returns them by value.
        let info = unsafe { libc::mallinfo2() };
        Some(info.uordblks)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

/// Growth of the heap over its level after the last release that makes the store let go.
pub const HEAP_GROWTH_LIMIT: usize = 8 * 1024 * 1024;
/// Least time between two releases: a reopen blocks the store for tens of milliseconds, and
/// a heap that is big for another reason must not make the store reopen at every check. Short
/// enough to keep up with sled's segment cleaner, which can add 40 MiB in a minute.
pub const RELEASE_AT_MOST_EVERY: Duration = Duration::from_secs(15);

/// Decides when the store should release its cache: when the heap has grown by more than
/// `limit` since the level measured after the last release, and not more often than `every`.
#[derive(Debug)]
pub struct HeapWatch {
    limit: usize,
    every: Duration,
    baseline: Option<usize>,
    last_release: Option<Instant>,
}

impl HeapWatch {
    /// `at_start`: the heap in use before any work began (the store open, the rules loaded),
    /// so that a first poll round that writes thousands of items counts as growth.
    pub fn new(limit: usize, every: Duration, at_start: Option<usize>) -> HeapWatch {
        HeapWatch {
            limit,
            every,
            baseline: at_start,
            last_release: None,
        }
    }

    /// Whether to release now, given the heap in use at `now`. The lowest reading since the
    /// last release is the baseline (the first ones may fall in a busy first poll round).
    pub fn should_release(&mut self, in_use: usize, now: Instant) -> bool {
        let baseline = self.baseline.map_or(in_use, |b| b.min(in_use));
        self.baseline = Some(baseline);
        let rested = self
            .last_release
            .is_none_or(|last| now.duration_since(last) >= self.every);
        in_use > baseline.saturating_add(self.limit) && rested
    }

    /// Records a release and the heap in use right after it, the new baseline.
    pub fn released(&mut self, in_use_after: usize, now: Instant) {
        self.baseline = Some(in_use_after);
        self.last_release = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn the_store_is_released_on_growth_and_not_too_often() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut watch = HeapWatch::new(16 * MIB, Duration::from_secs(60), None);
        assert!(!watch.should_release(60 * MIB, at(0)), "a busy first round");
        assert!(
            !watch.should_release(30 * MIB, at(5)),
            "a lower reading lowers the baseline"
        );
        assert!(
            !watch.should_release(45 * MIB, at(10)),
            "grown by less than the limit"
        );
        assert!(
            watch.should_release(47 * MIB, at(20)),
            "grown by more than the limit"
        );
        watch.released(31 * MIB, at(20));
        assert!(
            !watch.should_release(50 * MIB, at(50)),
            "too soon after the last release"
        );
        assert!(watch.should_release(50 * MIB, at(80)));
        // A heap that stays big after a release raises the baseline instead of reopening again.
        watch.released(49 * MIB, at(80));
        assert!(!watch.should_release(55 * MIB, at(200)));
    }

    #[test]
    fn growth_counts_from_the_level_before_any_work() {
        let start = Instant::now();
        let mut watch = HeapWatch::new(8 * MIB, Duration::from_secs(60), Some(20 * MIB));
        // The first reading comes in the middle of a busy first round: already grown.
        assert!(watch.should_release(40 * MIB, start));
    }

    #[test]
    fn the_heap_in_use_is_read_where_glibc_is() {
        if !cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(heap_in_use().is_none());
            return;
        }
        // 8 MiB in blocks small enough for the arenas (big ones are mmapped, not counted).
        // Other tests free memory meanwhile: one of three tries must see most of it.
        let grew = (0..3).any(|_| {
            let before = heap_in_use().unwrap_or(0);
            let blocks: Vec<Box<[u8; 4096]>> = (0..2048).map(|_| Box::new([1u8; 4096])).collect();
            let during = heap_in_use().unwrap_or(0);
            std::hint::black_box(&blocks);
            during >= before + 6 * MIB
        });
        assert!(
            grew,
            "8 MiB of small blocks did not show in the heap in use"
        );
    }

    /// Run in a process of its own: in the test process, blocks other tests freed before the
    /// tuning sit in the heap's free lists, and glibc serves a 1 MiB request from them whatever
    /// the threshold says.
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn after_tuning_a_freed_big_block_does_not_pull_big_blocks_into_the_heap() {
        let probe = "memory::tests::allocator_probe";
        let run = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", probe, "--ignored", "--test-threads=1"])
            .env(PROBE, "1")
            .output()
            .expect("the test binary runs");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(run.status.success(), "{said}");
        assert!(said.contains("1 passed"), "the probe did not run: {said}");
    }

    const PROBE: &str = "KIZASHI_ALLOCATOR_PROBE";

    #[test]
    #[ignore = "run in a process of its own by the test above"]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn allocator_probe() {
        if std::env::var_os(PROBE).is_none() {
            // Run with the others (`--ignored`), the heap is not fresh: nothing to learn.
            return;
        }
        tune_allocator();
        // Untuned, freeing a mapped 8 MiB block raises glibc's mapping threshold to 8 MiB, and
        // the 1 MiB block below would come from the heap (and stay resident once freed).
        drop(std::hint::black_box(vec![1u8; 8 * MIB]));
        let mapped = || {
            // SAFETY: mallinfo2 only reads glibc's own counters and returns them by value.
            unsafe { libc::mallinfo2() }.hblkhd
        };
        let before = mapped();
        let block = std::hint::black_box(vec![1u8; MIB]);
        let during = mapped();
        drop(block);
        assert!(
            during >= before + MIB,
            "a 1 MiB block was taken from the heap ({before} then {during} bytes mapped)"
        );
    }
}
