//! (in progress: definition/lock models, owned by the formats-model work)
