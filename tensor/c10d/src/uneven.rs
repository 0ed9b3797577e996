//! Collectives over data the ranks do not agree on the size of beforehand: bytes only the
//! root has ([`ProcessGroup::broadcast_bytes`]), rows gathered from shares of different
//! lengths ([`ProcessGroup::all_gather_rows`]), and tensors only the root has
//! ([`ProcessGroup::broadcast_new`]). Each sends the sizes first, in one small collective,
//! then the data.

use tch::{Kind, Tensor};

use crate::{Error, ProcessGroup, Result};

/// The element kinds [`ProcessGroup::broadcast_new`] sends, by their code on the wire.
const KINDS: [Kind; 9] = [
    Kind::Uint8,
    Kind::Int8,
    Kind::Int,
    Kind::Int64,
    Kind::Half,
    Kind::BFloat16,
    Kind::Float,
    Kind::Double,
    Kind::Bool,
];

fn kind_code(what: &str, kind: Kind) -> Result<i64> {
    KINDS
        .iter()
        .position(|k| *k == kind)
        .map(|i| i as i64)
        .ok_or_else(|| {
            Error::Config(format!(
                "{what}: tensors of kind {kind:?} cannot be sent (one of {KINDS:?})"
            ))
        })
}

impl ProcessGroup {
    /// Rank `root`'s `bytes` on every rank (the others' `bytes` are ignored): a file or a
    /// message only rank `root` can read, such as a backup on its disk.
    pub fn broadcast_bytes(&self, bytes: &[u8], root: usize) -> Result<Vec<u8>> {
        let len = if self.rank() == root { bytes.len() } else { 0 };
        let mut t = vec![Tensor::f_from_slice(&[len as i64])?.f_to_device(self.device())?];
        self.broadcast(&mut t, root)?;
        let n = t[0].f_int64_value(&[0])?;
        if n < 0 {
            return Err(Error::Config(format!(
                "rank {root} announced {n} bytes to broadcast"
            )));
        }
        let mut data = vec![if self.rank() == root {
            Tensor::f_from_slice(bytes)?.f_to_device(self.device())?
        } else {
            Tensor::f_zeros([n], (Kind::Uint8, self.device()))?
        }];
        if n > 0 {
            self.broadcast(&mut data, root)?;
        }
        Ok(Vec::<u8>::try_from(
            &data[0].f_to_device(tch::Device::Cpu)?,
        )?)
    }

    /// Every rank's rows of `rows`, concatenated in rank order. The ranks' counts (first
    /// dimension) may differ, and a rank with nothing to give passes `None`; the other
    /// dimensions and the kind must agree. Each rank's shape is gathered first, then every
    /// share padded to the longest, gathered and trimmed, since Gloo's all-gather takes one
    /// shape. `None` when no rank gave rows.
    ///
    /// # Shapes
    /// `rows`: `[n_r, ...]` on rank `r`; returns `[n_0 + n_1 + ..., ...]` on every rank.
    pub fn all_gather_rows(&self, rows: Option<&Tensor>) -> Result<Option<Tensor>> {
        const MAX_DIMS: usize = 8;
        // present, rows, kind, number of dims, dims (padded with 0).
        let mut header = vec![0i64; 4 + MAX_DIMS];
        if let Some(t) = rows {
            let dims = t.size();
            if dims.is_empty() || dims.len() > MAX_DIMS {
                return Err(Error::Config(format!(
                    "all_gather_rows: takes tensors of 1 to {MAX_DIMS} dimensions, got {dims:?}"
                )));
            }
            header[0] = 1;
            header[1] = dims[0];
            header[2] = kind_code("all_gather_rows", t.kind())?;
            header[3] = dims.len() as i64;
            header[4..4 + dims.len()].copy_from_slice(&dims);
        }
        let header = Tensor::f_from_slice(&header)?.f_to_device(self.device())?;
        let headers: Vec<Vec<i64>> = self
            .all_gather(&header)?
            .iter()
            .map(|h| Vec::<i64>::try_from(&h.f_to_device(tch::Device::Cpu)?))
            .collect::<std::result::Result<_, _>>()?;
        let present: Vec<(usize, &Vec<i64>)> = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| h[0] == 1)
            .collect();
        let Some(&(first_rank, first)) = present.first() else {
            return Ok(None);
        };
        // The dims after the first, and the kind, of a rank's header.
        let trailing = |h: &[i64]| -> Vec<i64> {
            let dims = h[3].clamp(1, MAX_DIMS as i64) as usize;
            h[5..4 + dims].to_vec()
        };
        let kind_of = |h: &[i64]| {
            usize::try_from(h[2])
                .ok()
                .and_then(|k| KINDS.get(k).copied())
        };
        for &(r, h) in &present {
            if kind_of(h) != kind_of(first) || trailing(h) != trailing(first) {
                return Err(Error::Config(format!(
                    "all_gather_rows: rank {r} gives rows of {:?} [_, {:?}] but rank \
                     {first_rank} of {:?} [_, {:?}]; all but the first dimension must agree",
                    kind_of(h),
                    trailing(h),
                    kind_of(first),
                    trailing(first),
                )));
            }
        }
        let kind = kind_of(first).ok_or_else(|| {
            Error::Config(format!(
                "all_gather_rows: rank {first_rank} sent an unknown kind"
            ))
        })?;
        let trailing = trailing(first);
        let counts: Vec<i64> = headers.iter().map(|h| h[1]).collect();
        let longest = counts.iter().copied().max().unwrap_or(0);
        let mut padded_shape = vec![longest];
        padded_shape.extend_from_slice(&trailing);
        let padded = Tensor::f_zeros(&padded_shape, (kind, self.device()))?;
        if let Some(t) = rows.filter(|t| t.size()[0] > 0) {
            padded.f_narrow(0, 0, t.size()[0])?.f_copy_(t)?;
        }
        let shares = self.all_gather(&padded)?;
        let trimmed: Vec<Tensor> = shares
            .iter()
            .zip(&counts)
            .map(|(t, &n)| t.f_narrow(0, 0, n))
            .collect::<std::result::Result<_, _>>()?;
        Ok(Some(Tensor::f_cat(&trimmed, 0)?))
    }

    /// Rank `root`'s `tensors` on every rank, where the other ranks do not know their shapes
    /// or kinds (they pass `None`; `root` passes `Some`): the shapes and kinds go first, as
    /// bytes, then each tensor. Returns the tensors on this group's device.
    pub fn broadcast_new(&self, tensors: Option<&[Tensor]>, root: usize) -> Result<Vec<Tensor>> {
        let mut header: Vec<i64> = Vec::new();
        if self.rank() == root {
            let Some(tensors) = tensors else {
                return Err(Error::Config(format!(
                    "broadcast_new: rank {root} is the root and must pass the tensors"
                )));
            };
            header.push(tensors.len() as i64);
            for t in tensors {
                let dims = t.size();
                header.push(kind_code("broadcast_new", t.kind())?);
                header.push(dims.len() as i64);
                header.extend(dims);
            }
        }
        let bytes: Vec<u8> = header.iter().flat_map(|v| v.to_le_bytes()).collect();
        let received = self.broadcast_bytes(&bytes, root)?;
        let header: Vec<i64> = received
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect();
        let bad = || {
            Error::Config(format!(
                "broadcast_new: rank {root} sent a malformed header"
            ))
        };
        let mut at = header.iter().copied();
        let n = at.next().ok_or_else(bad)?;
        let mut out = Vec::new();
        for i in 0..n.max(0) as usize {
            let kind = at
                .next()
                .and_then(|k| KINDS.get(usize::try_from(k).ok()?).copied())
                .ok_or_else(bad)?;
            let rank_n = at.next().filter(|r| (0..=16).contains(r)).ok_or_else(bad)?;
            let dims: Vec<i64> = (0..rank_n)
                .map(|_| at.next())
                .collect::<Option<_>>()
                .ok_or_else(bad)?;
            if dims.iter().any(|d| *d < 0) {
                return Err(bad());
            }
            let t = match tensors.filter(|_| self.rank() == root) {
                Some(ts) => ts[i].f_to_device(self.device())?.f_contiguous()?,
                None => Tensor::f_empty(&dims, (kind, self.device()))?,
            };
            out.push(t);
        }
        self.broadcast(&mut out, root)?;
        Ok(out)
    }
}
