//! The wire protocol between the manager and its workers.
//! (Infrastructure: skip it on a first reading.)
//!
//! One JSON message per line, over the worker's stdin (commands) and stdout
//! (reports). Lines make the framing trivial, and a line under 4 KiB is
//! written to a pipe in one atomic piece, so messages never interleave.
//! The worker's stderr is not part of the protocol: it is inherited from
//! the parent, so worker logs go straight to the terminal.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

/// Parent to worker. (Each field is named in its message's doc.)
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Command {
    /// Run call number `id`, computing `request`, and reply with its id.
    Call { id: u64, request: Request },
    /// Reload the rules; reply `Updated` with the same `round`.
    Update { round: u64 },
    /// Finish, answer any queued calls with an error, and exit.
    Stop,
}

/// Worker to parent. (Each field is named in its message's doc.)
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Report {
    /// The worker's code is running and its signal handlers are in place;
    /// `pid` is its process id, for the parent's log and for tests.
    Bootstrapped { pid: u32 },
    /// Initialisation is done: the worker takes calls from now on.
    Started,
    /// The outcome of call `id`: the result, or the worker's error message.
    Reply { id: u64, result: Result<Output, String> },
    /// Update `round` is done; the rules are now at `version`.
    Updated { round: u64, version: u64 },
    /// The worker's last words before it exits on an error or a panic, so
    /// the parent can say why it died, not just "exit status: 7".
    Failed { message: String },
}

/// What a caller asks a worker to do.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Hash a text (0.5 designed seconds of work).
    ProcessString(String),
    /// Hash a number (0.3 designed seconds of work).
    ProcessNumber(i64),
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::ProcessString(text) => write!(f, "process_string({text:?})"),
            Request::ProcessNumber(number) => write!(f, "process_number({number})"),
        }
    }
}

/// A call's result: what was asked, under which version of the rules, and
/// the digest of the work (which anyone can recompute to check it was done).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The request this answers.
    pub request: Request,
    /// The version of the rules the work ran under.
    pub version: u64,
    /// How many hash rounds the work took (sized to this machine's speed).
    pub rounds: u64,
    /// The last hash of the chain.
    pub digest: u64,
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} = {:016x} (version {}, {} rounds)",
            self.request, self.digest, self.version, self.rounds
        )
    }
}

/// Writes `message` as one line, in one `write`.
pub fn send<W: Write, M: Serialize>(out: &mut W, message: &M) -> io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// Parses one line (without its newline).
pub fn parse<'a, M: Deserialize<'a>>(line: &'a str) -> Result<M, serde_json::Error> {
    serde_json::from_str(line.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_single_lines_that_round_trip() {
        let command =
            Command::Call { id: 3, request: Request::ProcessString("line\nbreak".into()) };
        let mut buffer = Vec::new();
        send(&mut buffer, &command).unwrap();
        assert_eq!(buffer.iter().filter(|&&b| b == b'\n').count(), 1);
        let text = String::from_utf8(buffer).unwrap();
        assert_eq!(parse::<Command>(&text).unwrap(), command);
    }

    fn command() -> impl proptest::strategy::Strategy<Value = Command> {
        use proptest::prelude::*;
        prop_oneof![
            (any::<u64>(), any::<String>())
                .prop_map(|(id, text)| Command::Call { id, request: Request::ProcessString(text) }),
            (any::<u64>(), any::<i64>())
                .prop_map(|(id, n)| Command::Call { id, request: Request::ProcessNumber(n) }),
            any::<u64>().prop_map(|round| Command::Update { round }),
            Just(Command::Stop),
        ]
    }

    #[test]
    fn requests_and_outputs_read_as_the_log_quotes_them() {
        let request = Request::ProcessString("string-7".into());
        assert_eq!(request.to_string(), "process_string(\"string-7\")");
        assert_eq!(Request::ProcessNumber(-3).to_string(), "process_number(-3)");
        let output = Output { request, version: 2, rounds: 10, digest: 255 };
        let shown = "process_string(\"string-7\") = 00000000000000ff (version 2, 10 rounds)";
        assert_eq!(output.to_string(), shown);
    }

    proptest::proptest! {
        /// Every command, whatever text it carries (newlines, quotes, any
        /// Unicode), goes out as exactly one line and comes back equal.
        #[test]
        fn every_command_is_one_line_and_round_trips(command in command()) {
            let mut line = Vec::new();
            send(&mut line, &command).unwrap();
            proptest::prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
            proptest::prop_assert_eq!(line.last(), Some(&b'\n'));
            let text = String::from_utf8(line).unwrap();
            proptest::prop_assert_eq!(parse::<Command>(&text).unwrap(), command);
        }

        /// Any text at all parses to a result, never a panic.
        #[test]
        fn any_text_is_a_command_or_an_error(text in ".*") {
            let _ = parse::<Command>(&text);
            let _ = parse::<Report>(&text);
        }
    }
}
