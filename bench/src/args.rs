//! A minimal `--flag value` parser, so the benchmark binaries need no argument-parsing crate.

use std::str::FromStr;

/// The command line as `(flag, value)` pairs; `--flag=value` and `--flag value` both work, and a
/// flag followed by another flag (or nothing) gets no value.
#[derive(Debug, Default)]
pub struct Args {
    pairs: Vec<(String, Option<String>)>,
    used: Vec<bool>,
}

impl Args {
    /// The process's arguments, without the program name.
    pub fn from_env() -> Self {
        Self::parse(std::env::args().skip(1))
    }

    /// Parses `args`. A value that does not start with `--` belongs to the flag before it.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Self {
        let mut pairs: Vec<(String, Option<String>)> = Vec::new();
        for arg in args {
            if let Some(flag) = arg.strip_prefix("--") {
                match flag.split_once('=') {
                    Some((k, v)) => pairs.push((k.to_owned(), Some(v.to_owned()))),
                    None => pairs.push((flag.to_owned(), None)),
                }
            } else if let Some((_, value @ None)) = pairs.last_mut() {
                *value = Some(arg);
            } else {
                pairs.push((String::new(), Some(arg)));
            }
        }
        let used = vec![false; pairs.len()];
        Self { pairs, used }
    }

    /// Whether `--name` was given (with or without a value).
    pub fn flag(&mut self, name: &str) -> bool {
        let mut found = false;
        for (i, (k, _)) in self.pairs.iter().enumerate() {
            if k == name {
                self.used[i] = true;
                found = true;
            }
        }
        found
    }

    /// The last value of `--name`, as text.
    pub fn string(&mut self, name: &str) -> Option<String> {
        let mut value = None;
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            if k == name {
                self.used[i] = true;
                match v {
                    Some(v) => value = Some(v.clone()),
                    None => fail(&format!("--{name} needs a value")),
                }
            }
        }
        value
    }

    /// The last value of `--name`, parsed, or `default`.
    pub fn get<T: FromStr>(&mut self, name: &str, default: T) -> T {
        match self.string(name) {
            Some(v) => v
                .parse()
                .unwrap_or_else(|_| fail(&format!("--{name}: cannot parse `{v}`"))),
            None => default,
        }
    }

    /// The last value of `--name`, parsed, if given.
    pub fn opt<T: FromStr>(&mut self, name: &str) -> Option<T> {
        self.string(name).map(|v| {
            v.parse()
                .unwrap_or_else(|_| fail(&format!("--{name}: cannot parse `{v}`")))
        })
    }

    /// Fails on any argument that no call above asked for.
    pub fn finish(self, usage: &str) {
        for ((k, v), used) in self.pairs.iter().zip(&self.used) {
            if !used {
                let shown = if k.is_empty() {
                    v.clone().unwrap_or_default()
                } else {
                    format!("--{k}")
                };
                eprintln!("unknown argument {shown}\n{usage}");
                std::process::exit(2);
            }
        }
    }
}

/// Prints `message` and exits with status 2 (bad usage).
pub fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2)
}

/// Parses a size such as `64`, `16k`, `16KiB`, `1m`, `1MiB`.
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: usize = digits.parse().ok()?;
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        _ => return None,
    };
    n.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_values() {
        let mut a = Args::parse(
            ["--impl", "engine", "--threads=1", "--quick", "--core", "0"]
                .map(String::from)
                .to_vec(),
        );
        assert_eq!(a.string("impl").as_deref(), Some("engine"));
        assert_eq!(a.get("threads", 0usize), 1);
        assert!(a.flag("quick"));
        assert_eq!(a.opt::<usize>("core"), Some(0));
        assert_eq!(a.opt::<usize>("missing"), None);
        a.finish("usage");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64"), Some(64));
        assert_eq!(parse_size("16k"), Some(16384));
        assert_eq!(parse_size("4KiB"), Some(4096));
        assert_eq!(parse_size("1MiB"), Some(1 << 20));
        assert_eq!(parse_size("1x"), None);
    }
}
