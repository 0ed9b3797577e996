//! Two processes on 127.0.0.1 form a Gloo group and run every collective; a missing peer is
//! an error after the timeout, not a hang. The test binary starts itself twice (the `rank`
//! test, told its rank by `CK_TEST_RANK`), as `torchrun` would start two ranks; a rank reports
//! on its standard output, which the starting test reads.
#![allow(clippy::print_stdout)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use convkit_c10d::ProcessGroup;
use tch::{Device, Kind, Tensor};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts this test binary's `rank` test as rank `rank` of `world` at `port`.
fn start(rank: usize, world: usize, port: u16, timeout_s: u64) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "rank", "--nocapture", "--test-threads", "1"])
        .env("CK_TEST_RANK", rank.to_string())
        .env("CK_TEST_WORLD", world.to_string())
        .env("CK_TEST_PORT", port.to_string())
        .env("CK_TEST_TIMEOUT", timeout_s.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// One rank's part (run only when started by the tests below).
#[test]
fn rank() {
    let Ok(rank) = std::env::var("CK_TEST_RANK") else {
        return;
    };
    let rank: usize = rank.parse().unwrap();
    let world: usize = std::env::var("CK_TEST_WORLD").unwrap().parse().unwrap();
    let port: u16 = std::env::var("CK_TEST_PORT").unwrap().parse().unwrap();
    let timeout: u64 = std::env::var("CK_TEST_TIMEOUT").unwrap().parse().unwrap();
    let group = match ProcessGroup::new_gloo(
        "127.0.0.1",
        port,
        rank,
        world,
        Duration::from_secs(timeout),
    ) {
        Ok(g) => g,
        Err(e) => {
            println!("RESULT error: {e}");
            return;
        }
    };
    assert_eq!((group.rank(), group.world_size()), (rank, world));
    let opts = (Kind::Float, Device::Cpu);
    let r = rank as f64;
    // Sum of one tensor, and of three coalesced (two kinds: one call per kind).
    let mut one = vec![Tensor::full([4], r + 1.0, opts)];
    group.all_reduce_sum(&mut one).unwrap();
    let mut three = vec![
        Tensor::full([2, 3], r, opts),
        Tensor::full([5], 10.0 * r, opts),
        Tensor::full([1], r, (Kind::Double, Device::Cpu)),
    ];
    group.all_reduce_sum(&mut three).unwrap();
    let mut mean = vec![Tensor::full([3], r * 4.0, opts)];
    group.all_reduce_mean(&mut mean).unwrap();
    // Rank 1's values everywhere.
    let mut b = vec![Tensor::full([2], r + 7.0, opts)];
    group.broadcast(&mut b, 1).unwrap();
    let gathered = group
        .all_gather(&Tensor::full([2], r * 100.0, opts))
        .unwrap();
    group.barrier().unwrap();
    let total = group.sum_scalar(r + 0.5).unwrap();
    // Shares of different lengths: rank 0 rows [0, 1], rank 1 rows [10, 11, 12] (2 columns).
    let share = Tensor::arange(2 + rank as i64, (Kind::Int64, Device::Cpu)) + 10 * rank as i64;
    let rows = group
        .all_gather_rows(Some(&Tensor::stack(&[&share, &share], 1)))
        .unwrap()
        .unwrap();
    // Rank 1 has nothing to give.
    let share = Tensor::from_slice(&[5.0f32, 6.0]).view([1, 2]);
    let some = group
        .all_gather_rows((rank == 0).then_some(&share))
        .unwrap()
        .unwrap();
    let nothing = group.all_gather_rows(None).unwrap();
    let rows: Vec<i64> = Vec::try_from(rows.select(1, 0)).unwrap();
    // Tensors only rank 0 knows the shapes of.
    let sent = (rank == 0).then(|| {
        vec![
            Tensor::from_slice(&[1.5f32, 2.5, 3.5]).view([3, 1]),
            Tensor::from_slice(&[7u8]),
        ]
    });
    let new = group.broadcast_new(sent.as_deref(), 0).unwrap();
    let v = |t: &Tensor| f64::try_from(t.sum(Kind::Double)).unwrap();
    let new_shapes: Vec<String> = new
        .iter()
        .map(|t| format!("{:?}{:?}={}", t.kind(), t.size(), v(t)))
        .collect();
    let some = format!("{:?}{:?}={}", some.kind(), some.size(), v(&some));
    println!(
        "RESULT one {} three {} {} {} mean {} broadcast {} gathered {} {} total {} rows {:?} {} {} new {}",
        v(&one[0]),
        v(&three[0]),
        v(&three[1]),
        v(&three[2]),
        v(&mean[0]),
        v(&b[0]),
        v(&gathered[0]),
        v(&gathered[1]),
        total,
        rows,
        some,
        nothing.is_none(),
        new_shapes.join(" ")
    );
}

fn result(child: std::process::Child) -> String {
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r.to_string()))
        .unwrap_or_else(|| panic!("no RESULT line: {text}"))
}

#[test]
fn two_ranks_run_every_collective() {
    let port = free_port();
    let children = [start(0, 2, port, 60), start(1, 2, port, 60)];
    let results: Vec<String> = children.into_iter().map(result).collect();
    // one: (1 + 2) * 4; three: (0 + 1) * 6, (0 + 10) * 5, 0 + 1; mean: (0 + 4) / 2 * 3;
    // broadcast: rank 1's 8 * 2; gathered: 0 * 2 and 100 * 2; total: 0.5 + 1.5; rows: rank 0's
    // two then rank 1's three, then rank 0's one row alone, then none; new: rank 0's tensors with their kinds and shapes.
    let expected = "one 12 three 6 50 1 mean 6 broadcast 16 gathered 0 200 total 2 \
                    rows [0, 1, 10, 11, 12] Float[1, 2]=11 true new Float[3, 1]=7.5 Uint8[1]=7";
    for (rank, r) in results.iter().enumerate() {
        assert_eq!(r, expected, "rank {rank}");
    }
}

#[test]
fn a_missing_peer_is_an_error_not_a_hang() {
    let start_time = Instant::now();
    // A world of two where only rank 0 comes.
    let r = result(start(0, 2, free_port(), 3));
    assert!(r.starts_with("error: c10d: joining the Gloo group"), "{r}");
    assert!(
        start_time.elapsed() < Duration::from_secs(60),
        "gave up after {:?}",
        start_time.elapsed()
    );
}

#[test]
fn bad_settings_are_errors() {
    let e = ProcessGroup::new_gloo("127.0.0.1", 1, 2, 2, Duration::from_secs(1)).unwrap_err();
    assert!(e.to_string().contains("rank 2 of a world of 2"), "{e}");
}

#[test]
fn torchrun_variables_are_read_and_checked() {
    // Without WORLD_SIZE: one process, no group.
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "from_env_probe", "--nocapture"])
            .env("CK_FROM_ENV", "1");
        for v in [
            "WORLD_SIZE",
            "RANK",
            "MASTER_ADDR",
            "MASTER_PORT",
            "CONVKIT_DIST_BACKEND",
        ] {
            cmd.env_remove(v);
        }
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.split_once("FROM_ENV ").map(|(_, r)| r.to_string()))
            .unwrap_or_default()
    };
    assert_eq!(run(&[]), "none");
    let r = run(&[
        ("WORLD_SIZE", "2"),
        ("MASTER_ADDR", "127.0.0.1"),
        ("MASTER_PORT", "1"),
    ]);
    assert!(r.contains("RANK is not"), "{r}");
    let r = run(&[("WORLD_SIZE", "two")]);
    assert!(r.contains("WORLD_SIZE=two"), "{r}");
    let port = free_port().to_string();
    let vars = [
        ("WORLD_SIZE", "1"),
        ("RANK", "0"),
        ("MASTER_ADDR", "127.0.0.1"),
        ("MASTER_PORT", port.as_str()),
    ];
    assert_eq!(run(&vars), "rank 0 of 1");
    let mut other = vars.to_vec();
    other.push(("CONVKIT_DIST_BACKEND", "mpi"));
    assert!(run(&other).contains("CONVKIT_DIST_BACKEND=mpi"));
    // NCCL asked for on a machine without a GPU (or a build without NCCL): an error that
    // says why, before any rendezvous.
    let mut nccl = vars.to_vec();
    nccl.push(("CONVKIT_DIST_BACKEND", "nccl"));
    let r = run(&nccl);
    if tch::Cuda::is_available() {
        assert_eq!(r, "rank 0 of 1");
    } else {
        assert!(
            r.contains("NCCL on CUDA device 0: this machine has 0 CUDA devices")
                || r.contains("built without NCCL"),
            "{r}"
        );
    }
}

#[test]
fn nccl_needs_a_cuda_device() {
    if tch::Cuda::is_available() {
        return;
    }
    let e = ProcessGroup::new_nccl("127.0.0.1", 1, 0, 1, 0, Duration::from_secs(1)).unwrap_err();
    // The bootstrap's CUDA wheel of torch (with the NCCL, CUDA runtime and CCCL wheels) builds
    // the NCCL shim; a CPU-only libtorch builds without it and says so.
    let venv = std::env::var_os("CONVKIT_VENV").map(std::path::PathBuf::from);
    let cuda_wheel = venv.is_some_and(|v| {
        std::fs::read_dir(v.join("lib")).is_ok_and(|mut pythons| {
            pythons.any(|p| {
                p.is_ok_and(|p| {
                    p.path()
                        .join("site-packages/torch/lib/libtorch_cuda.so")
                        .is_file()
                })
            })
        })
    });
    if convkit_c10d::HAS_NCCL {
        assert!(e.to_string().contains("0 CUDA devices"), "{e}");
    } else {
        assert!(
            !cuda_wheel,
            "the venv's torch is a CUDA build, yet NCCL was not built"
        );
        assert!(e.to_string().contains("built without NCCL"), "{e}");
    }
}

/// Reports what `ProcessGroup::from_env` makes of this process's environment.
#[test]
fn from_env_probe() {
    if std::env::var_os("CK_FROM_ENV").is_none() {
        return;
    }
    match ProcessGroup::from_env() {
        Ok(None) => println!("FROM_ENV none"),
        Ok(Some(g)) => println!("FROM_ENV rank {} of {}", g.rank(), g.world_size()),
        Err(e) => println!("FROM_ENV {e}"),
    }
}

#[test]
fn torchrun_starts_the_ranks() {
    // examples/allreduce.rs, which `cargo test` builds next to this test binary.
    let exe = std::env::current_exe().unwrap();
    let example = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/allreduce");
    let venv = std::env::var_os("CONVKIT_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv"));
    let port = free_port().to_string();
    let out = Command::new(venv.join("bin/torchrun"))
        .args([
            "--nproc-per-node",
            "2",
            "--master-addr",
            "127.0.0.1",
            "--master-port",
            &port,
            "--no-python",
        ])
        .arg(&example)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for rank in 0..2 {
        assert!(
            text.contains(&format!("rank {rank} of 2: all-reduced sum 3 (total 12)")),
            "{text}"
        );
    }
}
