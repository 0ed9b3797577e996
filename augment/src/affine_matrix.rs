//! [`Affine`]: 2-D affine maps in (row, column) pixel coordinates, composed like Keras does.

/// A 3x3 homogeneous affine matrix acting on `(row, col, 1)` column vectors.
///
/// Geometric transforms here use it as an *inverse* map: output pixel `(r, c)` samples the
/// input at `M · (r, c, 1)`, like `scipy.ndimage.affine_transform`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine(pub [[f64; 3]; 3]);

impl Affine {
    /// The identity map.
    pub const IDENTITY: Affine = Affine([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);

    /// From the two top rows `[[a, b, tx], [c, d, ty]]`.
    pub fn from_rows(top: [[f64; 3]; 2]) -> Self {
        Affine([top[0], top[1], [0.0, 0.0, 1.0]])
    }

    /// Matrix product `self · other` (apply `other` first).
    pub fn then_before(&self, other: &Affine) -> Affine {
        let (a, b) = (&self.0, &other.0);
        let mut m = [[0.0; 3]; 3];
        for (i, row) in m.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
            }
        }
        Affine(m)
    }

    /// Rotation by `theta` radians: `[[cos, -sin], [sin, cos]]`.
    pub fn rotation(theta: f64) -> Self {
        let (s, c) = theta.sin_cos();
        Affine::from_rows([[c, -s, 0.0], [s, c, 0.0]])
    }

    /// Translation by `(t0, t1)`.
    pub fn translation(t0: f64, t1: f64) -> Self {
        Affine::from_rows([[1.0, 0.0, t0], [0.0, 1.0, t1]])
    }

    /// Keras' shear by `shear` radians: `[[1, -sin], [0, cos]]`.
    pub fn shear(shear: f64) -> Self {
        let (s, c) = shear.sin_cos();
        Affine::from_rows([[1.0, -s, 0.0], [0.0, c, 0.0]])
    }

    /// Scaling by `(z0, z1)`.
    pub fn scale(z0: f64, z1: f64) -> Self {
        Affine::from_rows([[z0, 0.0, 0.0], [0.0, z1, 0.0]])
    }

    /// Conjugates the map so that it acts about the point `(o0, o1)` instead of the origin
    /// (Keras' `transform_matrix_offset_center` with `o = size / 2 - 0.5`).
    pub fn about(&self, o0: f64, o1: f64) -> Affine {
        Affine::translation(o0, o1)
            .then_before(self)
            .then_before(&Affine::translation(-o0, -o1))
    }

    /// Exchanges the roles of the two coordinates (`P M P` with `P` the swap).
    pub fn swap_axes(&self) -> Affine {
        let m = &self.0;
        Affine([
            [m[1][1], m[1][0], m[1][2]],
            [m[0][1], m[0][0], m[0][2]],
            [0.0, 0.0, 1.0],
        ])
    }

    /// The inverse map; `None` when the matrix is singular.
    pub fn inverse(&self) -> Option<Affine> {
        let m = &self.0;
        let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
        if det.abs() < 1e-12 || !det.is_finite() {
            return None;
        }
        let (a, b, c, d) = (m[1][1] / det, -m[0][1] / det, -m[1][0] / det, m[0][0] / det);
        Some(Affine::from_rows([
            [a, b, -(a * m[0][2] + b * m[1][2])],
            [c, d, -(c * m[0][2] + d * m[1][2])],
        ]))
    }

    /// Whether this is the identity.
    pub fn is_identity(&self) -> bool {
        *self == Affine::IDENTITY
    }

    /// Applies the map to `(r, c)`.
    pub fn apply(&self, r: f64, c: f64) -> (f64, f64) {
        let m = &self.0;
        (
            m[0][0] * r + m[0][1] * c + m[0][2],
            m[1][0] * r + m[1][1] * c + m[1][2],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Affine;

    #[test]
    fn inverse_undoes_the_map() {
        let m = Affine::rotation(0.3)
            .then_before(&Affine::shear(0.2))
            .then_before(&Affine::scale(0.9, 1.1))
            .about(10.0, 5.0);
        let inv = m.inverse().unwrap();
        let (r, c) = m.apply(3.0, 4.0);
        let (r2, c2) = inv.apply(r, c);
        assert!((r2 - 3.0).abs() < 1e-9 && (c2 - 4.0).abs() < 1e-9);
    }

    #[test]
    fn about_keeps_the_center_fixed() {
        let m = Affine::rotation(1.0).about(10.0, 20.0);
        let (r, c) = m.apply(10.0, 20.0);
        assert!((r - 10.0).abs() < 1e-9 && (c - 20.0).abs() < 1e-9);
    }
}
