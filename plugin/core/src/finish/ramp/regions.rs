//! Hue regions of a sprite and the palette's colour ramps that match them.

use super::*;

/// One hue region of a picture: the indices of its pixels.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Region {
    pub(super) members: Vec<usize>,
}

/// What a ramp is gathered for: the region's mean colour, its lightness range, and whether it
/// is grey.
#[derive(Debug, Clone, Copy)]
pub(super) struct RegionStats {
    pub(super) mean: Lab,
    /// The mean chroma of its pixels.
    pub(super) chroma: f32,
    pub(super) grey: bool,
}

impl Region {
    pub(super) fn stats(&self, labs: &[Lab]) -> RegionStats {
        let n = self.members.len().max(1) as f32;
        let sum = self.members.iter().fold([0f32; 3], |s, &i| {
            [s[0] + labs[i].l, s[1] + labs[i].a, s[2] + labs[i].b]
        });
        let mean = Lab {
            l: sum[0] / n,
            a: sum[1] / n,
            b: sum[2] / n,
        };
        let chroma = self.members.iter().map(|&i| labs[i].chroma()).sum::<f32>() / n;
        let grey = self.members.iter().all(|&i| labs[i].chroma() < NEUTRAL);
        RegionStats { mean, chroma, grey }
    }
}

/// Splits colours into hue regions: the greys, then one region per run of occupied bins of the
/// hue histogram (bins whose ±10° neighbourhood holds at least 2% of the coloured pixels), runs
/// wider than [`MAX_SPAN`] split at their emptiest bin; a pixel in an unoccupied bin joins the
/// nearest run.
pub(super) fn regions(labs: &[Lab]) -> Vec<Region> {
    let bin_of = |lab: Lab| (lab.hue() / (360.0 / BINS as f32)) as usize % BINS;
    let mut grey = Vec::new();
    let mut hist = [0usize; BINS];
    for (i, lab) in labs.iter().enumerate() {
        if lab.chroma() < NEUTRAL {
            grey.push(i);
        } else {
            hist[bin_of(*lab)] += 1;
        }
    }
    // Smoothed over ±SMOOTH bins, so that a sparse bin inside a hue-shifted gradient does not
    // cut it in two.
    let smooth: [usize; BINS] = core::array::from_fn(|b| {
        (0..=2 * SMOOTH)
            .map(|k| hist[(b + BINS + k - SMOOTH) % BINS])
            .sum()
    });
    let coloured = labs.len() - grey.len();
    let threshold = (coloured / 50).max(1);
    let mut occupied: Vec<bool> = smooth.iter().map(|&n| n >= threshold).collect();
    if !occupied.iter().any(|&o| o) {
        occupied = smooth.iter().map(|&n| n > 0).collect();
    }
    let runs = hue_runs(&smooth, &occupied);
    // Each bin's run: its own, or the nearest (circular distance, ties to the earlier run).
    let bin_run: Vec<usize> = (0..BINS)
        .map(|b| {
            let distance = |run: &Vec<usize>| {
                run.iter()
                    .map(|&r| {
                        let d = b.abs_diff(r);
                        d.min(BINS - d)
                    })
                    .min()
                    .unwrap_or(usize::MAX)
            };
            (0..runs.len())
                .min_by_key(|&k| (distance(&runs[k]), k))
                .unwrap_or(0)
        })
        .collect();
    let mut out: Vec<Region> = Vec::new();
    if !grey.is_empty() {
        out.push(Region { members: grey });
    }
    let first = out.len();
    out.extend((0..runs.len()).map(|_| Region {
        members: Vec::new(),
    }));
    for (i, lab) in labs.iter().enumerate() {
        if lab.chroma() >= NEUTRAL {
            out[first + bin_run[bin_of(*lab)]].members.push(i);
        }
    }
    out.retain(|r| !r.members.is_empty());
    out
}

/// The runs of occupied bins round the hue circle (each a list of bin indices in hue order),
/// those wider than [`MAX_SPAN`] split at their emptiest inner bin until none is.
pub(super) fn hue_runs(hist: &[usize; BINS], occupied: &[bool]) -> Vec<Vec<usize>> {
    // Start the walk at an unoccupied bin, or, when every bin is occupied, at the emptiest.
    let start = (0..BINS)
        .find(|&b| !occupied[b])
        .unwrap_or_else(|| (0..BINS).min_by_key(|&b| (hist[b], b)).unwrap_or(0));
    let mut runs: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for k in 0..BINS {
        let b = (start + k) % BINS;
        if occupied[b] {
            current.push(b);
        } else if !current.is_empty() {
            runs.push(core::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    let mut out = Vec::new();
    while let Some(run) = runs.pop() {
        if run.len() <= MAX_SPAN {
            out.push(run);
            continue;
        }
        let cut = (1..run.len())
            .min_by_key(|&k| (hist[run[k]], k))
            .unwrap_or(run.len() / 2);
        let (left, right) = run.split_at(cut);
        runs.push(right.to_vec());
        runs.push(left.to_vec());
    }
    out.sort_by_key(|run| run.first().copied());
    out
}

/// A palette's colours in `OKLab`.
pub(super) struct PaletteLab {
    pub(super) labs: Vec<Lab>,
}

impl PaletteLab {
    pub(super) fn new(palette: &Palette) -> Self {
        Self {
            labs: palette.colors.iter().map(|&c| oklab(c)).collect(),
        }
    }

    /// The ramp for a region: palette indices, darkest first (see the [module docs](self)).
    pub(super) fn ramp(&self, region: &RegionStats) -> Vec<usize> {
        let all = 0..self.labs.len();
        let mut ramp: Vec<usize> = if region.grey {
            GREY_RAMP
                .iter()
                .map(|&c| all.clone().filter(|&i| self.labs[i].chroma() < c).collect())
                .find(|r: &Vec<usize>| !r.is_empty())
                .unwrap_or_default()
        } else {
            let hue = region.mean.hue();
            let near = |window: f32| -> Vec<usize> {
                all.clone()
                    .filter(|&i| {
                        let lab = self.labs[i];
                        let d = (lab.hue() - hue).abs();
                        // Darker steps may be duller, as ramps are.
                        let dim = (lab.l / region.mean.l.max(0.01)).min(1.0);
                        lab.chroma() >= NEUTRAL.max(region.chroma * MIN_CHROMA * dim)
                            && d.min(360.0 - d) <= window
                    })
                    .collect()
            };
            let mut ramp = WINDOWS
                .iter()
                .map(|&w| near(w))
                .find(|r| r.len() >= 2)
                .unwrap_or_else(|| near(180.0));
            if ramp.is_empty() {
                ramp = all.clone().collect();
            }
            // The palette's greys past either end: ink below, highlight above.
            let lo = ramp
                .iter()
                .map(|&i| self.labs[i].l)
                .fold(f32::MAX, f32::min);
            let hi = ramp
                .iter()
                .map(|&i| self.labs[i].l)
                .fold(f32::MIN, f32::max);
            ramp.extend(all.clone().filter(|&i| {
                let lab = self.labs[i];
                lab.chroma() < NEUTRAL && (lab.l < lo - MIN_STEP || lab.l > hi + MIN_STEP)
            }));
            ramp
        };
        if ramp.is_empty() {
            ramp = all.collect();
        }
        ramp.sort_by(|&x, &y| self.labs[x].l.total_cmp(&self.labs[y].l).then(x.cmp(&y)));
        // Merge steps of about the same lightness, keeping the one nearest the region's colour.
        let fit = |i: usize| {
            let lab = self.labs[i];
            let (da, db) = (lab.a - region.mean.a, lab.b - region.mean.b);
            da * da + db * db
        };
        let mut merged: Vec<usize> = Vec::with_capacity(ramp.len());
        for i in ramp {
            match merged.last_mut() {
                Some(last) if self.labs[i].l - self.labs[*last].l < MIN_STEP => {
                    if fit(i) < fit(*last) {
                        *last = i;
                    }
                }
                _ => merged.push(i),
            }
        }
        merged
    }
}
