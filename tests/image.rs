//! The release image (`make image-test`): built by `image/build.sh` with buildah, its root
//! filesystem mounted, and its entrypoint run from there under `chroot` as the image's
//! user, so the image's binary runs on the image's own libraries and nothing of the host.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn buildah(args: &[&str]) -> Output {
    Command::new("buildah")
        .args(args)
        .env("STORAGE_DRIVER", "vfs")
        .env("BUILDAH_ISOLATION", "chroot")
        .output()
        .expect("buildah runs")
}

fn stdout_of(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A working container of the image, mounted; removed with the image at drop.
struct Mounted {
    container: String,
    root: PathBuf,
    image: String,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        buildah(&["umount", &self.container]);
        buildah(&["rm", &self.container]);
        buildah(&["rmi", &self.image]);
    }
}

fn skip_reason() -> Option<&'static str> {
    if std::env::var_os("KAFKA_BACKUP_IMAGE_TEST").is_none() {
        return Some("set KAFKA_BACKUP_IMAGE_TEST=1 (make image-test)");
    }
    if Command::new("buildah").arg("--version").output().is_err() {
        return Some("buildah is not installed (apt-get install buildah)");
    }
    let uid = stdout_of(Command::new("id").arg("-u").output().unwrap(), "id");
    if uid.trim() != "0" {
        return Some("buildah mount and chroot need root here");
    }
    None
}

#[test]
#[ignore = "builds the release image: make image-test"]
fn the_images_binary_runs_on_the_images_own_libraries() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let image = format!("kafka-backup-operator:image-test-{}", std::process::id());
    let built = Command::new(repo.join("image/build.sh"))
        .arg(&image)
        .current_dir(repo)
        .status()
        .expect("image/build.sh runs");
    assert!(built.success(), "make image failed");

    // The image's configuration: the numeric non-root user, the binary as entrypoint,
    // the OCI labels.
    let config: serde_json::Value = serde_json::from_str(&stdout_of(
        buildah(&["inspect", "--type", "image", &image]),
        "inspect",
    ))
    .unwrap();
    let oci = &config["OCIv1"]["config"];
    assert_eq!(oci["User"], "65532:65532");
    assert_eq!(
        oci["Entrypoint"],
        serde_json::json!(["/usr/local/bin/kafka-backup-operator"])
    );
    let labels = &oci["Labels"];
    assert_eq!(
        labels["org.opencontainers.image.version"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(labels["org.opencontainers.image.licenses"], "Apache-2.0");
    assert!(
        labels["org.opencontainers.image.source"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );

    let container = stdout_of(buildah(&["from", &image]), "from")
        .trim()
        .to_string();
    let root = PathBuf::from(stdout_of(buildah(&["mount", &container]), "mount").trim());
    let mounted = Mounted {
        container,
        root,
        image,
    };

    // Run as the image runs it: its user, its root, its libraries.
    let run = |args: &[&str]| {
        Command::new("chroot")
            .arg("--userspec=65532:65532")
            .arg(&mounted.root)
            .arg("/usr/local/bin/kafka-backup-operator")
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .expect("chroot runs")
    };
    let version = stdout_of(run(&["--version"]), "--version");
    assert!(
        version.starts_with(&format!(
            "kafka-backup-operator {}",
            env!("CARGO_PKG_VERSION")
        )),
        "{version}"
    );
    eprintln!("image binary: {}", version.trim());
    let crds = stdout_of(run(&["crds"]), "crds");
    let committed = std::fs::read_to_string(repo.join("manifests/crds/crds.yaml")).unwrap();
    assert_eq!(crds, committed, "the image prints the committed CRDs");

    // Size of the unpacked root filesystem (what a node stores), and of the binary.
    let du = stdout_of(
        Command::new("du")
            .args(["-sb"])
            .arg(&mounted.root)
            .output()
            .unwrap(),
        "du",
    );
    let bytes: u64 = du.split_whitespace().next().unwrap().parse().unwrap();
    let binary = std::fs::metadata(mounted.root.join("usr/local/bin/kafka-backup-operator"))
        .unwrap()
        .len();
    eprintln!(
        "image root filesystem {:.1} MiB, binary {:.1} MiB",
        bytes as f64 / 1048576.0,
        binary as f64 / 1048576.0
    );
    assert!(
        bytes < 60 * 1024 * 1024,
        "image {bytes} bytes, target 60 MiB"
    );
    assert!(
        binary < 40 * 1024 * 1024,
        "binary {binary} bytes, target 40 MiB"
    );
}
