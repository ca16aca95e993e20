//! (in progress: primitives)
