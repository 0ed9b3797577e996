//! The classification report and confusion matrix against scikit-learn.
//!
//! Fixture: `layers/tests/fixtures/sklearn_classification_report.json`, made by
//! `.venv/bin/python scripts/fixtures/make_classification_report_golden.py` (scikit-learn
//! 1.9.1): for each case, `classification_report(y_true, y_pred, labels=range(k),
//! target_names=class_names)` as text and with `output_dict=True`, and
//! `confusion_matrix(y_true, y_pred, labels=range(k))`.

use convkit_layers::training::{confusion_matrix, ClassScores, ClassificationReport};
use serde_json::Value;

fn cases() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sklearn_classification_report.json"
    );
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["cases"].as_array().unwrap().clone()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn assert_scores(ours: &ClassScores, theirs: &Value, what: &str) {
    for (name, value) in [
        ("precision", ours.precision),
        ("recall", ours.recall),
        ("f1-score", ours.f1_score),
    ] {
        let expected = theirs[name].as_f64().unwrap();
        assert!(
            (value - expected).abs() < 1e-12,
            "{what} {name}: {value} vs scikit-learn's {expected}"
        );
    }
    assert_eq!(
        ours.support as f64,
        theirs["support"].as_f64().unwrap(),
        "{what} support"
    );
}

#[test]
fn report_and_confusion_equal_scikit_learn() {
    let cases = cases();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let what = case["name"].as_str().unwrap();
        let names: Vec<String> = case["class_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        let (truth, predicted) = (ints(&case["y_true"]), ints(&case["y_pred"]));
        let report = ClassificationReport::new(&truth, &predicted, &names).unwrap();
        let expected: Vec<Vec<u64>> = case["confusion"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| ints(row).into_iter().map(|c| c as u64).collect())
            .collect();
        assert_eq!(report.confusion, expected, "{what}: confusion matrix");
        assert_eq!(
            confusion_matrix(&truth, &predicted, names.len()).unwrap(),
            expected
        );
        let dict = &case["dict"];
        for (name, scores) in names.iter().zip(&report.classes) {
            assert_scores(scores, &dict[name], &format!("{what}/{name}"));
        }
        assert_scores(
            &report.macro_avg,
            &dict["macro avg"],
            &format!("{what} macro"),
        );
        assert_scores(
            &report.weighted_avg,
            &dict["weighted avg"],
            &format!("{what} weighted"),
        );
        let accuracy = dict["accuracy"].as_f64().unwrap();
        assert!(
            (report.accuracy - accuracy).abs() < 1e-12,
            "{what} accuracy"
        );
        assert_eq!(
            report.to_text(),
            case["text"].as_str().unwrap(),
            "{what}: text"
        );
    }
}

#[test]
fn labels_outside_the_classes_are_errors() {
    let names = vec!["a".to_string(), "b".to_string()];
    let e = ClassificationReport::new(&[0, 2], &[0, 1], &names).unwrap_err();
    assert!(e.to_string().contains("class 2 outside 0..2"), "{e}");
    assert!(ClassificationReport::new(&[0], &[0, 1], &names).is_err());
}
