//! (in progress: signed-format primitives)
