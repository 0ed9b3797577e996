//! `summary()`: the table Keras prints, as data ([`Summary`]) and as text (its `Display`).

use std::fmt;

use crate::error::shape_string;
use crate::models::model::Model;

/// One row of a summary.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// Layer name.
    pub name: String,
    /// Layer class.
    pub class_name: String,
    /// Output shape without batch dimension (None when not built).
    pub output_shape: Option<Vec<i64>>,
    /// Parameter count.
    pub params: i64,
    /// Inbound layers (`conv2d[0][0]`) of a functional model's layer; `None` for `Sequential`.
    pub connected_to: Option<Vec<String>>,
}

/// What `model.summary()` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Model name.
    pub model_name: String,
    /// One row per layer.
    pub rows: Vec<SummaryRow>,
    /// All parameters.
    pub total_params: i64,
    /// Parameters updated by training.
    pub trainable_params: i64,
    /// Parameters not updated by training (frozen layers, BatchNorm statistics).
    pub non_trainable_params: i64,
}

/// Builds the summary of a model.
pub fn summary(model: &dyn Model) -> Summary {
    let shapes = model.layer_output_shapes();
    let connections = model.connections();
    let mut rows = Vec::new();
    let (mut total, mut trainable) = (0, 0);
    for (i, layer) in model.layers().into_iter().enumerate() {
        let params = layer.count_params();
        total += params;
        if layer.trainable() {
            trainable += layer
                .params()
                .iter()
                .filter(|p| p.trainable)
                .map(|p| p.numel())
                .sum::<i64>();
        }
        rows.push(SummaryRow {
            name: layer.name().to_string(),
            class_name: layer.class_name().to_string(),
            output_shape: shapes.get(i).cloned(),
            params,
            connected_to: connections.as_ref().and_then(|c| c.get(i).cloned()),
        });
    }
    Summary {
        model_name: model.name().to_string(),
        rows,
        total_params: total,
        trainable_params: trainable,
        non_trainable_params: total - trainable,
    }
}

/// `93322` -> `"93,322"`.
pub fn thousands(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Memory of `n` float32 parameters, as Keras prints it (`364.54 KB`).
pub fn readable_size(n: i64) -> String {
    let bytes = (n * 4) as f64;
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.2} {}", units[u])
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let functional = self.rows.iter().any(|r| r.connected_to.is_some());
        let mut header = vec!["Layer (type)", "Output Shape", "Param #"];
        if functional {
            header.push("Connected to");
        }
        let ncol = header.len();
        // Each cell is a list of lines.
        let cells: Vec<Vec<Vec<String>>> = self
            .rows
            .iter()
            .map(|r| {
                let mut row = vec![
                    vec![format!("{} ({})", r.name, r.class_name)],
                    vec![r
                        .output_shape
                        .as_deref()
                        .map(shape_string)
                        .unwrap_or_else(|| "?".into())],
                    vec![thousands(r.params)],
                ];
                if functional {
                    let links = r.connected_to.clone().unwrap_or_default();
                    row.push(if links.is_empty() {
                        vec!["-".to_string()]
                    } else {
                        links
                    });
                }
                row
            })
            .collect();
        let mut w: Vec<usize> = header.iter().map(|h| h.len()).collect();
        for row in &cells {
            for (k, cell) in row.iter().enumerate() {
                for line in cell {
                    w[k] = w[k].max(line.chars().count());
                }
            }
        }
        let w: Vec<usize> = w.iter().map(|x| x + 2).collect();
        let line = |l: &str, m: &str, r: &str, fill: &str| {
            let parts: Vec<String> = w.iter().map(|&x| fill.repeat(x)).collect();
            format!("{l}{}{r}", parts.join(m))
        };
        let text_row = |sep: &str, texts: &[&str]| {
            let mut out = String::from(sep);
            for (k, width) in w.iter().enumerate().take(ncol) {
                let t = texts.get(k).copied().unwrap_or("");
                if k == 2 {
                    out.push_str(&format!(" {:>a$} {sep}", t, a = width - 2));
                } else {
                    out.push_str(&format!(" {:<a$} {sep}", t, a = width - 2));
                }
            }
            out
        };
        writeln!(f, "Model: \"{}\"", self.model_name)?;
        writeln!(f, "{}", line("┏", "┳", "┓", "━"))?;
        writeln!(f, "{}", text_row("┃", &header))?;
        writeln!(f, "{}", line("┡", "╇", "┩", "━"))?;
        for (i, row) in cells.iter().enumerate() {
            let height = row.iter().map(|c| c.len()).max().unwrap_or(1);
            for l in 0..height {
                let texts: Vec<&str> = row
                    .iter()
                    .map(|c| c.get(l).map(|s| s.as_str()).unwrap_or(""))
                    .collect();
                writeln!(f, "{}", text_row("│", &texts))?;
            }
            if i + 1 < cells.len() {
                writeln!(f, "{}", line("├", "┼", "┤", "─"))?;
            }
        }
        writeln!(f, "{}", line("└", "┴", "┘", "─"))?;
        writeln!(
            f,
            " Total params: {} ({})",
            thousands(self.total_params),
            readable_size(self.total_params)
        )?;
        writeln!(
            f,
            " Trainable params: {} ({})",
            thousands(self.trainable_params),
            readable_size(self.trainable_params)
        )?;
        write!(
            f,
            " Non-trainable params: {} ({})",
            thousands(self.non_trainable_params),
            readable_size(self.non_trainable_params)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats_follow_keras() {
        assert_eq!(thousands(93322), "93,322");
        assert_eq!(thousands(138357544), "138,357,544");
        assert_eq!(thousands(320), "320");
        assert_eq!(readable_size(93322), "364.54 KB");
        assert_eq!(readable_size(0), "0.00 B");
    }
}
