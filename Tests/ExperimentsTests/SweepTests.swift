import Testing
@testable import Experiments

/// Sweep parameters: comma lists, YAML flow lists with spaces and flow maps, quotes, zipped
/// groups, and folder names.
@Suite struct SweepTests {
    @Test func flowListsHoldSpacesCommasAndMaps() throws {
        let q = try Sweep.parameters("workload.links[0].bandwidth=[400 GB/s, 900 GB/s] workload.parallelism=[{tp: 8}, {tp: 4, pp: 2}] workload.batch=1,8")
        #expect(q.map(\.key) == ["workload.links[0].bandwidth", "workload.parallelism", "workload.batch"])
        #expect(q[0].values == ["400 GB/s", "900 GB/s"])
        #expect(q[1].values == ["{tp: 8}", "{tp: 4, pp: 2}"])
        #expect(q[2].values == ["1", "8"])
        let quoted = try Sweep.parameters("workload.trace='a b.csv','c d.csv'")
        #expect(quoted[0].values == ["a b.csv", "c d.csv"])
        let names = Sweep.points(q).map(\.name)
        #expect(names.first == "bandwidth-400-GB-s_parallelism-tp-8_batch-1" && names.count == 8 && Set(names).count == 8)
    }

    @Test func zippedGroupsVaryTogether() throws {
        let p = try Sweep.parameters(grid: "cluster.system=h100-sxm,b200", zipped: ["workload.parallelism.tp=1,2,4 workload.parallelism.ep=4,2,1"])
        let points = Sweep.points(p)
        #expect(points.count == 6)
        #expect(points.map { $0.settings.map(\.value).joined(separator: " ") }.prefix(3) == ["h100-sxm 1 4", "h100-sxm 2 2", "h100-sxm 4 1"])
        #expect(throws: ExperimentError.self) { _ = try Sweep.parameters(grid: nil, zipped: ["a.b=1,2 a.c=1"]) }
        #expect(throws: ExperimentError.self) { _ = try Sweep.parameters(grid: "a.b=1,2", zipped: ["a.b=1,2 a.c=1,2"]) }
        #expect(throws: ExperimentError.self) { _ = try Sweep.parameters("a.b=[1, 2") }
    }
}
