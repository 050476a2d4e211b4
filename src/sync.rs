//! The one place synchronization primitives come from (std, or loom under `cfg(loom)`).
