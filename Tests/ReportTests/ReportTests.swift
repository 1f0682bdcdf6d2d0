import Testing
@testable import Report
import Stats

@Suite struct SHA256Tests {
    /// FIPS 180-4 example vectors (NIST CSRC "SHA256.pdf"); the 56-byte one crosses a block.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func vectors(input: String, expected: String) {
        #expect(SHA256.hex(Array(input.utf8)) == expected)
    }
}

@Suite struct CSVTests {
    @Test func quotingAndNumbers() {
        #expect(CSV.field("plain") == "plain")
        #expect(CSV.field("a,b") == "\"a,b\"")
        #expect(CSV.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSV.number(0.25) == "0.25")
        #expect(CSV.number(1e-6) == "1e-06")
        #expect(CSV.number(nil) == "")
        #expect(CSV.number(.nan) == "")
        // Shortest round-trip text reads back to the same Double.
        let x = 0.1 + 0.2
        #expect(Double(CSV.number(x)) == x)
    }

    /// Rows are in variant order, then in each metric's first appearance; columns as DESIGN.md.
    @Test func summaryLayout() {
        let results = ExperimentResults(scenario: "s", seed: 3, variants: ["b", "a"], replications: [
            ReplicationResult(variant: "b", replication: 1, metrics: [Metric("z_s", unit: "s", 1), Metric("y_s", unit: "s", 2)]),
            ReplicationResult(variant: "b", replication: 2, metrics: [Metric("z_s", unit: "s", 3), Metric("y_s", unit: "s", 2)]),
            ReplicationResult(variant: "a", replication: 1, metrics: [Metric("z_s", unit: "s", 5)]),
        ])
        let rows = ResultFiles.summaries(results)
        #expect(rows.map { "\($0.variant)/\($0.metric)" } == ["b/z_s", "b/y_s", "a/z_s"])
        let csv = ResultFiles.summaryCSV(results, rows: rows).split(separator: "\n")
        #expect(csv[0] == "scenario,variant,metric,unit,n,mean,stddev,ci95_low,ci95_high,min,p50,p99,max,pi90_low,pi90_high")
        // z over {1, 3}: mean 2, sd sqrt(2), half-width t(0.975, 1)·sqrt(2)/sqrt(2) = 12.7062.
        #expect(csv[1].hasPrefix("s,b,z_s,s,2,2.0,1.4142135623730951,-10.706"))
        // One replication: stddev and CI are empty; so is the prediction interval nobody attached.
        #expect(csv[3] == "s,a,z_s,s,1,5.0,,,,5.0,5.0,5.0,5.0,,")
        let reps = ResultFiles.replicationsCSV(results).split(separator: "\n")
        #expect(reps[0] == "scenario,variant,replication,seed,metric,unit,value")
        #expect(reps[1] == "s,b,1,3,z_s,s,1.0")
    }

    @Test func tableShowsMeanAndInterval() {
        let rows = [ResultFiles.SummaryRow(variant: "v", metric: "m_s", unit: "s", summary: Summary([1, 2, 3]))]
        let table = ConsoleTable.render(rows)
        #expect(table.contains("v        m_s     s        2  [-0.4841, 4.484]  3"), "\(table)")
    }
}
