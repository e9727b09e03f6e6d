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
