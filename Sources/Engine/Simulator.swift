// The simulator: a clock, an event queue and a fluid system, run as one loop.
//
// Events are values of the caller's type, delivered in (time, sequence) order to a handler that
// may schedule more events and start activities. An activity's completion is delivered as the
// event given when it started, queued at the instant it finishes behind events already queued
// for that instant. Each replication owns its simulator: there is no global state.

/// A discrete-event simulator over events of type `Event`.
public final class Simulator<Event> {
    /// Simulated time in seconds.
    public private(set) var now: Double = 0
    @usableFromInline var queue = EventQueue<Event>()
    public private(set) var fluid = FluidSystem()
    private var completionEvents: [Event?] = []
    /// Events delivered so far (completions included).
    public private(set) var eventsProcessed = 0

    public init() {}

    /// Schedules `event` at absolute time `time` (≥ now).
    @inlinable public func schedule(_ event: Event, at time: Double) {
        precondition(time >= now, "cannot schedule an event in the past")
        queue.push(event, at: time)
    }

    /// Schedules `event` after `delay` seconds (≥ 0).
    @inlinable public func schedule(_ event: Event, after delay: Double) {
        schedule(event, at: now + delay)
    }

    /// Adds a fluid resource with `capacity` units per second.
    public func addResource(capacity: Double) -> ResourceID {
        fluid.addResource(capacity: capacity)
    }

    /// Starts an activity of `work` units over `demands`; `completion` is delivered when it ends.
    @discardableResult
    public func startActivity(
        work: Double, demands: [Demand], bound: Double = .infinity, completion: Event
    ) -> ActivityID {
        let id = fluid.start(work: work, demands: demands, bound: bound, now: now)
        if id.index >= completionEvents.count {
            completionEvents.append(contentsOf: repeatElement(nil, count: id.index + 1 - completionEvents.count))
        }
        completionEvents[id.index] = completion
        return id
    }

    /// Runs until no event or activity is left, or until the next one would come after `limit`
    /// (the clock then stops at `limit`). Returns the number of events delivered by this call.
    @discardableResult
    public func run(until limit: Double = .infinity, _ handle: (Event) -> Void) -> Int {
        let before = eventsProcessed
        while true {
            let queued = queue.nextTime ?? .infinity
            let finishing = fluid.nextCompletionTime() ?? .infinity
            let next = Swift.min(queued, finishing)
            if next == .infinity { break }
            if next > limit {
                now = limit
                break
            }
            if finishing <= queued {
                now = finishing
                for id in fluid.completeDue(at: finishing) {
                    queue.push(completionEvents[id.index]!, at: finishing)
                    completionEvents[id.index] = nil
                }
                continue
            }
            let (time, event) = queue.pop()!
            now = time
            eventsProcessed += 1
            handle(event)
        }
        return eventsProcessed - before
    }
}
