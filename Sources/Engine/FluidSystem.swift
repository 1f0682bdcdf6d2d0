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
// R resources in that component. Completion times live in a heap with lazy invalidation.
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
        var demands: [Demand]
        var bound: Double
        var remainingWork: Double
        var rate = 0.0
        var lastUpdate: Double
        var version: UInt32 = 0
        /// Start order, which orders simultaneous completions.
        var serial: UInt64 = 0
        var active = false
        var fixed = false
        var mark: UInt32 = 0
    }

    private var resources: [Resource] = []
    private var activities: [Activity] = []
    private var freeActivities: [Int] = []
    /// Predicted completion times; an entry is stale when its version is not the activity's.
    private var completions = EventQueue<(activity: Int32, version: UInt32)>()
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
        precondition(work >= 0 && work.isFinite, "activity work must be finite and ≥ 0")
        precondition(bound > 0, "activity bound must be positive")
        precondition(demands.allSatisfy { $0.weight > 0 && $0.weight.isFinite }, "demand weights must be positive")
        var activity = Activity(demands: demands, bound: bound, remainingWork: work, lastUpdate: now, active: true)
        activity.serial = startedCount
        startedCount += 1
        let index: Int
        if let reused = freeActivities.popLast() {
            let version = activities[reused].version &+ 1
            activities[reused] = activity
            activities[reused].version = version
            index = reused
        } else {
            activities.append(activity)
            index = activities.count - 1
        }
        for demand in demands { resources[demand.resource.index].users.append(Int32(index)) }
        activeCount += 1
        recompute(fromActivities: [index], resources: [], now: now)
        return ActivityID(index)
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
    public func demands(of activity: ActivityID) -> [Demand] { activities[activity.index].demands }

    /// The running activities crossing `resource`.
    public func usersOf(_ resource: ResourceID) -> [ActivityID] {
        resources[resource.index].users.map { ActivityID(Int($0)) }
    }

    /// The load of a resource now: Σ weight·rate over the activities crossing it.
    public func load(of resource: ResourceID) -> Double {
        var total = 0.0
        for user in resources[resource.index].users {
            let a = activities[Int(user)]
            for d in a.demands where d.resource == resource { total += d.weight * a.rate }
        }
        return total
    }

    /// The earliest predicted completion time, or nil when nothing is running.
    public mutating func nextCompletionTime() -> Double? {
        while let time = completions.nextTime {
            let top = completions.nextPayload!
            if activities[Int(top.activity)].version == top.version && activities[Int(top.activity)].active {
                return time
            }
            _ = completions.pop()
        }
        return nil
    }

    /// Completes every activity predicted to finish at `now` (the time returned by
    /// `nextCompletionTime`), recomputes the rates they leave behind, and returns them in the
    /// order they started.
    public mutating func completeDue(at now: Double) -> [ActivityID] {
        var done: [ActivityID] = []
        var touched: [Int] = []
        while let time = nextCompletionTime(), time <= now {
            let entry = completions.pop()!.payload
            let index = Int(entry.activity)
            activities[index].active = false
            activities[index].remainingWork = 0
            activities[index].rate = 0
            activities[index].version &+= 1
            for demand in activities[index].demands {
                let r = demand.resource.index
                if let position = resources[r].users.firstIndex(of: Int32(index)) {
                    resources[r].users.swapAt(position, resources[r].users.count - 1)
                    resources[r].users.removeLast()
                }
                touched.append(r)
            }
            freeActivities.append(index)
            activeCount -= 1
            done.append(ActivityID(index))
        }
        if !touched.isEmpty { recompute(fromActivities: [], resources: touched, now: now) }
        return done.sorted { activities[$0.index].serial < activities[$1.index].serial }
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
            activities[a].version &+= 1
            let activity = activities[a]
            let finish: Double
            if activity.remainingWork <= 0 {
                finish = now
            } else if activity.rate.isInfinite {
                finish = now
            } else {
                finish = now + activity.remainingWork / activity.rate
            }
            completions.push((Int32(a), activity.version), at: finish)
        }
        // Stale predictions accumulate in large components; rebuild the heap when they dominate.
        if completions.count > 4 * activeCount + 1024 { rebuildCompletions() }
    }

    private mutating func rebuildCompletions() {
        // Draining in (time, sequence) order and re-pushing keeps the order of ties.
        var fresh = EventQueue<(activity: Int32, version: UInt32)>()
        fresh.reserveCapacity(activeCount)
        while let (time, entry) = completions.pop() {
            let a = activities[Int(entry.activity)]
            if a.active && a.version == entry.version { fresh.push(entry, at: time) }
        }
        completions = fresh
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
                for demand in activities[a].demands where resources[demand.resource.index].mark != epoch {
                    resources[demand.resource.index].mark = epoch
                    componentResources.append(demand.resource.index)
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
            for d in activities[a].demands {
                resources[d.resource.index].unfixedWeight += d.weight
                resources[d.resource.index].unfixedCount += 1
            }
            if activities[a].bound.isFinite || activities[a].demands.isEmpty {
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
            let current = Swift.max(0, resources[r].remaining) / resources[r].unfixedWeight
            // A newer entry was pushed when this resource's level rose; skip this stale one.
            if current > level * (1 + 1e-12) { continue }
            // Fix every unfixed activity crossing r at the saturation level (never above the
            // current level, which rounding can leave a hair below the entry's).
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

    /// Fixes activity `a` at `rate` and pushes the new levels of the resources it crosses.
    private mutating func fix(_ a: Int, at rate: Double) {
        activities[a].fixed = true
        activities[a].rate = rate
        for d in activities[a].demands {
            let r = d.resource.index
            resources[r].remaining -= d.weight * rate
            resources[r].unfixedWeight -= d.weight
            resources[r].unfixedCount -= 1
            if resources[r].unfixedCount > 0 {
                let weight = Swift.max(resources[r].unfixedWeight, .leastNormalMagnitude)
                levels.push(r, at: Swift.max(0, resources[r].remaining) / weight)
            }
        }
    }
}
