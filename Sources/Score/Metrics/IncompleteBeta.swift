import Foundation

/// The regularised incomplete beta function `I_x(a, b)`, for correlation p-values.
///
/// Lentz's continued fraction (Numerical Recipes §6.4), using the symmetry
/// `I_x(a, b) = 1 - I_{1-x}(b, a)` where the fraction converges faster; accurate to ~1e-14.
public enum IncompleteBeta {
    public static func regularized(a: Double, b: Double, x: Double) -> Double {
        precondition(a > 0 && b > 0, "incomplete beta needs a, b > 0")
        if x.isNaN { return .nan }
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        if x < (a + 1) / (a + b + 2) {
            return exp(logFront) * continuedFraction(a: a, b: b, x: x) / a
        }
        return 1 - exp(logFront) * continuedFraction(a: b, b: a, x: 1 - x) / b
    }

    private static func continuedFraction(a: Double, b: Double, x: Double) -> Double {
        let tiny = 1e-300, epsilon = 1e-16
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var result = d
        for m in 1...10_000 {
            let m = Double(m), m2 = 2 * m
            // Even step.
            var numerator = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
            d = 1 + numerator * d; if abs(d) < tiny { d = tiny }
            c = 1 + numerator / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            result *= d * c
            // Odd step.
            numerator = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
            d = 1 + numerator * d; if abs(d) < tiny { d = tiny }
            c = 1 + numerator / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            result *= delta
            if abs(delta - 1) < epsilon { break }
        }
        return result
    }
}
