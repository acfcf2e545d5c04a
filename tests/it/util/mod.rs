//! The CLI test harness: a temporary directory per test, the real binaries run as processes, and
//! helpers that parse CSV and JSON output back into data so tests compare values, not text.
#![allow(dead_code)]

pub mod browser;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real XenCenter dumps kept in the repository (see fixtures/xapi-dumps/README.md).
pub fn real_dumps() -> PathBuf {
    root().join("fixtures").join("xapi-dumps")
}

/// The Python that has the XenAPI SDK: `XSA_PYTHON` (scripts/test sets it), else the venv
/// scripts/test made under target/, else python3.
pub fn python() -> String {
    if let Ok(p) = std::env::var("XSA_PYTHON") {
        return p;
    }
    let venv = root().join("target/venv/bin/python");
    if venv.exists() {
        return venv.display().to_string();
    }
    "python3".to_string()
}

/// A temporary working directory, removed when dropped.
pub struct TestDir {
    pub dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> TestDir {
        TestDir {
            dir: tempfile::Builder::new()
                .prefix("xsa-test-")
                .tempdir()
                .expect("temp dir"),
        }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap();
        p
    }
    /// Generate a fleet into `sub` with `gen-fleet` and return its inventory path.
    pub fn gen_fleet(&self, sub: &str, args: &[&str]) -> PathBuf {
        let out = self.join(sub);
        let mut gen = Command::new(env!("CARGO_BIN_EXE_gen-fleet"));
        gen.arg("--out").arg(&out).args(args);
        let o = output_within(gen, CHILD_LIMIT);
        assert!(
            o.status.success(),
            "gen-fleet failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        out.join("inventory.csv")
    }
}

/// The outcome of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
    /// Assert the exit code (one of `xen_sr_audit::policy::exit`), showing both streams when it
    /// differs.
    pub fn expect_code(&self, want: impl Into<i32>) -> &Run {
        let want: i32 = want.into();
        assert_eq!(
            self.code, want,
            "exit code {} (want {want})\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// A run of `xen-sr-audit` being set up, as ripgrep's `TestCommand` and fd's `TestEnv`: arguments
/// of any string type, a working folder, and an environment without the `XSA_*` variables of the
/// test process (`XSA_PASSWORD` above all), so a variable set where the suite runs cannot change a
/// run; a test that needs one sets it with [`Xsa::env`].
pub struct Xsa {
    cmd: Command,
}

impl Xsa {
    pub fn new<I, S>(args: I) -> Xsa
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xen-sr-audit"));
        cmd.args(args);
        without_xsa_variables(&mut cmd, std::env::vars_os().map(|(k, _)| k));
        Xsa { cmd }
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Xsa {
        self.cmd.current_dir(dir);
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Xsa {
        self.cmd.env(key, value);
        self
    }

    /// The command as set up, for a test that drives the process itself (stdin, signals).
    pub fn command(self) -> Command {
        self.cmd
    }

    /// Run to the end (within the harness's time limit) and keep the exit code and both streams.
    pub fn run(self) -> Run {
        Run::from(output_within(self.cmd, CHILD_LIMIT))
    }
}

/// Remove from `cmd`'s environment every variable of `inherited` named `XSA_*`.
fn without_xsa_variables(cmd: &mut Command, inherited: impl Iterator<Item = OsString>) {
    for key in inherited {
        if key.to_string_lossy().starts_with("XSA_") {
            cmd.env_remove(key);
        }
    }
}

/// The binary with no argument yet and no inherited `XSA_*` variable, for a test that drives the
/// process itself (pipes, signals).
pub fn xsa_command() -> Command {
    Xsa::new(std::iter::empty::<&str>()).command()
}

/// Run `xen-sr-audit` with args in `cwd`.
pub fn xsa(cwd: &Path, args: &[&str]) -> Run {
    Xsa::new(args).current_dir(cwd).run()
}

/// Run `xen-sr-audit` with args in `cwd` and the variables `env` (the only `XSA_*` ones it sees).
pub fn xsa_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    env.iter()
        .fold(Xsa::new(args).current_dir(cwd), |x, (k, v)| x.env(k, v))
        .run()
}

#[test]
fn the_builder_drops_inherited_xsa_variables_but_keeps_those_the_test_sets() {
    let mut cmd = Command::new("true");
    cmd.env("XSA_KEPT", "set by the test");
    let inherited = ["XSA_PASSWORD", "XSA_NOVA_DB_PASSWORD", "PATH", "HOME_XSA_"];
    without_xsa_variables(&mut cmd, inherited.iter().map(OsString::from));
    let envs: BTreeMap<String, Option<String>> = cmd
        .get_envs()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.map(|v| v.to_string_lossy().into_owned()),
            )
        })
        .collect();
    assert_eq!(envs["XSA_PASSWORD"], None, "removed");
    assert_eq!(envs["XSA_NOVA_DB_PASSWORD"], None, "removed");
    assert!(!envs.contains_key("PATH") && !envs.contains_key("HOME_XSA_"));
    let mut cmd = Command::new("true");
    without_xsa_variables(&mut cmd, ["XSA_KEPT"].iter().map(OsString::from));
    cmd.env("XSA_KEPT", "set by the test");
    assert_eq!(
        cmd.get_envs().next().and_then(|(_, v)| v),
        Some(OsStr::new("set by the test"))
    );
}

/// A CSV file as a list of header -> value maps.
pub fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The header row of a CSV file.
pub fn csv_header(path: &Path) -> Vec<String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.headers().unwrap().iter().map(str::to_string).collect()
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// Every file under a folder, concatenated (for "no secret anywhere" checks).
pub fn all_text_under(dir: &Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            out.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
        }
    }
    out
}

/// Assert two strings are equal, showing a line diff when they are not.
pub fn assert_same_text(what: &str, want: &str, got: &str) {
    if want == got {
        return;
    }
    let mut diff = String::new();
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    for i in 0..w.len().max(g.len()) {
        match (w.get(i), g.get(i)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => diff.push_str(&format!(
                "line {}:\n  - {}\n  + {}\n",
                i + 1,
                a.unwrap_or(&"<none>"),
                b.unwrap_or(&"<none>")
            )),
        }
    }
    panic!("{what} differs:\n{diff}");
}

/// Helpers to write small dumps by hand in tests: a row's fields, a text value, a map value.
pub fn fields(
    pairs: &[(&str, xen_sr_audit::dump::FieldValue)],
) -> Vec<(String, xen_sr_audit::dump::FieldValue)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

pub fn text(s: &str) -> xen_sr_audit::dump::FieldValue {
    xen_sr_audit::dump::FieldValue::Text(s.into())
}

pub fn map(pairs: &[(&str, &str)]) -> xen_sr_audit::dump::FieldValue {
    xen_sr_audit::dump::FieldValue::Map(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// A self-signed certificate and its PKCS#8 key (PEM), made with OpenSSL in process: `bits` of RSA,
/// signed with SHA-1 (as XenServer 6.x made them at install time) or SHA-256, valid for `ips`.
pub fn self_signed_pem(bits: u32, sha1: bool, ips: &[&str]) -> (Vec<u8>, Vec<u8>) {
    use openssl::asn1::Asn1Time;
    use openssl::bn::{BigNum, MsbOption};
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::extension::SubjectAlternativeName;
    use openssl::x509::{X509NameBuilder, X509};
    let key = PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "xapi-sim").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(2).unwrap())
        .unwrap();
    if !ips.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for ip in ips {
            san.ip(ip);
        }
        let ext = san.build(&b.x509v3_context(None, None)).unwrap();
        b.append_extension(ext).unwrap();
    }
    let digest = if sha1 {
        MessageDigest::sha1()
    } else {
        MessageDigest::sha256()
    };
    b.sign(&key, digest).unwrap();
    let cert = b.build();
    (
        cert.to_pem().unwrap(),
        key.private_key_to_pem_pkcs8().unwrap(),
    )
}

/// The SHA-256 fingerprint of a PEM certificate, as `trust` prints it.
pub fn fingerprint_of(cert_pem: &[u8]) -> String {
    let cert = openssl::x509::X509::from_pem(cert_pem).unwrap();
    let d = cert.digest(openssl::hash::MessageDigest::sha256()).unwrap();
    let hex: Vec<String> = d.iter().map(|b| format!("{b:02X}")).collect();
    format!("sha256:{}", hex.join(":"))
}

/// An address that refuses connections and that no test can be listening on: port 1 (tcpmux,
/// privileged, served by nothing here) on a loopback address of its own. A port released a moment
/// ago is no such address: another test's listener may take it in between.
pub fn refusing_address() -> std::net::SocketAddr {
    let addr: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
    let probe = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2));
    assert!(
        probe.is_err(),
        "something listens on {addr}: the refused-connection tests need it closed"
    );
    addr
}

/// How long a run of the binary may take before the test gives up on it, kills it and fails
/// with what it printed so far: a hung child fails its test instead of hanging the suite.
pub const CHILD_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// Run `cmd` to its end with both streams collected, killing it after `limit`.
pub fn output_within(mut cmd: Command, limit: std::time::Duration) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} still running after {limit:?}: killed\n--- stdout\n{}\n--- stderr\n{}",
                String::from_utf8_lossy(&out.join().unwrap_or_default()),
                String::from_utf8_lossy(&err.join().unwrap_or_default())
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// The lines of a child's stream, each waited for at most `limit`: a changed or missing progress
/// line fails the test with what came instead of blocking it forever.
pub struct LinesWithin {
    rx: std::sync::mpsc::Receiver<String>,
    limit: std::time::Duration,
    /// Every line received so far, for failure messages.
    pub seen: Vec<String>,
}

impl LinesWithin {
    pub fn new(stream: impl std::io::Read + Send + 'static, limit: std::time::Duration) -> Self {
        use std::io::BufRead;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stream)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        LinesWithin {
            rx,
            limit,
            seen: Vec::new(),
        }
    }

    /// The next line, `None` at the end of the stream; panics when none comes within the limit.
    pub fn next_line(&mut self) -> Option<String> {
        match self.rx.recv_timeout(self.limit) {
            Ok(line) => {
                self.seen.push(line.clone());
                Some(line)
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => None,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!(
                "no line from the child within {:?}; lines so far: {:#?}",
                self.limit, self.seen
            ),
        }
    }

    /// Every remaining line up to the end of the stream.
    pub fn rest(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(l) = self.next_line() {
            out.push(l);
        }
        out
    }
}

/// A test that cannot run here (a tool or a capability is missing) says so and passes under plain
/// `cargo test` (which needs only Rust), but fails under `scripts/test`, which installs every tool
/// and sets `XSA_TESTS_STRICT=1`: there a skip would be a test that cannot fail.
pub fn skip_or_fail(test: &str, why: &str) {
    if std::env::var_os("XSA_TESTS_STRICT").is_some_and(|v| v == "1") {
        panic!("{test} cannot run: {why} (XSA_TESTS_STRICT=1: scripts/test must provide it)");
    }
    eprintln!("SKIPPED {test}: {why}");
}
