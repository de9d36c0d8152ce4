//! Timing work on a stream: [`Event`]s and a [`Timer`] built on two of them.
//!
//! On a GPU these are CUDA events, so the time measured is the GPU's, from
//! the moment the stream reached the first record to the moment it reached
//! the second; host work in between counts only when it kept the stream idle
//! (launch with `launch_on` and synchronize once, not per launch). On the
//! CPU device they read the host clock, which is the same thing there since
//! work runs when it is enqueued.
//!
//! ```
//! # use tilefuse_runtime::Device;
//! let dev = Device::cpu();
//! let stream = dev.new_stream()?;
//! let t = dev.timer()?;
//! t.start(&stream)?;
//! // ... kernel::launch_on(&stream, ..) a few times ...
//! t.stop(&stream)?;
//! assert!(t.elapsed_ms()? >= 0.0);
//! # Ok::<(), tilefuse_runtime::Error>(())
//! ```

use std::sync::Mutex;
use std::time::Instant;

use crate::cuda::GpuEvent;
use crate::device::{Device, Place};
use crate::error::Error;
use crate::stream::{Stream, StreamPlace};

enum Mark {
    Host(Mutex<Option<Instant>>),
    Cuda(GpuEvent, Mutex<bool>),
}

/// A point in a stream's work, recorded by [`Stream::record`] (or kept in a
/// [`Timer`]); the time between two events is [`Event::elapsed_ms`].
pub struct Event {
    device: Device,
    mark: Mark,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Event(on {:?})", self.device)
    }
}

fn timing_err(message: String) -> Error {
    Error::Invalid(format!("timing: {message}"))
}

impl Event {
    fn new(device: &Device) -> Result<Event, Error> {
        let mark = match device.place() {
            Place::Host => Mark::Host(Mutex::new(None)),
            Place::Cuda(gpu) => Mark::Cuda(gpu.new_event()?, Mutex::new(false)),
        };
        Ok(Event {
            device: device.clone(),
            mark,
        })
    }

    /// Records, into this event, the work enqueued on `stream` so far
    /// (replacing what it held).
    fn record(&self, stream: &Stream) -> Result<(), Error> {
        if !stream.device().same(&self.device) {
            return Err(timing_err(format!(
                "the stream belongs to {:?}, the event to {:?}",
                stream.device(),
                self.device
            )));
        }
        match (&self.mark, stream.place()) {
            (Mark::Host(at), _) => {
                *at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                Ok(())
            }
            (Mark::Cuda(ev, recorded), StreamPlace::Cuda(s)) => {
                ev.record(s)?;
                *recorded.lock().unwrap_or_else(|e| e.into_inner()) = true;
                Ok(())
            }
            (Mark::Cuda(..), StreamPlace::Host) => {
                Err(timing_err("a GPU event cannot record a CPU stream".into()))
            }
        }
    }

    fn is_recorded(&self) -> bool {
        match &self.mark {
            Mark::Host(at) => at.lock().unwrap_or_else(|e| e.into_inner()).is_some(),
            Mark::Cuda(_, recorded) => *recorded.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Milliseconds from this event to `end` (negative when `end` was
    /// recorded first on the CPU; the GPU reports an error then). Waits for
    /// both events' work. Errors when either was never recorded or they
    /// belong to different devices.
    pub fn elapsed_ms(&self, end: &Event) -> Result<f32, Error> {
        if !self.device.same(&end.device) {
            return Err(timing_err(
                "the two events belong to different devices".into(),
            ));
        }
        if !self.is_recorded() || !end.is_recorded() {
            return Err(timing_err(
                "an event was never recorded (start and stop the timer first)".into(),
            ));
        }
        match (&self.mark, &end.mark) {
            (Mark::Host(a), Mark::Host(b)) => {
                let a = a
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .expect("checked");
                let b = b
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .expect("checked");
                Ok(if b >= a {
                    (b - a).as_secs_f64() as f32 * 1e3
                } else {
                    -((a - b).as_secs_f64() as f32 * 1e3)
                })
            }
            (Mark::Cuda(a, _), Mark::Cuda(b, _)) => a.elapsed_ms(b),
            _ => Err(timing_err("events of different kinds".into())),
        }
    }

    /// Waits until the work recorded in this event has run (at once when
    /// it was never recorded, or on the CPU).
    pub fn synchronize(&self) -> Result<(), Error> {
        match &self.mark {
            Mark::Cuda(ev, recorded) if *recorded.lock().unwrap_or_else(|e| e.into_inner()) => {
                ev.synchronize()
            }
            _ => Ok(()),
        }
    }
}

impl Stream {
    /// A new event recording the work enqueued on this stream so far.
    pub fn record(&self) -> Result<Event, Error> {
        let event = Event::new(self.device())?;
        event.record(self)?;
        Ok(event)
    }
}

/// Measures the time a stream spends between [`Timer::start`] and
/// [`Timer::stop`]; reusable (start again to measure again).
pub struct Timer {
    start: Event,
    stop: Event,
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Timer(on {:?})", self.start.device)
    }
}

impl Device {
    /// A timer for this device's streams (two CUDA events on a GPU).
    pub fn timer(&self) -> Result<Timer, Error> {
        Ok(Timer {
            start: Event::new(self)?,
            stop: Event::new(self)?,
        })
    }
}

impl Timer {
    /// Marks the start: the work enqueued on `stream` from now on is timed.
    pub fn start(&self, stream: &Stream) -> Result<(), Error> {
        self.start.record(stream)
    }

    /// Marks the end: the work enqueued on `stream` before now is timed.
    pub fn stop(&self, stream: &Stream) -> Result<(), Error> {
        self.stop.record(stream)
    }

    /// Milliseconds between the start and the stop, waiting for the work
    /// before the stop to run. Errors when the timer was not started and
    /// stopped.
    pub fn elapsed_ms(&self) -> Result<f32, Error> {
        self.start.elapsed_ms(&self.stop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_timer_measures_host_time() {
        let dev = Device::cpu();
        let s = dev.new_stream().unwrap();
        let t = dev.timer().unwrap();
        let err = t.elapsed_ms().unwrap_err().to_string();
        assert!(err.contains("never recorded"), "{err}");
        t.start(&s).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        t.stop(&s).unwrap();
        let ms = t.elapsed_ms().unwrap();
        assert!((19.0..2000.0).contains(&ms), "{ms}");
        // Reusable: a second measurement replaces the first.
        t.start(&s).unwrap();
        t.stop(&s).unwrap();
        assert!(t.elapsed_ms().unwrap() < ms);
    }

    #[test]
    fn events_order_and_devices() {
        let dev = Device::cpu();
        let s = dev.default_stream();
        let a = s.record().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = s.record().unwrap();
        b.synchronize().unwrap();
        assert!(a.elapsed_ms(&b).unwrap() >= 4.0);
        assert!(b.elapsed_ms(&a).unwrap() <= -4.0);
        let other = Device::cpu();
        let err = other.timer().unwrap().start(&s).unwrap_err().to_string();
        assert!(err.contains("the stream belongs to"), "{err}");
        let c = other.default_stream().record().unwrap();
        let err = a.elapsed_ms(&c).unwrap_err().to_string();
        assert!(err.contains("different devices"), "{err}");
    }
}
