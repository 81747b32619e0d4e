//! What `switchboard-cli` says about arguments and configuration files it
//! cannot use: a clear one-line reason naming the flag or the file's key,
//! a non-zero exit (2 for usage errors, 1 for values it cannot use), never
//! a panic, and no engine started.

mod support;

use support::{Agent, Scratch, run, run_env};

/// Bad flag values: (arguments, exit code, what stderr must say).
const BAD_FLAGS: &[(&[&str], i32, &str)] = &[
    (
        &["--bind", "nonsense", "listen"],
        2,
        "invalid value 'nonsense' for '--bind",
    ),
    (
        &["--bind", "127.0.0.1:0", "listen", "--max-calls", "many"],
        2,
        "invalid value 'many' for '--max-calls",
    ),
    (
        &["--bind", "127.0.0.1:0", "--duration", "nan", "listen"],
        2,
        "invalid value 'nan' for '--duration",
    ),
    (
        &["--bind", "127.0.0.1:0", "--duration=-1", "listen"],
        2,
        "invalid value '-1' for '--duration",
    ),
    (
        &["--bind", "127.0.0.1:0", "--duration", "1e30", "listen"],
        2,
        "invalid value '1e30' for '--duration",
    ),
    (
        &["--bind", "127.0.0.1:0", "--duration", "soon", "listen"],
        2,
        "invalid value 'soon' for '--duration",
    ),
    (&["--bind", "127.0.0.1:0", "call"], 2, "<URI>"),
    (
        &["--bind", "127.0.0.1:0", "--frobnicate", "listen"],
        2,
        "unexpected argument '--frobnicate'",
    ),
    (&["--bind", "127.0.0.1:0"], 2, "Usage:"),
    (
        &["--bind", "127.0.0.1:0", "--codecs", "speex,pcmu", "listen"],
        1,
        "switchboard-cli: --codecs: unknown codec \"speex\" (known: opus, g722, pcmu, pcma)",
    ),
    (
        &[
            "--bind",
            "127.0.0.1:0",
            "--transfer-policy",
            "sometimes",
            "listen",
        ],
        1,
        "switchboard-cli: --transfer-policy: \"sometimes\": use accept, ask or reject",
    ),
    (
        &[
            "--bind",
            "127.0.0.1:0",
            "--mic",
            "/nonexistent/said.wav",
            "listen",
        ],
        1,
        "switchboard-cli: --mic /nonexistent/said.wav",
    ),
    (
        &[
            "--bind",
            "127.0.0.1:0",
            "call",
            "sip:bob@127.0.0.1:9",
            "--header",
            "NoColon",
        ],
        1,
        "switchboard-cli: --header \"NoColon\" is not \"Name: value\"",
    ),
    (
        &[
            "--bind",
            "127.0.0.1:0",
            "call",
            "sip:bob@127.0.0.1:9",
            "--header",
            "Two Words: x",
        ],
        1,
        "switchboard-cli: --header \"Two Words: x\" is not a valid header",
    ),
    (
        &[
            "--bind",
            "127.0.0.1:0",
            "--registrar",
            "sip:pbx.invalid",
            "listen",
        ],
        1,
        "switchboard-cli: --registrar needs --username",
    ),
    (
        &[
            "--bind",
            "127.0.0.1:0",
            "--registrar",
            "sip:pbx.invalid",
            "--username",
            "alice",
            "listen",
        ],
        1,
        "switchboard-cli: registering needs the password in SWITCHBOARD_PASSWORD",
    ),
    (
        &[
            "--bind",
            "127.0.0.1:0",
            "--config",
            "/nonexistent/switchboard.toml",
            "listen",
        ],
        1,
        "switchboard-cli: /nonexistent/switchboard.toml: ",
    ),
];

#[test]
fn bad_flag_values_are_refused_with_the_flag_named_and_no_panic() {
    for (args, code, says) in BAD_FLAGS {
        let out = run(args);
        out.assert_refused(*code, says);
        assert!(
            !out.stdout.contains("listening"),
            "refused before the engine starts: {out:#?}"
        );
        if *code == 1 {
            assert_eq!(
                out.stderr.lines().count(),
                1,
                "one line of reason: {out:#?}"
            );
        }
    }
}

#[test]
fn a_registrar_that_is_not_a_sip_uri_is_refused_at_start() {
    let out = run_env(
        &[
            "--bind",
            "127.0.0.1:0",
            "--registrar",
            "pbx.example.com",
            "--username",
            "alice",
            "listen",
        ],
        &[("SWITCHBOARD_PASSWORD", "secret")],
    );
    out.assert_refused(
        1,
        "switchboard-cli: registrar \"pbx.example.com\" is not a sip: URI with a host",
    );
    assert!(!out.stderr.contains("secret") && !out.stdout.contains("secret"));
}

/// Bad configuration files: (file text, what stderr must say besides the path).
const BAD_FILES: &[(&str, &str)] = &[
    (
        "[sip]\nuser = \"desk\"\nmx_calls = 2\n",
        ", line 3: sip.mx_calls: unknown field `mx_calls`",
    ),
    (
        "[sip]\nmax_calls = \"two\"\n",
        ", line 2: sip.max_calls: invalid type: string \"two\"",
    ),
    ("[sip\nuser = 1\n", ", line 1: "),
    (
        "[microphone]\nfile = \"x.wav\"\n",
        ", line 1: microphone: unknown field `microphone`",
    ),
];

#[test]
fn a_bad_configuration_file_is_named_with_its_line_and_key() {
    let dir = Scratch::new("bad-files");
    for (i, (text, says)) in BAD_FILES.iter().enumerate() {
        let path = dir.file(&format!("bad-{i}.toml"), text);
        let out = run(&["--config", &path, "--bind", "127.0.0.1:0", "listen"]);
        out.assert_refused(1, &format!("switchboard-cli: {path}{says}"));
    }
}

#[test]
fn unusable_values_in_the_file_are_reported_by_their_key() {
    let dir = Scratch::new("bad-values");
    let codecs = dir.file("codecs.toml", "[audio]\ncodecs = [\"pcmu\", \"speex\"]\n");
    run(&["--config", &codecs, "--bind", "127.0.0.1:0", "listen"]).assert_refused(
        1,
        "switchboard-cli: audio.codecs: unknown codec \"speex\" (known: opus, g722, pcmu, pcma)",
    );
    let busy = dir.file("busy.toml", "[desk]\nbusy_status = 200\n");
    run(&["--config", &busy, "--bind", "127.0.0.1:0", "listen"]).assert_refused(
        1,
        "switchboard-cli: desk.busy_status: 200 is not a final error status (400-699)",
    );
}

#[test]
fn flags_win_over_the_file() {
    let dir = Scratch::new("flags-win");
    // Neither the file's codecs nor its address are used when flags say otherwise.
    let path = dir.file(
        "config.toml",
        "[sip]\nbind = \"192.0.2.1:5060\"\nuser = \"desk\"\n[audio]\ncodecs = [\"speex\"]\n",
    );
    let mut agent = Agent::start(
        "agent",
        &[
            "--config",
            &path,
            "--codecs",
            "pcmu",
            "--bind",
            "127.0.0.1:0",
            "--duration",
            "0",
            "listen",
        ],
    );
    let address = agent.listening();
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    agent.wait("stopped");
    assert_eq!(agent.exit_code(), Some(0), "{}", agent.stderr());
}
