import Experiments
import Scenario
import Workloads

/// The metrics of the first replication of the scenario in `yaml`, by name; the scenario is
/// checked first, as the CLI does, so a bad scenario throws.
func metrics(_ yaml: String, file: String = "test.yaml") throws -> [String: Double] {
    let plan = try ScenarioLoader.plan(text: yaml, file: file)
    try ExperimentRunner.check(plan)
    let run = ExperimentRunner.run(plan, threads: 1).replications[0]
    return Dictionary(uniqueKeysWithValues: run.metrics.map { ($0.name, $0.value) })
}
