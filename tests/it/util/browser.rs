//! Headless Chromium behind a local proxy that records every request and answers nothing, for the
//! tests that load the tool's pages (report.html, trend.html) in a real browser with no network.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

fn chromium() -> PathBuf {
    for c in [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ] {
        if Path::new(c).exists() {
            return PathBuf::from(c);
        }
    }
    panic!("Chromium is needed for the browser tests: apt-get install chromium (.ci/run does it)");
}

/// Chromium's own background services (clock, updates, accounts): not requests of the page.
const BROWSER_INTERNAL: &[&str] = &[
    "google.com",
    "googleapis.com",
    "gstatic.com",
    "gvt1.com",
    "googleusercontent.com",
];

/// Load a page in headless Chromium with every connection sent to a local proxy that records the
/// request line and answers nothing (so nothing leaves the machine); return the DOM after scripts
/// ran and the requests the page made (Chromium's own background requests set aside).
pub fn dump_dom(page: &Path) -> (String, Vec<String>) {
    dump_dom_with(page, &[])
}

/// [`dump_dom`] with more Chromium arguments (a window size).
pub fn dump_dom_with(page: &Path, extra: &[&str]) -> (String, Vec<String>) {
    use std::io::Read;
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = proxy.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    {
        let requests = Arc::clone(&requests);
        std::thread::spawn(move || {
            for s in proxy.incoming() {
                let Ok(mut s) = s else { continue };
                let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                let mut buf = [0u8; 512];
                let n = s.read(&mut buf).unwrap_or(0);
                let line = String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                requests.lock().unwrap().push(line);
            }
        });
    }
    let profile = super::TestDir::new();
    let out = std::process::Command::new("timeout")
        .arg("120")
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
        ])
        .arg(format!("--proxy-server=http://127.0.0.1:{port}"))
        .arg("--proxy-bypass-list=<-loopback>")
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg("--virtual-time-budget=2000")
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page_requests = requests
        .lock()
        .unwrap()
        .iter()
        .filter(|line| {
            let target = line.split_whitespace().nth(1).unwrap_or("");
            let host = target
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .split(['/', ':'])
                .next()
                .unwrap_or("");
            !BROWSER_INTERNAL
                .iter()
                .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        })
        .cloned()
        .collect();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        page_requests,
    )
}
