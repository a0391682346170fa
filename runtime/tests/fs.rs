//! `runtime::fs` on the blocking pool: whole-file helpers, directories, `File`, errors,
//! and the loop running while the disk works.

use std::io::SeekFrom;

use runtime::fs::{self, File};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("runtime-fs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[runtime::test]
async fn whole_file_helpers_and_directories() {
    let dir = scratch("helpers");
    fs::create_dir_all(dir.join("a/b")).await.unwrap();
    fs::write(dir.join("a/b/one.txt"), "one").await.unwrap();
    fs::write(dir.join("a/two.bin"), [0u8, 1, 2]).await.unwrap();
    assert_eq!(
        fs::read_to_string(dir.join("a/b/one.txt")).await.unwrap(),
        "one"
    );
    assert_eq!(fs::read(dir.join("a/two.bin")).await.unwrap(), [0, 1, 2]);
    assert_eq!(
        fs::copy(dir.join("a/two.bin"), dir.join("a/three.bin"))
            .await
            .unwrap(),
        3
    );
    fs::rename(dir.join("a/three.bin"), dir.join("a/four.bin"))
        .await
        .unwrap();
    let mut names: Vec<String> = fs::read_dir(dir.join("a"))
        .await
        .unwrap()
        .iter()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["b", "four.bin", "two.bin"]);
    assert_eq!(fs::metadata(dir.join("a/four.bin")).await.unwrap().len(), 3);
    assert!(fs::try_exists(dir.join("a/four.bin")).await.unwrap());
    fs::remove_file(dir.join("a/four.bin")).await.unwrap();
    assert!(!fs::try_exists(dir.join("a/four.bin")).await.unwrap());
    let e = fs::read(dir.join("missing")).await.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    fs::remove_dir_all(&dir).await.unwrap();
}

#[runtime::test]
async fn file_reads_writes_and_seeks_in_order() {
    let dir = scratch("file");
    fs::create_dir_all(&dir).await.unwrap();
    let path = dir.join("data");
    let mut f = File::create(&path).await.unwrap();
    for i in 0..100 {
        f.write_all(format!("{i:03}\n").as_bytes()).await.unwrap();
    }
    f.sync_all().await.unwrap();
    assert_eq!(f.metadata().await.unwrap().len(), 400);
    let mut f = File::open(&path).await.unwrap();
    assert_eq!(f.seek(SeekFrom::Start(396)).await.unwrap(), 396);
    assert_eq!(f.read(10).await.unwrap(), b"099\n");
    assert!(f.read(10).await.unwrap().is_empty(), "end of file");
    f.seek(SeekFrom::Start(0)).await.unwrap();
    let all = f.read_to_string().await.unwrap();
    assert_eq!(all.lines().count(), 100);
    fs::remove_dir_all(&dir).await.unwrap();
}

#[test]
fn a_cancelled_file_operation_is_reported_on_the_next_call() {
    // One blocking thread, kept busy, so the file operation below is still queued (not
    // started) when it is cancelled: deterministic, whatever the machine's load.
    let rt = runtime::Builder::new()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = scratch("cancel");
        fs::create_dir_all(&dir).await.unwrap();
        let mut f = File::create(dir.join("x")).await.unwrap();
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let busy = runtime::run_in_executor(move || gate.recv().ok());
        {
            let op = std::pin::pin!(f.write_all(&[0u8; 1 << 20]));
            // Polls the write once (it queues behind `busy`), then drops it.
            let _ = runtime::select(op, std::future::ready(())).await;
        }
        release.send(()).unwrap();
        busy.await.unwrap();
        let e = f.write_all(b"more").await.unwrap_err();
        assert!(e.to_string().contains("cancelled"), "{e}");
        fs::remove_dir_all(&dir).await.unwrap();
    });
}
