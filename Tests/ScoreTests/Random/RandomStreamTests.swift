import Foundation
import Testing
import TestSupport
@testable import Score

/// The NumPy and CPython generator ports against sequences the real libraries produced
/// (scripts/reference/make_ml_random.py -> Fixtures/ml-random.json).
@Suite struct RandomStreamTests {
    let reference: [String: MLFixture.Value]

    init() throws {
        reference = try MLFixture.decode([String: MLFixture.Value].self, from: "ml-random.json")
    }

    func ints(_ key: String) throws -> [Int] { try #require(reference[key]?.ints, "missing \(key)") }
    func doubles(_ key: String) throws -> [Double] { try #require(reference[key]?.doubles, "missing \(key)") }

    @Test func numpyRandomSample() throws {
        var rs = NumPyRandomState(seed: 42)
        #expect(rs.randomSample(count: 5) == (try doubles("numpy_random_sample_seed42")))
        var big = NumPyRandomState(seed: 4_000_000_000)
        #expect(big.randomSample(count: 3) == (try doubles("numpy_random_sample_seed4e9")))
    }

    @Test func numpyRandint() throws {
        var rs = NumPyRandomState(seed: 7)
        let drawn = rs.randint(0, 1000, count: 20) + rs.randint(0, 16384, count: 10) + rs.randint(0, 1, count: 3)
            + rs.randint(0, 1 << 33, count: 5)
        #expect(drawn == (try ints("numpy_randint_seed7")))
    }

    @Test func numpyShuffleAndPermutation() throws {
        var rs = NumPyRandomState(seed: 42)
        var values = Array(0..<50)
        rs.shuffle(&values)
        #expect(values == (try ints("numpy_shuffle50_seed42")))
        var zero = NumPyRandomState(seed: 0)
        #expect(zero.permutation(20) == (try ints("numpy_permutation20_seed0")))
    }

    @Test func numpyChoice() throws {
        var rs = NumPyRandomState(seed: 42)
        let unit = [Double](repeating: Double(Float(1) / Float(1536)), count: 1536)
        #expect(rs.choice(1536, count: 20, probabilities: unit) == (try ints("numpy_choice_p_seed42")))
        let weights = (1...10).map { Double($0) / 55.0 }
        #expect(rs.choice(10, count: 30, probabilities: weights) == (try ints("numpy_choice_weighted_seed42")))
        #expect(rs.choiceWithoutReplacement(512, count: 7) == (try ints("numpy_choice_noreplace_seed42")))
        #expect(rs.randomSample(count: 3) == (try doubles("numpy_uniform_after_seed42")))
    }

    @Test func pythonRandomAndBits() throws {
        var r = PythonRandom(seed: 42)
        #expect((0..<5).map { _ in r.random() } == (try doubles("python_random_seed42")))
        var bits = PythonRandom(seed: 42)
        let drawn = [1, 5, 13, 32, 40, 64].map { Int(bitPattern: UInt(bits.getrandbits($0))) }
        #expect(drawn == (try ints("python_getrandbits_seed42")))
        var below = PythonRandom(seed: 42)
        #expect([1, 2, 3, 10, 1000, 2284, (1 << 31) + 5].map { below.randbelow($0) } == (try ints("python_randbelow_seed42")))
        var big = PythonRandom(seed: (1 << 40) + 3)
        #expect((0..<3).map { _ in big.random() } == (try doubles("python_random_bigseed")))
    }

    @Test func pythonSampleAndChoices() throws {
        var pool = PythonRandom(seed: 42)
        #expect(Array(pool.sample(rangeCount: 1004, k: 1004).prefix(40)) == (try ints("python_sample_pool_seed42")))
        var set = PythonRandom(seed: 42)
        #expect(set.sample(rangeCount: 2284, k: 91) == (try ints("python_sample_set_seed42")))
        #expect(set.choices(rangeCount: 91, k: 30) == (try ints("python_choices_after_seed42")))
        var small = PythonRandom(seed: 0)
        let drawn = small.sample(rangeCount: 10, k: 4) + small.sample(rangeCount: 100, k: 3) + small.sample(rangeCount: 30, k: 6)
        #expect(drawn == (try ints("python_sample_small_seed0")))
    }
}

/// Reference files of the Classification / Clustering / Random tests (Tests/ScoreTests/Fixtures/ml-*).
/// Decoded with `JSONDecoder`, which (unlike `JSONSerialization` on Linux) parses doubles exactly.
enum MLFixture {
    static func url(_ name: String) -> URL {
        SharedData.repository("Tests/ScoreTests/Fixtures/\(name)")
    }

    static func decode<T: Decodable>(_ type: T.Type, from name: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: url(name)))
    }

    /// Any JSON value, for fixtures that mix lists of numbers with metadata.
    enum Value: Decodable {
        case number(Double), integer(Int), string(String), list([Value]), object([String: Value]), null

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let int = try? container.decode(Int.self) { self = .integer(int) }
            else if let double = try? container.decode(Double.self) { self = .number(double) }
            else if let string = try? container.decode(String.self) { self = .string(string) }
            else if let list = try? container.decode([Value].self) { self = .list(list) }
            else { self = .object(try container.decode([String: Value].self)) }
        }

        var double: Double? {
            switch self {
            case .number(let value): value
            case .integer(let value): Double(value)
            default: nil
            }
        }
        var int: Int? { if case .integer(let value) = self { value } else { nil } }
        var doubles: [Double]? { if case .list(let values) = self { values.compactMap(\.double) } else { nil } }
        var ints: [Int]? {
            guard case .list(let values) = self else { return nil }
            let ints = values.compactMap(\.int)
            return ints.count == values.count ? ints : nil
        }
        subscript(key: String) -> Value? { if case .object(let object) = self { object[key] } else { nil } }
    }
}
