//! Embeds the ISP database snapshot (`data/ispdb/*.xml`, Thunderbird's ISPDB, MPL-2.0) in the
//! binary: writes `$OUT_DIR/ispdb_files.rs`, a list of `(file name, contents)` read by
//! `client::ispdb::Ispdb::embedded`.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/ispdb");
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("data/ispdb exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    let mut out = String::from("&[\n");
    for f in files {
        let name = f.file_name().and_then(|n| n.to_str()).expect("UTF-8 file name");
        writeln!(out, "    ({name:?}, include_str!({:?})),", f.display().to_string()).expect("write to a String");
    }
    out.push(']');
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR is set by cargo")).join("ispdb_files.rs");
    std::fs::write(target, out).expect("OUT_DIR is writable");
}
