// The simulator: a clock, an event queue and a fluid system, run as one loop.
//
// Events are values of the caller's type, delivered in (time, sequence) order to a handler that
// may schedule more events and start activities. An activity's completion is delivered as the
// event given when it started, queued at the instant it finishes behind events already queued
// for that instant. Each replication owns its simulator: there is no global state.

/// A discrete-event simulator over events of type `Event`.
public final class Simulator<Event> {
    @usableFromInline var currentTime: Double = 0
    @usableFromInline var queue = MonotoneEventQueue<Event>()
    @usableFromInline var fluidSystem = FluidSystem()
    @usableFromInline var completionEvents: [Event?] = []
    @usableFromInline var delivered = 0

    /// Simulated time in seconds.
    @inlinable public var now: Double { currentTime }
    /// The fluid resources and the activities running on them (read-only view).
    public var fluid: FluidSystem { fluidSystem }
    /// Events delivered so far (completions included).
    public var eventsProcessed: Int { delivered }

    public init() {}

    /// Schedules `event` at absolute time `time` (≥ now).
    @inlinable public func schedule(_ event: Event, at time: Double) {
        precondition(time >= currentTime, "cannot schedule an event in the past")
        queue.push(event, at: time)
    }

    /// Schedules `event` after `delay` seconds (≥ 0).
    @inlinable public func schedule(_ event: Event, after delay: Double) {
        schedule(event, at: currentTime + delay)
    }

    /// Adds a fluid resource with `capacity` units per second.
    @inlinable public func addResource(capacity: Double) -> ResourceID {
        fluidSystem.addResource(capacity: capacity)
    }

    /// Starts an activity of `work` units over `demands`; `completion` is delivered when it ends.
    // The entry points below are @inlinable so that a caller in another module runs them
    // specialised for its Event type: unspecialised generic code pays a metadata lookup per
    // call (about a quarter of a serving or collective run's time before this).
    @inlinable @discardableResult
    public func startActivity(
        work: Double, demands: [Demand], bound: Double = .infinity, completion: Event
    ) -> ActivityID {
        startActivities([ActivityRequest(work: work, demands: demands, bound: bound)], completions: [completion])[0]
    }

    /// Starts several activities with one recomputation of rates; `completions[i]` is delivered
    /// when `requests[i]` ends.
    @inlinable @discardableResult
    public func startActivities(_ requests: [ActivityRequest], completions: [Event]) -> [ActivityID] {
        precondition(requests.count == completions.count)
        let ids = fluidSystem.start(requests, now: currentTime)
        for (id, completion) in zip(ids, completions) {
            if id.index >= completionEvents.count {
                completionEvents.append(contentsOf: repeatElement(nil, count: id.index + 1 - completionEvents.count))
            }
            completionEvents[id.index] = completion
        }
        return ids
    }

    /// Runs until no event or activity is left, or until the next one would come after `limit`
    /// (the clock then stops at `limit`). Returns the number of events delivered by this call.
    @inlinable @discardableResult
    public func run(until limit: Double = .infinity, _ handle: (Event) -> Void) -> Int {
        let before = delivered
        let checking = Invariants.isOn
        while true {
            if checking { checkInvariants() }
            let finishing = fluidSystem.activeCount > 0 ? (fluidSystem.nextCompletionTime() ?? .infinity) : .infinity
            // With no activity running and no limit the next event is the queue's first; else
            // peek, since a completion or the limit may come first.
            if finishing != .infinity || limit != .infinity {
                let queued = queue.nextTime() ?? .infinity
                let next = Swift.min(queued, finishing)
                if next == .infinity { break }
                if next > limit {
                    currentTime = limit
                    break
                }
                if finishing <= queued {
                    currentTime = finishing
                    queueCompletions(at: finishing)
                    continue
                }
            }
            guard let (time, event) = queue.pop() else { break }
            if checking && time < currentTime { Invariants.violation("clock: event at \(time) s after the clock reached \(currentTime) s") }
            currentTime = time
            delivered += 1
            handle(event)
        }
        return delivered - before
    }

    /// Records violations of the fluid system's max-min conditions (under --check).
    @usableFromInline func checkInvariants() {
        for problem in fluidSystem.checkInvariants() { Invariants.violation("fluid system at \(currentTime) s: \(problem)") }
    }

    /// Completes the activities finishing at `time` and queues their completion events.
    @inlinable func queueCompletions(at time: Double) {
        for id in fluidSystem.completeDue(at: time) {
            queue.push(completionEvents[id.index]!, at: time)
            completionEvents[id.index] = nil
        }
    }
}
