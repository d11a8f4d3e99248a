import Testing
@testable import Extract

/// Top-k is sorted and deterministic: ties keep index order, +0 equals -0, NaN ranks first (torch.topk's order).
@Suite struct TopKTests {
    @Test func sortedLargestFirst() {
        #expect(topK([0.1, 0.7, -1, 0.3, 0.9], k: 3) == [4, 1, 3])
        #expect(topK([3, 1], k: 5) == [0, 1])
        #expect(topK([1, 2], k: 0).isEmpty)
    }

    @Test func tiesKeepLowerIndexFirst() {
        #expect(topK([0.5, 0.5, 0.5, 0.5], k: 2) == [0, 1])
        #expect(topK([0.1, 0.5, 0.2, 0.5, 0.5], k: 2) == [1, 3])
        #expect(topK([0.0, -0.0, 0.0], k: 2) == [0, 1])
        #expect(topK([-0.0, 0.0], k: 1) == [0])
    }

    @Test func nanRanksFirst() {
        #expect(topK([1, .nan, 2, .nan], k: 3) == [1, 3, 2])
        #expect(topK([.infinity, .nan], k: 1) == [1])
    }

    /// Property: for random vectors with many ties, the result equals a stable sort by (value desc, index asc).
    @Test func matchesStableSortOnRandomInput() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let count = Int.random(in: 1...24, using: &generator)
            let values = (0..<count).map { _ -> Float in
                switch Int.random(in: 0..<10, using: &generator) {
                case 0: return .nan
                case 1: return -0.0
                case 2: return 0.0
                default: return Float(Int.random(in: -3...3, using: &generator)) / 2
                }
            }
            let k = Int.random(in: 0...count, using: &generator)
            let reference = values.indices.sorted { a, b in
                let x = values[a], y = values[b]
                if x.isNaN != y.isNaN { return x.isNaN }
                if !x.isNaN && x != y { return x > y }
                return a < b
            }
            #expect(topK(values, k: k) == Array(reference.prefix(k)), "\(values) k=\(k)")
        }
    }
}
