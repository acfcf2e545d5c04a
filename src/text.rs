//! Text shown to people: names from XAPI and Nova made safe to print on a terminal (`printable`),
//! and counts worded with their plural (`plural`, `count`) and their verb (`verb_s`). One small module so that scan, cli, report and
//! trend word things the same way and none of them has to import another stage for a helper.

/// Names from XAPI shown on a terminal: control characters (escape sequences, line breaks), the
/// Unicode line and paragraph separators and bidi controls are replaced.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}') {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// Unicode's explicit bidirectional formatting characters (embeddings, overrides, isolates, and the
/// marks): on a terminal they can make a host name read as something else ("Trojan Source"). Public
/// for the escapers of text formats (Markdown), which drop them as they drop control characters.
pub fn is_bidi_control(c: char) -> bool {
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

/// `1 host`, `2 hosts`: a count with its noun, plural by `s`.
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", plural(n))
}

/// `1 entry`, `2 entries`: a count with a noun whose plural is not made by `s`.
pub fn count_as(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// The `s` a present-tense verb takes after a count: "1 needs", "2 need".
pub fn verb_s(n: usize) -> &'static str {
    if n == 1 {
        "s"
    } else {
        ""
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
            ("line\u{2028}sep\r\u{85}x", "line?sep??x"),
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

    #[test]
    fn counts_agree_with_their_noun_and_verb() {
        for (n, noun, counted, verb) in [
            (0, "run", "0 runs", "0 runs need"),
            (1, "run", "1 run", "1 run needs"),
            (2, "action", "2 actions", "2 actions need"),
            (
                1,
                "Nova instance",
                "1 Nova instance",
                "1 Nova instance needs",
            ),
        ] {
            assert_eq!(count(n, noun), counted);
            assert_eq!(format!("{} need{}", count(n, noun), verb_s(n)), verb);
        }
        for (n, counted) in [(0, "0 entries"), (1, "1 entry"), (7, "7 entries")] {
            assert_eq!(count_as(n, "entry", "entries"), counted);
        }
    }
}
