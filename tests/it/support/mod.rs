//! Shared test helpers: running shipit, temporary project folders, the flyctl double.
#![allow(dead_code, unreachable_pub)]
