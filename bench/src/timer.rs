//! CUDA-event timing on the stream a tilefuse GPU runs everything on.
//!
//! Every measured call goes: a device-to-device copy of a scratch buffer
//! larger than the L2 (it evicts the previous call's data and keeps the GPU
//! busy while the host prepares the launch, so host-side launch work is
//! hidden), a start event, the call, an end event. The runtime synchronizes
//! after each launch, so the end event is recorded once the host has seen
//! the kernel finish: the measured time includes that wake-up latency,
//! which [`EventTimer::sync_gap_ms`] measures alone and the report prints.
//!
//! The copy ceiling ([`EventTimer::copy_gbps`]) is measured here as well, as
//! `anchors_gpu.py` does: a 2 GiB device-to-device copy, `2·bytes / time`.

use std::sync::Arc;
use std::time::Instant;

use cudarc::driver::sys::{CUdevice_attribute, CUevent_flags};
use cudarc::driver::{CudaEvent, CudaSlice, CudaStream, DriverError};

use crate::stats::Summary;

/// A CUDA driver error, as text that names what was being done.
fn drv(what: &'static str) -> impl Fn(DriverError) -> String {
    move |e| format!("CUDA driver error while {what}: {e}")
}

/// Times calls on one stream with a pair of reusable events.
pub struct EventTimer {
    stream: Arc<CudaStream>,
    start: CudaEvent,
    end: CudaEvent,
    flush_src: CudaSlice<u8>,
    flush_dst: CudaSlice<u8>,
}

impl EventTimer {
    /// A timer on `stream` whose L2 flush copies `flush_bytes` (at least 1 MiB).
    pub fn new(stream: Arc<CudaStream>, flush_bytes: usize) -> Result<EventTimer, String> {
        let ctx = stream.context();
        let event = || ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT));
        let start = event().map_err(drv("creating a timing event"))?;
        let end = event().map_err(drv("creating a timing event"))?;
        let flush_bytes = flush_bytes.max(1 << 20);
        let flush_src = filled(&stream, flush_bytes)?;
        let flush_dst = stream
            .alloc_zeros::<u8>(flush_bytes)
            .map_err(drv("allocating the L2 flush buffer"))?;
        Ok(EventTimer {
            stream,
            start,
            end,
            flush_src,
            flush_dst,
        })
    }

    /// Bytes the flush copy reads (and writes) before every measured call.
    pub fn flush_bytes(&self) -> usize {
        self.flush_src.len()
    }

    fn flush(&mut self) -> Result<(), String> {
        self.stream
            .memcpy_dtod(&self.flush_src, &mut self.flush_dst)
            .map_err(drv("flushing the L2"))
    }

    /// Times one call of `f`: returns (GPU milliseconds between the events, host
    /// milliseconds of the call). An error of `f` is returned as its message.
    pub fn time<E: std::fmt::Display>(
        &mut self,
        f: impl FnOnce() -> Result<(), E>,
    ) -> Result<(f64, f64), String> {
        self.flush()?;
        self.start
            .record(&self.stream)
            .map_err(drv("recording the start event"))?;
        let t0 = Instant::now();
        f().map_err(|e| e.to_string())?;
        let host = t0.elapsed().as_secs_f64() * 1e3;
        self.end
            .record(&self.stream)
            .map_err(drv("recording the end event"))?;
        let gpu = self
            .start
            .elapsed_ms(&self.end)
            .map_err(drv("reading the events"))?;
        Ok((f64::from(gpu), host))
    }

    /// The time the events measure around a call that does no GPU work but waits
    /// for the stream as the runtime's launches do: the latency that every
    /// measured call includes on top of its kernels (median of `reps`).
    pub fn sync_gap_ms(&mut self, reps: usize) -> Result<f64, String> {
        let stream = Arc::clone(&self.stream);
        let mut samples = Vec::with_capacity(reps);
        for _ in 0..reps.max(1) {
            let (gpu, _) = self.time(|| stream.synchronize())?;
            samples.push(gpu);
        }
        Summary::of(&samples)
            .map(|s| s.median)
            .ok_or_else(|| "the sync-gap timings were not finite".to_string())
    }

    /// Device-to-device copy rate in GB/s (`2·bytes / time`, median of `reps`
    /// back-to-back copies of `bytes` of random data), the memory-bound ceiling.
    pub fn copy_gbps(&mut self, bytes: usize, reps: usize) -> Result<f64, String> {
        let src = filled(&self.stream, bytes)?;
        let mut dst = self
            .stream
            .alloc_zeros::<u8>(bytes)
            .map_err(drv("allocating the copy ceiling's buffer"))?;
        let mut samples = Vec::with_capacity(reps);
        for i in 0..reps.max(1) + 2 {
            self.start
                .record(&self.stream)
                .map_err(drv("recording the start event"))?;
            self.stream
                .memcpy_dtod(&src, &mut dst)
                .map_err(drv("copying for the copy ceiling"))?;
            self.end
                .record(&self.stream)
                .map_err(drv("recording the end event"))?;
            let ms = self
                .start
                .elapsed_ms(&self.end)
                .map_err(drv("reading the events"))?;
            if i >= 2 {
                samples.push(crate::metrics::gbps(2.0 * bytes as f64, f64::from(ms)));
            }
        }
        Summary::of(&samples)
            .map(|s| s.median)
            .ok_or_else(|| "the copy timings were not finite".to_string())
    }
}

/// The L2 size in bytes of the device of `stream`, if the driver says.
pub fn l2_bytes(stream: &CudaStream) -> Option<usize> {
    stream
        .context()
        .attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE)
        .ok()
        .and_then(|v| usize::try_from(v).ok())
        .filter(|&v| v > 0)
}

/// A device buffer of `bytes` random bytes (never zeros): a random 16 MiB pool
/// uploaded over and over.
fn filled(stream: &Arc<CudaStream>, bytes: usize) -> Result<CudaSlice<u8>, String> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::SmallRng::seed_from_u64(0x5eed);
    let pool: Vec<u8> = (0..(16 << 20).min(bytes))
        .map(|_| rng.random_range(1..=255u8))
        .collect();
    let mut buf = stream
        .alloc_zeros::<u8>(bytes)
        .map_err(drv("allocating a benchmark buffer"))?;
    let mut at = 0;
    while at < bytes {
        let len = pool.len().min(bytes - at);
        let mut view = buf.slice_mut(at..at + len);
        stream
            .memcpy_htod(&pool[..len], &mut view)
            .map_err(drv("uploading random bytes"))?;
        at += len;
    }
    Ok(buf)
}
