// Run-time checks of what must hold in every simulation, behind `--check`: the clock never goes back, no fluid resource
// carries more than its capacity and every rate is max-min fair (FluidSystem+Invariants), and
// the kinds' own conservation laws (a serving run generates exactly the tokens its completed
// requests asked for). A violation is a bug of the model, never of the input: the run ends
// with exit status 1 and the violations listed.
import Synchronization

public enum Invariants {
    /// Off unless --check (or a test) turns it on: checking the fluid system after every event
    /// is O(activities + resources) per event, too slow for the whole debug suite.
    public static let enabled = Atomic<Bool>(false)

    @inlinable public static var isOn: Bool { enabled.load(ordering: .relaxed) }

    private static let found = Mutex<[String]>([])

    /// Records a violation (the first 20 are kept).
    public static func violation(_ text: String) {
        found.withLock { if $0.count < 20 { $0.append(text) } }
    }

    /// Serialises `checking`: the switch and the record are process-wide.
    private static let checkingLock = Mutex<Void>(())

    /// Runs `body` with the checks on and returns the violations it recorded; one caller at a
    /// time (tests running in parallel would otherwise turn the checks off, or take the
    /// violations, under each other).
    public static func checking(_ body: () -> Void) -> [String] {
        checkingLock.withLock { _ in
            _ = take()
            enabled.store(true, ordering: .relaxed)
            body()
            enabled.store(false, ordering: .relaxed)
            return take()
        }
    }

    /// The violations recorded so far, clearing them.
    public static func take() -> [String] {
        found.withLock { v in defer { v = [] }; return v }
    }
}
