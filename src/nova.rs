//! Nova's own view, read from exports an operator can make without touching a host: the servers
//! (`openstack server list --all-projects --long -f json`, or a CSV/TSV export of the `instances`
//! table) and the volume block device mappings (an export of `block_device_mapping` as `mysql
//! --batch` prints it, as CSV, or as a JSON array). Each file becomes model records
//! ([`NovaServer`], [`NovaBdm`]); the format is recognised from the content. `connection_info` keeps
//! only the keys Nova's `parse_sr_info` reads, so CHAP passwords (`auth_password`) are gone the
//! moment a row is read. A malformed file is an input error naming the file and the line or record:
//! the run stops before anything is scanned.

use crate::classify::py2_float_text;
use crate::error::InputError;
use crate::model::{NovaBdm, NovaConnection, NovaServer, NovaValue, StoredConnection};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// The keys of `connection_info['data']` whose values decide the SR uuid or whether Nova can use the
/// data at all; of every other key only its presence is kept.
pub const VALUED_DATA_KEYS: &[&str] = &[
    "sr_uuid",
    "target_portal",
    "target_iqn",
    "volume_id",
    "auth_method",
    "introduce_sr_keys",
];

/// A table read from a file: its header and rows, each cell `None` for SQL NULL, with the line each
/// row starts on.
struct Table {
    header: Vec<String>,
    rows: Vec<(u64, Vec<Option<String>>)>,
}

/// The formats an export may come in.
enum Shape {
    Json(Value),
    Table(Table),
}

fn invalid(path: &Path, line: u64, message: impl Into<String>) -> InputError {
    InputError::Invalid {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

fn record_error(path: &Path, record: usize, message: impl Into<String>) -> InputError {
    InputError::Record {
        path: path.to_path_buf(),
        record,
        message: message.into(),
    }
}

/// Undo `mysql --batch` escaping: `\t`, `\n`, `\0`, `\\` (other escapes are left as they are).
fn mysql_unescape(field: &str) -> String {
    if !field.contains('\\') {
        return field.to_string();
    }
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Read a file and recognise its shape.
fn read_shape(path: &Path) -> Result<Shape, InputError> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Unreadable {
        path: path.to_path_buf(),
        cause: source,
    })?;
    shape_of(path, &text)
}

/// Recognise an export's shape: a JSON array, a tab-separated `mysql --batch` table, or CSV. `path`
/// names it in errors (a file, or the database it was read from).
fn shape_of(path: &Path, text: &str) -> Result<Shape, InputError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text).map(Shape::Json).map_err(|e| {
            invalid(
                path,
                e.line() as u64,
                format!("not a JSON array of objects: {}", json_reason(&e)),
            )
        });
    }
    let first = text.lines().next().unwrap_or_default();
    if first.trim().is_empty() {
        return Err(invalid(path, 1, "empty file: expected a header row"));
    }
    if first.contains('\t') {
        let mut rows = Vec::new();
        let mut lines = text.lines().enumerate();
        let header = lines
            .next()
            .map(|(_, l)| {
                l.split('\t')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        for (i, line) in lines {
            if line.is_empty() {
                continue;
            }
            let cells = line
                .split('\t')
                .map(|c| (c != "NULL").then(|| mysql_unescape(c)))
                .collect();
            rows.push((i as u64 + 1, cells));
        }
        return Ok(Shape::Table(Table { header, rows }));
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| invalid(path, 1, e.to_string()))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            invalid(path, line, e.to_string())
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let cells = rec
            .iter()
            .map(|c| (c != "NULL").then(|| c.to_string()))
            .collect();
        rows.push((line, cells));
    }
    Ok(Shape::Table(Table { header, rows }))
}

/// serde_json's reason without its position (the position is reported as the line).
fn json_reason(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl Table {
    /// The index of each wanted column; a missing required one is an error naming it.
    fn columns<const N: usize>(
        &self,
        path: &Path,
        wanted: [(&str, bool); N],
    ) -> Result<[Option<usize>; N], InputError> {
        let mut out = [None; N];
        for (slot, (name, required)) in out.iter_mut().zip(wanted) {
            *slot = self.header.iter().position(|h| h == name);
            if required && slot.is_none() {
                return Err(invalid(
                    path,
                    1,
                    format!(
                        "missing column {name:?} (the header has: {})",
                        self.header.join(", ")
                    ),
                ));
            }
        }
        Ok(out)
    }
}

fn cell(row: &[Option<String>], col: Option<usize>) -> Option<&str> {
    col.and_then(|c| row.get(c)).and_then(|v| v.as_deref())
}

/// A JSON scalar as Nova's Python would print it into a string; objects and arrays are `None`.
fn json_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        _ => None,
    }
}

/// A JSON object of an export.
type JsonObject = serde_json::Map<String, Value>;

/// The elements of a JSON array of objects, with their 1-based record numbers.
fn json_records(path: &Path, v: Value) -> Result<Vec<(usize, JsonObject)>, InputError> {
    let Value::Array(items) = v else {
        return Err(invalid(path, 1, "expected a JSON array of objects"));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(m) => Ok((i + 1, m)),
            _ => Err(record_error(path, i + 1, "not a JSON object")),
        })
        .collect()
}

/// Nova's power_state numbers (nova/compute/power_state.py) as the API names them.
fn power_state_name(s: &str) -> String {
    match s.trim() {
        "0" => "NOSTATE",
        "1" => "Running",
        "3" => "Paused",
        "4" => "Shutdown",
        "6" => "Crashed",
        "7" => "Suspended",
        other => return other.to_string(),
    }
    .to_string()
}

/// Read one servers export.
pub fn load_servers(path: &Path) -> Result<Vec<NovaServer>, InputError> {
    servers_of(path, read_shape(path)?)
}

/// A servers export already in memory (`nova_db` reads one from the database); `label` names it.
pub fn servers_from_text(label: &Path, text: &str) -> Result<Vec<NovaServer>, InputError> {
    servers_of(label, shape_of(label, text)?)
}

fn servers_of(path: &Path, shape: Shape) -> Result<Vec<NovaServer>, InputError> {
    let shown = path.display().to_string();
    let mut out = Vec::new();
    match shape {
        Shape::Json(v) => {
            for (n, rec) in json_records(path, v)? {
                let text = |k: &str| rec.get(k).and_then(json_text).unwrap_or_default();
                let uuid = text("ID");
                if uuid.trim().is_empty() {
                    return Err(record_error(path, n, "no \"ID\" (expected the output of `openstack server list --all-projects --long -f json`)"));
                }
                if !rec.contains_key("Host") {
                    return Err(record_error(
                        path,
                        n,
                        "no \"Host\" key: list the servers with --long (and --all-projects)",
                    ));
                }
                out.push(NovaServer {
                    uuid: uuid.trim().to_ascii_lowercase(),
                    name: text("Name"),
                    status: text("Status"),
                    power_state: power_state_name(&text("Power State")),
                    host: text("Host"),
                    node: text("OS-EXT-SRV-ATTR:hypervisor_hostname"),
                    project_id: text("Project ID"),
                    source: format!("{shown}: record {n}"),
                });
            }
        }
        Shape::Table(t) => {
            let [uuid, name, vm_state, power, node, project, host] = t.columns(
                path,
                [
                    ("uuid", true),
                    ("display_name", false),
                    ("vm_state", false),
                    ("power_state", false),
                    ("node", true),
                    ("project_id", false),
                    ("host", false),
                ],
            )?;
            for (line, row) in &t.rows {
                let id = cell(row, uuid).unwrap_or_default().trim();
                if id.is_empty() {
                    return Err(invalid(path, *line, "empty uuid"));
                }
                out.push(NovaServer {
                    uuid: id.to_ascii_lowercase(),
                    name: cell(row, name).unwrap_or_default().to_string(),
                    status: cell(row, vm_state).unwrap_or_default().to_string(),
                    power_state: power_state_name(cell(row, power).unwrap_or_default()),
                    host: cell(row, host).unwrap_or_default().to_string(),
                    node: cell(row, node).unwrap_or_default().to_string(),
                    project_id: cell(row, project).unwrap_or_default().to_string(),
                    source: format!("{shown}:{line}"),
                });
            }
        }
    }
    Ok(out)
}

/// Parse a stored `connection_info` (JSON text, or an object already) keeping only what decides the
/// SR uuid: the values of [`VALUED_DATA_KEYS`], and every other key of `data` as present (so
/// `introduce_sr_keys` and the CHAP fields can be checked as Nova checks them, with no secret kept).
/// NULL and `null` are [`StoredConnection::Null`]; an empty string and JSON that is not an object
/// are [`StoredConnection::Unreadable`] (Nova fails that instance, not the run). `Err` only for text
/// that is not JSON at all: most likely a broken export, so the run stops and names the line.
pub fn parse_connection_info(v: Option<Value>) -> Result<StoredConnection, String> {
    let v = match v {
        None | Some(Value::Null) => return Ok(StoredConnection::Null),
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Ok(StoredConnection::Unreadable(
                "connection_info is an empty string: jsonutils.loads('') raises ValueError in DriverVolumeBlockDevice._transform".into(),
            ))
        }
        Some(Value::String(s)) if python_only_number(&s) => {
            return Ok(StoredConnection::Unreadable(
                "connection_info is a JSON number, not an object: connect_volume indexes it and raises TypeError".into(),
            ))
        }
        Some(Value::String(s)) => serde_json::from_str::<Value>(&s)
            .map_err(|e| format!("connection_info is not JSON: {}", json_reason(&e)))?,
        Some(other) => other,
    };
    let obj = match v {
        Value::Null => return Ok(StoredConnection::Null),
        Value::Object(obj) => obj,
        other => {
            return Ok(StoredConnection::Unreadable(format!(
                "connection_info is JSON {}, not an object: connect_volume indexes it and raises TypeError",
                json_kind(&other)
            )))
        }
    };
    let data = match obj.get("data") {
        Some(Value::Object(d)) => Some(
            d.iter()
                .map(|(k, v)| {
                    let kept = VALUED_DATA_KEYS.contains(&k.as_str());
                    let value = if kept {
                        nova_value(v)
                    } else {
                        NovaValue::Present
                    };
                    (k.clone(), value)
                })
                .collect::<BTreeMap<_, _>>(),
        ),
        _ => None,
    };
    Ok(StoredConnection::Object(NovaConnection {
        driver_volume_type: obj.get("driver_volume_type").and_then(json_text),
        data,
    }))
}

/// A number Python's `json.loads` reads and serde_json refuses: one beyond f64 (`1e400`, read as
/// `inf`), `NaN`, `Infinity`, `-Infinity`.
fn python_only_number(text: &str) -> bool {
    let t = text.trim();
    matches!(t, "NaN" | "Infinity" | "-Infinity")
        || (t.parse::<f64>().is_ok_and(f64::is_infinite)
            && t.bytes()
                .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)))
}

/// What kind of JSON value it is, for a message (never the value: it may hold a secret).
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON value as far as Nova's code reads it, scalars printed as Python 2's `str()` prints them.
fn nova_value(v: &Value) -> NovaValue {
    match v {
        Value::Null => NovaValue::Null,
        Value::String(s) => NovaValue::Text(s.clone()),
        Value::Bool(b) => NovaValue::Scalar {
            text: if *b { "True" } else { "False" }.to_string(),
            truthy: *b,
        },
        Value::Number(n) => {
            let text = match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => i.to_string(),
                (_, Some(u), _) => u.to_string(),
                (_, _, Some(f)) => py2_float_text(f),
                _ => n.to_string(),
            };
            let truthy = !matches!(text.as_str(), "0" | "0.0" | "-0.0");
            NovaValue::Scalar { text, truthy }
        }
        Value::Array(items) => NovaValue::Array(
            items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect(),
        ),
        Value::Object(m) => NovaValue::Object(m.keys().cloned().collect()),
    }
}

/// Read one block_device_mapping export.
pub fn load_bdms(path: &Path) -> Result<Vec<NovaBdm>, InputError> {
    bdms_of(path, read_shape(path)?)
}

/// A block_device_mapping export already in memory (`nova_db` reads one from the database).
pub fn bdms_from_text(label: &Path, text: &str) -> Result<Vec<NovaBdm>, InputError> {
    bdms_of(label, shape_of(label, text)?)
}

fn bdms_of(path: &Path, shape: Shape) -> Result<Vec<NovaBdm>, InputError> {
    let shown = path.display().to_string();
    let mut out = Vec::new();
    match shape {
        Shape::Json(v) => {
            for (n, mut rec) in json_records(path, v)? {
                for k in ["instance_uuid", "device_name", "connection_info"] {
                    if !rec.contains_key(k) {
                        return Err(record_error(path, n, format!("no {k:?} key")));
                    }
                }
                let text = |k: &str| rec.get(k).and_then(json_text).unwrap_or_default();
                let (instance_uuid, volume_id, device_name, boot_index) = (
                    text("instance_uuid"),
                    text("volume_id"),
                    text("device_name"),
                    text("boot_index"),
                );
                let connection = parse_connection_info(rec.remove("connection_info"))
                    .map_err(|m| record_error(path, n, m))?;
                out.push(NovaBdm {
                    instance_uuid: instance_uuid.trim().to_ascii_lowercase(),
                    volume_id,
                    device_name,
                    boot_index,
                    connection,
                    source: format!("{shown}: record {n}"),
                });
            }
        }
        Shape::Table(t) => {
            let [instance, volume, device, boot, conn] = t.columns(
                path,
                [
                    ("instance_uuid", true),
                    ("volume_id", false),
                    ("device_name", true),
                    ("boot_index", false),
                    ("connection_info", true),
                ],
            )?;
            for (line, row) in &t.rows {
                let connection =
                    parse_connection_info(cell(row, conn).map(|s| Value::String(s.to_string())))
                        .map_err(|m| invalid(path, *line, m))?;
                out.push(NovaBdm {
                    instance_uuid: cell(row, instance)
                        .unwrap_or_default()
                        .trim()
                        .to_ascii_lowercase(),
                    volume_id: cell(row, volume).unwrap_or_default().to_string(),
                    device_name: cell(row, device).unwrap_or_default().to_string(),
                    boot_index: cell(row, boot).unwrap_or_default().to_string(),
                    connection,
                    source: format!("{shown}:{line}"),
                });
            }
        }
    }
    Ok(out)
}

/// Everything read from the Nova files of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NovaData {
    /// `None` when no servers file was given (no coverage is computed).
    pub servers: Option<Vec<NovaServer>>,
    /// `None` when no BDM file was given (no Nova check is made).
    pub bdms: Option<Vec<NovaBdm>>,
}

impl NovaData {
    /// Read every given file; servers listed twice (across files too) are an error.
    pub fn load(
        servers: &[impl AsRef<Path>],
        bdms: &[impl AsRef<Path>],
    ) -> Result<NovaData, InputError> {
        let mut data = NovaData::default();
        if !servers.is_empty() {
            let mut all = Vec::new();
            let mut seen = HashSet::new();
            for p in servers {
                for s in load_servers(p.as_ref())? {
                    if !seen.insert(s.uuid.clone()) {
                        return Err(InputError::Duplicate {
                            what: format!("instance {}", s.uuid),
                            at: s.source,
                        });
                    }
                    all.push(s);
                }
            }
            data.servers = Some(all);
        }
        if !bdms.is_empty() {
            let mut all = Vec::new();
            for p in bdms {
                all.extend(load_bdms(p.as_ref())?);
            }
            data.bdms = Some(all);
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn mysql_batch_escapes_table() {
        for (raw, want) in [
            ("plain", "plain"),
            ("a\\tb", "a\tb"),
            ("a\\nb", "a\nb"),
            ("a\\0b", "a\0b"),
            ("a\\\\b", "a\\b"),
            ("{\\\"k\\\": 1}", "{\\\"k\\\": 1}"),
            ("end\\", "end\\"),
        ] {
            assert_eq!(mysql_unescape(raw), want, "{raw}");
        }
    }

    #[test]
    fn bdms_in_three_shapes_read_the_same_and_drop_secrets() {
        let ci = r#"{"driver_volume_type": "iscsi", "data": {"target_portal": "10.0.0.1:3260", "target_iqn": "iqn.x", "volume_id": "v1", "auth_method": "CHAP", "auth_username": "u", "auth_password": "s3cr3t-chap"}}"#;
        // mysql --batch doubles every backslash; this JSON has none, but a tab in a name would be \t.
        let tsv = format!("instance_uuid\tvolume_id\tdevice_name\tboot_index\tconnection_info\nI-1\tv1\t/dev/xvdb\tNULL\t{ci}\nI-2\tv2\t/dev/xvdc\t-1\tNULL\n");
        let csv_text = format!(
            "instance_uuid,volume_id,device_name,boot_index,connection_info\nI-1,v1,/dev/xvdb,,\"{}\"\nI-2,v2,/dev/xvdc,-1,NULL\n",
            ci.replace('"', "\"\"")
        );
        let json = format!(
            r#"[{{"instance_uuid": "I-1", "volume_id": "v1", "device_name": "/dev/xvdb", "boot_index": null, "connection_info": {}}}, {{"instance_uuid": "I-2", "volume_id": "v2", "device_name": "/dev/xvdc", "boot_index": -1, "connection_info": null}}]"#,
            serde_json::to_string(ci).unwrap()
        );
        let mut seen = Vec::new();
        for (name, text) in [("b.tsv", tsv), ("b.csv", csv_text), ("b.json", json)] {
            let (_d, p) = write(name, &text);
            let bdms = load_bdms(&p).unwrap();
            assert_eq!(bdms.len(), 2, "{name}");
            assert_eq!(bdms[0].instance_uuid, "i-1");
            assert_eq!(bdms[0].device_name, "/dev/xvdb");
            let conn = bdms[0].connection.object().unwrap();
            assert_eq!(conn.driver_volume_type.as_deref(), Some("iscsi"));
            assert_eq!(
                conn.data.as_ref().unwrap().get("target_portal"),
                Some(&NovaValue::Text("10.0.0.1:3260".to_string()))
            );
            assert_eq!(
                bdms[1].connection,
                StoredConnection::Null,
                "{name}: NULL connection_info"
            );
            assert!(!format!("{bdms:?}").contains("s3cr3t-chap"), "{name}");
            seen.push(
                bdms.iter()
                    .map(|b| b.connection.clone())
                    .collect::<Vec<_>>(),
            );
        }
        assert!(seen.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn bad_exports_name_the_file_and_line_or_record() {
        for (name, text, want) in [
            (
                "t.json",
                "[{\"instance_uuid\": \"i\", \"device_name\": \"x\"",
                ":1: not a JSON array",
            ),
            (
                "m.tsv",
                "instance_uuid\tdevice_name\nx\ty\n",
                "missing column \"connection_info\"",
            ),
            (
                "c.tsv",
                "instance_uuid\tdevice_name\tconnection_info\ni\t/dev/xvdb\tnot json\ni\tx\tNULL\n",
                ":2: connection_info is not JSON",
            ),
            (
                "k.json",
                "[{\"instance_uuid\": \"i\", \"connection_info\": null}]",
                "record 1: no \"device_name\" key",
            ),
            ("e.csv", "", ":1: empty file"),
        ] {
            let (_d, p) = write(name, text);
            let err = load_bdms(&p).unwrap_err().to_string();
            assert!(err.contains(name) && err.contains(want), "{name}: {err}");
        }
        for (name, text, want) in [
            (
                "s.json",
                "[{\"Name\": \"x\", \"Host\": null}]",
                "record 1: no \"ID\"",
            ),
            ("h.json", "[{\"ID\": \"x\"}]", "--long"),
            (
                "n.csv",
                "uuid,display_name\nx,y\n",
                "missing column \"node\"",
            ),
        ] {
            let (_d, p) = write(name, text);
            let err = load_servers(&p).unwrap_err().to_string();
            assert!(err.contains(name) && err.contains(want), "{name}: {err}");
        }
    }

    #[test]
    fn servers_from_openstack_json_and_instances_table() {
        let (_d, p) = write(
            "s.json",
            r#"[{"ID": "A-1", "Name": "web", "Status": "ACTIVE", "Power State": "Running", "Host": "xs01", "Project ID": "p1", "Networks": {"n": ["10.0.0.5"]}}]"#,
        );
        let s = load_servers(&p).unwrap();
        assert_eq!(
            (
                s[0].uuid.as_str(),
                s[0].host.as_str(),
                s[0].project_id.as_str()
            ),
            ("a-1", "xs01", "p1")
        );
        let (_d, p) = write("i.tsv", "uuid\tdisplay_name\tvm_state\tpower_state\tnode\tproject_id\tdeleted\nb-2\tdb\tstopped\t4\txs02\tp2\t0\n");
        let s = load_servers(&p).unwrap();
        assert_eq!(
            (s[0].power_state.as_str(), s[0].status.as_str()),
            ("Shutdown", "stopped")
        );
        assert_eq!(s[0].source, format!("{}:2", p.display()));
        let (_d, a) = write("a.json", r#"[{"ID": "x", "Host": "h"}]"#);
        let err = NovaData::load(&[&a, &a], &[] as &[&Path])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("instance x") && err.contains("record 1"),
            "{err}"
        );
    }

    #[test]
    fn json_values_read_as_python_2_prints_them() {
        // Python 2.7: json.loads gives int/long, float, bool; "%s" prints them as below.
        for (json, want) in [
            ("\"iqn.x\"", NovaValue::Text("iqn.x".into())),
            ("null", NovaValue::Null),
            (
                "0",
                NovaValue::Scalar {
                    text: "0".into(),
                    truthy: false,
                },
            ),
            // Known limit: serde_json reads the integer `-0` as the float -0.0 (Python: int 0, "0").
            (
                "-0",
                NovaValue::Scalar {
                    text: "-0.0".into(),
                    truthy: false,
                },
            ),
            (
                "-0.0",
                NovaValue::Scalar {
                    text: "-0.0".into(),
                    truthy: false,
                },
            ),
            (
                "3260",
                NovaValue::Scalar {
                    text: "3260".into(),
                    truthy: true,
                },
            ),
            (
                "18446744073709551615",
                NovaValue::Scalar {
                    text: "18446744073709551615".into(),
                    truthy: true,
                },
            ),
            (
                "0.30000000000000004",
                NovaValue::Scalar {
                    text: "0.3".into(),
                    truthy: true,
                },
            ),
            (
                "1e16",
                NovaValue::Scalar {
                    text: "1e+16".into(),
                    truthy: true,
                },
            ),
            (
                "true",
                NovaValue::Scalar {
                    text: "True".into(),
                    truthy: true,
                },
            ),
            (
                "false",
                NovaValue::Scalar {
                    text: "False".into(),
                    truthy: false,
                },
            ),
            ("[\"a\", 1]", NovaValue::Array(vec![Some("a".into()), None])),
            ("{\"k\": 1}", NovaValue::Object(vec!["k".into()])),
        ] {
            let v: Value = serde_json::from_str(json).unwrap();
            assert_eq!(nova_value(&v), want, "{json}");
        }
    }

    #[test]
    fn only_named_keys_keep_their_values() {
        let conn = parse_connection_info(Some(serde_json::json!({"driver_volume_type": "iscsi",
            "data": {"target_portal": "h:1", "auth_method": "CHAP", "auth_username": "u",
                     "auth_password": "pw-SECRET", "introduce_sr_keys": ["sr_type"], "sr_type": "iscsi"}})))
        .unwrap();
        let data = conn.object().unwrap().data.clone().unwrap();
        assert_eq!(data["auth_password"], NovaValue::Present);
        assert_eq!(data["auth_username"], NovaValue::Present);
        assert_eq!(data["sr_type"], NovaValue::Present);
        assert_eq!(data["auth_method"], NovaValue::Text("CHAP".into()));
        assert_eq!(
            data["introduce_sr_keys"],
            NovaValue::Array(vec![Some("sr_type".into())])
        );
    }

    /// Regression `null_or_empty_connection_info_is_unusable` (issue 19 review): Nova at mitaka-eol
    /// refreshes a BDM's connection_info in `pre_live_migration` only when it is non-empty
    /// (`DriverVolumeBlockDevice.refresh_connection_info`), so what is stored reaches Nova's code:
    /// NULL and `null` load as `None` (`connect_volume(None)` raises TypeError), `''` raises
    /// ValueError in `_transform`, JSON that is not an object raises TypeError when indexed. Each
    /// fails that instance only, so none stops the run; text that is not JSON still does.
    #[test]
    fn regression_null_or_empty_connection_info_is_unusable() {
        use serde_json::Value;
        let read = |v: Option<Value>| parse_connection_info(v);
        let text = |t: &str| read(Some(Value::String(t.into())));
        let unreadable =
            |r: Result<StoredConnection, String>| matches!(r, Ok(StoredConnection::Unreadable(_)));
        assert_eq!(read(None), Ok(StoredConnection::Null));
        assert_eq!(read(Some(Value::Null)), Ok(StoredConnection::Null));
        assert_eq!(text("null"), Ok(StoredConnection::Null));
        for t in [
            "",
            "  ",
            "[]",
            "[1]",
            "7",
            "\"iscsi\"",
            "true",
            "1e400",
            "-1e999",
            "NaN",
        ] {
            assert!(unreadable(text(t)), "{t:?}: {:?}", text(t));
        }
        assert!(unreadable(read(Some(serde_json::json!([1])))));
        assert!(text("not json").unwrap_err().contains("not JSON"));
        assert!(matches!(
            text("{\"driver_volume_type\": \"iscsi\"}"),
            Ok(StoredConnection::Object(_))
        ));
    }

    #[test]
    fn instances_export_reads_host_and_node_apart() {
        let (_d, p) = write(
            "i.csv",
            "uuid,host,node,project_id\nA-1,compute-xs01,xs01,p\nb-2,,xs02,\n",
        );
        let s = load_servers(&p).unwrap();
        let got: Vec<(&str, &str)> = s
            .iter()
            .map(|s| (s.host.as_str(), s.node.as_str()))
            .collect();
        assert_eq!(got, [("compute-xs01", "xs01"), ("", "xs02")]);
        let (_d, p) = write(
            "s.json",
            r#"[{"ID": "a", "Host": "compute-xs01", "Power State": 1}, {"ID": "b", "Host": "c", "OS-EXT-SRV-ATTR:hypervisor_hostname": "xs02", "Power State": "Shutdown"}]"#,
        );
        let s = load_servers(&p).unwrap();
        let got: Vec<(&str, &str, &str)> = s
            .iter()
            .map(|s| (s.host.as_str(), s.node.as_str(), s.power_state.as_str()))
            .collect();
        assert_eq!(
            got,
            [("compute-xs01", "", "Running"), ("c", "xs02", "Shutdown")]
        );
    }
}
