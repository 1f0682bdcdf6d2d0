// The preset catalog. Every number is from ../shared/reference/datasheets.md, whose bracketed
// sources are repeated here: [a] NVIDIA H100 datasheet, [b] Klockwood H100 notes, [c] DGX B200
// datasheet, [e] Klockwood B200/B300 notes (NVIDIA Blackwell brief), [g] Verda GB300 NVL72
// architecture, [h] NVIDIA "Inside Blackwell Ultra", [k] pytorch/ao PR #4002 B200 device query,
// [m] stas00/ml-engineering, [n] MLPerf Inference system JSONs, [o] MLPerf Training v5.1 system
// JSONs, [i] Tom's Hardware Blackwell Ultra table, [p] NVIDIA GB300 NVL72 reference architecture,
// [q] NVIDIA GB200 NVL72 components. Dense (non-sparse) figures throughout. GB and TB/s are decimal.

extension SystemSpec {
    /// All presets, in the order `hardware list` prints them.
    public static let presets: [SystemSpec] = [h100SXM, h200SXM, b200, b300, gb200NVL72, gb300NVL72]

    public static func preset(named name: String) -> SystemSpec? {
        presets.first { $0.name == name }
    }

    /// Hopper's SFU exponent rate is not in the datasheets: the CUDA C++ Programming Guide's
    /// arithmetic-throughput table gives 16 exp2 results per clock per SM for compute capability
    /// 9.0 (and 10.0), so 132 SMs × 16 × 1.83 GHz = 3.86e12/s. The same rule gives 148 × 16 ×
    /// 2.06 GHz = 4.9e12 for GB200, matching the 5 Texp/s of [g], which supports it.
    static let hopperExpRate = 132.0 * 16 * 1.83e9

    static let hopperTensor = TensorRates(
        fp64: 67e12,      // FP64 tensor 67 TF [a]
        tf32: 494.7e12,   // 494.7 dense (989 sparse) [a][b]
        bf16: 989e12,     // 989 dense (1,979 sparse) [a]; = 132 SMs × 4,096 FLOP/clk × 1.83 GHz
        fp8: 1979e12,     // 1,979 dense [a]
        fp4: nil          // Hopper has no FP4 tensor cores
    )

    public static let h100SXM = SystemSpec(
        name: "h100-sxm",
        description: "NVIDIA HGX H100 SXM5 (700 W), 8 GPUs on NVSwitch",
        gpu: GPUSpec(
            name: "H100 SXM5", architecture: .hopper,
            smCount: 132,                          // [a][b]
            clock: 1.83e9,                         // clock the spec tensor TFLOP/s correspond to [b][m]
            tensor: hopperTensor,
            expRate: hopperExpRate,
            hbmCapacity: 81_559 * 1_048_576,       // 80 GB HBM3 [a]; nvidia-smi total 81,559 MiB (454 reserved), as for the
                                                   // Blackwell presets: github.com/thamada/nvidia-smi/blob/03fbe6e68c0bb4c28b72d5da786a9712a33cf408/nvsim/H100SXMx8_smi.py
            hbmBandwidth: 3.35e12,                 // 3.35 TB/s [a]
            l2Size: 50 * 1_048_576,                // 50 MB [a]; deviceQuery 52,428,800 bytes (same repository, nvsim/H100SXMx8_deviceQuery.py)
            nvlinkBandwidthPerDirection: 450e9,    // NVLink 4: 900 GB/s bidirectional [n]
            nvls: true,                            // NVSwitch gen3 SHARP [m]
            nicBandwidthPerDirection: 50e9,        // 1 × ConnectX-7 400 Gb/s per GPU [n]
            hostBandwidthPerDirection: 55.4e9,     // PCIe Gen5 x16 host-to-device copy measured on H200, 88% of 63 GB/s [datasheets.md 1.3]; same link
            tdp: 700,                              // [a]
            maxClock: 1.98e9                       // maximum boost 1,980 MHz [b][m]
        ),
        gpusPerNVLinkDomain: 8                     // 8 GPUs, 4 NVSwitch chips [m]
    )

    public static let h200SXM = SystemSpec(
        name: "h200-sxm",
        description: "NVIDIA HGX H200 SXM (700 W), 8 GPUs on NVSwitch",
        gpu: GPUSpec(
            name: "H200 SXM", architecture: .hopper,
            smCount: 132,                          // same die as H100 [b]
            clock: 1.83e9,                         // as H100 [m]
            tensor: hopperTensor,                  // as H100 [m]
            expRate: hopperExpRate,
            hbmCapacity: 143_771 * 1_048_576,      // 141 GB HBM3e, 6 stacks [datasheets.md 1.2]; nvidia-smi total 143,771 MiB on
                                                   // the H200 SXM that measured calibration.csv's H200GEMM and H200COPY (2026-10-27)
            hbmBandwidth: 4.8e12,                  // 4.8 TB/s [datasheets.md 1.2]
            l2Size: 60 * 1_048_576,                // PyTorch's device properties on that H200: 60 MB (2026-10-28)
            nvlinkBandwidthPerDirection: 450e9,    // "18x 4th Gen NVLink, 900GB/s" [n]
            nvls: true,                            // measured (NCCL01) [datasheets.md 1.3]
            nicBandwidthPerDirection: 50e9,        // "10x 400Gbe Infiniband" per 8 GPUs + storage [n]
            hostBandwidthPerDirection: 55.4e9,     // PCIe Gen5 x16 host-to-device copy measured on H200, 88% of 63 GB/s [datasheets.md 1.3]
            tdp: 700,                              // "H200 TGP 700W" [n]
            maxClock: 1.98e9                       // as H100 [m]
        ),
        gpusPerNVLinkDomain: 8
    )

    public static let b200 = SystemSpec(
        name: "b200",
        description: "NVIDIA HGX B200 (1,000 W), 8 GPUs on NVSwitch",
        gpu: GPUSpec(
            name: "B200", architecture: .blackwell,
            smCount: 148,                          // 2 dies × 74 SMs [k][l]
            clock: 1.86e9,                         // implied by 2,250 TF / (148 × 8,192 FLOP/clk) [datasheets.md 1.1]
            tensor: TensorRates(
                fp64: 37e12,                       // HGX page 296 TF / 8 [c]; the tech brief says 40 [e]: we take the system figure
                tf32: 1.125e15,                    // [e]
                bf16: 2.25e15,                     // [c][e]
                fp8: 4.5e15,                       // [c]
                fp4: 9e15                          // [c][e]
            ),
            expRate: 5e12,                         // 5 Texp/s [g]
            hbmCapacity: 178.35 * 1_073_741_824,   // 178.35 GiB reported by the driver [k] (192 GB physical)
            hbmBandwidth: 7.67e12,                 // physical peak: 7,680-bit bus at 3,996 MHz [k]; 8 TB/s is the marketing figure
            l2Size: 126.5e6,                       // 126.5 MB driver-reported [k]
            nvlinkBandwidthPerDirection: 900e9,    // NVLink 5: 1.8 TB/s bidirectional [n]
            nvls: true,                            // measured (NCCL06)
            nicBandwidthPerDirection: 50e9,        // 1 × ConnectX-7 400 Gb/s per GPU [n]
            hostBandwidthPerDirection: 55.4e9,     // PCIe Gen5 x16 host-to-device copy measured on H200, 88% of 63 GB/s [datasheets.md 1.3]; same link
            tdp: 1000,                             // "B200 TGP 1000W" [n]
            maxClock: 1.965e9                      // max SM clock 1,965 MHz, device-reported [m]
        ),
        gpusPerNVLinkDomain: 8                     // 2 NVLink-5 switch chips [c]
    )

    /// HGX B300 from its datasheet alone: no B300 measurement is in the reference, so nothing
    /// here is fitted to one (Blackwell Ultra shares Blackwell's kernel and collective factors).
    public static let b300 = SystemSpec(
        name: "b300",
        description: "NVIDIA HGX B300 (1,100 W, Blackwell Ultra), 8 GPUs on NVSwitch",
        gpu: GPUSpec(
            name: "B300", architecture: .blackwellUltra,
            smCount: 160,                          // Blackwell Ultra: 160 SMs [h]
            clock: 1.717e9,                        // implied by 2,250 TF / (160 × 8,192 FLOP/clk) [datasheets.md 1.1]; not disclosed
            tensor: TensorRates(
                fp64: 1.25e12,                     // FP64 cut on Ultra [e][g]
                tf32: 1.125e15,                    // dense [e]
                bf16: 2.25e15,                     // dense [e]
                fp8: 4.5e15,                       // dense [e]
                fp4: 13.125e15                     // HGX B300 105 PF dense / 8 [e]
            ),
            expRate: 10.7e12,                      // 10.7 Texp/s, Blackwell Ultra's SFU rate [g]
            hbmCapacity: 270e9,                    // 288 GB HBM3e, 270 GB usable as listed by Verda [g]
            hbmBandwidth: 7.67e12,                 // 8 TB/s spec [datasheets.md 1.2], the same 8-stack interface as B200:
                                                   // its physical 7.67 TB/s [k], as for GB300
            l2Size: 126.5e6,                       // not disclosed; assumed as B200 [k]
            nvlinkBandwidthPerDirection: 900e9,    // NVLink 5: 1.8 TB/s bidirectional [datasheets.md 1.3]
            nvls: true,                            // [datasheets.md 1.3]
            nicBandwidthPerDirection: 100e9,       // 1 × ConnectX-8 800 Gb/s per GPU (HGX networking 8 × 800G) [e]
            hostBandwidthPerDirection: 112.6e9,    // PCIe Gen6 x16 [i]: 128 GB/s per direction at the 88% copy efficiency
                                                   // measured over Gen5 on H200 [datasheets.md 1.3]; derived, not measured
            tdp: 1100                              // [g]; maximum clock not disclosed: the spec clock stands for it
        ),
        gpusPerNVLinkDomain: 8                     // 8 GPUs (marketed "NVL16", 16 dies) [e]
    )

    public static let gb200NVL72 = SystemSpec(
        name: "gb200-nvl72",
        description: "NVIDIA GB200 NVL72 (1,200 W per GPU), 72 GPUs in one NVLink domain, Grace CPUs over NVLink-C2C",
        gpu: GPUSpec(
            name: "B200 (GB200 superchip)", architecture: .blackwell,
            smCount: 148,                          // same die as B200
            clock: 2.062e9,                        // max SM clock, device-reported [m]
            tensor: TensorRates(
                fp64: 40e12,                       // later figure of 40-45 [e][f]
                tf32: 1.25e15,                     // [e]
                bf16: 2.5e15,                      // [e]
                fp8: 5e15,                         // [e]
                fp4: 10e15                         // [e]
            ),
            expRate: 5e12,                         // 5 Texp/s [g]
            hbmCapacity: 189_471 * 1_048_576,      // 189,471 MiB from nvidia-smi [o] (186 GB [n])
            hbmBandwidth: 7.67e12,                 // same 8-stack HBM3e as B200: physical 7.67 TB/s [k] (Verda lists 7.7 [g])
            l2Size: 126.5e6,                       // as B200 [k]
            nvlinkBandwidthPerDirection: 900e9,    // 1.8 TB/s bidirectional [d]
            nvls: true,                            // [datasheets.md 1.3]
            nicBandwidthPerDirection: 50e9,        // ConnectX-7 400 Gb/s, 4 per 4-GPU tray [o][q]
            hostBandwidthPerDirection: 201e9,      // Grace-to-GPU copy engines over NVLink-C2C, Azure nvbandwidth (not the 450 GB/s spec) [datasheets.md 1.3]
            tdp: 1200,                             // [i][m]
            maxClock: 2.062e9                      // max SM clock 2,062 MHz, device-reported [m] (the spec clock)
        ),
        gpusPerNVLinkDomain: 72                    // 18 compute trays, 9 switch trays [q]
    )

    public static let gb300NVL72 = SystemSpec(
        name: "gb300-nvl72",
        description: "NVIDIA GB300 NVL72 (1,400 W per GPU, Blackwell Ultra), 72 GPUs in one NVLink domain",
        gpu: GPUSpec(
            name: "B300 (GB300 superchip)", architecture: .blackwellUltra,
            smCount: 160,                          // [h]
            clock: 1.907e9,                        // implied by 2,500 TF / (160 × 8,192 FLOP/clk) [datasheets.md 1.1]
            tensor: TensorRates(
                fp64: 1.25e12,                     // FP64 cut on Ultra [g]
                tf32: 1.25e15,                     // dense [g][m] (2.5 PF figures elsewhere are sparse)
                bf16: 2.5e15,                      // dense [g][m]
                fp8: 5e15,                         // dense [g][m]
                fp4: 15e15                         // dense NVFP4 [h]
            ),
            expRate: 10.7e12,                      // 10.7 Texp/s, twice Blackwell's SFU rate [g]
            hbmCapacity: 284_208 * 1_048_576,      // 284,208 MiB from nvidia-smi [o] (288 GB marketed [h])
            hbmBandwidth: 7.67e12,                 // 8 TB/s spec [h], same 8-stack HBM3e interface as GB200; no device
                                                   // query is published, so we take GB200's physical 7.67 TB/s [k]
            l2Size: 126.5e6,                       // not disclosed; assumed as B200 [k]
            nvlinkBandwidthPerDirection: 900e9,    // 1.8 TB/s bidirectional [g]
            nvls: true,                            // [datasheets.md 1.3]
            nicBandwidthPerDirection: 100e9,       // ConnectX-8 800 Gb/s per GPU [o][p]
            hostBandwidthPerDirection: 201e9,      // Grace-to-GPU copy engines over NVLink-C2C, Azure nvbandwidth (not the 450 GB/s spec) [datasheets.md 1.3]; no GB300 measurement, same C2C
            tdp: 1400                              // [i][h]; maximum clock not disclosed: the spec clock stands for it
        ),
        gpusPerNVLinkDomain: 72                    // 9 NVSwitch trays [p]
    )
}
