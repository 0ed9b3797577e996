//! Downloads against a local HTTP server on 127.0.0.1: the first mirror serves a corrupt
//! file, the second a correct one; the MD5 check must reject the first and keep the second.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

use convkit_data::download::download_verified;
use convkit_data::idx::encode_u8;
use convkit_data::mnist::md5_hex;
use flate2::write::GzEncoder;

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Serves `routes` (path -> body) until the test ends; 404 otherwise.
fn serve(routes: HashMap<String, Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            reader.read_line(&mut line).unwrap();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            match routes.get(&path) {
                Some(body) => {
                    write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .unwrap();
                    stream.write_all(body).unwrap();
                }
                None => write!(
                    stream,
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                .unwrap(),
            }
        }
    });
    format!("http://{addr}")
}

#[test]
fn downloads_verify_md5_and_fall_back_to_the_next_mirror() {
    let good = encode_u8(&[3], &[7, 8, 9]);
    let bad = encode_u8(&[3], &[7, 8, 0]);
    let mut routes = HashMap::new();
    routes.insert("/bad/labels.gz".to_string(), gz(&bad));
    routes.insert("/good/labels.gz".to_string(), gz(&good));
    let base = serve(routes);
    let dir = tempfile::tempdir().unwrap();
    let md5 = md5_hex(&good);
    let mirrors = [
        format!("{base}/missing"),
        format!("{base}/bad"),
        format!("{base}/good"),
    ];
    let mirrors: Vec<&str> = mirrors.iter().map(|s| s.as_str()).collect();
    download_verified(
        dir.path(),
        &[("labels", &md5)],
        &mirrors,
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(std::fs::read(dir.path().join("labels")).unwrap(), good);

    // Only a corrupt mirror: an error naming the file and the digest mismatch, nothing written.
    let dir2 = tempfile::tempdir().unwrap();
    let err = download_verified(
        dir2.path(),
        &[("labels", &md5)],
        &mirrors[..2],
        Duration::from_secs(5),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("could not download labels") && err.contains("404") && err.contains("MD5"),
        "{err}"
    );
    assert!(!dir2.path().join("labels").exists());
}
