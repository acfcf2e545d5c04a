//! Run policy: what happens to a run's findings before they are reported. Each step takes the
//! audit's findings and returns them annotated: [`baseline`] marks them against an earlier run,
//! [`waivers`] marks the acknowledged ones, and [`gate`] turns the counts into the documented exit
//! code under `--fail-on`. Nothing here knows how a report is laid out or written.

pub mod baseline;
pub mod gate;
pub mod inputs;
pub mod waivers;

pub use gate::{exit, FailOn};
