//! [`ClassificationReport`] and [`confusion_matrix`]: scikit-learn's `classification_report`
//! and `confusion_matrix` over a classifier's predictions, with its numbers and its text.
//!
//! As scikit-learn with `labels=range(classes)` and the default `zero_division="warn"`: a
//! precision, recall or F1 whose denominator is zero is 0; `accuracy` is the fraction of
//! correct predictions; `macro avg` is the unweighted mean over every class (absent ones
//! included) and `weighted avg` the mean weighted by support.

use serde::Serialize;

use crate::{Error, Result};

/// `counts[true][predicted]` from class indices in `0..classes` (scikit-learn's
/// `confusion_matrix(y_true, y_pred, labels=range(classes))`).
pub fn confusion_matrix(truth: &[i64], predicted: &[i64], classes: usize) -> Result<Vec<Vec<u64>>> {
    let invalid = |problem: String| Error::Targets {
        what: "confusion matrix".into(),
        problem,
    };
    if truth.len() != predicted.len() {
        return Err(invalid(format!(
            "{} true labels but {} predictions",
            truth.len(),
            predicted.len()
        )));
    }
    let mut m = vec![vec![0u64; classes]; classes];
    for (&t, &p) in truth.iter().zip(predicted) {
        let index = |c: i64| usize::try_from(c).ok().filter(|&c| c < classes);
        match (index(t), index(p)) {
            (Some(t), Some(p)) => m[t][p] += 1,
            _ => {
                let bad = if index(t).is_none() { t } else { p };
                return Err(invalid(format!("class {bad} outside 0..{classes}")));
            }
        }
    }
    Ok(m)
}

/// Precision, recall, F1 and support of one class or one average.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClassScores {
    /// `tp / (tp + fp)`.
    pub precision: f64,
    /// `tp / (tp + fn)`.
    pub recall: f64,
    /// `2 tp / (2 tp + fp + fn)`.
    #[serde(rename = "f1-score")]
    pub f1_score: f64,
    /// True samples of the class (all samples for an average).
    pub support: u64,
}

/// scikit-learn's `classification_report`: per-class scores, accuracy, macro and weighted
/// averages, and the confusion matrix they come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassificationReport {
    /// Class names, in label order.
    pub class_names: Vec<String>,
    /// Scores of each class, in label order.
    pub classes: Vec<ClassScores>,
    /// Fraction of samples predicted right.
    pub accuracy: f64,
    /// Unweighted means over the classes.
    pub macro_avg: ClassScores,
    /// Means weighted by support.
    pub weighted_avg: ClassScores,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u64>>,
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

impl ClassificationReport {
    /// The report of `predicted` against `truth` (class indices into `class_names`).
    pub fn new(truth: &[i64], predicted: &[i64], class_names: &[String]) -> Result<Self> {
        let k = class_names.len();
        let confusion = confusion_matrix(truth, predicted, k)?;
        let total: u64 = confusion.iter().flatten().sum();
        let classes: Vec<ClassScores> = (0..k)
            .map(|c| {
                let tp = confusion[c][c];
                let support: u64 = confusion[c].iter().sum();
                let predicted: u64 = confusion.iter().map(|row| row[c]).sum();
                ClassScores {
                    precision: ratio(tp, predicted),
                    recall: ratio(tp, support),
                    f1_score: ratio(2 * tp, support + predicted),
                    support,
                }
            })
            .collect();
        let correct: u64 = (0..k).map(|c| confusion[c][c]).sum();
        let mean = |weight: &dyn Fn(&ClassScores) -> f64| -> ClassScores {
            let w: f64 = classes.iter().map(weight).sum();
            let avg = |f: fn(&ClassScores) -> f64| {
                if w == 0.0 {
                    0.0
                } else {
                    classes.iter().map(|c| weight(c) * f(c)).sum::<f64>() / w
                }
            };
            ClassScores {
                precision: avg(|c| c.precision),
                recall: avg(|c| c.recall),
                f1_score: avg(|c| c.f1_score),
                support: total,
            }
        };
        Ok(ClassificationReport {
            class_names: class_names.to_vec(),
            macro_avg: mean(&|_| 1.0),
            weighted_avg: mean(&|c| c.support as f64),
            accuracy: ratio(correct, total),
            classes,
            confusion,
        })
    }

    /// The report as scikit-learn prints it (`digits=2`).
    pub fn to_text(&self) -> String {
        let width = self
            .class_names
            .iter()
            .map(|n| n.chars().count())
            .chain(["weighted avg".len(), 2])
            .max()
            .unwrap_or(12);
        let mut s = format!(
            "{:>width$}  {:>9} {:>9} {:>9} {:>9}\n\n",
            "", "precision", "recall", "f1-score", "support"
        );
        let row = |name: &str, c: &ClassScores| {
            format!(
                "{name:>width$}  {:>9.2} {:>9.2} {:>9.2} {:>9}\n",
                c.precision, c.recall, c.f1_score, c.support
            )
        };
        for (name, c) in self.class_names.iter().zip(&self.classes) {
            s += &row(name, c);
        }
        s += "\n";
        s += &format!(
            "{:>width$}  {:>9} {:>9} {:>9.2} {:>9}\n",
            "accuracy", "", "", self.accuracy, self.macro_avg.support
        );
        s += &row("macro avg", &self.macro_avg);
        s += &row("weighted avg", &self.weighted_avg);
        s
    }

    /// The report as scikit-learn's `output_dict=True` gives it (class names as keys, then
    /// `accuracy`, `macro avg`, `weighted avg`), with the confusion matrix under `confusion`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (name, c) in self.class_names.iter().zip(&self.classes) {
            m.insert(name.clone(), serde_json::json!(c));
        }
        m.insert("accuracy".into(), serde_json::json!(self.accuracy));
        m.insert("macro avg".into(), serde_json::json!(self.macro_avg));
        m.insert("weighted avg".into(), serde_json::json!(self.weighted_avg));
        m.insert("confusion".into(), serde_json::json!(self.confusion));
        serde_json::Value::Object(m)
    }
}
