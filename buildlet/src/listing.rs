//! `/ls` and `/tgz`: walking a directory of the work dir without following symlinks.

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::path::Path;

use cap_std::fs::{Dir, Metadata, MetadataExt};
use sha1::{Digest, Sha1};

/// Options of `/ls`.
#[derive(Debug, Default, Clone)]
pub struct LsOpts {
    pub recursive: bool,
    pub digest: bool,
    /// Relative dirs (slash-separated, relative to the listed dir) not to descend into.
    pub skip: HashSet<String>,
}

/// Writes the seed's `/ls` lines for `dir` to `w`, in lexical order like Go's
/// `filepath.Walk`. Returns how many lines were written.
pub fn ls(dir: &Dir, opts: &LsOpts, w: &mut impl Write) -> io::Result<usize> {
    let mut n = 0;
    walk(dir, "", &mut |d, rel, name, md| {
        if md.is_dir() && opts.skip.contains(rel) {
            return Ok(false);
        }
        write!(w, "{}\t{}", go_mode_string(md.mode()), rel)?;
        if md.is_file() {
            write!(w, "\t{}\t{}", md.len(), rfc3339_utc(md.mtime()))?;
            if opts.digest {
                write!(w, "\t{}", sha1_file(d, name)?)?;
            }
        } else if md.is_dir() {
            w.write_all(b"/")?;
        }
        w.write_all(b"\n")?;
        n += 1;
        Ok(md.is_dir() && opts.recursive)
    })?;
    Ok(n)
}

/// Writes a tar stream of `dir` (names relative to it, dirs ending in `/`, symlinks as
/// symlink headers, the root skipped) to `w`.
pub fn tar_dir(dir: &Dir, w: impl Write) -> io::Result<()> {
    let mut b = tar::Builder::new(w);
    walk(dir, "", &mut |d, rel, name, md| {
        let mut h = tar::Header::new_gnu();
        h.set_mode(md.mode() & 0o7777);
        h.set_mtime(md.mtime().max(0) as u64);
        if md.is_dir() {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
            b.append_data(&mut h, format!("{rel}/"), io::empty())?;
            Ok(true)
        } else if md.is_symlink() {
            let target = d.read_link_contents(name)?;
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, rel, target)?;
            Ok(false)
        } else if md.is_file() {
            let f = d.open(name)?;
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(md.len());
            // A file that changes size while being read would corrupt the stream; take
            // exactly the size recorded in the header.
            b.append_data(&mut h, rel, f.take(md.len()))?;
            Ok(false)
        } else {
            Ok(false) // sockets, fifos, devices: nothing sensible to send
        }
    })?;
    b.into_inner()?.flush()
}

type Visit<'a> = dyn FnMut(&Dir, &str, &Path, &Metadata) -> io::Result<bool> + 'a;

/// Visits every entry under `dir` depth-first in name order. `visit` gets the containing
/// dir, the slash-separated relative path, the entry name and its lstat metadata, and
/// returns whether to descend (only asked for real directories).
fn walk(dir: &Dir, prefix: &str, visit: &mut Visit<'_>) -> io::Result<()> {
    let mut names: Vec<_> = dir
        .entries()?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for name in names {
        let md = dir.symlink_metadata(&name)?;
        let shown = name.to_string_lossy();
        let rel = if prefix.is_empty() {
            shown.into_owned()
        } else {
            format!("{prefix}/{shown}")
        };
        let descend = visit(dir, &rel, Path::new(&name), &md)?;
        if descend && md.is_dir() {
            walk(&dir.open_dir(&name)?, &rel, visit)?;
        }
    }
    Ok(())
}

fn sha1_file(dir: &Dir, name: &Path) -> io::Result<String> {
    let mut f = dir.open(name)?;
    let mut h = Sha1::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

/// Go's `os.FileMode.String()` for a Unix `st_mode`.
pub fn go_mode_string(st_mode: u32) -> String {
    let fmt = st_mode & libc::S_IFMT;
    let mut s = String::new();
    if fmt == libc::S_IFDIR {
        s.push('d');
    }
    if fmt == libc::S_IFLNK {
        s.push('L');
    }
    if fmt == libc::S_IFBLK || fmt == libc::S_IFCHR {
        s.push('D');
    }
    if fmt == libc::S_IFIFO {
        s.push('p');
    }
    if fmt == libc::S_IFSOCK {
        s.push('S');
    }
    if st_mode & libc::S_ISUID != 0 {
        s.push('u');
    }
    if st_mode & libc::S_ISGID != 0 {
        s.push('g');
    }
    if fmt == libc::S_IFCHR {
        s.push('c');
    }
    if st_mode & libc::S_ISVTX != 0 {
        s.push('t');
    }
    if s.is_empty() {
        s.push('-');
    }
    for (i, c) in "rwxrwxrwx".chars().enumerate() {
        s.push(if st_mode & (1 << (8 - i)) != 0 {
            c
        } else {
            '-'
        });
    }
    s
}

/// Formats Unix seconds as Go's `time.RFC3339` in UTC (`2006-01-02T15:04:05Z`).
pub fn rfc3339_utc(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_strings_match_go() {
        assert_eq!(go_mode_string(libc::S_IFREG | 0o644), "-rw-r--r--");
        assert_eq!(go_mode_string(libc::S_IFDIR | 0o755), "drwxr-xr-x");
        assert_eq!(go_mode_string(libc::S_IFLNK | 0o777), "Lrwxrwxrwx");
        assert_eq!(go_mode_string(libc::S_IFCHR | 0o666), "Dcrw-rw-rw-");
        assert_eq!(
            go_mode_string(libc::S_IFDIR | libc::S_ISVTX | 0o777),
            "dtrwxrwxrwx"
        );
        assert_eq!(
            go_mode_string(libc::S_IFREG | libc::S_ISUID | 0o755),
            "urwxr-xr-x"
        );
    }

    #[test]
    fn rfc3339() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_501_372_800), "2017-07-30T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400 + 3661), "2000-02-29T01:01:01Z");
    }
}
