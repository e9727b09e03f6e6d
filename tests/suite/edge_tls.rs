//! TLS on the data plane (issue 11 §1): HTTP/1.1 and h2 chosen by ALPN, a rustls client and
//! curl alike; HTTP/3 announced with `Alt-Svc`; a certificate replaced on disk is served to
//! new connections while a connection opened before keeps working; with the files unwatched,
//! SIGHUP reloads them; a client silent after its handshake is closed by the header read
//! timeout.

use crate::common;
use crate::edge_support;

use std::time::Duration;

use tokio::io::AsyncReadExt;

use common::*;
use edge_support::*;

fn tls_config(dir: &std::path::Path) -> String {
    let (cert, key) = (dir.join("edge.crt"), dir.join("edge.key"));
    write_certificate(&cert, &key);
    format!("{FAST}\n[tls]\ncert = \"{}\"\nkey = \"{}\"\nlisten = \"127.0.0.1:0\"\n", cert.display(), key.display())
}

/// Replaces the certificate files the way certificate tools do (written beside, renamed
/// over); returns the new leaf and the new PEM.
fn replace_certificate(dir: &std::path::Path) -> (Vec<u8>, Vec<u8>) {
    let (cert, key) = (dir.join("next.crt"), dir.join("next.key"));
    let leaf = write_certificate(&cert, &key);
    std::fs::rename(&key, dir.join("edge.key")).unwrap();
    std::fs::rename(&cert, dir.join("edge.crt")).unwrap();
    (leaf, std::fs::read(dir.join("edge.crt")).unwrap())
}

/// The leaf a new TLS connection is served, once it is the one `pem` trusts.
async fn served_leaf(port: u16, pem: &[u8]) -> Option<Vec<u8>> {
    eventually(Duration::from_secs(20), || async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(client_config(pem, &[b"http/1.1"])));
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = connector.connect(name, tcp).await.ok()?; // fails while the old one is served
        Some(presented(&tls))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_speaks_http1_and_h2_by_alpn_and_announces_http3() {
    let dir = temp_dir();
    let ce = Chatedge::up(&dir.path().join("ce"), &tls_config(dir.path()));
    let port = announced_h3_port(&ce.dp).await;
    let pem = std::fs::read(dir.path().join("edge.crt")).unwrap();

    let (tls, alpn) = tls_connect(port, client_config(&pem, &[b"h2", b"http/1.1"])).await;
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]), "h2 is preferred when offered");
    let (status, alt, body) = answer(h2(tls).await.send_request(get("/healthz")).await.unwrap()).await;
    assert_eq!(status, 200, "{body:?}");
    assert_eq!(alt.as_deref(), Some(format!("h3=\":{port}\"; ma=86400").as_str()));

    let (tls, alpn) = tls_connect(port, client_config(&pem, &[b"http/1.1"])).await;
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    let (status, alt, _) = answer(h1(tls).await.send_request(get("/healthz")).await.unwrap()).await;
    assert_eq!((status, alt.is_some()), (200, true));

    for version in ["--http1.1", "--http2"] {
        let out = std::process::Command::new("curl")
            .args(["-sS", "-i", version, "--cacert"])
            .arg(dir.path().join("edge.crt"))
            .arg(format!("https://localhost:{port}/healthz"))
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .output()
            .expect("curl runs");
        let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
        let want = if version == "--http2" { "http/2 200" } else { "http/1.1 200" };
        assert!(text.starts_with(want), "curl {version}: {text} {}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("alt-svc: h3="), "curl {version}: {text}");
        assert!(text.contains("\"status\":\"ok\""), "curl {version}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_replaced_on_disk_serves_new_connections_while_an_old_one_keeps_working() {
    let dir = temp_dir();
    let ce = Chatedge::up(&dir.path().join("ce"), &tls_config(dir.path()));
    let port = announced_h3_port(&ce.dp).await;
    let old_pem = std::fs::read(dir.path().join("edge.crt")).unwrap();
    let (tls, _) = tls_connect(port, client_config(&old_pem, &[b"http/1.1"])).await;
    let old_leaf = presented(&tls);
    let mut old = h1(tls).await;
    assert_eq!(answer(old.send_request(get("/healthz")).await.unwrap()).await.0, 200);

    let (new_leaf, new_pem) = replace_certificate(dir.path());
    let served = served_leaf(port, &new_pem).await.expect("new connections get the new certificate");
    assert_eq!(served, new_leaf);
    assert_ne!(served, old_leaf);
    assert_eq!(answer(old.send_request(get("/healthz")).await.unwrap()).await.0, 200, "the old connection still works");
    assert!(ce.log().contains("TLS certificate reloaded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_certificate_when_the_files_are_not_watched() {
    let dir = temp_dir();
    // "0": the files are never polled, so only the signal can make the new pair served.
    let config = format!("{}watch_interval = \"0\"\n", tls_config(dir.path()));
    let ce = Chatedge::up(&dir.path().join("ce"), &config);
    let port = announced_h3_port(&ce.dp).await;
    let old_pem = std::fs::read(dir.path().join("edge.crt")).unwrap();
    let (new_leaf, new_pem) = replace_certificate(dir.path());

    // Unwatched, the old certificate is still served after a poll would have seen the change.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (tls, _) = tls_connect(port, client_config(&old_pem, &[b"http/1.1"])).await;
    assert_ne!(presented(&tls), new_leaf, "the files were reloaded without a signal");
    assert!(!ce.log().contains("TLS certificate reloaded"));

    ce.hangup();
    let served = served_leaf(port, &new_pem).await.expect("after SIGHUP new connections get the new certificate");
    assert_eq!(served, new_leaf);
    assert!(ce.log().contains("TLS certificate reloaded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_silent_after_its_tls_handshake_is_closed_by_the_header_read_timeout() {
    // Steered (the handshake on the edge runtime, then the first bytes choose the shard) or
    // not (handshake and first bytes on the shard the connection was handed to): the same rule.
    for steering in ["", "[dataplane]\nsteer_connections = false\n"] {
        let dir = temp_dir();
        let config = format!("{}[limits]\nheader_read_timeout = \"500ms\"\n{steering}", tls_config(dir.path()));
        let ce = Chatedge::up(&dir.path().join("ce"), &config);
        let port = announced_h3_port(&ce.dp).await;
        let pem = std::fs::read(dir.path().join("edge.crt")).unwrap();
        let http = Http::new();

        let (mut silent, _) = tls_connect(port, client_config(&pem, &[b"http/1.1"])).await;
        let (tls, _) = tls_connect(port, client_config(&pem, &[b"http/1.1"])).await;
        let (status, _, _) = answer(h1(tls).await.send_request(get("/healthz")).await.unwrap()).await;
        assert_eq!(status, 200, "{steering:?}: a client that speaks is served meanwhile");

        let mut buf = [0u8; 64];
        let closed = tokio::time::timeout(PATIENCE, silent.read(&mut buf)).await;
        assert!(matches!(closed, Ok(Ok(0) | Err(_))), "{steering:?}: the silent connection is closed: {closed:?}");
        let label = "reason=\"header_timeout\"";
        let refused = common::metrics::sum(&http, &ce.dp, "chatedge_dp_refusals_total", label).await;
        assert!(refused >= 1.0, "{steering:?}: and counted as a header timeout ({refused})");
    }
}
