//! `--mode features`: a pretrained base's features extracted once into a
//! [`FeatureCache`], a dense head trained on them, then base and head saved as one model on
//! images (the book's "fast feature extraction without data augmentation"). On several ranks
//! the extraction is split across them ([`super::features_shared`]) and the head trains
//! data-parallel.

use convkit_data::feature_cache::{CacheKey, FeatureCache};
use convkit_data::image_folder::Listing;
use convkit_layers::prelude::*;
use convkit_layers::saving::fingerprint::model_fingerprint;
use convkit_tensor::tch::Tensor;
use convkit_tensor::BatchSource;
use serde_json::json;

use super::features_shared::{SplitFeatures, CACHE_SHARD};
use super::{served_paths, Engine, Phase, TrainOutcome};
use crate::commands::train::network::{apply_head, Network};
use crate::commands::train::report;

impl Engine<'_> {
    /// `--mode features`: the base's features cached, a head trained on them, then base and
    /// head saved as one model that takes images.
    pub(super) fn features(&self) -> anyhow::Result<TrainOutcome> {
        let a = self.args;
        let Network::Pretrained {
            base,
            weights,
            head,
            pooling,
            ..
        } = &self.plan.network
        else {
            anyhow::bail!("--mode features needs a pretrained base");
        };
        let mut conv_base = base.build(false, self.plan.size, *pooling, self.device)?;
        base.load_weights(&mut conv_base, weights)?;
        conv_base.set_trainable(false);
        let base_key = model_fingerprint(&conv_base)?;
        let cached = |split: &str, listing: &Listing| -> anyhow::Result<SplitFeatures> {
            let folder = self.folder_batched(listing, false, a.extract_batch_size)?;
            let key = CacheKey {
                model: base_key.clone(),
                data: format!(
                    "{}-{}",
                    folder.fingerprint(),
                    json!(self.plan.info.preprocessing)
                ),
            };
            let dir = a.out.join("cache").join(split);
            if let Some(group) = self.ranks.group() {
                return self.shared_features(group, split, folder, &dir, key, &conv_base);
            }
            if let Some(c) = FeatureCache::open(&dir, &key)? {
                println!(
                    "{split}: reusing {} cached features",
                    c.manifest().num_samples
                );
                let paths = folder.samples().iter().map(|s| s.path.clone()).collect();
                return SplitFeatures::from_cache(c, paths);
            }
            let started = std::time::Instant::now();
            let mut source = self.source(folder.clone());
            let mut extract = |x: &Tensor| -> convkit_data::Result<Tensor> {
                conv_base
                    .forward(x, false)
                    .map_err(|e| convkit_data::Error::Tensor(convkit_tensor::Error::other(e)))
            };
            let c = FeatureCache::build(&dir, key, source.as_mut(), &mut extract, CACHE_SHARD)?;
            println!(
                "{split}: extracted features {:?} of {} images in {:.1} s",
                c.manifest().feature_shape,
                c.manifest().num_samples,
                started.elapsed().as_secs_f64()
            );
            drop(source);
            SplitFeatures::from_cache(c, served_paths(&folder))
        };
        let train = cached("train", &self.splits.train)?;
        let val = cached("validation", &self.splits.validation)?;
        convkit_tensor::seed::set_seed(a.rt.seed);
        let feature_shape = train.feature_shape();
        let mut g = Graph::new().on_device(self.device);
        let input = g.input(feature_shape);
        let out = apply_head(&mut g, input, *head, *pooling, self.plan.top)?;
        let mut head_model = g.model("head", &[input], &[out])?;
        self.compile(&mut head_model, self.plan.lr)?;
        self.show(&head_model);
        let head_dir = a.out.join("features_head");
        let options = self.fit_options(
            Phase {
                name: "features",
                checkpoint_dir: &head_dir,
                first_epoch: 0,
                epochs: self.plan.epochs,
                initial_best: None,
            },
            val.batches(a.batch_size, false, 0)?,
            self.tensorboard({
                let val = val.clone();
                let batch = a.batch_size;
                move || -> anyhow::Result<Box<dyn BatchSource>> { val.batches(batch, false, 0) }
            }),
        );
        let mut batches = train.batches(a.batch_size, true, a.rt.seed)?;
        let history = head_model.fit_source(batches.as_mut(), options)?;
        self.restore_best(&mut head_model, &head_dir)?;
        let test = if self.splits.test.samples.is_empty() {
            if self.ranks.is_main() {
                println!("No test images: the test metrics and report are skipped.");
            }
            None
        } else {
            // Every rank extracts its share of the test images; rank 0 scores them.
            let test = cached("test", &self.splits.test)?;
            if !self.ranks.is_main() {
                return Ok(TrainOutcome {
                    history,
                    test: None,
                    frozen_test: None,
                });
            }
            let logs = head_model.evaluate_source(test.batches(64, false, 0)?.as_mut())?;
            let (probs, labels) =
                report::predict_source(&head_model, test.batches(64, false, 0)?.as_mut())?;
            Some(report::write(
                &a.out,
                "test",
                &self.plan,
                &logs,
                &probs,
                &labels,
                test.paths(),
            )?)
        };
        if !self.ranks.is_main() {
            return Ok(TrainOutcome {
                history,
                test,
                frozen_test: None,
            });
        }
        // Base and head as one model on images, so predict, gradcam and activations work.
        let mut g = Graph::new().on_device(self.device);
        let images = g.input([3, self.plan.size, self.plan.size]);
        let x = g.apply(conv_base, images)?;
        let x = g.apply(head_model, x)?;
        let full = g.model("classifier", &[images], &[x])?;
        self.plan
            .info
            .save_with(&full, &a.out.join(RUN_MODEL_DIR))?;
        Ok(TrainOutcome {
            history,
            test,
            frozen_test: None,
        })
    }
}
