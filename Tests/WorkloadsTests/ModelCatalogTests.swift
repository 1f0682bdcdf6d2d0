import Testing
@testable import Workloads

@Suite struct ModelCatalogTests {
    /// Parameter counts from the shapes against the published totals (papers cited in the
    /// catalog). Tolerance 2%: norms and biases are left out, and published totals are rounded.
    @Test(arguments: [
        ("llama3-8b", 8.03e9, 8.03e9),
        ("llama3-70b", 70.6e9, 70.6e9),
        ("llama3-405b", 405.9e9, 405.9e9),
        ("gpt3-175b", 175e9, 175e9),
        ("mixtral-8x7b", 46.7e9, 12.9e9),
        ("deepseek-v3", 671e9, 37e9),
        ("gpt-moe-1.8t", 1.8e12, 0.28e12),
    ])
    func parameterCounts(name: String, total: Double, active: Double) {
        let model = ModelSpec.named(name)!
        print("\(name): \(model.parameters / 1e9)B total, \(model.activeParameters / 1e9)B active")
        #expect(abs(model.parameters / total - 1) < 0.02)
        #expect(abs(model.activeParameters / active - 1) < 0.02)
    }

    /// KV cache per token: Llama 3 70B in bf16 holds 2 × 8 × 128 × 2 B = 4 KiB per layer;
    /// DeepSeek-V3's MLA latent (512 + 64) × 2 B = 1,152 B per layer.
    @Test func kvCachePerToken() {
        #expect(ModelSpec.llama3_70B.kvCacheBytesPerTokenPerLayer(bytesPerElement: 2) == 4096)
        #expect(ModelSpec.deepSeekV3.kvCacheBytesPerTokenPerLayer(bytesPerElement: 2) == 1152)
    }

    @Test func namesAreUnique() {
        #expect(Set(ModelSpec.catalog.map(\.name)).count == ModelSpec.catalog.count)
    }
}

import Scenario
import Models

@Suite struct ModelYAMLTests {
    /// `models show NAME` reads back to the same model, for every catalog model.
    @Test(arguments: ModelSpec.catalog.map(\.name))
    func showReadsBack(name: String) throws {
        let model = ModelSpec.named(name)!
        #expect(try ModelYAML.parse(ModelYAML.render(model), file: "m.yaml") == model)
    }

    @Test func presetWithOverridesAndErrors() throws {
        let edited = try ModelYAML.parse("model: { preset: llama3-70b, layers: 40, name: half }\n", file: "m.yaml")
        #expect(edited.layers == 40 && edited.hidden == 8192 && edited.name == "half")
        do {
            _ = try ModelYAML.parse("model: { preset: llama3-7b }\n", file: "m.yaml")
            Issue.record("accepted an unknown model")
        } catch {
            #expect(error.description == "m.yaml:1:18: model.preset: unknown model \"llama3-7b\"; did you mean \"llama3-70b\"?")
        }
        do {
            _ = try ModelYAML.parse("model: { preset: llama3-8b, kv_heads: 5 }\n", file: "m.yaml")
            Issue.record("accepted 32 heads over 5 KV heads")
        } catch {
            #expect(error.description == "m.yaml:1:39: model.kv_heads: heads (32) must be a multiple of kv_heads (5)")
        }
    }
}
