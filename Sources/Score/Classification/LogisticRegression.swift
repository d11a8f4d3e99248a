// scikit-learn 1.9's LogisticRegression(solver="lbfgs", penalty="l2", C=1, fit_intercept=True, max_iter=100,
// tol=1e-4) for float32 X, as mteb's classification probe uses it (sklearn/linear_model/_logistic.py,
// _linear_loss.py, sklearn/_loss/_loss.pyx.tp):
// - two classes: one coefficient vector, half binomial loss (y = 1 for the second sorted class);
// - more: one vector per class (over-parametrised softmax), half multinomial loss;
// - objective: mean pointwise loss + ||W||² / (2 C n), intercepts not penalised, minimised by L-BFGS from 0.
// The arithmetic follows sklearn's float32 path: scipy hands the objective its parameters in x0's dtype
// (float32), so the logits, per-sample losses and gradients, NumPy's pairwise float32 loss sum, the
// penalty float32(0.5 l2) * (W · W) and the gradient G'X + float32(l2) W are all float32; L-BFGS-B itself
// runs in float64. The fitted coefficients are rounded to float32 and
// the decision function is float32 X W' + b; ties in argmax go to the first class.
// The products (X W', G'X, W · W) run on the fixed-order kernels of CKernels (fixed_order.c), not BLAS: BLAS
// kernels round in the order of the CPU's kernel, and L-BFGS amplifies the last bit into a different fit, so a
// BLAS product would make the accuracy depend on the host. numpy sums in its BLAS's order, so the agreement with
// sklearn is to rounding (ClassificationParityTests), as it was with our own BLAS.
import CKernels
import Foundation

struct LogisticRegression {
    var inverseRegularization = 1.0
    var solver = LBFGS()

    struct Model {
        let classes: Int
        let dimension: Int
        /// W in float32: outputs x dimension row-major (outputs = 1 for binary, else one per class).
        let weights: [Float]
        let intercepts: [Float] // rows
        let fit: LBFGS.Result
    }

    /// Fits `classes` classes to `x` (n x d, row-major) with labels in 0..<classes (each present).
    func fit(x: [Float], rows n: Int, dimension d: Int, labels: [Int], classes: Int) -> Model {
        let outputs = classes == 2 ? 1 : classes
        let objective = Objective(x: x, rows: n, dimension: d, labels: labels, outputs: outputs,
                                  l2: 1.0 / (inverseRegularization * Double(n)))
        let result = solver.minimize(from: [Double](repeating: 0, count: outputs * (d + 1))) { w, gradient in
            objective.evaluate(w, &gradient)
        }
        // Parameters in sklearn's layout: feature-major (Fortran order of the (classes, d + 1) matrix), the
        // intercepts last, so W' (d x outputs, row-major) is the first d * outputs values; kept as W.
        var weights = [Float](repeating: 0, count: outputs * d)
        for j in 0..<d { for k in 0..<outputs { weights[k * d + j] = Float(result.x[j * outputs + k]) } }
        let intercepts = result.x[(outputs * d)...].map { Float($0) }
        return Model(classes: classes, dimension: d, weights: weights, intercepts: intercepts, fit: result)
    }

    /// sklearn's objective and gradient for fixed X and y, with its buffers allocated once per fit (the
    /// optimiser calls it a few hundred times).
    ///
    /// Parameters in sklearn's layout: feature-major (Fortran order of the (outputs, d + 1) matrix), the
    /// intercepts last; binary: d weights then the intercept. Element (k, j) is at j * outputs + k.
    private final class Objective {
        let x: [Float], n: Int, d: Int, outputs: Int, y: [Int], l2: Double
        let w32: UnsafeMutablePointer<Float>, wRows: UnsafeMutablePointer<Float>, b32: UnsafeMutablePointer<Float>
        let raw: UnsafeMutablePointer<Float>, pointwiseGradient: UnsafeMutablePointer<Float>
        let pointwiseLoss: UnsafeMutablePointer<Float>, gradientX: UnsafeMutablePointer<Float>
        let probabilities: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>

        init(x: [Float], rows n: Int, dimension d: Int, labels: [Int], outputs: Int, l2: Double) {
            self.x = x; self.n = n; self.d = d; self.outputs = outputs; self.y = labels; self.l2 = l2
            func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
                let pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
                pointer.initialize(repeating: 0, count: max(count, 1))
                return pointer
            }
            w32 = buffer(outputs * d); wRows = buffer(outputs * d); b32 = buffer(outputs)
            raw = buffer(n * outputs); pointwiseGradient = buffer(n * outputs)
            pointwiseLoss = buffer(n); gradientX = buffer(outputs * d)
            probabilities = buffer(outputs); sums = buffer(outputs)
        }

        deinit {
            for pointer in [w32, wRows, b32, raw, pointwiseGradient, pointwiseLoss, gradientX, probabilities, sums] {
                pointer.deallocate()
            }
        }

        func evaluate(_ w: [Double], _ gradient: inout [Double]) -> Double {
            let (n, d, outputs) = (self.n, self.d, self.outputs)
            let weightCount = outputs * d
            // W' as float32, d x outputs row-major (the first d * outputs parameters), and W (outputs x d) for
            // the product: each logit is one fixed-order dot of a row of X with a row of W.
            w.withUnsafeBufferPointer { w in
                for i in 0..<weightCount { w32[i] = Float(w[i]) }
                for j in 0..<d { for k in 0..<outputs { wRows[k * d + j] = w32[j * outputs + k] } }
                for k in 0..<outputs { b32[k] = Float(w[weightCount + k]) }
            }
            // raw = X W' + b (float32 product, then the intercept added).
            x.withUnsafeBufferPointer { x in
                linearProduct(x.baseAddress, rows: n, dimension: d, weights: wRows, outputs: outputs, into: raw)
            }
            for i in 0..<n { for k in 0..<outputs { raw[i * outputs + k] += b32[k] } }
            y.withUnsafeBufferPointer { y in
                if outputs == 1 {
                    for i in 0..<n {
                        let (loss, grad) = halfBinomial(y: y[i] == 1 ? 1 : 0, raw: Double(raw[i]))
                        pointwiseLoss[i] = Float(loss); pointwiseGradient[i] = Float(grad)
                    }
                } else {
                    for i in 0..<n {
                        let row = i * outputs
                        var maxValue = raw[row]
                        for k in 1..<outputs where maxValue < raw[row + k] { maxValue = raw[row + k] }
                        var sum = 0.0
                        for k in 0..<outputs {
                            probabilities[k] = Float(Foundation.exp(Double(raw[row + k]) - Double(maxValue)))
                            sum += Double(probabilities[k])
                        }
                        let sumExps = Float(sum)
                        var loss = Float(Foundation.log(Double(sumExps)) + Double(maxValue))
                        for k in 0..<outputs {
                            if y[i] == k { loss -= raw[row + k] }
                            probabilities[k] /= sumExps
                            pointwiseGradient[row + k] = probabilities[k] - (y[i] == k ? 1 : 0)
                        }
                        pointwiseLoss[i] = loss
                    }
                }
            }
            let meanLoss = pairwiseSum(pointwiseLoss, n) / Float(n)
            let scale = Float(n)
            for i in 0..<(n * outputs) { pointwiseGradient[i] /= scale }
            // G' X: (outputs x d) = G' (outputs x n) X (n x d), float32, each element summed over the samples
            // in order (binary: X' g).
            x.withUnsafeBufferPointer { x in
                guard let x = x.baseAddress else { return }
                ck_weighted_rows_f32(pointwiseGradient, outputs, n, outputs, x, d, d, gradientX, d)
            }
            // scipy hands sklearn the parameters in x0's dtype (float32), so the penalty and the gradient are
            // float32 too: penalty = float32(0.5 l2) * sdot(W, W), gradient = G'X + float32(l2) * W.
            let l2Single = Float(l2)
            gradient.withUnsafeMutableBufferPointer { gradient in
                for j in 0..<d {
                    for k in 0..<outputs {
                        gradient[j * outputs + k] = Double(gradientX[k * d + j] + l2Single * w32[j * outputs + k])
                    }
                }
                if outputs == 1 {
                    gradient[weightCount] = Double(pairwiseSum(pointwiseGradient, n))
                } else {
                    for k in 0..<outputs { sums[k] = 0 }   // sum over axis 0: row by row
                    for i in 0..<n { for k in 0..<outputs { sums[k] += pointwiseGradient[i * outputs + k] } }
                    for k in 0..<outputs { gradient[weightCount + k] = Double(sums[k]) }
                }
            }
            var squaredNorm: Float = 0
            ck_dot_rows_f32(w32, weightCount, 1, w32, weightCount, 1, weightCount, &squaredNorm, 1)
            let penalty = Float(0.5 * l2) * squaredNorm
            return Double(meanLoss + penalty)
        }
    }
}

extension LogisticRegression.Model {
    /// Predicted class of each row of `x` (n x d): argmax of the float32 decision function, first class on
    /// ties; binary: the second class when the decision is > 0.
    func predict(x: [Float], rows n: Int) -> [Int] {
        let outputs = classes == 2 ? 1 : classes
        var scores = [Float](repeating: 0, count: n * outputs)
        x.withUnsafeBufferPointer { x in
            weights.withUnsafeBufferPointer { weights in
                scores.withUnsafeMutableBufferPointer { scores in
                    linearProduct(x.baseAddress, rows: n, dimension: dimension, weights: weights.baseAddress,
                                  outputs: outputs, into: scores.baseAddress)
                }
            }
        }
        return (0..<n).map { i in
            let row = i * outputs
            if outputs == 1 { return scores[row] + intercepts[0] > 0 ? 1 : 0 }
            var best = 0, bestScore = scores[row] + intercepts[0]
            for k in 1..<outputs {
                let score = scores[row + k] + intercepts[k]
                if score > bestScore { best = k; bestScore = score }
            }
            return best
        }
    }
}

/// X W' in float32 (`X @ coef.T`) for W of `outputs` rows of d: every element one fixed-order dot product.
private func linearProduct(_ x: UnsafePointer<Float>?, rows n: Int, dimension d: Int,
                           weights w: UnsafePointer<Float>?, outputs: Int,
                           into result: UnsafeMutablePointer<Float>?) {
    guard let x, let w, let result, n > 0 else { return }
    ck_dot_rows_f32(x, d, n, w, d, outputs, d, result, outputs)
}

/// sklearn's `closs_grad_half_binomial`: loss log(1 + e^raw) - y raw and its derivative, in float64, with the
/// same branches for numerical range.
private func halfBinomial(y: Double, raw: Double) -> (loss: Double, gradient: Double) {
    if raw <= -37 {
        let e = Foundation.exp(raw)
        return (e - y * raw, e - y)
    } else if raw <= -2 {
        let e = Foundation.exp(raw)
        return (Foundation.log1p(e) - y * raw, ((1 - y) * e - y) / (1 + e))
    } else if raw <= 18 {
        let e = Foundation.exp(-raw)
        return (Foundation.log1p(e) + (1 - y) * raw, ((1 - y) - y * e) / (1 + e))
    } else {
        let e = Foundation.exp(-raw)
        return (e + (1 - y) * raw, ((1 - y) - y * e) / (1 + e))
    }
}

/// NumPy's pairwise summation of a contiguous float32 array (`np.sum`): blocks of at most 128 summed with eight
/// accumulators, halves (rounded to a multiple of 8) summed recursively; float32 throughout.
private func pairwiseSum(_ a: UnsafePointer<Float>?, _ n: Int) -> Float {
    guard let a, n > 0 else { return 0 }
    if n < 8 {
        var sum: Float = 0
        for i in 0..<n { sum += a[i] }
        return sum
    }
    if n <= 128 {
        // Eight accumulators, lane j summing a[j], a[j + 8], ... in order (element-wise adds: same roundings).
        var r = UnsafeRawPointer(a).loadUnaligned(as: SIMD8<Float>.self)
        var i = 8
        while i < n - (n % 8) {
            r += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n { sum += a[i]; i += 1 }
        return sum
    }
    var half = n / 2
    half -= half % 8
    return pairwiseSum(a, half) + pairwiseSum(a + half, n - half)
}
