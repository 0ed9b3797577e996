//! One training of `convkit train`: the folders, the callbacks (`BackupAndRestore`, the
//! best model by `val_loss` saved with its class names and preprocessing, `TerminateOnNaN`),
//! `fit`, the fine-tuning phase, and the feature-cache path of `--mode features`.

use std::path::{Path, PathBuf};

use convkit::classifier_info::{ClassifierInfo, Preprocessing};
use convkit_data::image_folder::{
    DecodedCache, ImageFolder, ImageFolderOptions, Listing, ResizeFilter,
};
use convkit_layers::prelude::*;
use convkit_layers::saving::WEIGHTS_FILE;
use convkit_layers::training::ClassWeight;
use convkit_tensor::tch::Device;
use convkit_tensor::{Batch, BatchSource, MapBatches};

mod features;
mod features_shared;

use super::dataset::Splits;
use super::network::{BaseMode, Network, Plan};
use super::report::{self, TestResult};
use super::TrainArgs;
use crate::ranks::Ranks;

/// What a `train` run produced.
pub struct TrainOutcome {
    /// Every epoch's logs (both phases of a fine-tuning, one after the other).
    pub history: History,
    /// The test set's results, when there is a test set.
    pub test: Option<TestResult>,
    /// Test results after the frozen phase of a fine-tuning.
    pub frozen_test: Option<TestResult>,
}

/// Runs the training `plan` describes.
pub fn run(
    args: &TrainArgs,
    splits: &Splits,
    plan: Plan,
    device: Device,
) -> anyhow::Result<TrainOutcome> {
    let ranks = Ranks::from_env()?;
    if ranks.is_main() {
        convkit_tensor::atomic::remove_stale_temps(&args.out);
    }
    let class_weight = class_weight(args, splits, ranks.is_main())?;
    let engine = Engine {
        args,
        splits,
        plan,
        device,
        class_weight,
        ranks,
    };
    let outcome = match &engine.plan.network {
        Network::Pretrained {
            mode: BaseMode::Features,
            ..
        } => engine.features()?,
        _ => engine.images()?,
    };
    if !engine.ranks.is_main() {
        return Ok(outcome);
    }
    outcome.history.save(&args.out.join("history.json"))?;
    convkit_viz::save_training_curves(&outcome.history.history, &args.out.join("curves.png"))?;
    println!(
        "Saved the best model (by val_loss) with its class names in {}, history.json and \
         curves.png in {}",
        args.out.join(RUN_MODEL_DIR).display(),
        args.out.display()
    );
    Ok(outcome)
}

/// `--class-weight`: `balanced` from the training counts, or one weight per class (printed
/// when `print`).
fn class_weight(
    args: &TrainArgs,
    splits: &Splits,
    print: bool,
) -> anyhow::Result<Option<ClassWeight>> {
    let Some(spec) = args.class_weight.as_deref() else {
        return Ok(None);
    };
    let k = splits.class_names.len();
    let weights = if spec == "balanced" {
        let counts: Vec<usize> = (0..k)
            .map(|c| splits.train.samples.iter().filter(|s| s.label == c).count())
            .collect();
        ClassWeight::balanced(&counts)?
    } else {
        let values: Vec<f64> = spec
            .split(',')
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .map_err(|_| anyhow::anyhow!("--class-weight: '{v}' is not a number"))
            })
            .collect::<anyhow::Result<_>>()?;
        anyhow::ensure!(
            values.len() == k,
            "--class-weight takes `balanced` or one weight per class ({k}: {}), got {}",
            splits.class_names.join(", "),
            values.len()
        );
        ClassWeight::new(values)?
    };
    let shown: Vec<String> = splits
        .class_names
        .iter()
        .zip(weights.weights())
        .map(|(c, w)| format!("{c} {w:.3}"))
        .collect();
    if print {
        println!("Class weights: {}", shown.join(", "));
    }
    Ok(Some(weights))
}

/// One `fit` of a run: its name (the backup folder), where its best model goes, its epochs,
/// and the best `val_loss` of an earlier phase to beat.
struct Phase<'a> {
    name: &'a str,
    checkpoint_dir: &'a Path,
    first_epoch: usize,
    epochs: usize,
    initial_best: Option<f64>,
}

struct Engine<'a> {
    args: &'a TrainArgs,
    splits: &'a Splits,
    plan: Plan,
    device: Device,
    class_weight: Option<ClassWeight>,
    /// Data-parallel ranks: rank 0 prints, checkpoints, restores the best model and scores
    /// the test set; every rank trains and validates its share.
    ranks: Ranks,
}

impl Engine<'_> {
    /// A loader over `listing`: shuffled and augmented for training, plain otherwise.
    fn folder(&self, listing: &Listing, training: bool) -> anyhow::Result<ImageFolder> {
        self.folder_batched(listing, training, self.args.batch_size)
    }

    /// [`Self::folder`] with another batch size.
    fn folder_batched(
        &self,
        listing: &Listing,
        training: bool,
        batch_size: usize,
    ) -> anyhow::Result<ImageFolder> {
        let size = self.plan.size as usize;
        let n = listing.samples.len() as u64;
        let cache = match self.args.cache.as_str() {
            "memory" => DecodedCache::Memory,
            "none" => DecodedCache::None,
            "auto" if n * (size * size * 3) as u64 <= 1 << 30 => DecodedCache::Memory,
            "auto" => DecodedCache::None,
            other => anyhow::bail!("--cache must be auto, memory or none, got '{other}'"),
        };
        let mut opts = ImageFolderOptions::image_dataset_from_directory()
            .target_size(size, size)
            .interpolation(ResizeFilter::parse(&self.plan.info.interpolation)?)
            .batch_size(batch_size)
            .label_mode(self.plan.label_mode)
            .shuffle(training)
            .seed(self.args.rt.seed)
            .threads(self.args.loader_threads)
            .cache(cache);
        let augmenter = if training {
            opts = opts.repeat(self.args.repeat);
            self.plan.train_augmenter()?
        } else {
            self.plan.eval_augmenter()
        };
        if let Some(a) = augmenter {
            opts = opts.augment(a);
        }
        if let Preprocessing::Rescale { scale } = self.plan.info.preprocessing {
            if scale != 1.0 {
                opts = opts.rescale(scale as f32);
            }
        }
        Ok(ImageFolder::from_listing(
            &self.splits.root,
            listing.clone(),
            opts,
        )?)
    }

    /// `folder` as the model's input: the base's preprocessing applied batch by batch.
    fn source(&self, folder: ImageFolder) -> Box<dyn BatchSource> {
        preprocessed(folder, self.plan.info.clone())
    }

    fn optimizer(&self, lr: f64) -> anyhow::Result<Box<dyn Optimizer>> {
        Ok(match self.args.optimizer.as_str() {
            "rmsprop" => Box::new(RMSprop::new().learning_rate(lr)),
            "adam" => Box::new(Adam::new().learning_rate(lr)),
            other => anyhow::bail!("--optimizer must be rmsprop or adam, got '{other}'"),
        })
    }

    fn compile(&self, model: &mut dyn Model, lr: f64) -> anyhow::Result<()> {
        let optimizer = self.optimizer(lr)?;
        convkit_layers::training::compile(model, optimizer, self.plan.loss, &self.plan.metrics)?;
        Ok(())
    }

    /// A TensorBoard callback for `--tensorboard`, its confusion image drawn from the
    /// batches `validation` makes.
    fn tensorboard(
        &self,
        validation: impl FnMut() -> anyhow::Result<Box<dyn BatchSource>> + Send + 'static,
    ) -> Option<TensorBoard> {
        let dir = self.args.tensorboard.as_ref()?;
        let render = report::confusion_renderer(
            validation,
            self.splits.class_names.clone(),
            self.plan.label_mode,
        );
        Some(
            TensorBoard::new(dir)
                .update_freq(self.args.tensorboard_freq)
                .epoch_image("confusion_matrix", render),
        )
    }

    /// The validation images as the model's input, made anew by each call (for TensorBoard's
    /// confusion image).
    fn validation_maker(
        &self,
    ) -> anyhow::Result<impl FnMut() -> anyhow::Result<Box<dyn BatchSource>> + Send + 'static> {
        let folder = self.folder(&self.splits.validation, false)?;
        let info = self.plan.info.clone();
        Ok(move || -> anyhow::Result<Box<dyn BatchSource>> {
            Ok(preprocessed(folder.clone(), info.clone()))
        })
    }

    /// The options of one phase's `fit`: validation, backup, best-model checkpoint.
    fn fit_options(
        &self,
        phase: Phase<'_>,
        validation: Box<dyn BatchSource>,
        tensorboard: Option<TensorBoard>,
    ) -> FitOptions {
        let a = self.args;
        let Phase {
            name: phase,
            checkpoint_dir,
            first_epoch,
            epochs,
            initial_best,
        } = phase;
        let mut checkpoint = ModelCheckpoint::new(checkpoint_dir.to_string_lossy().into_owned())
            .monitor("val_loss")
            .save_best_only(true)
            .info(self.plan.info.to_json());
        if let Some(best) = initial_best {
            checkpoint = checkpoint.initial_best(best);
        }
        let backup = BackupAndRestore::new(a.out.join("backup").join(phase))
            .setting("model", a.model.clone())
            .setting("size", self.plan.size)
            .setting("batch_size", a.batch_size)
            .setting("augment", a.augment.clone())
            .setting("background_removal", a.background_removal)
            .setting("class_weight", a.class_weight.clone().unwrap_or_default())
            .setting("repeat", a.repeat)
            .setting("classes", self.splits.class_names.clone())
            .setting("train_images", self.splits.train.samples.len());
        let mut options = FitOptions::new()
            .initial_epoch(first_epoch)
            .epochs(first_epoch + epochs)
            .callback(backup)
            .callback(checkpoint)
            .callback(TerminateOnNaN::new());
        options.validation = Validation::Source(validation);
        if let Some(tb) = tensorboard {
            options = options.callback(tb);
        }
        if let Some(w) = &self.class_weight {
            options = options.class_weight(w.clone());
        }
        self.ranks.fit_options(options)
    }

    /// Prints the model's summary (rank 0), with the global batch of a data-parallel run.
    fn show(&self, model: &(dyn Model + 'static)) {
        if self.ranks.is_main() {
            println!("{}", model.summary());
            if let Some(line) = self.ranks.global_batch(self.args.batch_size) {
                println!("{line}");
            }
        }
    }

    /// Trains a network on images (every mode but `features`).
    fn images(&self) -> anyhow::Result<TrainOutcome> {
        let a = self.args;
        convkit_tensor::seed::set_seed(a.rt.seed);
        let mut model = self.plan.build(self.device)?;
        if !(matches!(self.plan.network, Network::Saved(_))
            && model.compiled().is_some()
            && a.lr.is_none())
        {
            self.compile(model.as_mut(), self.plan.lr)?;
        }
        self.show(model.as_ref());
        let best_dir = a.out.join(RUN_MODEL_DIR);
        let finetune = matches!(
            self.plan.network,
            Network::Pretrained {
                mode: BaseMode::Finetune,
                ..
            }
        );
        let phase = if finetune { "frozen" } else { "training" };
        let options = self.fit_options(
            Phase {
                name: phase,
                checkpoint_dir: &best_dir,
                first_epoch: 0,
                epochs: self.plan.epochs,
                initial_best: None,
            },
            self.source(self.folder(&self.splits.validation, false)?),
            self.tensorboard(self.validation_maker()?),
        );
        let mut train = self.source(self.folder(&self.splits.train, true)?);
        let mut history = model.fit_source(train.as_mut(), options)?;
        self.restore_best(model.as_mut(), &best_dir)?;
        if !finetune {
            let test = self.test_images(model.as_ref(), "test")?;
            return Ok(TrainOutcome {
                history,
                test,
                frozen_test: None,
            });
        }
        let frozen_test = self.test_images(model.as_ref(), "frozen")?;
        let best = history
            .get("val_loss")
            .and_then(|v| v.iter().copied().filter(|x| x.is_finite()).reduce(f64::min));
        self.unfreeze(model.as_mut())?;
        self.compile(model.as_mut(), a.finetune_lr)?;
        self.show(model.as_ref());
        let first = history.epoch.len();
        let options = self.fit_options(
            Phase {
                name: "finetune",
                checkpoint_dir: &best_dir,
                first_epoch: first,
                epochs: a.finetune_epochs,
                initial_best: best,
            },
            self.source(self.folder(&self.splits.validation, false)?),
            self.tensorboard(self.validation_maker()?),
        );
        let mut train = self.source(self.folder(&self.splits.train, true)?);
        let second = model.fit_source(train.as_mut(), options)?;
        append_history(&mut history, second);
        self.restore_best(model.as_mut(), &best_dir)?;
        let test = self.test_images(model.as_ref(), "test")?;
        Ok(TrainOutcome {
            history,
            test,
            frozen_test,
        })
    }

    /// The best checkpoint's weights back into `model` (on rank 0, which wrote it; the next
    /// data-parallel `fit` sends rank 0's weights to the others).
    fn restore_best(&self, model: &mut dyn Model, best_dir: &Path) -> anyhow::Result<()> {
        if !self.ranks.is_main() {
            return Ok(());
        }
        let weights = best_dir.join(WEIGHTS_FILE);
        if weights.is_file() {
            load_weights(model, &weights)?;
        } else {
            tracing::warn!("no epoch improved val_loss: the model keeps its last weights");
        }
        Ok(())
    }

    /// Unfreezes the base from `--unfreeze-from` (default its top block), keeping
    /// BatchNormalization frozen (in inference mode, as Keras recommends when fine-tuning).
    fn unfreeze(&self, model: &mut dyn Model) -> anyhow::Result<()> {
        let Network::Pretrained { base, .. } = &self.plan.network else {
            return Ok(());
        };
        let from = self
            .args
            .unfreeze_from
            .clone()
            .unwrap_or_else(|| base.top_block().to_string());
        let base_name = model
            .layers()
            .iter()
            .find(|l| l.as_model().is_some_and(|m| m.get_layer(&from).is_ok()))
            .map(|l| l.name().to_string())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--unfreeze-from {from}: no layer of that name in the base {}",
                    base.name()
                )
            })?;
        let inner = model
            .get_layer_mut(&base_name)?
            .as_model_mut()
            .ok_or_else(|| anyhow::anyhow!("layer '{base_name}' is not a model"))?;
        inner.set_trainable_from(&from)?;
        let mut unfrozen = 0;
        for l in inner.layers_mut() {
            if l.class_name() == "BatchNormalization" {
                l.set_trainable(false);
            } else if l.trainable() {
                unfrozen += 1;
            }
        }
        model.get_layer_mut(&base_name)?.common_mut().trainable = true;
        if self.ranks.is_main() {
            println!(
                "\nUnfroze {unfrozen} layers of {base_name} from '{from}' on \
                 (BatchNormalization stays frozen); recompiling with learning rate {}",
                self.args.finetune_lr
            );
        }
        Ok(())
    }

    /// Scores `model` on the test images, writing the report files (`label` names the phase).
    /// Rank 0 alone, which holds the best model, scores it.
    fn test_images(&self, model: &dyn Model, label: &str) -> anyhow::Result<Option<TestResult>> {
        if !self.ranks.is_main() {
            return Ok(None);
        }
        if self.splits.test.samples.is_empty() {
            println!("No test images: the test metrics and report are skipped.");
            return Ok(None);
        }
        let folder = self.folder(&self.splits.test, false)?;
        let logs =
            convkit_layers::training::evaluate_source(model, self.source(folder.clone()).as_mut())?;
        let (probs, labels) = report::predict_source(model, self.source(folder.clone()).as_mut())?;
        let paths = served_paths(&folder);
        report::write(
            &self.args.out,
            label,
            &self.plan,
            &logs,
            &probs,
            &labels,
            &paths,
        )
        .map(Some)
    }
}

/// `folder` with the preprocessing of `info` applied batch by batch (the folder rescales
/// itself; a base's preprocessing runs here).
fn preprocessed(folder: ImageFolder, info: ClassifierInfo) -> Box<dyn BatchSource> {
    match info.preprocessing {
        Preprocessing::Base { .. } | Preprocessing::Mode { .. } => {
            Box::new(MapBatches::new(folder, move |b: Batch| {
                let inputs = info
                    .preprocess(&b.inputs)
                    .map_err(convkit_tensor::Error::other)?;
                Ok(Batch { inputs, ..b })
            }))
        }
        Preprocessing::Rescale { .. } => Box::new(folder),
    }
}

/// The files a pass over `folder` served, in order (listing order minus skipped files).
fn served_paths(folder: &ImageFolder) -> Vec<PathBuf> {
    let skipped = folder.skipped();
    folder
        .samples()
        .iter()
        .enumerate()
        .filter(|(i, _)| skipped.binary_search(i).is_err())
        .map(|(_, s)| s.path.clone())
        .collect()
}

/// `second`'s epochs after `first`'s.
fn append_history(first: &mut History, second: History) {
    first.epoch.extend(second.epoch);
    first.epoch_seconds.extend(second.epoch_seconds);
    for (k, v) in second.history {
        first.history.entry(k).or_default().extend(v);
    }
    if second.stop_reason.is_some() {
        first.stop_reason = second.stop_reason;
    }
}
