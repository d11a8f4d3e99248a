// A port of scikit-learn 1.9's `MiniBatchKMeans(n_clusters, batch_size=512, init="k-means++", n_init=1,
// random_state=seed).fit_predict(X)` for dense float32 X and unit sample weights (sklearn/cluster/_kmeans.py
// `MiniBatchKMeans.fit`, `_kmeans_plusplus`, `_mini_batch_step`; _k_means_minibatch.pyx; _k_means_lloyd.pyx).
//
// What is reproduced exactly: every RandomState call in order (validation indices, init indices, k-means++
// trials, one weighted `choice` per minibatch, `choice(replace=False)` per reassignment), the float32 update
// arithmetic, k-means++'s float64 distances, the reassignment rule and the EWA-inertia early stopping.
// What is not bit-exact: the products (x · c distances, k-means++ potentials and float64 dots) run on the
// fixed-order kernels of CKernels (fixed_order.c), which sum in another order than the OpenBLAS build numpy/sklearn
// use, so a near-tie assignment may go the other way than in sklearn. They are not BLAS on purpose: a BLAS kernel
// sums in the order of the kernel it picks for the CPU, and k-means turns the last bit into another clustering, so
// the scores would depend on the host; the fixed order gives the same bits on every x86-64 CPU.
//
// Bootstrap samples repeat rows, so X is given as `points` (distinct rows) plus `rows` (X's row i is
// points[rows[i]]): distances are computed once per distinct row, which gives the same values.
import CKernels
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
        fitPredict(points: points, rows: rows, workspace: workspace(points: points, rows: rows.count))
    }

    /// Step buffers for fits of `rows` rows of `points` (reusable by several fits on the same points).
    func workspace(points: EmbeddingMatrix, rows: Int) -> Workspace {
        Workspace(points: points.rows, dimension: points.dimension, clusters: clusters, rows: rows)
    }

    /// `fit_predict(X)` for X = points[rows], with buffers from `workspace(points:rows:)`.
    func fitPredict(points: EmbeddingMatrix, rows: [Int], workspace: Workspace) -> Fit {
        let n = rows.count, k = clusters
        precondition(workspace.points == points.rows && workspace.dimension == points.dimension
                     && workspace.clusters == k, "MiniBatchKMeans: workspace made for other points")
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

            let inertia = batchRows.withUnsafeBufferPointer { batchRows in
                labels.withUnsafeMutableBufferPointer { labels in
                    centers.withUnsafeBufferPointer { centers in
                        newCenters.withUnsafeMutableBufferPointer { newCenters in
                            guard let c = centers.baseAddress, let next = newCenters.baseAddress,
                                  let l = labels.baseAddress else { return Float(0) }
                            let inertia = assign(points: points, rows: batchRows, centers: c, labels: l,
                                                 workspace: workspace)
                            updateCenters(points: points, rows: batchRows, labels: l, old: c, new: next,
                                          counts: &counts, workspace: workspace)
                            return inertia
                        }
                    }
                }
            }
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
        rows.withUnsafeBufferPointer { rows in
            finalLabels.withUnsafeMutableBufferPointer { labels in
                centers.withUnsafeBufferPointer { centers in
                    guard let c = centers.baseAddress, let l = labels.baseAddress else { return }
                    assign(points: points, rows: rows, centers: c, labels: l, workspace: workspace, inertia: false)
                }
            }
        }
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
            ck_dot_rows_f64(centerRows, d, c, wide, d, u, d, &dots, u)
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
        var potential: Float = 0   // (1, m) @ (m,): numpy's dot
        ck_dot_rows_f32(closest, m, 1, ones, m, 1, m, &potential, 1)
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
            // `distance_to_candidates @ sample_weight.reshape(-1, 1)`: one fixed-order dot per candidate.
            let stacked = Array(candidateDistances.joined())
            var potentials = [Float](repeating: 0, count: candidates.count)
            ck_dot_rows_f32(stacked, m, candidates.count, ones, m, 1, m, &potentials, 1)
            var best = 0, bestPotential = potentials[0]
            for t in 1..<candidates.count where potentials[t] < bestPotential { best = t; bestPotential = potentials[t] }
            potential = bestPotential
            closest = candidateDistances[best]
            setCenter(c, row: rows[candidates[best]])
        }
        return centers
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

    // MARK: - Minibatch step (`_mini_batch_step`)

    /// Buffers of the minibatch steps, allocated once per fit (or once for several fits on the same points)
    /// and sized by the number of distinct points, so no step allocates: large per-step arrays would be
    /// mmapped and page-faulted in again on every step.
    final class Workspace {
        let points: Int, dimension: Int, clusters: Int
        /// Slot of each point among the distinct rows of the current call; -1 when absent (reset after use).
        private let slotOfPoint: UnsafeMutablePointer<Int>
        let distinct: UnsafeMutablePointer<Int>
        private(set) var rowSlot: UnsafeMutablePointer<Int>
        private var rowSlotCapacity: Int
        /// The distinct rows, gathered (points x dimension at most).
        let gathered: UnsafeMutablePointer<Float>
        let scores: UnsafeMutablePointer<Float>
        let centerNorms: UnsafeMutablePointer<Float>
        let slotLabel: UnsafeMutablePointer<Int>
        let slotDistance: UnsafeMutablePointer<Float>
        /// Members of cluster c, in batch order: memberRows[memberStart[c] ..< memberStart[c + 1]].
        let memberStart: UnsafeMutablePointer<Int>
        private(set) var memberRows: UnsafeMutablePointer<Int>

        init(points: Int, dimension: Int, clusters: Int, rows: Int) {
            self.points = points; self.dimension = dimension; self.clusters = clusters
            slotOfPoint = .allocate(capacity: max(points, 1))
            slotOfPoint.initialize(repeating: -1, count: max(points, 1))
            distinct = .allocate(capacity: max(points, 1))
            rowSlotCapacity = max(rows, 1)
            rowSlot = .allocate(capacity: rowSlotCapacity)
            memberRows = .allocate(capacity: rowSlotCapacity)
            gathered = .allocate(capacity: max(points * dimension, 1))
            scores = .allocate(capacity: max(points * clusters, 1))
            centerNorms = .allocate(capacity: max(clusters, 1))
            slotLabel = .allocate(capacity: max(points, 1))
            slotDistance = .allocate(capacity: max(points, 1))
            memberStart = .allocate(capacity: clusters + 1)
        }

        deinit {
            for pointer in [slotOfPoint, distinct, rowSlot, slotLabel, memberStart, memberRows] { pointer.deallocate() }
            for pointer in [gathered, scores, centerNorms, slotDistance] { pointer.deallocate() }
        }

        /// Room for `rows` entries in `rowSlot` and `memberRows`.
        func reserve(rows: Int) {
            guard rows > rowSlotCapacity else { return }
            rowSlot.deallocate(); memberRows.deallocate()
            rowSlotCapacity = rows
            rowSlot = .allocate(capacity: rows)
            memberRows = .allocate(capacity: rows)
        }

        /// The distinct values of `rows` in order of first appearance into `distinct`, each row's position
        /// among them into `rowSlot`; returns how many are distinct.
        func distinctRows(_ rows: UnsafeBufferPointer<Int>) -> Int {
            reserve(rows: rows.count)
            var u = 0
            for i in 0..<rows.count {
                let row = rows[i]
                var s = slotOfPoint[row]
                if s < 0 { s = u; slotOfPoint[row] = u; distinct[u] = row; u += 1 }
                rowSlot[i] = s
            }
            for s in 0..<u { slotOfPoint[distinct[s]] = -1 }
            return u
        }
    }

    /// Nearest centre of each row (`lloyd_iter_chunked_dense` without update: argmin of ||c||² - 2 x·c, float32,
    /// first centre on ties); returns the float32 inertia summed as sklearn's `_inertia_dense` does.
    @discardableResult
    private func assign(points: EmbeddingMatrix, rows: UnsafeBufferPointer<Int>, centers: UnsafePointer<Float>,
                        labels: UnsafeMutablePointer<Int>, workspace w: Workspace,
                        inertia computeInertia: Bool = true) -> Float {
        let d = points.dimension, k = clusters, n = rows.count
        let u = w.distinctRows(rows)
        points.values.withUnsafeBufferPointer { values in
            guard let base = values.baseAddress else { return }
            for s in 0..<u { (w.gathered + s * d).update(from: base + w.distinct[s] * d, count: d) }
        }
        // ||c||² summed in float64 in index order, four centres interleaved (independent chains, same order).
        var c = 0
        while c + 4 <= k {
            let (p0, p1, p2, p3) = (centers + c * d, centers + (c + 1) * d, centers + (c + 2) * d, centers + (c + 3) * d)
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            for j in 0..<d {
                let v0 = Double(p0[j]), v1 = Double(p1[j]), v2 = Double(p2[j]), v3 = Double(p3[j])
                s0 += v0 * v0; s1 += v1 * v1; s2 += v2 * v2; s3 += v3 * v3
            }
            w.centerNorms[c] = Float(s0); w.centerNorms[c + 1] = Float(s1)
            w.centerNorms[c + 2] = Float(s2); w.centerNorms[c + 3] = Float(s3)
            c += 4
        }
        while c < k {
            var sum = 0.0
            for j in 0..<d { let v = Double(centers[c * d + j]); sum += v * v }
            w.centerNorms[c] = Float(sum)
            c += 1
        }
        // ||c||² + (-2 x · c), the x · c summed in a fixed order (sklearn: sgemm with alpha -2, beta 1).
        ck_dot_rows_f32(w.gathered, d, u, centers, d, k, d, w.scores, k)
        for s in 0..<u {
            let row = w.scores + s * k
            for c in 0..<k { row[c] = w.centerNorms[c] + -2 * row[c] }
            var best = 0, bestScore = row[0]
            for c in 1..<max(k, 1) where row[c] < bestScore { best = c; bestScore = row[c] }
            w.slotLabel[s] = best
        }
        for i in 0..<n { labels[i] = w.slotLabel[w.rowSlot[i]] }
        guard computeInertia else { return 0 }
        var s = 0
        while s + 4 <= u {
            squaredDistances4(w.gathered + s * d, centers, labels: w.slotLabel + s, d, into: w.slotDistance + s)
            s += 4
        }
        while s < u {
            w.slotDistance[s] = squaredDistance(w.gathered + s * d, centers + w.slotLabel[s] * d, d)
            s += 1
        }
        // OpenMP `prange(schedule="static")` with a sum reduction: each thread sums its contiguous block.
        let threads = max(1, min(inertiaThreads, n))
        let block = (n + threads - 1) / threads
        var total: Float = 0
        for t in 0..<threads {
            var part: Float = 0
            for i in (t * block)..<min((t + 1) * block, n) { part += w.slotDistance[w.rowSlot[i]] }
            total += part
        }
        return total
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

    /// `squaredDistance` for four consecutive rows of `a` (each to its own centre), as four independent
    /// chains: each lane does exactly the scalar function's operations in its order.
    private func squaredDistances4(_ a: UnsafePointer<Float>, _ centers: UnsafePointer<Float>,
                                   labels: UnsafePointer<Int>, _ d: Int, into out: UnsafeMutablePointer<Float>) {
        let a0 = a, a1 = a + d, a2 = a + 2 * d, a3 = a + 3 * d
        let b0 = centers + labels[0] * d, b1 = centers + labels[1] * d
        let b2 = centers + labels[2] * d, b3 = centers + labels[3] * d
        var result = SIMD4<Float>()
        var j = 0
        while j + 4 <= d {
            let t0 = SIMD4(a0[j], a1[j], a2[j], a3[j]) - SIMD4(b0[j], b1[j], b2[j], b3[j])
            let t1 = SIMD4(a0[j + 1], a1[j + 1], a2[j + 1], a3[j + 1]) - SIMD4(b0[j + 1], b1[j + 1], b2[j + 1], b3[j + 1])
            let t2 = SIMD4(a0[j + 2], a1[j + 2], a2[j + 2], a3[j + 2]) - SIMD4(b0[j + 2], b1[j + 2], b2[j + 2], b3[j + 2])
            let t3 = SIMD4(a0[j + 3], a1[j + 3], a2[j + 3], a3[j + 3]) - SIMD4(b0[j + 3], b1[j + 3], b2[j + 3], b3[j + 3])
            result += ((t0 * t0 + t1 * t1) + t2 * t2) + t3 * t3
            j += 4
        }
        while j < d {
            let t = SIMD4(a0[j], a1[j], a2[j], a3[j]) - SIMD4(b0[j], b1[j], b2[j], b3[j])
            result += t * t
            j += 1
        }
        out[0] = result[0]; out[1] = result[1]; out[2] = result[2]; out[3] = result[3]
    }

    /// `_minibatch_update_dense` with unit weights: each centre becomes the running mean of everything it has
    /// been assigned so far, in float32.
    private func updateCenters(points: EmbeddingMatrix, rows: UnsafeBufferPointer<Int>, labels: UnsafePointer<Int>,
                               old: UnsafePointer<Float>, new: UnsafeMutablePointer<Float>,
                               counts: inout [Float], workspace w: Workspace) {
        let d = points.dimension, n = rows.count
        // Bucket the batch by label (a counting sort keeps batch order inside each cluster).
        let start = w.memberStart
        for c in 0...clusters { start[c] = 0 }
        for i in 0..<n { start[labels[i] + 1] += 1 }
        for c in 0..<clusters { start[c + 1] += start[c] }
        for i in 0..<n { w.memberRows[start[labels[i]]] = rows[i]; start[labels[i]] += 1 }
        for c in stride(from: clusters, to: 0, by: -1) { start[c] = start[c - 1] }
        start[0] = 0
        points.values.withUnsafeBufferPointer { values in
            guard let base = values.baseAddress else { return }
            for c in 0..<clusters {
                let target = new + c * d, previous = old + c * d
                let members = start[c + 1] - start[c]
                guard members > 0 else {
                    target.update(from: previous, count: d)
                    continue
                }
                var weight: Float = 0
                for _ in 0..<members { weight += 1 }
                let count = counts[c]
                for j in 0..<d { target[j] = previous[j] * count }
                // Element-wise float32 adds, sixteen lanes at a time (the same roundings as a scalar loop).
                let raw = UnsafeMutableRawPointer(target)
                let wide = d - d % 16
                for m in start[c]..<start[c + 1] {
                    let source = base + w.memberRows[m] * d
                    let sourceRaw = UnsafeRawPointer(source)
                    var j = 0
                    while j < wide {
                        let sum = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
                            + sourceRaw.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
                        raw.storeBytes(of: sum, toByteOffset: j * 4, as: SIMD16<Float>.self)
                        j += 16
                    }
                    while j < d { target[j] += source[j]; j += 1 }
                }
                counts[c] += weight
                let alpha: Float = 1 / counts[c]
                for j in 0..<d { target[j] *= alpha }
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
