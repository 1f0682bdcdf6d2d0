// The keys every scenario may use, whatever its workload kind: the experiment, the cluster,
// the inference stack, the noise and the comparison. Each kind's own keys (under `workload`)
// are in its folder's table.

public enum ScenarioKeys {
    public static let table = KeyTable(section: "", [
        Key("name", .text, default: .required, "The scenario's name: letters, digits, '.', '_' or '-'; also the default results folder"),
        Key("description", .text, "Free text, for people"),
        Key("seed", .integer(0...Int.max), default: "1", "Seed of every random stream (with variant and replication)"),
        Key("replications", .integer(1...1_000_000), default: "1", "Replications per variant"),

        Key("cluster", .mapping, default: .required(when: "for every kind but transfers"), "The hardware"),
        Key("cluster.system", .system, default: .required, "A preset (clustersim hardware list) or an inline system of the same shape"),
        Key("cluster.gpus", .integer(1...1_000_000), default: .derived("the kind's parallelism, or one NVLink domain"), "GPUs in the cluster"),
        Key("cluster.scale_out", .mapping, "The scale-out fabric of each rail (NICs into a leaf-spine fat tree)"),
        Key("cluster.scale_out.domains_per_leaf", .integer(1...1_000_000), default: .derived("all (one non-blocking leaf)"),
            "NVLink domains under one leaf switch"),
        Key("cluster.scale_out.oversubscription", .quantity(.count, minimum: 1), default: "1", "Leaf downlink over uplink bandwidth"),
        Key("cluster.scale_out.transport", .choice(["infiniband", "roce", "efa"]), default: "infiniband",
            "The NICs' transport, which sets the share of NIC bandwidth NCCL achieves (RoCE and EFA fitted to multi-node nccl-tests rows; InfiniBand assumed as NVLink's ring)"),
        Key("cluster.scale_out.sharp", .bool, default: "false",
            "InfiniBand SHARP: the switches reduce each rail's all-reduce in the network (NCCL's CollNet), so each NIC sends and receives its shard once"),

        Key("cluster.power_limit", .quantity(.power, minimum: 0, exclusive: true), default: .derived("the GPU's TDP"),
            "Each GPU's board power limit (nvidia-smi -pl), at most the TDP: a sustained kernel that would draw more runs at a lower clock"),

        Key("workload", .mapping, default: .required, "What runs: `kind` and that kind's keys (clustersim schema KIND)"),

        Key("stack", .mapping, "Inference-stack knobs (kernel workloads, decode, serving, training)"),
        Key("stack.cuda_graphs", .bool, default: "false", "Replay each pass from a CUDA graph: no per-kernel CPU launch"),
        // 3.8 µs: time per kernel of back-to-back asynchronous launches of a short kernel (NVIDIA
        // Developer Blog, "Getting Started with CUDA Graphs", 2019; one V100/Xeon system, so an
        // order of magnitude rather than a constant of nature).
        Key("stack.launch_overhead", .quantity(.time), default: "3.8e-6", "Interval between CPU kernel launches without CUDA graphs"),
        Key("stack.kernel_efficiency", .quantityOrMapping(.count, minimum: 0, exclusive: true), default: "1",
            "Kernel speed relative to the calibrated library (1.1: 10% faster), or a mapping per kernel class"),
        Key("stack.kernel_efficiency.gemm", .quantity(.count, minimum: 0, exclusive: true), default: "1", "GEMM kernels' relative speed"),
        Key("stack.kernel_efficiency.attention", .quantity(.count, minimum: 0, exclusive: true), default: "1", "Attention kernels' relative speed"),
        Key("stack.kernel_efficiency.elementwise", .quantity(.count, minimum: 0, exclusive: true), default: "1",
            "Element-wise kernels' (norms, activations, quantisation, sampling) relative speed"),
        Key("stack.communication_overlap", .quantity(.count, maximum: 1), default: "0",
            "Fraction of tensor-parallel all-reduce time hidden behind computation"),
        Key("stack.attention_efficiency", .quantity(.count, minimum: 0, exclusive: true), default: "1",
            "Attention backend speed relative to the calibrated one (multiplies kernel_efficiency.attention)"),
        Key("stack.allreduce", .choice(["nccl", "trtllm", "vllm", "sglang"]), default: "nccl",
            "The tensor-parallel all-reduce of decode and serving: NCCL, or a framework's own one-shot/two-shot all-reduce (fitted to kernels/comm.csv)"),
        Key("stack.fusion", .mapping, "Kernel fusions of decode and serving (each removes kernels and HBM round trips)"),
        Key("stack.fusion.quantize", .bool, default: "false", "Quantise a GEMM's input in the norm or activation that writes it (every GEMM not fed by attention)"),
        Key("stack.fusion.residual_norm", .bool, default: "false", "The residual add and the next norm as one kernel"),
        Key("stack.fusion.allreduce_norm", .bool, default: "false",
            "Residual add and norm inside the TP all-reduce (TensorRT-LLM's AllReduce fusion; needs stack.allreduce other than nccl)"),
        Key("stack.cpu_time", .mapping, "The CPU side of an iteration (decode and serving): scheduling, input preparation, output processing"),
        Key("stack.cpu_time.per_iteration", .quantity(.time, maximum: 10), default: "0", "CPU seconds per iteration (0: not modelled)"),
        Key("stack.cpu_time.per_sequence", .quantity(.time, maximum: 1), default: "0", "CPU seconds per sequence of an iteration"),
        Key("stack.overlap_scheduling", .bool, default: "false",
            "Prepare the next iteration while the GPU runs this one (SGLang's overlap scheduler, vLLM's async scheduling): max(CPU, GPU) instead of the sum"),
        Key("stack.speculative", .mapping, "Speculative decoding (decode and colocated serving)"),
        Key("stack.speculative.method", .choice(["draft_model", "mtp"]), default: "draft_model",
            "draft_model: a separate draft model; mtp: the target's multi-token-prediction module (one more block of its shape, as DeepSeek-V3/R1 run it)"),
        Key("stack.speculative.draft_model", .model, default: .required(when: "method is draft_model"), "The draft model: a catalog name or an inline model"),
        Key("stack.speculative.draft_tokens", .integer(1...64), default: .required, "Tokens the draft proposes per verification step"),
        Key("stack.speculative.acceptance", .quantity(.count, maximum: 1), default: .required, "Probability each proposed token is accepted"),

        Key("noise", .mapping, "Stochastic effects, drawn from per-run GSL streams (all zero: every replication is exact)"),
        Key("noise.kernel_cv", .quantity(.count, maximum: 1), default: "0", "Coefficient of variation of kernel durations (lognormal, mean 1)"),
        Key("noise.network_cv", .quantity(.count, maximum: 1), default: "0", "Coefficient of variation of each transfer's achieved bandwidth (lognormal, mean 1)"),
        Key("noise.clock_cv", .quantity(.count, maximum: 1), default: "0", "Coefficient of variation of a run's clock: slows every kernel of a replication alike"),
        Key("noise.common_random_numbers", .bool, default: "true", "Replication r of every variant draws the same numbers (paired comparisons)"),
        Key("noise.stragglers", .mapping, "Per GPU and synchronous step: the chance it straggles, and by how much"),
        Key("noise.stragglers.probability", .quantity(.count, maximum: 1), default: "0", "Probability a GPU straggles in a step"),
        Key("noise.stragglers.slowdown", .quantity(.count, minimum: 1, maximum: 100), default: "1", "A straggler's time factor"),

        Key("variants", .list, default: .derived("the base scenario alone, named base"), "Variants of the base scenario"),
        Key("variants[].name", .text, default: .required, "The variant's name (letters, digits, '.', '_', '-')"),
        Key("variants[].set", .mapping, "Key paths and the values they take in this variant (none: the base scenario)"),

        Key("compare", .mapping, "What `clustersim compare` contrasts"),
        Key("compare.baseline", .text, default: .required, "The variant others are compared with"),
        Key("compare.claim", .quantity(.count, minimum: 0, exclusive: true), "A claimed speedup (1.20: 20% better) to give a verdict on"),
        Key("compare.margin", .quantity(.count), default: "0.05", "How far below the claim the interval may reach and still support it (relative)"),
        Key("compare.metric", .text, default: .derived("every compared metric"), "The metric the claim is about"),

        Key("search", .mapping, "What `clustersim search` explores (run and compare ignore it): docs/search.md"),
        Key("search.space", .mapping, default: .required, "Key paths and the values each takes: a list ([1, 2, 4]) or a range ({ from: 1, to: 32, times: 2 } or { from: 1, to: 8, step: 1 }); every combination is a point"),
        Key("search.zip", .list, "Groups of key paths whose lists go together, the i-th values in one point (tp with ep), e.g. [{ workload.parallelism.tp: [1, 8], workload.parallelism.ep: [8, 1] }]"),
        Key("search.objective", .text, default: .required, "The metric to optimise, in its catalogue direction (clustersim metrics KIND): a time lowest, a rate highest"),
        Key("search.pareto", .names, default: .derived("the objective alone"), "Metrics whose non-dominated points pareto.csv lists, e.g. [tokens_per_s_per_user, tokens_per_s_per_gpu]"),
        Key("search.constraints", .mapping, "Metric names and the range a point's mean must be in, e.g. { tokens_per_s_per_user: { min: 20 } }; a point outside it is infeasible"),
        Key("search.strategy", .choice(SearchSpec.Strategy.allCases.map(\.rawValue)), default: "auto",
            "exhaustive: every point; bound: branch and bound on the kind's optimistic objective (exact); halving: successive halving over the workload's length (a heuristic); auto: bound when the kind bounds the objective, else exhaustive within the budget, else halving"),
        Key("search.budget", .integer(1...1_000_000), default: "10000", "Most points simulated with the full workload"),
        Key("search.replications", .integer(1...1_000_000), default: .derived("the scenario's replications"), "Replications per point"),
        Key("search.show", .integer(1...1000), default: "5", "Best points printed at the end"),
    ])

    /// Keys a variant may not change: they define the experiment, not one variant of it.
    public static let experimentKeys = ["name", "seed", "replications", "variants", "compare", "search"]
}
