//! Running a [`Functional`] model: each node once, in topological order, values dropped as
//! soon as no later node needs them, and a convolution followed only by an inference-mode
//! BatchNormalization run as one folded convolution.

use convkit_tensor::tch::Tensor;

use super::model::Functional;
use crate::layers::layer::call_layer_multi;
use crate::Result;

impl Functional {
    /// Evaluates `fetch` given values for `feeds`; also returns the activity penalties.
    /// Intermediate values are dropped as soon as no remaining node needs them.
    pub(super) fn run(
        &self,
        feeds: Vec<(usize, Tensor)>,
        fetch: &[usize],
        training: bool,
    ) -> Result<(Vec<Tensor>, Option<Tensor>)> {
        let n = self.nodes.len();
        let mut values: Vec<Option<Tensor>> = (0..n).map(|_| None).collect();
        let mut fed = vec![false; n];
        for (i, t) in feeds {
            fed[i] = true;
            values[i] = Some(t);
        }
        let mut needed = vec![false; n];
        let mut stack: Vec<usize> = fetch.to_vec();
        while let Some(i) = stack.pop() {
            if needed[i] {
                continue;
            }
            needed[i] = true;
            if !fed[i] {
                stack.extend(self.nodes[i].inputs.iter().copied());
            }
        }
        let mut remaining = vec![0usize; n];
        for i in (0..n).filter(|&i| needed[i] && !fed[i]) {
            for &j in &self.nodes[i].inputs {
                remaining[j] += 1;
            }
        }
        for &f in fetch {
            remaining[f] += 1;
        }
        // Single consumer of each node (usize::MAX: none or several), for BN folding.
        let mut consumer = vec![usize::MAX; n];
        for i in (0..n).filter(|&i| needed[i] && !fed[i]) {
            if let [j] = self.nodes[i].inputs.as_slice() {
                consumer[*j] = i;
            }
        }
        let mut folded = vec![false; n];
        let mut extra: Option<Tensor> = None;
        for i in 0..n {
            if !needed[i] || fed[i] || folded[i] {
                continue;
            }
            let node = &self.nodes[i];
            let layer = &self.layers[node.layer];
            if let Some((c, y)) = self.try_fold(i, &consumer, &remaining, &values, training)? {
                for &j in &node.inputs {
                    remaining[j] -= 1;
                    if remaining[j] == 0 {
                        values[j] = None;
                    }
                }
                folded[c] = true;
                values[c] = Some(y);
                continue;
            }
            if node.inputs.is_empty() {
                return Err(self.error(format!(
                    "needs a value for input '{}', which was not given",
                    layer.name()
                )));
            }
            let xs: Vec<Tensor> = node
                .inputs
                .iter()
                .map(|&j| {
                    values[j]
                        .as_ref()
                        .map(|t| t.shallow_clone())
                        .ok_or_else(|| self.error(format!("value of node {j} missing")))
                })
                .collect::<Result<_>>()?;
            let refs: Vec<&Tensor> = xs.iter().collect();
            let y = call_layer_multi(layer.as_ref(), &refs, training)?;
            drop(refs);
            drop(xs);
            if let Some(r) = layer.activity_regularizer() {
                let batch = y.size().first().copied().unwrap_or(1).max(1);
                let p = r.penalty(&y)?.f_div_scalar(batch as f64)?;
                extra = Some(match extra {
                    Some(e) => e.f_add(&p)?,
                    None => p,
                });
            }
            for &j in &node.inputs {
                remaining[j] -= 1;
                if remaining[j] == 0 {
                    values[j] = None;
                }
            }
            values[i] = Some(y);
        }
        let outs = fetch
            .iter()
            .map(|&f| {
                values[f]
                    .as_ref()
                    .map(|t| t.shallow_clone())
                    .ok_or_else(|| self.error(format!("value of node {f} missing")))
            })
            .collect::<Result<_>>()?;
        Ok((outs, extra))
    }

    /// Batch normalization folding: when node `i` is a convolution whose only use is a
    /// `BatchNormalization` in inference mode (no activity regularizer on either), runs both
    /// as one convolution with a folded kernel and returns the BN node and its value.
    fn try_fold(
        &self,
        i: usize,
        consumer: &[usize],
        remaining: &[usize],
        values: &[Option<Tensor>],
        training: bool,
    ) -> Result<Option<(usize, Tensor)>> {
        let c = consumer[i];
        if c == usize::MAX || remaining[i] != 1 {
            return Ok(None);
        }
        let (conv, bn) = (
            &self.layers[self.nodes[i].layer],
            &self.layers[self.nodes[c].layer],
        );
        if conv.activity_regularizer().is_some() || bn.activity_regularizer().is_some() {
            return Ok(None);
        }
        let Some(affine) = bn.channel_affine(training) else {
            return Ok(None);
        };
        let [input] = self.nodes[i].inputs.as_slice() else {
            return Ok(None);
        };
        let Some(x) = values[*input].as_ref() else {
            return Ok(None);
        };
        let (scale, shift) = affine?;
        let x = crate::mixed_precision::autocast_input(conv.common().dtype, x)?;
        match conv.forward_folded(&x, &scale, &shift) {
            Some(y) => Ok(Some((c, y?))),
            None => Ok(None),
        }
    }
}
