//! buildlet
