// Colocated serving, scheduling (the rules in ColocatedServing.swift's header): which requests
// an iteration runs, admissions, and preemption when a paged cache is full.
import Engine

extension ColocatedServing {
    /// Schedules and starts the instance's next iteration (see the header).
    mutating func startIteration(_ n: Int) {
        // Taken out of the array while it changes, so its arrays are not copied (a copy of
        // `instances[n]` would share their storage and copy it on the first append).
        var q = Instance()
        swap(&q, &instances[n])
        defer { swap(&q, &instances[n]) }
        guard !q.busy else { return }
        // 1. Room for the decodes' next slots.
        if paged {
            while q.decodingCount > 0 && usedBlocks(q) > capacityBlocks && preemptLast(&q) {}
        }
        // 2. Prompt chunks within each group's budget.
        planChunks(&q)
        if q.waitingHead > 1024 && q.waitingHead * 2 > q.waiting.count {
            q.waiting.removeFirst(q.waitingHead)
            q.waitingHead = 0
        }
        guard q.running > 0 else { return }
        q.iteration.decoding = q.decodingCount
        q.busy = true
        launch(n, q)
    }

    /// Fills `q.iteration.chunks`: first the running prompts in admission order, then new
    /// admissions, each chunk in the attention group with the most budget left.
    mutating func planChunks(_ q: inout Instance) {
        let decodePerGroup = (q.decodingCount + groups - 1) / groups
        q.iteration.budgets.removeAll(keepingCapacity: true)
        q.iteration.budgets.append(contentsOf: repeatElement(Swift.max(0, serving.maxNumTokens - decodePerGroup * positions), count: groups))
        q.iteration.groupTokens.removeAll(keepingCapacity: true)
        q.iteration.groupTokens.append(contentsOf: repeatElement(0, count: groups))
        q.iteration.chunks.removeAll(keepingCapacity: true)
        let cap = serving.chunkTokens ?? .max
        /// The group with the most budget left (the first of equals).
        func roomiest(_ budgets: [Int]) -> Int { budgets.indices.max { budgets[$0] < budgets[$1] || (budgets[$0] == budgets[$1] && $0 > $1) }! }
        func take(_ i: Int, _ chunk: Int, _ g: Int, _ q: inout Instance) {
            q.iteration.budgets[g] -= chunk
            q.iteration.groupTokens[g] += chunk
            q.iteration.chunks.append((i, chunk, g))
        }
        var preemptedNow = false
        var index = 0
        while index < q.prefilling.count {
            let i = q.prefilling[index]
            let g = roomiest(q.iteration.budgets)
            guard q.iteration.budgets[g] > 0 else { break }
            let chunk = Swift.min(requests[i].prompt - requests[i].prefilled, cap, q.iteration.budgets[g])
            if paged {
                let needed = blocks(requests[i].prefilled + chunk) - requests[i].allocated
                while needed > capacityBlocks - usedBlocks(q), requests[i].running, preemptLast(&q) { preemptedNow = true }
                // Preempted itself: the requests after it in prefill went first.
                guard requests[i].running else { break }
                requests[i].allocated += needed
                q.heldBlocks += needed
            }
            take(i, chunk, g, &q)
            index += 1
        }
        // New admissions: not in an iteration that preempted (vLLM admits none then).
        while !preemptedNow, q.running < maxBatch, let i = q.preempted.last ?? (q.waitingHead < q.waiting.count ? q.waiting[q.waitingHead] : nil) {
            let g = roomiest(q.iteration.budgets)
            guard q.iteration.budgets[g] > 0 else { break }
            let chunk = Swift.min(requests[i].prompt, cap, q.iteration.budgets[g])
            let needed = paged ? blocks(chunk) : blocks(requests[i].input + requests[i].output)
            guard needed <= capacityBlocks - usedBlocks(q) else { break }
            if q.preempted.isEmpty { q.waitingHead += 1 } else { q.preempted.removeLast() }
            requests[i].running = true
            requests[i].residency += 1
            requests[i].allocated = needed
            q.heldBlocks += needed
            q.prefilling.append(i)
            q.admitted.append((i, requests[i].residency))
            take(i, chunk, g, &q)
        }
    }

    /// Preempts the most recently admitted running request (vLLM's recompute preemption): its
    /// blocks are freed and it waits, first in line, to prefill its prompt and the tokens it has
    /// generated so far.
    /// Returns false when nothing is running.
    mutating func preemptLast(_ q: inout Instance) -> Bool {
        while let last = q.admitted.last, !(requests[last.request].running && requests[last.request].residency == last.residency) {
            q.admitted.removeLast()
        }
        guard let (i, _) = q.admitted.popLast() else { return false }
        if requests[i].prefilled < requests[i].prompt {
            q.heldBlocks -= requests[i].allocated
            q.prefilling.removeAll { $0 == i }
        } else {
            if tokensPerStep == nil {
                // Plain decoding: its tokens so far follow from its base and the step count.
                let context = requests[i].decodeBase + q.steps
                requests[i].generated = context - requests[i].input
                q.residues[mod(requests[i].decodeBase)] -= 1
            } else {
                q.decodeBlocks -= blocks(requests[i].context + positions - 1)
                q.decoding.removeAll { $0 == i }
            }
            q.contextSum -= requests[i].context
            q.decodingCount -= 1
        }
        requests[i].running = false
        requests[i].prompt = requests[i].context
        requests[i].prefilled = 0
        requests[i].allocated = 0
        requests[i].preemptions += 1
        preemptions += 1
        q.preempted.append(i)
        return true
    }
}
