//! Simulated storage for fault-injection tests.
