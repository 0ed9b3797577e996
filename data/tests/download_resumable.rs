//! `download_file` against a local HTTP server on 127.0.0.1: a served file with the right
//! MD5 or SHA-256 is accepted; a wrong hash, a 404 and a cut connection are clear errors that
//! leave nothing at the target; a cut download resumes with a `Range` request, and a server
//! that ignores `Range` restarts it from the first byte.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use convkit_data::download::{download_file, FileHash};

/// How a route answers.
#[derive(Clone, Copy, PartialEq)]
enum Serve {
    /// The whole body, honouring `Range: bytes=N-` with a 206.
    Ranged,
    /// The whole body, ignoring `Range`.
    IgnoreRange,
    /// Announces the whole length, sends the first half and closes.
    Cut,
}

/// What the server saw: each request's path and `Range` header.
type Log = Arc<Mutex<Vec<(String, Option<String>)>>>;

fn serve(routes: HashMap<String, (Vec<u8>, Serve)>) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let log: Log = Arc::default();
    let seen = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut range = None;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("range:") {
                    range = Some(v.trim().to_string());
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            seen.lock().unwrap().push((path.clone(), range.clone()));
            let Some((body, how)) = routes.get(&path) else {
                let _ = write!(
                    stream,
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                continue;
            };
            let start = range
                .as_deref()
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok())
                .filter(|_| *how == Serve::Ranged);
            let _ = match (start, how) {
                (Some(s), _) => write!(
                    stream,
                    "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {s}-{}/{}\r\nConnection: close\r\n\r\n",
                    body.len() - s,
                    body.len() - 1,
                    body.len()
                )
                .and_then(|_| stream.write_all(&body[s..])),
                (None, Serve::Cut) => write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .and_then(|_| stream.write_all(&body[..body.len() / 2])),
                (None, _) => write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .and_then(|_| stream.write_all(body)),
            };
        }
    });
    (format!("http://{addr}"), log)
}

/// A body of `n` bytes that is not all one value.
fn body(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

fn md5_of(bytes: &[u8], dir: &Path) -> FileHash {
    let p = dir.join("reference");
    std::fs::write(&p, bytes).unwrap();
    // The hasher under test; `hashes_are_keras_rule_md5_or_sha256_by_length` checks it
    // against the standards' test vectors.
    let hex = FileHash::Md5(String::new()).of_file(&p).unwrap();
    FileHash::parse(&hex).unwrap()
}

fn fetch(url: &str, target: &Path, hash: &FileHash) -> convkit_data::Result<bool> {
    download_file(url, target, hash, Duration::from_secs(5), &mut |_, _| {})
}

fn leftovers(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "reference")
        .collect();
    names.sort();
    names
}

#[test]
fn hashes_are_keras_rule_md5_or_sha256_by_length() {
    let tmp = tempfile::tempdir().unwrap();
    let abc = tmp.path().join("abc");
    std::fs::write(&abc, b"abc").unwrap();
    // RFC 1321 and FIPS 180-2's test vectors for "abc".
    let md5 = FileHash::parse("900150983CD24FB0D6963F7D28E17F72").unwrap();
    assert!(matches!(md5, FileHash::Md5(_)));
    assert!(md5.matches(&abc).unwrap());
    let sha = FileHash::parse("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        .unwrap();
    assert!(matches!(sha, FileHash::Sha256(_)));
    assert!(sha.matches(&abc).unwrap());
    for bad in ["123", "zz0150983cd24fb0d6963f7d28e17f72"] {
        let e = FileHash::parse(bad).unwrap_err().to_string();
        assert!(e.contains("file hash"), "{e}");
    }
}

#[test]
fn right_hash_accepted_wrong_hash_and_404_refused_leaving_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = body(300_000);
    let hash = md5_of(&data, tmp.path());
    let (base, log) = serve(HashMap::from([(
        "/w.h5".to_string(),
        (data.clone(), Serve::Ranged),
    )]));
    let target = tmp.path().join("w.h5");
    assert!(fetch(&format!("{base}/w.h5"), &target, &hash).unwrap());
    assert_eq!(std::fs::read(&target).unwrap(), data);
    assert_eq!(leftovers(tmp.path()), vec!["w.h5"]);
    // Present and verified: no second request.
    let requests = log.lock().unwrap().len();
    assert!(!fetch(&format!("{base}/w.h5"), &target, &hash).unwrap());
    assert_eq!(log.lock().unwrap().len(), requests);

    // A wrong digest: an error naming both digests, no file left behind.
    let other = tmp.path().join("other.h5");
    let wrong = FileHash::parse(&"0".repeat(64)).unwrap();
    let e = fetch(&format!("{base}/w.h5"), &other, &wrong)
        .unwrap_err()
        .to_string();
    assert!(e.contains("SHA-256") && e.contains(&"0".repeat(64)), "{e}");
    // A 404: the URL and the status, nothing written.
    let e = fetch(&format!("{base}/missing.h5"), &other, &hash)
        .unwrap_err()
        .to_string();
    assert!(e.contains("/missing.h5") && e.contains("404"), "{e}");
    assert_eq!(leftovers(tmp.path()), vec!["w.h5"]);
}

#[test]
fn a_cut_download_resumes_or_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = body(1_000_000);
    let hash = md5_of(&data, tmp.path());
    let (base, log) = serve(HashMap::from([
        ("/cut.h5".to_string(), (data.clone(), Serve::Cut)),
        ("/ranged.h5".to_string(), (data.clone(), Serve::Ranged)),
        ("/whole.h5".to_string(), (data.clone(), Serve::IgnoreRange)),
    ]));
    let target = tmp.path().join("w.h5");
    let e = fetch(&format!("{base}/cut.h5"), &target, &hash)
        .unwrap_err()
        .to_string();
    assert!(e.contains("cut after 500000 of 1000000 bytes"), "{e}");
    assert!(!target.exists(), "nothing half-written at the target");
    assert_eq!(leftovers(tmp.path()), vec!["w.h5.part"]);

    // The next run asks for the rest only.
    let mut seen = Vec::new();
    assert!(download_file(
        &format!("{base}/ranged.h5"),
        &target,
        &hash,
        Duration::from_secs(5),
        &mut |done, total| seen.push((done, total))
    )
    .unwrap());
    assert_eq!(std::fs::read(&target).unwrap(), data);
    assert_eq!(
        log.lock().unwrap().last().unwrap().1.as_deref(),
        Some("bytes=500000-")
    );
    assert_eq!(seen.last(), Some(&(1_000_000, Some(1_000_000))));
    assert_eq!(leftovers(tmp.path()), vec!["w.h5"]);

    // A server that ignores Range: the download starts over and is still right.
    std::fs::remove_file(&target).unwrap();
    let _ = fetch(&format!("{base}/cut.h5"), &target, &hash).unwrap_err();
    assert!(fetch(&format!("{base}/whole.h5"), &target, &hash).unwrap());
    assert_eq!(std::fs::read(&target).unwrap(), data);
    assert_eq!(leftovers(tmp.path()), vec!["w.h5"]);
}
