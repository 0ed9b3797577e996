//! A small residual network with the functional API (Chollet, *Deep Learning with Python*,
//! 2nd ed., section 9.3.2): residual blocks whose shortcut is projected by a 1x1 convolution
//! when the shape changes, trained on a toy problem and summarised with its connections.
//!
//! ```sh
//! cargo run --release -p convkit-apps --example residual_network
//! ```

// An example program reports to its user on stdout.
#![allow(clippy::print_stdout)]

use convkit::prelude::*;

/// Two 3x3 convolutions, then max pooling with a strided 1x1 projection of the shortcut, or a
/// 1x1 projection when the number of filters changes.
fn residual_block(
    g: &mut Graph,
    x: SymbolicTensor,
    filters: i64,
    pooling: bool,
) -> Result<SymbolicTensor> {
    let residual = x;
    let conv = || Conv2D::new(filters, 3).activation(Activation::Relu).padding(Padding::Same);
    let x = g.apply(conv(), x)?;
    let mut x = g.apply(conv(), x)?;
    let residual = if pooling {
        x = g.apply(MaxPooling2D::new(2).padding(Padding::Same), x)?;
        g.apply(Conv2D::new(filters, 1).strides(2), residual)?
    } else if g.shape(residual).first() != Some(&filters) {
        g.apply(Conv2D::new(filters, 1), residual)?
    } else {
        residual
    };
    Ok(g.merge(Add::new(), &[x, residual])?)
}

fn main() -> convkit::Result<()> {
    let mut g = Graph::new();
    let inputs = g.input([3, 32, 32]);
    let x = g.apply(Rescaling::new(1.0 / 255.0), inputs)?;
    let x = residual_block(&mut g, x, 32, true)?;
    let x = residual_block(&mut g, x, 64, true)?;
    let x = residual_block(&mut g, x, 128, false)?;
    let x = g.apply(GlobalAveragePooling2D::new(), x)?;
    let outputs = g.apply(Dense::new(1).activation(Activation::Sigmoid), x)?;
    let mut model = g.model("residual", &[inputs], &[outputs])?;
    println!("{}", model.summary());

    // A toy problem: images whose red channel was brightened (label 1) or not (label 0).
    let labels = Tensor::randint(2, [256], (Kind::Int64, Device::Cpu)).to_kind(Kind::Float);
    let red = Tensor::from_slice(&[1f32, 0.0, 0.0]).view([1, 3, 1, 1]);
    let images = Tensor::rand([256, 3, 32, 32], (Kind::Float, Device::Cpu)) * 200.0
        + labels.view([-1, 1, 1, 1]) * red * 55.0;
    model.compile("rmsprop", "binary_crossentropy", ["accuracy"])?;
    let history =
        model.fit(&images, &labels, FitOptions::new().epochs(5).validation_split(0.25))?;
    println!("validation accuracy by epoch: {:?}", history.get("val_accuracy"));
    Ok(())
}
