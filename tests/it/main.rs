//! Integration tests: the real `shipit` binary, the flyctl double and servers on 127.0.0.1.
//! One test binary (one link) for the whole suite; each area is a module.

mod support;
