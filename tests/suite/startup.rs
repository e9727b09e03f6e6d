//! First start: credentials are created once (or taken from the environment), stored with mode
//! 0600 and printed only when new; bad settings stop start-up with a message naming them.

use crate::common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use common::*;

/// Starts `chatedge up` on ephemeral ports with `extra` arguments; returns it and its stdout.
fn start_up(
    dir: &std::path::Path,
    env: &[(&str, &str)],
    extra: &[&std::ffi::OsStr],
) -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatedge"))
        .args(["up", "--data-dir"])
        .arg(dir)
        .args(["--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0"])
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdout)
}

/// Starts `chatedge up`, waits until it serves, stops it with SIGTERM; returns its stdout.
fn up_once(dir: &std::path::Path, env: &[(&str, &str)]) -> String {
    let (mut child, mut stdout) = start_up(dir, env, &[]);
    let mut printed = String::new();
    while !printed.contains("data plane listening on") {
        assert!(stdout.read_line(&mut printed).unwrap() > 0, "chatedge exited early: {printed}");
    }
    // SAFETY: kill(2) on our own child with SIGTERM has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    stdout.read_to_string(&mut printed).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
    printed
}

#[test]
fn credentials_come_from_the_environment_are_kept_private_and_printed_only_when_new() {
    let dir = temp_dir();
    let admin = "operator-chosen-admin-token-0001";
    let first = up_once(dir.path(), &[("CHATEDGE_ADMIN_TOKEN", admin)]);
    assert!(first.contains(admin), "first start prints the credentials: {first}");
    assert!(first.contains("integrator token:"));
    let file = dir.path().join("credentials.json");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let creds: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(creds["adminToken"], admin);

    let second = up_once(dir.path(), &[]);
    assert!(!second.contains(admin) && !second.contains("integrator token:"), "printed once: {second}");
    assert!(second.contains("data plane listening on"));
}

#[test]
fn a_too_short_token_in_the_environment_is_refused_by_name() {
    let dir = temp_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_chatedge"))
        .args(["up", "--data-dir"])
        .arg(dir.path())
        .env("CHATEDGE_INTEGRATOR_TOKEN", "short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CHATEDGE_INTEGRATOR_TOKEN"));
}

#[test]
fn an_unknown_config_key_stops_start_up_with_an_error_naming_the_key() {
    let dir = temp_dir();
    std::fs::write(dir.path().join("bad.toml"), "[pacing]\nmin_delay_ms = 0\nmax_dealy_ms = 5\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chatedge"))
        .args(["up", "--data-dir"])
        .arg(dir.path())
        .arg("--config")
        .arg(dir.path().join("bad.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("max_dealy_ms"), "{stderr}");
}

/// A plain HTTP/1.0 GET over a blocking socket: (status, body).
fn get(addr: &str, path: &str) -> (u16, String) {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
}

#[test]
fn metrics_on_a_listener_of_their_own_are_not_served_on_the_public_port() {
    let dir = temp_dir();
    let config = dir.path().join("chatedge.toml");
    std::fs::write(&config, "[metrics]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let (mut child, mut stdout) = start_up(&dir.path().join("data"), &[], &["--config".as_ref(), config.as_ref()]);
    let mut printed = String::new();
    while !printed.contains("metrics listening on") {
        assert!(stdout.read_line(&mut printed).unwrap() > 0, "chatedge exited early: {printed}");
    }
    let after = |marker: &str| {
        let rest = printed.split(marker).nth(1).unwrap();
        rest.lines().next().unwrap().trim().trim_start_matches("http://").to_owned()
    };
    let (public, metrics) = (after("data plane listening on"), after("metrics listening on"));

    let (status, body) = get(&metrics, "/metrics");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("chatedge_dp_"), "the metrics listener serves the data plane's metrics: {body}");
    assert_eq!(get(&public, "/metrics").0, 404, "/metrics is gone from the public port");
    assert_eq!(get(&public, "/healthz").0, 200, "the public port still serves");

    // SAFETY: kill(2) on our own child with SIGTERM has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
}
