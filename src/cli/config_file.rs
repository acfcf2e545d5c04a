//! `scan --config FILE`: every `scan` option in a TOML file, under its long name (`inventory`,
//! `out`, `format`, `fail_on`, `baseline`, `waivers`, `concurrency`, ...; dashes or underscores),
//! so a compliance job keeps its settings in one reviewed file. Paths are relative to the file.
//! Options given on the command line win over the file. An unknown key is an error naming the key,
//! the file and its line. The file becomes command-line arguments, so both go through the same
//! checks in the same single step.

use crate::error::InputError;
use clap::parser::ValueSource;
use clap::{ArgAction, CommandFactory};
use std::ffi::{OsStr, OsString};
use std::path::Path;

/// The options whose values are paths (resolved against the config file's folder).
const PATH_KEYS: &[&str] = &[
    "inventory",
    "out",
    "baseline",
    "waivers",
    "ca_file",
    "nova_servers",
    "nova_bdms",
    "nova_db_password_file",
    "nova_db_ca_file",
    "history",
];

fn line_of_key(text: &str, key: &str) -> u64 {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(1, |i| i as u64 + 1)
}

/// A value from the file gets the checks the command line would give it, here, where its line is
/// known: clap's own (a number, one of the possible values) and the tool's, which run inside clap's
/// (`--format` names, `--concurrency` range, seconds, the Nova target port).
fn check_value(arg: &clap::Arg, value: &OsStr) -> Result<(), String> {
    let alone = clap::Command::new("scan")
        .no_binary_name(true)
        .arg(arg.clone().required(false));
    let Err(e) = alone.try_get_matches_from([with_value(arg, value)]) else {
        return Ok(());
    };
    let Some(ours) = super::values::usage_error_in(&e) else {
        return Err(first_line_of(&e));
    };
    let flag = format!("--{}: ", arg.get_long().unwrap_or_default());
    Err(ours.0.strip_prefix(&flag).unwrap_or(&ours.0).to_string())
}

/// `--name=value` as one argument, so a value that starts with a dash (`timeout = -2`) stays a value.
fn with_value(arg: &clap::Arg, value: &OsStr) -> OsString {
    let mut token = OsString::from(format!("--{}=", arg.get_long().unwrap_or_default()));
    token.push(value);
    token
}

/// clap's message on one line: without its `error: ` prefix and its "For more information"
/// footer, with the possible values when it lists them.
fn first_line_of(e: &clap::Error) -> String {
    let text = e.to_string();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_string();
    if let Some(values) = lines
        .map(str::trim)
        .find(|l| l.starts_with("[possible values"))
    {
        message.push(' ');
        message.push_str(values);
    }
    message
}

/// The arguments with the config file's options put in front of those of the command line, for a
/// `scan` that names `--config`; any other arguments come back as they are.
pub fn expand(args: Vec<OsString>) -> anyhow::Result<Vec<OsString>> {
    let matches = match super::Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(&args)
    {
        Ok(m) => m,
        Err(_) => return Ok(args), // clap reports it when the arguments are parsed for real
    };
    let Some(("scan", scan)) = matches.subcommand() else {
        return Ok(args);
    };
    let Some(path) = scan.get_one::<std::path::PathBuf>("config").cloned() else {
        return Ok(args);
    };
    let file = ConfigFile::read(path)?;
    let cmd = super::Cli::command();
    let scan_cmd = cmd
        .find_subcommand("scan")
        .ok_or_else(|| anyhow::anyhow!("internal error: no scan command"))?;
    let tokens = file.tokens(scan_cmd, scan)?;
    Ok(splice(args, tokens))
}

/// `[program, "scan", <the file's options>, <the command line's>]`
fn splice(args: Vec<OsString>, tokens: Vec<OsString>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len() + tokens.len());
    let mut it = args.into_iter();
    out.extend(it.by_ref().take(2));
    out.extend(tokens);
    out.extend(it);
    out
}

/// The options `scan --config` may set: every long option but `--config` and `--help`, by id.
fn settable_options(scan_cmd: &clap::Command) -> Vec<String> {
    scan_cmd
        .get_arguments()
        .filter(|a| a.get_long().is_some() && a.get_id() != "config" && a.get_id() != "help")
        .map(|a| a.get_id().to_string())
        .collect()
}

/// A config file, read and parsed as TOML; errors name its path and line.
struct ConfigFile {
    path: std::path::PathBuf,
    text: String,
    table: toml::Table,
}

impl ConfigFile {
    fn read(path: std::path::PathBuf) -> Result<ConfigFile, InputError> {
        let text = std::fs::read_to_string(&path).map_err(|cause| InputError::Unreadable {
            path: path.clone(),
            cause,
        })?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| InputError::Invalid {
            path: path.clone(),
            line: e.span().map_or(1, |s| {
                1 + text[..s.start.min(text.len())].matches('\n').count() as u64
            }),
            message: e.message().to_string(),
        })?;
        Ok(ConfigFile { path, text, table })
    }

    /// An error about `raw_key`, at the line that sets it.
    fn invalid(&self, raw_key: &str, message: String) -> InputError {
        InputError::Invalid {
            path: self.path.clone(),
            line: line_of_key(&self.text, raw_key),
            message,
        }
    }

    /// The file's options as command-line arguments, in the file's order, leaving out those the
    /// command line gives (the command line wins).
    fn tokens(
        &self,
        scan_cmd: &clap::Command,
        scan: &clap::ArgMatches,
    ) -> Result<Vec<OsString>, InputError> {
        let known = settable_options(scan_cmd);
        let mut tokens: Vec<OsString> = Vec::new();
        for (raw_key, value) in &self.table {
            let key = raw_key.replace('-', "_");
            let Some(arg) = scan_cmd
                .get_arguments()
                .find(|a| a.get_id() == key.as_str() && known.contains(&key))
            else {
                return Err(self.invalid(
                    raw_key,
                    format!("unknown key {raw_key:?} (known: {})", known.join(", ")),
                ));
            };
            if scan.value_source(&key) == Some(ValueSource::CommandLine) {
                continue; // the command line wins
            }
            tokens.extend(self.option_tokens(arg, raw_key, value)?);
        }
        Ok(tokens)
    }

    /// One key's arguments: a flag, one `--name=value` per item of a repeatable option, or one
    /// checked `--name=value` (a `format` list joined with commas).
    fn option_tokens(
        &self,
        arg: &clap::Arg,
        raw_key: &str,
        value: &toml::Value,
    ) -> Result<Vec<OsString>, InputError> {
        let checked = |value: OsString| -> Result<Vec<OsString>, InputError> {
            check_value(arg, &value)
                .map_err(|m| self.invalid(raw_key, format!("{raw_key}: {m}")))?;
            Ok(vec![with_value(arg, &value)])
        };
        match (arg.get_action(), value) {
            (ArgAction::SetTrue, toml::Value::Boolean(true)) => {
                Ok(vec![
                    format!("--{}", arg.get_long().unwrap_or_default()).into()
                ])
            }
            (ArgAction::SetTrue, toml::Value::Boolean(false)) => Ok(Vec::new()),
            (ArgAction::SetTrue, _) => {
                Err(self.invalid(raw_key, format!("{raw_key}: expected true or false")))
            }
            (ArgAction::Append, toml::Value::Array(items)) => items
                .iter()
                .map(|item| Ok(with_value(arg, &self.value_text(arg, raw_key, item)?)))
                .collect(),
            (_, toml::Value::Array(items)) if arg.get_id() == "format" => {
                let parts = items
                    .iter()
                    .map(|i| {
                        self.value_text(arg, raw_key, i)
                            .map(|s| s.to_string_lossy().into_owned())
                    })
                    .collect::<Result<Vec<String>, InputError>>()?;
                checked(OsString::from(parts.join(",")))
            }
            (_, v) => checked(self.value_text(arg, raw_key, v)?),
        }
    }

    /// A text or a number as the argument's text; a path is resolved against the file's folder.
    fn value_text(
        &self,
        arg: &clap::Arg,
        raw_key: &str,
        v: &toml::Value,
    ) -> Result<OsString, InputError> {
        let s = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            other => {
                return Err(self.invalid(
                    raw_key,
                    format!(
                        "{raw_key}: expected text or a number, got {}",
                        other.type_str()
                    ),
                ))
            }
        };
        Ok(if PATH_KEYS.contains(&arg.get_id().as_str()) {
            let base = self.path.parent().unwrap_or(Path::new(""));
            base.join(s).into_os_string()
        } else {
            s.into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_gets_the_checks_of_the_command_line() {
        let cmd = super::super::Cli::command();
        let scan = cmd.find_subcommand("scan").unwrap();
        let arg = |id: &str| scan.get_arguments().find(|a| a.get_id() == id).unwrap();
        for (id, value, want) in [
            ("concurrency", "4", Ok(())),
            ("concurrency", "four", Err("invalid value 'four'")),
            ("concurrency", "0", Err("must be between 1 and 1024, got 0")),
            ("format", "csv,json", Ok(())),
            ("format", "xml", Err("unknown format \"xml\"")),
            ("fail_on", "review", Ok(())),
            (
                "fail_on",
                "x",
                Err("[possible values: blocked, review, never]"),
            ),
            ("timeout", "-2", Err("--timeout must be a positive number")),
            ("host_deadline", "60", Ok(())),
            ("connect_timeout", "2.5", Ok(())),
            (
                "connect_timeout",
                "0",
                Err("--connect-timeout must be a positive number"),
            ),
            (
                "nova_target_port",
                "0",
                Err("--nova-target-port must be a port"),
            ),
            ("inventory", "-fleet.csv", Ok(())),
        ] {
            let got = check_value(arg(id), OsStr::new(value));
            match want {
                Ok(()) => assert_eq!(got, Ok(()), "{id} = {value}"),
                Err(text) => {
                    let message = got.expect_err(id);
                    assert!(message.contains(text), "{id} = {value}: {message}");
                    assert!(!message.contains('\n'), "one line: {message}");
                    assert!(!message.starts_with("--format:"), "{message}");
                }
            }
        }
    }
}
