// One training step as a discrete-event simulation: every pipeline stage of every simulated
// data-parallel replica runs its schedule (PipelineSchedule) layer by layer, waits for the
// activations and gradients its neighbours send, and hands gradient buckets to its stage's
// data-parallel stream. The bubble, the exposed communication and the peak activation memory
// come out of the run; nothing here is a closed form.
//
// Entities. An entity is one pipeline stage of one replica: the TP (and CP) ranks of a stage
// run in lock-step — they synchronise at every layer's collectives — so they are one entity
// whose durations already include those collectives. Symmetry folding simulates one replica
// (`replicas` = 1) and lets the data-parallel collectives account for the whole group;
// unfolded, every replica is simulated and each data-parallel collective starts only when all
// replicas have posted it, so a slow replica delays everyone as on a real cluster.
//
// Layers. A layer runs its compute (kernels) and then the part of its in-layer communication
// (TP, CP, EP collectives) that is not hidden. While the stage's data-parallel stream is busy,
// its communication kernels hold a fraction of the SMs (`commSMFraction`; NCCL runs one
// thread block per channel on an SM) and of HBM bandwidth (their reductions read and write
// HBM), and the compute of that stage runs at the rate left (`reduceContention`,
// `gatherContention` per operation, at least the SM fraction).
//
// Data-parallel stream (one per stage, shared by its replicas, first in first out):
// - gradient buckets: a bucket is posted when the last micro-batch's backward of all its
//   layers has finished (gradient accumulation over micro-batches; Megatron-LM's
//   overlap_grad_reduce), or all at the end when `overlapGradientReduce` is off;
// - parameter all-gathers (ZeRO ≥ 1 with the parameter gather overlapped with the next
//   step's forward): posted at the start in the order the forwards need them; a layer's first
//   forward waits for its bucket;
// - ZeRO-3: a gather before every forward and every backward of every layer (prefetched one
//   layer ahead) and a reduce-scatter after every backward, each layer its own bucket.
// The step ends when every stage has run its tasks, drained its stream and run its optimizer.
import Engine

public enum TrainingStep {
    /// Runs one step. `slowdown(entity)` is the entity's straggler factor for the step, and
    /// `jitter(entity)` a factor drawn for each layer pass it runs (1 for a run without noise).
    public static func run(_ plan: TrainingStepPlan, slowdown: (Int) -> Double = { _ in 1 }, jitter: (Int) -> Double = { _ in 1 },
                           record: Bool = false) -> TrainingStepResult {
        withoutActuallyEscaping(jitter) { jitter in
            var step = TrainingStepRun(plan: plan, slowdown: slowdown, jitter: jitter, record: record)
            return step.run()
        }
    }
}
