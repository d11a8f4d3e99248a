/// A float32 buffer allocated once and reused for the life of a run (activations, scratch).
final class FloatBuffer: @unchecked Sendable {
    private(set) var pointer: UnsafeMutablePointer<Float>
    private(set) var count: Int

    init(count: Int) {
        self.count = max(count, 1)
        pointer = .allocate(capacity: self.count)
        pointer.initialize(repeating: 0, count: self.count)
    }

    /// Grows (never shrinks) to hold `needed` floats; contents are not preserved.
    func reserve(_ needed: Int) {
        guard needed > count else { return }
        pointer.deallocate()
        count = needed
        pointer = .allocate(capacity: count)
        pointer.initialize(repeating: 0, count: count)
    }

    func zero(_ n: Int) { pointer.update(repeating: 0, count: min(n, count)) }

    deinit { pointer.deallocate() }
}
