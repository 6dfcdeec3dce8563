//! Decoded copies of looping files, kept within a memory budget: the first pass of a loop is
//! recorded as it is decoded (native rate, stereo), and later passes, of this voice or of any
//! voice playing the same file while the copy lives, replay it instead of decoding again.
//! The samples replayed are the samples the decoder made, so the mix is the same bit for bit.
//! A copy lives as long as a voice uses it; the bytes reserved for copies (being recorded or
//! kept) never exceed the budget, and a file whose copy would not fit streams as before, so a
//! 2-hour file never costs more than its ring. Must not decode (that is `decode.rs`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

/// Which version of which file: a file edited in place gets a new copy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FileId {
    pub path: PathBuf,
    pub len: u64,
    pub modified: Option<SystemTime>,
}

/// Copies shared by every voice of one mixer.
#[derive(Debug)]
pub(crate) struct LoopCache {
    budget: usize,
    used: AtomicUsize,
    entries: Mutex<HashMap<FileId, Weak<CachedLoop>>>,
}

/// Bytes held against the budget; given back when dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    cache: Arc<LoopCache>,
    bytes: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.cache.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// One decoded pass of a file: interleaved stereo at the file's own rate.
#[derive(Debug)]
pub(crate) struct CachedLoop {
    pub samples: Box<[f32]>,
    /// The file's own rate.
    pub rate: u32,
    /// Whether the file's end runs into its start smoothly (a gapless loop, see `TrackReader`).
    pub seamless: bool,
    _held: Reservation,
}

impl LoopCache {
    /// A cache that keeps at most `budget` bytes of decoded copies.
    pub(crate) fn new(budget: usize) -> Arc<Self> {
        Arc::new(Self {
            budget,
            used: AtomicUsize::new(0),
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// Bytes reserved now (copies kept and being recorded).
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// The live copy of `id`, if any.
    pub(crate) fn get(&self, id: &FileId) -> Option<Arc<CachedLoop>> {
        let entries = self.entries.lock().ok()?;
        entries.get(id).and_then(Weak::upgrade)
    }

    /// Reserves `bytes` for a copy, or `None` when that would go over the budget.
    pub(crate) fn reserve(self: &Arc<Self>, bytes: usize) -> Option<Reservation> {
        let mut used = self.used.load(Ordering::Acquire);
        loop {
            let after = used.checked_add(bytes)?;
            if after > self.budget {
                return None;
            }
            match self
                .used
                .compare_exchange(used, after, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    return Some(Reservation {
                        cache: Arc::clone(self),
                        bytes,
                    });
                }
                Err(now) => used = now,
            }
        }
    }

    /// Keeps a recorded pass of `id` and returns it. The reservation shrinks to the bytes the
    /// copy really holds.
    pub(crate) fn publish(
        &self,
        id: FileId,
        samples: Vec<f32>,
        seamless: bool,
        mut held: Reservation,
        rate: u32,
    ) -> Arc<CachedLoop> {
        let samples = samples.into_boxed_slice();
        let bytes = std::mem::size_of_val(&*samples);
        if bytes < held.bytes {
            self.used.fetch_sub(held.bytes - bytes, Ordering::AcqRel);
            held.bytes = bytes;
        }
        let copy = Arc::new(CachedLoop {
            samples,
            rate,
            seamless,
            _held: held,
        });
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, w| w.strong_count() > 0);
            entries.insert(id, Arc::downgrade(&copy));
        }
        copy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str) -> FileId {
        FileId {
            path: name.into(),
            len: 1,
            modified: None,
        }
    }

    #[test]
    fn copies_stay_within_the_budget_and_give_it_back_when_unused() {
        let cache = LoopCache::new(1000);
        let a = cache.reserve(600).expect("fits");
        assert!(cache.reserve(600).is_none(), "600 + 600 > 1000");
        // Recorded 100 samples (400 bytes): the reservation shrinks to them.
        let copy = cache.publish(id("a"), vec![0.5; 100], true, a, 48_000);
        assert_eq!(cache.used(), 400);
        assert!(cache.get(&id("a")).is_some());
        let b = cache.reserve(600).expect("fits after the shrink");
        drop(b);
        drop(copy);
        assert_eq!(cache.used(), 0, "the last user gone, the bytes are free");
        assert!(cache.get(&id("a")).is_none());
    }
}
