//! (in progress: DKG core)
