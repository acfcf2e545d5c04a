//! Text shown to people: names from XAPI and Nova made safe to print on a terminal (`printable`),
//! and counts worded with their plural (`plural`). One small module so that scan, cli, report and
//! trend word things the same way and none of them has to import another stage for a helper.

/// Names from XAPI shown on a terminal: control characters (escape sequences) and bidi controls are
/// replaced.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || is_bidi_control(c) {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// Unicode's explicit bidirectional formatting characters (embeddings, overrides, isolates, and the
/// marks): on a terminal they can make a host name read as something else ("Trojan Source").
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` for a count other than one.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_neutralises_controls_and_bidi_overrides() {
        for (name, shown) in [
            ("xs01", "xs01"),
            ("pool\neast", "pool?east"),
            ("\u{1b}[31mred", "?[31mred"),
            // RIGHT-TO-LEFT OVERRIDE: "xs01\u{202E}10sx" would print as "xs01xs01".
            ("xs01\u{202E}10sx", "xs01?10sx"),
            ("a\u{2066}b\u{2069}c", "a?b?c"),
            ("a\u{200F}b", "a?b"),
            ("Zürich-xs01", "Zürich-xs01"),
        ] {
            assert_eq!(printable(name), shown, "{name:?}");
        }
    }

    #[test]
    fn plural_is_empty_for_one_only() {
        for (n, suffix) in [(0, "s"), (1, ""), (2, "s"), (1000, "s")] {
            assert_eq!(plural(n), suffix, "{n}");
        }
    }
}
