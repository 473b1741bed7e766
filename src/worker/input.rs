//! What a worker reads, bounded, and the check that a parent started it.
//! (Hardening: skip it on a first reading.)
//!
//! A worker trusts its parent, but not every byte on its stdin: one line
//! longer than any real command is refused, not buffered, so no input can
//! make a worker grow without bound. And a person who types the hidden
//! `--worker-id` by hand is told why that cannot work, instead of getting
//! a process that ignores Ctrl+C and waits for a parent that never writes.

use std::io::{self, BufRead, IsTerminal, Read};

use crate::protocol::{self, Command};

/// The longest command line a worker accepts, in bytes. Real commands are
/// under 100 bytes; a longer line is refused, not buffered, so no input can
/// make a worker grow without bound.
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;

/// Why this process cannot be a worker, if it was not started by a parent.
pub(super) fn started_by_hand() -> Option<&'static str> {
    if io::stdin().is_terminal() {
        return Some("its stdin is a terminal");
    }
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use std::os::unix::fs::FileTypeExt;
        let stdin = io::stdin().as_fd().try_clone_to_owned();
        let metadata = stdin.and_then(|fd| std::fs::File::from(fd).metadata());
        if !metadata.is_ok_and(|metadata| metadata.file_type().is_fifo()) {
            return Some("its stdin is not a pipe");
        }
    }
    None
}

/// Reads the next line and parses it, keeping at most [`MAX_COMMAND_BYTES`]
/// of it: a longer line is read to its end and thrown away, so the next one
/// starts clean. `None` at the end of the input.
pub(super) fn read_bounded_line(
    reader: &mut impl BufRead,
) -> io::Result<Option<Result<Command, String>>> {
    let mut line = Vec::new();
    let limit = MAX_COMMAND_BYTES as u64 + 1;
    if reader.by_ref().take(limit).read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    // At most 200 bytes of a refused line go into the log.
    let quote = String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned();
    if line.len() > MAX_COMMAND_BYTES {
        // The rest of the line, unless its newline was already read.
        let rest = if line.ends_with(b"\n") { 0 } else { reader.skip_until(b'\n')? };
        let length = line.len() + rest;
        let limit = MAX_COMMAND_BYTES;
        let refused = format!(
            "a command of {length} bytes, over the limit of {limit}; it began with {quote:?}"
        );
        return Ok(Some(Err(refused)));
    }
    Ok(Some(match std::str::from_utf8(&line) {
        Ok(text) => protocol::parse(text)
            .map_err(|cause| format!("a malformed command ({cause}): {quote:?}")),
        Err(_) => Err(format!("a malformed command (not UTF-8): {quote:?}")),
    }))
}

#[cfg(test)]
pub(super) mod tests {
    use std::io::BufReader;

    use super::*;

    /// `commands` as the parent writes them.
    pub(in crate::worker) fn lines(commands: &[Command]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for command in commands {
            protocol::send(&mut bytes, command).unwrap();
        }
        bytes
    }

    #[test]
    fn lines_are_bounded_and_the_next_line_starts_clean() {
        let mut input = vec![b'x'; MAX_COMMAND_BYTES + 1000];
        input.extend_from_slice(b"\n\xff\xfe\nnot json\n");
        input.extend(lines(&[Command::Stop]));
        let mut reader = BufReader::with_capacity(16, &input[..]);
        let mut next = || read_bounded_line(&mut reader).unwrap();
        let too_long = next().unwrap().unwrap_err();
        assert!(
            too_long.starts_with("a command of 66537 bytes, over the limit of 65536"),
            "{too_long}"
        );
        assert!(too_long.len() < 300, "the refusal quotes too much: {too_long}");
        assert!(next().unwrap().unwrap_err().starts_with("a malformed command (not UTF-8)"));
        assert!(next().unwrap().unwrap_err().starts_with("a malformed command ("));
        assert_eq!(next().unwrap(), Ok(Command::Stop));
        assert_eq!(next(), None);
    }

    #[test]
    fn a_line_just_over_the_limit_does_not_swallow_the_next() {
        // The newline is the byte past the limit: the line ends there.
        let mut input = vec![b'x'; MAX_COMMAND_BYTES];
        input.push(b'\n');
        input.extend(lines(&[Command::Stop]));
        let mut reader = BufReader::with_capacity(16, &input[..]);
        let too_long = read_bounded_line(&mut reader).unwrap().unwrap().unwrap_err();
        assert!(too_long.starts_with("a command of 65537 bytes"), "{too_long}");
        assert_eq!(read_bounded_line(&mut reader).unwrap(), Some(Ok(Command::Stop)));
    }

    proptest::proptest! {
        /// Any bytes, read through a buffer of any size: one clear result
        /// per line (a command, or a refusal that quotes at most 200 bytes of it),
        /// never a panic, and the end of the input said once.
        #[test]
        fn any_bytes_give_one_result_per_line(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000),
            buffer in 1..64usize,
        ) {
            let lines = bytes.split(|&b| b == b'\n').count() - usize::from(bytes.ends_with(b"\n") || bytes.is_empty());
            let mut reader = BufReader::with_capacity(buffer, &bytes[..]);
            let mut results = 0;
            while let Some(result) = read_bounded_line(&mut reader).unwrap() {
                results += 1;
                if let Err(refused) = result {
                    // 200 bytes quoted, each at most 6 characters once escaped.
                    proptest::prop_assert!(refused.len() < 1_400, "{}", refused);
                }
            }
            proptest::prop_assert_eq!(results, lines);
        }

        /// A command whose line, newline included, fits in
        /// `MAX_COMMAND_BYTES` is read; one byte more is refused; and the
        /// next line is read whole either way. (Lengths right at the limit.)
        #[test]
        fn the_limit_is_exact_and_the_next_line_starts_clean(over in -3..=3i64) {
            let skeleton = lines(&[Command::Call { id: 1, request: crate::protocol::Request::ProcessString(String::new()) }]);
            let length = (MAX_COMMAND_BYTES as i64 + over) as usize;
            let text = "x".repeat(length - skeleton.len());
            let command = Command::Call { id: 1, request: crate::protocol::Request::ProcessString(text) };
            let mut input = lines(std::slice::from_ref(&command));
            proptest::prop_assert_eq!(input.len(), length);
            input.extend(lines(&[Command::Stop]));
            let mut reader = BufReader::with_capacity(4096, &input[..]);
            let first = read_bounded_line(&mut reader).unwrap().unwrap();
            match length <= MAX_COMMAND_BYTES {
                true => proptest::prop_assert_eq!(first, Ok(command)),
                false => proptest::prop_assert!(first.is_err()),
            }
            proptest::prop_assert_eq!(read_bounded_line(&mut reader).unwrap(), Some(Ok(Command::Stop)));
        }
    }
}
