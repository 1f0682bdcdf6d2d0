// The max-min fairness conditions, checked on the whole system (for tests and debugging).

extension FluidSystem {
    /// Violations of the max-min conditions, empty when the allocation is max-min fair:
    /// no resource carries more than its capacity, and every running activity either runs at its
    /// own bound or crosses a saturated resource on which no activity runs faster.
    /// Tolerances are relative (1e-9): rates come from floating-point sums.
    public func checkInvariants() -> [String] {
        let tolerance = 1e-9
        var problems: [String] = []
        var loads: [Double] = []
        var fastest: [Double] = []
        for r in 0..<resourceCount {
            let id = ResourceID(r)
            loads.append(load(of: id))
            fastest.append(usersOf(id).map { rate(of: $0) }.max() ?? 0)
            if loads[r] > capacity(of: id) * (1 + tolerance) {
                problems.append("resource \(r) carries \(loads[r]) > capacity \(capacity(of: id))")
            }
        }
        for a in runningActivities {
            let x = rate(of: a)
            if x > bound(of: a) * (1 + tolerance) {
                problems.append("activity \(a.index) runs at \(x) above its bound \(bound(of: a))")
                continue
            }
            if x >= bound(of: a) * (1 - tolerance) { continue }
            let bottlenecked = demands(of: a).contains { d in
                let r = d.resource.index
                return loads[r] >= capacity(of: d.resource) * (1 - tolerance) && x >= fastest[r] * (1 - tolerance)
            }
            if !bottlenecked {
                problems.append("activity \(a.index) at rate \(x) has no saturated resource where it is the fastest")
            }
        }
        return problems
    }
}
