// L-BFGS as scipy's L-BFGS-B (`scipy.optimize.minimize(method="L-BFGS-B")`, scipy 1.17) runs it on a problem
// without bounds, which is how scikit-learn fits LogisticRegression(solver="lbfgs"):
// - direction: -H g from the last `m` pairs (s, y), H0 = (s'y / y'y) I of the newest pair (L-BFGS-B computes
//   the same matrix in compact form); the first direction (and after a reset) is -g;
// - step: Moré-Thuente line search `dcsrch` (ftol 1e-3, gtol 0.9, xtol 0.1, stpmax 1e10), first step
//   1 / ||d|| in the first iteration and 1 afterwards, at most `maxLineSearch` evaluations; a failed search
//   restarts from -g with the memory cleared, or stops when the memory was already empty;
// - stops when max|g| <= gtol, when (f_old - f) <= ftol * max(|f_old|, |f|, 1), or after `maxIterations`;
// - a pair is kept only when s'y > eps * (-g_old'd * stp).
// Reference: Byrd, Lu, Nocedal & Zhu (1995); Moré & Thuente (1994), MINPACK-2 dcsrch/dcstep.
import Foundation

struct LBFGS {
    var memory = 10
    var maxIterations = 100
    var maxLineSearch = 50
    var gradientTolerance = 1e-4
    var functionTolerance = 64 * Double.ulpOfOne

    enum Stop: Sendable, Equatable { case gradient, function, maxIterations, lineSearchFailed }

    struct Result {
        var x: [Double]
        var f: Double
        var iterations: Int
        var evaluations: Int
        var stop: Stop
    }

    /// Minimises f from `x0`; `evaluate(x, &gradient)` returns f(x) and writes its gradient.
    func minimize(from x0: [Double], evaluate: ([Double], inout [Double]) -> Double) -> Result {
        let n = x0.count
        var x = x0, g = [Double](repeating: 0, count: n)
        var f = evaluate(x, &g)
        var evaluations = 1
        if maxAbs(g) <= gradientTolerance {
            return Result(x: x, f: f, iterations: 0, evaluations: evaluations, stop: .gradient)
        }
        var pairsS: [[Double]] = [], pairsY: [[Double]] = [], pairsRho: [Double] = []
        var iteration = 0
        var z = [Double](repeating: 0, count: n), d = z
        while true {
            // Search direction from the memory; d = z - x as L-BFGS-B forms it.
            let direction = pairsS.isEmpty ? g.map { -$0 } : twoLoop(g, pairsS, pairsY, pairsRho)
            for i in 0..<n { z[i] = x[i] + direction[i]; d[i] = z[i] - x[i] }

            // Line search (`lnsrlb` + `dcsrch`).
            let xOld = x, gOld = g, fOld = f
            var gd = dot(g, d)
            let gdOld = gd
            var failed = gd >= 0
            var stp = 1.0
            if !failed {
                let dNorm = dot(d, d).squareRoot()
                stp = iteration == 0 ? min(1 / dNorm, 1e10) : 1
                var search = MoreThuente(f: f, g: gd, stp: stp, stpmax: 1e10)
                var calls = 0
                while true {
                    if calls >= maxLineSearch { failed = true; break }
                    calls += 1
                    if stp == 1 { x = z } else { for i in 0..<n { x[i] = stp * d[i] + xOld[i] } }
                    f = evaluate(x, &g)
                    evaluations += 1
                    gd = dot(g, d)
                    if search.next(f: f, g: gd, stp: &stp) { break }
                }
            }
            if failed {
                x = xOld; g = gOld; f = fOld
                if pairsS.isEmpty {
                    return Result(x: x, f: f, iterations: iteration + 1, evaluations: evaluations, stop: .lineSearchFailed)
                }
                pairsS.removeAll(); pairsY.removeAll(); pairsRho.removeAll()
                continue
            }
            iteration += 1
            if iteration >= maxIterations {
                return Result(x: x, f: f, iterations: iteration, evaluations: evaluations, stop: .maxIterations)
            }
            if maxAbs(g) <= gradientTolerance {
                return Result(x: x, f: f, iterations: iteration, evaluations: evaluations, stop: .gradient)
            }
            if fOld - f <= functionTolerance * max(abs(fOld), abs(f), 1) {
                return Result(x: x, f: f, iterations: iteration, evaluations: evaluations, stop: .function)
            }
            // The new pair (s = stp d, y = g - g_old), kept only under the curvature condition.
            var y = [Double](repeating: 0, count: n)
            for i in 0..<n { y[i] = g[i] - gOld[i] }
            let sy: Double, scale: Double
            var s = d
            if stp == 1 {
                sy = gd - gdOld; scale = -gdOld
            } else {
                sy = (gd - gdOld) * stp; scale = -gdOld * stp
                for i in 0..<n { s[i] *= stp }
            }
            if sy <= Double.ulpOfOne * scale { continue }
            if pairsS.count == memory { pairsS.removeFirst(); pairsY.removeFirst(); pairsRho.removeFirst() }
            pairsS.append(s); pairsY.append(y); pairsRho.append(1 / sy)
        }
    }

    /// -H g by the two-loop recursion (Nocedal 1980), oldest pair first in the arrays.
    private func twoLoop(_ g: [Double], _ s: [[Double]], _ y: [[Double]], _ rho: [Double]) -> [Double] {
        var q = g
        var alpha = [Double](repeating: 0, count: s.count)
        for k in stride(from: s.count - 1, through: 0, by: -1) {
            alpha[k] = rho[k] * dot(s[k], q)
            axpy(-alpha[k], y[k], &q)
        }
        let newest = s.count - 1
        let gamma = dot(s[newest], y[newest]) / dot(y[newest], y[newest])
        for i in 0..<q.count { q[i] *= gamma }
        for k in 0..<s.count {
            let beta = rho[k] * dot(y[k], q)
            axpy(alpha[k] - beta, s[k], &q)
        }
        return q.map { -$0 }
    }
}

/// MINPACK-2's `dcsrch`: a step satisfying the strong Wolfe conditions, by safeguarded cubic/quadratic
/// interpolation (`dcstep`) inside a bracketing interval.
struct MoreThuente {
    let ftol = 1e-3, gtol = 0.9, xtol = 0.1, stpmin = 0.0, stpmax: Double
    let xtrapl = 1.1, xtrapu = 4.0
    var bracketed = false, stage = 1
    let finit: Double, ginit: Double, gtest: Double
    var width: Double, width1: Double
    var stx = 0.0, fx: Double, gx: Double
    var sty = 0.0, fy: Double, gy: Double
    var stmin = 0.0, stmax: Double

    /// The `task = "START"` call: f and g (= f'(0) along d) at step 0, and the first trial step.
    init(f: Double, g: Double, stp: Double, stpmax: Double) {
        self.stpmax = stpmax
        finit = f; ginit = g; gtest = ftol * g
        width = stpmax - stpmin; width1 = width / 0.5
        fx = f; gx = g; fy = f; gy = g
        stmax = stp + xtrapu * stp
    }

    /// One `dcsrch` call with f and g at the trial step `stp`: returns true when the step is accepted
    /// (convergence or a warning, both of which L-BFGS-B accepts), else sets the next trial step.
    mutating func next(f: Double, g: Double, stp: inout Double) -> Bool {
        let ftest = finit + stp * gtest
        if stage == 1 && f <= ftest && g >= 0 { stage = 2 }
        if bracketed && (stp <= stmin || stp >= stmax) { return true }        // rounding errors prevent progress
        if bracketed && stmax - stmin <= xtol * stmax { return true }        // xtol test satisfied
        if stp == stpmax && f <= ftest && g <= gtest { return true }         // stp = stpmax
        if stp == stpmin && (f > ftest || g >= gtest) { return true }        // stp = stpmin
        if f <= ftest && abs(g) <= gtol * (-ginit) { return true }           // convergence

        var interval = Interval(stx: stx, fx: fx, dx: gx, sty: sty, fy: fy, dy: gy, bracketed: bracketed,
                                stmin: stmin, stmax: stmax)
        if stage == 1 && f <= fx && f > ftest {
            // The modified function psi(stp) = f(stp) - f(0) - stp * gtest while no step has decreased enough.
            interval.fx -= stx * gtest; interval.fy -= sty * gtest
            interval.dx -= gtest; interval.dy -= gtest
            interval.step(&stp, fp: f - stp * gtest, dp: g - gtest)
            interval.fx += interval.stx * gtest; interval.fy += interval.sty * gtest
            interval.dx += gtest; interval.dy += gtest
        } else {
            interval.step(&stp, fp: f, dp: g)
        }
        stx = interval.stx; fx = interval.fx; gx = interval.dx
        sty = interval.sty; fy = interval.fy; gy = interval.dy
        bracketed = interval.bracketed
        if bracketed {
            if abs(sty - stx) >= 0.66 * width1 { stp = stx + 0.5 * (sty - stx) }
            width1 = width
            width = abs(sty - stx)
        }
        if bracketed {
            stmin = min(stx, sty); stmax = max(stx, sty)
        } else {
            stmin = stp + xtrapl * (stp - stx); stmax = stp + xtrapu * (stp - stx)
        }
        stp = max(stp, stpmin)
        stp = min(stp, stpmax)
        if (bracketed && (stp <= stmin || stp >= stmax)) || (bracketed && stmax - stmin <= xtol * stmax) { stp = stx }
        return false
    }
}

/// The interval [stx, sty] of `dcsrch` with f and f' at both ends, and `dcstep` that shrinks it.
private struct Interval {
    var stx: Double, fx: Double, dx: Double
    var sty: Double, fy: Double, dy: Double
    var bracketed: Bool
    let stmin: Double, stmax: Double

    /// MINPACK-2's `dcstep`: the next trial step and the updated interval [stx, sty].
    mutating func step(_ stp: inout Double, fp: Double, dp: Double) {
        let sgnd = dp * (dx / abs(dx))
        var stpf: Double
        if fp > fx {
            let theta = 3 * (fx - fp) / (stp - stx) + dx + dp
            let s = max(abs(theta), abs(dx), abs(dp))
            var gamma = s * ((theta / s) * (theta / s) - (dx / s) * (dp / s)).squareRoot()
            if stp < stx { gamma = -gamma }
            let p = (gamma - dx) + theta, q = ((gamma - dx) + gamma) + dp
            let r = p / q
            let stpc = stx + r * (stp - stx)
            let stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2) * (stp - stx)
            stpf = abs(stpc - stx) < abs(stpq - stx) ? stpc : stpc + (stpq - stpc) / 2
            bracketed = true
        } else if sgnd < 0 {
            let theta = 3 * (fx - fp) / (stp - stx) + dx + dp
            let s = max(abs(theta), abs(dx), abs(dp))
            var gamma = s * ((theta / s) * (theta / s) - (dx / s) * (dp / s)).squareRoot()
            if stp > stx { gamma = -gamma }
            let p = (gamma - dp) + theta, q = ((gamma - dp) + gamma) + dx
            let r = p / q
            let stpc = stp + r * (stx - stp)
            let stpq = stp + (dp / (dp - dx)) * (stx - stp)
            stpf = abs(stpc - stp) > abs(stpq - stp) ? stpc : stpq
            bracketed = true
        } else if abs(dp) < abs(dx) {
            let theta = 3 * (fx - fp) / (stp - stx) + dx + dp
            let s = max(abs(theta), abs(dx), abs(dp))
            var gamma = s * max(0, (theta / s) * (theta / s) - (dx / s) * (dp / s)).squareRoot()
            if stp > stx { gamma = -gamma }
            let p = (gamma - dp) + theta, q = (gamma + (dx - dp)) + gamma
            let r = p / q
            let stpc: Double
            if r < 0 && gamma != 0 { stpc = stp + r * (stx - stp) } else if stp > stx { stpc = stmax } else { stpc = stmin }
            let stpq = stp + (dp / (dp - dx)) * (stx - stp)
            if bracketed {
                stpf = abs(stpc - stp) < abs(stpq - stp) ? stpc : stpq
                stpf = stp > stx ? min(stp + 0.66 * (sty - stp), stpf) : max(stp + 0.66 * (sty - stp), stpf)
            } else {
                stpf = abs(stpc - stp) > abs(stpq - stp) ? stpc : stpq
                stpf = min(stmax, stpf)
                stpf = max(stmin, stpf)
            }
        } else {
            if bracketed {
                let theta = 3 * (fp - fy) / (sty - stp) + dy + dp
                let s = max(abs(theta), abs(dy), abs(dp))
                var gamma = s * ((theta / s) * (theta / s) - (dy / s) * (dp / s)).squareRoot()
                if stp > sty { gamma = -gamma }
                let p = (gamma - dp) + theta, q = ((gamma - dp) + gamma) + dy
                let r = p / q
                stpf = stp + r * (sty - stp)
            } else {
                stpf = stp > stx ? stmax : stmin
            }
        }
        if fp > fx {
            sty = stp; fy = fp; dy = dp
        } else {
            if sgnd < 0 { sty = stx; fy = fx; dy = dx }
            stx = stp; fx = fp; dx = dp
        }
        stp = stpf
    }
}

private func dot(_ a: [Double], _ b: [Double]) -> Double {
    var sum = 0.0
    for i in 0..<a.count { sum += a[i] * b[i] }
    return sum
}

private func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) {
    for i in 0..<x.count { y[i] += alpha * x[i] }
}

private func maxAbs(_ values: [Double]) -> Double {
    values.reduce(0) { max($0, abs($1)) }
}
