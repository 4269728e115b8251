//! The optimiser of the ETS estimation: augurs' bounded Nelder–Mead, step for step (its
//! coefficients, clamping, sort order and stopping rule), apart from the model code so each
//! can be read against its augurs counterpart on its own.

const MAX_ITER: usize = 2_000;
/// Nelder–Mead stops when the population standard deviation of the simplex's costs is below.
const TOL_STD: f64 = 1e-4;

fn clamp_to(x: &mut [f64], lower: &[f64], upper: &[f64]) {
    for ((v, &lo), &hi) in x.iter_mut().zip(lower).zip(upper) {
        *v = v.clamp(lo, hi);
    }
}

/// Population standard deviation (Welford, as augurs computes it).
fn std_pop(v: &[f64]) -> f64 {
    let (mut mean, mut ss) = (0.0, 0.0);
    for (i, &x) in v.iter().enumerate() {
        let d = x - mean;
        mean += d / (i + 1) as f64;
        ss = (x - mean).mul_add(d, ss);
    }
    (ss / v.len() as f64).sqrt()
}

/// Bounded Nelder–Mead with adaptive coefficients (Gao & Han 2012), augurs' variant: trial
/// points are clamped into the box, and it stops when the costs on the simplex agree to
/// [`TOL_STD`] or after [`MAX_ITER`] iterations.
pub(super) fn nelder_mead(
    cost: &dyn Fn(&[f64]) -> f64,
    mut x0: Vec<f64>,
    lower: &[f64],
    upper: &[f64],
) -> Vec<f64> {
    clamp_to(&mut x0, lower, upper);
    let d = x0.len();
    let nf = d as f64;
    let mut simplex = vec![x0; d + 1];
    for (i, row) in simplex.iter_mut().take(d).enumerate() {
        if row[i].abs() < 1e-8 {
            row[i] = 1e-4;
        } else {
            row[i] *= 1.05;
        }
    }
    for row in simplex.iter_mut() {
        clamp_to(row, lower, upper);
    }
    let (reflect, expand) = (1.0, 1.0 + 2.0 / nf);
    let (contract, shrink) = (0.75 - 1.0 / (2.0 * nf), 1.0 - 1.0 / nf);

    let mut f: Vec<f64> = simplex.iter().map(|x| cost(x)).collect();
    let mut order: Vec<usize> = (0..=d).collect();
    let mut best = 0;
    let mut centroid = vec![0.0; d];
    let towards = |from: &[f64], to: &[f64], t: f64| -> Vec<f64> {
        let mut p: Vec<f64> = from.iter().zip(to).map(|(a, b)| a + t * (b - a)).collect();
        clamp_to(&mut p, lower, upper);
        p
    };
    for _ in 0..MAX_ITER {
        // Stable sort of indices by cost: augurs sorts (index, cost) pairs unstably, which
        // for distinct costs is the same order.
        order.sort_by(|&a, &b| f[a].partial_cmp(&f[b]).unwrap_or(std::cmp::Ordering::Equal));
        best = order[0];
        let worst = order[d];
        let second = order[d - 1];
        if std_pop(&f) < TOL_STD {
            break;
        }
        centroid.iter_mut().for_each(|c| *c = 0.0);
        for (i, x) in simplex.iter().enumerate() {
            if i != worst {
                for (c, v) in centroid.iter_mut().zip(x) {
                    *c += v;
                }
            }
        }
        centroid.iter_mut().for_each(|c| *c /= nf);

        // x_r = c + 1·(c − x_worst)
        let xr = towards(&centroid, &simplex[worst], -reflect);
        let fr = cost(&xr);
        if f[best] <= fr && fr < f[second] {
            simplex[worst] = xr;
            f[worst] = fr;
            continue;
        }
        if fr < f[best] {
            let xe = towards(&centroid, &xr, expand);
            let fe = cost(&xe);
            if fe < fr {
                simplex[worst] = xe;
                f[worst] = fe;
            } else {
                simplex[worst] = xr;
                f[worst] = fr;
            }
            continue;
        }
        if f[second] <= fr && fr < f[worst] {
            let xoc = towards(&centroid, &xr, contract);
            let foc = cost(&xoc);
            if foc <= fr {
                simplex[worst] = xoc;
                f[worst] = foc;
                continue;
            }
        } else {
            let xic = towards(&centroid, &xr, -contract);
            let fic = cost(&xic);
            if fic < f[worst] {
                simplex[worst] = xic;
                f[worst] = fic;
                continue;
            }
        }
        // Shrink towards the best point (inside the box already: it is convex).
        let xb = simplex[best].clone();
        for i in 0..=d {
            if i != best {
                for (v, b) in simplex[i].iter_mut().zip(&xb) {
                    *v = b + shrink * (*v - b);
                }
                f[i] = cost(&simplex[i]);
            }
        }
    }
    simplex[best].clone()
}
