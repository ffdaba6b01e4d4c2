//! String interning: each distinct string is stored once and named by a [`Sym`].
//!
//! Logins, label names, people, file paths, refs and hashtags repeat across hundreds of
//! thousands of records; interning keeps one copy and lets the model hold 4-byte ids.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::fxhash::FxBuild;

/// An interned string's id. Only meaningful with the [`Interner`] that made it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sym(u32);

/// The empty string is always `Sym::EMPTY`.
impl Sym {
    pub const EMPTY: Sym = Sym(0);
}

/// Owns the strings; `Sym`s index into it.
pub struct Interner {
    strings: Vec<Box<str>>,
    /// Ids by string; the string itself is read from `strings`, so an entry is 4 bytes.
    ids: HashTable<Sym>,
}

/// The hash the interner files `s` under; computing it ahead (on another thread) and
/// passing it to [`Interner::intern_hashed`] takes it off the interning thread.
pub fn hash(s: &str) -> u64 {
    FxBuild::default().hash_one(s)
}

impl Default for Interner {
    fn default() -> Self {
        let mut i = Interner {
            strings: Vec::new(),
            ids: HashTable::new(),
        };
        i.intern("");
        i
    }
}

impl Interner {
    /// The id of `s`, adding it if new.
    pub fn intern(&mut self, s: &str) -> Sym {
        self.intern_hashed(s, hash(s))
    }

    /// [`Interner::intern`] of a string whose [`hash`] is `h`.
    pub fn intern_hashed(&mut self, s: &str, h: u64) -> Sym {
        debug_assert_eq!(h, hash(s));
        if let Some(&id) = self.ids.find(h, |id| self.resolve(*id) == s) {
            return id;
        }
        let id = Sym(self.strings.len() as u32);
        self.strings.push(s.into());
        let strings = &self.strings;
        self.ids
            .insert_unique(h, id, |id| hash(&strings[id.0 as usize]));
        id
    }

    /// The id of `s` if it was ever interned (for lookups that must not grow the table).
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.ids.find(hash(s), |id| self.resolve(*id) == s).copied()
    }

    pub fn resolve(&self, id: Sym) -> &str {
        &self.strings[id.0 as usize]
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.len() <= 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_string_same_sym() {
        let mut i = Interner::default();
        let a = i.intern("gopher");
        assert_eq!(i.intern("gopher"), a);
        assert_ne!(i.intern("gophers"), a);
        assert_eq!(i.resolve(a), "gopher");
        assert_eq!(i.intern(""), Sym::EMPTY);
        assert_eq!(i.get("nope"), None);
    }
}
