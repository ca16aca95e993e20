//! dkgd-store: everything dkgd writes to disk goes through here (atomic, fsynced, never
//! overwriting key material).
