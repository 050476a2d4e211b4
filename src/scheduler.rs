//! The scheduler (see issue 4).
