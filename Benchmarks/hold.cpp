// The hold model on C++'s std::priority_queue, the peer `make bench` measures ClusterSim's
// simulator loop against: n events pending, each pop schedules one event at now + Exp(1),
// keys (time, sequence) as the simulator orders them, the same SplitMix64 stream.
// Usage: hold-cpp PENDING OPERATIONS   (prints the checksum, so the work cannot be elided, and
// the peak resident memory in KiB)
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <vector>

struct Entry {
    double time;
    uint64_t sequence;
    int64_t payload;
};

// std::priority_queue is a max-heap: "less" here means "later".
struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
        return a.time > b.time || (a.time == b.time && a.sequence > b.sequence);
    }
};

struct SplitMix {
    uint64_t state;
    uint64_t next() {
        state += 0x9E3779B97F4A7C15ull;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double exponential() { return -std::log(double(next() >> 11) * 0x1p-53 + 0x1p-54); }
};

int main(int argc, char** argv) {
    if (argc != 3) { std::fprintf(stderr, "usage: hold-cpp PENDING OPERATIONS\n"); return 2; }
    long pending = std::atol(argv[1]), operations = std::atol(argv[2]);
    SplitMix rng{1};
    std::priority_queue<Entry, std::vector<Entry>, Later> queue;
    uint64_t sequence = 0;
    for (long i = 0; i < pending; i++) queue.push({rng.exponential(), sequence++, i});
    int64_t checksum = 0;
    for (long i = 0; i < operations; i++) {
        Entry e = queue.top();
        queue.pop();
        checksum += e.payload;
        queue.push({e.time + rng.exponential(), sequence++, e.payload});
    }
    // Peak resident memory of this process (VmHWM; a parent's is not inherited as wait4's can be).
    long hwm = -1;
    if (FILE* f = std::fopen("/proc/self/status", "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, f)) if (std::strncmp(line, "VmHWM:", 6) == 0) hwm = std::atol(line + 6);
        std::fclose(f);
    }
    std::printf("%lld %ld\n", (long long)checksum, hwm);
    return 0;
}
