//! Child processes: output capture, piped stdin to stdout, exit codes, kill, concurrent
//! children, errors, and reaping (no zombies, also for dropped handles).

use std::process::Stdio;
use std::time::Duration;

use runtime::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use runtime::process::Command;
use runtime::stream::StreamExt;

/// True once the process is gone: reaped, not a zombie (a zombie still answers
/// `kill(pid, 0)`; a reaped pid gives `ESRCH`). Portable, unlike `/proc/<pid>/stat`.
fn gone(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the pid exists; nothing is delivered.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

#[runtime::test]
async fn output_collects_stdout_stderr_and_status() {
    let out = Command::new("sh")
        .args(["-c", "echo out; echo err >&2; exit 3"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.status.code(), Some(3));
}

#[runtime::test]
async fn piped_stdin_to_stdout_through_cat() {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    // 1 MiB: more than a pipe holds, so writing and reading must interleave.
    let writer = runtime::spawn(async move {
        for i in 0..16384 {
            stdin
                .write_all(format!("line {i:057}\n").as_bytes())
                .await
                .unwrap();
        }
        stdin.close().await.unwrap(); // cat sees end of file
    });
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .map(|l| l.unwrap())
        .collect()
        .await;
    assert_eq!(lines.len(), 16384);
    assert_eq!(lines[16383], format!("line {:057}", 16383));
    writer.await.unwrap();
    assert!(child.wait().await.unwrap().success());
    assert!(child.id().is_none(), "reaped");
}

#[runtime::test]
async fn wait_is_repeatable_and_try_wait_does_not_block() {
    let mut child = Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap();
    let pid = child.id().unwrap();
    let first = child.wait().await.unwrap();
    assert_eq!(first.code(), Some(7));
    assert_eq!(child.wait().await.unwrap(), first);
    assert_eq!(child.try_wait().unwrap(), Some(first));
    assert!(gone(pid), "reaped, not a zombie");

    let mut sleeper = Command::new("sleep").arg("10").spawn().unwrap();
    assert_eq!(sleeper.try_wait().unwrap(), None);
    let status = sleeper.kill().await.unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}

#[runtime::test]
async fn many_children_at_once() {
    let mut waits = Vec::new();
    for i in 0..50 {
        waits.push(runtime::spawn(async move {
            let out = Command::new("sh")
                .args(["-c", &format!("echo {i}")])
                .output()
                .await
                .unwrap();
            String::from_utf8(out.stdout).unwrap()
        }));
    }
    for (i, w) in waits.into_iter().enumerate() {
        assert_eq!(w.await.unwrap(), format!("{i}\n"));
    }
}

#[runtime::test]
async fn the_loop_runs_while_a_child_runs() {
    let child = runtime::spawn(async { Command::new("sleep").arg("0.2").status().await.unwrap() });
    let mut ticks = 0;
    while !child.is_done() {
        runtime::sleep(Duration::from_millis(10)).await;
        ticks += 1;
    }
    assert!(child.await.unwrap().success());
    assert!(
        ticks > 3,
        "the loop was blocked while waiting for the child"
    );
}

#[runtime::test]
async fn a_missing_program_is_not_found() {
    let e = Command::new("/no/such/program").spawn().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
}

#[runtime::test]
async fn dropped_children_are_reaped() {
    // Dropped while running: the reaper waits for it.
    let child = Command::new("sleep").arg("0.05").spawn().unwrap();
    let running_pid = child.id().unwrap();
    drop(child);
    // Dropped with kill_on_drop: killed, then reaped.
    let child = Command::new("sleep")
        .arg("100")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let killed_pid = child.id().unwrap();
    drop(child);
    // Dropped after it exited but before anyone waited.
    let child = Command::new("true").spawn().unwrap();
    let exited_pid = child.id().unwrap();
    runtime::sleep(Duration::from_millis(50)).await;
    drop(child);
    for pid in [running_pid, killed_pid, exited_pid] {
        let mut reaped = false;
        for _ in 0..300 {
            if gone(pid) {
                reaped = true;
                break;
            }
            runtime::sleep(Duration::from_millis(10)).await;
        }
        assert!(reaped, "pid {pid} is still there (a zombie?)");
    }
}

#[runtime::test]
async fn stdout_can_be_read_while_the_child_is_alive() {
    let mut child = Command::new("sh")
        .args(["-c", "echo first; read x; echo got $x"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).await.unwrap();
    assert_eq!(line, "first\n");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"reply\n").await.unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).await.unwrap();
    assert_eq!(rest, "got reply\n");
    assert!(child.wait().await.unwrap().success());
}

/// In the child (started by the test below with a stdin pipe it keeps open): `cat`
/// through `output()` must read end of file, not our stdin.
#[test]
fn output_stdin_child() {
    if std::env::var_os("RUNTIME_OUTPUT_STDIN_CHILD").is_none() {
        return;
    }
    let out = runtime::run(async { Command::new("cat").output().await.unwrap() });
    println!("cat printed {} bytes", out.stdout.len());
}

#[test]
fn output_gives_the_child_a_null_stdin_unless_configured() {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "output_stdin_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RUNTIME_OUTPUT_STDIN_CHILD", "1")
        .stdin(Stdio::piped()) // kept open: a `cat` reading it would never end
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).unwrap();
        let _ = tx.send(s);
    });
    let got = rx.recv_timeout(Duration::from_secs(20));
    let _ = child.kill();
    let _ = child.wait();
    let got = got.expect("`cat` run by output() read the parent's stdin and never ended");
    assert!(got.contains("cat printed 0 bytes"), "{got}");
}

#[runtime::test]
async fn output_reads_a_large_stdout_in_full() {
    // 64 MiB through a pipe: read_to_end grows linearly (no zeroing of the whole spare
    // capacity on every read; see io::ext's read_to_end test for the bound).
    let out = Command::new("head")
        .args(["-c", "67108864", "/dev/zero"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), 64 << 20);
}
