/// ClusterSim's version, written into every manifest and printed by `clustersim --version`.
public let clusterSimVersion = "0.1.0"
