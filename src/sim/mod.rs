//! Test and demo tooling, kept out of the product modules: the XAPI simulator ([`xapi`]) that serves
//! dumps over real HTTP(S) on loopback, and the fleet generator ([`fleet`]) that writes the demo and
//! benchmark fleets. The `xapi-sim` and `gen-fleet` binaries, the tests and the benchmarks use them;
//! no product module imports them.

pub mod fleet;
pub mod xapi;
