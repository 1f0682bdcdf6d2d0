// Where each preset number comes from, for `clustersim hardware show`: per preset, per field
// (the keys of the system mapping), the bracketed sources of ../shared/reference/datasheets.md
// or how the number was derived. The presets' own comments say the same at more length.

extension SystemSpec {
    /// The sources of ../shared/reference/datasheets.md that the presets cite.
    public static let references: [String: String] = [
        "[a]": "NVIDIA H100 datasheet table (as reproduced by HPC Tech)",
        "[b]": "Glenn Klockwood, H100 notes",
        "[c]": "NVIDIA DGX B200 datasheet",
        "[d]": "NVIDIA technical blog, GB200 NVL72",
        "[e]": "Glenn Klockwood, B200 and B300 notes (NVIDIA's Blackwell brief tables)",
        "[f]": "NVIDIA GB200 NVL72 product page",
        "[g]": "Verda, GB300 NVL72 architecture (per-GPU dense table, SFU rate, usable memory, TDP)",
        "[h]": "NVIDIA technical blog, Inside Blackwell Ultra",
        "[i]": "Tom's Hardware, Blackwell vs Blackwell Ultra table",
        "[k]": "pytorch/ao PR #4002, B200 device query",
        "[l]": "Chips and Cheese, B200",
        "[m]": "stas00/ml-engineering, accelerator and network chapters",
        "[n]": "MLPerf Inference system description JSONs",
        "[o]": "MLPerf Training v5.1 system JSONs",
        "[p]": "NVIDIA Enterprise Reference Architecture, GB300 NVL72 components",
        "[q]": "NVIDIA GB200 NVL Multi-Node Tuning Guide",
        "[x]": "measured on an H200 SXM for calibration.csv (H200GEMM, H200COPY; PyTorch device properties)",
        "[y]": "derived: bf16 dense peak / (SMs × 8,192 FLOP per clock per SM on Blackwell)",
        "[z]": "derived: the CUDA C++ Programming Guide's 16 exp2 per clock per SM × SMs × clock",
        "[t]": "derived: PCIe host-to-device copy at the 88% of link rate measured on H200 (55.4 of 63 GB/s, datasheets.md 1.3)",
        "[u]": "assumed: the same as the predecessor named (not disclosed)",
    ]

    private static let hopper: [String: String] = [
        "gpus_per_nvlink_domain": "[m]", "sms": "[a][b]", "clock": "[b][m] (the clock the spec tensor rates correspond to)",
        "tensor.fp64": "[a]", "tensor.tf32": "[a][b]", "tensor.bf16": "[a]", "tensor.fp8": "[a]", "exp_rate": "[z]",
        "nvlink_bandwidth": "[n]", "nvls": "[m]", "nic_bandwidth": "[n]", "host_bandwidth": "[t]", "tdp": "[a][n]",
        "max_clock": "[b][m]",
    ]

    /// Per preset name, per field: its sources.
    public static let sources: [String: [String: String]] = [
        "h100-sxm": hopper.merging([
            "hbm_capacity": "[a] (80 GB; 81,559 MiB reported by nvidia-smi)", "hbm_bandwidth": "[a]", "l2_size": "[a]",
        ]) { $1 },
        "h200-sxm": hopper.merging([
            "sms": "[b] (the H100 die)", "hbm_capacity": "[x] (nvidia-smi; 141 GB marketed)", "hbm_bandwidth": "datasheets.md 1.2",
            "l2_size": "[x]", "nvls": "measured, calibration.csv NCCL01",
        ]) { $1 },
        "b200": [
            "gpus_per_nvlink_domain": "[c]", "sms": "[k][l]", "clock": "[y]", "tensor.fp64": "[c]", "tensor.tf32": "[e]", "tensor.bf16": "[c][e]",
            "tensor.fp8": "[c]", "tensor.fp4": "[c][e]", "exp_rate": "[g]", "hbm_capacity": "[k]", "hbm_bandwidth": "[k] (physical; 8 TB/s marketed)",
            "l2_size": "[k]", "nvlink_bandwidth": "[n]", "nvls": "measured, calibration.csv NCCL06", "nic_bandwidth": "[n]", "host_bandwidth": "[t]", "tdp": "[n]",
            "max_clock": "[m] (device-reported)",
        ],
        "b300": [
            "gpus_per_nvlink_domain": "[e]", "sms": "[h]", "clock": "[y] (not disclosed)", "tensor.fp64": "[e][g]", "tensor.tf32": "[e]", "tensor.bf16": "[e]",
            "tensor.fp8": "[e]", "tensor.fp4": "[e] (HGX B300 105 PF dense / 8)", "exp_rate": "[g]", "hbm_capacity": "[g] (usable; 288 GB marketed)",
            "hbm_bandwidth": "[k] [u] B200's physical 7.67 TB/s (8 TB/s spec)", "l2_size": "[u] B200's [k]", "nvlink_bandwidth": "datasheets.md 1.3",
            "nvls": "datasheets.md 1.3", "nic_bandwidth": "[e]", "host_bandwidth": "[i] PCIe Gen6, [t]", "tdp": "[g]",
            "max_clock": "[y] (not disclosed: the spec clock)",
        ],
        "gb200-nvl72": [
            "gpus_per_nvlink_domain": "[q]", "sms": "[k] (the B200 die)", "clock": "[m] (device-reported maximum SM clock)", "tensor.fp64": "[e][f]",
            "tensor.tf32": "[e]", "tensor.bf16": "[e]", "tensor.fp8": "[e]", "tensor.fp4": "[e]", "exp_rate": "[g]", "hbm_capacity": "[o] (nvidia-smi)",
            "hbm_bandwidth": "[k] [u] B200's physical 7.67 TB/s", "l2_size": "[k] [u] B200's", "nvlink_bandwidth": "[d]", "nvls": "datasheets.md 1.3",
            "nic_bandwidth": "[o][q]", "host_bandwidth": "measured Grace-to-GPU copy, Azure nvbandwidth (datasheets.md 1.3)", "tdp": "[i][m]",
            "max_clock": "[m] (device-reported)",
        ],
        "gb300-nvl72": [
            "gpus_per_nvlink_domain": "[p]", "sms": "[h]", "clock": "[y] (not disclosed)", "tensor.fp64": "[g]", "tensor.tf32": "[g][m]", "tensor.bf16": "[g][m]",
            "tensor.fp8": "[g][m]", "tensor.fp4": "[h]", "exp_rate": "[g]", "hbm_capacity": "[o] (nvidia-smi; 288 GB marketed [h])",
            "hbm_bandwidth": "[h] 8 TB/s spec; [k] [u] GB200's physical 7.67 TB/s", "l2_size": "[u] B200's [k]", "nvlink_bandwidth": "[g]",
            "nvls": "datasheets.md 1.3", "nic_bandwidth": "[o][p]", "host_bandwidth": "[u] GB200's measured Grace-to-GPU copy (same NVLink-C2C)", "tdp": "[i][h]",
            "max_clock": "[y] (not disclosed: the spec clock)",
        ],
    ]
}
