use super::*;

#[test]
fn durations_parse_with_units() {
    assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
    assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
    assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
    assert_eq!(parse_duration(" 0s "), Ok(Duration::ZERO));
}

#[test]
fn bad_durations_are_refused() {
    assert!(parse_duration("").is_err());
    assert!(parse_duration("s").is_err());
    assert!(parse_duration("10 parsecs").is_err());
    assert!(parse_duration("-1s").is_err());
    assert!(parse_duration("1.2.3s").is_err());
}

#[test]
fn mix_parses_and_defaults_missing_to_zero() {
    assert_eq!(parse_mix("send=90,status=8,settings=2"), Ok(Mix { send: 90, status: 8, settings: 2 }));
    assert_eq!(parse_mix("status=1"), Ok(Mix { send: 0, status: 1, settings: 0 }));
    assert!(parse_mix("send=0").is_err());
    assert!(parse_mix("read=3").is_err());
    assert!(parse_mix("send").is_err());
}

#[test]
fn command_line_parses() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
    let cli = Cli::try_parse_from([
        "chatedge-loadtest",
        "send",
        "--instances",
        "2",
        "--duration",
        "2s",
        "--rate",
        "100",
        "--admin-token",
        "a",
        "--integrator-token",
        "i",
    ]);
    assert!(cli.is_ok());
    let both = Cli::try_parse_from(["chatedge-loadtest", "send", "--rate", "1", "--concurrency", "2"]);
    assert!(both.is_err());
    let neither = Cli::try_parse_from(["chatedge-loadtest", "send"]);
    assert!(neither.is_err());
}

#[test]
fn help_names_the_server_settings_scenarios_need() {
    use clap::CommandFactory;
    let help = Cli::command().render_long_help().to_string();
    assert!(help.contains("allow_insecure_loopback = true"));
    assert!(help.contains("min_delay_ms = 0"));
    assert!(help.contains("max_delay_ms = 0"));
}

#[test]
fn sizes_parse_with_binary_and_decimal_units() {
    assert_eq!(parse_size("102400"), Ok(102_400));
    assert_eq!(parse_size("100KiB"), Ok(102_400));
    assert_eq!(parse_size("100k"), Ok(102_400));
    assert_eq!(parse_size("16MiB"), Ok(16 << 20));
    assert_eq!(parse_size("1.5M"), Ok(3 << 19));
    assert_eq!(parse_size("100kB"), Ok(100_000));
    assert_eq!(parse_size("16MB"), Ok(16_000_000));
    assert!(parse_size("12").is_err(), "below 1 KiB");
    assert!(parse_size("2GiB").is_err(), "above 1 GiB");
    assert!(parse_size("16 furlongs").is_err());
    assert!(parse_size("MiB").is_err());
}

#[test]
fn media_arguments_parse_with_their_defaults() {
    let cli = Cli::try_parse_from(["chatedge-loadtest", "media", "--concurrency", "8"]).expect("parses");
    let Command::Media(a) = cli.command else { panic!("not media: {cli:?}") };
    assert_eq!(a.image_bytes, 100 * 1024);
    assert!(!a.repeat_image);
    assert_eq!(a.rss.server_pid, None);
    assert_eq!(a.load.concurrency, Some(8));
    let cli = Cli::try_parse_from([
        "chatedge-loadtest",
        "media",
        "--rate",
        "200",
        "--image-bytes",
        "2MiB",
        "--repeat-image",
        "--server-pid",
        "4242",
        "--rss-every",
        "5ms",
        "--json",
    ])
    .expect("parses");
    let Command::Media(a) = cli.command else { panic!("not media: {cli:?}") };
    assert_eq!((a.image_bytes, a.repeat_image, a.load.rate), (2 << 20, true, Some(200.0)));
    assert_eq!((a.rss.server_pid, a.rss.rss_every, a.output.json), (Some(4242), Duration::from_millis(5), true));
    assert!(Cli::try_parse_from(["chatedge-loadtest", "media"]).is_err(), "needs --rate or --concurrency");
    assert!(Cli::try_parse_from(["chatedge-loadtest", "media", "--rate", "1", "--image-bytes", "10"]).is_err());
}

#[test]
fn media_burst_defaults_to_fifty_16_mib_images() {
    let cli = Cli::try_parse_from(["chatedge-loadtest", "media-burst"]).expect("parses");
    let Command::MediaBurst(a) = cli.command else { panic!("not media-burst: {cli:?}") };
    assert_eq!((a.requests, a.image_bytes, a.instances), (50, 16 << 20, 1));
    assert_eq!(a.upload_timeout, Duration::from_secs(120));
    let cli = Cli::try_parse_from([
        "chatedge-loadtest",
        "media-burst",
        "--requests",
        "5",
        "--image-bytes",
        "1MiB",
        "--server-pid",
        "1",
        "--settle",
        "1s",
    ])
    .expect("parses");
    let Command::MediaBurst(a) = cli.command else { panic!("not media-burst: {cli:?}") };
    assert_eq!((a.requests, a.image_bytes, a.rss.server_pid, a.settle), (5, 1 << 20, Some(1), Duration::from_secs(1)));
    assert!(Cli::try_parse_from(["chatedge-loadtest", "media-burst", "--requests", "0"]).is_err());
}

#[test]
fn protocol_connections_and_trust_parse_with_http1_as_the_default() {
    let send = |extra: &[&str]| {
        let mut argv = vec!["chatedge-loadtest", "send", "--concurrency", "8"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).map(|c| c.command) {
            Ok(Command::Send(a)) => Ok(a.target.client),
            Ok(other) => panic!("not send: {other:?}"),
            Err(e) => Err(e),
        }
    };
    let default = send(&[]).expect("parses");
    assert_eq!((default.protocol, default.connections, default.insecure), (Protocol::Http1, 4, false));
    let h3 = send(&["--protocol", "h3", "--connections", "2", "--insecure"]).expect("parses");
    assert_eq!((h3.protocol, h3.connections, h3.insecure), (Protocol::H3, 2, true));
    let h2 = send(&["--protocol", "h2", "--ca", "/tmp/ca.pem"]).expect("parses");
    assert_eq!((h2.protocol, h2.ca.as_deref()), (Protocol::H2, Some(std::path::Path::new("/tmp/ca.pem"))));
    assert!(send(&["--protocol", "http3"]).is_err(), "only http1, h2, h3");
    assert!(send(&["--connections", "0"]).is_err());
    assert!(send(&["--insecure", "--ca", "x.pem"]).is_err(), "one way to trust");
    let webhooks = Cli::try_parse_from(["chatedge-loadtest", "webhooks", "--rate", "1", "--protocol", "h2"]);
    assert!(webhooks.is_ok(), "every scenario on the shared client takes --protocol");
}

#[test]
fn a_missing_ca_file_is_named() {
    let args = ClientArgs { ca: Some("/nonexistent/ca.pem".into()), ..ClientArgs::default() };
    let err = args.transport().expect_err("no such file");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}

#[test]
fn the_baseline_server_serves_tls_only_when_asked() {
    let cli = Cli::try_parse_from(["chatedge-loadtest", "baseline-server"]).expect("parses");
    let Command::BaselineServer(a) = cli.command else { panic!("not baseline-server") };
    assert!(!a.tls_self_signed);
    let cli = Cli::try_parse_from(["chatedge-loadtest", "baseline-server", "--tls-self-signed"]).expect("parses");
    let Command::BaselineServer(a) = cli.command else { panic!("not baseline-server") };
    assert!(a.tls_self_signed);
}
