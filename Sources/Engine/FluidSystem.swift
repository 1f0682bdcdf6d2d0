// Fluid resources shared max-min fairly by activities.
//
// What it models: a resource has a capacity (units of work per second: bytes/s of an HBM
// stack, an NVLink port or a NIC). An activity has an amount of work and consumes one or more
// resources, each with a weight (a flow crossing a link once has weight 1; a copy that reads and
// writes the same HBM has weight 2), and optionally a rate bound of its own. While it runs at
// rate x it uses weight·x of each of its resources.
//
// Rates are max-min fair (progressive filling, Bertsekas & Gallager, "Data Networks", 2nd ed.,
// §6.5.2): all unfixed activities rise together; when a resource saturates, the activities
// crossing it are fixed at the level reached; an activity reaching its own bound is fixed there.
// This is the model of SimGrid's LMM solver (Casanova et al., JPDC 2014) without priorities.
//
// Cost: an arrival or completion recomputes only the connected component it touches
// (activities linked through shared resources), in O(E log R) for E activity–resource edges and
// R resources in that component. Completion times live in an indexed heap, updated in place.
//
// Limitations: all activities have equal priority; capacities are constant.

/// A resource of a fluid system (an index into its arrays).
public struct ResourceID: Hashable, Comparable, Sendable {
    public let index: Int
    public init(_ index: Int) { self.index = index }
    public static func < (a: ResourceID, b: ResourceID) -> Bool { a.index < b.index }
}

/// An activity of a fluid system. Indices of finished activities are reused.
public struct ActivityID: Hashable, Comparable, Sendable {
    public let index: Int
    public init(_ index: Int) { self.index = index }
    public static func < (a: ActivityID, b: ActivityID) -> Bool { a.index < b.index }
}

/// One resource an activity consumes, and how much of it per unit of the activity's rate.
public struct Demand: Sendable, Equatable {
    public var resource: ResourceID
    public var weight: Double
    public init(_ resource: ResourceID, weight: Double = 1) {
        self.resource = resource
        self.weight = weight
    }
}

/// What `FluidSystem.start` needs to start one activity.
public struct ActivityRequest: Sendable {
    public var work: Double
    public var demands: [Demand]
    public var bound: Double

    public init(work: Double, demands: [Demand], bound: Double = .infinity) {
        self.work = work
        self.demands = demands
        self.bound = bound
    }
}

public struct FluidSystem {
    struct Resource {
        var capacity: Double
        /// Active activities crossing this resource, in no meaningful order.
        var users: [Int32] = []
        // Scratch for progressive filling.
        var remaining = 0.0
        var unfixedWeight = 0.0
        var unfixedCount = 0
        var mark: UInt32 = 0
    }

    struct Activity {
        /// This activity's demands are demandPool[demandStart ..< demandStart + demandCount].
        var demandStart: Int
        var demandCount: Int
        var bound: Double
        var remainingWork: Double
        var rate = 0.0
        var lastUpdate: Double
        /// Start order, which orders simultaneous completions.
        var serial: UInt64 = 0
        var active = false
        var fixed = false
        var mark: UInt32 = 0
    }

    var resources: [Resource] = []  // internal: InvariantTests breaks a capacity on purpose
    private var activities: [Activity] = []
    private var freeActivities: [Int] = []
    /// Demands of all activities, contiguous per activity (no per-activity array to retain in
    /// the filling loops). Finished activities leave holes, compacted when they dominate.
    private var demandPool: [Demand] = []
    private var liveDemands = 0
    /// Predicted completion time of each running activity, ties broken by start order.
    private var completions = IndexedMinHeap()
    private var epoch: UInt32 = 0
    private var startedCount: UInt64 = 0

    // Scratch reused across recomputations.
    private var componentActivities: [Int] = []
    private var componentResources: [Int] = []
    private var levels = EventQueue<Int>()

    public init() {}

    /// The number of activities running now.
    public private(set) var activeCount = 0

    /// Adds a resource with `capacity` units of work per second (finite and > 0).
    public mutating func addResource(capacity: Double) -> ResourceID {
        precondition(capacity > 0 && capacity.isFinite, "resource capacity must be finite and positive")
        resources.append(Resource(capacity: capacity))
        return ResourceID(resources.count - 1)
    }

    public func capacity(of resource: ResourceID) -> Double { resources[resource.index].capacity }

    /// Starts an activity at time `now` with `work` units (≥ 0) over `demands`, at most
    /// `bound` units per second. An activity with neither demands nor bound completes at `now`.
    public mutating func start(
        work: Double, demands: [Demand], bound: Double = .infinity, now: Double
    ) -> ActivityID {
        start([ActivityRequest(work: work, demands: demands, bound: bound)], now: now)[0]
    }

    /// Starts several activities at once with a single recomputation of the rates they touch
    /// (a collective's flows, say): cheaper than starting them one by one, same rates.
    public mutating func start(_ requests: [ActivityRequest], now: Double) -> [ActivityID] {
        var ids: [ActivityID] = []
        ids.reserveCapacity(requests.count)
        for request in requests {
            precondition(request.work >= 0 && request.work.isFinite, "activity work must be finite and ≥ 0")
            precondition(request.bound > 0, "activity bound must be positive")
            precondition(request.demands.allSatisfy { $0.weight > 0 && $0.weight.isFinite }, "demand weights must be positive")
            var activity = Activity(demandStart: demandPool.count, demandCount: request.demands.count, bound: request.bound,
                                    remainingWork: request.work, lastUpdate: now, active: true)
            demandPool.append(contentsOf: request.demands)
            liveDemands += request.demands.count
            activity.serial = startedCount
            startedCount += 1
            let index: Int
            if let reused = freeActivities.popLast() {
                activities[reused] = activity
                index = reused
            } else {
                activities.append(activity)
                index = activities.count - 1
            }
            for demand in request.demands { resources[demand.resource.index].users.append(Int32(index)) }
            activeCount += 1
            ids.append(ActivityID(index))
        }
        recompute(fromActivities: ids.map(\.index), resources: [], now: now)
        return ids
    }

    /// The current rate of a running activity (units per second).
    public func rate(of activity: ActivityID) -> Double { activities[activity.index].rate }

    /// Whether the activity is still running.
    public func isActive(_ activity: ActivityID) -> Bool { activities[activity.index].active }

    /// Work left in a running activity at time `now` (≥ the time of the last change).
    public func remainingWork(of activity: ActivityID, at now: Double) -> Double {
        let a = activities[activity.index]
        return Swift.max(0, a.remainingWork - a.rate * (now - a.lastUpdate))
    }

    public var resourceCount: Int { resources.count }

    /// The activities running now, in index order.
    public var runningActivities: [ActivityID] {
        activities.indices.filter { activities[$0].active }.map(ActivityID.init)
    }

    public func bound(of activity: ActivityID) -> Double { activities[activity.index].bound }
    public func demands(of activity: ActivityID) -> [Demand] {
        let a = activities[activity.index]
        return Array(demandPool[a.demandStart ..< a.demandStart + a.demandCount])
    }

    /// The running activities crossing `resource`.
    public func usersOf(_ resource: ResourceID) -> [ActivityID] {
        resources[resource.index].users.map { ActivityID(Int($0)) }
    }

    /// The load of a resource now: Σ weight·rate over the activities crossing it.
    public func load(of resource: ResourceID) -> Double {
        var total = 0.0
        for user in resources[resource.index].users {
            let a = activities[Int(user)]
            for j in a.demandStart ..< a.demandStart + a.demandCount where demandPool[j].resource == resource {
                total += demandPool[j].weight * a.rate
            }
        }
        return total
    }

    /// The earliest predicted completion time, or nil when nothing is running.
    public func nextCompletionTime() -> Double? { completions.min?.time }

    /// Completes every activity predicted to finish at `now` (the time returned by
    /// `nextCompletionTime`), recomputes the rates they leave behind, and returns them in the
    /// order they started.
    public mutating func completeDue(at now: Double) -> [ActivityID] {
        var done: [ActivityID] = []
        var touched: [Int] = []
        while let (index, time) = completions.min, time <= now {
            completions.remove(index)
            activities[index].active = false
            activities[index].remainingWork = 0
            activities[index].rate = 0
            let first = activities[index].demandStart
            for j in first ..< first + activities[index].demandCount {
                let r = demandPool[j].resource.index
                if let position = resources[r].users.firstIndex(of: Int32(index)) {
                    resources[r].users.swapAt(position, resources[r].users.count - 1)
                    resources[r].users.removeLast()
                }
                touched.append(r)
            }
            freeActivities.append(index)
            activeCount -= 1
            liveDemands -= activities[index].demandCount
            done.append(ActivityID(index))
        }
        if demandPool.count > 2 * liveDemands + 4096 { compactDemands() }
        if !touched.isEmpty { recompute(fromActivities: [], resources: touched, now: now) }
        return done  // popped in (time, start order), all at `now`: already in start order
    }

    // MARK: - Rate computation

    /// Recomputes the rates of the connected component reached from the given activities and
    /// resources, after bringing each activity's remaining work up to `now`.
    private mutating func recompute(fromActivities seedActivities: [Int], resources seedResources: [Int], now: Double) {
        collectComponent(seedActivities: seedActivities, seedResources: seedResources)
        for a in componentActivities {
            let elapsed = now - activities[a].lastUpdate
            if elapsed > 0 {
                activities[a].remainingWork = Swift.max(0, activities[a].remainingWork - activities[a].rate * elapsed)
            }
            activities[a].lastUpdate = now
        }
        progressiveFilling()
        for a in componentActivities {
            let activity = activities[a]
            let finish: Double
            if activity.remainingWork <= 0 || activity.rate.isInfinite {
                finish = now
            } else {
                finish = now + activity.remainingWork / activity.rate
            }
            completions.set(a, time: finish, tie: activity.serial)
        }
    }

    /// Rewrites the demand pool with the running activities' demands only, in index order.
    private mutating func compactDemands() {
        var pool: [Demand] = []
        pool.reserveCapacity(liveDemands)
        for a in activities.indices where activities[a].active {
            let first = activities[a].demandStart
            activities[a].demandStart = pool.count
            pool.append(contentsOf: demandPool[first ..< first + activities[a].demandCount])
        }
        demandPool = pool
    }

    /// Breadth-first search over activity–resource edges; fills the component scratch arrays
    /// with active activities and the resources they touch, in discovery order.
    private mutating func collectComponent(seedActivities: [Int], seedResources: [Int]) {
        epoch &+= 1
        if epoch == 0 {  // wrapped: clear marks so no stale mark equals the new epoch
            for i in resources.indices { resources[i].mark = 0 }
            for i in activities.indices { activities[i].mark = 0 }
            epoch = 1
        }
        componentActivities.removeAll(keepingCapacity: true)
        componentResources.removeAll(keepingCapacity: true)
        for a in seedActivities where activities[a].mark != epoch && activities[a].active {
            activities[a].mark = epoch
            componentActivities.append(a)
        }
        for r in seedResources where resources[r].mark != epoch {
            resources[r].mark = epoch
            componentResources.append(r)
        }
        var nextActivity = 0
        var nextResource = 0
        while nextActivity < componentActivities.count || nextResource < componentResources.count {
            while nextActivity < componentActivities.count {
                let a = componentActivities[nextActivity]
                nextActivity += 1
                let first = activities[a].demandStart
                for j in first ..< first + activities[a].demandCount {
                    let r = demandPool[j].resource.index
                    if resources[r].mark != epoch {
                        resources[r].mark = epoch
                        componentResources.append(r)
                    }
                }
            }
            while nextResource < componentResources.count {
                let r = componentResources[nextResource]
                nextResource += 1
                for user in resources[r].users where activities[Int(user)].mark != epoch {
                    activities[Int(user)].mark = epoch
                    componentActivities.append(Int(user))
                }
            }
        }
    }

    /// Max-min fair rates for the component by progressive filling. A heap holds, for each
    /// resource, the common level at which it would saturate, and for each bounded activity its
    /// bound; ids ≥ 0 are resources, ids < 0 are activities (−1 − index).
    private mutating func progressiveFilling() {
        levels.removeAll()
        for r in componentResources {
            resources[r].remaining = resources[r].capacity
            resources[r].unfixedWeight = 0
            resources[r].unfixedCount = 0
        }
        var unfixed = 0
        for a in componentActivities {
            activities[a].fixed = false
            activities[a].rate = 0
            unfixed += 1
            let first = activities[a].demandStart
            for j in first ..< first + activities[a].demandCount {
                let d = demandPool[j]
                resources[d.resource.index].unfixedWeight += d.weight
                resources[d.resource.index].unfixedCount += 1
            }
            if activities[a].bound.isFinite || activities[a].demandCount == 0 {
                levels.push(-1 - a, at: activities[a].bound)
            }
        }
        for r in componentResources where resources[r].unfixedCount > 0 {
            levels.push(r, at: resources[r].remaining / resources[r].unfixedWeight)
        }
        while unfixed > 0, let (level, id) = levels.pop() {
            if id < 0 {
                let a = -1 - id
                if !activities[a].fixed {
                    fix(a, at: level)
                    unfixed -= 1
                }
                continue
            }
            let r = id
            guard resources[r].unfixedCount > 0 else { continue }
            let current = Swift.max(0, resources[r].remaining) / Swift.max(resources[r].unfixedWeight, .leastNormalMagnitude)
            // Keys are lower bounds of the levels, which only rise as activities are fixed. A
            // key below the current level is stale: put the resource back at its level.
            if current > level * (1 + 1e-12) {
                levels.push(r, at: current)
                continue
            }
            // The smallest level of all: fix every unfixed activity crossing r there (never
            // above the current level, which rounding can leave a hair below the key).
            let saturation = Swift.min(level, current)
            var i = 0
            while i < resources[r].users.count {
                let a = Int(resources[r].users[i])
                i += 1
                if !activities[a].fixed {
                    fix(a, at: saturation)
                    unfixed -= 1
                }
            }
        }
    }

    /// Fixes activity `a` at `rate`, taking its share off the resources it crosses (their keys
    /// in the level heap become stale and are refreshed when popped).
    private mutating func fix(_ a: Int, at rate: Double) {
        activities[a].fixed = true
        activities[a].rate = rate
        let first = activities[a].demandStart
        for j in first ..< first + activities[a].demandCount {
            let d = demandPool[j]
            let r = d.resource.index
            resources[r].remaining -= d.weight * rate
            resources[r].unfixedWeight -= d.weight
            resources[r].unfixedCount -= 1
        }
    }
}
