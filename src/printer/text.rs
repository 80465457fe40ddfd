//! Text as a Chinese-market receipt printer sees it: which characters it can print, how many columns each
//! takes, and how a line is wrapped or padded to the paper width.
//!
//! Printers carry a resident GB18030 font for the two-byte area only, so text is limited to what GBK (the
//! two-byte part of GB18030) can encode: ASCII takes one column, every other printable character two, and
//! the width of a string is exactly its GBK byte length. Anything else is replaced *before* it reaches the
//! printer. This is not the ESC/POS command set (`escpos.rs`) and knows nothing about receipts.

use encoding_rs::GBK;

/// What is printed in place of a character the printer has no glyph for.
pub const REPLACEMENT: char = '?';

/// The same text with every character made printable: `¥` (which GBK cannot encode) becomes the full-width
/// `￥`, control characters become spaces, anything outside GBK's two-byte area becomes [`REPLACEMENT`].
pub fn printable(text: &str) -> String {
    text.chars().map(printable_char).collect()
}

fn printable_char(c: char) -> char {
    match c {
        ' '..='~' => c,
        // U+00A5 needs four bytes in GB18030; U+FFE5 is the two-byte full-width yuan sign every font has.
        '¥' => '￥',
        c if c.is_control() => ' ',
        c => {
            let mut utf8 = [0u8; 4];
            let (bytes, _, unmappable) = GBK.encode(c.encode_utf8(&mut utf8));
            // GBK writes € as the single byte 0x80, which a printer in Chinese mode reads as a lead byte.
            if unmappable || bytes.len() != 2 {
                REPLACEMENT
            } else {
                c
            }
        }
    }
}

/// GBK bytes of [`printable`] text: what goes to the printer.
pub fn encode(text: &str) -> Vec<u8> {
    let text = printable(text);
    let (bytes, _, unmappable) = GBK.encode(&text);
    debug_assert!(!unmappable, "printable() leaves only GBK characters");
    bytes.into_owned()
}

/// Columns one character takes on the printer (Font A): 1 for ASCII, 2 for everything else.
pub fn char_width(c: char) -> usize {
    if printable_char(c).is_ascii() { 1 } else { 2 }
}

/// Columns a string takes on the printer.
pub fn width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// Split text into printable lines of at most `columns` columns. A two-column character is never split;
/// an ASCII word (an order number, a brand name, "250ml") moves to the next line whole when it fits there,
/// Chinese text breaks between any two characters except that closing punctuation (`）`, `，`, `。` …)
/// never starts a line and an opening bracket never ends one. Explicit newlines are kept. Always at
/// least one line.
pub fn wrap(text: &str, columns: usize) -> Vec<String> {
    let columns = columns.max(2);
    let mut lines = Vec::new();
    for paragraph in printable_lines(text) {
        let mut current = String::new();
        let mut used = 0;
        for c in paragraph.chars() {
            let w = char_width(c);
            if used + w > columns {
                let moved = current.split_off(break_at(&current, c, columns));
                lines.push(current.trim_end().to_string());
                current = moved;
                used = width(&current);
                if c == ' ' && current.is_empty() {
                    continue;
                }
            }
            current.push(c);
            used += w;
        }
        lines.push(current.trim_end().to_string());
    }
    lines
}

/// Closing punctuation that must not start a line (ASCII is handled as part of a word).
const NO_LINE_START: &str = "）】》」』〉，。、；：！？…％";
/// Opening brackets that must not end a line.
const NO_LINE_END: &str = "（【《「『〈“‘";

/// Where to break a full `line` before `next`: the byte index from which the line's tail moves down with
/// `next` (the line's length when nothing moves).
fn break_at(line: &str, next: char, columns: usize) -> usize {
    let mut at = line.len();
    if next.is_ascii_graphic() {
        // The ASCII word `next` continues moves down whole, if something stays behind.
        let start = line
            .char_indices()
            .rev()
            .find(|&(_, c)| !c.is_ascii_graphic())
            .map_or(0, |(i, c)| i + c.len_utf8());
        if start > 0 {
            at = start;
        }
    } else if NO_LINE_START.contains(next)
        && let Some((i, _)) = line.char_indices().last()
        && i > 0
    {
        at = i;
    }
    while let Some((i, c)) = line[..at].char_indices().last()
        && i > 0
        && NO_LINE_END.contains(c)
    {
        at = i;
    }
    // Never move more than fits on the next line.
    if width(&line[at..]) + char_width(next) > columns {
        line.len()
    } else {
        at
    }
}

fn printable_lines(text: &str) -> Vec<String> {
    text.split('\n')
        .map(|l| printable(l.trim_end_matches('\r')))
        .collect()
}

/// `text` followed by spaces up to `columns` (unchanged when it is already wider).
pub fn pad_right(text: &str, columns: usize) -> String {
    let text = printable(text);
    let fill = columns.saturating_sub(width(&text));
    format!("{text}{}", " ".repeat(fill))
}

/// Spaces then `text`, right-aligned in `columns` (unchanged when it is already wider).
pub fn pad_left(text: &str, columns: usize) -> String {
    let text = printable(text);
    let fill = columns.saturating_sub(width(&text));
    format!("{}{text}", " ".repeat(fill))
}

/// `left` at the left edge and `right` at the right edge of one line. When both do not fit (with at least
/// one space between), `left` is wrapped and `right` goes right-aligned on a line of its own below it.
pub fn spread(left: &str, right: &str, columns: usize) -> Vec<String> {
    let (lw, rw) = (width(left), width(right));
    if lw + 1 + rw <= columns {
        return vec![format!(
            "{}{}",
            pad_right(left, columns - rw),
            printable(right)
        )];
    }
    let mut lines = wrap(left, columns);
    lines.extend(wrap(right, columns).iter().map(|l| pad_left(l, columns)));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_is_gbk_byte_length() {
        for s in [
            "Coke",
            "可乐",
            "可乐 Cola 330ml",
            "￥12.50",
            "沙箱 — 非真实交易",
            "（大杯）",
        ] {
            assert_eq!(width(s), encode(s).len(), "{s}");
        }
        assert_eq!(width("可乐x2"), 6);
        assert_eq!(width("沙箱 — 非真实交易"), 18);
    }

    #[test]
    fn unprintable_characters_are_replaced_before_printing() {
        assert_eq!(printable("¥12.50"), "￥12.50");
        assert_eq!(encode("¥1"), vec![0xA3, 0xA4, b'1']);
        // Emoji and € (one byte 0x80 in GBK) would confuse a printer in two-byte mode.
        assert_eq!(printable("奶茶🧋€"), "奶茶??");
        assert_eq!(printable("a\tb"), "a b");
        assert_eq!(width("🧋"), 1);
        // The em dash of the sandbox line is a two-byte GBK character.
        assert_eq!(encode("—"), vec![0xA1, 0xAA]);
    }

    #[test]
    fn wraps_chinese_without_splitting_a_character() {
        // 11 hanzi = 22 columns into 9 columns: 4 + 4 + 3 hanzi, never half of one.
        let lines = wrap("特级西湖龙井明前新茶礼", 9);
        assert_eq!(lines, ["特级西湖", "龙井明前", "新茶礼"]);
        assert!(lines.iter().all(|l| width(l) <= 9));
        // A two-column character that would end in the last column moves down.
        assert_eq!(wrap("a可乐", 4), ["a可", "乐"]);
    }

    #[test]
    fn wraps_ascii_words_whole_and_keeps_newlines() {
        assert_eq!(
            wrap("Nongfu Spring water 550ml", 12),
            ["Nongfu", "Spring water", "550ml"]
        );
        // A word longer than a line is cut.
        assert_eq!(wrap("ABCDEFGHIJ", 4), ["ABCD", "EFGH", "IJ"]);
        assert_eq!(wrap("一\n二", 32), ["一", "二"]);
        assert_eq!(wrap("", 32), [""]);
        // Mixed: hanzi then an ASCII word that does not fit, with or without a space before it.
        assert_eq!(wrap("可口可乐 Zero", 10), ["可口可乐", "Zero"]);
        assert_eq!(wrap("可口可乐Zero", 10), ["可口可乐", "Zero"]);
    }

    #[test]
    fn wraps_chinese_punctuation_with_its_neighbour() {
        // "）" may not start a line: "克" goes down with it.
        assert_eq!(wrap("茶叶礼盒装（250克）", 17), ["茶叶礼盒装（250", "克）"]);
        // "250" stays whole, and "（" may not end a line.
        assert_eq!(
            wrap("特级明前西湖龙井茶叶礼盒装（250克）", 30),
            ["特级明前西湖龙井茶叶礼盒装", "（250克）"]
        );
        assert_eq!(wrap("你好，世界。", 4), ["你", "好，", "世", "界。"]);
    }

    #[test]
    fn pads_and_spreads_by_columns_not_chars() {
        assert_eq!(pad_left("可乐", 6), "  可乐");
        assert_eq!(pad_right("可乐", 6), "可乐  ");
        let line = &spread("合计", "￥12.50", 32)[0];
        assert_eq!(width(line), 32);
        assert!(line.starts_with("合计 ") && line.ends_with("￥12.50"));
        let long = spread("微信支付单号", "4200001234202611281234567890", 32);
        assert_eq!(long, ["微信支付单号", "    4200001234202611281234567890"]);
    }
}
