//! Protocol hot paths: sign + encode one unifiedorder request; decode + verify one response.
//! Run: `cargo bench --bench protocol`.

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use paydesk::money::Fen;
use paydesk::wxpay::api::check_response;
use paydesk::wxpay::{ApiKey, Merchant, SignType, UnifiedOrder, xml};
use std::hint::black_box;

const S3: &str = "<xml>\n<return_code><![CDATA[SUCCESS]]></return_code>\n<return_msg><![CDATA[OK]]></return_msg>\n<appid><![CDATA[wxd930ea5d5a258f4f]]></appid>\n<mch_id><![CDATA[10000100]]></mch_id>\n<device_info><![CDATA[POS-001]]></device_info>\n<nonce_str><![CDATA[IITRi8Iabbblz1Jc]]></nonce_str>\n<result_code><![CDATA[SUCCESS]]></result_code>\n<trade_type><![CDATA[NATIVE]]></trade_type>\n<prepay_id><![CDATA[wx20240520123001a1b2c3d4e5f60708090]]></prepay_id>\n<code_url><![CDATA[weixin://wxpay/bizpayurl?pr=NwY5Mz9]]></code_url>\n<sign><![CDATA[D60F0BFE8778AD3DDB864700D30CC62F]]></sign>\n</xml>";

fn merchant(sign_type: SignType) -> Merchant {
    Merchant {
        appid: "wxd930ea5d5a258f4f".into(),
        mch_id: "10000100".into(),
        key: ApiKey::new("192006250b4c09247ec02edce69f6a2d"),
        sign_type,
    }
}

fn bench(c: &mut Criterion) {
    let now = Utc::now();
    let order = UnifiedOrder {
        out_trade_no: "20240520123000POS001A".into(),
        body: "小张南山店-超市".into(),
        total_fee: Fen::new(1288).unwrap(),
        spbill_create_ip: "123.12.12.123".into(),
        notify_url: "https://pay.example.com/wxpay/notify".into(),
        product_id: "SKU-0001".into(),
        device_info: Some("POS-001".into()),
        time_start: now,
        time_expire: now + chrono::Duration::minutes(10),
    };
    for st in [SignType::Md5, SignType::HmacSha256] {
        let m = merchant(st);
        c.bench_function(&format!("unifiedorder sign+encode {st}"), |b| {
            b.iter(|| xml::encode(&m.sign(order.params(black_box(&m)))).unwrap())
        });
    }
    let m = merchant(SignType::Md5);
    c.bench_function("response decode+verify MD5", |b| {
        b.iter(|| check_response(xml::decode(black_box(S3.as_bytes())).unwrap(), &m).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
