//! Log accumulation: running sums of the loss and metrics over an epoch, kept on the device
//! and read only when logs are wanted (reading forces a device sync).

use convkit_tensor::distributed::ProcessGroup;
use convkit_tensor::tch::{self, Kind, Tensor};

use crate::training::batch_loss::BatchLoss;
use crate::training::metrics::Metric;
use crate::training::{Compiled, Logs};
use crate::{Error, Result};

/// Running sums of one output's metrics over an epoch (kept on the device; read rarely).
struct OutputTotals {
    loss: Tensor,
    metrics: Vec<Tensor>,
    metric_counts: Vec<f64>,
}

/// Running sums of the loss and metrics over an epoch.
pub(crate) struct Totals {
    loss: Tensor,
    count: f64,
    outputs: Vec<OutputTotals>,
}

impl Totals {
    pub(crate) fn new(compiled: &Compiled, device: tch::Device) -> Result<Self> {
        let z = |shape: &[i64]| Tensor::f_zeros(shape, (Kind::Double, device));
        let outputs = compiled
            .outputs
            .iter()
            .map(|o| {
                Ok(OutputTotals {
                    loss: z(&[])?,
                    metrics: o
                        .metrics
                        .iter()
                        .map(|m| match m {
                            Metric::MeanIoU(k) => z(&[*k, *k]),
                            _ => z(&[]),
                        })
                        .collect::<Result<_, _>>()?,
                    metric_counts: vec![0.0; o.metrics.len()],
                })
            })
            .collect::<Result<_>>()?;
        Ok(Totals {
            loss: z(&[])?,
            count: 0.0,
            outputs,
        })
    }

    pub(crate) fn add(
        &mut self,
        compiled: &Compiled,
        loss: &BatchLoss,
        ys: &[&Tensor],
        preds: &[Tensor],
        n: usize,
    ) -> Result<()> {
        self.count += n as f64;
        tch::no_grad(|| -> Result<()> {
            let weighted = |t: &Tensor| -> Result<Tensor> {
                Ok(t.f_to_kind(Kind::Double)?.f_mul_scalar(n as f64)?)
            };
            let total = weighted(&loss.total)?;
            let _ = self.loss.f_add_(&total)?;
            for (k, out) in compiled.outputs.iter().enumerate() {
                let totals = &mut self.outputs[k];
                // one output of weight 1: its loss is the total itself (the same tensor)
                let own = &loss.per_output[k];
                let same =
                    own.data_ptr() == loss.total.data_ptr() && own.size() == loss.total.size();
                let _ = totals.loss.f_add_(&if same {
                    total.shallow_clone()
                } else {
                    weighted(own)?
                })?;
                for (i, m) in out.metrics.iter().enumerate() {
                    if let Metric::MeanIoU(_) = m {
                        let c = m
                            .confusion(ys[k], &preds[k])?
                            .f_to_device(totals.metrics[i].device())?;
                        totals.metrics[i] = totals.metrics[i].f_add(&c)?;
                        continue;
                    }
                    let v = m.per_sample(ys[k], &preds[k])?;
                    totals.metric_counts[i] += v.numel() as f64;
                    totals.metrics[i] = totals.metrics[i].f_add(&v.f_sum(Kind::Double)?)?;
                }
            }
            Ok(())
        })
    }

    /// Sums every rank's totals, so that each rank's logs are those of all samples of all
    /// ranks (one all-reduce of every sum and count, flattened into one tensor).
    pub(crate) fn all_reduce(&mut self, group: &ProcessGroup) -> Result<()> {
        let device = self.loss.device();
        let mut sums: Vec<&mut Tensor> = vec![&mut self.loss];
        let mut counts: Vec<&mut f64> = vec![&mut self.count];
        for o in self.outputs.iter_mut() {
            sums.push(&mut o.loss);
            sums.extend(o.metrics.iter_mut());
            counts.extend(o.metric_counts.iter_mut());
        }
        let mut parts: Vec<Tensor> = Vec::with_capacity(sums.len() + 1);
        for t in sums.iter() {
            parts.push(t.f_to_device(group.device())?.f_reshape([-1])?);
        }
        let count_values: Vec<f64> = counts.iter().map(|c| **c).collect();
        parts.push(Tensor::f_from_slice(&count_values)?.f_to_device(group.device())?);
        let mut flat = vec![Tensor::f_cat(&parts, 0)?];
        group
            .all_reduce_sum(&mut flat)
            .map_err(|e| Error::distributed("reducing the epoch's metrics", e))?;
        let mut offset = 0;
        for t in sums.iter_mut() {
            let n = t.numel() as i64;
            let reduced = flat[0]
                .f_narrow(0, offset, n)?
                .f_reshape(t.size())?
                .f_to_device(device)?;
            **t = reduced;
            offset += n;
        }
        let reduced = flat[0]
            .f_narrow(0, offset, counts.len() as i64)?
            .f_to_device(tch::Device::Cpu)?;
        let reduced = Vec::<f64>::try_from(reduced)?;
        for (c, r) in counts.into_iter().zip(reduced) {
            *c = r;
        }
        Ok(())
    }

    /// Samples added so far.
    pub(crate) fn samples(&self) -> f64 {
        self.count
    }

    pub(crate) fn logs(&self, compiled: &Compiled) -> Result<Logs> {
        let mut logs = Logs::default();
        let count = self.count.max(1.0);
        for (k, out) in compiled.outputs.iter().enumerate() {
            let totals = &self.outputs[k];
            for (i, m) in out.metrics.iter().enumerate() {
                let value = match m {
                    Metric::MeanIoU(_) => Metric::mean_iou(&totals.metrics[i])?,
                    _ => totals.metrics[i].f_double_value(&[])? / totals.metric_counts[i].max(1.0),
                };
                logs.set(&compiled.metric_log_name(k, i), value);
            }
        }
        if compiled.is_multi_output() {
            for (k, out) in compiled.outputs.iter().enumerate() {
                let value = self.outputs[k].loss.f_double_value(&[])? / count;
                logs.set(&format!("{}_loss", out.name), value);
            }
        }
        logs.set("loss", self.loss.f_double_value(&[])? / count);
        Ok(logs)
    }
}
