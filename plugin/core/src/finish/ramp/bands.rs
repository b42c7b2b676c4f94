//! Lightness bands of a region (exact 1-D k-means) and their assignment to ramp steps
//! (dynamic programming, strictly increasing).

use super::*;

/// A region's pixels split into lightness bands, darkest band first.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Bands {
    /// The band of each pixel.
    pub(super) of: Vec<usize>,
    /// How many bands.
    pub(super) count: usize,
}

impl Bands {
    /// The split of `lightness` into at most `k` bands (intervals of lightness) with the least
    /// sum of squared distances to their means: exact 1-D k-means by dynamic programming
    /// over the distinct lightnesses (rounded to 1/1024), ties to the earlier cut.
    pub(super) fn split(lightness: &[f32], k: usize) -> Self {
        let key = |v: f32| (v * LEVELS).round() as i32;
        // Distinct levels, darkest first, with their pixel counts and lightness sums.
        let mut levels: Vec<(i32, f64, f64)> = Vec::new();
        let mut sorted = lightness.to_vec();
        sorted.sort_by(f32::total_cmp);
        for &v in &sorted {
            match levels.last_mut() {
                Some(last) if last.0 == key(v) => {
                    last.1 += 1.0;
                    last.2 += f64::from(v);
                }
                _ => levels.push((key(v), 1.0, f64::from(v))),
            }
        }
        let d = levels.len();
        let k = k.clamp(1, d.max(1));
        if d <= 1 {
            return Self {
                of: vec![0; lightness.len()],
                count: 1,
            };
        }
        // Prefix sums of count, sum and sum of squares (each level's pixels at its mean).
        let mut pre = vec![(0f64, 0f64, 0f64); d + 1];
        for (i, &(_, n, sum)) in levels.iter().enumerate() {
            let mean = sum / n;
            let p = pre[i];
            pre[i + 1] = (p.0 + n, p.1 + sum, p.2 + n * mean * mean);
        }
        // The squared error of levels a..b (exclusive) about their mean.
        let sse = |a: usize, b: usize| {
            let (n, s, q) = (
                pre[b].0 - pre[a].0,
                pre[b].1 - pre[a].1,
                pre[b].2 - pre[a].2,
            );
            (q - s * s / n).max(0.0)
        };
        // best[j][i]: least error of levels 0..i in j+1 bands; cut[j][i]: where the last begins.
        let mut best = vec![vec![f64::INFINITY; d + 1]; k];
        let mut cut = vec![vec![0usize; d + 1]; k];
        for (i, e) in best[0].iter_mut().enumerate().skip(1) {
            *e = sse(0, i);
        }
        for j in 1..k {
            for i in (j + 1)..=d {
                for t in j..i {
                    let e = best[j - 1][t] + sse(t, i);
                    if e < best[j][i] {
                        best[j][i] = e;
                        cut[j][i] = t;
                    }
                }
            }
        }
        // Level index -> band, from the last band back.
        let mut band_of_level = vec![0usize; d];
        let mut end = d;
        for j in (0..k).rev() {
            let start = if j == 0 { 0 } else { cut[j][end] };
            for b in &mut band_of_level[start..end] {
                *b = j;
            }
            end = start;
        }
        let of = lightness
            .iter()
            .map(|&v| {
                let i = levels.partition_point(|l| l.0 < key(v));
                band_of_level[i.min(d - 1)]
            })
            .collect();
        Self { of, count: k }
    }

    /// For each band, the index into `ramp` of its step: strictly increasing from band to band,
    /// the choice with the least pixel-weighted [`Lab::cost`] between each band's mean colour and
    /// its step (ties to the darker steps).
    pub(super) fn choose_steps(
        &self,
        members: &[usize],
        labs: &[Lab],
        ramp: &[usize],
        palette: &PaletteLab,
    ) -> Vec<usize> {
        let k = self.count;
        let m = ramp.len();
        let mut sum = vec![[0f64; 3]; k];
        let mut weight = vec![0f64; k];
        for (&i, &band) in members.iter().zip(&self.of) {
            let lab = labs[i];
            sum[band][0] += f64::from(lab.l);
            sum[band][1] += f64::from(lab.a);
            sum[band][2] += f64::from(lab.b);
            weight[band] += 1.0;
        }
        let mean: Vec<Lab> = (0..k)
            .map(|j| {
                let w = weight[j].max(1.0);
                Lab {
                    l: (sum[j][0] / w) as f32,
                    a: (sum[j][1] / w) as f32,
                    b: (sum[j][2] / w) as f32,
                }
            })
            .collect();
        let cost = |band: usize, step: usize| {
            weight[band] * f64::from(mean[band].cost(palette.labs[ramp[step]]))
        };
        // best[j][s]: least cost of bands 0..=j with band j on step s; from[j][s]: band j-1's step.
        let mut best = vec![vec![f64::INFINITY; m]; k];
        let mut from = vec![vec![0usize; m]; k];
        for (s, e) in best[0].iter_mut().enumerate() {
            *e = cost(0, s);
        }
        for j in 1..k {
            let mut prefix = (f64::INFINITY, 0usize);
            for s in 0..m {
                if s > 0 && best[j - 1][s - 1] < prefix.0 {
                    prefix = (best[j - 1][s - 1], s - 1);
                }
                if prefix.0.is_finite() {
                    best[j][s] = prefix.0 + cost(j, s);
                    from[j][s] = prefix.1;
                }
            }
        }
        let mut steps = vec![0usize; k];
        let mut s = (0..m)
            .min_by(|&x, &y| best[k - 1][x].total_cmp(&best[k - 1][y]))
            .unwrap_or(0);
        for j in (0..k).rev() {
            steps[j] = s;
            s = from[j][s];
        }
        steps
    }
}
