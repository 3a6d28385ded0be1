//! Azurite, Microsoft's Azure Blob Storage emulator (npm package `azurite`), on
//! 127.0.0.1 for the worker tests: installed on first use with npm into the same cache
//! as the Kafka broker (`~/.cache/kafka-backup-operator/azurite`), started on a free
//! port and stopped by its PID when dropped. Containers and SAS tokens are made with
//! Microsoft's own client (`@azure/storage-blob`) through node. Without node and npm the
//! tests say so and return, unless `KAFKA_BACKUP_REQUIRE_STORES=1` (set by `.ci/run`).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The emulator's well-known account and key.
pub const ACCOUNT: &str = "devstoreaccount1";
pub const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const AZURITE: &str = "azurite@3.37.0";
const CLIENT: &str = "@azure/storage-blob@12.34.0";

fn cache() -> PathBuf {
    std::env::var_os("KAFKA_BACKUP_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(|d| PathBuf::from(d).join("kafka-backup-operator"))
        })
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/kafka-backup-operator"))
        })
        .unwrap_or_else(|| std::env::temp_dir().join("kafka-backup-operator"))
        .join("azurite")
}

fn install() -> Result<PathBuf, String> {
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let dir = cache();
            let bin = dir.join("node_modules/.bin/azurite-blob");
            if bin.exists() && dir.join("node_modules/@azure/storage-blob").exists() {
                return Ok(dir);
            }
            let npm = Command::new("npm")
                .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .args([AZURITE, CLIENT])
                .output()
                .map_err(|e| format!("npm is not installed ({e}): apt-get install npm"))?;
            if !npm.status.success() || !bin.exists() {
                return Err(format!(
                    "npm could not install {AZURITE}: {}",
                    String::from_utf8_lossy(&npm.stderr)
                ));
            }
            Ok(dir)
        })
        .clone()
}

/// An Azurite blob service; stopped when dropped.
pub struct Azurite {
    child: Child,
    dir: PathBuf,
    pub port: u16,
    _data: tempfile::TempDir,
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Azurite {
    pub fn start() -> Option<Self> {
        let dir = match install() {
            Ok(dir) => dir,
            Err(why) => {
                assert!(
                    std::env::var("KAFKA_BACKUP_REQUIRE_STORES").as_deref() != Ok("1"),
                    "Azurite is required (KAFKA_BACKUP_REQUIRE_STORES=1): {why}"
                );
                eprintln!("skipped: no Azurite: {why}");
                return None;
            }
        };
        let data = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(dir.join("node_modules/.bin/azurite-blob"))
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--location")
            .arg(data.path())
            .args(["--skipApiVersionCheck", "--silent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("azurite starts");
        let azurite = Azurite {
            child,
            dir,
            port,
            _data: data,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Azurite did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(azurite)
    }

    /// The blob endpoint of the emulator's account, path-style.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{ACCOUNT}", self.port)
    }

    fn node(&self, script: &str, args: &[&str]) -> String {
        let connection = format!(
            "DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint={};",
            self.endpoint()
        );
        let output = Command::new("node")
            .args(["-e", script, "--", &connection])
            .args(args)
            .env("NODE_PATH", self.dir.join("node_modules"))
            .output()
            .expect("node runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// Creates a blob container with Microsoft's client.
    pub fn create_container(&self, name: &str) {
        self.node(
            r#"const { BlobServiceClient } = require("@azure/storage-blob");
               const [cs, name] = process.argv.slice(-2);
               BlobServiceClient.fromConnectionString(cs).getContainerClient(name).create()
                 .then(() => {}, e => { console.error(e.message); process.exit(1); });"#,
            &[name],
        );
    }

    /// An account SAS token allowing everything on blobs for an hour.
    pub fn sas_token(&self) -> String {
        self.node(
            r#"const b = require("@azure/storage-blob");
               const cs = process.argv[process.argv.length - 1];
               const key = /AccountKey=([^;]+)/.exec(cs)[1];
               const credential = new b.StorageSharedKeyCredential("devstoreaccount1", key);
               const sas = b.generateAccountSASQueryParameters({
                 expiresOn: new Date(Date.now() + 3600 * 1000),
                 permissions: b.AccountSASPermissions.parse("rwdlacup"),
                 resourceTypes: b.AccountSASResourceTypes.parse("sco").toString(),
                 services: b.AccountSASServices.parse("b").toString(),
                 protocol: b.SASProtocol.HttpsAndHttp,
               }, credential).toString();
               console.log(sas);"#,
            &[],
        )
    }

    /// The names of the blobs in a container.
    pub fn blobs(&self, container: &str) -> Vec<String> {
        let listed = self.node(
            r#"const { BlobServiceClient } = require("@azure/storage-blob");
               const [cs, name] = process.argv.slice(-2);
               (async () => {
                 const names = [];
                 for await (const blob of BlobServiceClient.fromConnectionString(cs)
                     .getContainerClient(name).listBlobsFlat()) names.push(blob.name);
                 console.log(names.join("\n"));
               })().catch(e => { console.error(e.message); process.exit(1); });"#,
            &[container],
        );
        listed.lines().map(str::to_string).collect()
    }
}
