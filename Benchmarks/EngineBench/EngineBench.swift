// `make bench`: engine benchmarks, release build. Prints events per second; reports machine
// details so figures can be compared (machines are noisy: compare ratios, not absolutes).
//
// 1. Hold model (Vaucher & Duval 1975; the classic priority-queue benchmark): n events pending;
//    each pop schedules one event at now + Exp(1). Measured for n = 1,000 and 1,000,000
//    through the full Simulator loop, and on the bare queues: MonotoneEventQueue (the radix
//    heap the simulator uses), EventQueue (4-ary heap) and swift-collections' Heap (min-max
//    heap), all with the same (time, sequence) keys.
// 2. Fluid: 10,000 activities over 1,000 resources arriving (Poisson) and completing, each
//    crossing 3 random resources, with max-min rates recomputed on every arrival and completion.
import Cluster
import Engine
import Foundation
import Glibc
import Hardware
import HeapModule
import Network
import Scenario
import Experiments
import Workloads

/// SplitMix64: a fast, seeded generator so that the benchmark measures the queue, not the RNG.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func exponential() -> Double { -log(Double(next() >> 11) * 0x1p-53 + 0x1p-54) }
}

struct HeapEntry: Comparable {
    var time: Double
    var sequence: UInt64
    var payload: Int
    static func < (a: HeapEntry, b: HeapEntry) -> Bool { a.time < b.time || (a.time == b.time && a.sequence < b.sequence) }
    static func == (a: HeapEntry, b: HeapEntry) -> Bool { a.time == b.time && a.sequence == b.sequence }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

/// Times `body` (which returns the number of events it processed) and returns events/s.
func measure(_ body: () -> Int) -> Double {
    let clock = ContinuousClock()
    var events = 0
    let elapsed = clock.measure { events = body() }
    return Double(events) / seconds(elapsed)
}

/// The two operations of the hold model, so one loop drives every queue.
protocol HoldQueue: ~Copyable {
    init()
    mutating func push(_ payload: Int, at time: Double)
    mutating func popMin() -> (time: Double, payload: Int)
}

extension EventQueue: HoldQueue where Payload == Int {
    mutating func popMin() -> (time: Double, payload: Int) { pop()! }
}

extension MonotoneEventQueue: HoldQueue where Payload == Int {
    mutating func popMin() -> (time: Double, payload: Int) { pop()! }
}

/// swift-collections' Heap with the same (time, sequence) keys.
struct CollectionsHeapQueue: HoldQueue {
    var heap = Heap<HeapEntry>()
    var sequence: UInt64 = 0
    mutating func push(_ payload: Int, at time: Double) {
        heap.insert(HeapEntry(time: time, sequence: sequence, payload: payload))
        sequence += 1
    }
    mutating func popMin() -> (time: Double, payload: Int) {
        let entry = heap.removeMin()
        return (entry.time, entry.payload)
    }
}

func hold<Queue: HoldQueue & ~Copyable>(_: Queue.Type, pending: Int, operations: Int) -> Int {
    var rng = SplitMix(state: 1)
    var queue = Queue()
    for i in 0..<pending { queue.push(i, at: rng.exponential()) }
    var checksum = 0
    for _ in 0..<operations {
        let (time, payload) = queue.popMin()
        checksum &+= payload
        queue.push(payload, at: time + rng.exponential())
    }
    precondition(checksum != -1)
    return operations
}

func holdSimulator(pending: Int, operations: Int) -> Int {
    var rng = SplitMix(state: 1)
    let sim = Simulator<Int>()
    for i in 0..<pending { sim.schedule(i, at: rng.exponential()) }
    var remaining = operations
    return sim.run { payload in
        guard remaining > 0 else { return }
        remaining -= 1
        sim.schedule(payload, after: rng.exponential())
    }
}

/// Returns (events, mean activities running at an arrival).
func fluid(activities: Int, resources: Int, perActivity: Int, meanConcurrency: Double) -> (Int, Double) {
    var rng = SplitMix(state: 7)
    enum Event { case arrive(Int), done }
    let sim = Simulator<Event>()
    let ids = (0..<resources).map { _ in sim.addResource(capacity: 1) }
    // Work ~ Exp(1) at rate ≤ 1: arrivals at rate meanConcurrency keep about that many running.
    var time = 0.0
    for i in 0..<activities {
        time += rng.exponential() / meanConcurrency
        sim.schedule(.arrive(i), at: time)
    }
    var concurrencySum = 0.0
    let events = sim.run { event in
        guard case .arrive = event else { return }
        concurrencySum += Double(sim.fluid.activeCount)
        var demands: [Demand] = []
        while demands.count < perActivity {
            let r = ids[Int(rng.next() % UInt64(resources))]
            if !demands.contains(where: { $0.resource == r }) { demands.append(Demand(r)) }
        }
        sim.startActivity(work: rng.exponential(), demands: demands, completion: .done)
    }
    return (events, concurrencySum / Double(activities))
}

func format(_ rate: Double) -> String { String(format: "%6.2f M events/s", rate / 1e6) }

/// This process's peak resident memory (VmHWM), KiB: wait4's figure can include the parent's
/// memory at the fork, so each child reports its own.
func peakResidentKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return -1 }
    return Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces).split(separator: " ")[0]) ?? -1
}

/// What a child process cost: user CPU and wall seconds, peak resident memory, its output.
struct ChildRun {
    var user: Double
    var wall: Double
    var peakRSSBytes: Double
    var output: String
}

/// Runs `arguments` as a child process (the first is the program) and measures it with wait4's
/// resource usage: whole-process user CPU and peak RSS, as one would compare peer programs.
func runChild(_ arguments: [String]) -> ChildRun? {
    var pipe: [Int32] = [0, 0]
    guard Glibc.pipe(&pipe) == 0 else { return nil }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
    posix_spawn_file_actions_addclose(&actions, pipe[0])
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let start = ContinuousClock.now
    guard posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ) == 0 else { return nil }
    close(pipe[1])
    var output = Data()
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(pipe[0], &buffer, buffer.count)
        if n <= 0 { break }
        output.append(contentsOf: buffer[0..<n])
    }
    close(pipe[0])
    var status: Int32 = 0
    var usage = rusage()
    guard wait4(pid, &status, 0, &usage) == pid, status == 0 else { return nil }
    let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) * 1e-6
    let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    // A child that reports its own peak memory (last word, KiB) is believed over wait4.
    let reported = text.split(separator: " ").last.flatMap { Double($0) }.map { $0 * 1024 }
    return ChildRun(user: user, wall: seconds(ContinuousClock.now - start), peakRSSBytes: reported ?? Double(usage.ru_maxrss) * 1024, output: text)
}

// `clustersim-bench --hold-child PENDING OPERATIONS`: the simulator's hold model alone, run as
// a child so that its CPU time and memory are measured like the C++ peer's.
if let i = CommandLine.arguments.firstIndex(of: "--hold-child"), CommandLine.arguments.count > i + 2,
   let pending = Int(CommandLine.arguments[i + 1]), let operations = Int(CommandLine.arguments[i + 2]) {
    let events = holdSimulator(pending: pending, operations: operations)
    print(events, peakResidentKiB())
    exit(0)
}

let host = ProcessInfo.processInfo
print("ClusterSim engine benchmarks (release build) on \(host.hostName): \(host.activeProcessorCount) cores, \(host.physicalMemory >> 30) GiB")
// The peer: C++'s std::priority_queue (Benchmarks/hold.cpp, built by `make bench` with g++ -O2).
if let i = CommandLine.arguments.firstIndex(of: "--cpp"), CommandLine.arguments.count > i + 1 {
    let cpp = CommandLine.arguments[i + 1]
    let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    print("Hold model against C++ std::priority_queue (separate processes, 10,000,000 operations; user CPU and peak RSS, best of 3):")
    for pending in [1_000, 1_000_000] {
        func best(_ arguments: [String]) -> ChildRun? {
            (0..<3).compactMap { _ in runChild(arguments) }.min { $0.user < $1.user }
        }
        guard let swift = best([me, "--hold-child", "\(pending)", "10000000"]), let peer = best([cpp, "\(pending)", "10000000"]) else {
            print("  \(pending) pending: a child process failed")
            continue
        }
        print(String(format: "  %9d pending: ClusterSim %.2f s user, %.1f MiB | C++ %.2f s user, %.1f MiB | speed ratio (C++ time / ours) %.2f×, memory ratio %.2f×",
                     pending, swift.user, swift.peakRSSBytes / 1_048_576, peer.user, peer.peakRSSBytes / 1_048_576,
                     peer.user / swift.user, swift.peakRSSBytes / peer.peakRSSBytes))
    }
} else {
    print("Hold model against C++: skipped (no --cpp BINARY; `make bench` builds it when g++ is installed)")
}


// Scenario runs as `clustersim run` children (one thread): what a user waits for, with the
// simulated quantity, wall and user CPU and peak memory. Run before the in-process
// benchmarks, so that a child's memory figure does not start from theirs.
let clustersim = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("clustersim").path
if FileManager.default.isExecutableFile(atPath: clustersim) {
    print("Scenario runs (clustersim run or compare, one thread; wall and user CPU, peak RSS):")
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("clustersim-bench-\(getpid())").path
    let cases: [(label: String, arguments: [String], metric: String)] = [
        ("1 GiB ring all-reduce, 4,096 GPUs", ["run", "scenarios/ring-allreduce-4096.yaml"], "all_reduce.1073741824B.time_s"),
        ("1 GiB ring all-reduce, 65,536 GPUs", ["run", "scenarios/ring-allreduce-4096.yaml", "--set", "cluster.system.gpus_per_nvlink_domain=65536",
                                                "--set", "workload.gpus=65536"], "all_reduce.1073741824B.time_s"),
        ("Llama 3 70B serving, 1 h at 100 req/s, 10 replications", ["run", "scenarios/llama3-70b-serving.yaml", "--set", "workload.arrival_rate=100",
                                                                     "--replications", "10", "--set", "variants=[{name: h100}]"], "requests_completed"),
        ("compare self-optimized-inference", ["compare", "scenarios/self-optimized-inference.yaml"], "tokens_per_s_per_gpu"),
        ("Llama 3 405B step, 16,384 GB200 (folded)", ["run", "scenarios/llama3-405b-16k-gb200.yaml"], "step_time_s"),
    ]
    for (i, c) in cases.enumerated() {
        guard let run = runChild([clustersim] + c.arguments + ["--quiet", "--threads", "1", "--out", "\(out)/\(i)"]) else {
            print("  \(c.label): the run failed")
            continue
        }
        let summary = (try? String(contentsOfFile: "\(out)/\(i)/summary.csv", encoding: .utf8)) ?? ""
        let value = summary.split(separator: "\n").first { $0.split(separator: ",").dropFirst(2).first == Substring(c.metric) }?
            .split(separator: ",")[5] ?? "?"
        print(String(format: "  %@: %@ = %@; %.2f s wall, %.2f s user, %.0f MiB", c.label, c.metric, String(value), run.wall, run.user,
                     run.peakRSSBytes / 1_048_576))
    }
    try? FileManager.default.removeItem(atPath: out)
} else {
    print("Scenario runs: skipped (build clustersim: swift build -c release --product clustersim)")
}

print("Hold model: each pop schedules one event at now + Exp(1); best of 3 runs.")
for pending in (CommandLine.arguments.contains("--fluid-only") ? [] : [1_000, 1_000_000]) {
    let operations = 10_000_000
    func best(_ body: (Int, Int) -> Int) -> Double {
        (0..<3).map { _ in measure { body(pending, operations) } }.max()!
    }
    let loop = best(holdSimulator)
    let radix = best { hold(MonotoneEventQueue<Int>.self, pending: $0, operations: $1) }
    let heap4 = best { hold(EventQueue<Int>.self, pending: $0, operations: $1) }
    let collections = best { hold(CollectionsHeapQueue.self, pending: $0, operations: $1) }
    print(String(format: "  %9d pending: Simulator.run %@ | MonotoneEventQueue (radix heap) %@ | EventQueue (4-ary heap) %@ | swift-collections Heap %@",
                 pending, format(loop), format(radix), format(heap4), format(collections)))
}
print("Fluid: 10,000 activities over 1,000 resources, 3 resources each, max-min recomputed per arrival/completion.")
for concurrency in [10.0, 100.0] {
    var result = (0, 0.0)
    let rate = measure {
        result = fluid(activities: 10_000, resources: 1_000, perActivity: 3, meanConcurrency: concurrency)
        return result.0
    }
    print(String(format: "  ~%5.0f running on average: %@ (%d events)", result.1, format(rate), result.0))
}

print("Collectives: 1 GiB all-reduce over 4,096 GB200 GPUs (57 NVL72 racks, hierarchical ring over NICs).")
for folded in [true, false] {
    let clock = ContinuousClock()
    var simulated = 0.0
    let elapsed = clock.measure {
        let layout = DomainLayout(gpus: 4096, perDomain: 72)
        let phases = CollectivePlanner.hierarchicalAllReduce(bytes: 1_073_741_824, layout: layout)
        simulated = CollectiveRun.seconds(phases: phases, layout: layout, nvlinkBandwidth: 900e9, nicBandwidth: 50e9,
                                          timing: .calibrated(for: .blackwell), scaleOut: .scaleOut(for: .blackwell), folded: folded)
    }
    print(String(format: "  %@: simulated %.3f ms in %.2f s of wall time", folded ? "folded  " : "unfolded", simulated * 1e3, seconds(elapsed)))
}

// Workloads at the scales the issues name, run from their scenario files (as `clustersim run`
// would, one replication, one thread).
print("Workloads (scenario files, one replication, one thread):")
func runScenario(_ path: String, overrides: [String] = [], report metric: String) {
    do {
        let plan = try ScenarioLoader.load(path: path, overrides: overrides)
        let clock = ContinuousClock()
        var value = 0.0
        let elapsed = clock.measure {
            value = ExperimentRunner.run(plan, threads: 1).replications[0].metrics.first { $0.name == metric }?.value ?? .nan
        }
        let label = ([path] + overrides).joined(separator: " ")
        print(String(format: "  %@: %@ %.4g in %.2f s of wall time", label, metric, value, seconds(elapsed)))
    } catch {
        print("  \(path): \(error)")
    }
}
runScenario("scenarios/llama3-405b-16k-gb200.yaml", report: "step_time_s")
runScenario("scenarios/llama3-405b-16k-gb200.yaml", overrides: ["cluster.gpus=1024", "workload.parallelism.dp=8", "workload.global_batch=1024", "workload.fold=false"],
            report: "step_time_s")
runScenario("scenarios/llama3-70b-serving.yaml", overrides: ["variants=[{name: h100}]", "replications=1"], report: "requests_completed")
