//! maintner
