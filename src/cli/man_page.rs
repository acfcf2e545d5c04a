//! `xen-sr-audit man`: one manual page for the whole tool. clap_mangen's page for a command with
//! subcommands lists them as `xen-sr-audit-scan(1)` and so on, pages nobody can generate; this
//! page instead gives every subcommand its own part (what it does, its synopsis and every option)
//! under COMMANDS, between the tool's own options and its examples and exit codes.

use clap_mangen::Man;
use std::io::Write;

/// Render the page for `cmd` (the whole command line) into `out`.
pub fn render(mut cmd: clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    cmd.build(); // gives each subcommand its full name ("xen-sr-audit scan") for its synopsis
    let man = Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    writeln!(out, ".SH COMMANDS")?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_subcommand(sub, out)?;
    }
    man.render_extra_section(out)?;
    man.render_version_section(out)
}

/// One subcommand as a subsection: its description, synopsis and options, without the section
/// headings clap_mangen gives them on a page of their own.
fn render_subcommand(sub: &clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    let name = sub.get_bin_name().unwrap_or_else(|| sub.get_name());
    writeln!(out, ".SS \"{}\"", name.replace('-', "\\-"))?;
    let man = Man::new(sub.clone());
    let mut body = Vec::new();
    man.render_description_section(&mut body)?;
    man.render_synopsis_section(&mut body)?;
    if sub.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut body)?;
    }
    let body = String::from_utf8_lossy(&body);
    for line in body.lines() {
        if line.starts_with(".SH ") {
            writeln!(out, ".PP")?;
        } else {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}
