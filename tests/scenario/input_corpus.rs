//! The bad-input corpus (block 127.22.0.0/16): every data line of the input ends up exactly once,
//! either as a `domains` row or in `rejects.csv` with the expected reason.

use std::collections::BTreeMap;
use std::process::Command;

use mailcensus::testkit::dataset::read_rows;
use mailcensus::testkit::dns::{FakeDns, Zone};

use crate::world::test_dir;

/// (line content, expected: Ok(normalised domain) or Err(reject reason)); line 1 is the header.
fn corpus() -> Vec<(Vec<u8>, Result<&'static str, &'static str>)> {
    let long_label = format!("{}.test", "a".repeat(64));
    let long_name = format!("{}test", "abcdefghij.".repeat(24));
    vec![
        (b"plain.test,g".to_vec(), Ok("plain.test")),
        (b"UPPER.Case.TEST,g".to_vec(), Ok("upper.case.test")),
        (b"trailing.dot.test.,g".to_vec(), Ok("trailing.dot.test")),
        (b"postmaster@mail.example.test,g".to_vec(), Ok("mail.example.test")),
        (b"\"quoted,comma.test\",g".to_vec(), Err("invalid_character")),
        (b"\"quoted.test\",\"group, with comma\"".to_vec(), Ok("quoted.test")),
        ("bücher.test,g".as_bytes().to_vec(), Ok("xn--bcher-kva.test")),
        (b"xn--zz.test,g".to_vec(), Err("idna")),
        (b"192.0.2.10,g".to_vec(), Err("ip_literal")),
        (b"[2001:db8::1],g".to_vec(), Err("ip_literal")),
        (b"*.wildcard.test,g".to_vec(), Err("invalid_character")),
        (long_label.into_bytes(), Err("label_too_long")),
        (long_name.into_bytes(), Err("name_too_long")),
        (b"\xff\xfebad-utf8.test,g".to_vec(), Err("invalid_utf8")),
        (b",g".to_vec(), Err("empty")),
        (b"localhost,g".to_vec(), Err("single_label")),
        (b"plain.test,g".to_vec(), Err("duplicate")),
        (b"PLAIN.TEST.,other".to_vec(), Err("duplicate")),
        (vec![b'x'; 100_000], Err("name_too_long")),
        (b"=HYPERLINK(\"http://x.test\"),g".to_vec(), Err("invalid_character")),
        (b"last.test,g".to_vec(), Ok("last.test")),
    ]
}

fn scan(dir: &std::path::Path, input: &[u8], dns: std::net::SocketAddr) -> (std::process::Output, std::path::PathBuf) {
    let path = dir.join("in.csv");
    std::fs::write(&path, input).unwrap();
    let out = dir.join("out");
    let _ = std::fs::remove_dir_all(&out);
    let output = Command::new(env!("CARGO_BIN_EXE_mailcensus"))
        .args(["scan", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "--resolver", &dns.to_string()])
        .args(["--dns-timeout", "1", "--no-progress", "--no-dnssec"])
        .output()
        .unwrap();
    (output, out)
}

fn rejects(out: &std::path::Path) -> BTreeMap<u64, String> {
    let text = std::fs::read_to_string(out.join("rejects.csv")).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    r.records().map(|rec| rec.unwrap()).map(|rec| (rec[0].parse().unwrap(), rec[2].to_string())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_input_line_is_accounted_for_once() {
    // Every name is NXDOMAIN: the domains still get rows, and nothing leaves the machine.
    let dns = FakeDns::spawn([127, 22, 0, 53].into(), Zone::new()).await.unwrap();
    let dir = test_dir("corpus");
    let cases = corpus();
    // BOM, CRLF line ends, a comment and a blank line in the middle.
    let mut input = b"\xef\xbb\xbfdomain,group\r\n".to_vec();
    let mut expected: BTreeMap<u64, Result<&str, &str>> = BTreeMap::new();
    let mut line = 1u64;
    for (i, (content, want)) in cases.iter().enumerate() {
        if i == 3 {
            input.extend_from_slice(b"# a comment\r\n\r\n");
            line += 2;
        }
        line += 1;
        input.extend_from_slice(content);
        input.extend_from_slice(b"\r\n");
        expected.insert(line, *want);
    }
    let (output, out) = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || scan(&dir, &input, dns.addr())
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let rejected = rejects(&out);
    let rows: BTreeMap<u64, String> = read_rows(&out.join("domains"))
        .unwrap()
        .into_iter()
        .map(|r| (r["input_line"].int().unwrap() as u64, r["domain"].str().unwrap().to_string()))
        .collect();
    for (line, want) in &expected {
        match want {
            Ok(domain) => {
                assert_eq!(rows.get(line).map(String::as_str), Some(*domain), "line {line}");
                assert!(!rejected.contains_key(line), "line {line} both scanned and rejected");
            }
            Err(reason) => {
                assert_eq!(rejected.get(line).map(String::as_str), Some(*reason), "line {line}");
                assert!(!rows.contains_key(line), "line {line} both rejected and scanned");
            }
        }
    }
    assert_eq!(rows.len() + rejected.len(), expected.len(), "no line lost, none invented");
    // A spreadsheet opening rejects.csv does not run the input as a formula: the cell starts with '.
    let text = std::fs::read_to_string(out.join("rejects.csv")).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let inputs: Vec<String> = r.records().map(|rec| rec.unwrap()[1].to_string()).collect();
    assert!(inputs.iter().any(|i| i.starts_with("'=HYPERLINK")), "{inputs:?}");
    assert!(inputs.iter().all(|i| !i.starts_with(['=', '+', '-', '@'])), "{inputs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_header_only_and_headerless_inputs() {
    let dns = FakeDns::spawn([127, 22, 0, 54].into(), Zone::new()).await.unwrap();
    let addr = dns.addr();
    let dir = test_dir("corpus-small");
    let result = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        for (input, domains, rejects) in
            [(&b""[..], 0, 0), (b"domain,group\n", 0, 0), (b"a.test\nb.test\nnot_valid\n", 2, 1)]
        {
            let (output, out) = scan(&dir, input, addr);
            assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
            seen.push((
                read_rows(&out.join("domains")).unwrap().len(),
                super::input_corpus::rejects(&out).len(),
                domains,
                rejects,
            ));
        }
        seen
    })
    .await
    .unwrap();
    for (got_d, got_r, want_d, want_r) in result {
        assert_eq!((got_d, got_r), (want_d, want_r));
    }
}
