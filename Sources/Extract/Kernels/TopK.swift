/// The indices of the `k` largest of `count` values, largest first, deterministic:
/// equal values keep index order (lower index first, as torch.topk does in practice; +0 and -0 are equal),
/// and NaN ranks above every number (torch.topk's order), NaNs among themselves by index.
public func topK(_ values: UnsafePointer<Float>, count: Int, k: Int, into indices: UnsafeMutablePointer<Int>) {
    let k = min(k, count)
    guard k > 0 else { return }
    @inline(__always) func beats(_ a: Float, _ b: Float) -> Bool {
        if a.isNaN { return !b.isNaN }
        return a > b
    }
    var filled = 0
    for i in 0..<count {
        let value = values[i]
        // Insertion into the sorted prefix: a later index only moves ahead of strictly smaller values.
        if filled == k && !beats(value, values[indices[k - 1]]) { continue }
        var position = min(filled, k - 1)
        while position > 0 && beats(value, values[indices[position - 1]]) {
            indices[position] = indices[position - 1]
            position -= 1
        }
        indices[position] = i
        if filled < k { filled += 1 }
    }
}

/// Array convenience for tests and callers outside the hot loop.
public func topK(_ values: [Float], k: Int) -> [Int] {
    var result = [Int](repeating: 0, count: min(max(k, 0), values.count))
    values.withUnsafeBufferPointer { v in
        result.withUnsafeMutableBufferPointer { r in
            if let vb = v.baseAddress, let rb = r.baseAddress { topK(vb, count: values.count, k: k, into: rb) }
        }
    }
    return result
}
