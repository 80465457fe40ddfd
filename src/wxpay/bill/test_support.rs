//! What the bill's tests share: the reference's sample bill. Tests only; no test lives here.

use super::{ALL_COLUMNS, SUMMARY_COLUMNS};

/// The reference's real sample line (§8), with its elided fields filled in, and a refund row in the
/// same shape; the summary is theirs.
pub(super) fn sample() -> String {
    let header = ALL_COLUMNS.join(",");
    let pay = "`2022-03-21 13:51:31,`wxfdc955f7104ad557,`180023671,`176531292,`,`420000612032130748613220688,`T20220321135100A,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`SUCCESS,`OTHERS,`CNY,`0.01,`0.00,`0,`0,`0.00,`0.00,`,`,`微信云托管支付测试,`,`0.00000,`0.90%,`0.01,`0.00,`";
    let refund = "`2022-03-21 14:00:02,`wxfdc955f7104ad557,`180023671,`176531292,`,`420000612032130748613220688,`T20220321135100A,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50300501062022032118960312345,`R20220321A,`0.01,`0.00,`ORIGINAL,`SUCCESS,`微信云托管支付测试,`,`0.00000,`0.90%,`0.00,`0.01,`";
    let summary_header = SUMMARY_COLUMNS.join(",");
    format!(
        "{header}\r\n{pay}\r\n{refund}\r\n{summary_header}\r\n`2,`0.01,`0.01,`0.00,`0.00000,`0.01,`0.01\r\n"
    )
}
