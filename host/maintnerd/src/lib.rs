//! maintnerd
