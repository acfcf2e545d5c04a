//! Nova-exact: the tool's reading of Nova's data held against Nova's own code. The tables below
//! are data taken by running Nova's functions at tag `mitaka-eol` (nova/virt/xenapi/volume_utils.py:
//! `parse_sr_info`, `_parse_volume_info`, `_get_target_host`, `_get_target_port`,
//! `_mountpoint_to_number`; nova/virt/xenapi/volumeops.py: `_check_is_supported_driver_type`),
//! extracted unchanged into a throwaway harness outside this repository and run with python3, with
//! Python 2.7 emulated where Python 3 differs: a JSON float prints as Python 2's `str()` (`'%.12g'`,
//! `.0` added when it looks like an integer: `str(0.1 + 0.2) == '0.3'`, `str(1e16) == '1e+16'`),
//! `string.atoi(s, 10)` is `int(s, 10)`, `uuid.uuid5` gets the UTF-8 text Nova's Python 2 code
//! encodes, and after `parse_sr_info` the uuid goes through `xmlrpclib`'s marshalling as
//! `find_sr_by_uuid` sends it (`None` cannot be marshalled). Then two property tests compare the tool
//! with a second implementation written here from Nova's code, independently of `src/`.

use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use uuid::Uuid;
use xen_sr_audit::audit::{DiskRef, NovaView, Verdict};
use xen_sr_audit::classify::{
    mountpoint_to_number, parse_sr_info, py2_float_text, volume_id_of, NovaTargetConf,
};
use xen_sr_audit::model::{FastSet, NovaBdm};
use xen_sr_audit::nova::parse_connection_info;

/// (connection_info as stored, destinations' target_host, target_port, what Nova's code returns:
/// the SR uuid text, or `raise <exception>`). Nova at mitaka-eol, run as described above.
const NOVA_CONNECT: &[(&str, Option<&str>, &str, &str)] = &[
    // computed, the check value
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "9ade368b-674f-59c2-b177-48cc5c7b2ac7"),
    // xensm connects like iscsi
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"xensm\"}", None, "3260", "9ade368b-674f-59c2-b177-48cc5c7b2ac7"),
    // another driver: VolumeDriverNotFound
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"rbd\"}", None, "3260", "raise VolumeDriverNotFound"),
    // driver in upper case
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"ISCSI\"}", None, "3260", "raise VolumeDriverNotFound"),
    // no driver_volume_type
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"}}", None, "3260", "raise KeyError"),
    // no data
    ("{\"driver_volume_type\": \"iscsi\"}", None, "3260", "raise KeyError"),
    // data null
    ("{\"driver_volume_type\": \"iscsi\", \"data\": null}", None, "3260", "raise TypeError"),
    // data a string
    ("{\"driver_volume_type\": \"iscsi\", \"data\": \"sr_uuid\"}", None, "3260", "raise TypeError"),
    // no volume_id
    ("{\"data\":{\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise KeyError"),
    // volume_id null
    ("{\"data\":{\"volume_id\":null,\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise StorageError"),
    // volume_id a number
    ("{\"data\":{\"volume_id\":7,\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "9ade368b-674f-59c2-b177-48cc5c7b2ac7"),
    // no target_portal
    ("{\"data\":{\"volume_id\":\"v1\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise KeyError"),
    // no target_iqn
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise KeyError"),
    // target_iqn null
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":null},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise StorageError"),
    // portal null, target_host set
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":null,\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", Some("10.9.9.9"), "3261", "b4a0bd4c-1c40-5a50-b80d-628550775a9a"),
    // portal null, no target_host
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":null,\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise StorageError"),
    // portal without port takes target_port
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", None, "3261", "2f850fa9-c17c-5901-93ea-82ac24723d85"),
    // portal ':3260' takes target_host
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\":3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", Some("10.9.9.9"), "3261", "cad03d0e-dae0-5be6-920c-17fd409d9935"),
    // portal '' takes both options
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", Some("10.9.9.9"), "3261", "b4a0bd4c-1c40-5a50-b80d-628550775a9a"),
    // IPv6 portal splits at the first colon
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"[fd00::5]:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "748fb413-9ae1-5ff7-b7be-797aeb6fc6c7"),
    // portal with two colons
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"h:3261:x\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "375e4f8e-085c-55c1-9ff4-68e3527c0f97"),
    // portal a number: AttributeError
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":3260,\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise AttributeError"),
    // portal 0 is falsy: target_host
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":0,\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", Some("10.9.9.9"), "3260", "cad03d0e-dae0-5be6-920c-17fd409d9935"),
    // portal 0, no target_host
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":0,\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise StorageError"),
    // portal true: AttributeError
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":true,\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", Some("10.9.9.9"), "3260", "raise AttributeError"),
    // portal false is falsy
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":false,\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", Some("10.9.9.9"), "3260", "cad03d0e-dae0-5be6-920c-17fd409d9935"),
    // portal a list: AttributeError
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":[\"10.0.0.1:3260\"],\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise AttributeError"),
    // portal an empty list is falsy
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":[],\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", Some("10.9.9.9"), "3260", "cad03d0e-dae0-5be6-920c-17fd409d9935"),
    // portal an object: AttributeError
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":{\"h\":1},\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise AttributeError"),
    // CHAP with both fields
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\",\"auth_method\":\"CHAP\",\"auth_username\":\"u\",\"auth_password\":\"p\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "9ade368b-674f-59c2-b177-48cc5c7b2ac7"),
    // CHAP without auth_password: KeyError
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\",\"auth_method\":\"CHAP\",\"auth_username\":\"u\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise KeyError"),
    // CHAP without auth_username: KeyError
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\",\"auth_method\":\"CHAP\",\"auth_password\":\"p\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise KeyError"),
    // CHAP with null fields is present
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\",\"auth_method\":\"CHAP\",\"auth_username\":null,\"auth_password\":null},\"driver_volume_type\":\"iscsi\"}", None, "3260", "9ade368b-674f-59c2-b177-48cc5c7b2ac7"),
    // auth_method 'chap' is not 'CHAP'
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\",\"auth_method\":\"chap\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "9ade368b-674f-59c2-b177-48cc5c7b2ac7"),
    // auth_method null
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\",\"auth_method\":null},\"driver_volume_type\":\"iscsi\"}", None, "3260", "9ade368b-674f-59c2-b177-48cc5c7b2ac7"),
    // float IQN: Python 2 str, 12 digits
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":0.30000000000000004},\"driver_volume_type\":\"iscsi\"}", None, "3260", "f376c3a5-d8e7-5628-b58e-2c8ec33f9df6"),
    // float IQN 1e16
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":1e+16},\"driver_volume_type\":\"iscsi\"}", None, "3260", "6c51ae8e-356a-5718-b6bb-5557606f975c"),
    // float IQN 100.0
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":100.0},\"driver_volume_type\":\"iscsi\"}", None, "3260", "08e1153d-46d6-547f-b2fc-921818d7bb5b"),
    // float IQN 1.5e-07
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":1.5e-07},\"driver_volume_type\":\"iscsi\"}", None, "3260", "ca5ff68c-ee39-5356-8129-cc7572771de2"),
    // float IQN 123456789012.5
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":123456789012.5},\"driver_volume_type\":\"iscsi\"}", None, "3260", "91103a7c-265a-56f7-af04-fb64be1b71d1"),
    // float IQN -0.0
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":-0.0},\"driver_volume_type\":\"iscsi\"}", None, "3260", "052d291f-68ae-5c33-b40b-e77cf32e934b"),
    // integer IQN
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":12345},\"driver_volume_type\":\"iscsi\"}", None, "3260", "c34f856e-35c4-5145-b99b-87f4f55a1a32"),
    // boolean IQN
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":true},\"driver_volume_type\":\"iscsi\"}", None, "3260", "c0c15340-62cb-5cb0-866d-acbfd9643746"),
    // non-ASCII IQN is UTF-8
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:vol-\\u00e9\\u20ac\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "39ac67d3-5a56-5e1d-af86-437a8d8b7043"),
    // sr_uuid provided
    ("{\"data\":{\"sr_uuid\":\"1a80baf0-5484-5b45-b110-aad2f8ee65a2\",\"volume_id\":\"v\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "1a80baf0-5484-5b45-b110-aad2f8ee65a2"),
    // sr_uuid provided beats a portal
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\",\"sr_uuid\":\"abc\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "abc"),
    // sr_uuid upper case stays as given
    ("{\"data\":{\"sr_uuid\":\"1A80BAF0-5484-5B45-B110-AAD2F8EE65A2\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "1A80BAF0-5484-5B45-B110-AAD2F8EE65A2"),
    // sr_uuid null: xmlrpc cannot marshal None
    ("{\"data\":{\"sr_uuid\":null},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise TypeError"),
    // sr_uuid an integer, a float, a boolean (regression non_string_sr_uuid_is_unusable): parse_sr_info
    // returns it raw, SR.get_by_uuid gets an XML-RPC int/double/boolean, and migrate_data.sr_uuid_map
    // is a DictOfStringsField: oslo.versionedobjects 1.x Dict.coerce raises KeyTypeError on a key that
    // is not six.string_types (vmops.connect_block_device_volumes, pre_live_migration, mitaka-eol).
    ("{\"data\":{\"sr_uuid\":42},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise KeyTypeError"),
    ("{\"data\":{\"sr_uuid\":0.30000000000000004},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise KeyTypeError"),
    ("{\"data\":{\"sr_uuid\":true},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise KeyTypeError"),
    // introduce_sr_keys present
    ("{\"data\":{\"sr_uuid\":\"u1\",\"sr_type\":\"iscsi\",\"introduce_sr_keys\":[\"sr_type\"]},\"driver_volume_type\":\"iscsi\"}", None, "3260", "u1"),
    // introduce_sr_keys names a missing key
    ("{\"data\":{\"sr_uuid\":\"u1\",\"introduce_sr_keys\":[\"sr_type\"]},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise KeyError"),
    // introduce_sr_keys names a key that is null
    ("{\"data\":{\"sr_uuid\":\"u1\",\"sr_type\":null,\"introduce_sr_keys\":[\"sr_type\"]},\"driver_volume_type\":\"iscsi\"}", None, "3260", "u1"),
    // introduce_sr_keys a string: its characters
    ("{\"data\":{\"sr_uuid\":\"u1\",\"a\":1,\"b\":2,\"introduce_sr_keys\":\"ab\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "u1"),
    // introduce_sr_keys a string, a character missing
    ("{\"data\":{\"sr_uuid\":\"u1\",\"a\":1,\"introduce_sr_keys\":\"ab\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise KeyError"),
    // introduce_sr_keys an object: its keys
    ("{\"data\":{\"sr_uuid\":\"u1\",\"k\":1,\"introduce_sr_keys\":{\"k\":0}},\"driver_volume_type\":\"iscsi\"}", None, "3260", "u1"),
    // introduce_sr_keys null: TypeError
    ("{\"data\":{\"sr_uuid\":\"u1\",\"introduce_sr_keys\":null},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise TypeError"),
    // introduce_sr_keys a number: TypeError
    ("{\"data\":{\"sr_uuid\":\"u1\",\"introduce_sr_keys\":5},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise TypeError"),
    // introduce_sr_keys holds a number: KeyError
    ("{\"data\":{\"sr_uuid\":\"u1\",\"introduce_sr_keys\":[5]},\"driver_volume_type\":\"iscsi\"}", None, "3260", "raise KeyError"),
    // introduce_sr_keys without sr_uuid is ignored
    ("{\"data\":{\"volume_id\":\"v1\",\"target_portal\":\"10.0.0.1:3260\",\"target_iqn\":\"iqn.2010-10.org.openstack:volume-00000001\",\"introduce_sr_keys\":[\"nope\"]},\"driver_volume_type\":\"iscsi\"}", None, "3260", "9ade368b-674f-59c2-b177-48cc5c7b2ac7"),
    // CHAP password missing does not matter with sr_uuid
    ("{\"data\":{\"sr_uuid\":\"u1\",\"auth_method\":\"CHAP\"},\"driver_volume_type\":\"iscsi\"}", None, "3260", "u1"),
];

/// (device_name, the disk number the tool pairs it with, what Nova's `_mountpoint_to_number` at
/// mitaka-eol returned for it under python3: a negative number is Nova's "cannot be translated").
const NOVA_MOUNTPOINT: &[(&str, Option<u64>, i128)] = &[
    ("/dev/sda", Some(0), 0),
    ("/dev/sdb", Some(1), 1),
    ("sdp", Some(15), 15),
    ("sdq", None, -1),
    ("/dev/hdc", Some(2), 2),
    ("/dev/xvdb", Some(1), 1),
    ("xvdd", Some(3), 3),
    ("/dev/vdc", Some(2), 2),
    ("vda", Some(0), 0),
    ("3", Some(3), 3),
    ("/dev/12", Some(12), 12),
    ("007", Some(7), 7),
    ("sdb\n", Some(1), 1),
    ("hdc\n", Some(2), 2),
    ("xvdb\n", None, -87),
    ("vdb\n", None, -87),
    ("12\n", Some(12), 12),
    ("sdb ", None, -1),
    ("xvdb ", None, -1),
    (" sdb", None, -1),
    ("sdb\n\n", None, -1),
    ("/dev/sdaa", None, -1),
    ("/dev/nvme0n1", None, -1),
    ("/dev/xvdB", None, -1),
    ("SDB", None, -1),
    ("dev/sdb", None, -1),
    ("/dev//dev/sdb", None, -1),
    ("/dev/", None, -1),
    ("", None, -1),
    ("xvd", None, -1),
    ("sd", None, -1),
    ("99999999999999999999", None, 99999999999999999999),
    ("1\n", Some(1), 1),
    ("/dev/xvda\n", None, -87),
    ("\u{0661}", None, -1),
];

/// (a float, Python 2.7's `str()` of it): python3's `'%.12g' % x` plus the `.0` rule of Python 2's
/// `float_str` (`PyOS_double_to_string(x, 'g', 12, Py_DTSF_ADD_DOT_0)`).
const PY2_STR_OF_FLOAT: &[(f64, &str)] = &[
    (0.30000000000000004, "0.3"),
    (1e+16, "1e+16"),
    (100.0, "100.0"),
    (1.5e-07, "1.5e-07"),
    (123456789012.5, "123456789012.0"),
    (1234567890123.0, "1.23456789012e+12"),
    (999999999999.5, "1e+12"),
    (-0.0, "-0.0"),
    (0.0, "0.0"),
    (1e-05, "1e-05"),
    (0.0001, "0.0001"),
    (2.5, "2.5"),
    (0.3333333333333333, "0.333333333333"),
    (1e+300, "1e+300"),
    (-7.25e-12, "-7.25e-12"),
    (5e-324, "4.94065645841e-324"),
    (123456.789, "123456.789"),
];

fn conf(target_host: Option<&str>, target_port: &str) -> NovaTargetConf {
    NovaTargetConf {
        target_port: target_port.to_string(),
        target_host: target_host.map(str::to_string),
    }
}

/// The tool's answer for one stored connection_info: the uuid, or `Err` with its reason.
fn tool_connect(text: &str, conf: &NovaTargetConf) -> Result<String, String> {
    let stored = parse_connection_info(Some(Value::String(text.to_string()))).expect("valid JSON");
    let conn = stored.object().expect("an object");
    parse_sr_info(conn, conf).map(|i| i.uuid)
}

#[test]
fn parse_sr_info_agrees_with_novas_code_on_every_row() {
    for (text, host, port, nova) in NOVA_CONNECT {
        let got = tool_connect(text, &conf(*host, port));
        match nova.strip_prefix("raise ") {
            Some(exception) => assert!(
                got.is_err(),
                "Nova raises {exception} on {text}, the tool says {got:?}"
            ),
            None => assert_eq!(got.as_deref(), Ok(*nova), "{text}"),
        }
    }
}

#[test]
fn mountpoint_to_number_agrees_with_novas_code() {
    for (name, want, nova) in NOVA_MOUNTPOINT {
        assert_eq!(mountpoint_to_number(name), *want, "{name:?} (Nova: {nova})");
        assert_eq!(want.is_none(), *nova < 0 || *nova > i128::from(u64::MAX));
    }
}

#[test]
fn float_text_is_python_2_str() {
    for (x, py2) in PY2_STR_OF_FLOAT {
        assert_eq!(py2_float_text(*x), *py2, "{x:?}");
    }
}

#[test]
fn a_chap_secret_is_only_present_after_reading() {
    let text = r#"{"driver_volume_type":"iscsi","data":{"volume_id":"v","target_portal":"h:1","target_iqn":"i","auth_method":"CHAP","auth_username":"u","auth_password":"chap-TOPSECRET-1"}}"#;
    let conn = parse_connection_info(Some(Value::String(text.into()))).unwrap();
    assert!(!format!("{conn:?}").contains("TOPSECRET"));
    assert!(tool_connect(text, &NovaTargetConf::default()).is_ok());
}

// ---------------------------------------------------------------------------------------------
// A second implementation, written from Nova's code over serde_json values (Python's view of the
// JSON), sharing nothing with src/ but the uuid crate's uuid5.

/// Python 2's `"%s" % v` of a JSON value, where the tool agrees to compute one.
fn py_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(true) => Some("True".into()),
        Value::Bool(false) => Some("False".into()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Value::Number(n) => Some(percent_12g(n.as_f64()?)),
        _ => None,
    }
}

/// `'%.12g'` with Python 2's `.0`, from the digits of a 12-digit scientific rendering.
fn percent_12g(x: f64) -> String {
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let sci = format!("{:.11e}", x.abs());
    let (digits, exp) = sci.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    let digits: String = digits.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let sign = if x < 0.0 { "-" } else { "" };
    if !(-4..12).contains(&exp) {
        let (head, tail) = digits.split_at(1);
        let dot = if tail.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{head}{dot}{tail}e{esign}{:02}", exp.abs());
    }
    let point = exp + 1; // digits before the decimal point
    let s = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if digits.len() as i32 <= point {
        format!(
            "{digits}{}.0",
            "0".repeat((point - digits.len() as i32) as usize)
        )
    } else {
        let (a, b) = digits.split_at(point as usize);
        format!("{a}.{b}")
    };
    format!("{sign}{s}")
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn uuid5(text: &str) -> String {
    let ns = Uuid::new_v5(&Uuid::nil(), b"volume_utils-SR_UUID");
    Uuid::new_v5(&ns, text.as_bytes()).to_string()
}

/// `connect_volume` up to the uuid: `Err(())` where Nova raises (or the tool refuses a non-text value).
fn independent_connect(info: &Value, host: Option<&str>, port: &str) -> Result<String, ()> {
    match info.get("driver_volume_type") {
        Some(Value::String(d)) if d == "iscsi" || d == "xensm" => {}
        _ => return Err(()),
    }
    let data = info.get("data").and_then(Value::as_object).ok_or(())?;
    if let Some(sr) = data.get("sr_uuid") {
        let keys: Vec<Value> = match data.get("introduce_sr_keys") {
            None => vec![],
            Some(Value::String(s)) => s.chars().map(|c| Value::String(c.into())).collect(),
            Some(Value::Array(a)) => a.clone(),
            Some(Value::Object(o)) => o.keys().map(|k| Value::String(k.clone())).collect(),
            Some(_) => return Err(()),
        };
        if !keys
            .iter()
            .all(|k| k.as_str().is_some_and(|k| data.contains_key(k)))
        {
            return Err(());
        }
        // A key of migrate_data.sr_uuid_map (DictOfStringsField): a string or Nova raises.
        return sr.as_str().map(str::to_string).ok_or(());
    }
    let volume_id = data.get("volume_id").ok_or(())?;
    let portal = data.get("target_portal").ok_or(())?;
    if truthy(portal) && !portal.is_string() {
        return Err(());
    }
    let portal = portal.as_str().unwrap_or("");
    let target = match portal.split(':').next() {
        Some(h) if !h.is_empty() => Some(h),
        _ => host,
    };
    let port = if portal.contains(':') {
        portal.split(':').nth(1).unwrap()
    } else {
        port
    };
    let iqn = data.get("target_iqn").ok_or(())?;
    if volume_id.is_null() || target.is_none() || iqn.is_null() {
        return Err(());
    }
    if data.get("auth_method") == Some(&json!("CHAP"))
        && !(data.contains_key("auth_username") && data.contains_key("auth_password"))
    {
        return Err(());
    }
    Ok(uuid5(&format!(
        "{}/{port}/{}",
        target.unwrap(),
        py_text(iqn).ok_or(())?
    )))
}

#[test]
fn the_independent_implementation_agrees_with_novas_rows_too() {
    for (text, host, port, nova) in NOVA_CONNECT {
        let info: Value = serde_json::from_str(text).unwrap();
        let got = independent_connect(&info, *host, port);
        match nova.strip_prefix("raise ") {
            Some(_) => assert!(got.is_err(), "{text}"),
            None => assert_eq!(got.as_deref(), Ok(*nova), "{text}"),
        }
    }
}

fn one_of(values: Vec<Option<Value>>) -> impl Strategy<Value = Option<Value>> {
    proptest::sample::select(values)
}

/// Connection data drawn from the shapes Nova's code distinguishes.
fn connection_info() -> impl Strategy<Value = Value> {
    let s = |v: &str| Some(json!(v));
    let driver = one_of(vec![
        s("iscsi"),
        s("iscsi"),
        s("xensm"),
        s("rbd"),
        s("ISCSI"),
        None,
        Some(Value::Null),
        Some(json!(5)),
    ]);
    let sr_uuid = one_of(vec![
        None,
        None,
        None,
        s("1a80baf0-5484-5b45-b110-aad2f8ee65a2"),
        s("1A80BAF0-5484-5B45-B110-AAD2F8EE65A2"),
        Some(json!(42)),
        Some(json!(0.1 + 0.2)),
        Some(Value::Null),
        Some(json!(true)),
        Some(json!(["x"])),
        Some(json!({"a": 1})),
    ]);
    let volume_id = one_of(vec![
        s("v1"),
        s("v1"),
        None,
        Some(Value::Null),
        Some(json!(7)),
    ]);
    let portal = one_of(vec![
        s("10.0.0.1:3260"),
        s("10.0.0.1"),
        s(":3260"),
        s(""),
        s("[fd00::5]:3260"),
        s("h:3261:x"),
        s("10.0.0.1:"),
        None,
        Some(Value::Null),
        Some(json!(0)),
        Some(json!(3260)),
        Some(json!(true)),
        Some(json!(false)),
        Some(json!([])),
        Some(json!(["a:1"])),
        Some(json!({})),
    ]);
    let iqn = one_of(vec![
        s("iqn.2010-10.org.openstack:volume-1"),
        s("iqn.\u{e9}\u{20ac}"),
        None,
        Some(Value::Null),
        Some(json!(0.1 + 0.2)),
        Some(json!(1e16)),
        Some(json!(100.0)),
        Some(json!(123456789012.5)),
        Some(json!(-0.0)),
        Some(json!(12345)),
        Some(json!(true)),
        Some(json!(["a"])),
    ]);
    let auth = one_of(vec![None, None, s("CHAP"), s("chap"), Some(Value::Null)]);
    let user = one_of(vec![None, s("u"), Some(Value::Null)]);
    let password = one_of(vec![None, s("s3cr3t")]);
    let keys = one_of(vec![
        None,
        Some(json!(["sr_type"])),
        s("ab"),
        Some(json!({"k": 0})),
        Some(Value::Null),
        Some(json!(5)),
        Some(json!([5])),
    ]);
    let extra = proptest::collection::btree_set(
        proptest::sample::select(vec!["sr_type", "a", "b", "k"]),
        0..4,
    );
    let data_shape = proptest::sample::select(vec![0u8, 0, 0, 0, 0, 0, 1, 2, 3]);
    (
        driver,
        (sr_uuid, volume_id, portal, iqn),
        (auth, user, password, keys),
        extra,
        data_shape,
    )
        .prop_map(
            |(driver, (sr, vol, portal, iqn), (auth, user, pw, keys), extra, shape)| {
                let mut data = serde_json::Map::new();
                for (k, v) in [
                    ("sr_uuid", sr),
                    ("volume_id", vol),
                    ("target_portal", portal),
                    ("target_iqn", iqn),
                    ("auth_method", auth),
                    ("auth_username", user),
                    ("auth_password", pw),
                    ("introduce_sr_keys", keys),
                ] {
                    if let Some(v) = v {
                        data.insert(k.to_string(), v);
                    }
                }
                for k in extra {
                    data.insert(k.to_string(), json!("x"));
                }
                let mut info = serde_json::Map::new();
                if let Some(d) = driver {
                    info.insert("driver_volume_type".into(), d);
                }
                match shape {
                    0 => {
                        info.insert("data".into(), Value::Object(data));
                    }
                    1 => {
                        info.insert("data".into(), Value::Null);
                    }
                    2 => {
                        info.insert("data".into(), json!("sr_uuid"));
                    }
                    _ => {}
                }
                Value::Object(info)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn nova_sr_uuid_agrees_with_the_independent_implementation(
        info in connection_info(),
        host in proptest::sample::select(vec![None, Some("10.9.9.9")]),
        port in proptest::sample::select(vec!["3260", "3261"]),
    ) {
        let tool = tool_connect(&info.to_string(), &conf(host, port)).map_err(|_| ());
        prop_assert_eq!(tool, independent_connect(&info, host, port), "{}", info);
    }
}

// ---------------------------------------------------------------------------------------------
// nova_check per disk and the unpaired BDMs, against the same rules written again.

/// Nova's `_mountpoint_to_number`, written again from its regexes.
fn independent_number(device: &str) -> Option<u64> {
    let m = device.strip_prefix("/dev/").unwrap_or(device);
    let body = m.strip_suffix('\n').unwrap_or(m);
    let c: Vec<char> = body.chars().collect();
    let in_a_p = |ch: char| ('a'..='p').contains(&ch);
    let last = m.chars().last()?;
    let hs = c.len() == 3 && (c[0] == 'h' || c[0] == 's') && c[1] == 'd' && in_a_p(c[2]);
    let vd = (c.len() == 3 && c[0] == 'v' && c[1] == 'd' && in_a_p(c[2]))
        || (c.len() == 4 && c[0] == 'x' && c[1] == 'v' && c[2] == 'd' && in_a_p(c[3]));
    if hs {
        Some(c[2] as u64 - 'a' as u64)
    } else if vd {
        (last as i64 - 'a' as i64).try_into().ok()
    } else if !c.is_empty() && c.iter().all(char::is_ascii_digit) {
        body.parse().ok()
    } else {
        None
    }
}

/// Whether Nova's live migration of one instance gets past the volumes, modelled from Nova's code at
/// mitaka-eol and not from the tool's pairing of disks and BDMs: `pre_live_migration` connects
/// *every* BDM (`vmops.connect_block_device_volumes`; a NULL or `null` connection_info is not
/// refreshed from Cinder, `block_device.py refresh_connection_info`, so `connect_volume(None)`
/// raises TypeError; `''` raises ValueError in `_transform`) and any raise fails the migration; the
/// source looks up *every* resulting uuid (`SR.get_by_uuid`: UUID_INVALID when its pool lacks it);
/// every volume VDI's SR must be a key of `sr_uuid_map` or the VDI is missing from the VDI map.
fn nova_migrates(disk_srs: &[String], bdms: &[Option<String>], pool: &BTreeSet<String>) -> bool {
    let mut sr_uuid_map = BTreeSet::new();
    for stored in bdms {
        let Some(text) = stored else {
            return false;
        };
        let Ok(info) = serde_json::from_str::<Value>(text) else {
            return false;
        };
        let Ok(uuid) = independent_connect(&info, None, "3260") else {
            return false;
        };
        if !pool.contains(&uuid) {
            return false;
        }
        sr_uuid_map.insert(uuid);
    }
    disk_srs.iter().all(|sr| sr_uuid_map.contains(sr))
}

const SRS: &[&str] = &[
    "9ade368b-674f-59c2-b177-48cc5c7b2ac7",
    "9ADE368B-674F-59C2-B177-48CC5C7B2AC7",
    "FA15E-D15C-0a1b2c3d-0000-4000-8000-000000000001",
    "f677649b-2373-5417-adfb-d0a88e3fb7f8",
];
const VOLUME_IDS: &[&str] = &[
    "",
    "0a1b2c3d-0000-4000-8000-000000000001",
    "0A1B2C3D-0000-4000-8000-000000000001",
    "other-volume",
];
const DEVICES: &[&str] = &[
    "/dev/xvda",
    "/dev/xvdb",
    "xvdb\n",
    "sdb\n",
    "sdb ",
    "/dev/nvme0n1",
    "1",
    "2\n",
    "/dev/sdc",
    "vdc",
    "/dev/hdd",
    "007",
];

/// A stored connection_info: one that provides one of [`SRS`], NULL, another driver, an empty
/// string, a non-string sr_uuid, JSON that is not an object.
fn stored_connection(c: usize) -> Option<String> {
    match c {
        c if c < SRS.len() => {
            Some(json!({"driver_volume_type": "iscsi", "data": {"sr_uuid": SRS[c]}}).to_string())
        }
        4 => None,
        5 => Some(json!({"driver_volume_type": "rbd", "data": {}}).to_string()),
        6 => Some(String::new()),
        7 => Some(json!({"driver_volume_type": "iscsi", "data": {"sr_uuid": 42}}).to_string()),
        _ => Some("[]".to_string()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// The tool's instance verdict (every finding's and every unpaired BDM's) is `ok` exactly when
    /// Nova's migration would get past the volumes.
    #[test]
    fn nova_check_agrees_with_the_independent_implementation(
        disks in proptest::collection::btree_map(0u64..4, 0usize..SRS.len(), 0..4),
        bdms in proptest::collection::vec((0usize..DEVICES.len(), 0usize..9, 0usize..VOLUME_IDS.len()), 0..6),
        extra_pool_sr in 0usize..SRS.len(),
    ) {
        let disk_srs: Vec<(String, String)> = disks.iter().map(|(u, s)| (u.to_string(), SRS[*s].to_string())).collect();
        let pool: BTreeSet<String> = disk_srs.iter().map(|d| d.1.clone()).chain([SRS[extra_pool_sr].to_string()]).collect();
        let rows: Vec<(String, String, Option<String>)> = bdms.iter()
            .map(|(d, c, v)| (DEVICES[*d].to_string(), VOLUME_IDS[*v].to_string(), stored_connection(*c)))
            .collect();
        let nova_bdms: Vec<NovaBdm> = rows.iter().map(|(dev, volume_id, info)| NovaBdm {
            instance_uuid: "i-1".into(),
            device_name: dev.clone(),
            volume_id: volume_id.clone(),
            connection: parse_connection_info(info.clone().map(Value::String)).unwrap(),
            ..Default::default()
        }).collect();
        let view = NovaView::new(None, Some(&nova_bdms), &NovaTargetConf::default());
        let pool_refs: FastSet<&str> = pool.iter().map(String::as_str).collect();
        let mut shown = FastSet::default();
        let mut verdicts = Vec::new();
        for (userdevice, sr) in &disk_srs {
            let volume_id = volume_id_of(sr, "");
            let r = view.check("I-1", &DiskRef { userdevice, sr_uuid: sr, volume_id: &volume_id, pool_srs: &pool_refs });
            shown.extend(r.bdm_index);
            // The name-based verdict a disk would fall back on: the most hopeful one, so that any
            // fallback to it where Nova fails shows up as a wrong ok.
            verdicts.push(r.verdict(Verdict::Ok));
        }
        verdicts.extend(view.other_bdms("i-1", &shown, &pool_refs).iter().map(|o| o.verdict));
        let tool_ok = verdicts.iter().all(|v| *v == Verdict::Ok);
        let srs: Vec<String> = disk_srs.iter().map(|d| d.1.clone()).collect();
        let infos: Vec<Option<String>> = rows.iter().map(|r| r.2.clone()).collect();
        prop_assert_eq!(tool_ok, nova_migrates(&srs, &infos, &pool), "disks {:?} bdms {:?}", disk_srs, rows);
    }
}

#[test]
fn the_independent_device_numbering_agrees_with_novas_rows() {
    for (name, want, _) in NOVA_MOUNTPOINT {
        assert_eq!(independent_number(name), *want, "{name:?}");
    }
}
