// A port of scikit-learn 1.9's `MiniBatchKMeans(n_clusters, batch_size=512, init="k-means++", n_init=1,
// random_state=seed).fit_predict(X)` for dense float32 X and unit sample weights (sklearn/cluster/_kmeans.py
// `MiniBatchKMeans.fit`, `_kmeans_plusplus`, `_mini_batch_step`; _k_means_minibatch.pyx; _k_means_lloyd.pyx).
//
// What is reproduced exactly: every RandomState call in order (validation indices, init indices, k-means++
// trials, one weighted `choice` per minibatch, `choice(replace=False)` per reassignment), the float32 update
// arithmetic, k-means++'s float64 distances, the reassignment rule and the EWA-inertia early stopping.
// What is not bit-exact: sums done by BLAS (sgemm distances, sdot potentials) may round differently from the
// OpenBLAS build numpy/sklearn use, which can flip a near-tie assignment.
//
// Bootstrap samples repeat rows, so X is given as `points` (distinct rows) plus `rows` (X's row i is
// points[rows[i]]): distances are computed once per distinct row, which gives the same values.
import CBLAS
import Foundation

public struct MiniBatchKMeans: Sendable {
    public var clusters: Int
    public var batchSize = 512
    public var maxIterations = 100
    public var maxNoImprovement = 10
    public var reassignmentRatio: Float = 0.01
    public var seed: UInt32 = 42
    /// OpenMP threads sklearn splits the batch inertia sum over (`_openmp_effective_n_threads()`, the CPU count
    /// of the machine that made the reference): only the float32 rounding of the early-stopping inertia depends on it.
    public var inertiaThreads = 2

    public init(clusters: Int) { self.clusters = clusters }

    public struct Fit: Sendable {
        /// Cluster of each row of X.
        public let labels: [Int]
        /// Minibatch steps run (`n_steps_`).
        public let steps: Int
    }

    /// `fit_predict(X)`.
    public func fitPredict(_ data: EmbeddingMatrix) -> Fit {
        fitPredict(points: data, rows: Array(0..<data.rows))
    }

    /// `fit_predict(X)` for X = points[rows].
    public func fitPredict(points: EmbeddingMatrix, rows: [Int]) -> Fit {
        let n = rows.count, k = clusters
        precondition(k >= 1 && k <= n, "MiniBatchKMeans: \(k) clusters for \(n) rows")
        let batch = min(batchSize, n)
        var initSize = 3 * batch
        if initSize < k { initSize = 3 * k }
        initSize = min(initSize, n)

        var random = NumPyRandomState(seed: seed)
        // Validation rows: sklearn only scores the init on them, which decides nothing with n_init=1.
        _ = random.randint(0, n, count: initSize)
        let initRows = initSize < n ? random.randint(0, n, count: initSize).map { rows[$0] } : rows
        var centers = kMeansPlusPlus(points: points, rows: initRows, random: &random)
        var newCenters = centers

        var counts = [Float](repeating: 0, count: k)
        var ewaInertia: Double? = nil, ewaInertiaMin: Double? = nil
        var noImprovement = 0, sinceLastReassign = 0
        let steps = (maxIterations * n) / batch
        let cdf = NumPyRandomState.normalizedCumulative([Double](repeating: Double(Float(1) / Float(n)), count: n))
        var batchRows = [Int](repeating: 0, count: batch)
        var labels = [Int](repeating: 0, count: batch)
        var stepsRun = 0
        for step in 0..<steps {
            stepsRun = step + 1
            let drawn = random.choice(count: batch, cumulative: cdf)
            for i in 0..<batch { batchRows[i] = rows[drawn[i]] }
            // `_random_reassign()` is evaluated before the step, on the counts of the previous steps.
            sinceLastReassign += batch
            var reassign = false
            if counts.contains(0) || sinceLastReassign >= 10 * k { sinceLastReassign = 0; reassign = true }

            let inertia = assign(points: points, rows: batchRows, centers: centers, labels: &labels)
            updateCenters(points: points, rows: batchRows, labels: labels, old: centers, new: &newCenters,
                          counts: &counts)
            if reassign && reassignmentRatio > 0 {
                reassignSmallClusters(points: points, rows: batchRows, centers: &newCenters, counts: &counts,
                                      random: &random)
            }
            swap(&centers, &newCenters)

            // `_mini_batch_convergence` (tol = 0, so only the lack-of-improvement rule).
            let batchInertia = Double(inertia) / Double(batch)
            if step == 0 { continue }
            if let previous = ewaInertia {
                let alpha = min(Double(batch) * 2.0 / Double(n + 1), 1)
                ewaInertia = previous * (1 - alpha) + batchInertia * alpha
            } else {
                ewaInertia = batchInertia
            }
            if let ewa = ewaInertia {
                if let best = ewaInertiaMin, !(ewa < best) {
                    noImprovement += 1
                } else {
                    noImprovement = 0
                    ewaInertiaMin = ewa
                }
            }
            if noImprovement >= maxNoImprovement { break }
        }
        var finalLabels = [Int](repeating: 0, count: n)
        _ = assign(points: points, rows: rows, centers: centers, labels: &finalLabels, inertia: false)
        return Fit(labels: finalLabels, steps: stepsRun)
    }

    // MARK: - k-means++ (`_kmeans_plusplus`)

    /// Greedy k-means++ with `2 + int(ln k)` local trials; distances in float64 rounded to float32, as sklearn's
    /// `_euclidean_distances` does for float32 input.
    private func kMeansPlusPlus(points: EmbeddingMatrix, rows: [Int], random: inout NumPyRandomState) -> [Float] {
        let m = rows.count, d = points.dimension, k = clusters
        let trials = 2 + Int(Foundation.log(Double(k)))
        // Distinct rows among the m init rows, in float64, with their squared norms.
        let (distinct, rowSlot) = distinctRows(rows)
        var wide = [Double](repeating: 0, count: distinct.count * d)
        var norms = [Double](repeating: 0, count: distinct.count)
        points.values.withUnsafeBufferPointer { values in
            for (s, row) in distinct.enumerated() {
                var sum = 0.0
                for j in 0..<d { let v = Double(values[row * d + j]); wide[s * d + j] = v; sum += v * v }
                norms[s] = sum
            }
        }
        // Squared distances (float32) from init rows at `candidates` (positions in `rows`) to all m rows.
        func distances(from candidates: [Int]) -> [[Float]] {
            let c = candidates.count, u = distinct.count
            var centerRows = [Double](repeating: 0, count: c * d)
            for (i, candidate) in candidates.enumerated() {
                let s = rowSlot[candidate]
                for j in 0..<d { centerRows[i * d + j] = wide[s * d + j] }
            }
            var dots = [Double](repeating: 0, count: c * u)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(c), Int32(u), Int32(d), 1.0,
                        centerRows, Int32(d), wide, Int32(d), 0.0, &dots, Int32(u))
            return candidates.enumerated().map { i, candidate in
                let centerNorm = norms[rowSlot[candidate]]
                let perSlot = (0..<u).map { s in max(Float(-2 * dots[i * u + s] + centerNorm + norms[s]), 0) }
                return rowSlot.map { perSlot[$0] }
            }
        }

        var centers = [Float](repeating: 0, count: k * d)
        func setCenter(_ c: Int, row: Int) {
            for j in 0..<d { centers[c * d + j] = points.values[row * d + j] }
        }
        let unitWeight = Double(Float(1) / Float(m))
        let first = random.choice(m, count: 1, probabilities: [Double](repeating: unitWeight, count: m))[0]
        setCenter(0, row: rows[first])
        var closest = distances(from: [first])[0]
        let ones = [Float](repeating: 1, count: m)
        var potential = cblas_sdot(Int32(m), closest, 1, ones, 1)   // (1, m) @ (m,): numpy's dot -> sdot
        for c in 1..<max(k, 1) {
            let thresholds = random.randomSample(count: trials).map { $0 * Double(potential) }
            var cumulative = [Double](repeating: 0, count: m)
            var running: Float = 0
            for i in 0..<m { running += closest[i]; cumulative[i] = Double(running) }
            let candidates = thresholds.map { min(NumPyRandomState.searchSortedLeft(cumulative, $0), m - 1) }
            var candidateDistances = distances(from: candidates)
            for t in 0..<candidates.count {
                for i in 0..<m { candidateDistances[t][i] = min(closest[i], candidateDistances[t][i]) }
            }
            // `distance_to_candidates @ sample_weight.reshape(-1, 1)` is a matrix-vector product: numpy calls
            // sgemv (not sdot), whose float32 summation order differs and can move a later searchsorted.
            let stacked = Array(candidateDistances.joined())
            var potentials = [Float](repeating: 0, count: candidates.count)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(candidates.count), Int32(m), 1, stacked, Int32(m),
                        ones, 1, 0, &potentials, 1)
            var best = 0, bestPotential = potentials[0]
            for t in 1..<candidates.count where potentials[t] < bestPotential { best = t; bestPotential = potentials[t] }
            potential = bestPotential
            closest = candidateDistances[best]
            setCenter(c, row: rows[candidates[best]])
        }
        return centers
    }

    // MARK: - Minibatch step (`_mini_batch_step`)

    /// Nearest centre of each row (`lloyd_iter_chunked_dense` without update: argmin of ||c||² - 2 x·c, float32,
    /// first centre on ties); returns the float32 inertia summed as sklearn's `_inertia_dense` does.
    @discardableResult
    private func assign(points: EmbeddingMatrix, rows: [Int], centers: [Float], labels: inout [Int],
                        inertia computeInertia: Bool = true) -> Float {
        let d = points.dimension, k = clusters
        let (distinct, rowSlot) = distinctRows(rows)
        let u = distinct.count
        var gathered = [Float](repeating: 0, count: u * d)
        points.values.withUnsafeBufferPointer { values in
            gathered.withUnsafeMutableBufferPointer { gathered in
                for (s, row) in distinct.enumerated() {
                    for j in 0..<d { gathered[s * d + j] = values[row * d + j] }
                }
            }
        }
        var centerNorms = [Float](repeating: 0, count: k)
        centers.withUnsafeBufferPointer { centers in
            for c in 0..<k {
                var sum = 0.0
                for j in 0..<d { let v = Double(centers[c * d + j]); sum += v * v }
                centerNorms[c] = Float(sum)
            }
        }
        var scores = [Float](repeating: 0, count: u * k)
        for s in 0..<u { for c in 0..<k { scores[s * k + c] = centerNorms[c] } }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(u), Int32(k), Int32(d), -2.0,
                    gathered, Int32(d), centers, Int32(d), 1.0, &scores, Int32(k))
        var slotLabel = [Int](repeating: 0, count: u)
        var slotDistance = [Float](repeating: 0, count: u)
        for s in 0..<u {
            var best = 0, bestScore = scores[s * k]
            for c in 1..<max(k, 1) where scores[s * k + c] < bestScore { best = c; bestScore = scores[s * k + c] }
            slotLabel[s] = best
            if computeInertia {
                slotDistance[s] = gathered.withUnsafeBufferPointer { g in
                    centers.withUnsafeBufferPointer { c in
                        squaredDistance(g.baseAddress! + s * d, c.baseAddress! + best * d, d)
                    }
                }
            }
        }
        for i in 0..<rows.count { labels[i] = slotLabel[rowSlot[i]] }
        guard computeInertia else { return 0 }
        // OpenMP `prange(schedule="static")` with a sum reduction: each thread sums its contiguous block.
        let threads = max(1, min(inertiaThreads, rows.count))
        let block = (rows.count + threads - 1) / threads
        var total: Float = 0
        for t in 0..<threads {
            var part: Float = 0
            for i in (t * block)..<min((t + 1) * block, rows.count) { part += slotDistance[rowSlot[i]] }
            total += part
        }
        return total
    }

    /// The distinct values of `rows` in order of first appearance, and each row's position among them.
    private func distinctRows(_ rows: [Int]) -> (distinct: [Int], slotOfRow: [Int]) {
        var slot = [Int: Int](), distinct = [Int]()
        let slotOfRow = rows.map { row -> Int in
            if let s = slot[row] { return s }
            slot[row] = distinct.count
            distinct.append(row)
            return distinct.count - 1
        }
        return (distinct, slotOfRow)
    }

    /// `_euclidean_dense_dense(squared=True)` in float32, unrolled by four as sklearn writes it.
    private func squaredDistance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: Int) -> Float {
        var result: Float = 0
        var j = 0
        while j + 4 <= d {
            let t0 = a[j] - b[j], t1 = a[j + 1] - b[j + 1], t2 = a[j + 2] - b[j + 2], t3 = a[j + 3] - b[j + 3]
            result += ((t0 * t0 + t1 * t1) + t2 * t2) + t3 * t3
            j += 4
        }
        while j < d { let t = a[j] - b[j]; result += t * t; j += 1 }
        return result
    }

    /// `_minibatch_update_dense` with unit weights: each centre becomes the running mean of everything it has
    /// been assigned so far, in float32.
    private func updateCenters(points: EmbeddingMatrix, rows: [Int], labels: [Int], old: [Float], new: inout [Float],
                               counts: inout [Float]) {
        let d = points.dimension
        var members = [[Int]](repeating: [], count: clusters)
        for (i, label) in labels.enumerated() { members[label].append(rows[i]) }
        points.values.withUnsafeBufferPointer { values in
            old.withUnsafeBufferPointer { old in
                new.withUnsafeMutableBufferPointer { new in
                    for c in 0..<clusters {
                        let base = c * d
                        guard !members[c].isEmpty else {
                            for j in 0..<d { new[base + j] = old[base + j] }
                            continue
                        }
                        var weight: Float = 0
                        for _ in members[c] { weight += 1 }
                        let count = counts[c]
                        for j in 0..<d { new[base + j] = old[base + j] * count }
                        // Element-wise float32 adds, eight lanes at a time (the same roundings as a scalar loop).
                        let target = UnsafeMutableRawPointer(new.baseAddress! + base)
                        let wide = d - d % 8
                        for row in members[c] {
                            let source = UnsafeRawPointer(values.baseAddress! + row * d)
                            var j = 0
                            while j < wide {
                                let sum = target.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                                    + source.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                                target.storeBytes(of: sum, toByteOffset: j * 4, as: SIMD8<Float>.self)
                                j += 8
                            }
                            while j < d { new[base + j] += values[row * d + j]; j += 1 }
                        }
                        counts[c] += weight
                        let alpha: Float = 1 / counts[c]
                        for j in 0..<d { new[base + j] *= alpha }
                    }
                }
            }
        }
    }

    /// Centres whose count is below `reassignmentRatio` x the largest move to random rows of the batch and get
    /// the smallest remaining count.
    private func reassignSmallClusters(points: EmbeddingMatrix, rows: [Int], centers: inout [Float],
                                       counts: inout [Float], random: inout NumPyRandomState) {
        let d = points.dimension
        let largest = counts.max() ?? 0
        let threshold = reassignmentRatio * largest
        var moving = counts.map { $0 < threshold }
        if Double(moving.filter({ $0 }).count) > 0.5 * Double(rows.count) {
            // At most half a batch moves; sklearn keeps the rest by argsort (quicksort, so ties may order
            // differently here; unreachable unless clusters > batch / 2).
            let order = (0..<counts.count).sorted { counts[$0] < counts[$1] }
            for c in order[(rows.count / 2)...] { moving[c] = false }
        }
        let movingClusters = (0..<clusters).filter { moving[$0] }
        guard !movingClusters.isEmpty else { return }
        let picked = random.choiceWithoutReplacement(rows.count, count: movingClusters.count)
        for (c, position) in zip(movingClusters, picked) {
            let start = rows[position] * d
            for j in 0..<d { centers[c * d + j] = points.values[start + j] }
        }
        let smallestKept = (0..<clusters).filter { !moving[$0] }.map { counts[$0] }.min() ?? 0
        for c in movingClusters { counts[c] = smallestKept }
    }
}
