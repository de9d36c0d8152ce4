//! Timing backends: how the tuner learns how long one run of a candidate takes.
//!
//! The tuner calls a [`Measure`] once per run (warm-up runs first, then the timed ones) and
//! keeps the median. Any `FnMut(&Candidate) -> Result<f32, Error>` returning milliseconds is
//! a [`Measure`], so tests inject fake times; on a device, [`EventTiming`] wraps a closure
//! that enqueues one launch of the candidate on a stream and times it with the runtime's
//! [`Timer`] (CUDA events on a GPU: the GPU's time, not the host's).

use crate::error::Error;
use crate::stream::Stream;
use crate::timing::Timer;

use super::config::Candidate;

/// Runs a candidate once and says how long it took, in milliseconds.
pub trait Measure {
    /// Milliseconds of one run of `candidate`. An [`Error::Launch`] means the launcher
    /// refused this candidate before launching it (the tuner skips it, with the message);
    /// any other error ends the tuning.
    fn run_ms(&mut self, candidate: &Candidate) -> Result<f32, Error>;
}

impl<F: FnMut(&Candidate) -> Result<f32, Error>> Measure for F {
    fn run_ms(&mut self, candidate: &Candidate) -> Result<f32, Error> {
        self(candidate)
    }
}

/// Times one launch per call with a [`Timer`] on `stream`: `launch` must enqueue exactly one
/// run of the candidate on the stream it is given (`launch_on`).
///
/// Each call enqueues a *lead* run first, untimed, then records the start, enqueues the
/// timed run and records the stop: the start event fires when the lead run ends, by which
/// time the host has long enqueued the timed run, so the host's launch overhead (argument
/// checks, module lookup) is not part of the time unless it is longer than the lead run.
pub struct EventTiming<'s, L> {
    stream: &'s Stream,
    timer: Timer,
    launch: L,
}

impl<'s, L: FnMut(&Candidate, &Stream) -> Result<(), Error>> EventTiming<'s, L> {
    /// A backend timing `launch` on `stream` (a timer of the stream's device).
    pub fn new(stream: &'s Stream, launch: L) -> Result<EventTiming<'s, L>, Error> {
        Ok(EventTiming {
            stream,
            timer: stream.device().timer()?,
            launch,
        })
    }
}

impl<L: FnMut(&Candidate, &Stream) -> Result<(), Error>> Measure for EventTiming<'_, L> {
    fn run_ms(&mut self, candidate: &Candidate) -> Result<f32, Error> {
        (self.launch)(candidate, self.stream)?;
        self.timer.start(self.stream)?;
        (self.launch)(candidate, self.stream)?;
        self.timer.stop(self.stream)?;
        self.timer.elapsed_ms()
    }
}

/// The median of `samples` (the mean of the middle two for an even count); None when empty.
pub(crate) fn median(samples: &mut [f32]) -> Option<f32> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f32::total_cmp);
    let n = samples.len();
    Some(if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autotune::config::TuneConfig;
    use crate::device::Device;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0]), Some(3.0));
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&mut [4.0, 1.0, 100.0, 2.0]), Some(3.0));
    }

    #[test]
    fn event_timing_times_the_launch_on_the_stream() {
        let dev = Device::cpu();
        let stream = dev.new_stream().unwrap();
        let mut launched = 0;
        let mut t = EventTiming::new(&stream, |c: &Candidate, _: &Stream| {
            launched += c.config.num_warps;
            // Lead runs (odd calls) take 40 ms, timed ones 3 ms.
            let ms = if launched % 4 == 2 { 40 } else { 3 };
            std::thread::sleep(std::time::Duration::from_millis(ms));
            Ok(())
        })
        .unwrap();
        let c = Candidate::new(TuneConfig::new("B = 1", 2, 1));
        let ms = t.run_ms(&c).unwrap();
        // Only the second run is timed (the CPU runs work when it is enqueued).
        assert!((2.5..35.0).contains(&ms), "{ms}");
        t.run_ms(&c).unwrap();
        drop(t);
        // A lead run and a timed run per call.
        assert_eq!(launched, 8);
        // A launch error comes back as it is.
        let mut refusing = EventTiming::new(&stream, |_: &Candidate, _: &Stream| {
            Err(Error::Launch {
                kernel: "k".into(),
                message: "too big".into(),
            })
        })
        .unwrap();
        let err = refusing.run_ms(&c).unwrap_err();
        assert!(matches!(err, Error::Launch { .. }), "{err}");
    }
}
