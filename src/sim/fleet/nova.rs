//! Nova's side of a generated fleet: the servers Nova lists (`openstack server list --all-projects
//! --long -f json`) and the volume block device mappings (`mysql --batch` output of the
//! block_device_mapping query), consistent with the dumps, plus the cases that only Nova's view
//! reveals (a moved portal, a portless portal, a Cinder-provided sr_uuid, NULL connection_info, a
//! device name Nova cannot translate, instances on hosts outside the inventory, ghosts, leftovers).

use std::io::{self, Write};
use std::path::Path;

/// One instance as `openstack server list --long` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRow {
    pub id: String,
    pub name: String,
    pub status: String,
    pub power_state: String,
    pub host: String,
    pub project_id: String,
}

/// One row of the block_device_mapping export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BdmRow {
    pub instance_uuid: String,
    pub volume_id: String,
    pub device_name: String,
    /// `None` is SQL NULL.
    pub boot_index: Option<String>,
    /// Nova's JSON text; `None` is SQL NULL.
    pub connection_info: Option<String>,
}

/// The device name Nova recorded for a disk, in one of the forms Nova accepts (`style` picks one).
pub fn device_name(userdevice: usize, style: usize) -> String {
    let letter = char::from(b'a' + (userdevice as u8 % 16));
    match style % 6 {
        0 => format!("/dev/xvd{letter}"),
        1 => format!("/dev/vd{letter}"),
        2 => format!("/dev/sd{letter}"),
        3 => format!("xvd{letter}"),
        4 => format!("/dev/hd{letter}"),
        _ => userdevice.to_string(),
    }
}

/// Cinder's iSCSI connection info as Nova stores it (CHAP credentials included, as Cinder sends them).
pub fn iscsi_connection_info(
    portal: &str,
    iqn: &str,
    volume_id: &str,
    lun: u64,
    chap: Option<(&str, &str)>,
) -> String {
    let mut data = serde_json::json!({
        "target_discovered": false,
        "target_portal": portal,
        "target_iqn": iqn,
        "target_lun": lun,
        "volume_id": volume_id,
        "access_mode": "rw",
    });
    if let Some((user, secret)) = chap {
        data["auth_method"] = "CHAP".into();
        data["auth_username"] = user.into();
        data["auth_password"] = secret.into();
    }
    serde_json::json!({"driver_volume_type": "iscsi", "data": data, "serial": volume_id})
        .to_string()
}

/// Connection info from a Cinder driver that supplies its own SR uuid.
pub fn provided_connection_info(sr_uuid: &str, volume_id: &str) -> String {
    serde_json::json!({
        "driver_volume_type": "iscsi",
        "data": {
            "sr_uuid": sr_uuid,
            "sr_type": "iscsi",
            "introduce_sr_keys": ["sr_type"],
            "volume_id": volume_id,
        },
        "serial": volume_id,
    })
    .to_string()
}

/// `mysql --batch` escaping of one field.
fn mysql_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\0', "\\0")
}

/// Write `servers.json` as the OpenStack client prints it (keys in its order, two-space indent).
pub fn write_servers_json(path: &Path, rows: &[ServerRow]) -> io::Result<()> {
    let list: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut m = serde_json::Map::new();
            m.insert("ID".into(), r.id.clone().into());
            m.insert("Name".into(), r.name.clone().into());
            m.insert("Status".into(), r.status.clone().into());
            m.insert("Power State".into(), r.power_state.clone().into());
            m.insert("Networks".into(), serde_json::json!({}));
            m.insert("Host".into(), r.host.clone().into());
            m.insert("Project ID".into(), r.project_id.clone().into());
            serde_json::Value::Object(m)
        })
        .collect();
    let mut f = io::BufWriter::new(std::fs::File::create(path)?);
    serde_json::to_writer_pretty(&mut f, &list)?;
    f.write_all(b"\n")?;
    f.flush()
}

/// Write `bdms.tsv` as `mysql --batch` prints the export query.
pub fn write_bdms_tsv(path: &Path, rows: &[BdmRow]) -> io::Result<()> {
    let mut f = io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        f,
        "instance_uuid\tvolume_id\tdevice_name\tboot_index\tconnection_info"
    )?;
    let field = |v: &Option<String>| v.as_deref().map(mysql_escape).unwrap_or("NULL".into());
    for r in rows {
        writeln!(
            f,
            "{}\t{}\t{}\t{}\t{}",
            mysql_escape(&r.instance_uuid),
            mysql_escape(&r.volume_id),
            mysql_escape(&r.device_name),
            field(&r.boot_index),
            field(&r.connection_info)
        )?;
    }
    f.flush()
}
