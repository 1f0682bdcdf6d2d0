// Pipeline schedules: the order in which one pipeline stage runs the forward and backward
// passes of its micro-batches. The bubble is not computed from these: it emerges when the
// stages run them against each other's arrivals (TrainingStep).
//
// 1F1B (PipeDream-Flush; Narayanan et al., "Memory-Efficient Pipeline-Parallel DNN
// Training", 2021): stage s of p runs min(p − s − 1, m) warm-up forwards, then alternates one
// forward and one backward, then drains the remaining backwards. Interleaved 1F1B (Narayanan
// et al., "Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM",
// 2021), with v model chunks per stage: micro-batches go through the chunks in groups of p;
// virtual micro-batch k is micro-batch (k / pv)·p + k mod p of chunk (k / p) mod v (reversed for
// backwards), and stage s warms up with (p − s − 1)·2 + (v − 1)·p forwards, as Megatron-LM's
// schedules.py does (all forwards first when m = p).

public struct PipelineTask: Sendable, Hashable {
    public var forward: Bool
    public var microBatch: Int
    public var chunk: Int

    public init(forward: Bool, microBatch: Int, chunk: Int) {
        self.forward = forward
        self.microBatch = microBatch
        self.chunk = chunk
    }
}

public enum PipelineSchedule {
    /// The tasks of stage `stage` of `stages`, in order, for `microBatches` micro-batches over
    /// `chunks` model chunks per stage (1: plain 1F1B; interleaved needs micro-batches to be a
    /// multiple of the stages).
    public static func order(stage s: Int, stages p: Int, microBatches m: Int, chunks v: Int) -> [PipelineTask] {
        precondition(p >= 1 && (0..<p).contains(s) && m >= 1 && v >= 1)
        if v == 1 {
            let warmup = Swift.min(p - s - 1, m)
            var tasks = (0..<warmup).map { PipelineTask(forward: true, microBatch: $0, chunk: 0) }
            for i in 0..<(m - warmup) {
                tasks.append(PipelineTask(forward: true, microBatch: warmup + i, chunk: 0))
                tasks.append(PipelineTask(forward: false, microBatch: i, chunk: 0))
            }
            tasks += ((m - warmup)..<m).map { PipelineTask(forward: false, microBatch: $0, chunk: 0) }
            return tasks
        }
        precondition(m % p == 0, "interleaved schedules need micro-batches to be a multiple of the stages")
        let total = m * v
        func task(_ k: Int, forward: Bool) -> PipelineTask {
            let chunk = (k % (p * v)) / p
            return PipelineTask(forward: forward, microBatch: (k / (p * v)) * p + k % p, chunk: forward ? chunk : v - 1 - chunk)
        }
        let warmup = m == p ? total : Swift.min((p - s - 1) * 2 + (v - 1) * p, total)
        var tasks = (0..<warmup).map { task($0, forward: true) }
        for i in 0..<(total - warmup) {
            tasks.append(task(warmup + i, forward: true))
            tasks.append(task(i, forward: false))
        }
        tasks += ((total - warmup)..<total).map { task($0, forward: false) }
        return tasks
    }
}
